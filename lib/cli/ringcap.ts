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
 * `bun run lib/cli/ringcap.ts`. The dump command's pieces (`runDump`,
 * `packetLine`) are exported for examples/dump.ts.
 * @module
 */
import cac from "cac";
import process from "node:process";
import type { Packet } from "../packet.ts";
import { run } from "../run.ts";
import { decode, Decoded } from "../decode/mod.ts";
import {
  etherTypeName,
  ipv4ToString,
  ipv6ToString,
  macToString,
  protocolName,
  tcpFlagsToString,
} from "../decode/format.ts";
import { PcapWriter } from "../pcap/writer.ts";
import { RotatingPcapWriter } from "../pcap/rotate.ts";
import {
  type CaptureFlags,
  captureOptions,
  fmt,
  main,
  parseCaptureStdio,
  StatusLine,
  UsageError,
  writeOut,
} from "./common.ts";
import { type OpenedSource, openSource } from "./source.ts";
import { runTop, TOP_OPTIONS, topCliOptions, topFlags } from "../top/tool.ts";
import { addProbeOptions, parseProbe, PROBE_OPTION_NAMES } from "../flow/probe_cli.ts";
import { runProbe, statusLine as probeStatus } from "../flow/probe.ts";

// deno-lint-ignore no-explicit-any
type Cac = any;

// ---------------------------------------------------------------- dump

/** Dump-specific flags. */
export interface DumpFlags {
  /** -w FILE ("-" = standard output); undefined: print packets as text. */
  write?: string;
  /** --nano: nanosecond timestamps. */
  nano: boolean;
  /** -C MB: rotate after MB × 1,000,000 bytes. */
  fileSizeMB: number;
  /** -G SEC: rotate every SEC seconds (the name is a strftime pattern). */
  rotateSeconds: number;
  /** -W N: with -C, at most N files, reused in a ring. */
  maxFiles: number;
}

/** cac option names of the dump flags (with -r), for parseCapture's `extra`. */
export const DUMP_OPTIONS = [
  "r",
  "read",
  "w",
  "write",
  "nano",
  "C",
  "fileSize",
  "G",
  "rotateSeconds",
  "W",
  "fileCount",
];

/** Declare the dump flags (and -r) on a cac command. */
export function dumpCliOptions(cmd: Cac): Cac {
  return cmd
    .option("-r, --read <file>", "Read a pcap/pcapng file instead of an interface (- = stdin)")
    .option("-w, --write <file>", "Write packets to a pcap file (- = stdout) instead of printing them")
    .option("--nano", "Nanosecond timestamps in the file (default microseconds)")
    .option("-C, --file-size <mb>", "Start a new file once this one is over MB million bytes")
    .option("-G, --rotate-seconds <sec>", "Start a new file every SEC seconds (name: strftime pattern)")
    .option("-W, --file-count <n>", "With -C: keep at most N files, reused in turn");
}

function positive(name: string, v: unknown, integer: boolean): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)) || n > 1e9) {
    throw new UsageError(`${name} must be a positive ${integer ? "integer" : "number"}, got '${v}'`);
  }
  return n;
}

/**
 * Validate the dump flags.
 *
 * @example
 * ```ts
 * import { dumpFlags } from "./ringcap.ts";
 * dumpFlags({ w: "/tmp/x.pcap", C: "10" }, "/tmp/x.pcap").fileSizeMB; // 10
 * ```
 */
export function dumpFlags(o: Record<string, unknown>, write: string | undefined): DumpFlags {
  const d: DumpFlags = {
    write,
    nano: o.nano === true,
    fileSizeMB: positive("-C (file size, MB)", o.fileSize ?? o.C, false),
    rotateSeconds: positive("-G (rotate seconds)", o.rotateSeconds ?? o.G, true),
    maxFiles: positive("-W (file count)", o.fileCount ?? o.W, true),
  };
  if (o.w === true || o.write === true || write === "") throw new UsageError("-w needs a file name");
  if (!write && (d.fileSizeMB || d.rotateSeconds || d.maxFiles || d.nano)) {
    throw new UsageError("-C, -G, -W and --nano go with -w FILE");
  }
  if (d.maxFiles && !d.fileSizeMB) throw new UsageError("-W needs -C (files are reused by size)");
  if (write === "-" && (d.fileSizeMB || d.rotateSeconds)) {
    throw new UsageError("-C and -G need a file, not -w -");
  }
  return d;
}

const ICMP_NAMES: Record<number, string> = {
  0: "echo reply",
  3: "destination unreachable",
  5: "redirect",
  8: "echo request",
  11: "time exceeded",
};
const ICMP6_NAMES: Record<number, string> = {
  1: "destination unreachable",
  3: "time exceeded",
  128: "echo request",
  129: "echo reply",
  133: "router solicitation",
  134: "router advertisement",
  135: "neighbor solicitation",
  136: "neighbor advertisement",
};

let clockSec = -1, clockText = "";
/** Local HH:MM:SS of an epoch second, cached for the current second. */
function clock(sec: number): string {
  if (sec !== clockSec) {
    const t = new Date(sec * 1000);
    const p = (x: number) => String(x).padStart(2, "0");
    clockSec = sec;
    clockText = `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
  }
  return clockText;
}

/**
 * One tcpdump-style line (as `tcpdump -n` prints it, briefly) for a packet:
 * local time, then `IP`/`IP6` addresses and ports with TCP flags, UDP/ICMP
 * details and the payload length; ARP who-has / is-at; else the MACs and the
 * EtherType. `d` is a reused `Decoded`. Allocates strings: for text output only.
 *
 * @example
 * ```ts
 * import { packetLine } from "./ringcap.ts";
 * import { Decoded } from "../decode/mod.ts";
 * import type { PacketSource } from "../packet.ts";
 * function print(src: PacketSource): void {
 *   const d = new Decoded();
 *   for (let p = src.next(); p; p = src.next()) console.log(packetLine(p, d));
 * }
 * ```
 */
export function packetLine(p: Packet, d: Decoded, nano = false): string {
  decode(p, d);
  const frac = nano
    ? String(p.tsNsec).padStart(9, "0")
    : String(Math.floor(p.tsNsec / 1000)).padStart(6, "0");
  let s = `${clock(p.tsSec)}.${frac} `;
  if (d.vlanId >= 0) s += `vlan ${d.vlanId}, `;
  const data = p.data;
  if (d.ipVersion === 0) {
    if (d.arpOp === 1) {
      s += `ARP, Request who-has ${ipv4ToString(d.arpTargetIp)} tell ${ipv4ToString(d.arpSenderIp)}`;
    } else if (d.arpOp === 2 && d.l3Offset >= 0) {
      s += `ARP, Reply ${ipv4ToString(d.arpSenderIp)} is-at ${macToString(data, d.l3Offset + 8)}`;
    } else {
      const hex = `0x${d.etherType.toString(16).padStart(4, "0")}`, name = etherTypeName(d.etherType);
      s += `${macToString(data, p.offset + 6)} > ${macToString(data, p.offset)}, ethertype ${
        name === hex ? "Unknown" : name
      } (${hex}), length ${p.wirelen}`;
      return s + (d.truncated ? " [|truncated]" : "");
    }
    // tcpdump gives the ARP length after the link header
    return `${s}, length ${Math.max(0, p.wirelen - (d.l3Offset - p.offset))}${d.truncated ? " [|arp]" : ""}`;
  }
  const v4 = d.ipVersion === 4;
  const src = v4 ? ipv4ToString(d.src4) : ipv6ToString(data, d.src6Offset);
  const dst = v4 ? ipv4ToString(d.dst4) : ipv6ToString(data, d.dst6Offset);
  s += v4 ? "IP " : "IP6 ";
  const l4 = d.l4Offset, end = d.l3End;
  if ((d.protocol === 6 || d.protocol === 17) && l4 >= 0) {
    s += `${src}.${d.srcPort} > ${dst}.${d.dstPort}: `;
    s += d.protocol === 6
      ? `Flags [${tcpFlagsToString(d.tcpFlags)}], length ${Math.max(0, end - l4 - d.tcpHeaderLength)}`
      : `UDP, length ${Math.max(0, end - l4 - 8)}`;
  } else if ((d.protocol === 1 || d.protocol === 58) && d.icmpType >= 0) {
    const names = d.protocol === 1 ? ICMP_NAMES : ICMP6_NAMES;
    const what = names[d.icmpType] ?? `type ${d.icmpType}, code ${d.icmpCode}`;
    s += `${src} > ${dst}: ${d.protocol === 1 ? "ICMP" : "ICMP6,"} ${what}, length ${Math.max(0, end - l4)}`;
  } else {
    const proto = d.protocol >= 0 ? protocolName(d.protocol) : "ip";
    s += `${src} > ${dst}: ${d.fragment ? "fragment, " : ""}${proto}, length ${d.ipLength}`;
  }
  return s + (d.truncated ? " [|truncated]" : d.malformed ? " [malformed]" : "");
}

/**
 * The dump tool: write the source's packets to pcap file(s) (`-w`, rotation
 * with -C/-G/-W, VLAN tags put back) or print them one line each. Ends at -c,
 * --duration, Ctrl-C/SIGTERM (the file is complete and readable) or end of file.
 * Live captures end with tcpdump's three counter lines on stderr; --json adds
 * the counters object as the last stdout line.
 *
 * @example
 * ```ts
 * import { captureCli, main, parseCapture } from "./common.ts";
 * import { openSource } from "./source.ts";
 * import { DUMP_OPTIONS, dumpCliOptions, dumpFlags, runDump } from "./ringcap.ts";
 * await main(async (started) => {
 *   const cli = dumpCliOptions(captureCli("dump", "Write packets to a pcap file"));
 *   const f = parseCapture(cli, ["lo", "-w", "/tmp/lo.pcap", "-c", "10"], DUMP_OPTIONS);
 *   if (!f) return 0;
 *   using s = await openSource(f);
 *   return await runDump(s, f, dumpFlags(f.raw, f.write), started);
 * });
 * ```
 */
export async function runDump(
  s: OpenedSource,
  f: CaptureFlags,
  o: DumpFlags,
  started: () => void,
): Promise<number> {
  if (f.json && o.write === "-") throw new UsageError("--json writes to stdout: not with -w -");
  const options = {
    nano: o.nano,
    snaplen: s.snaplen,
    linkType: s.linkType,
    fileSizeMB: o.fileSizeMB,
    rotateSeconds: o.rotateSeconds,
    maxFiles: o.maxFiles,
  };
  let writer: PcapWriter | RotatingPcapWriter | null = null;
  const open = (startSec?: number) => {
    if (o.write === "-") return new PcapWriter(1, options, false, "stdout");
    try {
      return new RotatingPcapWriter(o.write!, { ...options, startSec });
    } catch (e) {
      const code = (e as { code?: string }).code ?? (e as Error).message;
      throw new UsageError(`cannot write ${o.write}: ${code}; check the -w path and permissions`);
    }
  };
  // A file with -G: periods start at its first packet (opened then); else open now, so a bad path exits 2.
  const lazy = !s.live && o.rotateSeconds > 0;
  if (o.write && !lazy) writer = open();
  started();
  const status = new StatusLine();
  const d = new Decoded();
  let lines: string[] = [];
  const flushLines = () => {
    if (lines.length) writeOut(lines.join("\n") + "\n");
    lines = [];
  };
  const onPacket = o.write
    ? (p: Packet) => {
      if (writer === null) writer = open(p.tsSec);
      writer.writePacket(p);
    }
    : (p: Packet) => {
      lines.push(packetLine(p, d, false));
      if (lines.length >= 512) flushLines();
    };
  let seconds = 0, read = 0;
  try {
    const end = await run(s.src, onPacket, {
      count: f.count,
      duration: f.duration,
      onTick: (sec) => {
        writer?.flush();
        flushLines();
        const st = s.src.stats();
        const files = writer instanceof RotatingPcapWriter
          ? ` to ${writer.files.at(-1)} (${writer.files.length})`
          : "";
        status.show(`${s.name}: ${fmt(st.packets)} pkts${files}, ${fmt(st.dropped)} dropped, ${fmt(sec)} s`);
      },
    });
    seconds = end.seconds;
    read = end.read;
  } finally {
    status.clear();
    flushLines();
    if (o.write && writer === null) writer = open();
    writer?.close();
  }
  const st = s.src.stats();
  if (s.live) {
    // as tcpdump: captured = written or printed; received by filter = put in the ring
    console.error(`${read} packets captured`);
    console.error(`${st.packets} packets received by filter`);
    console.error(`${st.dropped} packets dropped by kernel`);
  }
  if (f.json) writeOut(JSON.stringify({ ...st, seconds: +seconds.toFixed(6) }) + "\n");
  return 0;
}

// ---------------------------------------------------------------- count

async function runCount(s: OpenedSource, f: CaptureFlags): Promise<number> {
  const status = new StatusLine();
  let packets = 0, bytes = 0;
  const end = await run(s.src, (p) => {
    packets++;
    bytes += p.wirelen;
  }, {
    count: f.count,
    duration: f.duration,
    onTick: (sec) => {
      const st = s.src.stats();
      status.show(
        `${s.name}: ${fmt(packets)} pkts ${fmt((bytes * 8) / sec / 1e6, 2)} Mbit/s avg, ` +
          `${fmt(st.dropped)} dropped, ${fmt(sec)} s`,
      );
    },
  }).finally(() => status.clear());
  const st = s.src.stats();
  const secs = end.seconds || 1e-9;
  const offered = st.packets + st.dropped;
  const line = `${s.name}: ${fmt(packets)} packets, ${fmt(bytes)} bytes, ${fmt(st.dropped)} dropped ` +
    `(${fmt(offered ? (100 * st.dropped) / offered : 0, 1)}%), ${fmt(st.filtered)} filtered` +
    (s.live
      ? ` in ${fmt(end.seconds, 2)} s (${fmt(packets / secs)} pkt/s, ${
        fmt((bytes * 8) / secs / 1e6, 2)
      } Mbit/s)`
      : "");
  if (f.json) {
    console.error(line);
    writeOut(JSON.stringify({ ...st, bytes, read: packets, seconds: +end.seconds.toFixed(6) }) + "\n");
  } else {
    writeOut(line + "\n");
  }
  return 0;
}

// ---------------------------------------------------------------- the program

const COMMANDS = ["count", "top", "dump", "flow"] as const;
type Command = typeof COMMANDS[number];

/** The cac program: every subcommand with its options and help. */
export function ringcapCli(): Cac {
  const cli = cac("ringcap");
  captureOptions(cli.command("count [iface] [...filter]", "Count packets, bytes and drops (pcount)"))
    .option("-r, --read <file>", "Read a pcap/pcapng file instead of an interface (- = stdin)")
    .example("ringcap count eth0 --duration 10 --json udp");
  topCliOptions(
    captureOptions(cli.command("top [iface] [...filter]", "Top hosts, host pairs, protocols and ports")),
  )
    .example("ringcap top eth0 -n 5 --by packets")
    .example("ringcap top -r capture.pcap --json --interval 60");
  dumpCliOptions(
    captureOptions(cli.command("dump [iface] [...filter]", "Write packets to pcap files, or print them")),
  )
    .example("ringcap dump eth0 -w /tmp/eth0.pcap -C 100 -W 10 tcp port 443")
    .example("ringcap dump -r /tmp/eth0.pcap icmp");
  addProbeOptions(
    captureOptions(cli.command("flow [iface] [...filter]", "NetFlow v5/v9/IPFIX flow probe (nProbe)")),
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
  switch (command) {
    case "count": {
      using s = await openSource(f);
      started();
      return await runCount(s, f);
    }
    case "top": {
      const t = topFlags(f.raw);
      using s = await openSource(f, true);
      started();
      return await runTop(s, f, t);
    }
    case "dump": {
      const d = dumpFlags(f.raw, f.write);
      using s = await openSource(f, !d.write);
      return await runDump(s, f, d, started);
    }
  }
  return 2;
}

/** `ringcap flow`: the probe of examples/nprobe.ts, with the status line only on a terminal. */
async function runFlow(cli: Cac, argv: string[], started: () => void): Promise<number> {
  const p = parseProbe(cli, argv);
  if (!p) return 0;
  const { flags, options } = p;
  using s = await openSource(flags, true);
  // the kernel module samples deterministically, AF_PACKET's BPF at random, the file reader 1-in-N in order
  const algorithm = s.ring?.backend === "packet" ? "random" : "deterministic";
  started();
  const status = new StatusLine();
  let res;
  try {
    res = await runProbe(s.src, {
      ...options,
      sampling: { interval: flags.sampling, algorithm },
      onStatus: (st) => status.show(`${s.name}: ${probeStatus(st)}`),
    });
  } finally {
    status.clear();
  }
  const line = `${s.name}: ${probeStatus(res)}  (${res.reason}, ${res.seconds.toFixed(1)} s)`;
  if (flags.json) {
    console.error(line);
    const st = s.src.stats();
    writeOut(
      JSON.stringify({ ...st, seconds: +res.seconds.toFixed(6), flows: res.exported, evicted: res.evicted }) +
        "\n",
    );
  } else {
    writeOut(line + "\n");
  }
  return 0;
}

if (import.meta.main) {
  await main((started) => ringcap(process.argv.slice(2), started));
}
