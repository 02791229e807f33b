/**
 * Lone-packet latency of ringcap's TypeScript read path (Bun or Deno): the
 * same Ring + run() loop pcount uses; for every packet, the wall clock when
 * the callback gets it minus the packet's kernel timestamp (taken when
 * AF_PACKET received it). Twin of src/latread.c (the C ceiling).
 *
 *   bun run scripts/bench/latency.ts -i IFACE -c COUNT [--wait busy|poll|adaptive] [--immediate]
 *   deno run -A scripts/bench/latency.ts ...
 * Prints one JSON line: {"packets":N,"dropped":N,"lat_us":[...]}.
 *
 * The wall clock: performance.now() (monotonic, sub-microsecond) plus an
 * offset to CLOCK_REALTIME taken at the edges of Date.now()'s millisecond
 * ticks (best of several edges: error < 2 us).
 */
import process from "node:process";
import { Ring, type WaitMode } from "../../lib/source/live/ring.ts";
import { run } from "../../lib/run.ts";

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const iface = opt("-i", "lo");
const count = Number(opt("-c", "100"));
const wait = opt("--wait", "poll") as WaitMode;
const immediate = args.includes("--immediate"); // TPACKET_V2 frames instead of V3 blocks

/** realtime_ms = performance.now() + offset, from the edges of Date.now(). */
function realtimeOffset(): number {
  // Just after Date.now() turns to d, realtime >= d ms: offset >= d - now.
  // The largest of these lower bounds over several edges is within ~1 us.
  let best = -Infinity;
  for (let k = 0; k < 8; k++) {
    const d0 = Date.now();
    let d = d0;
    while ((d = Date.now()) === d0);
    best = Math.max(best, d - performance.now());
  }
  return best;
}

const offset = realtimeOffset();
const lat = new Float64Array(count);
let n = 0;
const ring = await Ring.open(iface, { snaplen: 128, wait, immediate });
await run(ring, (p) => {
  const nowUs = (performance.now() + offset) * 1000;
  if (n < count) lat[n++] = nowUs - (p.tsSec * 1e6 + p.tsNsec / 1e3);
}, { count });
const s = ring.stats();
ring.close();
console.log(
  JSON.stringify({
    packets: s.packets,
    dropped: s.dropped,
    delivery: ring.delivery,
    lat_us: Array.from(lat.subarray(0, n), (x) => +x.toFixed(1)),
  }),
);
