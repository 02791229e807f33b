/**
 * `FlowExport`: the NetFlow/IPFIX sink of the flow probe — expired flows in,
 * v5/v9/IPFIX datagrams out over UDP to the collectors, paced. One per
 * process: however many threads meter, each collector sees one sequence
 * space and one set of templates. `collectorMode` "copy" (default) sends
 * every datagram to every collector; "round-robin" shares the datagrams out
 * over them, each with its own encoder (sequence numbers, templates: see
 * fleet.ts). `collectorStats()`: each collector's flows, datagrams, dropped, bytes.
 *
 * The encoder's uptime base ("boot") is the start of a live capture, or the
 * first IP packet of a file (so a file gives the same datagrams every run).
 *
 * @example
 * ```ts
 * import { FlowExport } from "./flow_export.ts";
 * import { FlowRecord } from "../../analysis/flow/record.ts";
 * const x = await FlowExport.open({ collectors: ["127.0.0.1:2055"], version: 10, live: true });
 * x.add(FlowRecord.v4("10.0.0.1", "10.0.0.2", 17, 5353, 53, { packets: 1, bytes: 60 }), Date.now());
 * await x.close(Date.now()); // flushes, withdraws IPFIX templates, drains the sockets
 * ```
 * @module
 */
import type { FlowRecord } from "../../analysis/flow/record.ts";
import { type PackedRecords, RecordBatch } from "../../analysis/flow/record_batch.ts";
import type { FlowEncoder, NetflowVersion, SamplingInfo } from "./encoder.ts";
import { type CollectorStats, createEncoder, UdpExporter } from "./exporter.ts";
import { type CollectorMode, FleetEncoder } from "./fleet.ts";

export type { CollectorMode, CollectorStats };

/** Default pacing of export datagrams, ms between two to one collector (see `ExportOptions.flowDelay`). */
export const DEFAULT_FLOW_DELAY_MS = 0.1;

/** Export settings. */
export interface ExportOptions {
  /** Collectors, HOST:PORT or [IPv6]:PORT (-n, repeatable). */
  collectors: string[];
  /** 5, 9 or 10 = IPFIX (-V); default 9. */
  version?: NetflowVersion;
  /** The 1-in-N sampling the source applied, announced in the exports (--sampling). */
  sampling?: SamplingInfo;
  /** v5 engine id / v9 source id / IPFIX observation domain (default 0). */
  sourceId?: number;
  /** Live: the uptime base is now; else the first IP packet (`boot()`). */
  live?: boolean;
  /**
   * Least time between two export datagrams to one collector, ms (-e, nProbe's
   * --flow-delay; fractions allowed; default 0.1 = 10,000 datagrams/s; 0 = as
   * fast as they come).
   */
  flowDelay?: number;
  /**
   * "copy" (default): every datagram to every collector; "round-robin": each
   * datagram to one collector in turn, sequence numbers and templates kept per
   * collector (--collector-mode).
   */
  collectorMode?: CollectorMode;
}

/** Encoder + UDP exporter. */
export class FlowExport {
  /** The encoder of the chosen version. */
  readonly encoder: FlowEncoder;
  /** The UDP exporter (queue, pacing, counters). */
  readonly exporter: UdpExporter;
  /** The encoder's uptime base is set. */
  booted = false;

  private constructor(o: ExportOptions, exporter: UdpExporter) {
    this.exporter = exporter;
    exporter.delayMs = o.flowDelay ?? DEFAULT_FLOW_DELAY_MS;
    const make = (send: (dg: Uint8Array, records: number) => void): FlowEncoder => {
      let sent = 0; // records in the datagrams emitted so far: the difference is this datagram's
      const enc: FlowEncoder = createEncoder(o.version ?? 9, {
        emit: (dg) => {
          const n = enc.stats.records - sent;
          sent = enc.stats.records;
          send(dg, n);
        },
        sampling: o.sampling,
        sourceId: o.sourceId,
      });
      return enc;
    };
    this.encoder = o.collectorMode === "round-robin" && exporter.collectors > 1
      ? new FleetEncoder(
        Array.from({ length: exporter.collectors }, (_, i) => make((dg, n) => exporter.sendTo(i, dg, n))),
      )
      : make((dg, n) => exporter.send(dg, n));
    // live: the exporter "boots" now, before any packet it will see; files: at their first packet
    if (o.live) this.boot(Date.now());
  }

  /**
   * Open the sockets and build the encoder. Throws a one-line message for a bad
   * collector address or version.
   */
  static async open(o: ExportOptions): Promise<FlowExport> {
    const v = o.version ?? 9;
    if (v !== 5 && v !== 9 && v !== 10) {
      throw new Error(`unknown NetFlow version ${v}: use 5, 9 or 10 (IPFIX)`);
    }
    const mode = o.collectorMode ?? "copy";
    if (mode !== "copy" && mode !== "round-robin") {
      throw new Error(`unknown collector mode '${mode}': use copy or round-robin`);
    }
    const ex = await UdpExporter.open(o.collectors);
    try {
      return new FlowExport(o, ex);
    } catch (e) {
      await ex.close();
      throw e;
    }
  }

  /** Set the uptime base (ms since the epoch). */
  boot(ms: number): void {
    this.encoder.bootMs = ms;
    this.booted = true;
  }

  /** Export one flow (encoded at once: the record may be reused after). */
  add(r: FlowRecord, exportMs: number): void {
    this.encoder.add(r, exportMs);
  }

  /** Export a packed batch of flows, in order (a Worker's meter). */
  addPacked(p: PackedRecords): void {
    RecordBatch.forEach(p, (r, ms) => this.encoder.add(r, ms));
  }

  /** Once a second on a live capture: send the half-filled datagram. */
  tick(nowMs: number): void {
    this.encoder.flush(nowMs);
  }

  /** Each collector's counters (flows, datagrams, dropped, bytes), in the order given; live. */
  collectorStats(): CollectorStats[] {
    return this.exporter.collectorStats();
  }

  /** Lift the queue bound: at shutdown every flow left is exported, however many. */
  unbounded(): void {
    this.exporter.maxQueue = Infinity;
  }

  /** Flush, close the encoder (IPFIX: withdraw templates), wait for the sockets to drain. */
  async close(nowMs: number): Promise<void> {
    if (!this.booted) this.boot(nowMs);
    this.unbounded();
    this.encoder.close(nowMs);
    await this.exporter.close();
  }
}
