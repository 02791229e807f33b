/**
 * What the NetFlow v5, v9 and IPFIX encoders share: the `FlowEncoder`
 * interface the probe drives, their options, and big-endian helpers.
 *
 * An encoder packs `FlowRecord`s into export datagrams in a buffer it owns
 * and hands each finished datagram (a fresh copy) to `emit`, which sends it
 * (see exporter.ts) or stores it (tests).
 *
 * @module
 */
import type { FlowRecord } from "../../analysis/flow/record.ts";

/** Sampling the capture applied, announced in the exports (never used to scale counters). */
export interface SamplingInfo {
  /** 1-in-N packet sampling (N ≥ 1; 1 = no sampling). */
  interval: number;
  /** How packets were picked: the kernel module samples deterministically, AF_PACKET at random. */
  algorithm?: "deterministic" | "random";
}

/** Options common to every encoder. */
export interface EncoderOptions {
  /** Receives each finished datagram (a copy the callee may keep). */
  emit: (datagram: Uint8Array) => void;
  /** Start of the exporter's clock, ms since the epoch (NetFlow sysUptime base). Default: first add/flush. */
  bootMs?: number;
  /** v5 engine id / v9 source id / IPFIX observation domain id (default 0). */
  sourceId?: number;
  /** Sampling to announce (v5 header field; v9/IPFIX options template and data). */
  sampling?: SamplingInfo;
  /** Largest datagram, bytes (default 1400: fits a 1500-byte MTU over IPv6 with room to spare). */
  maxDatagram?: number;
  /** v9/IPFIX: resend templates every N datagrams (default 20)... */
  templateRefreshPackets?: number;
  /** ...or after this many seconds of export time (default 60), whichever comes first. */
  templateRefreshSeconds?: number;
}

/** Counters of one encoder. */
export interface EncoderStats {
  /** Datagrams emitted. */
  datagrams: number;
  /** Flow records encoded. */
  records: number;
  /** Records the format cannot carry (IPv6 in v5). */
  skipped: number;
}

/**
 * A NetFlow/IPFIX encoder.
 *
 * @example
 * ```ts
 * import type { FlowEncoder } from "./encoder.ts";
 * import { FlowRecord } from "../../analysis/flow/record.ts";
 * function exportOne(enc: FlowEncoder): void {
 *   enc.add(FlowRecord.v4("10.0.0.1", "10.0.0.2", 17, 1, 2, { packets: 1, bytes: 28 }), Date.now());
 *   enc.close(Date.now()); // flush what is buffered (IPFIX: and withdraw the templates)
 * }
 * exportOne;
 * ```
 */
export interface FlowEncoder {
  /** 5, 9 or 10 (IPFIX). */
  readonly version: 5 | 9 | 10;
  /** The sysUptime base, ms since the epoch (NaN until set or first used). */
  bootMs: number;
  /** Counters. */
  readonly stats: EncoderStats;
  /** Encode one record at export time `nowMs`; emits a datagram when one fills up. */
  add(rec: FlowRecord, nowMs: number): void;
  /** Emit the partly filled datagram, if any. */
  flush(nowMs: number): void;
  /** Flush, then say goodbye (IPFIX template withdrawal). The encoder is unusable afterwards. */
  close(nowMs: number): void;
}

/** A NetFlow version as the CLI spells it. */
export type NetflowVersion = 5 | 9 | 10;

/**
 * Write an unsigned integer of `len` bytes (1, 2, 4 or 8) big-endian; 8-byte values without BigInt.
 *
 * @example
 * ```ts
 * import { putUint } from "./encoder.ts";
 * const v = new DataView(new ArrayBuffer(8));
 * putUint(v, 0, 8, 2 ** 40 + 5);
 * ```
 */
export function putUint(view: DataView, off: number, len: number, value: number): void {
  switch (len) {
    case 1:
      view.setUint8(off, value & 0xff);
      return;
    case 2:
      view.setUint16(off, value & 0xffff);
      return;
    case 4:
      view.setUint32(off, value > 0xffffffff ? 0xffffffff : value >>> 0);
      return;
    case 8:
      view.setUint32(off, Math.floor(value / 4294967296) >>> 0);
      view.setUint32(off + 4, value % 4294967296 >>> 0);
      return;
    default:
      throw new RangeError(`unsupported integer length ${len}`);
  }
}

/**
 * Check the sampling options (1 ≤ interval ≤ `max`, an integer) and return the interval.
 *
 * @example
 * ```ts
 * import { samplingInterval } from "./encoder.ts";
 * samplingInterval({ interval: 100 }, 16383); // 100
 * ```
 */
export function samplingInterval(s: SamplingInfo | undefined, max: number): number {
  const n = s?.interval ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new RangeError(`sampling interval must be an integer from 1 to ${max}, got ${n}`);
  }
  return n;
}
