/**
 * Module backend vs AF_PACKET backend, side by side in the same VM run
 * (test/vm/ts_tests.sh runs it; TCG slows both, the ratio is what counts).
 *
 * Per repetition: open one Ring of each backend on the same veth end (and a
 * second AF_PACKET one with a 1 s block timeout), and beside them the C
 * reader scripts/bench/src/cdrain.c on each backend (c_ring, c_packet; its
 * binary from scripts/vm/run.sh, or RINGCAP_CDRAIN), every ring 64 MiB with
 * a 128-byte snap length; send N minimum-size frames at full speed from a
 * namespace (txframes), then report what each captured and dropped (% of
 * sent) and how fast its loop drains what is already in the ring (the
 * reader's own speed, no generator running; one reader at a time; each TS
 * contender with a loop compiled apart, see makeDrain). The C
 * rows show what is the emulator's (TCG makes atomics and page walks
 * dear) and what is the runtime's. Prints one JSON line:
 *   {"runtime", "sent", "reps", "ring": {captured_pct, dropped_pct, drain_mpps},
 *    "packet", "packet_tov1000", "c_ring", "c_packet": {...},
 *    "ratios": {"ring_vs_packet", "c_ring_vs_c_packet", "ring_vs_c_ring", "packet_vs_c_packet"},
 *    "scaling": {"ring_1w", "ring_2w", "packet_1w", "packet_2w": {drain_mpps, split}}}
 * with medians over the repetitions (after one warm-up repetition); ratios
 * are of those medians (drain speed, same boot, equal ring memory).
 * Scaling: the same N frames (many UDP flows, from a pcap) drained by 1
 * Worker with one ring vs 2 Workers with one ring each in a module cluster
 * (hash) or an AF_PACKET fanout group (hash): rings filled while paused
 * readers wait, then every Worker drains at once; rate = frames / (last
 * Worker's end - first Worker's start). Skip with RINGCAP_BENCH_SCALING=0.
 *
 * @example
 * ```sh
 * bun test/vm/bench_drain.ts 50000 5
 * ```
 */
import process from "node:process";
import { Ring } from "../../lib/source/live/ring.ts";
import "../../lib/source/live/ring_slots.ts";
import type { Ring as RingT } from "../../lib/source/live/ring_base.ts";
import { ROOT, TXFRAMES, VethPair } from "../net.ts";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ether, ipv4, udp } from "../fixtures/frames.ts";
import { PcapWriter } from "../../lib/sink/pcap/writer.ts";

const N = Number(process.argv[2] ?? 100000);
const REPS = Number(process.argv[3] ?? 3);
// deno-lint-ignore no-explicit-any
const runtime = (globalThis as any).Bun ? "bun" : "deno";

async function settle(ring: RingT, n: number, ms = 60000): Promise<void> {
  const t0 = Date.now();
  let last = -1, still = 0;
  for (;;) {
    const s = ring.stats();
    const got = s.packets + s.dropped;
    if (got >= n || Date.now() - t0 > ms) return;
    still = got === last ? still + 1 : 0;
    if (still > 25) return; // nothing new for 0.5 s
    last = got;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A drain loop of its own: reads everything ready; returns [packets, seconds].
 * Each contender gets one (compiled apart, from its own source), so its
 * `ring.next()` call site sees one reader class, as in a tool that uses one
 * backend; one loop shared by every contender would be polymorphic and
 * measure how the JIT copes with that instead.
 */
type Drain = (ring: RingT, now: () => number) => [number, number];
const makeDrain = (): Drain =>
  new Function(
    "ring",
    "now",
    `const t0 = now();
    let n = 0, sum = 0;
    for (let p = ring.next(); p; p = ring.next()) {
      sum += p.data[p.offset + 17];
      n++;
    }
    const t = (now() - t0) / 1000;
    if (sum < 0) console.log(sum);
    return [n, t];`,
  ) as Drain;
const now = () => performance.now();

/** The C drain reader: opened (READY) before the frames are sent, drained on SIGUSR1. */
const CDRAIN = process.env.RINGCAP_CDRAIN ?? join(ROOT, "build/vm/out/bin/cdrain");
type CReader = {
  drain(): Promise<{ read: number; seconds: number; packets: number; dropped: number }>;
  kill(): void;
};
function openC(iface: string, backend: "ring" | "packet"): Promise<CReader> {
  const child = spawn(CDRAIN, [iface, backend, "--ring-mb", "64", "-s", "128"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "", err = "";
  const waiters: (() => void)[] = [];
  child.stdout!.on("data", (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on("data", (d) => (err += d));
  child.on("close", () => {
    out += "\nCLOSED\n";
    for (const w of waiters.splice(0)) w();
  });
  const line = async (want: (l: string) => boolean): Promise<string> => {
    for (;;) {
      const l = out.split("\n").find(want);
      if (l) return l;
      if (out.includes("CLOSED")) throw new Error(`cdrain ${backend}: ${err.trim() || "exited"}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return line((l) => l === "READY").then(() => ({
    async drain() {
      process.kill(child.pid!, "SIGUSR1");
      return JSON.parse(await line((l) => l.startsWith("{")));
    },
    kill: () => {
      try {
        if (child.exitCode === null) process.kill(child.pid!, "SIGTERM");
      } catch { // gone already
      }
    },
  }));
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
type Acc = { pct: number[]; drop: number[]; mpps: number[] };
const res: Record<string, Acc> = {};
// AF_PACKET twice: with libring's default 10 ms block retire timeout, and with
// 1 s (partly filled blocks retired at low rates are what fill its ring).
const contenders = [
  { name: "ring", opts: { backend: "ring" as const } },
  { name: "packet", opts: { backend: "packet" as const } },
  { name: "packet_tov1000", opts: { backend: "packet" as const, timeoutMs: 1000 } },
];
const drains: Record<string, Drain> = Object.fromEntries(contenders.map((c) => [c.name, makeDrain()]));

const withC = existsSync(CDRAIN);
for (let rep = -1; rep < REPS; rep++) { // rep -1 warms the JIT up, not counted
  using net = VethPair.create("bn");
  const rings: [string, RingT][] = [];
  const cs: [string, CReader][] = [];
  try {
    for (const c of contenders) {
      rings.push([c.name, await Ring.open(net.host, { ...c.opts, ringMb: 64, snaplen: 128 })]);
    }
    if (withC) { for (const b of ["ring", "packet"] as const) cs.push([`c_${b}`, await openC(net.host, b)]); }
    net.send(N, { min: 60, max: 60 });
    for (const [, r] of rings) await settle(r, N);
    await new Promise((r) => setTimeout(r, 1100)); // let the last TPACKET_V3 blocks retire
    const order = rep % 2 ? [...rings].reverse() : rings;
    const got: [string, number, number, number, number][] = []; // name, read, s, packets, dropped
    for (const [name, ring] of order) {
      const [n, t] = drains[name](ring, now);
      const s = ring.stats();
      got.push([name, n, t, s.packets, s.dropped]);
    }
    for (const [name, c] of rep % 2 ? [...cs].reverse() : cs) {
      const r = await c.drain();
      got.push([name, r.read, r.seconds, r.packets, r.dropped]);
    }
    if (rep < 0) continue;
    for (const [name, n, t, packets, dropped] of got) {
      const a = res[name] ??= { pct: [], drop: [], mpps: [] };
      a.pct.push((100 * packets) / N);
      a.drop.push((100 * dropped) / N);
      a.mpps.push(n / t / 1e6);
    }
  } finally {
    for (const [, r] of rings) r.close();
    for (const [, c] of cs) c.kill();
  }
}

// ---- scaling: 1 vs 2 Workers, module cluster vs AF_PACKET fanout ----
type Msg = Record<string, unknown> & { op: string };
function call(w: Worker, msg: Msg): Promise<Msg> {
  return new Promise((resolve, reject) => {
    w.onmessage = (ev: MessageEvent) => {
      if (ev.data.op === "error") reject(new Error(ev.data.message));
      else resolve(ev.data);
    };
    w.postMessage(msg);
  });
}

const WORKER = new URL("./bench_drain_worker.ts", import.meta.url).href;
const scaling: Record<string, { mpps: number[]; split: string }> = {};
if (process.env.RINGCAP_BENCH_SCALING !== "0") {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-bench-"));
  const pcap = join(dir, "flows.pcap");
  const w = PcapWriter.open(pcap);
  for (let i = 0; i < N; i++) { // 4096 flows
    const f = i & 4095;
    w.writeBytes(
      ether(
        0x0800,
        ipv4(
          { src: `10.${f >> 8}.${f & 255}.1`, dst: "10.200.0.1", proto: 17 },
          udp(1024 + f, 53, [i & 255]),
        ),
      ),
      1_700_000_000,
      0,
    );
  }
  w.close();
  const workers = [new Worker(WORKER, { type: "module" }), new Worker(WORKER, { type: "module" })];
  try {
    for (let rep = -1; rep < REPS; rep++) {
      for (const backend of ["ring", "packet"] as const) {
        for (const n of rep % 2 ? [2, 1] : [1, 2]) {
          using net = VethPair.create("bs");
          const ws = workers.slice(0, n);
          let group = 0;
          for (const wk of ws) {
            const r = await call(wk, {
              op: "open",
              iface: net.host,
              backend,
              ringMb: 32,
              mode: "hash",
              group,
              members: n,
            });
            group = r.group as number;
          }
          for (const wk of ws) await call(wk, { op: "start" });
          execFileSync("ip", ["netns", "exec", net.ns, TXFRAMES, net.peer, "--pcap", pcap], {
            stdio: "ignore",
          });
          const t0 = Date.now();
          let last = -1, still = 0;
          for (;;) { // settle: every frame in a ring (or dropped)
            let got = 0;
            for (const wk of ws) {
              const s = await call(wk, { op: "stats" });
              got += (s.packets as number) + (s.dropped as number);
            }
            if (got >= N || Date.now() - t0 > 60000) break;
            still = got === last ? still + 1 : 0;
            if (still > 25) break;
            last = got;
            await new Promise((r) => setTimeout(r, 20));
          }
          await new Promise((r) => setTimeout(r, 1100)); // TPACKET_V3 blocks retire
          const res = await Promise.all(ws.map((wk) => call(wk, { op: "drain" })));
          for (const wk of ws) await call(wk, { op: "close" });
          if (rep < 0) continue;
          const total = res.reduce((a, r) => a + (r.n as number), 0);
          const span = Math.max(...res.map((r) => r.t1 as number)) -
            Math.min(...res.map((r) => r.t0 as number));
          const k = `${backend}_${n}w`;
          const a = scaling[k] ??= { mpps: [], split: "" };
          a.mpps.push(total / (span / 1000) / 1e6);
          a.split = res.map((r) => r.n).join("/");
        }
      }
    }
  } finally {
    for (const wk of workers) wk.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}

const out: Record<string, unknown> = { runtime, sent: N, reps: REPS };
for (const [k, a] of Object.entries(res)) {
  out[k] = {
    captured_pct: Number(median(a.pct).toFixed(2)),
    dropped_pct: Number(median(a.drop).toFixed(2)),
    drain_mpps: Number(median(a.mpps).toFixed(2)),
  };
}
const mpps = (k: string) => (out[k] as { drain_mpps: number } | undefined)?.drain_mpps;
const ratio = (a: string, b: string) => {
  const x = mpps(a), y = mpps(b);
  return x !== undefined && y ? Number((x / y).toFixed(2)) : null;
};
out.ratios = {
  ring_vs_packet: ratio("ring", "packet"),
  c_ring_vs_c_packet: ratio("c_ring", "c_packet"),
  ring_vs_c_ring: ratio("ring", "c_ring"),
  packet_vs_c_packet: ratio("packet", "c_packet"),
};
if (!withC) out.note = `no C reader (${CDRAIN} not built: scripts/vm/run.sh builds it)`;
if (Object.keys(scaling).length) {
  out.scaling = Object.fromEntries(
    Object.entries(scaling).map((
      [k, a],
    ) => [k, { drain_mpps: Number(median(a.mpps).toFixed(2)), split: a.split }]),
  );
}
console.log(JSON.stringify(out));
