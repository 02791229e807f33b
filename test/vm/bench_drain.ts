/**
 * Module backend vs AF_PACKET backend, side by side in the same VM run
 * (test/vm/ts_tests.sh runs it; TCG slows both, the ratio is what counts).
 *
 * Per repetition: open one Ring of each backend on the same veth end (and a
 * second AF_PACKET one with a 1 s block timeout), send
 * N minimum-size frames at full speed from a namespace (txframes), then
 * report what each captured and dropped (% of sent) and how fast a TypeScript loop
 * drains what is already in the ring (the reader's own speed, no
 * generator running). Prints one JSON line:
 *   {"runtime", "sent", "ring": {captured_pct, drain_mpps}, "packet": {...}, "reps"}
 * with medians over the repetitions (after one warm-up repetition).
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
import { VethPair } from "../net.ts";

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

/** Read everything ready; returns [packets, seconds]. */
function drain(ring: RingT): [number, number] {
  const t0 = performance.now();
  let n = 0, sum = 0;
  for (let p = ring.next(); p; p = ring.next()) {
    sum += p.data[p.offset + 17];
    n++;
  }
  const t = (performance.now() - t0) / 1000;
  if (sum < 0) console.log(sum);
  return [n, t];
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

for (let rep = -1; rep < REPS; rep++) { // rep -1 warms the JIT up, not counted
  using net = VethPair.create("bn");
  const rings: [string, RingT][] = [];
  try {
    for (const c of contenders) {
      rings.push([c.name, await Ring.open(net.host, { ...c.opts, ringMb: 64, snaplen: 128 })]);
    }
    net.send(N, { min: 60, max: 60 });
    for (const [, r] of rings) await settle(r, N);
    await new Promise((r) => setTimeout(r, 1100)); // let the last TPACKET_V3 blocks retire
    const order = rep % 2 ? [...rings].reverse() : rings;
    for (const [name, ring] of order) {
      const [n, t] = drain(ring);
      const s = ring.stats();
      if (rep < 0) continue;
      const a = res[name] ??= { pct: [], drop: [], mpps: [] };
      a.pct.push((100 * s.packets) / N);
      a.drop.push((100 * s.dropped) / N);
      a.mpps.push(n / t / 1e6);
    }
  } finally {
    for (const [, r] of rings) r.close();
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
console.log(JSON.stringify(out));
