/**
 * topn — top talkers: every --interval seconds, the top -n hosts, host pairs,
 * protocols and ports by bytes (or --by packets), with rates, totals and drops.
 * On a terminal the screen is redrawn in place (Ctrl-C gives it back clean);
 * with --json, one object per interval:
 *   { "ts", "interval", "totals": {packets, bytes, dropped},
 *     "top": { "hosts": [{addr, packets, bytes}], "pairs": [{a, b, packets, bytes}],
 *              "protocols": [{protocol, packets, bytes}], "ports": [{protocol, port, packets, bytes}] } }
 * and a last one for the whole capture, with the DESIGN.md counters added.
 * With -r FILE, intervals are in packet time and the last object covers the whole file.
 *
 *   bun run examples/topn.ts [eth0] [-n 10] [--by bytes|packets] [--interval 1] [--json]
 *                            [-c N] [--duration S] [-r FILE] [filter]
 *   deno run -A examples/topn.ts -i eth0 ...
 *
 * Without an interface it captures on the default route's. Exit 0 at the end
 * (also on Ctrl-C), 2 if it cannot start, 1 if the capture fails on the way.
 */
import process from "node:process";
import { captureCli, main, parseCaptureStdio, sourceOptions, workerOptions } from "../lib/cli/common.ts";
import { openSource } from "../lib/source/open.ts";
import { runTop, runTopWorkers, TOP_OPTIONS, topCliOptions, topFlags } from "../lib/cli/top.ts";
import { startMetrics } from "../lib/cli/metrics.ts";

await main(async (started) => {
  const cli = workerOptions(captureCli("topn", "Top hosts, host pairs, protocols and ports"));
  topCliOptions(cli);
  const f = parseCaptureStdio(cli, process.argv.slice(2), TOP_OPTIONS);
  if (!f) return 0;
  const top = topFlags(f.raw);
  const metrics = await startMetrics(f); // --metrics: Prometheus counters while it runs
  if (f.workers > 1) return await runTopWorkers(f, top, started, metrics); // one ring and one counter per core
  using source = await openSource(sourceOptions(f, true));
  started();
  return await runTop(source, f, top, metrics);
});
