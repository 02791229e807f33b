/**
 * nprobe — the paper's NetFlow probe: capture (or read a file), meter flows,
 * export NetFlow v5, v9 or IPFIX over UDP to one or more collectors.
 *
 *   bun run examples/nprobe.ts -i eth0 -n 127.0.0.1:2055 [-n [::1]:4739 ...] [-V 5|9|10]
 *       [-t ACTIVE_S] [-d IDLE_S] [-e DELAY_MS] [--max-flows N] [--sampling N] [-r FILE] [--json] [filter]
 *   deno run -A examples/nprobe.ts ...
 *
 * A status line per second on stderr (packets, active flows, exported, drops).
 * On end of file, -c, --duration or Ctrl-C/SIGTERM every active flow is
 * exported before exit. Exit 0 at the end, 2 if it cannot start (bad option,
 * bad collector address, unknown interface), 1 on a failure after the start.
 */
import process from "node:process";
import { captureCli, main, sourceOptions } from "../lib/cli/common.ts";
import { openSource } from "../lib/source/open.ts";
import { addProbeOptions, parseProbe } from "../lib/cli/flow.ts";
import { runProbe, statusLine } from "../lib/analysis/flow/probe.ts";

await main(async (started) => {
  const cli = addProbeOptions(captureCli("nprobe", "Export NetFlow v5/v9/IPFIX flows of the traffic"));
  const p = parseProbe(cli, process.argv.slice(2));
  if (!p) return 0;
  const { flags, options } = p;
  using src = await openSource(sourceOptions(flags, true));
  // the kernel module samples deterministically, AF_PACKET's BPF at random, the file reader 1-in-N in order
  const algorithm = src.ring?.backend === "packet" ? "random" : "deterministic";
  started();
  const res = await runProbe(src.src, {
    ...options,
    sampling: { interval: flags.sampling, algorithm },
    onStatus: (s) => console.error(`${src.name}: ${statusLine(s)}`),
    returnErrors: true,
  });
  console.error(`${src.name}: ${statusLine(res)}  (${res.reason}, ${res.seconds.toFixed(1)} s)`);
  if (res.error !== undefined) throw res.error; // the interface went away: flows exported, totals shown
  if (flags.json) {
    const s = src.src.stats();
    console.log(
      JSON.stringify({ ...s, seconds: +res.seconds.toFixed(6), flows: res.exported, evicted: res.evicted }),
    );
  }
  return 0;
});
