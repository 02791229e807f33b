/**
 * pcount — the paper's packet counter: a line per second (packets, pkt/s,
 * Mbit/s, drops), then PF_RING's "Absolute Stats" line. With --json the
 * last stdout line is one object: packets, dropped, filtered, bytes, seconds.
 *
 *   bun run examples/pcount.ts eth0 [-c N] [--duration S] [-s SNAP] [--ring-mb N]
 *                              [--wait busy|poll|adaptive] [--sampling N] [--json] [filter]
 *   deno run -A examples/pcount.ts -i eth0 ...
 *
 * Exit 0 at the end (also on Ctrl-C), 2 if it cannot start, 1 if the
 * interface goes away during the capture.
 */
import process from "node:process";
import { runCapture, sumStats, workerCounters, type WorkerState } from "../lib/cluster/cluster.ts";
import type { CountSnapshot } from "../lib/analysis/count.ts";
import {
  captureCli,
  fmt,
  main,
  parseCapture,
  ringOptions,
  workerOptions,
  xdpBanner,
} from "../lib/cli/common.ts";
import { startMetrics } from "../lib/cli/metrics.ts";

// the analysis each thread runs, by module and export (a Worker imports it itself)
const COUNTING = { module: new URL("../lib/analysis/count.ts", import.meta.url).href, export: "counting" };

await main(async (started) => {
  const cli = workerOptions(captureCli("pcount", "Count packets on an interface"));
  const f = parseCapture(cli, process.argv.slice(2));
  if (!f) return 0;
  const metrics = await startMetrics(f); // --metrics: Prometheus counters while it runs
  let latest: readonly WorkerState[] = [];
  metrics.capture = () => latest.map((w) => w.stats);
  const log = f.json ? console.error : console.log;
  let packets = 0, lastT = 0;
  // each second: what the threads counted since the previous second, and the rings' drops
  const onSnapshot = (
    d: CountSnapshot,
    t: number,
    ws: readonly WorkerState[],
    final: boolean,
  ) => {
    latest = ws;
    if (final) return; // the totals come from end.total below
    packets += d.packets;
    const dt = t - lastT || 1;
    const each = ws.length > 1 ? ` (per worker: ${ws.map((w) => fmt(w.stats.dropped)).join(", ")})` : "";
    log(
      `${f.iface}: ${fmt(packets)} pkts (${fmt(d.packets / dt)} pkt/s, ` +
        `${fmt((d.bytes * 8) / dt / 1e6, 2)} Mbit/s) ${fmt(sumStats(ws).dropped)} dropped${each}`,
    );
    lastT = t;
  };
  const end = await runCapture(f.iface, { ...COUNTING, options: {} }, {
    ...ringOptions(f),
    workers: f.workers,
    fanout: f.fanout,
    count: f.count,
    duration: f.duration,
    onSnapshot,
    onStart: (x) => {
      started();
      xdpBanner(f.iface, x); // xdp: the queues, the mode and zero-copy or copy, on stderr
    },
  });
  latest = end.workers;
  if (end.error !== undefined) metrics.failed = true;
  const s = { ...sumStats(end.workers), delivery: end.delivery, xdp: end.xdp };
  const { bytes } = end.total;
  const offered = s.packets + s.dropped;
  const secs = end.seconds || 1e-9;
  log(
    `Absolute Stats: [${fmt(s.packets)} pkts total][${fmt(s.dropped)} pkts dropped]` +
      `[${fmt(offered ? (100 * s.dropped) / offered : 0, 1)}% dropped] ` +
      `${fmt(end.total.packets / secs, 1)} pkts/sec ${fmt((bytes * 8) / secs / 1e6, 2)} Mbit/sec`,
  );
  if (end.error !== undefined) throw end.error; // the interface went away: totals first, then the error
  if (f.json) {
    const workers = end.workers.length > 1 ? { workers: workerCounters(end.workers) } : {};
    console.log(
      JSON.stringify({
        ...s,
        bytes,
        read: end.total.packets,
        seconds: +end.seconds.toFixed(6),
        ...metrics.drops(s),
        ...workers,
      }),
    );
  }
  return 0;
});
