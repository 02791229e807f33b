/**
 * The reader for AF_XDP captures (libring's "xdp" backend; layout kind 4).
 *
 * Three mappings, each made once: the UMEM (fixed-size chunks the kernel
 * writes frames into; the Ring's main buffer, so `Packet.data` is the UMEM),
 * the RX ring (descriptors `{u64 addr, u32 len, u32 options}` the kernel
 * produces) and the fill ring (u64 chunk addresses we give back). The kernel
 * publishes descriptors by moving the RX producer word after writing them; we
 * read that word with `Atomics.load`, read descriptors and frames in place,
 * and hand chunks back in batches of up to 64: their addresses go into the
 * fill ring, then one `Atomics.store` of the fill producer and one of the RX
 * consumer (sequentially consistent stores: our reads of those frames are
 * done before the kernel can reuse a chunk). Every chunk was put on the fill
 * ring at open and the fill ring holds them all, so it never overflows.
 *
 * Per packet: two loads from the descriptor, one store into the fill ring.
 * No allocation, no FFI, no copy. The snap length is applied here (`caplen`
 * = min(frame length, snaplen)); the frame stays whole in the UMEM.
 *
 * Timestamps: with libring's XDP program (libring/bpf/xsk_ts.bpf.c, layout
 * `xdp_ts` = 1) each frame carries the kernel's CLOCK_MONOTONIC nanoseconds
 * (`bpf_ktime_get_ns()` at XDP time) in the 8 bytes of metadata before it
 * (desc.addr - 8); they become real time with one offset libring took at
 * open (`xdp_t0_*`: the monotonic and real clocks read together), computed
 * relative to that moment so the arithmetic stays exact (doubles) for 104
 * days of capture. Read when `tsSec`/`tsNsec` are asked for (two loads and a
 * few arithmetic operations, once per packet): a reader that never asks
 * never touches the frame's page.
 * With libxdp's own program (no clang at build time, RINGCAP_XDP_PROG=default)
 * or a driver that keeps no metadata, the stamp is 0 and `tsSec`/`tsNsec`
 * are 0 (never a clock read per batch presented as a packet time). VLAN:
 * tags stay in the frame bytes where the driver does not strip them;
 * `vlanTci` is -1.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts"; // registers this reader
 * const ring = await Ring.open("veth1", { backend: "xdp" });
 * await ring.wait(1000);
 * const p = ring.next();
 * if (p) console.log(p.caplen, p.wirelen, ring.layout.xdp_mode);
 * ring.close();
 * ```
 */
import type { Packet } from "../../packet.ts";
import { detachBuffer, type Mapping, Ring } from "./ring_base.ts";

const EMPTY = new ArrayBuffer(0);
/** Chunks handed back to the kernel at once (at most). */
const BATCH = 64;

/** The reused packet view over a UMEM chunk. */
export class XdpPacket implements Packet {
  data: Uint8Array;
  view: DataView;
  offset = 0;
  caplen = 0;
  wirelen = 0;
  /** Packets handed out so far: which frame the cached stamp belongs to. */
  serial = 0;
  #at = -1;
  #sec = 0;
  #nsec = 0;
  /** The clocks at open (ring layout xdp_t0_*), and whether frames carry stamps. */
  #ts = false;
  #t0hi = 0;
  #t0lo = 0;
  #t0sec = 0;
  #t0nsec = 0;
  #inChunk = 0;
  readonly vlanTci = -1;
  readonly vlanTpid = 0;
  readonly ifindex: number;

  constructor(buf: ArrayBuffer, ifindex: number) {
    this.data = new Uint8Array(buf);
    this.view = new DataView(buf);
    this.ifindex = ifindex;
  }
  bytes(): Uint8Array {
    return this.data.subarray(this.offset, this.offset + this.caplen);
  }

  /** The clocks libring read at open (monotonic ns as hi/lo words, real sec/ns); `chunk` the UMEM chunk size. */
  clock(ts: boolean, hi: number, lo: number, sec: number, nsec: number, chunk: number): void {
    this.#ts = ts;
    this.#t0hi = hi;
    this.#t0lo = lo;
    this.#t0sec = sec;
    this.#t0nsec = nsec;
    this.#inChunk = chunk - 1;
  }

  /**
   * The kernel's XDP-time stamp in real time; 0 without libring's XDP program
   * (see the module comment). Read from the frame's metadata when asked (a
   * reader that never asks, like a counter, never touches the frame's page).
   */
  get tsSec(): number {
    if (this.#at !== this.serial) this.#stamp();
    return this.#sec;
  }
  get tsNsec(): number {
    if (this.#at !== this.serial) this.#stamp();
    return this.#nsec;
  }

  /** The metadata: CLOCK_MONOTONIC ns, a little-endian u64 at offset - 8, made real time. */
  #stamp(): void {
    this.#at = this.serial;
    const off = this.offset, v = this.view;
    const meta = this.#ts && (off & this.#inChunk) >= 8; // room for it in this chunk
    const lo = meta ? v.getUint32(off - 8, true) : 0, hi = meta ? v.getUint32(off - 4, true) : 0;
    if (lo === 0 && hi === 0) {
      this.#sec = this.#nsec = 0; // no stamp (libxdp's program, or no metadata on this driver)
      return;
    }
    const ns = (hi - this.#t0hi) * 4294967296 + (lo - this.#t0lo) + this.#t0nsec; // since t0's second
    const sec = Math.floor(ns / 1e9);
    this.#sec = this.#t0sec + sec;
    this.#nsec = ns - sec * 1e9;
  }

  /** Make the views empty (the UMEM is being unmapped). */
  detach(): void {
    this.data = new Uint8Array(EMPTY);
    this.view = new DataView(EMPTY);
    this.caplen = this.wirelen = this.offset = 0;
  }
}

/** Ring reader for AF_XDP (layout kind 4). */
export class XdpRing extends Ring {
  #umem: ArrayBuffer;
  #rxBuf: ArrayBuffer;
  #fillBuf: ArrayBuffer;
  #rx: Uint32Array;
  #fill: Uint32Array;
  #pkt: XdpPacket;
  /** RX consumer (ours), the RX producer last loaded, and the fill producer (ours): free-running u32. */
  #cons: number;
  #prod: number;
  #fprod: number;
  /** The Packet handed out last still holds descriptor #cons. */
  #held = false;
  /** Chunks read but not handed back yet. */
  #pend = 0;
  readonly #mask: number;
  readonly #prodIdx: number;
  readonly #consIdx: number;
  readonly #desc: number;
  readonly #fprodIdx: number;
  readonly #fdesc: number;
  readonly #chunkMask: number;
  readonly #snap: number;
  /** Per-packet stamps in the metadata (libring's XDP program). */
  readonly #ts: boolean;

  constructor(m: Mapping) {
    super(m);
    const L = m.layout;
    this.#umem = m.buffer;
    this.#rxBuf = m.lib.view(BigInt(L.xdp_rx_map), L.xdp_rx_map_size);
    this.#fillBuf = m.lib.view(BigInt(L.xdp_fill_map), L.xdp_fill_map_size);
    this.#rx = new Uint32Array(this.#rxBuf, 0, this.#rxBuf.byteLength >>> 2);
    this.#fill = new Uint32Array(this.#fillBuf, 0, this.#fillBuf.byteLength >>> 2);
    this.#pkt = new XdpPacket(m.buffer, L.ifindex);
    this.#mask = L.xdp_ring_entries - 1;
    this.#prodIdx = L.xdp_rx_prod_off >>> 2;
    this.#consIdx = L.xdp_rx_cons_off >>> 2;
    this.#desc = L.xdp_rx_desc_off;
    this.#fprodIdx = L.xdp_fill_prod_off >>> 2;
    this.#fdesc = L.xdp_fill_desc_off;
    this.#chunkMask = ~(L.xdp_chunk - 1);
    this.#snap = L.snaplen;
    this.#ts = L.xdp_ts === 1;
    this.#pkt.clock(
      this.#ts,
      L.xdp_t0_hi ?? 0,
      L.xdp_t0_lo ?? 0,
      L.xdp_t0_sec ?? 0,
      L.xdp_t0_nsec ?? 0,
      L.xdp_chunk,
    );
    if (L.xdp_desc_size !== 16 || L.xdp_desc_addr_off !== 0 || L.xdp_desc_len_off !== 8) {
      throw new Error(
        `unexpected struct xdp_desc layout ${L.xdp_desc_size}/${L.xdp_desc_addr_off}/${L.xdp_desc_len_off}`,
      );
    }
    this.#cons = Atomics.load(this.#rx, this.#consIdx);
    this.#prod = Atomics.load(this.#rx, this.#prodIdx);
    this.#fprod = Atomics.load(this.#fill, this.#fprodIdx);
  }

  /** True when each packet carries the kernel's XDP-time stamp (libring's XDP program is attached). */
  get timestamps(): boolean {
    return this.#ts;
  }

  /** "generic" (skb mode) or "native" (driver mode), and whether the kernel bound zero-copy. */
  get xdpMode(): { mode: "generic" | "native"; zeroCopy: boolean; queue: number } {
    const L = this.layout;
    return {
      mode: L.xdp_mode === 2 ? "native" : "generic",
      zeroCopy: L.xdp_zerocopy === 1,
      queue: L.xdp_queue,
    };
  }

  /** Done with the held descriptor: its chunk goes to the fill ring (published in #flush). */
  #release(): void {
    const rx = this.#rx;
    const addr = rx[(this.#desc + ((this.#cons & this.#mask) << 4)) >>> 2];
    const f = (this.#fdesc + ((this.#fprod & this.#mask) << 3)) >>> 2;
    this.#fill[f] = addr & this.#chunkMask;
    this.#fill[f + 1] = 0;
    this.#fprod = (this.#fprod + 1) >>> 0;
    this.#cons = (this.#cons + 1) >>> 0;
    this.#held = false;
    if (++this.#pend === BATCH) this.#flush();
  }

  /** Publish the chunks read: fill producer, then RX consumer. */
  #flush(): void {
    Atomics.store(this.#fill, this.#fprodIdx, this.#fprod);
    Atomics.store(this.#rx, this.#consIdx, this.#cons);
    this.#pend = 0;
  }

  ready(): boolean {
    if (this.closed) return false;
    if (this.#held) this.#release();
    if (this.#cons !== this.#prod) return true;
    this.#prod = Atomics.load(this.#rx, this.#prodIdx);
    if (this.#cons !== this.#prod) return true;
    if (this.#pend) this.#flush();
    return false;
  }

  next(): Packet | null {
    if (this.closed) return null;
    if (this.#held) this.#release();
    if (this.#cons === this.#prod) {
      this.#prod = Atomics.load(this.#rx, this.#prodIdx);
      if (this.#cons === this.#prod) {
        if (this.#pend) this.#flush(); // caught up: hand everything back now
        return null;
      }
    }
    const rx = this.#rx, d = (this.#desc + ((this.#cons & this.#mask) << 4)) >>> 2;
    const p = this.#pkt, len = rx[d + 2];
    const off = rx[d]; // UMEM < 4 GiB: the low word of the u64 address
    p.offset = off;
    p.wirelen = len;
    p.caplen = len < this.#snap ? len : this.#snap;
    p.serial++; // its stamp is read from the metadata when asked (tsSec, tsNsec)
    this.bytesRead += len;
    this.#held = true;
    return p;
  }

  /** The RX index the reader waits on; every chunk read is handed back first. */
  protected cursor(): number {
    if (this.#held) this.#release();
    if (this.#pend) this.#flush();
    return this.#cons;
  }

  protected detach(): void {
    this.#pkt.detach();
    this.#rx = new Uint32Array(EMPTY);
    this.#fill = new Uint32Array(EMPTY);
    this.#held = false;
    this.#pend = 0;
    detachBuffer(this.#rxBuf);
    detachBuffer(this.#fillBuf);
    detachBuffer(this.#umem);
  }
}

Ring.register(4, XdpRing as unknown as new (m: Mapping) => Ring);
