/**
 * `run()`: the read loop every tool shares (pcount, topn, dump, the probe).
 *
 * It reads packets from a live `Ring` or a file reader and calls
 * `onPacket(p)` for each one, synchronously, in bursts of up to 65,536;
 * between bursts it reads the clock once (ticks, `--duration`), checks the
 * stop flag (SIGINT/SIGTERM) and lets the event loop turn, so signals stay
 * responsive at any rate. It waits for the ring only when it is empty: one
 * blocking FFI call per wake-up, none per packet; `Ring.wait` turns the event
 * loop after every wake-up under Bun, every 50 ms under Deno. Files end at end of
 * file.
 *
 * @example
 * ```ts
 * import { Ring } from "./source/live/ring.ts";
 * import { run } from "./run.ts";
 * const ring = await Ring.open("lo");
 * let n = 0;
 * const end = await run(ring, () => n++, { duration: 2, onTick: (s) => console.log(s, n) });
 * console.log(end.reason, n);
 * ring.close();
 * ```
 */
import process from "node:process";
import type { Packet, PacketSource } from "./packet.ts";

/** Options of `run`. */
export interface RunOptions {
  /** Stop after this many packets (tcpdump -c); 0 = no limit. */
  count?: number;
  /** Stop after this many seconds (--duration); 0 = no limit. */
  duration?: number;
  /** Called about every `tickMs` ms with the seconds since start. */
  onTick?: (seconds: number) => void;
  /** Tick period; default 1000 ms. */
  tickMs?: number;
  /** Stop on SIGINT/SIGTERM/SIGHUP (default true). */
  handleSignals?: boolean;
  /**
   * Called between bursts of packets; when it returns a promise, reading waits
   * for it (a file reader waiting for a slower consumer, e.g. a paced exporter).
   */
  between?: () => Promise<void> | undefined;
  /**
   * Return a failure of the source (the interface was removed, a damaged file)
   * as `reason: "error"` with `error` set, instead of throwing: a tool prints
   * its totals first, then the error, as tcpdump does. Default false.
   */
  returnErrors?: boolean;
  /**
   * Threads sharing one capture (Workers): `stop()` is checked once per burst
   * (a shared stop flag); `claim(n)` reserves up to n packets of a shared -c
   * budget before a burst (returns how many it may read: 0 = none now) and
   * `settle(claimed, read)` gives back what the burst did not use, returning
   * true when the whole budget is spent. Without `claim`, `count` applies.
   */
  shared?: {
    stop(): boolean;
    claim?(n: number): number;
    settle?(claimed: number, read: number): boolean;
  };
}

/** Why `run` ended and what it read. */
export interface RunResult {
  reason: "count" | "duration" | "signal" | "eof" | "error";
  /** Packets onPacket has taken (after an error: those before it). */
  read: number;
  /** Seconds from start to end. */
  seconds: number;
  /** What failed, with `returnErrors` (reason "error"). */
  error?: unknown;
}

/** A live source can wait for packets; a file source ends. */
interface Waitable {
  wait(timeoutMs: number): Promise<boolean>;
  /** A blocking wait without a promise, or null when the event loop must turn (Ring.waitNow). */
  waitNow?(timeoutMs: number, now: number): boolean | null;
}

const BURST = 65536;

/** SIGINT/SIGTERM/SIGHUP set this flag. Handlers are installed once and never removed:
 * removing the last listener under Deno lets a just-handled signal kill the process.
 * SIGHUP (a closed terminal, `systemctl kill -s HUP`) ends a capture as SIGTERM
 * does — totals printed, files complete, every flow exported — instead of
 * killing it with nothing written. */
const signals = { stop: false, installed: false };
function installSignals(): void {
  if (signals.installed) return;
  signals.installed = true;
  const stop = () => (signals.stop = true);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("SIGHUP", stop);
}
const turn = () => new Promise<void>((r) => setImmediate(r));

/** True once SIGINT, SIGTERM or SIGHUP arrived (installs the handlers on first use): for loops other than run()'s. */
export function stopSignalled(): boolean {
  installSignals();
  return signals.stop;
}

/** Read packets until count, duration, a signal or end of file. See the module doc. */
export async function run(
  src: PacketSource,
  onPacket: (p: Packet) => void,
  o: RunOptions = {},
): Promise<RunResult> {
  const t0 = performance.now();
  const progress = { read: 0 };
  if (!o.returnErrors) return loop(src, onPacket, o, t0, progress);
  try {
    return await loop(src, onPacket, o, t0, progress);
  } catch (error) {
    return { reason: "error", error, read: progress.read, seconds: (performance.now() - t0) / 1000 };
  }
}

/** What `drain` caught: the source's or onPacket's exception. */
interface Fault {
  failed: boolean;
  error: unknown;
}

/**
 * Up to `n` packets to `onPacket`; how many it took. The per-packet loop lives
 * here, apart from `loop`: the JIT compiles this small function in a few ms,
 * where optimizing the whole async loop around it took ~70 ms of a JIT thread
 * (JSC's FTL) — CPU taken from the reader at the start of every capture.
 */
function drain(src: PacketSource, onPacket: (p: Packet) => void, n: number, fault: Fault): number {
  let got = 0;
  try {
    for (let p = n > 0 ? src.next() : null; p; p = --n > 0 ? src.next() : null) {
      onPacket(p);
      got++;
    }
  } catch (e) {
    fault.failed = true;
    fault.error = e;
  }
  return got;
}

async function loop(
  src: PacketSource,
  onPacket: (p: Packet) => void,
  o: RunOptions,
  t0: number,
  progress: { read: number },
): Promise<RunResult> {
  const count = o.count ?? 0;
  const durationMs = (o.duration ?? 0) * 1000;
  const tickMs = o.tickMs ?? 1000;
  const live = typeof (src as unknown as Waitable).wait === "function";
  let nextTick = t0 + tickMs;
  let read = 0;
  const handle = o.handleSignals !== false;
  if (handle) installSignals();
  const shared = o.shared, claim = shared?.claim !== undefined;
  let reason: RunResult["reason"] = "signal";
  const fault: Fault = { failed: false, error: undefined };
  for (;;) {
    const burst = claim ? shared!.claim!(BURST) : count ? Math.min(BURST, count - read) : BURST;
    const claimed = burst;
    const got = drain(src, onPacket, burst, fault);
    read += got; // also when the source or onPacket threw: `progress` stays exact
    progress.read = read;
    if (claim && shared!.settle!(claimed, got)) reason = "count";
    if (fault.failed) {
      fault.failed = false;
      throw fault.error;
    }
    if (reason === "count") break;
    const now = performance.now();
    if (o.onTick && now >= nextTick) {
      o.onTick((now - t0) / 1000);
      nextTick += tickMs * Math.max(1, Math.ceil((now - nextTick) / tickMs));
    }
    if (count && read >= count) {
      reason = "count";
      break;
    }
    if (durationMs && now - t0 >= durationMs) {
      reason = "duration";
      break;
    }
    if (handle && signals.stop) break;
    if (shared?.stop()) break;
    if (got === 0 && !live) {
      reason = "eof";
      break;
    }
    if (got < BURST && live) {
      const left = durationMs ? durationMs - (now - t0) : 100;
      // no budget now (other threads hold what is left of -c): look again soon
      const ms = claim && claimed === 0 ? 1 : Math.max(1, Math.min(100, left, nextTick - now));
      const w = src as unknown as Waitable;
      if (!w.waitNow || w.waitNow(ms, now) === null) await w.wait(ms);
    } else {
      await (o.between?.() ?? turn());
    }
  }
  return { reason, read, seconds: (performance.now() - t0) / 1000 };
}
