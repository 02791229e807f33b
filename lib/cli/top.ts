/**
 * `runTop`: the top-talkers tool shared by examples/topn.ts and `ringcap top`.
 * Reads a source with the shared read loop, reports every interval — a screen
 * redrawn in place on a terminal, text blocks elsewhere, or with `--json` one
 * object per line (shape: `TopReport`) — and ends with the whole capture.
 *
 * With `--json` the last line is the whole-capture `TopReport` plus the
 * DESIGN.md counters (`packets`, `dropped`, `filtered`, `bytes`, `seconds`).
 * Without it, a file prints only its whole-file tables (no screen to redraw).
 * @module
 */
import { run } from "../run.ts";
import {
  type CaptureFlags,
  fmt,
  ringOptions,
  StatusLine,
  UsageError,
  writeOut,
  xdpBanner,
} from "./common.ts";
import type { OpenedSource } from "../source/open.ts";
import type { TopReport } from "../analysis/top/counter.ts";
import { TopAnalysis, type TopSnapshot, topTalkers } from "../analysis/top/analysis.ts";
import { runCapture, sumStats, workerCounters, type WorkerState } from "../cluster/cluster.ts";
import { type CliMetrics, startMetrics, watchSource } from "./metrics.ts";
import { TopSession } from "../analysis/top/session.ts";
import { renderTop, Screen } from "./top_screen.ts";

/** Top-specific flags. */
export interface TopFlags {
  /** -n: entries per list (default 10). */
  n: number;
  /** --by packets (default bytes). */
  byPackets: boolean;
  /** --interval seconds (default 1). */
  interval: number;
}

/** cac option names (camelCase and short letters) of the top flags, for parseCapture's `extra`. */
export const TOP_OPTIONS = ["n", "top", "by", "interval", "r", "read"];

/** Declare the top flags (and -r) on a cac command. */
// deno-lint-ignore no-explicit-any
export function topCliOptions(cmd: any): any {
  return cmd
    .option("-r, --read <file>", "Read a pcap/pcapng file instead of an interface (- = stdin)")
    .option("-n, --top <n>", "Entries per list (default 10)")
    .option("--by <what>", "Order by bytes or packets (default bytes)")
    .option("--interval <seconds>", "Report every S seconds (packet time for files; default 1)");
}

/**
 * Validate the top flags from cac's options.
 *
 * @example
 * ```ts
 * import { topFlags } from "./top.ts";
 * topFlags({ n: "5", by: "packets" }); // { n: 5, byPackets: true, interval: 1 }
 * ```
 */
export function topFlags(o: Record<string, unknown>): TopFlags {
  const nRaw = o.top ?? o.n;
  const n = nRaw === undefined ? 10 : Number(nRaw);
  if (!Number.isInteger(n) || n < 1 || n > 10000) {
    throw new UsageError(`-n must be an integer from 1 to 10000, got '${nRaw}'`);
  }
  const by = String(o.by ?? "bytes");
  if (by !== "bytes" && by !== "packets") throw new UsageError(`--by must be bytes or packets, got '${by}'`);
  const interval = o.interval === undefined ? 1 : Number(o.interval);
  if (!Number.isFinite(interval) || interval < 0.01 || interval > 86400) {
    throw new UsageError(`--interval must be a number of seconds from 0.01 to 86400, got '${o.interval}'`);
  }
  return { n, byPackets: by === "packets", interval };
}

/**
 * Run the top-talkers tool on an opened source until -c, --duration, Ctrl-C or end
 * of file. Returns the exit code (0); errors after the start are rethrown once the
 * whole-capture report is printed and the terminal restored.
 *
 * @example
 * ```ts
 * import { captureCli, main, parseCapture, sourceOptions } from "./common.ts";
 * import { openSource } from "../source/open.ts";
 * import { runTop, TOP_OPTIONS, topCliOptions, topFlags } from "./top.ts";
 * await main(async (started) => {
 *   const cli = captureCli("topn", "Top talkers");
 *   topCliOptions(cli);
 *   const f = parseCapture(cli, ["lo", "--json", "-c", "100"], TOP_OPTIONS);
 *   if (!f) return 0;
 *   using s = await openSource(sourceOptions(f, true));
 *   started();
 *   return await runTop(s, f, topFlags(f.raw));
 * });
 * ```
 */
export async function runTop(s: OpenedSource, f: CaptureFlags, t: TopFlags, m?: CliMetrics): Promise<number> {
  m ??= await startMetrics(f);
  watchSource(m, s);
  xdpBanner(s.name, s.xdp);
  const screen = f.json || !s.live ? null : new Screen(1);
  const status = new StatusLine(screen?.tty ? false : undefined);
  const ctx = { source: s.name, byPackets: t.byPackets };
  let lastDropped = 0;
  const session = intervalReports(f, t, ctx, !s.live, screen, status, () => lastDropped);
  // files: intervals cut by packet time inside the analysis; live: by the read loop's ticks
  const analysis = new TopAnalysis({ interval: t.interval, packetTime: !s.live }, (i) => session.interval(i));
  const dropped = () => (lastDropped = s.ring ? s.ring.stats().dropped : 0);
  const now = () => Date.now() / 1000;
  if (s.live) session.begin(now());
  let failure: unknown = undefined; // the source failed: the whole-capture table first, then the error
  let seconds = 0;
  try {
    const end = await run(s.src, (p) => analysis.add(p), {
      count: f.count,
      duration: f.duration,
      tickMs: s.live ? t.interval * 1000 : 1000,
      onTick: (sec) => {
        if (s.live) session.tick(analysis.snapshot(), now(), dropped());
        const st = s.src.stats();
        status.show(
          `${s.name}: ${fmt(st.packets)} pkts ${fmt(st.bytes)} bytes ${fmt(st.dropped)} dropped  ${
            fmt(sec)
          } s`,
        );
      },
      returnErrors: true,
    });
    seconds = end.seconds;
    failure = end.error;
    if (failure !== undefined) m.failed = true;
  } finally {
    status.clear();
    screen?.close();
  }
  const last = analysis.snapshot();
  let stats = {
    packets: session.whole.packets + last.packets,
    dropped: lastDropped,
    filtered: 0,
    bytes: 0,
  };
  try {
    stats = s.src.stats();
  } catch {
    stats.bytes = session.whole.bytes + last.bytes; // the interface is gone: what was read
  }
  const whole = session.finish(last, now(), stats.dropped);
  if (f.json) {
    const counters = {
      packets: stats.packets,
      dropped: stats.dropped,
      filtered: stats.filtered,
      bytes: stats.bytes,
      delivery: s.ring?.delivery,
      xdp: s.xdp,
    };
    const drops = m.drops(stats);
    writeOut(JSON.stringify({ ...whole, ...counters, seconds: +seconds.toFixed(6), ...drops }) + "\n");
  } else {
    writeOut(renderTop(whole, { ...ctx, title: s.live ? "whole capture" : "whole file" }).join("\n") + "\n");
  }
  if (failure !== undefined) throw failure;
  return 0;
}

/**
 * The session that reports each interval as it closes: a JSON line with
 * `--json`, else the screen redrawn on a terminal (files print only the whole).
 */
function intervalReports(
  f: CaptureFlags,
  t: TopFlags,
  ctx: { source: string; byPackets: boolean },
  packetTime: boolean,
  screen: Screen | null,
  status: StatusLine,
  dropped: () => number,
): TopSession {
  const session: TopSession = new TopSession({
    n: t.n,
    byPackets: t.byPackets,
    interval: t.interval,
    packetTime,
    onInterval: (r: TopReport) => {
      if (f.json) {
        status.clear();
        writeOut(JSON.stringify(r) + "\n");
      } else if (screen) {
        const w = session.whole;
        const total = {
          packets: w.packets + r.totals.packets,
          bytes: w.bytes + r.totals.bytes,
          dropped: dropped(),
        };
        screen.draw(renderTop(r, { ...ctx, total }));
      }
    },
  });
  return session;
}

const TOP_TALKERS = {
  module: new URL("../analysis/top/analysis.ts", import.meta.url).href,
  export: "topTalkers",
};

/**
 * The top-talkers tool over `f.workers` threads (a live capture): each
 * worker counts its share of the traffic; every interval the main thread
 * merges their tables (full counts per key: host, pair and port tables are
 * not partitioned between workers) and takes the top-N of the merge. Output
 * as `runTop`; with `--json` the last object also lists each worker's counters.
 */
export async function runTopWorkers(
  f: CaptureFlags,
  t: TopFlags,
  started: () => void,
  m?: CliMetrics,
): Promise<number> {
  const metrics = m ?? await startMetrics(f);
  let latest: readonly WorkerState[] = [];
  metrics.capture = () => latest.map((w) => w.stats);
  const screen = f.json ? null : new Screen(1);
  const status = new StatusLine(screen?.tty ? false : undefined);
  const ctx = { source: f.iface, byPackets: t.byPackets };
  let lastDropped = 0;
  const session = intervalReports(f, t, ctx, false, screen, status, () => lastDropped);
  const now = () => Date.now() / 1000;
  let last: TopSnapshot | undefined;
  let end;
  try {
    end = await runCapture(
      f.iface,
      { ...TOP_TALKERS, options: { interval: t.interval, packetTime: false } },
      {
        ...ringOptions(f),
        workers: f.workers,
        fanout: f.fanout,
        count: f.count,
        duration: f.duration,
        tickMs: t.interval * 1000,
        onStart: (x) => {
          started();
          xdpBanner(f.iface, x);
          session.begin(now());
        },
        onSnapshot: (s: TopSnapshot, _sec, ws, final) => {
          latest = ws;
          lastDropped = sumStats(ws).dropped;
          if (final) last = s;
          else session.tick(s, now(), lastDropped);
        },
      },
    );
  } finally {
    status.clear();
    screen?.close();
  }
  latest = end.workers;
  if (end.error !== undefined) metrics.failed = true;
  const st = { ...sumStats(end.workers), delivery: end.delivery, xdp: end.xdp };
  const empty = topTalkers.create({ interval: t.interval, packetTime: false }).snapshot();
  const whole = session.finish(last ?? empty, now(), st.dropped);
  if (f.json) {
    const workers = workerCounters(end.workers);
    const drops = metrics.drops(st);
    writeOut(JSON.stringify({ ...whole, ...st, seconds: +end.seconds.toFixed(6), ...drops, workers }) + "\n");
  } else {
    writeOut(renderTop(whole, { ...ctx, title: "whole capture" }).join("\n") + "\n");
  }
  if (end.error !== undefined) throw end.error;
  return 0;
}
