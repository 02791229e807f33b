/**
 * `runCluster`: one capture spread over N cores — N Workers, each with its
 * own ring in one fanout group on the interface, each running the analysis
 * where its packets are (packets never cross threads), their snapshots merged
 * in the main thread. Suricata's "workers" runmode on AF_PACKET fanout, for
 * Bun and Deno.
 *
 * - Start: worker 0 creates the group (the kernel allocates its id, size
 *   fixed at N), the others join it; every ring is opened paused (it receives
 *   nothing) and all start together once every member has joined, so nothing
 *   before the start is counted and no member sees a frame alone.
 * - Results: every `tickMs` the main thread asks each worker for a snapshot
 *   and merges them (`AnalysisKind.merge`); `onSnapshot` gets the merged one.
 * - Stop: -c is one budget shared by all workers (exact); --duration,
 *   SIGINT/SIGTERM and the end of -c set a shared stop flag each worker checks
 *   once per burst; each worker then finishes its analysis and sends its last
 *   snapshot.
 * - Failure: a worker that fails (its interface removed, an exception) stops
 *   every other; the result carries the error naming the worker and the
 *   totals of what was captured — never a silently partial result.
 *
 * The analysis is named by module and export (`AnalysisRef`): each Worker
 * imports it itself.
 *
 * @example
 * ```ts
 * import { runCluster } from "./cluster.ts";
 * const res = await runCluster("eth0", {
 *   module: new URL("../analysis/count.ts", import.meta.url).href,
 *   export: "counting",
 *   options: {},
 * }, { workers: 2, fanout: "hash", duration: 5 });
 * console.log(res.total, res.workers.map((w) => w.stats.dropped));
 * ```
 * @module
 */
import { type AnalysisKind, loadAnalysisKind, runAnalysis } from "../analysis/analysis.ts";
import type { CaptureStats } from "../packet.ts";
import { type RunResult, stopSignalled } from "../run.ts";
import { RingError } from "../source/live/errors.ts";
import type { Delivery, FanoutMode, RingOptions } from "../source/live/ring_base.ts";
import { SharedControl } from "./shared.ts";
import { release as osRelease } from "node:os";
import process from "node:process";
import type { OpenMessage } from "./worker.ts";
import { openLive, xdpBackend, type XdpInfo, xdpInfo, xdpQueueList } from "../source/live/xdp_queues.ts";

/** An analysis a Worker can load: the module's URL, the name of its exported `AnalysisKind`, its options. */
export interface AnalysisRef<O, S = unknown> {
  module: string;
  export: string;
  options: O;
  /**
   * The kind itself, for the main thread (merging) when the module is the
   * program's entry script: importing it from itself while its top-level
   * await runs would never resolve.
   */
  kind?: AnalysisKind<O, S>;
}

/** The kind a ref names, for this thread. */
function kindOf<O, S>(ref: AnalysisRef<O, S>): Promise<AnalysisKind<O, S>> {
  return ref.kind ? Promise.resolve(ref.kind) : loadAnalysisKind(ref.module, ref.export);
}

/** Options of `runCluster`: the ring's, the group's, and when to stop. */
export interface ClusterOptions<S> extends Omit<RingOptions, "fanout" | "paused"> {
  /** Workers (fanout group members), 1..64. */
  workers: number;
  /** How the kernel spreads frames; default "hash" (both directions of a flow to one worker). */
  fanout?: FanoutMode;
  /** Reassemble IPv4 fragments before spreading (PACKET_FANOUT_FLAG_DEFRAG); default false. */
  defrag?: boolean;
  /** Stop after this many packets across all workers (exact); 0 = no limit. */
  count?: number;
  /** Stop after this many seconds from the start; 0 = no limit. */
  duration?: number;
  /** Snapshot period, ms; default 1000. Workers also `tick` their analysis at this period. */
  tickMs?: number;
  /** Stop on SIGINT/SIGTERM (default true). */
  handleSignals?: boolean;
  /** Every merged snapshot, with the seconds since the start, each worker's state, and `final` for the last. */
  onSnapshot?: (s: S, seconds: number, workers: readonly WorkerState[], final: boolean) => void;
}

/** One worker's counters. */
export interface WorkerState {
  index: number;
  /** Its ring's counters (packets, dropped, filtered, bytes), as of the latest snapshot. */
  stats: CaptureStats;
  /** Packets its analysis read (known at the end). */
  read: number;
}

/** A worker that failed: which one, and why. */
export class WorkerError extends Error {
  constructor(readonly worker: number, readonly why: string, readonly code?: string) {
    super(`worker ${worker}: ${why}`);
    this.name = "WorkerError";
  }
}

/** What `runCluster` returns. */
export interface ClusterResult<S> {
  reason: RunResult["reason"];
  /** Packets read by all workers. */
  read: number;
  /** Seconds from the start barrier to the end. */
  seconds: number;
  /** Milliseconds from the first Worker's creation to the start barrier. */
  startupMs: number;
  /** Every snapshot merged (what the kind retains of each). */
  total: S;
  /** Each worker's counters at the end. */
  workers: WorkerState[];
  /** The first worker failure, when reason is "error". */
  error?: WorkerError;
  /** How packets reached the workers' readers (`ring.delivery`; every ring alike). */
  delivery?: Delivery;
  /** On the xdp backend: attach mode, zero-copy or copy, every queue read (all workers'). */
  xdp?: XdpInfo;
}

/** The names of the ring options (what each Worker passes to Ring.open). */
const RING_KEYS = [
  "snaplen",
  "ringMb",
  "ringBytes",
  "blockBytes",
  "timeoutMs",
  "wait",
  "sampling",
  "filter",
  "promisc",
  "direction",
  "steal",
  "backend",
  "immediate",
  "xdpMode",
  "xdpQueue",
] as const satisfies readonly (keyof RingOptions)[];

/** The ring options among a cluster's (functions and cluster settings are not sent to Workers). */
function ringOnly(o: Omit<RingOptions, "fanout" | "paused">): RingOptions {
  return Object.fromEntries(RING_KEYS.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as RingOptions;
}

/**
 * The sum of the workers' ring counters (what one ring would report).
 *
 * @example
 * ```ts
 * import { sumStats } from "./cluster.ts";
 * sumStats([{ index: 0, read: 1, stats: { packets: 1, dropped: 0, filtered: 0, bytes: 60 } }]).bytes; // 60
 * ```
 */
export function sumStats(workers: readonly WorkerState[]): CaptureStats {
  const t = { ...ZERO };
  for (const { stats: s } of workers) {
    t.packets += s.packets, t.dropped += s.dropped, t.filtered += s.filtered, t.bytes += s.bytes;
  }
  return t;
}

/** Each worker's counters for a `--json` object: its ring's plus what its analysis read. */
export function workerCounters(workers: readonly WorkerState[]): Array<CaptureStats & { read: number }> {
  return workers.map((w) => ({ ...w.stats, read: w.read }));
}

/**
 * The oldest kernel whose fanout hash is symmetric: Linux 4.7 made
 * PACKET_FANOUT_HASH use `__skb_get_hash_symmetric` (before it, the hash of
 * an IPv6 packet included its flow label, which each end picks for itself,
 * so the two directions of a flow could land in two workers).
 */
export const SYMMETRIC_FANOUT_KERNEL = [4, 7] as const;

/** A warning line when the running kernel is older than `SYMMETRIC_FANOUT_KERNEL`, else null. */
export function kernelWarning(release = osRelease()): string | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return null;
  const [maj, min] = [Number(m[1]), Number(m[2])], [wm, wn] = SYMMETRIC_FANOUT_KERNEL;
  if (maj > wm || (maj === wm && min >= wn)) return null;
  return `warning: kernel ${release} is older than ${wm}.${wn}: its fanout hash is not symmetric for IPv6 ` +
    `flows with flow labels (both directions of such a flow may reach two workers)`;
}

const ZERO: CaptureStats = { packets: 0, dropped: 0, filtered: 0, bytes: 0 };

// deno-lint-ignore no-explicit-any
type Msg = any;

/** Run `ref`'s analysis on `iface` over `o.workers` Workers; see the module doc. */
export async function runCluster<O, S>(
  iface: string,
  ref: AnalysisRef<O, S>,
  o: ClusterOptions<S>,
  onStart?: (xdp?: XdpInfo) => void,
): Promise<ClusterResult<S>> {
  const n = o.workers;
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new RingError("EINVAL", `workers must be an integer from 1 to 64, got ${n}`);
  }
  const kind = await kindOf(ref);
  const { fanout = "hash", defrag, count = 0, duration = 0, tickMs = 1000, onSnapshot } = o;
  const ring = ringOnly(o);
  // xdp: no fanout; each worker reads whole receive queues (worker i: queues i, i+n, ...)
  const xdp = xdpBackend(ring) ? xdpQueueList(iface, ring) : null;
  if (xdp && n > xdp.length) {
    const chosen = ring.xdpQueue !== undefined || !!process.env.RINGCAP_XDP_QUEUE;
    const nq = xdp.length, q = xdp[0], queues = nq === 1 ? "1 receive queue" : `${nq} receive queues`;
    throw new RingError(
      "EINVAL",
      chosen
        ? `--workers ${n}: the xdp backend reads only queue ${q} of ${iface} (--queue), one AF_XDP socket ` +
          `that one worker reads: use --workers 1, or drop --queue to read every queue`
        : `--workers ${n}: ${iface} has ${queues} and the xdp backend gives each worker whole queues ` +
          `(one AF_XDP socket per queue): use --workers ${nq}${nq > 1 ? " or fewer" : ""}`,
    );
  }
  const warning = xdp ? null : kernelWarning();
  if (warning) console.error(warning);
  const control = SharedControl.create(count);
  const shared = new SharedControl(control);
  const t00 = performance.now();
  const pool: Worker[] = [];
  const states: WorkerState[] = [];
  for (let i = 0; i < n; i++) states.push({ index: i, stats: { ...ZERO }, read: 0 });
  const handlers: Array<(m: Msg) => void> = [];
  let delivery: Delivery | undefined;
  const xdps: Array<XdpInfo | undefined> = [];
  const url = new URL("./worker.ts", import.meta.url).href;
  const spawn = (i: number, group: number): Promise<number> => {
    const w = new Worker(url, { type: "module" });
    pool.push(w);
    return new Promise((resolve, reject) => {
      handlers[i] = (m: Msg) => {
        if (m.type === "joined") {
          delivery ??= m.delivery;
          xdps[i] = m.xdp;
          resolve(m.group);
        } else if (m.type === "failed") reject(new RingError(m.code ?? "EIO", m.message));
      };
      w.onmessage = (e: MessageEvent) => handlers[i](e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault?.();
        handlers[i]({ type: "failed", index: i, stage: "worker", message: e.message ?? String(e) });
      };
      const msg: OpenMessage = {
        type: "open",
        index: i,
        iface,
        ring: xdp ? ring : { ...ring, fanout: { mode: fanout, group, members: n, defrag } },
        xdpQueues: xdp ? xdp.filter((_, k) => k % n === i) : undefined,
        module: ref.module,
        export: ref.export,
        options: ref.options,
        control,
        tickMs,
      };
      w.postMessage(msg);
    });
  };
  const terminate = () => pool.forEach((w) => w.terminate());
  try {
    const group = await spawn(0, 0);
    const others = [];
    // xdp: one worker after the other (libxdp attaches the program with the first socket)
    for (let i = 1; i < n; i++) xdp ? await spawn(i, group) : others.push(spawn(i, group));
    await Promise.all(others);
  } catch (e) {
    terminate();
    throw e;
  }
  // every member joined: start them all
  const startupMs = performance.now() - t00;
  onStart?.(xdp ? mergeXdp(xdps) : undefined);
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  let total: S | undefined;
  const keep = (s: S) => {
    const kept = kind.retain ? kind.retain(s) : s;
    total = total === undefined ? kept : kind.merge(total, kept);
  };
  let error: WorkerError | undefined;
  let stopReason: ClusterResult<S>["reason"] | undefined;
  const stopAll = (why: ClusterResult<S>["reason"]) => {
    stopReason ??= why;
    shared.requestStop();
  };
  const finals: Array<S | undefined> = new Array(n);
  const ended = new Array<boolean>(n).fill(false);
  let endedCount = 0;
  let allEnded!: () => void;
  const whenEnded = new Promise<void>((r) => (allEnded = r));
  // snapshot rounds: a round is complete when every worker answered or ended
  let seq = 0;
  let round: { seq: number; got: Array<S | undefined>; answered: boolean[] } | null = null;
  const closeRound = () => {
    if (!round || !round.answered.every((a, i) => a || ended[i])) return;
    const parts = round.got.filter((s): s is S => s !== undefined);
    round = null;
    if (parts.length === 0) return;
    const merged = parts.reduce((a, b) => kind.merge(a, b));
    keep(merged);
    onSnapshot?.(merged, seconds(), states, false);
  };
  const end = (i: number) => {
    if (ended[i]) return;
    ended[i] = true;
    endedCount++;
    closeRound();
    if (endedCount === n) allEnded();
  };
  for (let i = 0; i < n; i++) {
    handlers[i] = (m: Msg) => {
      if (m.stats) states[i].stats = m.stats;
      if (m.type === "snapshot") {
        if (round && m.seq === round.seq && !ended[i]) {
          round.got[i] = m.snapshot;
          round.answered[i] = true;
          closeRound();
        } else if (m.snapshot !== undefined) keep(m.snapshot); // a late answer still counts
      } else if (m.type === "done") {
        states[i].read = m.read;
        if (m.reason === "count") stopAll("count");
        finals[i] = m.snapshot;
        end(i);
      } else if (m.type === "failed") {
        states[i].read = m.read ?? 0;
        error ??= new WorkerError(i, m.message, m.code);
        stopAll("error");
        finals[i] = m.snapshot;
        end(i);
      }
    };
  }
  for (const w of pool) w.postMessage({ type: "start" });
  const handle = o.handleSignals !== false;
  const timers = [
    setInterval(() => {
      if (round === null && endedCount < n && !shared.stop()) {
        round = { seq: ++seq, got: new Array(n), answered: new Array(n).fill(false) };
        for (let i = 0; i < n; i++) if (!ended[i]) pool[i].postMessage({ type: "snapshot", seq });
      }
    }, tickMs),
    setInterval(() => {
      if (handle && stopSignalled()) stopAll("signal");
      if (duration && seconds() >= duration) stopAll("duration");
    }, Math.max(1, Math.min(50, duration ? duration * 250 : 50))),
  ];
  try {
    await whenEnded;
  } finally {
    timers.forEach(clearInterval);
    terminate();
  }
  if (round) { // a round cut short by the end: what was answered still counts
    for (const s of (round as { got: Array<S | undefined> }).got) if (s !== undefined) keep(s);
    round = null;
  }
  const last = finals.filter((s): s is S => s !== undefined);
  if (last.length) {
    const merged = last.reduce((a, b) => kind.merge(a, b));
    keep(merged);
    onSnapshot?.(merged, seconds(), states, true);
  }
  const read = states.reduce((a, w) => a + w.read, 0);
  return {
    reason: error ? "error" : stopReason ?? "signal",
    read,
    seconds: seconds(),
    startupMs,
    total: total ?? (kind.create(ref.options).snapshot() as S),
    workers: states,
    error,
    delivery,
    xdp: xdp ? mergeXdp(xdps) : undefined,
  };
}

/** The workers' xdp reports as one: the first's mode, zero-copy where all are, every queue. */
function mergeXdp(each: Array<XdpInfo | undefined>): XdpInfo | undefined {
  const xs = each.filter((x): x is XdpInfo => x !== undefined);
  if (!xs.length) return undefined;
  return {
    mode: xs[0].mode,
    zeroCopy: xs.every((x) => x.zeroCopy),
    queues: xs.flatMap((x) => x.queues).sort((a, b) => a - b),
  };
}

/**
 * One live capture with `o.workers` threads and the same result either way:
 * 2 or more → `runCluster`; 1 → one `Ring` on this thread read by
 * `runAnalysis` (today's path: no Worker started, no fanout group).
 * `onStart` runs once the capture started (every member joined); errors
 * before it are start-up errors (exit 2), after it capture failures (exit 1).
 * With one worker a failure is the source's own error (e.g. RingError ENODEV).
 * On the xdp backend every receive queue is read unless `xdpQueue` picks one
 * (one thread: round-robin over the queues' rings; N workers: worker i reads
 * queues i, i+N, ...; more workers than queues is EINVAL), and `onStart`
 * gets what was obtained (`XdpInfo`, for the tool's banner).
 *
 * @example
 * ```ts
 * import { runCapture } from "./cluster.ts";
 * const module = new URL("../analysis/count.ts", import.meta.url).href;
 * const res = await runCapture("eth0", { module, export: "counting", options: {} }, { workers: 1, count: 100 });
 * console.log(res.total, res.workers[0].stats);
 * ```
 */
export async function runCapture<O, S>(
  iface: string,
  ref: AnalysisRef<O, S>,
  o: ClusterOptions<S> & { onStart?: (xdp?: XdpInfo) => void },
): Promise<Omit<ClusterResult<S>, "error"> & { error?: unknown }> {
  if (o.workers !== 1) {
    return await runCluster(iface, ref, o, o.onStart);
  }
  const kind = await kindOf(ref);
  const { count, duration, tickMs, onSnapshot, onStart, handleSignals } = o;
  const t0 = performance.now();
  using r = await openLive(iface, ringOnly(o));
  const startupMs = performance.now() - t0;
  onStart?.(xdpInfo(r));
  const state: WorkerState = { index: 0, stats: { ...ZERO }, read: 0 };
  const stats = () => {
    try {
      state.stats = r.stats();
    } catch {
      // the interface is gone: the last counters stay
    }
  };
  const end = await runAnalysis(r, kind, ref.options, {
    count,
    duration,
    tickMs,
    handleSignals,
    returnErrors: true,
    onSnapshot: (s, sec, final) => {
      stats();
      onSnapshot?.(s, sec, [state], final);
    },
  });
  stats();
  state.read = end.read;
  return { ...end, startupMs, workers: [state], delivery: r.delivery, xdp: xdpInfo(r) };
}
