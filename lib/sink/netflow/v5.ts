/**
 * NetFlow v5 encoder: 24-byte header + up to 30 fixed 48-byte IPv4 records
 * per datagram. IPv6 flows cannot be carried and are counted in
 * `stats.skipped`. Sampling goes in the header's sampling field (2 bits of
 * mode, 14 bits of interval).
 *
 * @module
 */
import type { FlowRecord } from "../../analysis/flow/record.ts";
import { type EncoderOptions, type EncoderStats, type FlowEncoder, samplingInterval } from "./encoder.ts";
import { uptime } from "./templates.ts";

const HEADER = 24, RECORD = 48, MAX_RECORDS = 30;

/**
 * NetFlow v5 encoder.
 *
 * @example
 * ```ts
 * import { V5Encoder } from "./v5.ts";
 * import { FlowRecord } from "../../analysis/flow/record.ts";
 * const sent: Uint8Array[] = [];
 * const enc = new V5Encoder({ emit: (d) => sent.push(d), bootMs: 1e12 });
 * enc.add(FlowRecord.v4("10.0.0.1", "10.0.0.2", 6, 40000, 80, { packets: 5, bytes: 400, firstMs: 1e12, lastMs: 1e12 + 10 }), 1e12 + 20);
 * enc.close(1e12 + 20); // sent.length === 1
 * ```
 */
export class V5Encoder implements FlowEncoder {
  readonly version = 5 as const;
  bootMs: number;
  readonly stats: EncoderStats = { datagrams: 0, records: 0, skipped: 0 };
  private readonly emit: (d: Uint8Array) => void;
  private readonly buf = new Uint8Array(HEADER + MAX_RECORDS * RECORD);
  private readonly view = new DataView(this.buf.buffer);
  private readonly engineId: number;
  private readonly samplingField: number;
  private count = 0;
  private sequence = 0;
  private closed = false;

  constructor(opts: EncoderOptions) {
    this.emit = opts.emit;
    this.bootMs = opts.bootMs === undefined ? NaN : Math.floor(opts.bootMs);
    this.engineId = (opts.sourceId ?? 0) & 0xff;
    const n = samplingInterval(opts.sampling, 0x3fff);
    // mode 01: deterministic 1-in-N, 10: random (the usual reading of the two mode bits)
    const mode = n === 1 ? 0 : opts.sampling?.algorithm === "random" ? 2 : 1;
    this.samplingField = n === 1 ? 0 : (mode << 14) | n;
  }

  add(r: FlowRecord, nowMs: number): void {
    if (this.closed) throw new Error("V5Encoder is closed");
    if (r.ipVersion !== 4) {
      this.stats.skipped++;
      return;
    }
    if (Number.isNaN(this.bootMs)) this.bootMs = Math.floor(Math.min(r.firstMs, nowMs));
    const v = this.view, o = HEADER + this.count * RECORD, boot = this.bootMs;
    v.setUint32(o, r.src4);
    v.setUint32(o + 4, r.dst4);
    v.setUint32(o + 8, 0); // next hop
    v.setUint16(o + 12, r.ifindex & 0xffff); // input
    v.setUint16(o + 14, 0); // output
    v.setUint32(o + 16, r.packets > 0xffffffff ? 0xffffffff : r.packets);
    v.setUint32(o + 20, r.bytes > 0xffffffff ? 0xffffffff : r.bytes);
    v.setUint32(o + 24, uptime(r.firstMs, boot));
    v.setUint32(o + 28, uptime(r.lastMs, boot));
    v.setUint16(o + 32, r.srcPort);
    v.setUint16(o + 34, r.dstPort);
    v.setUint8(o + 36, 0);
    v.setUint8(o + 37, r.tcpFlags);
    v.setUint8(o + 38, r.protocol);
    v.setUint8(o + 39, r.tos);
    v.setUint32(o + 40, 0); // src_as, dst_as
    v.setUint32(o + 44, 0); // src_mask, dst_mask, pad
    this.stats.records++;
    if (++this.count === MAX_RECORDS) this.flush(nowMs);
  }

  flush(nowMs: number): void {
    if (this.count === 0) return;
    if (Number.isNaN(this.bootMs)) this.bootMs = Math.floor(nowMs);
    const v = this.view, now = Math.floor(nowMs);
    v.setUint16(0, 5);
    v.setUint16(2, this.count);
    v.setUint32(4, uptime(now, this.bootMs));
    v.setUint32(8, Math.floor(now / 1000));
    v.setUint32(12, (now % 1000) * 1e6);
    v.setUint32(16, this.sequence >>> 0);
    v.setUint8(20, 0); // engine type
    v.setUint8(21, this.engineId);
    v.setUint16(22, this.samplingField);
    this.sequence += this.count;
    this.emit(this.buf.slice(0, HEADER + this.count * RECORD));
    this.stats.datagrams++;
    this.count = 0;
  }

  close(nowMs: number): void {
    if (this.closed) return;
    this.flush(nowMs);
    this.closed = true;
  }
}
