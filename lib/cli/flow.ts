/**
 * The flow probe's command line, shared by examples/nprobe.ts and `ringcap
 * flow`: nProbe's letters on top of the DESIGN.md capture flags, validated
 * into `ProbeOptions` (bad values are a one-line `UsageError`, exit 2).
 *
 *   -n HOST:PORT (repeatable)  --collector-mode copy|round-robin  -V 5|9|10  -t ACTIVE_S  -d IDLE_S  -e DELAY_MS  --max-flows N  -r FILE
 *
 * @module
 */
import {
  captureCli,
  type CaptureFlags,
  num,
  numeric,
  parseCapture,
  ringOptions,
  sourceOptions,
  StatusLine,
  UsageError,
  workerOptions,
  writeOut,
  xdpBanner,
} from "./common.ts";
import type { CaptureStats } from "../packet.ts";
import type { Delivery } from "../source/live/ring_base.ts";
import type { XdpInfo } from "../source/live/xdp_queues.ts";
import { openSource } from "../source/open.ts";
import {
  type ProbeResult,
  type ProbeStats,
  runProbe,
  statusLine as probeStatus,
} from "../analysis/flow/probe.ts";
import { runProbeWorkers } from "../cluster/probe.ts";
import { sumStats, workerCounters, type WorkerState } from "../cluster/cluster.ts";
import type { ProbeCounters } from "../ops/metrics.ts";
import { startMetrics, watchSource } from "./metrics.ts";
import { parseCollector } from "../sink/netflow/exporter.ts";
import type { NetflowVersion } from "../sink/netflow/encoder.ts";
import type { ProbeOptions } from "../analysis/flow/probe.ts";

/** cac option names the probe adds (camelCase and short letters). */
export const PROBE_OPTION_NAMES: string[] = [
  "n",
  "collector",
  "collectorMode",
  "V",
  "netflowVersion",
  "t",
  "activeTimeout",
  "d",
  "idleTimeout",
  "e",
  "flowDelay",
  "maxFlows",
  "r",
  "read",
];

/**
 * Add the probe's options to a cac instance made by `captureCli`.
 *
 * @example
 * ```ts
 * import { captureCli } from "./common.ts";
 * import { addProbeOptions } from "./flow.ts";
 * const cli = addProbeOptions(captureCli("nprobe", "NetFlow/IPFIX probe"));
 * ```
 */
// deno-lint-ignore no-explicit-any
export function addProbeOptions(cli: any): any {
  return workerOptions(cli)
    .option(
      "-n, --collector <host:port>",
      "Collector to export to (repeatable), e.g. 127.0.0.1:2055 or [::1]:4739",
    )
    .option(
      "--collector-mode <mode>",
      "With several -n: copy = every datagram to every collector (default); round-robin = datagrams shared out in turn, sequence numbers and templates per collector",
    )
    .option("-V, --netflow-version <v>", "5, 9 or 10 (IPFIX); default 9")
    .option("-t, --active-timeout <s>", "Export a flow that has lasted this long (default 60)")
    .option("-d, --idle-timeout <s>", "Export a flow idle this long (default 15)")
    .option(
      "-e, --flow-delay <ms>",
      "Least time between two export datagrams to a collector, ms; 0 = no pacing (default 0.1)",
    )
    .option("--max-flows <n>", "Most flows kept; the least recently seen is evicted beyond (default 262144)")
    .option("-r, --read <file>", "Read a pcap/pcapng file instead of capturing (flows exported at its end)");
}

function positive(name: string, v: unknown, integer: boolean, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = numeric(v);
  if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `${name} must be ${integer ? "an integer" : "a number"} above 0 and at most ${max}, got '${v}'`,
    );
  }
  return n;
}

/**
 * Validate the probe's flags into `ProbeOptions` (collectors checked, version 5/9/10, timeouts > 0).
 *
 * @example
 * ```ts
 * import { captureCli } from "./common.ts";
 * import { addProbeOptions, parseProbe } from "./flow.ts";
 * const p = parseProbe(addProbeOptions(captureCli("nprobe", "probe")), ["-r", "x.pcap", "-n", "127.0.0.1:2055", "-V", "10"]);
 * p?.options.version; // 10
 * ```
 */
export function parseProbe(
  // deno-lint-ignore no-explicit-any
  cli: any,
  argv: string[],
): { flags: CaptureFlags; options: ProbeOptions } | null {
  const f = parseCapture(cli, argv, PROBE_OPTION_NAMES);
  if (!f) return null;
  const o = f.raw;
  const raw = o.collector ?? o.n;
  const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
  if (list.length === 0) throw new UsageError("no collector: give -n HOST:PORT (e.g. -n 127.0.0.1:2055)");
  for (const c of list) {
    try {
      parseCollector(c);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const vRaw = o.netflowVersion ?? o.V ?? 9;
  const version = Number(vRaw);
  if (version !== 5 && version !== 9 && version !== 10) {
    throw new UsageError(`-V must be 5, 9 or 10 (IPFIX), got '${vRaw}'`);
  }
  if (f.sampling > 1 && version === 5 && f.sampling > 0x3fff) {
    throw new UsageError(`--sampling ${f.sampling} does not fit NetFlow v5's 14-bit field: use -V 9 or 10`);
  }
  if (f.fanout !== "hash") {
    throw new UsageError(
      `the probe needs --fanout hash (both directions of a flow in one worker); '${f.fanout}' splits flows between workers`,
    );
  }
  const mode = o.collectorMode ?? "copy";
  if (mode !== "copy" && mode !== "round-robin") {
    throw new UsageError(`--collector-mode must be copy or round-robin, got '${mode}'`);
  }
  const flowDelay = o.flowDelay ?? o.e;
  return {
    flags: f,
    options: {
      collectors: list,
      collectorMode: mode,
      version: version as NetflowVersion,
      activeTimeout: positive("-t (active timeout)", o.activeTimeout ?? o.t, false, 86400 * 365),
      idleTimeout: positive("-d (idle timeout)", o.idleTimeout ?? o.d, false, 86400 * 365),
      maxFlows: positive("--max-flows", o.maxFlows, true, 1 << 26),
      flowDelay: flowDelay === undefined ? undefined : num("-e (flow delay, ms)", flowDelay, 0, 1000, false),
      count: f.count,
      duration: f.duration,
      live: f.read === undefined,
    },
  };
}

/** The probe's figures for --metrics, from its latest status (zeros before the first). */
function probeCounters(st: ProbeStats | undefined): ProbeCounters {
  return {
    active: st?.flows ?? 0,
    created: st?.created ?? 0,
    evicted: st?.evicted ?? 0,
    collectors: st?.collectors ?? [],
  };
}

/** Re-exported for front ends that build the cac instance here. */
export { captureCli };

/**
 * The probe's front end, shared by examples/nprobe.ts (`style: "nprobe"`: a
 * status line per second and the totals on stderr) and `ringcap flow`
 * (`"ringcap"`: the status line only on a terminal, the totals on stdout).
 * One thread, or with `--workers N` one metering thread per ring and one
 * exporter. Returns the exit code; a failure after the start is thrown after
 * every flow was exported and the totals printed.
 */
export async function runFlowTool(
  flags: CaptureFlags,
  options: ProbeOptions,
  started: () => void,
  style: "nprobe" | "ringcap",
): Promise<number> {
  const metrics = await startMetrics(flags); // --metrics listens before the capture: a busy port exits 2
  let latest: ProbeStats | undefined;
  metrics.probe = () => probeCounters(latest);
  const status = new StatusLine(style === "nprobe" ? false : undefined);
  let name = flags.iface;
  const show = (st: ProbeStats) => {
    latest = st;
    if (style === "nprobe") console.error(`${name}: ${probeStatus(st)}`);
    else status.show(`${name}: ${probeStatus(st)}`);
  };
  let res: ProbeResult, counters: CaptureStats, workers: object = {}, delivery: Delivery | undefined;
  let xdp: XdpInfo | undefined;
  if (flags.workers > 1) {
    let ws: readonly WorkerState[] = [];
    metrics.capture = () => ws.map((w) => w.stats);
    try {
      const r = await runProbeWorkers(flags.iface, ringOptions(flags), {
        ...options,
        workers: flags.workers,
        fanout: flags.fanout,
        sampling: { interval: flags.sampling, algorithm: "random" }, // AF_PACKET's BPF samples at random
        onStatus: show,
        onStart: (x) => {
          started();
          xdpBanner(flags.iface, x);
        },
        onWorkers: (w) => (ws = w),
        returnErrors: true,
      });
      res = latest = r;
      ws = r.workers;
      counters = sumStats(r.workers);
      workers = { workers: workerCounters(r.workers) };
      delivery = r.delivery;
      xdp = r.xdp;
    } finally {
      status.clear();
    }
  } else {
    using s = await openSource(sourceOptions(flags, true));
    name = s.name;
    watchSource(metrics, s);
    // the kernel module samples deterministically, AF_PACKET's BPF at random, the file reader 1-in-N in order
    const algorithm = s.ring?.backend === "packet" ? "random" : "deterministic";
    started();
    xdpBanner(s.name, xdp = s.xdp);
    try {
      res = await runProbe(s.src, {
        ...options,
        sampling: { interval: flags.sampling, algorithm },
        onStatus: show,
        returnErrors: true,
      });
      latest = res;
    } finally {
      status.clear();
    }
    counters = s.src.stats();
    delivery = s.ring?.delivery;
  }
  const line = `${name}: ${probeStatus(res)}  (${res.reason}, ${res.seconds.toFixed(1)} s)`;
  if (res.error !== undefined) {
    metrics.failed = true;
    console.error(line);
    throw res.error; // the source failed: every flow was exported; the totals first, then the error
  }
  if (flags.json || style === "nprobe") console.error(line);
  else writeOut(line + "\n");
  if (flags.json) {
    const o = {
      ...counters,
      seconds: +res.seconds.toFixed(6),
      flows: res.exported,
      evicted: res.evicted,
      delivery,
      xdp,
      collectors: res.collectors ?? [],
      ...metrics.drops(counters),
    };
    writeOut(JSON.stringify({ ...o, ...workers }) + "\n");
  }
  return 0;
}
