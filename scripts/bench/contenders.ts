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
 *   pcount-bun-xdp / pcount-deno-xdp
 *                             pcount with RINGCAP_BACKEND=xdp (AF_XDP, libring's XDP
 *                             program) when libxdp is installed; a UMEM of XDP_RING_MB
 *                             whatever the run's ring (a 4 KiB chunk per frame), so a
 *                             drain fill is at most XDP_MAX_FRAMES frames
 *
 * For the scaling section (`scaling()`), the three tools under both runtimes
 * with one worker and with two (`--workers 2 --fanout hash`, names ending in
 * `-w2`): pcount-{bun,deno}[-w2], topn-{bun,deno}[-w2] (examples/topn.ts
 * --json with a 600 s --interval: one report at the end), nprobe-{bun,deno}[-w2].
 * A contender with N workers gets `--ring-mb` = RunSpec.ringMb / N, so the
 * ring memory in total is the same as with one worker.
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
const TOPN = join(ROOT, "examples", "topn.ts");

export const SNAPLEN = 128;

/** What a capture run asks of a contender. */
export interface RunSpec {
  /** Ring memory in total (shared out over the workers). */
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
  /** Packets each worker read (tools run with --workers N > 1). */
  perWorker?: number[];
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
  /** At most this many frames in a drain fill (what its ring holds); default: the plan's. */
  maxFrames?: number;
  /** AF_XDP: the drain fill comes from one trafgen CPU (veth with XDP pushes back on a full
   * queue, which two senders see as a fatal EAGAIN), and a killed run's XDP program is removed. */
  xdp?: boolean;
  /** Rings it maps (its --workers; 1 for every reader but the -w2 contenders). */
  workers?: number;
  /** The tool and runtime (TypeScript contenders), for the scaling table. */
  tool?: "pcount" | "topn" | "nprobe";
  runtime?: "bun" | "deno";
  argv(s: RunSpec): string[];
  parse(stdout: string, stderr: string): Counts | null;
}

/**
 * The counters of the last JSON line: `read` as printed (pcount, cread), else
 * the workers' reads summed (topn and the probe with --workers), else
 * `packets` (what the ring took in: all of it read once the ring is drained).
 */
function lastJson(stdout: string): Counts | null {
  const lines = stdout.trim().split("\n").filter((l) => l.trim().startsWith("{"));
  if (!lines.length) return null;
  try {
    const j = JSON.parse(lines[lines.length - 1]);
    const ws: Array<{ read: number }> | undefined = Array.isArray(j.workers) ? j.workers : undefined;
    const perWorker = ws?.map((w) => w.read);
    const read = j.read ?? perWorker?.reduce((a, b) => a + b, 0) ?? j.packets;
    return { packets: j.packets, dropped: j.dropped, read, ...(perWorker ? { perWorker } : {}) };
  } catch {
    return null;
  }
}

function common(s: RunSpec, workers = 1): string[] {
  if (s.ringMb % workers) throw new Error(`ring of ${s.ringMb} MiB cannot be shared by ${workers} workers`);
  const a = ["-i", RX_IF, "-s", String(SNAPLEN), "--ring-mb", String(s.ringMb / workers)];
  if (workers > 1) a.push("--workers", String(workers), "--fanout", "hash");
  if (s.count) a.push("-c", String(s.count));
  if (s.wait) a.push("--wait", s.wait);
  return a;
}

export const pcountBun: Contender = tsTool("pcount", "bun", 1);
export const pcountDeno: Contender = tsTool("pcount", "deno", 1);

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

export const nprobeBun: Contender = tsTool("nprobe", "bun", 1);

/** The xdp contenders' UMEM (MiB): 524,288 chunks of 4 KiB, one frame each. */
export const XDP_RING_MB = 2048;
const XDP_MAX_FRAMES = 500_000;
const LIBXDP = ["/usr/lib/x86_64-linux-gnu/libxdp.so.1", "/usr/lib/aarch64-linux-gnu/libxdp.so.1"];

/** pcount on the AF_XDP backend under `runtime`. */
function xdpTool(runtime: "bun" | "deno"): Contender {
  const base = tsTool("pcount", runtime, 1);
  return {
    ...base,
    name: `pcount-${runtime}-xdp`,
    libring: false, // no TPACKET_V3 blocks for drainwrap to watch
    maxFrames: XDP_MAX_FRAMES,
    xdp: true,
    argv: (s) => ["env", "RINGCAP_BACKEND=xdp", ...base.argv({ ...s, ringMb: XDP_RING_MB })],
  };
}

export const pcountBunXdp: Contender = xdpTool("bun");
export const pcountDenoXdp: Contender = xdpTool("deno");

/** A TypeScript tool under `runtime` with `workers` rings (name: tool-runtime, plus -wN for N > 1). */
function tsTool(tool: "pcount" | "topn" | "nprobe", runtime: "bun" | "deno", workers: number): Contender {
  const script = { pcount: PCOUNT, topn: TOPN, nprobe: NPROBE }[tool];
  const run = runtime === "bun" ? [BUN, "run", script] : [DENO, "run", "-A", script];
  const extra = (s: RunSpec) =>
    tool === "topn"
      ? ["--interval", "600"] // one report, at the end
      : tool === "nprobe"
      ? ["-n", `127.0.0.1:${s.sinkPort ?? 2055}`]
      : [];
  return {
    name: `${tool}-${runtime}${workers > 1 ? `-w${workers}` : ""}`,
    mmap: true,
    waits: true,
    libring: true,
    retireS: 0.1,
    workers,
    tool,
    runtime,
    argv: (s) => [...run, ...common(s, workers), ...extra(s), "--json"],
    parse: lastJson,
  };
}

const TOOLS = ["pcount", "topn", "nprobe"] as const;
const RUNTIMES = ["bun", "deno"] as const;

/** Every contender available on this checkout (the probe once examples/nprobe.ts exists). */
export function available(): Contender[] {
  const all = [pcountBun, pcountDeno, cread, tcpdump, recvfrom];
  if (existsSync(NPROBE)) all.push(nprobeBun);
  if (LIBXDP.some((l) => existsSync(l))) all.push(pcountBunXdp, pcountDenoXdp);
  return all;
}

/**
 * The scaling section's contenders: each tool (whose example exists) under
 * each runtime with 1 and with 2 workers, in that order.
 */
export function scaling(): Contender[] {
  const out: Contender[] = [];
  for (const tool of TOOLS) {
    if (!existsSync({ pcount: PCOUNT, topn: TOPN, nprobe: NPROBE }[tool])) continue;
    for (const runtime of RUNTIMES) for (const w of [1, 2]) out.push(tsTool(tool, runtime, w));
  }
  return out;
}

/** Every contender by name: `available()` and the scaling ones (pcount-bun is the same either way). */
export function registry(): Contender[] {
  const all = available();
  for (const c of scaling()) if (!all.some((x) => x.name === c.name)) all.push(c);
  return all;
}
