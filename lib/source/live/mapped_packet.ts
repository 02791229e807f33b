/**
 * `MappedPacket`: what the two ring readers' reused Packet views share — the
 * typed views over the whole mapped ring, the current header offset `hdr`,
 * the frame `offset`, and the fields every ring header has (caplen, wire
 * length, seconds, nanoseconds) read lazily as 32-bit words at offsets from
 * libring's layout. ring_v3.ts and ring_slots.ts add how their layout says
 * VLAN and interface. `detach()` swaps the views for empty ones at close, so
 * a stale Packet reads `undefined` instead of unmapped memory.
 *
 * @example
 * ```ts
 * import { MappedPacket } from "./mapped_packet.ts";
 * class Demo extends MappedPacket {
 *   vlanTci = -1;
 *   vlanTpid = 0;
 *   ifindex = 0;
 * }
 * const p = new Demo(new ArrayBuffer(64), { sec: 0, nsec: 4, caplen: 8, wirelen: 12 });
 * p.u32[2] = 60;
 * console.log(p.caplen); // 60
 * ```
 */
import type { Packet } from "../../packet.ts";

/** Byte offsets, within a packet's header, of the fields every ring has. */
export interface HeaderOffsets {
  sec: number;
  nsec: number;
  caplen: number;
  wirelen: number;
}

const EMPTY = new ArrayBuffer(0);

/** A reused zero-copy Packet over a mapped ring; subclasses add VLAN and ifindex. */
export abstract class MappedPacket implements Packet {
  data: Uint8Array;
  view: DataView;
  u32: Uint32Array;
  /** Offset in the ring of the current packet's header. */
  hdr = 0;
  /** Offset in the ring of the current frame. */
  offset = 0;
  readonly #sec: number;
  readonly #nsec: number;
  readonly #caplen: number;
  readonly #wirelen: number;

  constructor(buf: ArrayBuffer, o: HeaderOffsets) {
    this.data = new Uint8Array(buf);
    this.view = new DataView(buf);
    this.u32 = new Uint32Array(buf, 0, buf.byteLength >>> 2);
    this.#sec = o.sec;
    this.#nsec = o.nsec;
    this.#caplen = o.caplen;
    this.#wirelen = o.wirelen;
  }
  abstract readonly vlanTci: number;
  abstract readonly vlanTpid: number;
  abstract readonly ifindex: number;

  get caplen(): number {
    return this.u32[(this.hdr + this.#caplen) >>> 2];
  }
  get wirelen(): number {
    return this.u32[(this.hdr + this.#wirelen) >>> 2];
  }
  /** Seconds: a 32-bit word (the low word of a little-endian u64 in the module), exact until 2106. */
  get tsSec(): number {
    return this.u32[(this.hdr + this.#sec) >>> 2];
  }
  get tsNsec(): number {
    return this.u32[(this.hdr + this.#nsec) >>> 2];
  }
  bytes(): Uint8Array {
    return this.data.subarray(this.offset, this.offset + this.caplen);
  }
  /** Make the views empty (the ring is being unmapped). */
  detach(): void {
    this.data = new Uint8Array(EMPTY);
    this.view = new DataView(EMPTY);
    this.u32 = new Uint32Array(EMPTY);
  }
}
