/**
 * The reader for AF_PACKET TPACKET_V2 rings: immediate delivery (libring's
 * "packet" backend opened with `immediate: true`; layout kind 3).
 *
 * The ring is `frame_count` fixed-size frames, `frames_per_block` to a block
 * of `block_size` bytes (frames do not cross blocks). The kernel writes each
 * packet into the next frame and publishes it at once by setting the frame's
 * status to TP_STATUS_USER (after a write barrier) and waking poll(): no block
 * waits to fill or time out. We read that status with `Atomics.load`, read the
 * header (struct tpacket2_hdr: same fields as V3's, at offsets from libring)
 * and the frame in place, and give frames back in batches, as the slot reader
 * does: up to 64 at a time (fewer than the ring holds) after one atomic
 * read-modify-write that orders our reads before the TP_STATUS_KERNEL stores,
 * and at once whenever we catch up with the kernel or wait — which poll()
 * needs too: it reports readable while the newest frame is not given back.
 * The reused Packet stays valid until the next `next()`.
 *
 * Per packet: an atomic load, a few loads, one typed-array store. No
 * allocation, no FFI.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts"; // registers this reader
 * const ring = await Ring.open("lo", { immediate: true });
 * console.log(ring.delivery); // "immediate"
 * await ring.wait(1000);
 * const p = ring.next();
 * if (p) console.log(p.caplen, p.wirelen, p.tsSec);
 * ring.close();
 * ```
 */
import type { Packet } from "../../packet.ts";
import { detachBuffer, type Mapping, Ring } from "./ring_base.ts";
import { V3Packet } from "./ring_v3.ts";

const EMPTY = new ArrayBuffer(0);

/** Ring reader for the TPACKET_V2 frame layout (layout kind 3). */
export class V2Ring extends Ring {
  #buf: ArrayBuffer;
  #u32: Uint32Array;
  /** The header fields are V3's, at V2's offsets: the same Packet class. */
  #pkt: V3Packet;
  /** Frame index the reader is at, its byte offset, and its index within its block. */
  #i = 0;
  #off = 0;
  #k = 0;
  /** The Packet handed out last still holds frame #i. */
  #held = false;
  /** Offsets of the frames read but not given back yet. */
  readonly #pend: Int32Array;
  #npend = 0;
  readonly #flushAt: number;
  readonly #fsize: number;
  readonly #bsize: number;
  readonly #fpb: number;
  readonly #count: number;
  readonly #status: number;
  readonly #mac: number;
  readonly #len: number;
  readonly #user: number;
  readonly #kernel: number;

  constructor(m: Mapping) {
    super(m);
    const L = m.layout;
    this.#buf = m.buffer;
    this.#u32 = new Uint32Array(m.buffer, 0, m.buffer.byteLength >>> 2);
    this.#pkt = new V3Packet(m.buffer, L);
    this.#fsize = L.frame_size;
    this.#bsize = L.block_size;
    this.#fpb = L.frames_per_block;
    this.#count = L.frame_count;
    this.#status = L.pkt_status_off;
    this.#mac = L.pkt_mac_off;
    this.#len = L.pkt_wirelen_off;
    this.#user = L.status_user;
    this.#kernel = L.status_kernel;
    // fewer pending frames than the ring holds: the kernel never waits on one we are holding back
    this.#flushAt = Math.max(1, Math.min(64, this.#count - 1));
    this.#pend = new Int32Array(this.#flushAt);
  }

  /** Done with the held frame: it joins the pending ones; move to the next frame. */
  #release(): void {
    this.#pend[this.#npend++] = this.#off;
    if (++this.#i === this.#count) {
      this.#i = this.#k = this.#off = 0;
    } else if (++this.#k === this.#fpb) {
      this.#k = 0;
      this.#off = (this.#i / this.#fpb) * this.#bsize;
    } else {
      this.#off += this.#fsize;
    }
    this.#held = false;
    if (this.#npend === this.#flushAt) this.#flush();
  }

  /**
   * Give the pending frames back (TP_STATUS_KERNEL). One atomic
   * read-modify-write first (a full barrier: our reads of those frames are
   * done before the kernel can see one free), then plain stores.
   */
  #flush(): void {
    const u32 = this.#u32, st = this.#status, k = this.#kernel, pend = this.#pend;
    Atomics.add(u32, (pend[0] + st) >>> 2, 0);
    for (let j = this.#npend - 1; j >= 0; j--) u32[(pend[j] + st) >>> 2] = k;
    this.#npend = 0;
  }

  ready(): boolean {
    if (this.closed) return false;
    if (this.#held) this.#release();
    if ((Atomics.load(this.#u32, (this.#off + this.#status) >>> 2) & this.#user) !== 0) return true;
    if (this.#npend) this.#flush();
    return false;
  }

  next(): Packet | null {
    if (this.closed) return null;
    if (this.#held) this.#release();
    const u32 = this.#u32, h = this.#off;
    if ((Atomics.load(u32, (h + this.#status) >>> 2) & this.#user) === 0) {
      if (this.#npend) this.#flush(); // caught up: hand everything back now
      return null;
    }
    this.#held = true;
    const p = this.#pkt;
    p.hdr = h;
    // tp_mac: the low half of a little-endian u32 read (see ring_v3.ts)
    p.offset = h + (u32[(h + this.#mac) >>> 2] & 0xffff);
    this.bytesRead += u32[(h + this.#len) >>> 2];
    return p;
  }

  /** The frame the reader waits on; every frame read is given back first (poll() needs it). */
  protected cursor(): number {
    if (this.#held) this.#release();
    if (this.#npend) this.#flush();
    return this.#i;
  }

  protected detach(): void {
    this.#pkt.detach();
    this.#u32 = new Uint32Array(EMPTY);
    this.#held = false;
    this.#npend = 0;
    detachBuffer(this.#buf);
  }
}

Ring.register(3, V2Ring as unknown as new (m: Mapping) => Ring);
