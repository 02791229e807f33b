/**
 * One capture over several Workers (issue 15), on a veth pair whose sender
 * end is in a namespace the test makes: traffic is a pcap of many flows sent
 * by txframes, and a plain ring (or a 1-worker tool) captures the same
 * traffic beside the cluster as the reference.
 * - 2 and 4 workers capture every frame exactly once: the multiset of frames
 *   equals a single ring's capture; -c N stops at exactly N across workers.
 * - Flow affinity: both directions of every flow meet in one worker — IPv4
 *   (address pairs 2^31 apart too), IPv6 with and without flow labels,
 *   VLAN-tagged frames.
 * - topn with 2 workers ends with the same top lists and totals as topn with
 *   1; the probe with 2 workers gives nfdump the same per-flow totals as with
 *   1 (a 5-tuple with fragmented datagrams included: its fragments are hashed
 *   without ports, so it may be two records, but the sums are exact), and
 *   nfcapd counts no sequence failure.
 * - Failures: bad --workers/--fanout, a flow-splitting mode for the probe,
 *   -r with workers → exit 2; a worker made to throw (RINGCAP_FAULT_WORKER)
 *   or the interface deleted → exit 1, the worker named, totals printed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { gate, Traffic } from "./fixtures/traffic.ts";
import { skip, test } from "./harness.ts";
import { netReason, ROOT, runtimeArgv, startProcess, VethPair, waitForPacketSocket } from "./net.ts";
import { ether, ipv4, ipv6, tcp, udp } from "./fixtures/frames.ts";
import { Ring } from "../lib/source/live/ring.ts";
import { runAnalysis } from "../lib/analysis/analysis.ts";
import { kernelWarning, runCluster } from "../lib/cluster/cluster.ts";
import { SharedControl } from "../lib/cluster/shared.ts";
import {
  assertOneOwnerPerFlow,
  assertSameFrames,
  type Digests,
  digests,
  type Owners,
  owners,
} from "./fixtures/frame_digests.ts";
import { requireTools, sleep, withNfcapd } from "./fixtures/nfcapd.ts";

const FIXTURE = new URL("./fixtures/frame_digests.ts", import.meta.url).href;
const PCOUNT = join(ROOT, "examples/pcount.ts"), TOPN = join(ROOT, "examples/topn.ts");
const NPROBE = join(ROOT, "examples/nprobe.ts");

/** Frames of `flows` conversations, both directions, IPv4 / IPv6 (± flow label) / VLAN, 4 packets each way. */
function conversations(flows: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < flows; i++) {
    const kind = i % 5;
    const a = `10.${(i >> 8) & 255}.${i & 255}.1`;
    // kind 1: the peer's address differs from a's by 2^31 (10.x → 138.x)
    const b = kind === 1 ? `138.${(i >> 8) & 255}.${i & 255}.1` : `192.0.${(i >> 6) & 3}.${1 + (i % 60)}`;
    const sp = 20000 + (i % 30000), dp = [53, 80, 443, 123][i % 4];
    for (let k = 0; k < 4; k++) {
      for (const fwd of [true, false]) {
        const [s, d, src, dst] = fwd ? [sp, dp, a, b] : [dp, sp, b, a];
        const body = new Array(10 + k).fill(i & 255);
        if (kind === 2 || kind === 3) {
          const s6 = `2001:db8:${i.toString(16)}::1`, d6 = `2001:db8:ffff::${(i % 200) + 1}`;
          const f = ether(0x86dd, ipv6({ nh: 17, src: fwd ? s6 : d6, dst: fwd ? d6 : s6 }, udp(s, d, body)));
          if (kind === 3) { // a flow label, different in each direction (as hosts pick their own)
            const fl = (i * 7919 + (fwd ? 1 : 2)) & 0xfffff;
            f[15] |= fl >> 16, f[16] = (fl >> 8) & 255, f[17] = fl & 255;
          }
          out.push(f);
        } else if (kind === 4) {
          out.push(ether(0x0800, ipv4({ src, dst, proto: 17 }, udp(s, d, body)), [{ tci: 100 + (i % 7) }]));
        } else {
          out.push(
            ether(0x0800, ipv4({ src, dst, proto: 6 }, tcp({ sport: s, dport: d, flags: 0x10 }, body))),
          );
        }
      }
    }
  }
  return out;
}

/** One UDP datagram of 5-tuple 10.200.0.1:5000 → 10.200.0.2:6000 cut in two IPv4 fragments, `n` times, plus unfragmented ones. */
function fragmented(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const src = "10.200.0.1", dst = "10.200.0.2";
  for (let i = 0; i < n; i++) {
    const whole = udp(5000, 6000, new Array(40).fill(i));
    out.push(
      ether(0x0800, ipv4({ src, dst, proto: 17, id: 100 + i, moreFragments: true }, whole.subarray(0, 24))),
    );
    out.push(ether(0x0800, ipv4({ src, dst, proto: 17, id: 100 + i, fragOffset: 3 }, whole.subarray(24))));
    out.push(ether(0x0800, ipv4({ src, dst, proto: 17, id: 900 + i }, udp(5000, 6000, [i]))));
  }
  return out;
}

function needNet(): void {
  const why = netReason();
  if (why) skip(why);
}

for (const n of [2, 4]) {
  test(`cluster: ${n} workers capture every frame exactly once (the same multiset as one ring)`, async () => {
    needNet();
    using net = VethPair.create(`cl${n}`);
    using t = new Traffic(conversations(1200));
    using ref = await Ring.open(net.host, { ringMb: 16 });
    const single = runAnalysis(ref, digests, {}, {
      count: t.frames.length,
      duration: 20,
      handleSignals: false,
    });
    const started = gate();
    const cluster = runCluster<Record<string, never>, Digests>(net.host, {
      module: FIXTURE,
      export: "digests",
      options: {},
    }, {
      workers: n,
      ringMb: 16,
      count: t.frames.length,
      duration: 20,
      handleSignals: false,
    }, started.go);
    await started.promise; // every member joined and started
    t.send(net);
    const [one, many] = await Promise.all([single, cluster]);
    assert.equal(many.error, undefined);
    assert.equal(many.reason, "count");
    assertSameFrames(one.total, { ...many.total, workers: many.workers }, t.frames.length);
  });
}

test("cluster: flows stay in one worker both ways: IPv4 (2^31 apart too), IPv6 ± flow label, VLAN", async () => {
  needNet();
  using net = VethPair.create("clf");
  using t = new Traffic(conversations(1000));
  const started = gate();
  const cluster = runCluster<Record<string, never>, Owners>(net.host, {
    module: FIXTURE,
    export: "owners",
    options: {},
  }, {
    workers: 4,
    count: t.frames.length,
    duration: 12,
    handleSignals: false,
  }, started.go);
  await started.promise;
  t.send(net, 50_000);
  const res = await cluster;
  // affinity is what counts here (exactness: the test above); a loaded machine may drop a few frames
  // before the capture point (the receive backlog), so check what arrived was read, and all flows seen
  const arrived = res.workers.reduce((a, w) => a + w.stats.packets, 0);
  assert.equal(res.read, arrived, `${res.reason} ${res.error} ${JSON.stringify(res.workers)}`);
  assert.ok(res.read >= t.frames.length * 0.98, `${res.read} of ${t.frames.length} frames arrived`);
  const flows = Object.entries(res.total.flows);
  assert.ok(flows.length >= 990, `${flows.length} flows`);
  assertOneOwnerPerFlow(res.total, 4);
  // the reference kind merges as the cluster does
  assert.deepEqual(owners.merge({ flows: { a: ["x"] } }, { flows: { a: ["y"] } }).flows.a, ["x", "y"]);
});

test("cluster: -c N stops at exactly N packets across 2 workers (pcount --json)", async () => {
  needNet();
  using net = VethPair.create("clc");
  using t = new Traffic(conversations(1000));
  const [cmd, argv] = runtimeArgv(PCOUNT, [
    net.host,
    "--workers",
    "2",
    "-c",
    "3001",
    "--duration",
    "20",
    "--json",
  ]);
  const p = startProcess(cmd, argv);
  await waitForPacketSocket(net.hostIndex, 10_000, 2);
  await sleep(1300); // one per-second line first
  t.send(net);
  const r = await p.done;
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out.trim().split("\n").pop()!);
  assert.equal(j.read, 3001);
  assert.equal(j.workers.length, 2);
  assert.equal(j.workers[0].read + j.workers[1].read, 3001);
  assert.match(r.err, /Absolute Stats: \[/);
  assert.match(r.err, /dropped \(per worker: \d+, \d+\)/);
});

test("cluster: topn with 2 workers ends with the top lists and totals of topn with 1", async () => {
  needNet();
  using net = VethPair.create("clt");
  using t = new Traffic(conversations(600));
  const run = (workers: string) => {
    const [cmd, argv] = runtimeArgv(TOPN, [
      net.host,
      "--workers",
      workers,
      "--json",
      "-c",
      String(t.frames.length),
    ]);
    return startProcess(cmd, [...argv, "--duration", "20", "-n", "20"]);
  };
  const one = run("1"), two = run("2");
  await waitForPacketSocket(net.hostIndex, 10_000, 3);
  await sleep(300);
  t.send(net);
  const [a, b] = await Promise.all([one.done, two.done]);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  const last = (s: string) => JSON.parse(s.trim().split("\n").pop()!);
  const x = last(a.out), y = last(b.out);
  assert.equal(x.totals.packets, t.frames.length);
  assert.deepEqual(y.totals, x.totals);
  assert.deepEqual(y.top, x.top);
  assert.equal(y.workers.length, 2);
  assert.equal(x.workers, undefined);
});

test("cluster: the probe with 2 workers gives nfdump the per-flow totals of 1 worker, fragments included, no sequence failure", async () => {
  needNet();
  requireTools("nfcapd", "nfdump");
  using net = VethPair.create("clp");
  using t = new Traffic([...conversations(400), ...fragmented(50)]);
  // two collectors, one per probe: the 1-worker probe's and the 2-workers probe's
  let inner: Awaited<ReturnType<typeof withNfcapd>> | undefined;
  const one = await withNfcapd(async (port1) => {
    inner = await withNfcapd(async (port2) => {
      const start = (workers: string, port: number) => {
        const [cmd, argv] = runtimeArgv(NPROBE, [net.host, "-n", `127.0.0.1:${port}`, "-V", "10", "--json"]);
        return startProcess(cmd, [
          ...argv,
          "--workers",
          workers,
          "-c",
          String(t.frames.length),
          "--duration",
          "20",
        ]);
      };
      const p1 = start("1", port1), p2 = start("2", port2);
      await waitForPacketSocket(net.hostIndex, 10_000, 3);
      await sleep(300);
      t.send(net);
      const [a, b] = await Promise.all([p1.done, p2.done]);
      assert.equal(a.code, 0, a.err);
      assert.equal(b.code, 0, b.err);
      assert.equal(JSON.parse(b.out.trim().split("\n").pop()!).workers.length, 2);
    });
  });
  const two = inner!;
  const totals = (flows: string[]) => {
    const m = new Map<string, [number, number]>();
    for (const l of flows) {
      const key = l.split(" ").slice(4, 8).join(" "); // proto sa:sp > da:dp
      const [p, b] = [Number(/pkts=(\d+)/.exec(l)![1]), Number(/bytes=(\d+)/.exec(l)![1])];
      const v = m.get(key) ?? [0, 0];
      m.set(key, [v[0] + p, v[1] + b]);
    }
    return [...m].sort();
  };
  assert.ok(one.flows.length >= 800, `${one.flows.length} flows`);
  assert.deepEqual(totals(two.flows), totals(one.flows));
  const sum = (flows: string[]) => flows.reduce((a, l) => a + Number(/pkts=(\d+)/.exec(l)![1]), 0);
  assert.equal(sum(two.flows), t.frames.length);
  const frag = totals(two.flows).find(([k]) => k.includes("10.200.0.1:5000"));
  assert.deepEqual(frag?.[1][0], 100, "the fragmented 5-tuple: 50 first fragments + 50 whole datagrams");
  for (const r of [one, two]) assert.match(r.summary, /Sequence failures:\s*0\b/, r.summary);
});

test("cluster: bad --workers/--fanout, a flow-splitting mode for the probe, -r with workers → exit 2", () => {
  const cases: [string, string[], RegExp][] = [
    [PCOUNT, ["lo", "--workers", "0"], /--workers must be auto or an integer from 1 to 64/],
    [
      PCOUNT,
      ["lo", "--workers", "2", "--fanout", "spray"],
      /--fanout must be hash, lb, cpu, qm, rollover, random/,
    ],
    [
      NPROBE,
      ["lo", "-n", "127.0.0.1:9", "--workers", "2", "--fanout", "lb"],
      /the probe needs --fanout hash/,
    ],
    [TOPN, ["-r", "/dev/null", "--workers", "2"], /-r FILE is read by one thread/],
    [join(ROOT, "examples/dump.ts"), ["lo", "--workers", "2"], /dump runs on one thread/],
  ];
  for (const [script, args, want] of cases) {
    const [cmd, argv] = runtimeArgv(script, args);
    const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 2, `${script} ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test("cluster: a worker that fails ends the capture: exit 1, the worker named, totals printed", async () => {
  needNet();
  using net = VethPair.create("clx");
  using t = new Traffic(conversations(1000));
  const [cmd, argv] = runtimeArgv(PCOUNT, [net.host, "--workers", "2", "--duration", "20", "--json"]);
  const { spawn } = await import("node:child_process");
  const child = spawn(cmd, argv, { env: { ...process.env, RINGCAP_FAULT_WORKER: "1:50" } });
  let err = "";
  child.stderr!.on("data", (b: Uint8Array) => err += new TextDecoder().decode(b));
  const code = new Promise<number | null>((r) => child.on("close", (c: number | null) => r(c)));
  await waitForPacketSocket(net.hostIndex, 10_000, 2);
  await sleep(300);
  t.send(net);
  assert.equal(await code, 1, err);
  assert.match(err, /Absolute Stats: \[/);
  assert.match(err, /worker 1: injected fault after 50 packets/);
});

test("cluster: the interface deleted under 2 workers: every worker ends, exit 1, totals printed", async () => {
  needNet();
  const net = VethPair.create("cld");
  try {
    using t = new Traffic(conversations(200));
    const [cmd, argv] = runtimeArgv(PCOUNT, [net.host, "--workers", "2", "--duration", "30"]);
    const p = startProcess(cmd, argv);
    await waitForPacketSocket(net.hostIndex, 10_000, 2);
    await sleep(300);
    t.send(net);
    await sleep(300);
    const t0 = Date.now();
    net.destroy();
    const r = await p.done;
    assert.equal(r.code, 1, r.err);
    assert.ok(Date.now() - t0 < 10_000);
    assert.match(r.out, /Absolute Stats: \[1,600 pkts total\]/);
    assert.match(r.err, /worker \d: .*(went away|no longer|ENODEV|removed|down)/i);
  } finally {
    net.destroy();
  }
});

test("cluster: a kernel older than 4.7 (no symmetric fanout hash for IPv6 flow labels) gets a warning at start", () => {
  assert.match(kernelWarning("4.6.3")!, /older than 4\.7: its fanout hash is not symmetric/);
  assert.equal(kernelWarning("4.7.0"), null);
  assert.equal(kernelWarning("6.1.0-57-amd64"), null);
  assert.equal(kernelWarning(), null, "the running kernel");
});

test("cluster: the shared -c budget is exact under contention (4 threads claiming and giving back)", async () => {
  for (let rep = 0; rep < 5; rep++) {
    const sab = SharedControl.create(100_000);
    const url = new URL("./fixtures/budget_worker.ts", import.meta.url).href;
    const ws = [0, 1, 2, 3].map(() => new Worker(url, { type: "module" }));
    try {
      const res = await Promise.all(ws.map((w) =>
        new Promise<{ read: number; ended: boolean }>((r) => {
          w.onmessage = (e: MessageEvent) => r(e.data);
          w.postMessage(sab);
        })
      ));
      assert.equal(res.reduce((a, r) => a + r.read, 0), 100_000, `rep ${rep}`);
      assert.equal(res.filter((r) => r.ended).length, 1, "exactly one thread reads the last packet");
    } finally {
      ws.forEach((w) => w.terminate());
    }
  }
});

test(
  "cluster: examples/workers.ts (an analysis of its own, by its own URL) counts ports over 2 workers and ends",
  async () => {
    needNet();
    using net = VethPair.create("clw");
    using t = new Traffic(conversations(300));
    const [cmd, argv] = runtimeArgv(join(ROOT, "examples/workers.ts"), [net.host, "2", "3"]);
    const p = startProcess(cmd, argv);
    await waitForPacketSocket(net.hostIndex, 10_000, 2);
    await sleep(500);
    t.send(net);
    const r = await p.done;
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`${t.frames.length} packets over 2 workers`));
    assert.match(r.out, /^port \d+: \d+ packets, \d+ bytes$/m);
  },
  30_000,
);
