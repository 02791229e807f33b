/**
 * `ringcap count`: the counting analysis over a live or file source, a status
 * line on a terminal, one summary line at the end (or with `--json` the
 * DESIGN.md counters as the last stdout line). examples/pcount.ts is the
 * paper's pcount, with its per-second lines, over the same analysis.
 *
 * @example
 * ```ts
 * import { captureCli, main, parseCapture, sourceOptions } from "./common.ts";
 * import { openSource } from "../source/open.ts";
 * import { runCount } from "./count.ts";
 * await main(async (started) => {
 *   const f = parseCapture(captureCli("count", "Count packets"), ["lo", "-c", "10"]);
 *   if (!f) return 0;
 *   using s = await openSource(sourceOptions(f));
 *   started();
 *   return await runCount(s, f);
 * });
 * ```
 * @module
 */
import { runAnalysis } from "../analysis/analysis.ts";
import { counting, type CountSnapshot } from "../analysis/count.ts";
import { runCapture, sumStats, workerCounters, type WorkerState } from "../cluster/cluster.ts";
import { type CliMetrics, startMetrics, watchSource } from "./metrics.ts";
import type { OpenedSource } from "../source/open.ts";
import { type CaptureFlags, fmt, ringOptions, StatusLine, writeOut, xdpBanner } from "./common.ts";

/** Count packets until -c, --duration, Ctrl-C or end of file; print the totals. Returns the exit code. */
export async function runCount(s: OpenedSource, f: CaptureFlags, m?: CliMetrics): Promise<number> {
  m ??= await startMetrics(f);
  watchSource(m, s);
  xdpBanner(s.name, s.xdp);
  const status = new StatusLine();
  let packets = 0, bytes = 0;
  const end = await runAnalysis(s.src, counting, {}, {
    count: f.count,
    duration: f.duration,
    onSnapshot: (d, sec, final) => {
      if (final) return;
      packets += d.packets;
      bytes += d.bytes;
      const st = s.src.stats();
      status.show(
        `${s.name}: ${fmt(packets)} pkts ${fmt((bytes * 8) / sec / 1e6, 2)} Mbit/s avg, ` +
          `${fmt(st.dropped)} dropped, ${fmt(sec)} s`,
      );
    },
    returnErrors: true,
  }).finally(() => status.clear());
  if (end.error !== undefined) m.failed = true;
  ({ packets, bytes } = end.total);
  const st = { ...s.src.stats(), delivery: s.ring?.delivery, xdp: s.xdp }; // delivery: live captures only
  const secs = end.seconds || 1e-9;
  const offered = st.packets + st.dropped;
  const line = `${s.name}: ${fmt(packets)} packets, ${fmt(bytes)} bytes, ${fmt(st.dropped)} dropped ` +
    `(${fmt(offered ? (100 * st.dropped) / offered : 0, 1)}%), ${fmt(st.filtered)} filtered` +
    (s.live
      ? ` in ${fmt(end.seconds, 2)} s (${fmt(packets / secs)} pkt/s, ${
        fmt((bytes * 8) / secs / 1e6, 2)
      } Mbit/s)`
      : "");
  if (f.json && end.error === undefined) {
    console.error(line);
    const drops = m.drops(st);
    writeOut(
      JSON.stringify({ ...st, bytes, read: packets, seconds: +end.seconds.toFixed(6), ...drops }) + "\n",
    );
  } else {
    writeOut(line + "\n");
  }
  if (end.error !== undefined) throw end.error; // the source failed: the totals first, then the error
  return 0;
}

const COUNTING = { module: new URL("../analysis/count.ts", import.meta.url).href, export: "counting" };

/** `ringcap count --workers N`: the same output over N threads; `--json` adds each worker's counters. */
export async function runCountWorkers(f: CaptureFlags, started: () => void, m?: CliMetrics): Promise<number> {
  const metrics = m ?? await startMetrics(f);
  const status = new StatusLine();
  let packets = 0, bytes = 0;
  let latest: readonly WorkerState[] = [];
  metrics.capture = () => latest.map((w) => w.stats);
  const end = await runCapture(f.iface, { ...COUNTING, options: {} }, {
    ...ringOptions(f),
    workers: f.workers,
    fanout: f.fanout,
    count: f.count,
    duration: f.duration,
    onStart: (x) => {
      started();
      xdpBanner(f.iface, x);
    },
    onSnapshot: (d: CountSnapshot, sec, ws, final) => {
      latest = ws;
      if (final) return;
      packets += d.packets;
      bytes += d.bytes;
      const dropped = sumStats(ws).dropped;
      status.show(
        `${f.iface}: ${fmt(packets)} pkts ${fmt((bytes * 8) / sec / 1e6, 2)} Mbit/s avg, ` +
          `${fmt(dropped)} dropped, ${fmt(sec)} s`,
      );
    },
  }).finally(() => status.clear());
  latest = end.workers;
  if (end.error !== undefined) metrics.failed = true;
  ({ packets, bytes } = end.total);
  const st = { ...sumStats(end.workers), delivery: end.delivery, xdp: end.xdp };
  const secs = end.seconds || 1e-9;
  const offered = st.packets + st.dropped;
  const line = `${f.iface}: ${fmt(packets)} packets, ${fmt(bytes)} bytes, ${fmt(st.dropped)} dropped ` +
    `(${fmt(offered ? (100 * st.dropped) / offered : 0, 1)}%), ${fmt(st.filtered)} filtered` +
    ` in ${fmt(end.seconds, 2)} s (${fmt(packets / secs)} pkt/s, ${
      fmt((bytes * 8) / secs / 1e6, 2)
    } Mbit/s)` +
    ` over ${end.workers.length} workers`;
  if (f.json && end.error === undefined) {
    console.error(line);
    const workers = workerCounters(end.workers);
    writeOut(
      JSON.stringify({
        ...st,
        bytes,
        read: packets,
        seconds: +end.seconds.toFixed(6),
        ...metrics.drops(st),
        workers,
      }) + "\n",
    );
  } else {
    writeOut(line + "\n");
  }
  if (end.error !== undefined) throw end.error; // a worker failed: the totals first, then the error
  return 0;
}
