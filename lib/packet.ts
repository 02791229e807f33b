/**
 * The packet contract every packet source follows (a live `Ring`, a pcap or
 * pcapng file reader).
 *
 * A source hands out ONE reused `Packet` object; it stays valid until the
 * next call to `next()` (or the end of the batch). Its bytes are not copied:
 * `data` is the source's whole backing array (the mapped ring, or the file
 * reader's buffer) and the frame is `data[offset, offset + caplen)`. Read them
 * in place through `data`/`view`; call `bytes()` only when a copy-free
 * subarray object is worth one allocation (not in a hot loop).
 *
 * @example
 * ```ts
 * import type { PacketSource } from "./packet.ts";
 * function countUdp(src: PacketSource): number {
 *   let n = 0;
 *   for (let p = src.next(); p; p = src.next()) {
 *     if (p.caplen >= 24 && p.view.getUint16(p.offset + 12) === 0x0800 && p.data[p.offset + 23] === 17) n++;
 *   }
 *   return n;
 * }
 * ```
 */

/** A reused, zero-copy view of one captured frame (Ethernet, link type 1). */
export interface Packet {
  /** Backing bytes; the frame starts at `offset`. Shared by every packet. */
  readonly data: Uint8Array;
  /** DataView over the same backing bytes (big-endian reads for headers). */
  readonly view: DataView;
  /** Index in `data` of the first byte of the frame (Ethernet header). */
  readonly offset: number;
  /** Bytes captured (≤ snap length). */
  readonly caplen: number;
  /** Length on the wire. */
  readonly wirelen: number;
  /** Timestamp, seconds since the epoch. */
  readonly tsSec: number;
  /** Timestamp, nanoseconds within the second. */
  readonly tsNsec: number;
  /** 802.1Q TCI the kernel stripped from the frame (VLAN id = tci & 0xfff), or -1. */
  readonly vlanTci: number;
  /** TPID of that stripped tag (0x8100 or 0x88a8), 0 if unknown or none. */
  readonly vlanTpid: number;
  /** Interface index the packet was seen on (0 when unknown, e.g. files). */
  readonly ifindex: number;
  /** A subarray over the frame bytes (allocates a view object; not for hot loops). */
  bytes(): Uint8Array;
}

/** Counters, with DESIGN.md names. */
export interface CaptureStats {
  /** Inserted into the ring (or read from the file). */
  packets: number;
  /** Not inserted because the ring was full. */
  dropped: number;
  /** Rejected by the filter or by sampling, where the kernel reports it. */
  filtered: number;
  /** Sum of wire lengths of the packets read. */
  bytes: number;
}

/** What `Ring` and the file readers have in common. */
export interface PacketSource {
  /** The next ready packet, or null when none is ready (ring) / end of file (reader). */
  next(): Packet | null;
  /** Cumulative counters. */
  stats(): CaptureStats;
  /** Release everything; the Packet is unusable afterwards. */
  close(): void;
}
