/**
 * `runProbeWorkers`: the flow probe over N threads. Each Worker meters its
 * share of the traffic into its own flow table (`--max-flows` is the total,
 * shared out); the fanout group's symmetric hash keeps both directions of a
 * flow in one worker, so the tables are partitions and no flow is split —
 * except a 5-tuple whose datagrams are partly fragmented: the kernel hashes
 * every IPv4 fragment (the first included) without ports, so such a flow may
 * be metered in two workers and exported as two records whose sum is exact.
 * Expired flows travel to the main thread as packed binary batches inside
 * the snapshots, where ONE exporter encodes them: each collector sees one
 * sequence space and one set of templates.
 *
 * @example
 * ```ts
 * import { runProbeWorkers } from "./probe.ts";
 * const res = await runProbeWorkers("eth0", { snaplen: 128 }, {
 *   collectors: ["127.0.0.1:2055"], version: 10, workers: 2, fanout: "hash", duration: 10,
 * });
 * console.log(res.exported, "flows from", res.workers.length, "workers");
 * ```
 * @module
 */
import type { FlowSnapshot, MeterOptions } from "../analysis/flow/meter.ts";
import type { ProbeOptions, ProbeResult, ProbeStats } from "../analysis/flow/probe.ts";
import { FlowExport } from "../sink/netflow/flow_export.ts";
import type { Delivery, RingOptions } from "../source/live/ring_base.ts";
import type { XdpInfo } from "../source/live/xdp_queues.ts";
import { type ClusterOptions, runCapture, sumStats, type WorkerState } from "./cluster.ts";

const METERING = {
  module: new URL("../analysis/flow/meter.ts", import.meta.url).href,
  export: "flowMetering",
};

/** Probe and cluster options. */
export type ProbeWorkersOptions =
  & ProbeOptions
  & Pick<ClusterOptions<FlowSnapshot>, "workers" | "fanout" | "defrag">
  & {
    onStart?: (xdp?: XdpInfo) => void;
    /** Each worker's ring counters, at every snapshot (e.g. for --metrics). */
    onWorkers?: (workers: readonly WorkerState[]) => void;
  };

/**
 * Run the probe on `iface` (each worker's ring opened with `ring`) with
 * `o.workers` metering threads and one exporter; see the module doc.
 */
export async function runProbeWorkers(
  iface: string,
  ring: Omit<RingOptions, "fanout" | "paused">,
  o: ProbeWorkersOptions,
): Promise<ProbeResult & { workers: WorkerState[]; delivery?: Delivery; xdp?: XdpInfo }> {
  const x = await FlowExport.open({ ...o, live: true });
  const meter: MeterOptions = {
    live: true,
    maxFlows: Math.max(1, Math.ceil((o.maxFlows ?? 262144) / o.workers)),
    activeTimeout: o.activeTimeout,
    idleTimeout: o.idleTimeout,
    tcpEndTimeout: o.tcpEndTimeout,
  };
  const acc = { packets: 0, metered: 0, ignored: 0, bytes: 0, flows: 0, created: 0, exported: 0, evicted: 0 };
  let dropped = 0;
  const stats = (seconds: number): ProbeStats => {
    const e = x.encoder.stats, s = x.exporter.stats;
    return {
      ...acc,
      datagrams: e.datagrams,
      skipped: e.skipped,
      sendErrors: s.errors + s.dropped,
      dropped,
      seconds,
      collectors: x.collectorStats(),
    };
  };
  let end;
  try {
    end = await runCapture(iface, { ...METERING, options: meter }, {
      ...ring,
      workers: o.workers,
      fanout: o.fanout,
      defrag: o.defrag,
      count: o.count,
      duration: o.duration,
      onStart: o.onStart,
      tickMs: 1000,
      onSnapshot: (s: FlowSnapshot, sec, ws, final) => {
        x.addPacked(s.records);
        for (const k of Object.keys(acc) as (keyof typeof acc)[]) acc[k] += s[k];
        dropped = sumStats(ws).dropped;
        o.onWorkers?.(ws);
        if (final) return;
        x.tick(Date.now());
        o.onStatus?.(stats(sec));
      },
    });
  } catch (e) {
    await x.close(Date.now());
    throw e;
  }
  await x.close(Date.now());
  return {
    ...stats(end.seconds),
    reason: end.reason,
    error: end.error,
    workers: end.workers,
    delivery: end.delivery,
    xdp: end.xdp,
  };
}
