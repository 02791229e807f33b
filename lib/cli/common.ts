/**
 * What every command-line front end shares (examples/*.ts and the ringcap
 * CLI): the DESIGN.md capture flags parsed with cac, validation with one-line
 * errors, the default interface, and exit codes:
 *   0 normal end (also after SIGINT/SIGTERM)
 *   1 failure after the capture started (interface removed, I/O error)
 *   2 could not start (bad option, unknown interface, bad filter, no permission)
 *
 * @example
 * ```ts
 * import { captureCli, main, parseCapture } from "./common.ts";
 * await main(async () => {
 *   const cli = captureCli("mytool", "count packets");
 *   const f = parseCapture(cli, process.argv.slice(2));
 *   if (f) console.log(f.iface, f.filter);
 * });
 * ```
 */
import cac from "cac";
import { readFileSync, writeSync } from "node:fs";
import process from "node:process";
import { RingError } from "../source/live/errors.ts";
import {
  FANOUT_MODES,
  type FanoutMode,
  MAX_RING_MB,
  type RingOptions,
  type WaitMode,
} from "../source/live/ring_base.ts";
import type { SourceOptions } from "../source/open.ts";
import type { XdpInfo } from "../source/live/xdp_queues.ts";
import { type MetricsAddress, parseMetricsAddress } from "../ops/metrics.ts";

/** A bad command line: printed as one line, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The parsed DESIGN.md capture flags. */
export interface CaptureFlags {
  iface: string;
  count: number;
  duration: number;
  snaplen?: number;
  ringMb?: number;
  wait: WaitMode;
  sampling: number;
  json: boolean;
  read?: string;
  write?: string;
  filter: string;
  /** --workers: threads, each with its own ring in one fanout group (1 = this thread only). */
  workers: number;
  /** --fanout: how the kernel spreads frames over the workers. */
  fanout: FanoutMode;
  /**
   * --immediate: each packet visible as soon as the kernel wrote it (AF_PACKET
   * TPACKET_V2); also chosen by itself for a live capture with 1 <= -c <= 16.
   */
  immediate: boolean;
  /** --metrics: where to serve Prometheus metrics (undefined: not served). */
  metrics?: MetricsAddress;
  /** --queue: the one receive queue an xdp capture reads (default: every queue). */
  queue?: number;
  /** Every option cac parsed, for tool-specific ones. */
  raw: Record<string, unknown>;
}

// deno-lint-ignore no-explicit-any
type Cac = any;

/** A cac instance with the common capture flags; add tool-specific options, then parseCapture(). */
export function captureCli(name: string, description: string): Cac {
  const cli = cac(name);
  captureOptions(cli.command("[iface] [...filter]", description));
  cli.help();
  return cli;
}

/**
 * Declare the common capture flags on a cac command (what captureCli does for
 * its one command; a CLI with subcommands calls it on each).
 *
 * @example
 * ```ts
 * import cac from "cac";
 * import { captureOptions } from "./common.ts";
 * const cli = cac("ringcap");
 * captureOptions(cli.command("count [iface] [...filter]", "Count packets"));
 * ```
 */
export function captureOptions(cmd: Cac): Cac {
  return cmd
    .option("-i, --interface <iface>", "Interface to capture on (default: the default route's)")
    .option("-c, --count <n>", "Stop after N packets")
    .option("--duration <seconds>", "Stop after S seconds")
    .option("-s, --snaplen <bytes>", "Bytes kept per packet (1..262144, default 65535)")
    .option("--ring-mb <mb>", "Ring memory in MiB (default 64)")
    .option("--wait <mode>", "busy | poll | adaptive (default poll)")
    .option("--sampling <n>", "Keep 1 packet in N, in the kernel")
    .option("--json", "Last stdout line: one JSON object of the counters")
    .option("--immediate", "Each packet delivered as soon as the kernel wrote it (default: when -c <= 16)")
    .option("--metrics <addr>", "Serve Prometheus metrics on [HOST:]PORT/metrics (default host 127.0.0.1)")
    .option("--queue <q>", "RINGCAP_BACKEND=xdp: read only receive queue Q (default: every queue)");
}

/**
 * Declare --workers and --fanout on a cac command (pcount, topn, the probe and
 * their ringcap commands; dump runs on one thread).
 *
 * @example
 * ```ts
 * import { captureCli, workerOptions } from "./common.ts";
 * const cli = workerOptions(captureCli("pcount", "Count packets"));
 * ```
 */
export function workerOptions(cmd: Cac): Cac {
  return cmd
    .option("--workers <n>", "Threads, each with its own ring in one fanout group: N or auto (default 1)")
    .option(
      "--fanout <mode>",
      "hash | lb | cpu | qm | rollover | random: how frames are spread (default hash)",
    );
}

/** The number of CPUs this process may use (--workers auto). */
export function cpuCount(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, Math.min(64, n ?? 1));
}

/**
 * An option value as a number (cac gives numbers or strings); NaN when it is not one.
 *
 * @example
 * ```ts
 * import { numeric } from "./common.ts";
 * numeric("0.5"); // 0.5
 * numeric(""); // NaN
 * ```
 */
export function numeric(v: unknown): number {
  return typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
}

/**
 * An option value checked to lie in [min, max] (an integer unless `integer` is false); a
 * one-line `UsageError` naming the option otherwise.
 *
 * @example
 * ```ts
 * import { num } from "./common.ts";
 * num("-e (flow delay, ms)", "0.1", 0, 1000, false); // 0.1
 * ```
 */
export function num(name: string, v: unknown, min: number, max: number, integer = true): number {
  const n = numeric(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got '${v}'`,
    );
  }
  return n;
}

/** The largest -c for which a live capture chooses immediate delivery by itself. */
export const IMMEDIATE_MAX_COUNT = 16;

/** Option names (as cac stores them) that every capture tool accepts. */
const COMMON = new Set([
  "--",
  "i",
  "interface",
  "c",
  "count",
  "duration",
  "s",
  "snaplen",
  "ringMb",
  "wait",
  "sampling",
  "json",
  "h",
  "help",
  "workers",
  "fanout",
  "immediate",
  "metrics",
  "queue",
]);

/**
 * Parse argv with `cli` (from captureCli). `extra` lists the tool's own
 * option names (cac's camelCase and short letters). Unknown options are a
 * UsageError. With `needIface`, a missing interface falls back to the default
 * route's. Returns null when --help was shown.
 */
export function parseCapture(
  cli: Cac,
  argv: string[],
  extra: string[] = [],
  needIface = true,
): CaptureFlags | null {
  let parsed: { args: string[]; options: Record<string, unknown> };
  try {
    parsed = cli.parse(["node", cli.name, ...argv], { run: false });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const o = parsed.options;
  if (o.help || o.h) return null;
  const known = new Set([...COMMON, ...extra]);
  for (const k of Object.keys(o)) {
    if (/^\d/.test(k)) {
      // cac reads "-c -5" as flags -c and -5: name the option the number was meant for
      const at = argv.findIndex((a) => /^-\d/.test(a));
      const opt = at > 0 && argv[at - 1].startsWith("-") ? `${argv[at - 1]} ` : "";
      throw new UsageError(`${opt}${argv[at] ?? `-${k}`}: negative numbers are not valid option values`);
    }
    if (!known.has(k)) throw new UsageError(`unknown option ${k.length === 1 ? "-" : "--"}${k}: see --help`);
  }
  const args = parsed.args.map(String);
  let iface = o.interface !== undefined ? String(o.interface) : "";
  if (o.interface === true || o.interface === "") throw new UsageError("-i needs an interface name");
  if (!iface && !o.read && args.length) iface = args.shift()!;
  if (!iface && !o.read && needIface) iface = defaultInterface();
  const wait = String(o.wait ?? "poll");
  if (wait !== "busy" && wait !== "poll" && wait !== "adaptive") {
    throw new UsageError(`--wait must be busy, poll or adaptive, got '${wait}'`);
  }
  const workersRaw = o.workers ?? 1;
  const wn = numeric(workersRaw);
  if (workersRaw !== "auto" && !(Number.isInteger(wn) && wn >= 1 && wn <= 64)) {
    throw new UsageError(`--workers must be auto or an integer from 1 to 64, got '${workersRaw}'`);
  }
  const workers = workersRaw === "auto" ? cpuCount() : wn;
  const fanout = String(o.fanout ?? "hash");
  if (!(FANOUT_MODES as readonly string[]).includes(fanout)) {
    throw new UsageError(`--fanout must be ${FANOUT_MODES.join(", ")}, got '${fanout}'`);
  }
  const read = typeof o.r === "string" ? o.r : typeof o.read === "string" ? o.read : undefined;
  const xdp = process.env.RINGCAP_BACKEND === "xdp";
  if (xdp && o.fanout !== undefined && read === undefined) {
    throw new UsageError(
      "--fanout does not apply to the xdp backend: the NIC's RSS picks each frame's receive queue and " +
        "each worker reads whole queues (drop --fanout)",
    );
  }
  const queue = o.queue === undefined ? undefined : num("--queue", o.queue, 0, 65535);
  if (queue !== undefined && !xdp) {
    throw new UsageError("--queue picks an AF_XDP receive queue: it needs RINGCAP_BACKEND=xdp");
  }
  if (read !== undefined && workers > 1) {
    throw new UsageError("-r FILE is read by one thread: drop --workers (it is for live captures)");
  }
  if (o.immediate !== undefined && typeof o.immediate !== "boolean") {
    throw new UsageError(`--immediate takes no value, got '${o.immediate}'`);
  }
  const count = o.count === undefined ? 0 : num("-c (count)", o.count, 1, Number.MAX_SAFE_INTEGER);
  return {
    iface,
    workers,
    fanout: fanout as FanoutMode,
    // a few packets: do not make them wait for a block to fill or time out
    immediate: o.immediate === true || (read === undefined && count >= 1 && count <= IMMEDIATE_MAX_COUNT),
    count,
    duration: o.duration === undefined ? 0 : num("--duration", o.duration, 0.001, 1e9, false),
    snaplen: o.snaplen === undefined ? undefined : num("-s (snaplen)", o.snaplen, 1, 262144),
    ringMb: o.ringMb === undefined ? undefined : num("--ring-mb", o.ringMb, 1, MAX_RING_MB, false),
    wait,
    sampling: o.sampling === undefined ? 1 : num("--sampling", o.sampling, 1, 2 ** 31),
    json: o.json === true,
    read,
    write: typeof o.w === "string" ? o.w : typeof o.write === "string" ? o.write : undefined,
    filter: args.join(" "),
    metrics: o.metrics === undefined ? undefined : metricsAddress(o.metrics),
    queue,
    raw: o,
  };
}

/** `--metrics` checked: a bad value is a UsageError (exit 2). */
function metricsAddress(v: unknown): MetricsAddress {
  try {
    return parseMetricsAddress(v);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Ring options from the flags. */
export function ringOptions(f: CaptureFlags): RingOptions {
  return {
    snaplen: f.snaplen,
    ringMb: f.ringMb,
    wait: f.wait,
    sampling: f.sampling,
    filter: f.filter,
    immediate: f.immediate,
    xdpQueue: f.queue,
  };
}

/**
 * The banner line of an xdp capture (stderr): what it obtained — the queues
 * read, native or generic mode, zero-copy or copy — and that it takes the
 * frames from the stack. Nothing on the other backends.
 *
 * @example
 * ```ts
 * import { xdpBanner } from "./common.ts";
 * xdpBanner("eth1", { mode: "native", zeroCopy: true, queues: [0, 1] });
 * // pcount: eth1: AF_XDP on 2 receive queues (0,1), native mode, zero-copy; frames captured are taken from the stack
 * ```
 */
export function xdpBanner(iface: string, x: XdpInfo | undefined): void {
  if (!x) return;
  const tool = process.argv[1]?.split("/").pop()?.replace(/\.ts$/, "") ?? "ringcap";
  const q = x.queues.length === 1
    ? `receive queue ${x.queues[0]}`
    : `${x.queues.length} receive queues (${x.queues.join(",")})`;
  console.error(
    `${tool}: ${iface}: AF_XDP on ${q}, ${x.mode} mode, ${x.zeroCopy ? "zero-copy" : "copy"}; ` +
      `frames captured are taken from the stack`,
  );
}

/**
 * What `openSource` should open, from the flags: `-r FILE` or the interface
 * with the ring options. `ethernetOnly`: the tool decodes frames.
 *
 * @example
 * ```ts
 * import { openSource } from "../source/open.ts";
 * import { captureCli, parseCapture, sourceOptions } from "./common.ts";
 * const f = parseCapture(captureCli("n", "count"), ["lo", "-c", "10"]);
 * if (f) {
 *   using s = await openSource(sourceOptions(f));
 *   console.log(s.name);
 * }
 * ```
 */
export function sourceOptions(f: CaptureFlags, ethernetOnly = false): SourceOptions {
  if (f.read === undefined) return { iface: f.iface, ...ringOptions(f) };
  if (f.raw.interface !== undefined) throw new UsageError("give either -i IFACE or -r FILE, not both");
  return { read: f.read, filter: f.filter, sampling: f.sampling, ethernetOnly };
}

/** The interface of the default route (IPv4, then IPv6), else the first up non-loopback one, else "lo". */
export function defaultInterface(): string {
  try {
    for (const line of readFileSync("/proc/net/route", "utf8").split("\n").slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length > 2 && c[1] === "00000000" && c[7] === "00000000") return c[0];
    }
    for (const line of readFileSync("/proc/net/ipv6_route", "utf8").split("\n")) {
      const c = line.trim().split(/\s+/);
      if (c.length >= 10 && /^0+$/.test(c[0]) && c[1] === "00" && c[9] !== "lo") return c[9];
    }
  } catch {
    // no procfs: fall through
  }
  return "lo";
}

/**
 * Run a tool's main: maps errors to one stderr line and DESIGN.md exit codes.
 * `started()` marks the moment the capture started: errors before it exit 2,
 * after it exit 1.
 */
export async function main(fn: (started: () => void) => Promise<number | void>): Promise<never> {
  let begun = false;
  let code = 0;
  try {
    code = (await fn(() => (begun = true))) ?? 0;
  } catch (e) {
    const msg = e instanceof UsageError || e instanceof RingError
      ? e.message
      : String((e as Error)?.message ?? e);
    console.error(`${process.argv[1]?.split("/").pop() ?? "ringcap"}: ${msg}`);
    code = begun ? 1 : 2;
  }
  process.exit(code);
}

/** Format a number with thousands separators (what pcount prints). */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * Write all of `text` to a file descriptor (default stdout) synchronously, so
 * output is complete when the process exits. A closed pipe (`| head`) ends the
 * process with exit 0, as tcpdump does.
 *
 * @example
 * ```ts
 * import { writeOut } from "./common.ts";
 * writeOut("one line\n");
 * ```
 */
export function writeOut(text: string, fd = 1): void {
  const b = new TextEncoder().encode(text);
  for (let o = 0; o < b.length;) {
    try {
      o += writeSync(fd, b, o, b.length - o);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "EAGAIN") continue;
      if (code === "EPIPE" || (e as Error)?.name === "BrokenPipe") process.exit(0);
      throw e;
    }
  }
}

/**
 * A one-line status on stderr, redrawn in place, shown only when stderr is a
 * terminal (never in pipes, logs or tests): for long captures and file reads.
 *
 * @example
 * ```ts
 * import { StatusLine } from "./common.ts";
 * const status = new StatusLine();
 * status.show("1,000 pkts");
 * status.clear(); // before printing anything else
 * ```
 */
export class StatusLine {
  /** True when stderr is a terminal. */
  readonly enabled: boolean;
  #shown = false;

  constructor(enabled = process.stderr.isTTY === true) {
    this.enabled = enabled;
  }

  /** Replace the status text. */
  show(text: string): void {
    if (!this.enabled) return;
    const cols = process.stderr.columns || 120;
    writeOut(`\r${text.slice(0, cols - 1)}\x1b[K`, 2);
    this.#shown = true;
  }

  /** Erase the status line (idempotent). */
  clear(): void {
    if (!this.#shown) return;
    this.#shown = false;
    writeOut("\r\x1b[K", 2);
  }
}

const STDIO_PLACEHOLDER = "\u0000stdio";

/**
 * `parseCapture`, plus tcpdump's "-" for standard input/output: `-r -` and
 * `-w -` (cac's parser would read a lone "-" as no value).
 *
 * @example
 * ```ts
 * import { captureCli, parseCaptureStdio } from "./common.ts";
 * const cli = captureCli("dump", "x").option("-r, --read <file>", "").option("-w, --write <file>", "");
 * parseCaptureStdio(cli, ["-r", "-", "-w", "/tmp/x.pcap"], ["r", "read", "w", "write"])?.read; // "-"
 * ```
 */
export function parseCaptureStdio(
  cli: Cac,
  argv: string[],
  extra: string[] = [],
  needIface = true,
): CaptureFlags | null {
  const dash = new Set(["-r", "--read", "-w", "--write"]);
  const args = argv.map((a, i) => (a === "-" && i > 0 && dash.has(argv[i - 1]) ? STDIO_PLACEHOLDER : a));
  const f = parseCapture(cli, args, extra, needIface);
  if (f?.read === STDIO_PLACEHOLDER) f.read = "-";
  if (f?.write === STDIO_PLACEHOLDER) f.write = "-";
  return f;
}
