/**
 * ringcap benchmarks: the paper's measurements (Deri 2004, Tables 2-6,
 * Figure 1) on this machine, ringcap next to a C reader, tcpdump and a
 * recvfrom() reader, contenders interleaved in one run.
 *
 *   npm run bench -- [--quick | --smoke] [--only drain,live,cpu,latency,rate,scaling,vm]
 *                    [--reps N] [--contenders a,b] [--sizes 64,1500] [--setups plain,rps] [--out DIR]
 *                    [--nice N]  (the scaling section's drain readers in a session of their own, autogroup nice N)
 *                    [--flows 256,4352,65280]  (drain: traffic mixes, net.ts frameConfig; default 4352)
 *
 * Sections (see scripts/bench/README.md for the method):
 *   drain    reader speed from a full ring: SIGSTOP the reader, fill its
 *            1 GiB ring, SIGCONT, time until it has read every frame and exited
 *   live     % captured at trafgen's max rate, 64/512/1500 B, plain and RPS setups
 *   cpu      CPU % of the reader per wait mode at a fixed moderate rate
 *   latency  kernel receive to user delivery of lone packets, per wait mode and
 *            delivery mode (block: TPACKET_V3; immediate: TPACKET_V2, --immediate)
 *   rate     % captured vs offered rate (the paper's Figure 1)
 *   scaling  pcount, topn and the probe with 2 workers vs 1 (--workers 2
 *            --fanout hash, same ring memory in total): drain reading rate
 *            from warm rings, start-up time, live % captured (plain and RPS)
 *   vm       the kernel module vs AF_PACKET in the VM (qemu TCG, one boot):
 *            drain speed of the TS and C readers on both backends, Bun and
 *            Deno (scripts/bench/vm.ts, scripts/bench/vm_drain.sh); full mode or --only vm
 * Output: a table on stdout, build/bench/results.json, build/bench/*.svg.
 * Needs root (namespaces), trafgen (netsniff-ng), tcpdump, ethtool, gcc.
 *
 * Every mode ends by itself (exit 0) and leaves nothing behind: each process it
 * starts (contenders, the probe's dummy collector, wrappers) is stopped with
 * its descendants before the namespaces are removed. Ctrl-C or SIGTERM stops
 * the measurement in progress, prints what was measured so far and exits 0 the
 * same way; a second signal exits at once (130). A contender that fails is
 * reported on stderr and left out; the run goes on.
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  available,
  BIN,
  BUN,
  type Contender,
  type Counts,
  DENO,
  registry,
  ROOT,
  scaling as scalingContenders,
} from "./contenders.ts";
import {
  BenchNet,
  cpuSeconds,
  FLOW_MIXES,
  FLOWS,
  frameConfig,
  hasPacketSocket,
  removeStale,
  RX_IF,
  trafgen,
  txframes,
} from "./net.ts";
import { killAll, Proc, sleep, stopAll } from "./proc.ts";
import { median, quantile, summary } from "./stats.ts";
import { writePlots } from "./svg.ts";
import { type VmResult, vmSection, vmTable } from "./vm.ts";

type Section = "drain" | "live" | "cpu" | "latency" | "rate" | "scaling" | "vm";
const SECTIONS: Section[] = ["drain", "live", "cpu", "latency", "rate", "scaling", "vm"];
type Wait = "busy" | "poll" | "adaptive";

interface Plan {
  mode: "smoke" | "quick" | "full";
  sections: Section[];
  contenders: string[];
  drain: {
    sizes: number[];
    ringMb: number;
    frames: number;
    warm: number;
    reps: number;
    recvfromFrames: number;
    /** Traffic mixes (flows in the frames, net.ts frameConfig); default [FLOWS]. */
    flows?: number[];
  };
  live: { sizes: number[]; setups: Array<"plain" | "rps">; frames: number; reps: number };
  /** warmS: seconds of traffic before the measured `seconds` (steady state). */
  cpu: { rate: number; seconds: number; warmS: number; reps: number; readers: string[] };
  latency: { packets: number; pps: number; readers: string[] };
  rate: { rates: number[]; frames: number; contenders: string[] };
  scaling: {
    /** 1- and 2-worker contenders (pairs by tool and runtime); `ref` are live-only references (cread). */
    contenders: string[];
    ref: string[];
    /** Autogroup nice of the drain runs' readers (--nice; drainwrap --autogroup-nice): < 0 lets a reader take both CPUs from other sessions' work. */
    nice: number;
    /** Ring memory in total per contender (2 workers: half each). */
    ringMb: number;
    frames: number;
    warm: number;
    reps: number;
    live: { sizes: number[]; setups: Array<"plain" | "rps">; frames: number; reps: number };
  };
}

function plan(argv: string[]): { p: Plan; out: string } {
  const get = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const mode = argv.includes("--smoke") ? "smoke" : argv.includes("--quick") ? "quick" : "full";
  const all = available().map((c) => c.name);
  const known = registry().map((c) => c.name);
  const scal = scalingContenders().map((c) => c.name);
  const main = all.filter((n) => n !== "recvfrom");
  // the cpu and latency sections' readers: pcount (TPACKET_V3; AF_XDP when libxdp is installed) and cread
  const readers = ["pcount-bun", "pcount-deno", "pcount-bun-xdp", "pcount-deno-xdp", "cread"].filter((n) =>
    all.includes(n)
  );
  const p: Plan = mode === "smoke"
    ? {
      mode,
      sections: ["drain", "live", "latency", "scaling"],
      contenders: ["pcount-bun", "cread", "tcpdump", "nprobe-bun"], // the probe (and its collector) when present
      drain: { sizes: [64], ringMb: 256, frames: 300_000, warm: 0, reps: 1, recvfromFrames: 0 },
      live: { sizes: [64], setups: ["plain"], frames: 200_000, reps: 1 },
      cpu: { rate: 20_000, seconds: 1, warmS: 0, reps: 1, readers: ["cread"] },
      latency: { packets: 10, pps: 37, readers: ["pcount-bun", "cread"] },
      rate: { rates: [], frames: 0, contenders: [] },
      scaling: {
        contenders: ["pcount-bun", "pcount-bun-w2"],
        ref: [],
        nice: 0,
        ringMb: 128,
        frames: 200_000,
        warm: 200_000,
        reps: 1,
        live: { sizes: [64], setups: ["plain"], frames: 200_000, reps: 1 },
      },
    }
    : mode === "quick"
    ? {
      mode,
      sections: ["drain", "live", "cpu", "latency", "scaling"],
      contenders: all,
      drain: { sizes: [64], ringMb: 256, frames: 700_000, warm: 2_000_000, reps: 2, recvfromFrames: 0 },
      live: { sizes: [64], setups: ["plain", "rps"], frames: 1_000_000, reps: 1 },
      cpu: { rate: 50_000, seconds: 2, warmS: 1, reps: 1, readers },
      latency: { packets: 30, pps: 37, readers },
      rate: { rates: [], frames: 0, contenders: [] },
      scaling: {
        contenders: scal.filter((n) => n.includes("-bun")), // Bun only, one repetition: the ~2 min budget
        ref: ["cread"],
        nice: 0,
        ringMb: 256,
        frames: 700_000,
        warm: 2_000_000,
        reps: 1,
        live: { sizes: [64], setups: ["plain"], frames: 1_000_000, reps: 1 },
      },
    }
    : {
      mode,
      sections: SECTIONS,
      contenders: all,
      drain: {
        sizes: [64, 1500],
        ringMb: 512,
        frames: 1_500_000,
        warm: 4_000_000,
        reps: 5,
        recvfromFrames: 300_000,
      },
      live: { sizes: [64, 512, 1500], setups: ["plain", "rps"], frames: 1_500_000, reps: 2 },
      cpu: { rate: 100_000, seconds: 4, warmS: 1, reps: 5, readers }, // median of 5 (issue 17: pcount <= 1.3x cread)
      latency: { packets: 100, pps: 37, readers },
      rate: { rates: [50_000, 100_000, 200_000, 400_000, 800_000, 0], frames: 600_000, contenders: all },
      scaling: {
        contenders: scal,
        ref: ["cread"],
        nice: 0,
        ringMb: 512,
        frames: 1_500_000,
        warm: 4_000_000,
        reps: 5,
        live: { sizes: [64], setups: ["plain", "rps"], frames: 1_500_000, reps: 2 },
      },
    };
  const only = get("--only");
  if (only) p.sections = only.split(",").filter((s): s is Section => (SECTIONS as string[]).includes(s));
  const reps = get("--reps");
  if (reps) {
    p.drain.reps =
      p.live.reps =
      p.cpu.reps =
      p.scaling.reps =
        Number(reps);
  }
  const sizes = get("--sizes");
  if (sizes) p.drain.sizes = p.live.sizes = sizes.split(",").map(Number);
  const flows = get("--flows");
  if (flows) {
    p.drain.flows = flows.split(",").map(Number);
    const bad = p.drain.flows.find((f) => !FLOW_MIXES.includes(f));
    if (bad !== undefined) {
      console.error(`bench: --flows ${bad}: one of ${FLOW_MIXES.join(", ")} (frames per flow mix, net.ts)`);
      process.exit(2);
    }
  }
  const setups = get("--setups");
  if (setups) {
    p.live.setups = p.scaling.live.setups = setups.split(",").filter((x): x is "plain" | "rps" =>
      x === "plain" || x === "rps"
    );
  }
  const nice = get("--nice");
  if (nice) p.scaling.nice = Number(nice);
  const cs = get("--contenders");
  if (cs) {
    p.contenders = cs.split(",");
    // scaling: the named 1-/2-worker contenders (a pair when both are named), cread as the live reference
    p.scaling.contenders = p.contenders.filter((c) => scal.includes(c));
    p.scaling.ref = p.contenders.filter((c) => c === "cread");
    // cpu and latency: the named ones among their readers
    p.cpu.readers = p.cpu.readers.filter((c) => p.contenders.includes(c));
    p.latency.readers = p.latency.readers.filter((c) => p.contenders.includes(c));
  }
  p.contenders = p.contenders.filter((c) => known.includes(c));
  if (p.mode === "full") void main;
  return { p, out: get("--out") ?? join(ROOT, "build", "bench") };
}

// ---------------------------------------------------------------- build

function buildTools(): void {
  if (
    !existsSync(join(ROOT, "libring", "build", "cread")) ||
    !existsSync(join(ROOT, "libring", "build", "txframes"))
  ) {
    run("make", ["-s", "-C", join(ROOT, "libring")]);
  }
  mkdirSync(BIN, { recursive: true });
  const src = join(ROOT, "scripts", "bench", "src");
  const lib = join(ROOT, "libring", "build");
  const jobs: Array<[string, string[]]> = [
    ["drainwrap", ["-O2", "-o", join(BIN, "drainwrap"), join(src, "drainwrap.c")]],
    ["recvread", ["-O2", "-o", join(BIN, "recvread"), join(src, "recvread.c")]],
    ["latread", [
      "-O2",
      "-o",
      join(BIN, "latread"),
      join(src, "latread.c"),
      `-L${lib}`,
      "-lring",
      `-Wl,-rpath,${lib}`,
    ]],
    ["sndbuf_shim.so", [
      "-O2",
      "-shared",
      "-fPIC",
      "-o",
      join(BIN, "sndbuf_shim.so"),
      join(src, "sndbuf_shim.c"),
      "-ldl",
    ]],
  ];
  for (const [name, args] of jobs) {
    const out = join(BIN, name);
    const srcFile = join(src, name.replace(".so", "") + ".c");
    if (existsSync(out) && statMtime(out) >= statMtime(srcFile)) continue;
    run("gcc", ["-Wall", ...args]);
  }
}

function statMtime(p: string): number {
  const r = spawnSync("stat", ["-c", "%Y", p], { encoding: "utf8" });
  return Number(r.stdout.trim() || 0);
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${(r.stderr || "").trim()}`);
}

function checkTools(): string | null {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, capture)";
  for (const t of ["trafgen", "tcpdump", "ethtool", "ip", "gcc", "taskset"]) {
    if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) {
      return `${t} is not installed (bash scripts/setup.sh bench)`;
    }
  }
  if (!existsSync(BUN) || !existsSync(DENO)) return "bun/deno missing: npm ci";
  return null;
}

// ---------------------------------------------------------------- helpers

const net = new BenchNet();
/** UDP port of the dummy flow collector (nprobe's -n 127.0.0.1:PORT) in the rx namespace. */
const SINK_PORT = 2055;
let sink: Proc | undefined;
/** Set by SIGINT/SIGTERM: every section stops before its next measurement. */
let interrupted = false;

/** Stop the dummy collector (it lives in the rx namespace: it goes before the namespace does). */
async function stopSink(): Promise<void> {
  if (sink) await sink.stop("SIGKILL");
  sink = undefined;
}

/**
 * (Re)create the namespaces for a section; start the dummy collector when the
 * probe is among `contenders`. Every section goes through here, so the
 * collector never outlives the namespaces it was started in.
 */
async function setupNet(rps: boolean, contenders: string[]): Promise<void> {
  await stopSink();
  net.setup(rps);
  if (contenders.some((c) => c.startsWith("nprobe"))) {
    const js =
      `require("node:dgram").createSocket("udp4").on("message", () => {}).bind(${SINK_PORT}, "127.0.0.1", () => console.log("bound"))`;
    sink = new Proc(["ip", "netns", "exec", net.rxNs, BUN, "-e", js]);
    if (!(await sink.until(() => sink!.stdout.includes("bound"), 5000))) {
      log(`  ! the probe's dummy collector did not start: ${sink.stderr.trim().slice(-300)}`);
    }
  }
}

/** End of the run (normal, error or signal): every process stopped and waited for, then the namespaces removed. */
let shutdownDone: Promise<void> | undefined;
function shutdown(): Promise<void> {
  return shutdownDone ??= (async () => {
    await stopSink();
    await stopAll();
    net.teardown();
  })();
}
/** A failed measurement, unless it failed because the run was interrupted. */
const fail = (s: string) => {
  if (!interrupted) log(s);
};
const log = (s: string) => process.stderr.write(s + "\n");
const SHIM = join(BIN, "sndbuf_shim.so");

/** Rotate the list so each repetition starts with a different contender. */
function rotate<T>(xs: T[], k: number): T[] {
  const n = xs.length;
  return n ? xs.map((_, i) => xs[(i + k) % n]) : xs;
}

function inRx(argv: string[], pin: boolean): string[] {
  return ["ip", "netns", "exec", net.rxNs, ...(pin ? ["taskset", "-c", "1"] : []), ...argv];
}

/** The distinct sockets mapped by process `pid` (its rings: one per worker). */
function mappedRings(pid: number): number {
  try {
    return new Set(readFileSync(`/proc/${pid}/maps`, "utf8").match(/socket:\[\d+\]/g) ?? []).size;
  } catch {
    return 0;
  }
}

/**
 * Start a capturer in the rx namespace; resolve once its socket is bound and
 * its rings mapped (every worker's: the start barrier follows at once), plus 300 ms.
 */
async function startCapture(c: Contender, argv: string[], pin: boolean): Promise<Proc> {
  const p = new Proc(inRx(argv, pin));
  const ready = () => {
    if (!hasPacketSocket(p.pid)) return false;
    return !c.mmap || mappedRings(p.pid) >= (c.workers ?? 1);
  };
  if (!(await p.until(ready, 20_000))) {
    await p.stop("SIGKILL");
    throw new Error(`${c.name} did not start: ${p.stderr.trim().slice(-300)}`);
  }
  await sleep(300);
  return p;
}

async function finish(c: Contender, p: Proc): Promise<Counts> {
  await p.stop("SIGINT", 15_000);
  const r = c.parse(p.stdout, p.stderr);
  if (!r) {
    throw new Error(`${c.name}: no counters in its output (exit ${p.code}): ${p.stderr.trim().slice(-300)}`);
  }
  return r;
}

// ---------------------------------------------------------------- drain

interface DrainRow {
  contender: string;
  size: number;
  /** Flows in the traffic (net.ts frameConfig). */
  flows: number;
  rep: number;
  frames: number;
  read: number;
  dropped: number;
  /** SIGCONT to exit (s): reading every frame, closing the ring, exiting. */
  exitS: number;
  mpps: number;
  /** SIGCONT to the reader's first stdout line (pcount prints its JSON before closing the ring). */
  firstOutS: number;
  /** Reading time without ring close and exit: pcount's first output, cread's
   * own first-to-last packet clock; frames / readS = readMpps. */
  readS: number;
  readMpps: number;
}

/** Ring for drain runs: small enough that the warm-up wraps it, big enough for `frames`. */
let DRAIN_RING_MB = 512;

async function drainOne(
  c: Contender,
  size: number,
  frames: number,
  warm: number,
  rep: number,
  flows: number = FLOWS,
): Promise<DrainRow | null> {
  const cfg = frameConfig(OUT, size, flows);
  const argv = c.argv({ ringMb: DRAIN_RING_MB, count: warm + frames, sinkPort: SINK_PORT });
  const w = new Proc(
    inRx([
      join(BIN, "drainwrap"),
      "--timeout",
      "5",
      ...(warm ? ["--warm"] : []),
      ...(c.libring ? ["--watch", String(1 << 20)] : []),
      ...(c.mmap ? [] : ["--no-mmap"]),
      ...((c.workers ?? 1) > 1 ? ["--rings", String(c.workers)] : []),
      "--",
      ...argv,
    ], false),
    true,
  );
  try {
    if (warm) {
      // warm-up: the reader reads `warm` frames live, so every ring page has
      // been touched once (first touches of a mapping are slow in this VM)
      if (!(await w.until(() => w.stdout.includes("READY\n"), 30_000))) {
        throw new Error(`not ready: ${w.stderr.trim().slice(-300)}`);
      }
      const t = trafgen(net, { cfg, count: warm, cpus: c.xdp ? 1 : 2 });
      if (!t.ok) throw new Error(`trafgen: ${t.stderr}`);
      await sleep(300 + c.retireS * 1000);
      w.write("warm\n");
    }
    if (!(await w.until(() => w.stdout.includes("STOPPED\n"), 30_000))) {
      throw new Error(`not stopped: ${w.stderr.trim().slice(-300)}`);
    }
    const t = trafgen(net, { cfg, count: frames, cpus: c.xdp ? 1 : 2 });
    if (!t.ok) throw new Error(`trafgen: ${t.stderr}`);
    await sleep(50 + c.retireS * 1000);
    w.write("go\n");
    if (!(await w.until(() => /^DRAIN /m.test(w.stdout), 30_000))) throw new Error("no DRAIN line");
    await w.done;
    const d = JSON.parse(/^DRAIN (.*)$/m.exec(w.stdout)![1]);
    const out = w.stdout.split("\n").filter((l) => l.startsWith("OUT ")).map((l) => l.slice(4)).join("\n");
    const err = w.stdout.split("\n").filter((l) => l.startsWith("ERR ")).map((l) => l.slice(4)).join("\n");
    const counts = c.parse(out, err);
    if (!counts) throw new Error(`no counters (status ${d.status}): ${err.slice(-300)}`);
    if (counts.read !== warm + frames) {
      throw new Error(
        `read ${counts.read} of ${
          warm + frames
        } (dropped ${counts.dropped}): ring too small for this fill rate`,
      );
    }
    // reading time without close and exit: until the last block went back to
    // the kernel (libring readers, watched by drainwrap), else until the
    // first output line (pcount prints its JSON before closing the ring; it
    // keeps the last block of a -c run), else until exit
    let readS = d.exit;
    if (d.first_out > 0 && c.name.startsWith("pcount")) readS = d.first_out;
    if (d.drained > 0) readS = Math.min(readS, d.drained);
    return {
      contender: c.name,
      size,
      flows,
      rep,
      frames,
      read: counts.read,
      dropped: counts.dropped,
      exitS: d.exit,
      mpps: frames / d.exit / 1e6,
      firstOutS: d.first_out,
      readS,
      readMpps: frames / readS / 1e6,
    };
  } catch (e) {
    fail(`  ! drain ${c.name} ${size} B: ${(e as Error).message}`);
    return null;
  } finally {
    await w.stop("SIGKILL", 5000);
    // a killed xdp reader leaves its XDP program: the next contenders get a plain veth
    if (c.xdp) spawnSync("ip", ["-n", net.rxNs, "link", "set", "dev", RX_IF, "xdp", "off"]);
  }
}

async function drain(p: Plan, R: Results): Promise<void> {
  await setupNet(false, p.contenders);
  DRAIN_RING_MB = p.drain.ringMb;
  const cs = registry().filter((c) => p.contenders.includes(c.name));
  for (const size of p.drain.sizes) {
    // fewer repetitions at 1500 B: the warm-up and fill take longer
    const reps = size >= 1000 && p.mode === "full" ? Math.min(3, p.drain.reps) : p.drain.reps;
    for (let rep = 0; rep < reps; rep++) {
      for (const flows of p.drain.flows ?? [FLOWS]) {
        for (const c of rotate(cs, rep)) {
          const frames = Math.min(
            c.name === "recvfrom" ? p.drain.recvfromFrames : p.drain.frames,
            c.maxFrames ?? Infinity, // xdp: a 4 KiB UMEM chunk per frame
          );
          if (!frames) continue;
          if (interrupted) return;
          const r = await drainOne(c, size, frames, c.mmap ? p.drain.warm : 0, rep, flows);
          if (!r || interrupted) continue;
          R.drain.push(r);
          log(
            `  drain ${size} B ${flowTag(r)}${c.name.padEnd(16)} ${r.mpps.toFixed(2)} Mpps to exit (${
              (r.exitS * 1000).toFixed(1)
            } ms), reading ${r.readMpps.toFixed(2)} Mpps (${(r.readS * 1000).toFixed(1)} ms)`,
          );
        }
      }
    }
  }
}

/** ", x0.52 pcount-bun": an analysis tool's reading rate over pcount's (same runtime), median of per-rep ratios. */
function pcountRatio(rows: DrainRow[], name: string): string {
  const rt = /^(topn|nprobe)-(bun|deno)$/.exec(name);
  if (!rt) return "";
  const pc = rows.filter((r) => r.contender === `pcount-${rt[2]}`);
  const xs = rows.filter((r) => r.contender === name).map((r) =>
    r.readMpps / (pc.find((b) => b.rep === r.rep)?.readMpps ?? NaN)
  );
  return pc.length ? `, reading x${median(xs).toFixed(2)} pcount-${rt[2]}` : "";
}

/** "" for the default traffic, else "N flows " (drain rows of several mixes). */
function flowTag(r: { flows?: number }): string {
  return (r.flows ?? FLOWS) === FLOWS ? "" : `${r.flows} flows `;
}

/** Same frame size and traffic mix (rows of one repetition compared with cread's). */
function sameCase(a: DrainRow, b: DrainRow): boolean {
  return a.size === b.size && (a.flows ?? FLOWS) === (b.flows ?? FLOWS);
}

// ---------------------------------------------------------------- live

interface LiveRow {
  contender: string;
  setup: "plain" | "rps";
  size: number;
  rate: number; // offered pps asked of trafgen (0 = max)
  rep: number;
  sent: number;
  arrived: number;
  captured: number;
  dropped: number;
  pct: number;
  offeredMpps: number;
  cpuPct: number;
  wait?: Wait;
}

/**
 * CPU seconds of every thread of `pid` from /proc/PID/task/N/schedstat (ns):
 * /proc/PID/stat counts 10 ms ticks, too coarse for a reader using 0.5 % of a
 * CPU over 4 s (2 ticks). Falls back to cpuSeconds() when schedstat is absent.
 */
function threadCpuSeconds(pid: number): number {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return ns / 1e9;
  } catch {
    return cpuSeconds(pid);
  }
}

async function liveOne(
  c: Contender,
  o: {
    setup: "plain" | "rps";
    size: number;
    frames: number;
    rate: number;
    rep: number;
    wait?: Wait;
    seconds?: number;
    /** Seconds of the same traffic before the measured part (CPU is measured after it: steady state). */
    warmS?: number;
  },
): Promise<LiveRow | null> {
  const pin = o.setup === "rps";
  const cfg = frameConfig(OUT, o.size);
  let p: Proc | undefined;
  try {
    p = await startCapture(c, c.argv({ ringMb: 64, wait: o.wait, sinkPort: SINK_PORT }), pin);
    const c0 = net.counters();
    if (o.warmS && o.rate) {
      // the runtime's start-up tail (its JIT compiling the read loop once traffic comes, GC of
      // start-up garbage) falls in here, not in the steady state measured below
      const w = trafgen(net, {
        cfg,
        count: Math.round(o.rate * o.warmS),
        rate: o.rate,
        cpus: 1,
        shim: pin ? SHIM : undefined,
      });
      if (!w.ok) throw new Error(`trafgen: ${w.stderr}`);
    }
    const m0 = net.counters();
    const cpu0 = threadCpuSeconds(p.pid);
    const t0 = performance.now();
    const frames = o.seconds && o.rate ? Math.round(o.rate * o.seconds) : o.frames;
    const t = trafgen(net, { cfg, count: frames, rate: o.rate, cpus: 1, shim: pin ? SHIM : undefined });
    const dt = (performance.now() - t0) / 1000;
    const cpu1 = threadCpuSeconds(p.pid);
    const c1 = net.counters();
    if (!t.ok) throw new Error(`trafgen: ${t.stderr}`);
    await sleep(Math.max(300, c.retireS * 1000));
    const r = await finish(c, p);
    const sent = c1.sent - c0.sent;
    return {
      contender: c.name,
      setup: o.setup,
      size: o.size,
      rate: o.rate,
      rep: o.rep,
      sent,
      arrived: c1.arrived - c0.arrived,
      captured: r.read,
      dropped: r.dropped,
      pct: (100 * r.read) / sent,
      offeredMpps: (c1.sent - m0.sent) / dt / 1e6,
      cpuPct: (100 * (cpu1 - cpu0)) / dt,
      ...(o.wait ? { wait: o.wait } : {}),
    };
  } catch (e) {
    fail(`  ! live ${c.name} ${o.setup} ${o.size} B: ${(e as Error).message}`);
    if (p) await p.stop("SIGKILL");
    return null;
  }
}

async function live(p: Plan, R: Results): Promise<void> {
  const cs = registry().filter((c) => p.contenders.includes(c.name));
  for (const setup of p.live.setups) {
    await setupNet(setup === "rps", p.contenders);
    for (const size of p.live.sizes) {
      for (let rep = 0; rep < p.live.reps; rep++) {
        for (const c of rotate(cs, rep)) {
          if (interrupted) return;
          const r = await liveOne(c, { setup, size, frames: p.live.frames, rate: 0, rep });
          if (r && !interrupted) {
            R.live.push(r);
            log(
              `  live ${setup} ${size} B ${c.name.padEnd(16)} ${r.pct.toFixed(2)} % of ${r.sent} at ${
                r.offeredMpps.toFixed(2)
              } Mpps, cpu ${r.cpuPct.toFixed(0)} %`,
            );
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- cpu per wait mode

async function cpuModes(p: Plan, R: Results): Promise<void> {
  await setupNet(false, p.cpu.readers);
  const cs = registry().filter((c) => p.cpu.readers.includes(c.name));
  const modes: Wait[] = ["poll", "adaptive", "busy"];
  for (let rep = 0; rep < p.cpu.reps; rep++) {
    for (const wait of modes) {
      for (const c of rotate(cs, rep)) {
        if (interrupted) return;
        const r = await liveOne(c, {
          setup: "plain",
          size: 64,
          frames: 0,
          rate: p.cpu.rate,
          rep,
          wait,
          seconds: p.cpu.seconds,
          warmS: p.cpu.warmS,
        });
        if (r && !interrupted) {
          R.cpu.push(r);
          log(
            `  cpu ${wait.padEnd(8)} ${c.name.padEnd(16)} ${r.cpuPct.toFixed(1)} % cpu, ${
              r.pct.toFixed(2)
            } % captured at ${(r.offeredMpps * 1000).toFixed(0)} kpps`,
          );
        }
      }
    }
  }
}

/** `name`'s CPU over cread's in the same repetition and wait mode, per repetition (cread measured in the same run). */
function cpuRatios(rows: LiveRow[], wait: string, name: string): number[] {
  const out: number[] = [];
  for (const r of rows.filter((x) => x.wait === wait && x.contender === name)) {
    const c = rows.find((x) => x.wait === wait && x.contender === "cread" && x.rep === r.rep);
    if (c && c.cpuPct > 0) out.push(r.cpuPct / c.cpuPct);
  }
  return out;
}

// ---------------------------------------------------------------- latency

type Delivery = "block" | "immediate";

interface LatencyRow {
  reader: string;
  wait: Wait;
  delivery: Delivery;
  packets: number;
  medianUs: number;
  p99Us: number;
  maxUs: number;
  samplesUs: number[];
}

function latencyArgv(reader: string, wait: Wait, count: number, delivery: Delivery): string[] {
  const script = join(ROOT, "scripts", "bench", "latency.ts");
  const imm = delivery === "immediate" ? ["--immediate"] : [];
  const a = ["-i", RX_IF, "-c", String(count), "--wait", wait, ...imm];
  if (reader === "cread") return [join(BIN, "latread"), RX_IF, "-c", String(count), "--wait", wait, ...imm];
  // the xdp readers: AF_XDP through libring's XDP program, whose metadata carries each frame's stamp
  const env = reader.endsWith("-xdp") ? ["env", "RINGCAP_BACKEND=xdp"] : [];
  if (reader.startsWith("pcount-bun")) return [...env, BUN, "run", script, ...a];
  return [...env, DENO, "run", "-A", script, ...a];
}

async function latency(p: Plan, R: Results): Promise<void> {
  await setupNet(false, p.latency.readers);
  const modes: Wait[] = ["poll", "adaptive", "busy"];
  const fake = { name: "lat", mmap: true } as Contender;
  for (const wait of modes) {
    for (const delivery of ["block", "immediate"] as Delivery[]) {
      for (const reader of p.latency.readers) {
        if (interrupted) return;
        // AF_XDP hands over each frame as it comes (ring.delivery is "immediate"): one row per wait mode
        const xdp = reader.endsWith("-xdp");
        if (xdp && delivery === "block") continue;
        let proc: Proc | undefined;
        try {
          proc = await startCapture(fake, latencyArgv(reader, wait, p.latency.packets, delivery), false);
          txframes(net, join(ROOT, "libring", "build", "txframes"), p.latency.packets, p.latency.pps);
          if (!(await proc.until(() => proc!.exited, 5000))) await proc.stop("SIGINT");
          await proc.done;
          // a reader that had to be stopped may leave its XDP program: the next readers get a plain veth
          if (xdp) spawnSync("ip", ["-n", net.rxNs, "link", "set", "dev", RX_IF, "xdp", "off"]);
          const j = JSON.parse(proc.stdout.trim().split("\n").pop() ?? "{}");
          const xs: number[] = j.lat_us ?? [];
          if (!xs.length) throw new Error(`no samples: ${proc.stderr.trim().slice(-300)}`);
          if (interrupted) return;
          const row: LatencyRow = {
            reader,
            wait,
            delivery,
            packets: xs.length,
            medianUs: +median(xs).toFixed(1),
            p99Us: +quantile(xs, 0.99).toFixed(1),
            maxUs: +Math.max(...xs).toFixed(1),
            samplesUs: xs.map((x) => +x.toFixed(1)),
          };
          R.latency.push(row);
          log(
            `  latency ${wait.padEnd(8)} ${delivery.padEnd(9)} ${
              reader.padEnd(16)
            } median ${row.medianUs} us, p99 ${row.p99Us} us (${xs.length} packets)`,
          );
        } catch (e) {
          fail(`  ! latency ${reader} ${wait} ${delivery}: ${(e as Error).message}`);
          if (proc) await proc.stop("SIGKILL");
        }
      }
    }
  }
}

// ---------------------------------------------------------------- rate sweep

async function rateSweep(p: Plan, R: Results): Promise<void> {
  await setupNet(false, p.rate.contenders);
  const cs = registry().filter((c) => p.rate.contenders.includes(c.name));
  let k = 0;
  for (const rate of p.rate.rates) {
    for (const c of rotate(cs, k++)) {
      if (interrupted) return;
      // about 2 s of traffic per point (p.rate.frames at max rate)
      const r = await liveOne(c, {
        setup: "plain",
        size: 64,
        frames: rate ? Math.min(p.rate.frames, rate * 2) : p.rate.frames,
        rate,
        rep: 0,
      });
      if (r && !interrupted) {
        R.rate.push(r);
        log(
          `  rate ${rate ? `${rate / 1000} kpps` : "max"} ${c.name.padEnd(12)} ${r.pct.toFixed(2)} % at ${
            r.offeredMpps.toFixed(3)
          } Mpps`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------- scaling: 1 vs 2 workers

interface ScalingDrainRow {
  contender: string;
  tool: string;
  runtime: string;
  workers: number;
  rep: number;
  size: number;
  /** Frames in the timed fill; `warm` read live before it. */
  frames: number;
  warm: number;
  read: number;
  dropped: number;
  /** What each worker read (warm-up included). */
  perWorker?: number[];
  /** SIGCONT until every ring's last full block went back to the kernel (the reading alone). */
  readS: number;
  readMpps: number;
  /** The same for each ring. */
  ringReadS: number[];
  /** CPUs the reader kept busy meanwhile: CPU time of all its threads (schedstat) / readS. */
  cpus: number;
  /** The reader's fork to its start barrier: every ring mapped and started (drainwrap, 1 ms polls). */
  startupMs: number;
  /** The reader's autogroup nice (--nice). */
  nice: number;
}

/** Ring block size libring uses for rings >= 8 MiB (what drainwrap watches). */
const BLOCK = 1 << 20;

/**
 * One drain of a 1- or 2-worker tool, run without -c: drainwrap waits for
 * its start barrier (N rings mapped, none paused; the start-up time), the
 * tool reads `warm` frames live (every page of every ring touched), SIGSTOP
 * (every thread), trafgen fills the rings, SIGCONT; the reading time ends
 * when the last ring's last block went back; then SIGINT, and the tool's
 * counters must show every frame read once, none dropped.
 */
async function scalingDrainOne(
  c: Contender,
  o: { ringMb: number; frames: number; warm: number; rep: number; size: number; nice: number },
): Promise<ScalingDrainRow | null> {
  const cfg = frameConfig(OUT, o.size);
  const workers = c.workers ?? 1;
  const w = new Proc(
    inRx([
      join(BIN, "drainwrap"),
      ...(o.nice ? ["--autogroup-nice", String(o.nice)] : []),
      "--timeout",
      "5",
      "--warm",
      "--watch",
      String(BLOCK),
      "--watch-us",
      "250", // a look every 250 us: the watcher must not compete with 2 workers on 2 cores
      "--rings",
      String(workers),
      "--sigint-drained",
      "--",
      ...c.argv({ ringMb: o.ringMb, sinkPort: SINK_PORT }),
    ], false),
    true,
  );
  try {
    if (!(await w.until(() => w.stdout.includes("READY\n"), 30_000))) {
      throw new Error(`not ready: ${w.stderr.trim().slice(-300)}`);
    }
    if (o.warm) {
      const t = trafgen(net, { cfg, count: o.warm, cpus: 2 });
      if (!t.ok) throw new Error(`trafgen: ${t.stderr}`);
      await sleep(300 + c.retireS * 1000);
    }
    w.write("warm\n");
    if (!(await w.until(() => w.stdout.includes("STOPPED\n"), 30_000))) {
      throw new Error(`not stopped: ${w.stderr.trim().slice(-300)}`);
    }
    const t = trafgen(net, { cfg, count: o.frames, cpus: 2 });
    if (!t.ok) throw new Error(`trafgen: ${t.stderr}`);
    await sleep(50 + c.retireS * 1000);
    w.write("go\n");
    if (!(await w.until(() => /^DRAIN /m.test(w.stdout), 30_000))) throw new Error("no DRAIN line");
    await w.done;
    const d = JSON.parse(/^DRAIN (.*)$/m.exec(w.stdout)![1]);
    const lines = (tag: string) =>
      w.stdout.split("\n").filter((l) => l.startsWith(tag)).map((l) => l.slice(4)).join("\n");
    const counts = c.parse(lines("OUT "), lines("ERR "));
    if (!counts) throw new Error(`no counters (status ${d.status}): ${lines("ERR ").slice(-300)}`);
    const want = o.warm + o.frames;
    if (counts.read !== want || counts.dropped !== 0) {
      throw new Error(
        `read ${counts.read} of ${want}, dropped ${counts.dropped}: rings too small for this fill`,
      );
    }
    if (d.rings !== workers || !(d.drained > 0)) {
      throw new Error(`${d.rings} rings seen, drained ${d.drained} (want ${workers} rings drained)`);
    }
    return {
      contender: c.name,
      tool: c.tool ?? c.name,
      runtime: c.runtime ?? "",
      workers,
      rep: o.rep,
      size: o.size,
      frames: o.frames,
      warm: o.warm,
      read: counts.read,
      dropped: counts.dropped,
      ...(counts.perWorker ? { perWorker: counts.perWorker } : {}),
      readS: d.drained,
      readMpps: o.frames / d.drained / 1e6,
      ringReadS: d.ring_drained,
      cpus: +(d.drain_cpu / d.drained).toFixed(2),
      startupMs: +(d.start * 1000).toFixed(1),
      nice: o.nice,
    };
  } catch (e) {
    fail(`  ! scaling drain ${c.name}: ${(e as Error).message}`);
    return null;
  } finally {
    await w.stop("SIGKILL", 5000);
  }
}

async function scalingSection(p: Plan, R: Results): Promise<void> {
  const sp = p.scaling;
  const cs = scalingContenders().filter((c) => sp.contenders.includes(c.name));
  const refs = registry().filter((c) => sp.ref.includes(c.name));
  if (!cs.length) return;
  await setupNet(false, sp.contenders);
  SCALING_RING_MB = sp.ringMb;
  // the first ring of this size after an idle spell takes ~0.5-1.5 s more to
  // allocate here (the VM's memory is backed again on first use): one ring
  // opened and closed first, so that no start-up time includes it
  const cread = registry().find((c) => c.name === "cread");
  if (cread) {
    try {
      await finish(cread, await startCapture(cread, cread.argv({ ringMb: sp.ringMb }), false));
    } catch (e) {
      fail(`  ! scaling: priming ring: ${(e as Error).message}`);
    }
  }
  // a tool's 1- and 2-worker runs next to each other (their ratio is taken per
  // repetition), which goes first alternating; the pairs' order rotates
  const pairs: Contender[][] = [];
  for (const c of cs) {
    const pair = pairs.find((x) => x[0].tool === c.tool && x[0].runtime === c.runtime);
    if (pair) pair.push(c);
    else pairs.push([c]);
  }
  for (let rep = 0; rep < sp.reps; rep++) {
    for (const c of rotate(pairs, rep).flatMap((x) => rep % 2 ? [...x].reverse() : x)) {
      if (interrupted) return;
      const r = await scalingDrainOne(c, {
        ringMb: sp.ringMb,
        frames: sp.frames,
        warm: sp.warm,
        rep,
        size: 64,
        nice: sp.nice,
      });
      if (r && !interrupted) {
        R.scaling.drain.push(r);
        log(
          `  scaling drain ${c.name.padEnd(16)} reading ${r.readMpps.toFixed(2)} Mpps (${
            (r.readS * 1000).toFixed(1)
          } ms; rings ${
            r.ringReadS.map((x) => (x * 1000).toFixed(1)).join(", ")
          } ms; ${r.cpus} CPUs), start-up ${r.startupMs.toFixed(0)} ms${
            r.perWorker ? `, split ${r.perWorker.join("/")}` : ""
          }`,
        );
      }
    }
  }
  const live = [...refs, ...cs];
  for (const setup of sp.live.setups) {
    if (interrupted) return;
    await setupNet(setup === "rps", sp.contenders);
    for (const size of sp.live.sizes) {
      for (let rep = 0; rep < sp.live.reps; rep++) {
        for (const c of rotate(live, rep)) {
          if (interrupted) return;
          const r = await liveOne(c, { setup, size, frames: sp.live.frames, rate: 0, rep });
          if (r && !interrupted) {
            R.scaling.live.push(r);
            log(
              `  scaling live ${setup} ${size} B ${c.name.padEnd(16)} ${r.pct.toFixed(2)} % of ${r.sent} at ${
                r.offeredMpps.toFixed(2)
              } Mpps, cpu ${r.cpuPct.toFixed(0)} %`,
            );
          }
        }
      }
    }
  }
}

/** Total ring memory of the scaling runs (for the table's title). */
let SCALING_RING_MB = 512;
/** 10 Gigabit Ethernet at 64 B frames (+ 20 B preamble and gap): the line rate the probe is compared with. */
const LINE_RATE_MPPS = 14.88;

/** The 2-worker / 1-worker pairs of the scaling rows, by tool and runtime. */
function scalingPairs(R: Results): Array<{ tool: string; runtime: string; one?: string; two?: string }> {
  const names = new Set([...R.scaling.drain, ...R.scaling.live].map((r) => r.contender));
  const out: Array<{ tool: string; runtime: string; one?: string; two?: string }> = [];
  for (const c of scalingContenders()) {
    if (!names.has(c.name)) continue;
    let e = out.find((x) => x.tool === c.tool && x.runtime === c.runtime);
    if (!e) out.push(e = { tool: c.tool!, runtime: c.runtime! });
    if ((c.workers ?? 1) > 1) e.two = c.name;
    else e.one = c.name;
  }
  return out;
}

/** Median of per-repetition ratios b/a (same rep = neighbours in time). */
function repRatio(a: ScalingDrainRow[], b: ScalingDrainRow[]): number {
  return median(b.map((y) => y.readMpps / (a.find((x) => x.rep === y.rep)?.readMpps ?? NaN)));
}

function summarizeScaling(R: Results): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const pct = (setup: string, name?: string) => {
    const xs = R.scaling.live.filter((r) => r.setup === setup && r.contender === name && r.size === 64);
    return xs.length ? +median(xs.map((r) => r.pct)).toFixed(2) : NaN;
  };
  const setups = [...new Set(R.scaling.live.map((r) => r.setup))];
  const cread = Object.fromEntries(setups.map((s) => [s, pct(s, "cread")]));
  for (const e of scalingPairs(R)) {
    const one = R.scaling.drain.filter((r) => r.contender === e.one);
    const two = R.scaling.drain.filter((r) => r.contender === e.two);
    const ratio = repRatio(one, two);
    const live = Object.fromEntries(setups.map((s) => {
      const [p1, p2] = [pct(s, e.one), pct(s, e.two)];
      return [s, {
        w1: p1,
        w2: p2,
        // 2 workers lose no more than 1, and capture 100 % where the C reader does
        noWorse: p2 >= p1,
        fullWhereCread: cread[s] === 100 ? p2 === 100 : null,
      }];
    }));
    out[`${e.tool}-${e.runtime}`] = {
      drain1wMpps: summary(one.map((r) => r.readMpps), 2),
      drain2wMpps: summary(two.map((r) => r.readMpps), 2),
      ratio2wTo1w: +ratio.toFixed(3),
      ...(e.tool !== "pcount" ? { ratioTarget: 1.7, ratioMet: ratio >= 1.7 } : {}),
      cpus1w: summary(one.map((r) => r.cpus), 2),
      cpus2w: summary(two.map((r) => r.cpus), 2),
      // Mpps per CPU kept busy: 2 workers' overhead, apart from how many CPUs they got
      mppsPerCpu1w: summary(one.map((r) => r.readMpps / r.cpus), 2),
      mppsPerCpu2w: summary(two.map((r) => r.readMpps / r.cpus), 2),
      startup1wMs: summary(one.map((r) => r.startupMs), 1),
      startup2wMs: summary(two.map((r) => r.startupMs), 1),
      live,
      ...(e.tool === "nprobe"
        ? {
          lineRate: {
            mpps: LINE_RATE_MPPS,
            pct2w: +((100 * median(two.map((r) => r.readMpps))) / LINE_RATE_MPPS).toFixed(1),
          },
        }
        : {}),
    };
  }
  out.creadLivePct = cread;
  return out;
}

function scalingTable(R: Results): string[] {
  const L: string[] = [];
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
  const frames = R.scaling.drain[0]?.frames ?? 0;
  const reps = Math.max(0, ...R.scaling.drain.map((r) => r.rep + 1));
  const liveReps = Math.max(0, ...R.scaling.live.map((r) => r.rep + 1));
  const setups = [...new Set(R.scaling.live.map((r) => r.setup))];
  L.push(
    "",
    `Scaling: 1 vs 2 workers (--workers 2 --fanout hash; ring memory the same in total: 1 x ${SCALING_RING_MB} MiB = 2 x ${
      SCALING_RING_MB / 2
    } MiB), 64 B, ${FLOWS.toLocaleString("en-US")} flows`,
    `  drain: reading only, warm rings, ${
      frames.toLocaleString("en-US")
    } frames: SIGCONT (start barrier passed, warm-up read) until every ring's last block went back;`,
    `         Mpps median [min-max] of ${reps} reps; 2w/1w = median of per-rep ratios${
      R.scaling.drain[0]?.nice
        ? `; readers in their own session, autogroup nice ${R.scaling.drain[0].nice}`
        : ""
    }`,
    "  CPUs: the reader's CPU time while draining / reading time (1 worker ~1; 2 workers up to 2 on this machine), median",
    "  start-up: fork to the start barrier (every ring mapped and started), ms, median",
    `  live: % captured at trafgen's max rate, 64 B, median of ${liveReps} reps; plain: capturer unpinned; rps: capturer (every thread) on CPU1`,
  );
  const liveHead = setups.map((s) => pad(`live ${s} 1w / 2w`, 21)).join("");
  L.push(
    `  ${pad("", 13)}${pad("drain 1w Mpps", 20)}${pad("drain 2w Mpps", 20)}${pad("2w/1w", 8)}${
      pad("CPUs 1w/2w", 12)
    }${pad("start-up 1w / 2w", 18)}${liveHead}`,
  );
  const pct = (setup: string, name?: string) => {
    const xs = R.scaling.live.filter((r) => r.setup === setup && r.contender === name);
    return xs.length ? median(xs.map((r) => r.pct)) : NaN;
  };
  const probe: string[] = [];
  for (const e of scalingPairs(R)) {
    const one = R.scaling.drain.filter((r) => r.contender === e.one);
    const two = R.scaling.drain.filter((r) => r.contender === e.two);
    const cell = (rows: ScalingDrainRow[]) => {
      const m = summary(rows.map((r) => r.readMpps), 2);
      return rows.length ? `${num(m.median, 2)} [${num(m.min, 1)}-${num(m.max, 1)}]` : "-";
    };
    const su = (rows: ScalingDrainRow[]) => num(median(rows.map((r) => r.startupMs)), 0);
    const cpu = (rows: ScalingDrainRow[]) => num(median(rows.map((r) => r.cpus)), 2);
    const lives = setups.map((s) => pad(`${num(pct(s, e.one), 2)} / ${num(pct(s, e.two), 2)} %`, 21)).join(
      "",
    );
    L.push(
      `  ${pad(`${e.tool} ${e.runtime}`, 13)}${pad(cell(one), 20)}${pad(cell(two), 20)}${
        pad(`x${num(repRatio(one, two), 2)}`, 8)
      }${pad(`${cpu(one)}/${cpu(two)}`, 12)}${pad(`${su(one)} / ${su(two)} ms`, 18)}${lives}`,
    );
    if (e.tool === "nprobe" && two.length) {
      const m = median(two.map((r) => r.readMpps));
      probe.push(`${e.runtime} ${num(m, 2)} Mpps = ${num((100 * m) / LINE_RATE_MPPS, 0)} %`);
    }
  }
  if (setups.some((s) => Number.isFinite(pct(s, "cread")))) {
    L.push(
      `  ${pad("cread (C)", 13)}${pad("", 78)}${
        setups.map((s) => pad(`${num(pct(s, "cread"), 2)} %`, 21)).join("")
      }`,
    );
  }
  if (probe.length) {
    L.push(
      `  the probe, 2 workers: ${probe.join(", ")} of ${LINE_RATE_MPPS} Mpps (10 GbE line rate at 64 B)`,
    );
  }
  const S = (R.summary?.scaling ?? {}) as Record<string, {
    ratio2wTo1w?: number;
    ratioMet?: boolean;
    live?: Record<string, { noWorse: boolean; fullWhereCread: boolean | null }>;
  }>;
  const checks: string[] = [];
  for (const [k, v] of Object.entries(S)) {
    if (typeof v !== "object" || !v || !("live" in v)) continue;
    if (v.ratioMet !== undefined) {
      checks.push(`${k} x${num(v.ratio2wTo1w ?? NaN, 2)} ${v.ratioMet ? "ok" : "MISS"}`);
    }
    for (const [setup, l] of Object.entries(v.live ?? {})) {
      if (!l.noWorse) checks.push(`${k} ${setup}: 2w loses more than 1w`);
      if (l.fullWhereCread === false) checks.push(`${k} ${setup}: 2w < 100 % where cread has 100 %`);
    }
  }
  if (checks.length) {
    L.push(
      `  targets (topn, probe 2w >= 1.7x 1w; live 2w loses no more than 1w, 100 % where cread has): ${
        checks.join("; ")
      }`,
    );
  }
  return L;
}

// ---------------------------------------------------------------- report

export interface Results {
  date: string;
  machine: { cpus: number; model: string; kernel: string; bun: string; deno: string };
  mode: string;
  command: string;
  drain: DrainRow[];
  live: LiveRow[];
  cpu: LiveRow[];
  latency: LatencyRow[];
  rate: LiveRow[];
  /** 1 vs 2 workers: drain (reading rate, start-up) and live rows (cread as the reference). */
  scaling: { drain: ScalingDrainRow[]; live: LiveRow[] };
  /** The module vs AF_PACKET in the VM (section vm). */
  vm?: VmResult;
  summary?: Record<string, unknown>;
  /** Set when SIGINT/SIGTERM cut the run short: the rows are what was measured until then. */
  interrupted?: boolean;
}

function versions(): { bun: string; deno: string } {
  const b = spawnSync(BUN, ["--version"], { encoding: "utf8" }).stdout.trim();
  const d =
    spawnSync(DENO, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0].replace("deno ", "").split(
      " ",
    )[0];
  return { bun: b, deno: d };
}

function summarize(R: Results): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  const groups = <T>(rows: T[], key: (r: T) => string) => {
    const m = new Map<string, T[]>();
    for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
    return m;
  };
  const drain: Record<string, unknown> = {};
  const fk = (r: DrainRow) => ((r.flows ?? FLOWS) === FLOWS ? "" : `${r.flows}f|`);
  for (const [k, rows] of groups(R.drain, (r) => `${r.size}|${fk(r)}${r.contender}`)) {
    drain[k] = {
      mpps: summary(rows.map((r) => r.mpps)),
      readMpps: summary(rows.map((r) => r.readMpps)),
      exitMs: summary(rows.map((r) => r.exitS * 1000), 1),
      readMs: summary(rows.map((r) => r.readS * 1000), 1),
    };
  }
  // ratios to cread, per repetition (same rep = neighbours in time), then median
  const ratios: Record<string, unknown> = {};
  const vsPcount: Record<string, unknown> = {};
  for (const first of R.drain.filter((r, i) => R.drain.findIndex((x) => sameCase(x, r)) === i)) {
    const size = first.size, same = R.drain.filter((r) => sameCase(r, first));
    const base = same.filter((r) => r.contender === "cread");
    for (const name of new Set(same.map((r) => r.contender))) {
      if (name === "cread") continue;
      const xs = same.filter((r) => r.contender === name).map((r) => {
        const b = base.find((x) => x.rep === r.rep);
        return b ? r.mpps / b.mpps : NaN;
      });
      const ys = same.filter((r) => r.contender === name).map((r) => {
        const b = base.find((x) => x.rep === r.rep);
        return b ? r.readMpps / b.readMpps : NaN;
      });
      ratios[`${size}|${fk(first)}${name}`] = { exit: summary(xs), read: summary(ys) };
    }
    // the analysis tools against pcount under the same runtime (reading only, per repetition)
    for (const name of new Set(same.map((r) => r.contender))) {
      const rt = /^(topn|nprobe)-(bun|deno)$/.exec(name);
      if (!rt) continue;
      const pc = same.filter((r) => r.contender === `pcount-${rt[2]}`);
      const zs = same.filter((r) => r.contender === name).map((r) => {
        const b = pc.find((x) => x.rep === r.rep);
        return b ? r.readMpps / b.readMpps : NaN;
      });
      if (pc.length) vsPcount[`${size}|${fk(first)}${name}`] = summary(zs);
    }
  }
  s.drainVsPcount = vsPcount;
  s.drain = drain;
  s.drainVsCread = ratios;
  const live: Record<string, unknown> = {};
  for (const [k, rows] of groups(R.live, (r) => `${r.setup}|${r.size}|${r.contender}`)) {
    live[k] = {
      pct: summary(rows.map((r) => r.pct), 2),
      offeredMpps: summary(rows.map((r) => r.offeredMpps)),
      cpuPct: summary(rows.map((r) => r.cpuPct), 1),
    };
  }
  s.live = live;
  const cpu: Record<string, unknown> = {};
  for (const [k, rows] of groups(R.cpu, (r) => `${r.wait}|${r.contender}`)) {
    const [wait, name] = k.split("|");
    cpu[k] = {
      cpuPct: summary(rows.map((r) => r.cpuPct), 1),
      pct: summary(rows.map((r) => r.pct), 2),
      ...(name === "cread" ? {} : { xCread: summary(cpuRatios(R.cpu, wait, name), 2) }),
    };
  }
  s.cpu = cpu;
  const rate: Record<string, unknown> = {};
  for (const [k, rows] of groups(R.rate, (r) => `${r.rate}|${r.contender}`)) {
    rate[k] = {
      pct: summary(rows.map((r) => r.pct), 2),
      offeredMpps: summary(rows.map((r) => r.offeredMpps)),
    };
  }
  s.rate = rate;
  if (R.scaling.drain.length || R.scaling.live.length) s.scaling = summarizeScaling(R);
  return s;
}

function table(R: Results): string {
  const L: string[] = [];
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
  L.push(
    `ringcap benchmarks — ${R.date}, ${R.machine.cpus} cores (${R.machine.model}), kernel ${R.machine.kernel}, bun ${R.machine.bun}, deno ${R.machine.deno}`,
  );
  L.push(`command: ${R.command}`);
  const names = [...new Set([...R.drain, ...R.live].map((r) => r.contender))];
  if (R.drain.length) {
    L.push(
      "",
      `Drain rate from a full ${DRAIN_RING_MB} MiB ring, warm: Mpps median [min-max], x = median of per-rep ratios to cread`,
    );
    L.push(
      `  ${pad("", 24)}${
        pad("to exit (close incl.)", 30)
      }reading only (last block released, or pcount's JSON line)`,
    );
    for (const first of R.drain.filter((r, i) => R.drain.findIndex((x) => sameCase(x, r)) === i)) {
      const size = first.size, same = R.drain.filter((r) => sameCase(r, first));
      if (first.flows !== FLOWS) L.push(`  ${first.flows} flows:`);
      for (const n of names) {
        const rows = same.filter((r) => r.contender === n);
        if (!rows.length) continue;
        const m = summary(rows.map((r) => r.mpps), 2);
        const base = same.filter((r) => r.contender === "cread");
        const ratio = median(rows.map((r) => r.mpps / (base.find((b) => b.rep === r.rep)?.mpps ?? NaN)));
        const rm = summary(rows.map((r) => r.readMpps), 2);
        const rratio = median(
          rows.map((r) => r.readMpps / (base.find((b) => b.rep === r.rep)?.readMpps ?? NaN)),
        );
        L.push(
          `  ${pad(`${size} B`, 7)}${pad(n, 17)}${
            pad(`${num(m.median, 2)} [${num(m.min, 2)}-${num(m.max, 2)}]`, 22)
          }${pad(`x${num(ratio, 2)}`, 8)}` +
            `${pad(`${num(rm.median, 1)} [${num(rm.min, 1)}-${num(rm.max, 1)}]`, 20)}x${
              num(rratio, 2)
            }  n=${m.n}${pcountRatio(same, n)}`,
        );
      }
    }
  }
  if (R.live.length) {
    L.push("", "% captured at trafgen's max rate (median of reps; offered Mpps; reader CPU %)");
    const sizes = [...new Set(R.live.map((r) => r.size))];
    for (const setup of ["plain", "rps"]) {
      const rows = R.live.filter((r) => r.setup === setup);
      if (!rows.length) continue;
      L.push(
        `  ${
          setup === "rps"
            ? "RPS (rx work + capturer on CPU1, trafgen on CPU0)"
            : "plain (one veth queue, no RPS)"
        }`,
      );
      L.push(`    ${pad("", 17)}${sizes.map((s) => pad(`${s} B`, 26)).join("")}`);
      for (const n of names) {
        const cells = sizes.map((size) => {
          const xs = rows.filter((r) => r.size === size && r.contender === n);
          if (!xs.length) return pad("-", 26);
          return pad(
            `${num(median(xs.map((r) => r.pct)), 2)} % @${num(median(xs.map((r) => r.offeredMpps)), 2)} cpu ${
              num(median(xs.map((r) => r.cpuPct)), 0)
            }%`,
            26,
          );
        });
        if (rows.some((r) => r.contender === n)) L.push(`    ${pad(n, 17)}${cells.join("")}`);
      }
    }
  }
  if (R.cpu.length) {
    const rate = Math.round(median(R.cpu.map((r) => r.offeredMpps)) * 1000);
    L.push(
      "",
      `Reader CPU % per wait mode at ~${rate} kpps, 64 B, median of ${
        Math.max(...R.cpu.map((r) => r.rep + 1))
      } reps; x = median of per-rep ratios to cread (% captured)`,
    );
    for (const wait of ["poll", "adaptive", "busy"]) {
      const cells = [...new Set(R.cpu.map((r) => r.contender))].map((n) => {
        const xs = R.cpu.filter((r) => r.wait === wait && r.contender === n);
        const x = n === "cread" ? "" : ` ${num(median(cpuRatios(R.cpu, wait, n)), 2)}x`;
        return pad(
          `${n} ${num(median(xs.map((r) => r.cpuPct)))} %${x} (${num(median(xs.map((r) => r.pct)), 1)})`,
          40,
        );
      });
      L.push(`  ${pad(wait, 10)}${cells.join("")}`);
    }
  }
  if (R.latency.length) {
    L.push("", "Lone-packet latency, kernel receive to user delivery (us, median / p99)");
    for (const wait of ["poll", "adaptive", "busy"]) {
      for (const delivery of ["block", "immediate"]) {
        const cells = R.latency.filter((r) => r.wait === wait && (r.delivery ?? "block") === delivery).map((
          r,
        ) => pad(`${r.reader} ${num(r.medianUs, 0)} / ${num(r.p99Us, 0)}`, 32));
        if (cells.length) L.push(`  ${pad(wait, 10)}${pad(delivery, 11)}${cells.join("")}`);
      }
    }
  }
  if (R.rate.length) {
    L.push("", "% captured vs offered rate, 64 B, plain (Figure 1)");
    const rates = [...new Set(R.rate.map((r) => r.rate))];
    L.push(`    ${pad("", 13)}${rates.map((r) => pad(r ? `${r / 1000}k` : "max", 14)).join("")}`);
    for (const n of new Set(R.rate.map((r) => r.contender))) {
      L.push(`    ${pad(n, 13)}${
        rates.map((rate) => {
          const x = R.rate.find((r) => r.rate === rate && r.contender === n);
          return pad(x ? `${num(x.pct, 1)}%@${num(x.offeredMpps * 1000, 0)}k` : "-", 14);
        }).join("")
      }`);
    }
  }
  if (R.scaling.drain.length || R.scaling.live.length) L.push(...scalingTable(R));
  if (R.vm) L.push(...vmTable(R.vm));
  return L.join("\n");
}

// ---------------------------------------------------------------- main

let OUT = join(ROOT, "build", "bench");

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(
      "usage: npm run bench -- [--quick|--smoke] [--only drain,live,cpu,latency,rate,scaling,vm] [--reps N] [--nice N]\n" +
        "                        [--contenders a,b] [--sizes 64,1500] [--setups plain,rps] [--out DIR]",
    );
    return 0;
  }
  const why = checkTools();
  if (why) {
    console.error(`bench: ${why}`);
    return 2;
  }
  const { p, out } = plan(argv);
  OUT = out;
  mkdirSync(OUT, { recursive: true });
  // last resort if the runtime exits some other way: synchronous, no waiting
  process.on("exit", () => {
    killAll();
    net.teardown();
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (interrupted) { // a second signal: no more waiting
        killAll();
        net.teardown();
        process.exit(130);
      }
      interrupted = true;
      log(`bench: interrupted (${sig}): stopping; the results so far follow`);
      killAll(); // the measurement in progress ends now; the sections stop before the next
    });
  }
  buildTools();
  removeStale();
  const R: Results = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? "?",
      kernel: spawnSync("uname", ["-r"], { encoding: "utf8" }).stdout.trim(),
      ...versions(),
    },
    mode: p.mode,
    command: `npm run bench -- ${argv.join(" ")}`.trim(),
    drain: [],
    live: [],
    cpu: [],
    latency: [],
    rate: [],
    scaling: { drain: [], live: [] },
  };
  const t0 = Date.now();
  log(`bench: ${p.mode}: ${p.sections.join(", ")}; contenders ${p.contenders.join(", ")}`);
  try {
    for (const s of p.sections) {
      if (interrupted) break;
      log(`== ${s}`);
      if (s === "drain") await drain(p, R);
      if (s === "live") await live(p, R);
      if (s === "cpu") await cpuModes(p, R);
      if (s === "latency") await latency(p, R);
      if (s === "rate") await rateSweep(p, R);
      if (s === "scaling") await scalingSection(p, R);
      if (s === "vm") { // one VM boot: 100,000 frames (30,000 in quick/smoke), --reps N (default 5)
        const r = argv.indexOf("--reps");
        R.vm = vmSection(p.mode === "full" ? 100_000 : 30_000, r >= 0 ? Number(argv[r + 1]) : 5, [
          "bun",
          "deno",
        ]);
      }
    }
  } finally {
    await shutdown();
  }
  if (interrupted) R.interrupted = true;
  R.summary = summarize(R);
  const file = join(OUT, "results.json");
  writeFileSync(file, JSON.stringify(R, null, 1) + "\n");
  const svgs = writePlots(R, OUT);
  console.log(table(R));
  console.log(
    `\nresults: ${file}${svgs.length ? `; plots: ${svgs.join(", ")}` : ""} (${
      ((Date.now() - t0) / 1000).toFixed(0)
    } s${interrupted ? ", interrupted: partial" : ""})`,
  );
  return 0;
}

let code: number;
try {
  code = await main();
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  code = 1;
}
await shutdown(); // already done after the sections; also after an early error
process.exit(code); // nothing may keep the run alive past its end
