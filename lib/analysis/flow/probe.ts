/**
 * `FlowProbe` and `runProbe`: the paper's nProbe on one thread — the
 * `FlowMeter` analysis (decode → `FlowTable`) wired straight to the
 * `FlowExport` sink (v5/v9/IPFIX encoder → UDP to the collectors).
 *
 * Time is the packets' (deterministic on files); a live probe also expires
 * idle flows by the wall clock once a second when traffic stops, and flushes
 * half-filled export datagrams every second. At the end (end of file,
 * --duration, -c, SIGINT/SIGTERM) every flow still in the table is exported
 * and every datagram sent before `close()` resolves: nothing is lost.
 *
 * @module
 */
import type { Packet, PacketSource } from "../../packet.ts";
import { run, type RunResult } from "../../run.ts";
import type { FlowTable } from "./table.ts";
import { type FlowCounters, FlowMeter, type MeterOptions } from "./meter.ts";
import type { FlowEncoder } from "../../sink/netflow/encoder.ts";
import type { UdpExporter } from "../../sink/netflow/exporter.ts";
import {
  type CollectorStats,
  DEFAULT_FLOW_DELAY_MS,
  type ExportOptions,
  FlowExport,
} from "../../sink/netflow/flow_export.ts";

export { DEFAULT_FLOW_DELAY_MS };
/** A file source waits while more export datagrams than this are queued. */
const FILE_QUEUE_HIGH = 256;

/** Probe settings: metering, export, and when to stop. */
export interface ProbeOptions extends MeterOptions, ExportOptions {
  /** A live source: wall-clock expiry when idle, datagrams flushed every second. */
  live?: boolean;
  /** Stop after N packets / S seconds (0: no limit). */
  count?: number;
  duration?: number;
  /** Called once a second with the counters (the probe's status line). */
  onStatus?: (s: ProbeStats) => void;
  /**
   * `runProbe` returns a failure of the source (interface removed) as
   * `reason: "error"` with `error` set, after exporting every flow, instead of
   * throwing (see `run`'s option of the same name). Default false.
   */
  returnErrors?: boolean;
}

/** The probe's counters: the meter's (flows: in the table now) and the exporter's. */
export interface ProbeStats extends FlowCounters {
  /** Export datagrams built, and flows the version could not carry (IPv6 in v5). */
  datagrams: number;
  skipped: number;
  /** UDP sends that failed or were dropped (collector queue full). */
  sendErrors: number;
  /** The source's drop counter (ring full). */
  dropped: number;
  /** Seconds since the start. */
  seconds: number;
  /** Each collector's counters, in the order given (flows, datagrams, dropped, bytes). */
  collectors?: CollectorStats[];
}

/**
 * A flow probe you feed packets yourself (`runProbe` drives one from a source).
 *
 * @example
 * ```ts
 * import { FlowProbe } from "./probe.ts";
 * import type { PacketSource } from "../../packet.ts";
 * async function probeAll(src: PacketSource): Promise<void> {
 *   const probe = await FlowProbe.open({ collectors: ["127.0.0.1:2055"], version: 10 });
 *   for (let p = src.next(); p; p = src.next()) probe.add(p);
 *   await probe.close(); // exports every flow left, withdraws IPFIX templates, drains the sockets
 * }
 * probeAll;
 * ```
 */
export class FlowProbe {
  /** The analysis: decode + flow table. */
  readonly meter: FlowMeter;
  /** The sink: encoder + UDP exporter. */
  readonly export: FlowExport;
  private closed = false;
  private readonly live: boolean;

  private constructor(o: ProbeOptions, x: FlowExport) {
    this.export = x;
    this.live = o.live ?? false;
    this.meter = new FlowMeter(o, (r, ms) => x.add(r, ms));
  }

  /** The flow table (counters: created, exported, evicted...). */
  get table(): FlowTable {
    return this.meter.table;
  }
  /** The encoder of the chosen version. */
  get encoder(): FlowEncoder {
    return this.export.encoder;
  }
  /** The UDP exporter. */
  get exporter(): UdpExporter {
    return this.export.exporter;
  }
  /** Packets given to add(). */
  get packets(): number {
    return this.meter.packets;
  }

  /**
   * Open the exporter sockets and build the table and encoder. Throws a one-line
   * message for a bad collector address or option.
   *
   * @example
   * ```ts
   * import { FlowProbe } from "./probe.ts";
   * const probe = await FlowProbe.open({ collectors: ["[::1]:4739"], version: 10, idleTimeout: 30 });
   * await probe.close();
   * ```
   */
  static async open(o: ProbeOptions): Promise<FlowProbe> {
    const x = await FlowExport.open(o);
    try {
      return new FlowProbe(o, x);
    } catch (e) {
      await x.exporter.close();
      throw e;
    }
  }

  /** Decode and meter one packet (the hot path). */
  add(p: Packet): void {
    const m = this.meter;
    m.add(p);
    // a file's uptime base is its first IP packet (no flow can expire before it)
    if (!this.export.booted && m.firstIpMs === m.firstIpMs) this.export.boot(m.firstIpMs);
  }

  /**
   * Once a second: a live probe expires by the wall clock (idle flows with no
   * traffic) and flushes the half-filled datagram.
   */
  tick(): void {
    if (!this.live) return;
    const wall = Date.now();
    this.meter.tick(wall);
    this.export.tick(this.meter.nowMs(wall));
  }

  /** Export every flow left, close the encoder, wait for the sockets to drain. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wall = Date.now(), now = this.meter.nowMs(wall);
    if (!this.export.booted) this.export.boot(now);
    this.export.unbounded(); // every flow left is exported, however many
    this.meter.finish(wall);
    await this.export.close(now);
  }

  /** The counters (`dropped` and `seconds` are the caller's). */
  stats(dropped = 0, seconds = 0): ProbeStats {
    const e = this.encoder.stats, x = this.exporter.stats;
    return {
      ...this.meter.counters(),
      datagrams: e.datagrams,
      skipped: e.skipped,
      sendErrors: x.errors + x.dropped,
      dropped,
      seconds,
      collectors: this.export.collectorStats(),
    };
  }
}

/** What `runProbe` returns. */
export interface ProbeResult extends ProbeStats {
  /** Why the read loop ended. */
  reason: RunResult["reason"];
  /** What failed, with `returnErrors` (reason "error"). */
  error?: unknown;
}

/**
 * Run a probe over `src` until end of file, -c, --duration or SIGINT/SIGTERM,
 * then export everything left. Calls `onStatus` once a second.
 *
 * @example
 * ```ts
 * import { runProbe } from "./probe.ts";
 * import { openCaptureFile } from "../../source/file/mod.ts";
 * using r = openCaptureFile("/tmp/trace.pcap");
 * const res = await runProbe(r, { collectors: ["127.0.0.1:2055"], version: 5 });
 * console.log(res.exported, "flows exported");
 * ```
 */
export async function runProbe(src: PacketSource, o: ProbeOptions): Promise<ProbeResult> {
  const probe = await FlowProbe.open(o);
  let end: RunResult | undefined;
  const t0 = performance.now();
  try {
    const ex = probe.exporter;
    end = await run(src, (p) => probe.add(p), {
      count: o.count,
      duration: o.duration,
      returnErrors: o.returnErrors,
      // a file waits for its flows to leave; a live capture never waits (the ring would overflow)
      between: "wait" in src
        ? undefined
        : () => ex.queued > FILE_QUEUE_HIGH ? ex.queuedAtMost(FILE_QUEUE_HIGH / 4) : undefined,
      onTick: (s) => {
        probe.tick();
        o.onStatus?.(probe.stats(src.stats().dropped, s));
      },
    });
  } finally {
    await probe.close();
  }
  return {
    ...probe.stats(src.stats().dropped, end?.seconds ?? (performance.now() - t0) / 1000),
    reason: end.reason,
    error: end.error,
  };
}

/**
 * The status line: packets, active flows, exported flows, drops.
 *
 * @example
 * ```ts
 * import { statusLine } from "./probe.ts";
 * console.error(statusLine({ packets: 10, flows: 2, exported: 1, dropped: 0 } as never));
 * ```
 */
export function statusLine(s: ProbeStats): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return `${n(s.packets)} pkts  ${n(s.flows)} active flows  ${n(s.exported)} exported ` +
    `(${n(s.datagrams)} datagrams)  ${n(s.dropped)} dropped  ${n(s.evicted)} evicted` +
    (s.sendErrors ? `  ${n(s.sendErrors)} send errors` : "");
}
