/**
 * `FlowMeter`: the flow probe's analysis — decode each packet, meter it into
 * a `FlowTable`, and hand every expired flow to a sink with its export time.
 * The sink is the NetFlow/IPFIX exporter when meter and exporter share a
 * thread (`FlowProbe`), or a `RecordBatch` whose packed records travel in the
 * snapshot when the meter runs in a Worker.
 *
 * Snapshots hold what changed since the previous one: counters (the active
 * flow count as a difference, so that adding snapshots over time or across
 * threads both give the right total) and the packed records expired since.
 * Flow tables are partitioned between threads by the flow hash, so merging
 * is adding counters and concatenating records.
 *
 * Time is the packets' (deterministic on files); a live meter also expires
 * idle flows by the wall clock at `tick()`, when traffic stops.
 *
 * @example
 * ```ts
 * import { FlowMeter, flowMetering } from "./meter.ts";
 * import { RecordBatch } from "./record_batch.ts";
 * import type { PacketSource } from "../../packet.ts";
 * function meter(src: PacketSource) {
 *   const m = new FlowMeter({ idleTimeout: 15 });
 *   for (let p = src.next(); p; p = src.next()) m.add(p);
 *   m.finish(Date.now()); // every flow left is expired
 *   const s = flowMetering.merge(m.snapshot(), m.snapshot());
 *   RecordBatch.forEach(s.records, (r) => console.log(r.protocol, r.packets, r.bytes));
 * }
 * ```
 * @module
 */
import type { Packet } from "../../packet.ts";
import { Decoded } from "../../decode/decoded.ts";
import { decodeLean } from "../../decode/fast.ts";
import type { Analysis, AnalysisKind } from "../analysis.ts";
import { FlowTable } from "./table.ts";
import type { FlowRecord } from "./record.ts";
import { type PackedRecords, RecordBatch } from "./record_batch.ts";

/** Metering settings (times in seconds, nProbe's letters in the comments). */
export interface MeterOptions {
  /** Most flows in the table (--max-flows); default 262144. */
  maxFlows?: number;
  /** Active timeout, s (-t); default 60. */
  activeTimeout?: number;
  /** Idle timeout, s (-d); default 15. */
  idleTimeout?: number;
  /** Linger after TCP FIN/RST, s; default 1. */
  tcpEndTimeout?: number;
  /** A live source: `tick()` expires by the wall clock. */
  live?: boolean;
}

/** The meter's counters (in a snapshot: what changed since the previous one). */
export interface FlowCounters {
  /** Packets read; IP packets metered; non-IP skipped; IP bytes metered. */
  packets: number;
  metered: number;
  ignored: number;
  bytes: number;
  /** Flows in the table (in a snapshot: the change of that number). */
  flows: number;
  /** Flows created, exported, evicted because the table was full. */
  created: number;
  exported: number;
  evicted: number;
}

/** What the meter did since the previous snapshot. */
export interface FlowSnapshot extends FlowCounters {
  /** Time of the first IP packet, ms since the epoch (NaN before it). */
  firstIpMs: number;
  /** The flows expired, packed (empty when the meter has its own sink). */
  records: PackedRecords;
}

/** Where expired flows go: the table's reused record (copy or encode it at once) and its export time. */
export type RecordSink = (r: FlowRecord, exportMs: number) => void;

/** The flow probe's per-thread state. */
export class FlowMeter implements Analysis<FlowSnapshot> {
  /** The flow table (counters: created, exported, evicted...). */
  readonly table: FlowTable;
  /** Packets given to add(). */
  packets = 0;
  /** Time of the first IP packet, ms (NaN before it): an exporter's boot time on files. */
  firstIpMs = NaN;
  /** The decoded headers of the last packet (the fields of `LEAN_FIELDS`, lib/decode/fast.ts). */
  readonly d: Decoded = new Decoded();
  private readonly live: boolean;
  private clock = 0; // export time of the records being expired, ms
  private readonly batch: RecordBatch | null;
  private last = {
    packets: 0,
    metered: 0,
    ignored: 0,
    bytes: 0,
    flows: 0,
    created: 0,
    exported: 0,
    evicted: 0,
  };

  /** Without `sink`, expired flows are packed into the snapshots. */
  constructor(o: MeterOptions = {}, sink?: RecordSink) {
    this.live = o.live ?? false;
    const batch = sink ? null : new RecordBatch();
    this.batch = batch;
    const out: RecordSink = sink ?? ((r, ms) => batch!.write(r, ms));
    this.table = new FlowTable({
      maxFlows: o.maxFlows,
      activeTimeout: o.activeTimeout,
      idleTimeout: o.idleTimeout,
      tcpEndTimeout: o.tcpEndTimeout,
      onExpire: (r: FlowRecord) => out(r, this.clock > r.lastMs ? this.clock : r.lastMs),
    });
  }

  /** Decode and meter one packet (the hot path). */
  add(p: Packet): void {
    this.packets++;
    const d = decodeLean(p, this.d);
    if (d.ipVersion !== 0 && this.firstIpMs !== this.firstIpMs) {
      this.firstIpMs = p.tsSec * 1000 + p.tsNsec / 1e6;
    }
    const t = this.table;
    this.clock = t.nowMs;
    t.add(p, d);
  }

  /** The time a live meter expires at: the wall clock, never before the newest packet. */
  nowMs(wallMs: number): number {
    return this.live ? Math.max(wallMs, this.table.nowMs) : this.table.nowMs;
  }

  /** Live: expire idle flows by the wall clock (traffic may have stopped). */
  tick(wallMs: number): void {
    if (!this.live) return;
    const now = this.nowMs(wallMs);
    this.clock = now;
    this.table.expire(now);
  }

  /** End: expire every flow left. */
  finish(wallMs: number): void {
    this.clock = this.nowMs(wallMs);
    this.table.flush();
  }

  /** The counters since the start (flows: in the table now). */
  counters(): FlowCounters {
    const t = this.table;
    return {
      packets: this.packets,
      metered: t.packets,
      ignored: t.ignored,
      bytes: t.bytes,
      flows: t.size,
      created: t.created,
      exported: t.exported,
      evicted: t.evicted,
    };
  }

  snapshot(): FlowSnapshot {
    const l = this.last, now = this.counters();
    this.last = now;
    return {
      packets: now.packets - l.packets,
      metered: now.metered - l.metered,
      ignored: now.ignored - l.ignored,
      bytes: now.bytes - l.bytes,
      flows: now.flows - l.flows,
      created: now.created - l.created,
      exported: now.exported - l.exported,
      evicted: now.evicted - l.evicted,
      firstIpMs: this.firstIpMs,
      records: this.batch ? this.batch.take() : { buffer: new ArrayBuffer(0), count: 0 },
    };
  }
}

/** The flow tool's kind: counters add, records concatenate. */
export const flowMetering: AnalysisKind<MeterOptions, FlowSnapshot> = {
  name: "flow",
  create: (o) => new FlowMeter(o),
  merge: (a, b) => ({
    packets: a.packets + b.packets,
    metered: a.metered + b.metered,
    ignored: a.ignored + b.ignored,
    bytes: a.bytes + b.bytes,
    flows: a.flows + b.flows,
    created: a.created + b.created,
    exported: a.exported + b.exported,
    evicted: a.evicted + b.evicted,
    firstIpMs: a.firstIpMs < b.firstIpMs || b.firstIpMs !== b.firstIpMs ? a.firstIpMs : b.firstIpMs,
    records: RecordBatch.concat(a.records, b.records),
  }),
  retain: (s) => ({ ...s, records: { buffer: new ArrayBuffer(0), count: 0 } }),
};
