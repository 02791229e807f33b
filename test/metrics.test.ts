/**
 * `--metrics`: the Prometheus exposition (names, labels, promtool's check),
 * read back through a real Prometheus scraping the tool every second (its
 * values equal the tool's own final counters, ring drops included), and bad
 * input: a bad address, a busy port, a privileged port without
 * CAP_NET_BIND_SERVICE (exit 2, one line naming the option).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { isRoot, skip, test } from "./harness.ts";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  netReason,
  ROOT,
  runScript,
  startProcess,
  startScript,
  VethPair,
  waitForPacketSocket,
} from "./net.ts";
import { freePort, have, sleep, sniffer } from "./fixtures/nfcapd.ts";
import { writeManyFlowsPcap } from "./fixtures/many_flows.ts";
import { pcapSendArgs } from "./fixtures/traffic.ts";
import { httpGet, Prometheus } from "./fixtures/prometheus.ts";
import { Exposition, parseMetricsAddress, ToolMetrics } from "../lib/ops/metrics.ts";

test("metrics: [HOST:]PORT parses (default host 127.0.0.1) and bad values are refused", () => {
  assert.deepEqual(parseMetricsAddress("9464"), { host: "127.0.0.1", port: 9464 });
  assert.deepEqual(parseMetricsAddress(9464), { host: "127.0.0.1", port: 9464 });
  assert.deepEqual(parseMetricsAddress("0.0.0.0:80"), { host: "0.0.0.0", port: 80 });
  assert.deepEqual(parseMetricsAddress("[::1]:9464"), { host: "::1", port: 9464 });
  for (const bad of ["", "x", "0", "70000", "1.2.3:80", "::1:80", "host name:80", "127.0.0.1:"]) {
    assert.throws(() => parseMetricsAddress(bad), /--metrics/, bad);
  }
});

test("metrics: the exposition has DESIGN.md's names, a worker label per worker, and passes promtool", () => {
  const m = new ToolMetrics("eth9");
  m.capture = () => [
    { packets: 10, dropped: 1, filtered: 2, bytes: 600 },
    { packets: 5, dropped: 0, filtered: 0, bytes: 300 },
  ];
  m.probe = () => ({
    active: 3,
    created: 7,
    evicted: 1,
    collectors: [{ collector: "127.0.0.1:2055", flows: 4, datagrams: 2, dropped: 0, bytes: 200 }],
  });
  const text = m.render();
  for (
    const line of [
      'ringcap_packets_total{interface="eth9",worker="0"} 10',
      'ringcap_packets_total{interface="eth9",worker="1"} 5',
      'ringcap_bytes_total{interface="eth9",worker="1"} 300',
      'ringcap_filtered_packets_total{interface="eth9",worker="0"} 2',
      'ringcap_dropped_packets_total{interface="eth9",worker="0",cause="ring"} 1',
      'ringcap_dropped_packets_total{interface="eth9",cause="interface"} 0',
      'ringcap_flows_active{interface="eth9"} 3',
      'ringcap_flows_created_total{interface="eth9"} 7',
      'ringcap_flows_evicted_total{interface="eth9"} 1',
      'ringcap_flows_exported_total{interface="eth9",collector="127.0.0.1:2055"} 4',
      'ringcap_export_datagrams_total{interface="eth9",collector="127.0.0.1:2055"} 2',
      'ringcap_export_datagrams_dropped_total{interface="eth9",collector="127.0.0.1:2055"} 0',
      'ringcap_export_bytes_total{interface="eth9",collector="127.0.0.1:2055"} 200',
    ]
  ) assert.ok(text.includes(line + "\n"), `missing ${line} in\n${text}`);
  assert.match(
    text,
    /^ringcap_build_info\{version="[^"]+",runtime="(bun|deno) [^"]+",backend="packet"\} 1$/m,
  );
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
  assert.match(text, /^process_start_time_seconds [\d.]+$/m);
  const e = new Exposition();
  e.family("x_total", "counter", "h").sample({ a: 'q"\\\n' }, 1);
  assert.equal(e.text().split("\n")[2], 'x_total{a="q\\"\\\\\\n"} 1');
  if (!have("promtool")) {
    skip("promtool is not installed (Debian's prometheus package; scripts/setup.sh test)");
  }
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
});

/** GET a path of the tool's metrics server. */
const get = (port: number, path: string) => httpGet(`http://127.0.0.1:${port}${path}`);

/** Poll until `f()` gives the same value twice in a row 1.5 s apart (Prometheus caught up); returns it. */
async function settled(f: () => Promise<number>, ms = 20_000): Promise<number> {
  const t0 = Date.now();
  // the same value over 3 s (three readings): the tool's status is a second old at most and Prometheus
  // scrapes every second, so one unchanged pair 1.5 s apart could still predate the last idle flow's export
  let last = await f(), same = 0;
  while (Date.now() - t0 < ms) {
    await sleep(1500);
    const now = await f();
    same = now === last && !Number.isNaN(now) ? same + 1 : 0;
    if (same === 2) return now;
    last = now;
  }
  throw new Error(`the value did not settle in ${ms} ms (last ${last})`);
}

for (const workers of [1, 2]) {
  test(
    `metrics: Prometheus reads back pcount's own counters, ring drops included (${workers} worker(s))`,
    async () => {
      const why = netReason();
      if (why) skip(why);
      if (!have("prometheus")) {
        skip("prometheus is not installed (Debian's prometheus package; scripts/setup.sh test)");
      }
      using net = VethPair.create("met");
      const port = await freePort();
      const target = `127.0.0.1:${port}`;
      await using prom = await Prometheus.start([target]);
      const tool = startScript("examples/pcount.ts", [
        net.host,
        "--metrics",
        String(port),
        "--ring-mb",
        "1",
        "--workers",
        String(workers),
        "--json",
      ]);
      try {
        await waitForPacketSocket(net.hostIndex, 20_000, workers);
        net.send(2000, { pps: 20_000 });
        // stop the reader and overflow its 1 MiB ring(s): ring drops the counters must carry
        process.kill(tool.child.pid!, "SIGSTOP"); // (Deno: child.kill() would confuse its child tracking)
        net.send(60_000, { pps: 60_000, seed: 2 });
        process.kill(tool.child.pid!, "SIGCONT");
        const sum = (q: string) => () => prom.value(`sum(${q})`);
        const packets = await settled(sum(`ringcap_packets_total{instance="${target}"}`));
        const bytes = await settled(sum(`ringcap_bytes_total{instance="${target}"}`));
        const ring = await settled(sum(`ringcap_dropped_packets_total{instance="${target}",cause="ring"}`));
        const nic = await settled(
          sum(`ringcap_dropped_packets_total{instance="${target}",cause="interface"}`),
        );
        const series = await prom.query(`ringcap_packets_total{instance="${target}"}`);
        assert.equal(series.length, workers, "one series per worker");
        if (workers > 1) assert.deepEqual(series.map((s) => s.metric.worker).sort(), ["0", "1"]);
        const health = await get(port, "/healthz");
        assert.equal(health.status, 200);
        process.kill(tool.child.pid!, "SIGTERM");
        const { code, out, err } = await tool.done;
        assert.equal(code, 0, err);
        const j = JSON.parse(out.trim().split("\n").at(-1)!);
        assert.ok(j.dropped > 0, `the ring should have overflowed: ${out}`);
        assert.deepEqual(
          { packets, bytes, ring, nic },
          { packets: j.packets, bytes: j.bytes, ring: j.drops.ring, nic: j.drops.interface },
        );
        assert.equal(j.dropped, j.drops.ring);
        assert.ok(packets >= 2000, `packets ${packets}`);
      } finally {
        if (tool.child.exitCode === null) process.kill(tool.child.pid!, "SIGKILL");
        await tool.done;
      }
    },
    120_000,
  );
}

test("metrics: a bad address, a busy port and a privileged port without the capability exit 2 naming --metrics", async () => {
  const bad = runScript("bin/ringcap.ts", ["count", "lo", "--duration", "1", "--metrics", "1.2.3:99"]);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err.trim(), /^[^\n]*--metrics '1\.2\.3:99'[^\n]*$/);
  if (!isRoot()) skip("needs root for captures, setpriv and namespaces");
  const port = await freePort();
  const hold = startScript("bin/ringcap.ts", ["count", "lo", "--duration", "20", "--metrics", String(port)]);
  try {
    for (let i = 0; i < 200; i++) {
      if (await get(port, "/healthz").then((r) => r.status === 200, () => false)) break;
      await sleep(50);
    }
    const busy = runScript("bin/ringcap.ts", ["count", "lo", "--duration", "1", "--metrics", String(port)]);
    assert.equal(busy.code, 2, busy.err);
    assert.match(busy.err.trim(), /^[^\n]*--metrics 127\.0\.0\.1:\d+: the port is in use[^\n]*$/);
  } finally {
    process.kill(hold.child.pid!, "SIGTERM");
    await hold.done;
  }
  // a fresh namespace: its net.ipv4.ip_unprivileged_port_start is the default, 1024
  if (!have("setpriv")) skip("setpriv is not installed (util-linux)");
  const ns = `rcns-metp-${process.pid}-0`;
  spawnSync("ip", ["netns", "add", ns]);
  try {
    spawnSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    const start = spawnSync("ip", [
      "netns",
      "exec",
      ns,
      "sysctl",
      "-n",
      "net.ipv4.ip_unprivileged_port_start",
    ], {
      encoding: "utf8",
    }).stdout.trim();
    assert.equal(start, "1024");
    const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
    const r = spawnSync("ip", [
      "netns",
      "exec",
      ns,
      "setpriv",
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      "--inh-caps=-all,+net_raw",
      "--ambient-caps=-all,+net_raw",
      process.execPath,
      ...(isBun ? ["run"] : ["run", "-A"]),
      `${ROOT}/bin/ringcap.ts`,
      "count",
      "lo",
      "--duration",
      "1",
      "--metrics",
      "80",
    ], { encoding: "utf8", env: { ...process.env, HOME: "/tmp", DENO_DIR: `/tmp/ringcap-deno-nobody` } });
    assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr.trim(), /^[^\n]*--metrics 127\.0\.0\.1:80: [^\n]*CAP_NET_BIND_SERVICE[^\n]*$/);
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
});

/** VmRSS of a process, bytes. */
function rss(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

/** Connect, ask for /metrics and hang up at the first bytes of the answer (a scraper cut mid-response). */
function cutScrape(port: number): Promise<void> {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1", () => c.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    c.once("data", () => c.destroy());
    c.on("close", () => resolve());
    c.on("error", () => resolve());
  });
}

/** A scraper that sends its request a few bytes at a time and reads the answer slowly. */
function slowScrape(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let got = 0;
    const c = connect(port, "127.0.0.1", async () => {
      for (let i = 0; i < req.length; i += 8) {
        c.write(req.slice(i, i + 8));
        await sleep(40);
      }
    });
    c.on("data", (d: Uint8Array) => {
      got += d.length;
      c.pause();
      setTimeout(() => c.resume(), 30);
    });
    c.on("end", () => resolve(got));
    c.on("error", reject);
  });
}

test(
  "metrics: the probe's flow and export counters read back through Prometheus; 1,000 scrapes, cut and slow scrapers at 20 kpps lose nothing",
  async () => {
    const why = netReason();
    if (why) skip(why);
    if (!have("prometheus")) {
      skip("prometheus is not installed (Debian's prometheus package; scripts/setup.sh test)");
    }
    using net = VethPair.create("metp");
    const dir = mkdtempSync(join(tmpdir(), "ringcap-metrics-"));
    const collector = await sniffer();
    const port = await freePort();
    const target = `127.0.0.1:${port}`;
    try {
      const pcap = join(dir, "flows.pcap");
      writeManyFlowsPcap(pcap, 500);
      await using prom = await Prometheus.start([target]);
      const coll = `127.0.0.1:${collector.port}`;
      const tool = startScript("examples/nprobe.ts", [
        net.host,
        "-n",
        coll,
        "-V",
        "9", // (IPFIX would add a template withdrawal at the end, after the last scrape)
        "-t",
        "2",
        "-d",
        "1",
        "--metrics",
        String(port),
        "--json",
      ]);
      try {
        await waitForPacketSocket(net.hostIndex, 20_000);
        // 400,000 packets of 500 flows at 20 kpps (20 s) while the scrapers run
        const tx = startProcess("ip", pcapSendArgs(net, pcap, 20_000, 800));
        await sleep(2000); // warm: the flow table full, the JIT done, before the baseline
        // warm-up scrapes: the runtime's heap grows to its steady size over the first ~2,000 (measured: Deno 136 -> 160 MB, then flat)
        for (let i = 0; i < 2000; i++) assert.equal((await get(port, "/metrics")).status, 200);
        const rss0 = rss(tool.child.pid!);
        const slow = [slowScrape(port), slowScrape(port), slowScrape(port)];
        for (let i = 0; i < 20; i++) await cutScrape(port);
        for (let i = 0; i < 1000; i++) assert.equal((await get(port, "/metrics")).status, 200);
        for (const got of await Promise.all(slow)) assert.ok(got > 500, `a slow scraper got ${got} bytes`);
        const rss1 = rss(tool.child.pid!);
        assert.equal((await tx.done).code, 0, "txframes failed");
        assert.ok(rss1 <= rss0 * 1.05, `RSS grew from ${rss0} to ${rss1} bytes over 1,000 scrapes`);
        const q = (m: string) => () => prom.value(`sum(${m}{instance="${target}"})`);
        // every flow expired (idle after the traffic) before the export counters are read
        const t = Date.now();
        for (; (await q("ringcap_flows_active")()) !== 0 && Date.now() - t < 20_000;) {
          await sleep(500);
        }
        const exported = await settled(q(`ringcap_flows_exported_total`));
        const datagrams = await settled(q(`ringcap_export_datagrams_total`));
        const bytes = await settled(q(`ringcap_export_bytes_total`));
        const packets = await settled(q(`ringcap_packets_total`));
        const created = await settled(q(`ringcap_flows_created_total`));
        assert.equal(await prom.value(`sum(ringcap_flows_active{instance="${target}"})`), 0);
        const ring = await prom.value(
          `sum(ringcap_dropped_packets_total{instance="${target}",cause="ring"})`,
        );
        process.kill(tool.child.pid!, "SIGTERM");
        const { code, out, err } = await tool.done;
        assert.equal(code, 0, err);
        const j = JSON.parse(out.trim().split("\n").at(-1)!);
        assert.equal(j.dropped, 0, `the probe dropped packets while scraped: ${err}`);
        assert.equal(ring, 0);
        const c = j.collectors[0];
        assert.deepEqual(
          { exported, datagrams, bytes, packets },
          { exported: c.flows, datagrams: c.datagrams, bytes: c.bytes, packets: j.packets },
        );
        assert.equal(j.flows, exported);
        assert.ok(created >= 500 && exported === created, `created ${created}, exported ${exported}`);
        assert.equal(collector.got.length, datagrams, "datagrams received by the collector");
      } finally {
        if (tool.child.exitCode === null) process.kill(tool.child.pid!, "SIGKILL");
        await tool.done;
      }
    } finally {
      await collector.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  180_000,
);
