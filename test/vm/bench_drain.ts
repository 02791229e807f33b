/**
 * Module backend vs AF_PACKET backend, side by side in the same VM run
 * (test/vm/ts_tests.sh runs it; TCG slows both, the ratio is what counts).
 *
 * Per repetition: open one Ring of each backend on the same veth end, send
 * N minimum-size frames at full speed from a namespace (txframes), then
 * report what each captured and dropped (% of sent) and how fast a TypeScript loop
 * drains what is already in the ring (the reader's own speed, no
 * generator running). Prints one JSON line:
 *   {"runtime", "sent", "ring": {captured_pct, drain_mpps}, "packet": {...}, "reps"}
 * with medians over the repetitions.
 *
 * @example
 * ```sh
 * bun test/vm/bench_drain.ts 100000 3
 * ```
 */
import process from "node:process";
import { Ring } from "../../lib/ring.ts";
import "../../lib/ring_slots.ts";
import type { Ring as RingT } from "../../lib/ring_base.ts";
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
const res: Record<string, { pct: number[]; drop: number[]; mpps: number[] }> = {
  ring: { pct: [], drop: [], mpps: [] },
  packet: { pct: [], drop: [], mpps: [] },
};

for (let rep = 0; rep < REPS; rep++) {
  using net = VethPair.create("bn");
  using mod = await Ring.open(net.host, { backend: "ring", ringMb: 64, snaplen: 128 });
  using pkt = await Ring.open(net.host, { backend: "packet", ringMb: 64, snaplen: 128 });
  net.send(N, { min: 60, max: 60 });
  await settle(mod, N);
  await settle(pkt, N);
  await new Promise((r) => setTimeout(r, 50)); // let the last TPACKET_V3 block retire
  const order: [string, RingT][] = rep % 2
    ? [["packet", pkt], ["ring", mod]]
    : [["ring", mod], ["packet", pkt]];
  for (const [name, ring] of order) {
    const [n, t] = drain(ring);
    const s = ring.stats();
    res[name].pct.push((100 * s.packets) / N);
    res[name].drop.push((100 * s.dropped) / N);
    res[name].mpps.push(n / t / 1e6);
  }
}

const out = (k: string) => ({
  captured_pct: Number(median(res[k].pct).toFixed(2)),
  dropped_pct: Number(median(res[k].drop).toFixed(2)),
  drain_mpps: Number(median(res[k].mpps).toFixed(2)),
});
console.log(JSON.stringify({ runtime, sent: N, ring: out("ring"), packet: out("packet"), reps: REPS }));
