/**
 * `--collector-mode round-robin`: one encoder per collector, so that each
 * collector has its own sequence numbers (v5: flows sent to it; v9: datagrams
 * sent to it; IPFIX: data records sent to it) and its own templates (sent in
 * its first datagram and refreshed by its own datagram count and clock: a
 * collector never gets data before its templates). Flows fill one
 * collector's datagram, then the next collector's, in turn: datagrams are
 * balanced over the collectors and every flow goes to exactly one of them.
 *
 * (`copy`, the default, needs none of this: one encoder, every datagram to
 * every collector, each of which sees the whole sequence space.)
 *
 * @example
 * ```ts
 * import { FleetEncoder } from "./fleet.ts";
 * import { V9Encoder } from "./v9.ts";
 * const sent: [number, Uint8Array][] = [];
 * const enc = new FleetEncoder([0, 1].map((i) => new V9Encoder({ emit: (d) => sent.push([i, d]) })));
 * enc.close(Date.now());
 * ```
 * @module
 */
import type { FlowRecord } from "../../analysis/flow/record.ts";
import type { EncoderStats, FlowEncoder } from "./encoder.ts";

/** Collector modes: every datagram to every collector, or datagrams shared out in turn. */
export type CollectorMode = "copy" | "round-robin";

/** Several encoders of one version driven as one, datagram by datagram in turn. */
export class FleetEncoder implements FlowEncoder {
  readonly version: 5 | 9 | 10;
  private cur = 0;

  constructor(readonly encoders: readonly FlowEncoder[]) {
    if (encoders.length === 0) throw new Error("FleetEncoder needs at least one encoder");
    this.version = encoders[0].version;
  }

  get bootMs(): number {
    return this.encoders[0].bootMs;
  }
  set bootMs(ms: number) {
    for (const e of this.encoders) e.bootMs = ms;
  }

  /** The sum of the encoders' counters. */
  get stats(): EncoderStats {
    const s: EncoderStats = { datagrams: 0, records: 0, skipped: 0 };
    for (const e of this.encoders) {
      s.datagrams += e.stats.datagrams;
      s.records += e.stats.records;
      s.skipped += e.stats.skipped;
    }
    return s;
  }

  add(r: FlowRecord, nowMs: number): void {
    const e = this.encoders[this.cur];
    // the same uptime base for all (a file's first flow sets it)
    if (Number.isNaN(e.bootMs)) this.bootMs = Math.min(r.firstMs, nowMs);
    const before = e.stats.datagrams;
    e.add(r, nowMs);
    // a datagram left: the next flows fill the next collector's
    if (e.stats.datagrams !== before) this.cur = (this.cur + 1) % this.encoders.length;
  }

  flush(nowMs: number): void {
    for (const e of this.encoders) e.flush(nowMs);
  }

  close(nowMs: number): void {
    for (const e of this.encoders) e.close(nowMs);
  }
}
