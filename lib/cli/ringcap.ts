/**
 * `ringcap`: the command line, one cac program with subcommands that share the
 * DESIGN.md capture flags, `-r FILE`, the exit codes (0 end, also on Ctrl-C;
 * 1 failed after starting; 2 could not start) and a status line on stderr
 * during long captures and file reads (only when stderr is a terminal).
 *
 *   ringcap count [iface] [-c N] [--duration S] [--json] [-r FILE] [filter]   count packets
 *   ringcap top   [iface] [-n N] [--by bytes|packets] [--interval S] ...      top talkers
 *   ringcap dump  [iface] -w FILE [-C MB] [-G SEC] [-W N] [--nano] ...       write pcap
 *   ringcap dump  -r FILE [filter]                                           print packets
 *   ringcap flow  [iface] -n HOST:PORT [-V 5|9|10] [-t S] [-d S] [-r FILE] NetFlow/IPFIX probe
 *
 * Run it with `npx ringcap` (Bun, package.json "bin"), `deno task ringcap`, or
 * `bun run lib/cli/ringcap.ts`. Each command's front end is a file beside this
 * one (count.ts, top.ts, dump.ts, flow.ts) over an analysis of lib/analysis/;
 * this file parses and dispatches.
 * @module
 */
import cac from "cac";
import process from "node:process";
import {
  captureOptions,
  main,
  parseCaptureStdio,
  sourceOptions,
  UsageError,
  workerOptions,
} from "./common.ts";
import { openSource } from "../source/open.ts";
import { runCount, runCountWorkers } from "./count.ts";
import { startMetrics } from "./metrics.ts";
import { DUMP_OPTIONS, dumpCliOptions, dumpFlags, runDump } from "./dump.ts";
import { runTop, runTopWorkers, TOP_OPTIONS, topCliOptions, topFlags } from "./top.ts";
import { addProbeOptions, parseProbe, PROBE_OPTION_NAMES, runFlowTool } from "./flow.ts";

// deno-lint-ignore no-explicit-any
type Cac = any;

// ---------------------------------------------------------------- the program

const COMMANDS = ["count", "top", "dump", "flow"] as const;
type Command = typeof COMMANDS[number];

/** The cac program: every subcommand with its options and help. */
export function ringcapCli(): Cac {
  const cli = cac("ringcap");
  workerOptions(
    captureOptions(cli.command("count [iface] [...filter]", "Count packets, bytes and drops (pcount)")),
  )
    .option("-r, --read <file>", "Read a pcap/pcapng file instead of an interface (- = stdin)")
    .example("ringcap count eth0 --duration 10 --json udp");
  topCliOptions(
    workerOptions(
      captureOptions(cli.command("top [iface] [...filter]", "Top hosts, host pairs, protocols and ports")),
    ),
  )
    .example("ringcap top eth0 -n 5 --by packets")
    .example("ringcap top -r capture.pcap --json --interval 60");
  dumpCliOptions(
    captureOptions(
      cli.command(
        "dump [iface] [...filter]",
        "Write packets to pcap files, or print them (one thread: no --workers)",
      ),
    ),
  )
    .example("ringcap dump eth0 -w /tmp/eth0.pcap -C 100 -W 10 tcp port 443")
    .example("ringcap dump -r /tmp/eth0.pcap icmp");
  addProbeOptions(
    workerOptions(
      captureOptions(
        cli.command(
          "flow [iface] [...filter]",
          "NetFlow v5/v9/IPFIX flow probe (nProbe); SIGTERM, SIGINT or SIGHUP: export every flow, exit 0",
        ),
      ),
    ),
  )
    .example("ringcap flow eth0 -n 127.0.0.1:2055 -V 10")
    .example("ringcap flow -r capture.pcap -n 127.0.0.1:9995 -V 5");
  cli.help();
  return cli;
}

const EXTRA: Record<Command, string[]> = {
  count: ["r", "read"],
  top: TOP_OPTIONS,
  dump: DUMP_OPTIONS,
  flow: PROBE_OPTION_NAMES,
};

/** Run `ringcap` with these arguments (after the program name); resolves to the exit code. */
export async function ringcap(argv: string[], started: () => void): Promise<number> {
  const cli = ringcapCli();
  const cmd = argv[0];
  if (cmd === undefined || cmd.startsWith("-")) {
    if (cmd === "--help" || cmd === "-h") {
      cli.outputHelp();
      return 0;
    }
    throw new UsageError("give a command: count, top, dump or flow (ringcap --help)");
  }
  if (!(COMMANDS as readonly string[]).includes(cmd)) {
    throw new UsageError(`unknown command '${cmd}': use count, top, dump or flow (ringcap --help)`);
  }
  const command = cmd as Command;
  if (command === "flow") return await runFlow(cli, argv, started);
  const f = parseCaptureStdio(cli, argv, EXTRA[command]);
  if (!f) return 0;
  const m = await startMetrics(f); // --metrics listens before the capture starts: a busy port exits 2
  switch (command) {
    case "count": {
      if (f.workers > 1) return await runCountWorkers(f, started, m);
      using s = await openSource(sourceOptions(f));
      started();
      return await runCount(s, f, m);
    }
    case "top": {
      const t = topFlags(f.raw);
      if (f.workers > 1) return await runTopWorkers(f, t, started, m);
      using s = await openSource(sourceOptions(f, true));
      started();
      return await runTop(s, f, t, m);
    }
    case "dump": {
      const d = dumpFlags(f.raw, f.write);
      using s = await openSource(sourceOptions(f, !d.write));
      return await runDump(s, f, d, started, m);
    }
  }
  return 2;
}

/** `ringcap flow`: the probe of examples/nprobe.ts, with the status line only on a terminal. */
async function runFlow(cli: Cac, argv: string[], started: () => void): Promise<number> {
  const p = parseProbe(cli, argv);
  if (!p) return 0;
  return await runFlowTool(p.flags, p.options, started, "ringcap");
}

if (import.meta.main) {
  await main((started) => ringcap(process.argv.slice(2), started));
}
