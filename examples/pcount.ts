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
import { Ring } from "../lib/source/live/ring.ts";
import { runAnalysis } from "../lib/analysis/analysis.ts";
import { counting } from "../lib/analysis/count.ts";
import { captureCli, fmt, main, parseCapture, ringOptions } from "../lib/cli/common.ts";

await main(async (started) => {
  const cli = captureCli("pcount", "Count packets on an interface");
  const f = parseCapture(cli, process.argv.slice(2));
  if (!f) return 0;
  using ring = await Ring.open(f.iface, ringOptions(f));
  started();
  const log = f.json ? console.error : console.log;
  let packets = 0, lastT = 0;
  // each second: what the analysis counted since the previous second, and the ring's drops
  const onSnapshot = (d: { packets: number; bytes: number }, t: number) => {
    packets += d.packets;
    const dt = t - lastT || 1;
    log(
      `${f.iface}: ${fmt(packets)} pkts (${fmt(d.packets / dt)} pkt/s, ` +
        `${fmt((d.bytes * 8) / dt / 1e6, 2)} Mbit/s) ${fmt(ring.stats().dropped)} dropped`,
    );
    lastT = t;
  };
  const end = await runAnalysis(ring, counting, {}, {
    count: f.count,
    duration: f.duration,
    onSnapshot,
    returnErrors: true,
  });
  const s = ring.stats(), { bytes } = end.total;
  const offered = s.packets + s.dropped;
  const secs = end.seconds || 1e-9;
  log(
    `Absolute Stats: [${fmt(s.packets)} pkts total][${fmt(s.dropped)} pkts dropped]` +
      `[${fmt(offered ? (100 * s.dropped) / offered : 0, 1)}% dropped] ` +
      `${fmt(end.total.packets / secs, 1)} pkts/sec ${fmt((bytes * 8) / secs / 1e6, 2)} Mbit/sec`,
  );
  if (end.error !== undefined) throw end.error; // the interface went away: totals first, then the error
  if (f.json) {
    console.log(JSON.stringify({ ...s, bytes, read: end.total.packets, seconds: +end.seconds.toFixed(6) }));
  }
  return 0;
});
