/**
 * `RecordBatch`: expired flows packed into one binary buffer, so a Worker's
 * meter can hand them to the exporter in the main thread as one transferred
 * `ArrayBuffer` (never an object per flow). `write(r, exportMs)` appends the
 * fields of a `FlowRecord`; `forEach` refills one reused `FlowRecord` per
 * entry, in order.
 *
 * Layout of an entry (little endian, RECORD_BYTES each): u8 ipVersion, u8
 * protocol, u8 tos, u8 tcpFlags, u8 endReason, 3 pad, u16 srcPort, u16
 * dstPort, i32 vlanId, u32 ifindex, 4 × u32 src (IPv4: word 0), 4 × u32 dst,
 * f64 packets, f64 bytes, f64 firstMs, f64 lastMs, f64 exportMs, 4 pad (96 bytes).
 *
 * @example
 * ```ts
 * import { RecordBatch } from "./record_batch.ts";
 * import { FlowRecord } from "./record.ts";
 * const b = new RecordBatch();
 * b.write(FlowRecord.v4("10.0.0.1", "10.0.0.2", 17, 1, 2, { packets: 1, bytes: 60 }), 1000);
 * const moved = b.take(); // { buffer, count }: post it with [moved.buffer] as transfer list
 * RecordBatch.forEach(moved, (r, exportMs) => console.log(r.packets, exportMs));
 * ```
 * @module
 */
import { FlowRecord } from "./record.ts";

/** Bytes per packed record. */
export const RECORD_BYTES = 96;

/** A packed batch as it travels between threads. */
export interface PackedRecords {
  buffer: ArrayBuffer;
  count: number;
}

/** An append-only buffer of packed flow records. */
export class RecordBatch {
  #buf = new ArrayBuffer(64 * RECORD_BYTES);
  #dv = new DataView(this.#buf);
  #count = 0;

  /** Records written since the last `take()`. */
  get count(): number {
    return this.#count;
  }

  /** Append one record (the table's reused one: its fields are copied now). */
  write(r: FlowRecord, exportMs: number): void {
    let o = this.#count * RECORD_BYTES;
    if (o + RECORD_BYTES > this.#buf.byteLength) {
      const bigger = new ArrayBuffer(this.#buf.byteLength * 2);
      new Uint8Array(bigger).set(new Uint8Array(this.#buf, 0, o));
      this.#buf = bigger;
      this.#dv = new DataView(bigger);
    }
    const dv = this.#dv;
    dv.setUint8(o, r.ipVersion);
    dv.setUint8(o + 1, r.protocol);
    dv.setUint8(o + 2, r.tos);
    dv.setUint8(o + 3, r.tcpFlags);
    dv.setUint8(o + 4, r.endReason);
    dv.setUint16(o + 8, r.srcPort, true);
    dv.setUint16(o + 10, r.dstPort, true);
    dv.setInt32(o + 12, r.vlanId, true);
    dv.setUint32(o + 16, r.ifindex, true);
    o += 20;
    for (let i = 0; i < 4; i++) {
      dv.setUint32(o + 4 * i, i === 0 && r.ipVersion === 4 ? r.src4 : r.src6[i], true);
    }
    for (let i = 0; i < 4; i++) {
      dv.setUint32(o + 16 + 4 * i, i === 0 && r.ipVersion === 4 ? r.dst4 : r.dst6[i], true);
    }
    o += 32;
    dv.setFloat64(o, r.packets, true);
    dv.setFloat64(o + 8, r.bytes, true);
    dv.setFloat64(o + 16, r.firstMs, true);
    dv.setFloat64(o + 24, r.lastMs, true);
    dv.setFloat64(o + 32, exportMs, true);
    this.#count++;
  }

  /** Hand over what was written (a buffer of exactly `count` records) and start a new batch. */
  take(): PackedRecords {
    const count = this.#count;
    const buffer = this.#buf.slice(0, count * RECORD_BYTES);
    this.#count = 0;
    return { buffer, count };
  }

  /** Concatenate two packed batches (merging two threads' snapshots). */
  static concat(a: PackedRecords, b: PackedRecords): PackedRecords {
    if (b.count === 0) return a;
    if (a.count === 0) return b;
    const out = new Uint8Array(a.buffer.byteLength + b.buffer.byteLength);
    out.set(new Uint8Array(a.buffer), 0);
    out.set(new Uint8Array(b.buffer), a.buffer.byteLength);
    return { buffer: out.buffer, count: a.count + b.count };
  }

  /** Unpack each record into one reused `FlowRecord`, in order. */
  static forEach(p: PackedRecords, fn: (r: FlowRecord, exportMs: number) => void): void {
    const dv = new DataView(p.buffer), r = new FlowRecord();
    for (let i = 0; i < p.count; i++) {
      let o = i * RECORD_BYTES;
      r.ipVersion = dv.getUint8(o);
      r.protocol = dv.getUint8(o + 1);
      r.tos = dv.getUint8(o + 2);
      r.tcpFlags = dv.getUint8(o + 3);
      r.endReason = dv.getUint8(o + 4);
      r.srcPort = dv.getUint16(o + 8, true);
      r.dstPort = dv.getUint16(o + 10, true);
      r.vlanId = dv.getInt32(o + 12, true);
      r.ifindex = dv.getUint32(o + 16, true);
      o += 20;
      const v4 = r.ipVersion === 4;
      for (let j = 0; j < 4; j++) {
        r.src6[j] = v4 ? 0 : dv.getUint32(o + 4 * j, true);
        r.dst6[j] = v4 ? 0 : dv.getUint32(o + 16 + 4 * j, true);
      }
      r.src4 = v4 ? dv.getUint32(o, true) : 0;
      r.dst4 = v4 ? dv.getUint32(o + 16, true) : 0;
      o += 32;
      r.packets = dv.getFloat64(o, true);
      r.bytes = dv.getFloat64(o + 8, true);
      r.firstMs = dv.getFloat64(o + 16, true);
      r.lastMs = dv.getFloat64(o + 24, true);
      fn(r, dv.getFloat64(o + 32, true));
    }
  }
}
