/**
 * The reader for the ringcap kernel module's slot rings (libring's "ring"
 * backend; ABI: kernel/include/uapi/ringcap.h).
 *
 * The ring is `slot_count` slots of `slot_size` bytes starting at
 * `slot_base_off`. The kernel fills them in order and publishes a slot by
 * writing its status word READY last (after a write barrier); we read that
 * word with `Atomics.load`, read the header and frame in place, and give
 * slots back by storing FREE: in batches of up to 64 (fewer than the ring
 * holds), after one atomic read-modify-write that orders our reads before
 * the stores, and at once whenever we catch up with the kernel or wait (see
 * #flush). The reused Packet stays valid until the next `next()`. Our
 * position (a u32 slot index) goes to `read_idx_off` before each wait: the
 * kernel uses it only to decide poll() readiness. All offsets come from
 * libring's layout description (offsetof in C).
 *
 * Per packet: an atomic load, a few loads, one plain store. No allocation, no FFI.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts";
 * const ring = await Ring.open("eth0", { backend: "ring" });
 * await ring.wait(1000);
 * const p = ring.next();
 * if (p) console.log(p.caplen, p.wirelen, p.vlanTci);
 * ring.close();
 * ```
 */
import type { Packet } from "../../packet.ts";
import { MappedPacket } from "./mapped_packet.ts";
import { detachBuffer, type Mapping, Ring } from "./ring_base.ts";

const EMPTY = new ArrayBuffer(0);

/** The reused packet view over a module slot. */
export class SlotPacket extends MappedPacket {
  readonly #ifindex: number;
  readonly #flags: number;
  readonly #tci: number;
  readonly #tpid: number;
  readonly #vlanFlag: number;

  constructor(buf: ArrayBuffer, L: Record<string, number>) {
    super(buf, {
      sec: L.slot_sec_off,
      nsec: L.slot_nsec_off,
      caplen: L.slot_caplen_off,
      wirelen: L.slot_wirelen_off,
    });
    this.#ifindex = L.slot_ifindex_off;
    this.#flags = L.slot_flags_off;
    this.#tci = L.slot_vlan_tci_off;
    this.#tpid = L.slot_vlan_tpid_off;
    this.#vlanFlag = L.slot_flag_vlan;
  }
  get ifindex(): number {
    return this.u32[(this.hdr + this.#ifindex) >>> 2];
  }
  get vlanTci(): number {
    const f = this.view.getUint16(this.hdr + this.#flags, true);
    return f & this.#vlanFlag ? this.view.getUint16(this.hdr + this.#tci, true) : -1;
  }
  get vlanTpid(): number {
    const f = this.view.getUint16(this.hdr + this.#flags, true);
    return f & this.#vlanFlag ? this.view.getUint16(this.hdr + this.#tpid, true) : 0;
  }
}

/** Ring reader for the module's slot layout (layout kind 2). */
export class SlotRing extends Ring {
  #buf: ArrayBuffer;
  #u32: Uint32Array;
  #pkt: SlotPacket;
  /** Slot index the reader is at, and that slot's byte offset. */
  #r = 0;
  #off: number;
  /** The Packet handed out last still holds slot #r. */
  #held = false;
  /** Slots read but not yet given back: how many, and the first one's offset. */
  #pend = 0;
  #pendOff = 0;
  readonly #flushAt: number;
  readonly #base: number;
  readonly #end: number;
  readonly #size: number;
  readonly #count: number;
  readonly #status: number;
  readonly #wirelen: number;
  readonly #data: number;
  readonly #ready: number;
  readonly #free: number;
  readonly #readIdx: number;

  constructor(m: Mapping) {
    super(m);
    const L = m.layout;
    this.#buf = m.buffer;
    this.#u32 = new Uint32Array(m.buffer, 0, m.buffer.byteLength >>> 2);
    this.#pkt = new SlotPacket(m.buffer, L);
    this.#base = L.slot_base_off;
    this.#size = L.slot_size;
    this.#count = L.slot_count;
    this.#end = this.#base + this.#count * this.#size;
    this.#status = L.slot_status_off;
    this.#wirelen = L.slot_wirelen_off;
    this.#data = L.slot_data_off;
    this.#ready = L.slot_ready;
    this.#free = L.slot_free;
    this.#readIdx = L.read_idx_off;
    this.#off = this.#base;
    // Fewer pending slots than the ring holds, so the reader never comes
    // back round to a slot it has read but not given back.
    this.#flushAt = Math.max(1, Math.min(64, this.#count - 1));
  }

  /** Done with the held slot: it joins the pending ones; move to the next slot. */
  #release(): void {
    if (this.#pend++ === 0) this.#pendOff = this.#off;
    const r = this.#r + 1;
    if (r === this.#count) {
      this.#r = 0;
      this.#off = this.#base;
    } else {
      this.#r = r;
      this.#off += this.#size;
    }
    this.#held = false;
    if (this.#pend >= this.#flushAt) this.#flush();
  }

  /**
   * Give the pending slots back (status FREE). One atomic read-modify-write
   * (a full barrier in every engine and CPU: our reads of those slots are
   * done before any FREE is visible), then plain stores: one atomic per
   * batch instead of one per packet (an atomic store costs 10-30 ns
   * natively and far more under emulation).
   */
  #flush(): void {
    const u32 = this.#u32, st = this.#status, size = this.#size, free = this.#free;
    let off = this.#pendOff;
    Atomics.add(u32, this.#readIdx >>> 2, 0);
    for (let k = this.#pend; k > 0; k--) {
      u32[(off + st) >>> 2] = free;
      off += size;
      if (off === this.#end) off = this.#base;
    }
    this.#pend = 0;
  }

  ready(): boolean {
    if (this.closed) return false;
    if (this.#held) this.#release();
    if (Atomics.load(this.#u32, (this.#off + this.#status) >>> 2) === this.#ready) return true;
    if (this.#pend) this.#flush();
    return false;
  }

  next(): Packet | null {
    if (this.closed) return null;
    if (this.#held) this.#release();
    const off = this.#off;
    if (Atomics.load(this.#u32, (off + this.#status) >>> 2) !== this.#ready) {
      if (this.#pend) this.#flush(); // caught up: hand everything back now
      return null;
    }
    this.#held = true;
    const p = this.#pkt;
    p.hdr = off;
    p.offset = off + this.#data;
    this.bytesRead += this.#u32[(off + this.#wirelen) >>> 2];
    return p;
  }

  /** Where the reader waits; also publishes it for the kernel's poll(). */
  protected cursor(): number {
    if (this.#held) this.#release();
    if (this.#pend) this.#flush();
    Atomics.store(this.#u32, this.#readIdx >>> 2, this.#r);
    return this.#r;
  }

  protected detach(): void {
    this.#pkt.detach();
    this.#u32 = new Uint32Array(EMPTY);
    this.#held = false;
    detachBuffer(this.#buf);
  }
}

Ring.register(2, SlotRing as unknown as new (m: Mapping) => Ring);
