/**
 * The reader for the ringcap kernel module's slot rings (libring's "ring"
 * backend; ABI 2: kernel/include/uapi/ringcap.h).
 *
 * The ring is `slot_count` slots of `slot_size` bytes starting at
 * `slot_base_off`. The kernel fills them in order and publishes them with a
 * free-running u32 count, `produced` (page 0, stored with release after the
 * slot); we give them back with our own count, `consumed` (page 1). Once a
 * batch (up to 256 slots, a quarter of the ring at most) we read `produced`
 * with `Atomics.load` and store `consumed` with `Atomics.store`; in between,
 * reading a packet touches only its own slot: its header and frame in place,
 * no status word loaded or written back (ABI 1 did both for every slot,
 * which left this reader slower than the TPACKET_V3 one). Everything read is
 * given back before a wait, and `consumed` is what the kernel's poll()
 * compares against. The reused Packet stays valid until the next `next()`.
 * All offsets come from libring's layout description (offsetof in C).
 *
 * Per packet: a few loads and stores on numbers. No allocation, no FFI.
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
  /** Count (free-running u32) of the slots taken from the kernel: read, or in the current batch. */
  #k = 0;
  /** Slots of the current batch not read yet. */
  #left = 0;
  /** Count last stored in `consumed`. */
  #given = 0;
  /** Offset of the next slot to read. */
  #off: number;
  readonly #batch: number;
  readonly #base: number;
  readonly #end: number;
  readonly #size: number;
  readonly #wirelen: number;
  readonly #data: number;
  /** u32 indexes of the produced (kernel page) and consumed (user page) counts. */
  readonly #prod: number;
  readonly #cons: number;

  constructor(m: Mapping) {
    super(m);
    const L = m.layout;
    this.#buf = m.buffer;
    this.#u32 = new Uint32Array(m.buffer, 0, m.buffer.byteLength >>> 2);
    this.#pkt = new SlotPacket(m.buffer, L);
    this.#base = L.slot_base_off;
    this.#size = L.slot_size;
    this.#end = this.#base + L.slot_count * this.#size;
    this.#wirelen = L.slot_wirelen_off;
    this.#data = L.slot_data_off;
    this.#prod = L.produced_off >>> 2;
    this.#cons = L.read_idx_off >>> 2;
    // A ring opened anew starts at 0; start wherever the counts are.
    this.#k = this.#given = this.#u32[this.#cons];
    this.#off = this.#base + (this.#k % L.slot_count) * this.#size;
    // Give back at least every quarter of the ring, so a small ring keeps
    // filling while we read.
    this.#batch = Math.max(1, Math.min(256, L.slot_count >>> 2));
  }

  /**
   * Give back everything read (the Packet handed out last included: we are
   * past it), then take the next batch: how many slots the kernel published
   * beyond ours, at most #batch. One atomic store and one atomic load.
   */
  #refill(): number {
    const u32 = this.#u32, k = this.#k;
    if (this.#given !== k) {
      Atomics.store(u32, this.#cons, k);
      this.#given = k;
    }
    const avail = (Atomics.load(u32, this.#prod) - k) >>> 0;
    if (avail === 0) return 0;
    const n = avail < this.#batch ? avail : this.#batch;
    this.#k = (k + n) >>> 0;
    return n;
  }

  ready(): boolean {
    if (this.#left > 0) return true;
    if (this.closed) return false;
    return Atomics.load(this.#u32, this.#prod) !== this.#k;
  }

  next(): Packet | null {
    if (this.#left === 0) {
      if (this.closed) return null;
      const n = this.#refill();
      if (n === 0) return null;
      this.#left = n - 1;
    } else {
      this.#left--;
    }
    const off = this.#off;
    const nx = off + this.#size;
    this.#off = nx === this.#end ? this.#base : nx;
    const p = this.#pkt;
    p.hdr = off;
    p.offset = off + this.#data;
    this.bytesRead += this.#u32[(off + this.#wirelen) >>> 2];
    return p;
  }

  /** Where the reader waits (its consumed count, lr_wait's cursor on this
   * backend); gives back everything read first, for the kernel's poll(). */
  protected cursor(): number {
    const done = (this.#k - this.#left) >>> 0;
    if (this.#given !== done) {
      Atomics.store(this.#u32, this.#cons, done);
      this.#given = done;
    }
    return done;
  }

  protected detach(): void {
    this.#pkt.detach();
    this.#u32 = new Uint32Array(EMPTY);
    this.#left = 0;
    detachBuffer(this.#buf);
  }
}

Ring.register(2, SlotRing as unknown as new (m: Mapping) => Ring);
