/**
 * What waiting for packets costs between bursts (issue 17 part 2): run() over
 * a live ring makes one blocking FFI wait per wake-up (or per 50 ms slice when
 * idle). Under Deno the event loop turns at most every 50 ms while packets
 * keep coming — it turned after every wake-up, each turn a nonblocking FFI
 * call handed to a thread pool; Bun keeps its cheap turn (setImmediate) per
 * wake-up. Counted with `ring.waitCounts` in a namespace + veth pair the test
 * makes: idle for 1 s, and 1,000 frames at 2,000 pps on an immediate
 * (TPACKET_V2) ring, where nearly every frame wakes the reader. Timers, a
 * child process's exit and signals still get their turn while waiting.
 */
import assert from "node:assert/strict";
import { Ring } from "../lib/source/live/ring.ts";
import { run } from "../lib/run.ts";
import { runtime, skip, test } from "./harness.ts";
import { netReason, startProcess, TXFRAMES, VethPair } from "./net.ts";

function needNet(): void {
  const why = netReason();
  if (why) skip(why);
}

/** Least ms between turns while packets keep coming: Bun 0 (a cheap setImmediate per wake-up), Deno 50 (ring_base.ts TURN_MS). */
const TURN_MS = runtime === "bun" ? 0 : 50;
/** Turns allowed: one per TURN_MS, plus slack for the first turn and a late one. */
const turnsBound = (seconds: number, waits: number) =>
  TURN_MS ? Math.ceil((seconds * 1000) / TURN_MS) + 3 : waits + 1;

test("wait cost: idle 1 s in run(): ~20 FFI waits (50 ms slices), turns bounded, timers on time", async () => {
  needNet();
  using net = VethPair.create("wcid");
  using ring = await Ring.open(net.host, { snaplen: 128, ringMb: 4 });
  const fired: number[] = [];
  const t0 = performance.now();
  const timer = setInterval(() => fired.push(performance.now() - t0), 100);
  const end = await run(ring, () => {}, { duration: 1, handleSignals: false });
  clearInterval(timer);
  const { waits, turns } = ring.waitCounts;
  assert.equal(end.reason, "duration");
  assert.ok(waits >= 5 && waits <= 40, `idle: ${waits} FFI waits in ${end.seconds.toFixed(2)} s (want ~20)`);
  assert.ok(
    turns <= turnsBound(end.seconds, waits),
    `idle: ${turns} event-loop turns in ${end.seconds.toFixed(2)} s`,
  );
  // a 100 ms interval timer still fires while run() waits: at most 50 ms (a slice) + a turn late
  assert.ok(fired.length >= 6, `the 100 ms timer fired ${fired.length} times in 1 s while run() waited`);
});

test("wait cost: 1,000 frames at 2,000 pps, immediate ring: a wait per wake-up, a turn only every 50 ms (Deno) / per wake-up (Bun)", async () => {
  needNet();
  using net = VethPair.create("wcrt");
  using ring = await Ring.open(net.host, { snaplen: 128, ringMb: 4, immediate: true });
  const tx = startProcess("ip", ["netns", "exec", net.ns, TXFRAMES, net.peer, "1000", "--pps", "2000"]);
  let n = 0, fired = 0;
  const timer = setInterval(() => fired++, 20);
  const end = await run(ring, () => n++, { count: 1000, duration: 10, handleSignals: false });
  clearInterval(timer);
  const sent = await tx.done;
  assert.equal(sent.code, 0, sent.err);
  assert.equal(n, 1000, `read ${n} of 1000 frames (${end.reason})`);
  const { waits, turns } = ring.waitCounts;
  // the reader did wake up often (frames one at a time): this is the case a turn per wake-up made costly
  assert.ok(
    waits >= 100,
    `only ${waits} FFI waits for 1000 frames at 2000 pps: the test did not exercise wake-ups`,
  );
  assert.ok(
    turns <= turnsBound(end.seconds, waits),
    `${turns} event-loop turns for ${waits} wake-ups in ${end.seconds.toFixed(2)} s (want <= ${
      turnsBound(end.seconds, waits)
    }: one per ${TURN_MS} ms)`,
  );
  // and the event loop did turn meanwhile: a 20 ms timer fired at least once per 100 ms
  assert.ok(fired >= Math.floor(end.seconds * 10), `a 20 ms timer fired ${fired} times in ${end.seconds} s`);
});

test("wait cost: ring.wait() still lets a concurrent child process and timers complete", async () => {
  needNet();
  using net = VethPair.create("wcch");
  using ring = await Ring.open(net.host, { snaplen: 128, ringMb: 4 });
  const child = startProcess("sleep", ["0.2"]);
  let exited = -1;
  const t0 = performance.now();
  child.done.then(() => (exited = performance.now() - t0));
  while (performance.now() - t0 < 1000 && exited < 0) await ring.wait(1000);
  assert.ok(exited >= 0, "a child process's exit was not seen while waiting on an idle ring for 1 s");
  assert.ok(exited < 600, `the child's exit (0.2 s) was seen after ${exited.toFixed(0)} ms`);
});
