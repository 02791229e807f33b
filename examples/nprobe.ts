/**
 * nprobe — the paper's NetFlow probe: capture (or read a file), meter flows,
 * export NetFlow v5, v9 or IPFIX over UDP to one or more collectors.
 *
 *   bun run examples/nprobe.ts -i eth0 -n 127.0.0.1:2055 [-n [::1]:4739 ...] [-V 5|9|10]
 *       [-t ACTIVE_S] [-d IDLE_S] [-e DELAY_MS] [--max-flows N] [--sampling N] [-r FILE] [--json] [filter]
 *   deno run -A examples/nprobe.ts ...
 *
 * A status line per second on stderr (packets, active flows, exported, drops).
 * On end of file, -c, --duration or Ctrl-C/SIGTERM/SIGHUP every active flow is
 * exported before exit. Exit 0 at the end, 2 if it cannot start (bad option,
 * bad collector address, unknown interface), 1 on a failure after the start.
 */
import process from "node:process";
import { captureCli, main } from "../lib/cli/common.ts";
import { addProbeOptions, parseProbe, runFlowTool } from "../lib/cli/flow.ts";

await main(async (started) => {
  const cli = addProbeOptions(
    captureCli(
      "nprobe",
      "Export NetFlow v5/v9/IPFIX flows of the traffic; SIGTERM, SIGINT or SIGHUP: export every flow, exit 0",
    ),
  );
  const p = parseProbe(cli, process.argv.slice(2));
  if (!p) return 0;
  // one thread, or --workers N metering threads and one exporter (lib/cluster/probe.ts)
  return await runFlowTool(p.flags, p.options, started, "nprobe");
});
