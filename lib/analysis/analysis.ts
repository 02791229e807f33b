/**
 * The shape every tool takes (pcount, topn, the flow probe, dump), so one read
 * loop — and, with `--workers`, one Worker per core — can drive any of them.
 *
 * An `Analysis` is a tool's state on ONE thread:
 * - `add(p)` — the per-packet step: updates the state, allocates nothing;
 * - `tick(nowMs)` — optional wall-clock work between bursts (a live probe
 *   expires idle flows);
 * - `snapshot()` — what the state gained since the previous snapshot, as a
 *   plain object of numbers, strings and typed arrays (it can be posted from
 *   a Worker, its typed arrays transferred), after which the state starts over;
 * - `finish(nowMs)` — optional end-of-capture step before the last snapshot
 *   (the probe expires every flow still in its table).
 *
 * An `AnalysisKind` makes analyses and merges their snapshots: `merge(a, b)`
 * is the state that saw both a's packets and b's (two threads, or two
 * intervals of one thread). Output — per-interval lines, final totals,
 * `--json` — is built from merged snapshots, in the tool's front end.
 *
 * Suricata's "workers" runmode is the model: each thread runs the whole
 * pipeline on the packets its socket receives; results meet only at output.
 *
 * @example
 * ```ts
 * import { runAnalysis } from "./analysis.ts";
 * import { counting } from "./count.ts";
 * import { openCaptureFile } from "../source/file/mod.ts";
 * using src = openCaptureFile("/tmp/trace.pcap");
 * const res = await runAnalysis(src, counting, {});
 * console.log(res.total.packets, res.total.bytes);
 * ```
 * @module
 */
import type { Packet, PacketSource } from "../packet.ts";
import { run, type RunOptions, type RunResult } from "../run.ts";
import { RingError } from "../source/live/errors.ts";

/** A tool's state on one thread. See the module doc. */
export interface Analysis<S> {
  /** Update the state with one packet (the hot path: no allocation, no I/O). */
  add(p: Packet): void;
  /** Wall-clock work between bursts, about once per tick (`nowMs`: epoch ms). */
  tick?(nowMs: number): void;
  /** What the state gained since the previous snapshot (then it starts over). */
  snapshot(): S;
  /** End of the capture, before the last snapshot (`nowMs`: epoch ms). */
  finish?(nowMs: number): void;
}

/** How a tool's analyses are made and their snapshots combined. */
export interface AnalysisKind<O, S> {
  /** A short name ("count", "top", "flow", "dump") for messages. */
  readonly name: string;
  /** A fresh analysis for one thread. */
  create(options: O): Analysis<S>;
  /** The snapshot of a state that saw a's packets and b's (may reuse `a`). */
  merge(a: S, b: S): S;
  /**
   * What of a snapshot the running total keeps (default: all of it) — the
   * probe's flow records go to the exporter, not into the total.
   */
  retain?(s: S): S;
}

/**
 * The `AnalysisKind` a module exports under `name` (how a Worker, which gets
 * only a module URL, finds its analysis); a RingError EINVAL when there is none.
 */
export async function loadAnalysisKind<O, S>(module: string, name: string): Promise<AnalysisKind<O, S>> {
  const kind = (await import(module))[name] as AnalysisKind<O, S> | undefined;
  if (!kind || typeof kind.create !== "function" || typeof kind.merge !== "function") {
    throw new RingError("EINVAL", `${module} exports no analysis named '${name}'`);
  }
  return kind;
}

/** What `runAnalysis` returns: the read loop's result plus the merged snapshots. */
export interface AnalysisResult<S> extends RunResult {
  /** Every snapshot of the run merged (the whole capture). */
  total: S;
}

/** Options of `runAnalysis`: the read loop's, plus a hook for each snapshot. */
export interface RunAnalysisOptions<S> extends Omit<RunOptions, "onTick"> {
  /**
   * Every snapshot, with the seconds since the start: one at every tick, and
   * the last one at the end (`final`).
   */
  onSnapshot?: (s: S, seconds: number, final: boolean) => void;
}

/**
 * Run one analysis over a source on this thread (the `--workers 1` path):
 * the shared read loop calls `add` per packet; at each tick `tick` runs and,
 * with `onSnapshot`, a snapshot is taken and handed over; at the end `finish`
 * runs, the last snapshot is handed over, and every snapshot is merged into
 * `total` (what `retain` keeps of each).
 */
export async function runAnalysis<O, S>(
  src: PacketSource,
  kind: AnalysisKind<O, S>,
  options: O,
  o: RunAnalysisOptions<S> = {},
): Promise<AnalysisResult<S>> {
  const a = kind.create(options);
  let total: S | undefined;
  const take = () => {
    const s = a.snapshot(), kept = kind.retain ? kind.retain(s) : s;
    total = total === undefined ? kept : kind.merge(total, kept);
    return s;
  };
  const end = await run(src, (p) => a.add(p), {
    ...o,
    onTick: (sec) => {
      a.tick?.(Date.now());
      if (o.onSnapshot) o.onSnapshot(take(), sec, false);
    },
  });
  a.finish?.(Date.now());
  const last = take();
  o.onSnapshot?.(last, end.seconds, true);
  return { ...end, total: total! };
}
