/**
 * A collector fleet (issue 18 part 5): `--collector-mode copy|round-robin`.
 * In process: FlowExport with two sockets as collectors, v5/v9/IPFIX — per
 * collector sequence numbers (v5 flows, v9 datagrams, IPFIX data records)
 * from 0 and without gaps, templates in each collector's first datagram and
 * refreshed per collector, every flow exactly once (round-robin) or to each
 * (copy), and `collectorStats()` matching what arrived. End to end: a pcap →
 * examples/nprobe.ts -r → two nfcapd: copy → each has every flow;
 * round-robin → the union has every flow exactly once, each nfdump decodes
 * every record, nfcapd logs no sequence error; the --json `collectors` array.
 * Live: UDP in a namespace → nprobe.ts --workers 2 (one exporter in the main
 * thread) → two nfcapd in round-robin: every flow exactly once, totals exact.
 * A bad --collector-mode is one line, exit 2.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skip, test } from "./harness.ts";
import { netReason, runtimeArgv, VethPair, waitForPacketSocket } from "./net.ts";
import { UdpSender } from "./fixtures/udp_sender.ts";
import { writeManyFlowsPcap } from "./fixtures/many_flows.ts";
import { requireTools, sleep, sniffer, withNfcapd } from "./fixtures/nfcapd.ts";
import { FlowRecord } from "../lib/analysis/flow/record.ts";
import { FlowExport } from "../lib/sink/netflow/flow_export.ts";
import type { NetflowVersion } from "../lib/sink/netflow/encoder.ts";
import { IPFIX_FIELDS, recordLength, V9_FIELDS } from "../lib/sink/netflow/templates.ts";

const T0 = 1_700_000_000_000;

/** Per datagram: sequence number, flow records (src address of each), whether a template set leads it. */
function parse(version: NetflowVersion, d: Uint8Array): { seq: number; flows: number[]; templates: boolean } {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  if (version === 5) {
    const n = v.getUint16(2), flows: number[] = [];
    for (let i = 0; i < n; i++) flows.push(v.getUint32(24 + 48 * i));
    return { seq: v.getUint32(16), flows, templates: false };
  }
  const hdr = version === 9 ? 20 : 16, tset = version === 9 ? 0 : 2;
  const len4 = recordLength(version === 9 ? V9_FIELDS.v4 : IPFIX_FIELDS.v4);
  const flows: number[] = [];
  let templates = false, first = true;
  for (let o = hdr; o < d.length;) {
    const id = v.getUint16(o), len = v.getUint16(o + 2);
    if (first && id === tset) templates = true;
    first = false;
    if (id === 256) { for (let r = o + 4; r + len4 <= o + len; r += len4) flows.push(v.getUint32(r)); }
    o += len;
  }
  return { seq: v.getUint32(version === 9 ? 12 : 8), flows, templates };
}

for (const version of [5, 9, 10] as const) {
  for (const mode of ["copy", "round-robin"] as const) {
    test(`fleet: v${version} ${mode} → two collectors: sequence and templates per collector, every flow`, async () => {
      const a = await sniffer(), b = await sniffer();
      const names = [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`];
      const N = 2000;
      try {
        const x = await FlowExport.open({ collectors: names, version, collectorMode: mode, flowDelay: 0.05 });
        x.boot(T0);
        for (let i = 0; i < N; i++) {
          const r = FlowRecord.v4("10.0.0.1", "10.1.0.1", 17, 1024, 53, {
            packets: 1,
            bytes: 60,
            firstMs: T0 + i,
            lastMs: T0 + i,
          });
          r.src4 = 0x0a000000 + i;
          x.add(r, T0 + i);
          if (i % 200 === 0) await x.exporter.queuedAtMost(16);
        }
        await x.close(T0 + N);
        await sleep(100);
        const stats = x.collectorStats();
        const seen = new Map<number, number>();
        for (const [k, s] of [a, b].entries()) {
          const got = s.got.map((d) => parse(version, d));
          assert.ok(got.length > 2, `collector ${k} got ${got.length} datagrams`);
          let seq = 0, flows = 0, sinceT = Infinity;
          for (const [j, g] of got.entries()) {
            assert.equal(g.seq, seq, `collector ${k} datagram ${j}: sequence`);
            seq += version === 9 ? 1 : g.flows.length;
            flows += g.flows.length;
            if (version !== 5) {
              if (j === 0) assert.ok(g.templates, `collector ${k}: templates first`);
              sinceT = g.templates ? 0 : sinceT + 1;
              assert.ok(sinceT < 20, `collector ${k}: templates refreshed every 20 of its datagrams`);
            }
            for (const f of g.flows) seen.set(f, (seen.get(f) ?? 0) + 1);
          }
          assert.deepEqual(stats[k], {
            collector: names[k],
            flows,
            datagrams: got.length,
            dropped: 0,
            bytes: s.got.reduce((n, d) => n + d.length, 0),
          });
          if (mode === "copy") assert.equal(flows, N);
          else assert.ok(flows > N / 3, `round-robin balance: collector ${k} got ${flows} of ${N}`);
        }
        assert.equal(seen.size, N);
        for (const c of seen.values()) assert.equal(c, mode === "copy" ? 2 : 1);
        assert.equal(stats[0].flows + stats[1].flows, mode === "copy" ? 2 * N : N);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }
}

test("fleet: one collector in round-robin is copy (one encoder)", async () => {
  const a = await sniffer();
  try {
    const x = await FlowExport.open({
      collectors: [`127.0.0.1:${a.port}`],
      version: 9,
      collectorMode: "round-robin",
    });
    x.add(
      FlowRecord.v4("10.0.0.1", "10.0.0.2", 17, 1, 2, { packets: 1, bytes: 28, firstMs: T0, lastMs: T0 }),
      T0,
    );
    await x.close(T0);
    assert.equal(x.collectorStats()[0].flows, 1);
    assert.equal(x.collectorStats()[0].datagrams, 1);
    await assert.rejects(
      FlowExport.open({ collectors: ["127.0.0.1:9"], collectorMode: "random" as never }),
      /unknown collector mode 'random'/,
    );
  } finally {
    await a.close();
  }
});

type Stored = Awaited<ReturnType<typeof withNfcapd>>;

/** Two nfcapd on loopback while `body` exports to both; what each stored. */
async function withTwoNfcapd(
  body: (p1: number, p2: number) => Promise<void>,
): Promise<{ ports: number[]; both: Stored[] }> {
  let ports: number[] = [], inner: Stored | undefined;
  const outer = await withNfcapd(async (p1) => {
    inner = await withNfcapd(async (p2) => {
      ports = [p1, p2];
      await body(p1, p2);
    });
  });
  return { ports, both: [outer, inner!] };
}

const NPROBE = new URL("../examples/nprobe.ts", import.meta.url).pathname;

function nprobe(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  // deno-lint-ignore no-explicit-any
  const G = globalThis as any;
  const exe = G.Deno ? G.Deno.execPath() : process.execPath;
  const argv = G.Deno ? ["run", "-A", NPROBE, ...args] : ["run", NPROBE, ...args];
  const p = spawn(exe, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "", stdout = "";
  p.stderr?.on("data", (b: Uint8Array) => stderr += new TextDecoder().decode(b));
  p.stdout?.on("data", (b: Uint8Array) => stdout += new TextDecoder().decode(b));
  return new Promise((r) => p.on("close", (code: number | null) => r({ code, stderr, stdout })));
}

for (const version of [5, 9, 10] as const) {
  test(`fleet: pcap → nprobe.ts -V ${version} → two nfcapd: copy and round-robin`, async () => {
    requireTools("nfcapd", "nfdump");
    const N = 5000;
    const dir = mkdtempSync(join(tmpdir(), "ringcap-fleet-"));
    try {
      const pcap = join(dir, "many.pcap");
      writeManyFlowsPcap(pcap, N);
      for (const mode of ["copy", "round-robin"]) {
        let res: { code: number | null; stderr: string; stdout: string } | undefined;
        const { ports, both } = await withTwoNfcapd(async (p1, p2) => {
          res = await nprobe([
            "-r",
            pcap,
            "-n",
            `127.0.0.1:${p1}`,
            "-n",
            `127.0.0.1:${p2}`,
            "--collector-mode",
            mode,
            "-V",
            String(version),
            "--json",
          ]);
        });
        assert.equal(res?.code, 0, res?.stderr ?? "");
        const json = JSON.parse(res!.stdout.trim().split("\n").pop()!);
        assert.equal(json.flows, N);
        assert.equal(json.collectors.length, 2);
        for (const [k, c] of json.collectors.entries()) {
          const got = both[k];
          const ctx = `${mode} collector ${k}: nfcapd log:\n${got.log}\nnfdump -I:\n${got.summary}`;
          assert.equal(c.collector, `127.0.0.1:${ports[k]}`);
          assert.equal(c.dropped, 0, ctx);
          assert.ok(c.datagrams > 0 && c.bytes > c.datagrams * 20, ctx);
          assert.equal(c.flows, got.flows.length, ctx);
          assert.match(got.log, /Sequence Errors: 0/, ctx);
          assert.doesNotMatch(got.summary, /Sequence failures:\s*[1-9]/, ctx);
          assert.equal(new Set(got.flows).size, got.flows.length, ctx);
          if (mode === "copy") assert.equal(got.flows.length, N, ctx);
          else assert.ok(got.flows.length > N / 3, ctx);
        }
        const union = new Set([...both[0].flows, ...both[1].flows]);
        assert.equal(union.size, N);
        if (mode === "round-robin") assert.equal(both[0].flows.length + both[1].flows.length, N);
        else assert.deepEqual(both[0].flows, both[1].flows);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
}

test("fleet: a bad --collector-mode is one line, exit 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-fleet-"));
  try {
    const pcap = join(dir, "one.pcap");
    writeManyFlowsPcap(pcap, 1);
    for (const bad of ["random", "", "copy,round-robin"]) {
      const r = await nprobe(["-r", pcap, "-n", "127.0.0.1:2055", "--collector-mode", bad]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--collector-mode must be copy or round-robin/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "fleet: live UDP in a namespace → nprobe.ts --workers 2 --collector-mode round-robin → two nfcapd: every flow once",
  async () => {
    const why = netReason();
    if (why) skip(why);
    requireTools("nfcapd", "nfdump");
    const dir = mkdtempSync(join(tmpdir(), "ringcap-fleet-live-"));
    try {
      using net = VethPair.create("nff");
      const udp = UdpSender.create(net, dir, "10.98.0");
      const N = 3000, FLOWS = 100, SIZE = 100;
      for (const version of [5, 9, 10]) {
        let out = "", err = "", code: number | null = null;
        const { ports, both } = await withTwoNfcapd(async (p1, p2) => {
          const [exe, argv] = runtimeArgv(NPROBE, [
            "-i",
            net.host,
            "--workers",
            "2",
            "-n",
            `127.0.0.1:${p1}`,
            "-n",
            `127.0.0.1:${p2}`,
            "--collector-mode",
            "round-robin",
            "-V",
            String(version),
            "--json",
            "udp",
          ]);
          const p = spawn(exe, argv, { stdio: ["ignore", "pipe", "pipe"] });
          p.stdout?.on("data", (b: Uint8Array) => out += new TextDecoder().decode(b));
          p.stderr?.on("data", (b: Uint8Array) => err += new TextDecoder().decode(b));
          const done = new Promise<void>((r) => p.on("close", (c: number | null) => (code = c, r())));
          try {
            await waitForPacketSocket(net.hostIndex, 10_000, 2);
            await sleep(500); // the rings join paused and start together once all have joined
            udp.send(N, FLOWS, SIZE);
            await sleep(300);
          } finally {
            process.kill(p.pid!, "SIGINT"); // every active flow is exported on the way out
            await done;
          }
        });
        assert.equal(code, 0, err);
        const json = JSON.parse(out.trim().split("\n").pop()!);
        assert.equal(json.dropped, 0);
        assert.equal(json.collectors.length, 2);
        const all = [...both[0].flows, ...both[1].flows];
        const ctx = `v${version}\n${both.map((b) => b.log + b.summary).join("\n")}\n${err}`;
        const total = all.map((l) => Number(/pkts=(\d+)/.exec(l)![1])).reduce((a, b) => a + b, 0);
        assert.equal(total, N, ctx);
        assert.equal(all.length, FLOWS, ctx);
        assert.equal(new Set(all).size, FLOWS, ctx);
        for (const [k, c] of json.collectors.entries()) {
          assert.equal(c.collector, `127.0.0.1:${ports[k]}`);
          assert.equal(c.flows, both[k].flows.length, ctx);
          assert.ok(c.flows > 0 && c.datagrams > 0 && c.dropped === 0, ctx);
          assert.match(both[k].log, /Sequence Errors: 0/, ctx);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);
