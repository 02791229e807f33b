/**
 * The capture programs the benchmark compares, each as a command line and a
 * parser of what it prints at the end. All capture 128 bytes per packet.
 *
 *   pcount-bun / pcount-deno  examples/pcount.ts --json (ringcap, TypeScript)
 *   cread                     libring/build/cread: C on libring, the design's ceiling
 *   tcpdump                   tcpdump -w /dev/null -B (same ring memory)
 *   recvfrom                  scripts/bench/src/recvread.c: one recvfrom() per packet,
 *                             the paper's no-ring baseline
 *   nprobe-bun                examples/nprobe.ts when it exists (flows exported to a sink)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { RX_IF } from "./net.ts";

export const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");
export const BIN = join(ROOT, "build", "bench", "bin");
export const BUN = join(ROOT, "node_modules", ".bin", "bun");
export const DENO = join(ROOT, "node_modules", ".bin", "deno");
const CREAD = join(ROOT, "libring", "build", "cread");
const PCOUNT = join(ROOT, "examples", "pcount.ts");
const NPROBE = join(ROOT, "examples", "nprobe.ts");

export const SNAPLEN = 128;

/** What a capture run asks of a contender. */
export interface RunSpec {
  ringMb: number;
  /** Exit after this many packets (drain runs); 0 = until SIGINT. */
  count?: number;
  wait?: "busy" | "poll" | "adaptive";
  /** UDP port of the flow sink (nprobe). */
  sinkPort?: number;
}

/** Counters every contender reports. `read` = packets the program processed. */
export interface Counts {
  packets: number;
  dropped: number;
  read: number;
}

export interface Contender {
  name: string;
  /** Maps a ring (waits for "socket:[" in /proc/PID/maps before it counts as ready). */
  mmap: boolean;
  /** Accepts --wait. */
  waits: boolean;
  /** Reads a libring TPACKET_V3 ring (1 MiB blocks for rings >= 8 MiB). */
  libring: boolean;
  /** Seconds to wait after the last frame so the kernel retires the last block. */
  retireS: number;
  argv(s: RunSpec): string[];
  parse(stdout: string, stderr: string): Counts | null;
}

function lastJson(stdout: string): Counts | null {
  const lines = stdout.trim().split("\n").filter((l) => l.trim().startsWith("{"));
  if (!lines.length) return null;
  try {
    const j = JSON.parse(lines[lines.length - 1]);
    return { packets: j.packets, dropped: j.dropped, read: j.read ?? j.packets };
  } catch {
    return null;
  }
}

function common(s: RunSpec): string[] {
  const a = ["-i", RX_IF, "-s", String(SNAPLEN), "--ring-mb", String(s.ringMb)];
  if (s.count) a.push("-c", String(s.count));
  if (s.wait) a.push("--wait", s.wait);
  return a;
}

export const pcountBun: Contender = {
  name: "pcount-bun",
  mmap: true,
  waits: true,
  libring: true,
  retireS: 0.1,
  argv: (s) => [BUN, "run", PCOUNT, ...common(s), "--json"],
  parse: lastJson,
};

export const pcountDeno: Contender = {
  name: "pcount-deno",
  mmap: true,
  waits: true,
  libring: true,
  retireS: 0.1,
  argv: (s) => [DENO, "run", "-A", PCOUNT, ...common(s), "--json"],
  parse: lastJson,
};

export const cread: Contender = {
  name: "cread",
  mmap: true,
  waits: true,
  libring: true,
  retireS: 0.1,
  argv: (s) => {
    const a = [CREAD, RX_IF, "-s", String(SNAPLEN), "--ring-mb", String(s.ringMb)];
    if (s.count) a.push("-c", String(s.count));
    if (s.wait) a.push("--wait", s.wait);
    return a;
  },
  parse: lastJson,
};

export const tcpdump: Contender = {
  name: "tcpdump",
  mmap: true,
  waits: false,
  libring: false,
  retireS: 1.2, // libpcap's block timeout is tcpdump's 1000 ms read timeout
  argv: (s) => {
    const a = [
      "tcpdump",
      "-i",
      RX_IF,
      "-n",
      "-Z",
      "root",
      "-s",
      String(SNAPLEN),
      "-B",
      String(s.ringMb * 1024),
      "-w",
      "/dev/null",
    ];
    if (s.count) a.push("-c", String(s.count));
    return a;
  },
  parse: (_out, err) => {
    const cap = /(\d+) packets? captured/.exec(err);
    const drop = /(\d+) packets? dropped by kernel/.exec(err);
    if (!cap) return null;
    return { packets: Number(cap[1]), dropped: drop ? Number(drop[1]) : 0, read: Number(cap[1]) };
  },
};

export const recvfrom: Contender = {
  name: "recvfrom",
  mmap: false,
  waits: false,
  libring: false,
  retireS: 0.1,
  argv: (s) => {
    const a = [join(BIN, "recvread"), RX_IF, "-s", String(SNAPLEN)];
    if (s.count) a.push("-c", String(s.count), "--rcvbuf", String(s.ringMb << 20));
    return a;
  },
  parse: lastJson,
};

export const nprobeBun: Contender = {
  name: "nprobe-bun",
  mmap: true,
  waits: true,
  libring: true,
  retireS: 0.1,
  argv: (s) => [BUN, "run", NPROBE, ...common(s), "-n", `127.0.0.1:${s.sinkPort ?? 2055}`, "--json"],
  parse: lastJson,
};

/** Every contender available on this checkout (the probe once examples/nprobe.ts exists). */
export function available(): Contender[] {
  const all = [pcountBun, pcountDeno, cread, tcpdump, recvfrom];
  if (existsSync(NPROBE)) all.push(nprobeBun);
  return all;
}
