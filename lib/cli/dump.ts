/**
 * dump: write what a source captures to pcap files (with rotation by size
 * `-C MB`/`-W N` and by time `-G SEC`, µs or ns), or print one tcpdump-style
 * line per packet; what `examples/dump.ts` and `ringcap dump` run. Flags,
 * their validation and the loop live here; on SIGINT/SIGTERM the file is
 * flushed and complete.
 * @module
 */
import type { Packet } from "../packet.ts";
import { runAnalysis } from "../analysis/analysis.ts";
import { dumping, type PacketSink } from "../analysis/dump.ts";
import { TextSink } from "../sink/text.ts";
import { PcapWriter } from "../sink/pcap/writer.ts";
import { RotatingPcapWriter } from "../sink/pcap/rotate.ts";
import { type CaptureFlags, fmt, StatusLine, UsageError, writeOut, xdpBanner } from "./common.ts";
import type { OpenedSource } from "../source/open.ts";
import { type CliMetrics, startMetrics, watchSource } from "./metrics.ts";

// deno-lint-ignore no-explicit-any
type Cac = any;

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
 * import { dumpFlags } from "./dump.ts";
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
  if (o.workers !== undefined || o.fanout !== undefined) {
    throw new UsageError(
      "dump runs on one thread (a pcap file is one ordered stream): drop --workers/--fanout",
    );
  }
  if (!write && (d.fileSizeMB || d.rotateSeconds || d.maxFiles || d.nano)) {
    throw new UsageError("-C, -G, -W and --nano go with -w FILE");
  }
  if (d.maxFiles && !d.fileSizeMB) throw new UsageError("-W needs -C (files are reused by size)");
  if (write === "-" && (d.fileSizeMB || d.rotateSeconds)) {
    throw new UsageError("-C and -G need a file, not -w -");
  }
  return d;
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
 * import { captureCli, main, parseCapture, sourceOptions } from "./common.ts";
 * import { openSource } from "../source/open.ts";
 * import { DUMP_OPTIONS, dumpCliOptions, dumpFlags, runDump } from "./dump.ts";
 * await main(async (started) => {
 *   const cli = dumpCliOptions(captureCli("dump", "Write packets to a pcap file"));
 *   const f = parseCapture(cli, ["lo", "-w", "/tmp/lo.pcap", "-c", "10"], DUMP_OPTIONS);
 *   if (!f) return 0;
 *   using s = await openSource(sourceOptions(f));
 *   return await runDump(s, f, dumpFlags(f.raw, f.write), started);
 * });
 * ```
 */
export async function runDump(
  s: OpenedSource,
  f: CaptureFlags,
  o: DumpFlags,
  started: () => void,
  m?: CliMetrics,
): Promise<number> {
  if (f.json && o.write === "-") throw new UsageError("--json writes to stdout: not with -w -");
  m ??= await startMetrics(f);
  watchSource(m, s);
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
  xdpBanner(s.name, s.xdp);
  const status = new StatusLine();
  const text = new TextSink((t) => writeOut(t));
  // -w: the pcap writer (a file with -G opens at its first packet); else tcpdump-style lines
  const sink: PacketSink = o.write
    ? {
      writePacket(p: Packet) {
        if (writer === null) writer = open(p.tsSec);
        writer.writePacket(p);
      },
    }
    : text;
  let seconds = 0, read = 0;
  let failure: unknown = undefined; // the capture failed (interface removed): counters first, as tcpdump
  try {
    const end = await runAnalysis(s.src, dumping, sink, {
      count: f.count,
      duration: f.duration,
      onSnapshot: (_, sec, final) => {
        if (final) return;
        writer?.flush();
        text.flush();
        const st = s.src.stats();
        const files = writer instanceof RotatingPcapWriter
          ? ` to ${writer.files.at(-1)} (${writer.files.length})`
          : "";
        status.show(`${s.name}: ${fmt(st.packets)} pkts${files}, ${fmt(st.dropped)} dropped, ${fmt(sec)} s`);
      },
      returnErrors: true,
    });
    seconds = end.seconds;
    read = end.read;
    failure = end.error;
    if (failure !== undefined) m.failed = true;
  } finally {
    status.clear();
    text.flush();
    if (o.write && writer === null) writer = open();
    writer?.close();
  }
  const st = { ...s.src.stats(), delivery: s.ring?.delivery, xdp: s.xdp }; // delivery: live captures only
  if (s.live) {
    // as tcpdump: captured = written or printed; received by filter = put in the ring
    console.error(`${read} packets captured`);
    console.error(`${st.packets} packets received by filter`);
    console.error(`${st.dropped} packets dropped by kernel`);
  }
  if (failure !== undefined) throw failure;
  if (f.json) writeOut(JSON.stringify({ ...st, seconds: +seconds.toFixed(6), ...m.drops(st) }) + "\n");
  return 0;
}
