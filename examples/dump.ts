/**
 * dump — tcpdump's -w and -r: write a live capture to classic pcap files, or
 * print packets one line each.
 *
 *   bun run examples/dump.ts eth0 -w FILE [-c N] [--duration S] [-s SNAP] [--nano]
 *                            [-C MB [-W N]] [-G SEC] [filter]
 *   bun run examples/dump.ts -r FILE [-c N] [filter]      (print, tcpdump -n style)
 *   bun run examples/dump.ts eth0 [filter]                 (print live packets)
 *   deno run -A examples/dump.ts -i eth0 -w FILE ...
 *
 * Files are pcap with microsecond timestamps (--nano: nanosecond), the snap
 * length and link type in the header, and VLAN tags the kernel stripped put
 * back into the frames. -C MB starts a new file (FILE1, FILE2...) once one is
 * over MB million bytes, -W N reuses N of them; -G SEC starts one every SEC
 * seconds, FILE being a strftime pattern. Ctrl-C or SIGTERM closes the file
 * complete and readable; exit 0 (2 if it cannot start, 1 on a failure later).
 */
import process from "node:process";
import { captureCli, main, parseCaptureStdio, sourceOptions } from "../lib/cli/common.ts";
import { openSource } from "../lib/source/open.ts";
import { DUMP_OPTIONS, dumpCliOptions, dumpFlags, runDump } from "../lib/cli/dump.ts";

await main(async (started) => {
  const cli = captureCli("dump", "Write packets to pcap files, or print them");
  dumpCliOptions(cli);
  const f = parseCaptureStdio(cli, process.argv.slice(2), DUMP_OPTIONS);
  if (!f) return 0;
  const d = dumpFlags(f.raw, f.write);
  using source = await openSource(sourceOptions(f, !d.write));
  return await runDump(source, f, d, started);
});
