/**
 * `FlowTable`: the flow meter. Packets in, expired flows out.
 *
 * Open addressing (linear probing, backward-shift deletion, no tombstones)
 * over typed arrays: each slot holds the flow index and its hash side by side
 * (a probe compares hashes without a second load); everything of one flow —
 * its packed key (see key.ts), state, TCP flags, packets, bytes, first and last
 * times, list links — in one 128-byte record (two adjacent cache lines of one
 * page, the key and packet count in the first), so a packet of a known flow
 * touches its slot and its record and nothing else; flows threaded on index-linked
 * lists (idle order, TCP-ended order, start order) so every expiry check is
 * O(1) at the head of a list, and `add()` looks at the lists only when the
 * earliest time any head falls due (`nextDueMs`) has passed. Nothing is
 * allocated per packet. Time is the packet timestamps', so a run over a file
 * is deterministic.
 *
 * Expiry rules: idle timeout (no packet for `idleTimeout` s), active timeout
 * (a flow older than `activeTimeout` s is exported; the next packet starts a
 * new flow), TCP FIN/RST (the flow is exported `tcpEndTimeout` s after its
 * last packet, so the closing ACK still counts in it; a new SYN closes it at
 * once), and a bounded table: at `maxFlows` the least recently seen flow is
 * evicted (`evicted` counts them). `flush()` exports every flow (shutdown).
 *
 * @module
 */
import type { Packet } from "../../packet.ts";
import type { Decoded } from "../../decode/decoded.ts";
import { hash4, hashKey, K_DST, K_IF, K_PORTS, K_PROTO, K_SRC, K_VLAN, KEY_WORDS, packKey } from "./key.ts";
import { EndReason, FlowRecord } from "./record.ts";

/** Flow table settings (times in seconds, like nProbe's -t/-d). */
export interface FlowTableOptions {
  /** Called with the table's reused record for every expired flow; encode it at once. */
  onExpire: (rec: FlowRecord) => void;
  /** Most flows kept at once (default 262144); a new flow beyond it evicts the least recently seen. */
  maxFlows?: number;
  /** Active timeout, s (default 60). */
  activeTimeout?: number;
  /** Idle timeout, s (default 15). */
  idleTimeout?: number;
  /** After TCP FIN/RST, export this long after the flow's last packet, s (default 1; 0 = at once). */
  tcpEndTimeout?: number;
}

const FREE = 0, LIVE = 1, ENDED = 2;
const NIL = -1;
// ends[] holds [head, tail] of: the idle list (live flows by last packet), the ended list
// (TCP FIN/RST) and the age list (by first packet); a list is named by its head index.
const IDLE_H = 0, END_H = 2, AGE_H = 4;
// A flow's record: STRIDE 32-bit words (128 bytes) from f * STRIDE, seen as words (`w`, `lk`) and as
// doubles (`dbl`, from f * DSTRIDE). Words 0-11 the key, 12 the hash, 13 the state, 26 the TCP flags;
// double 7 (bytes 56-63) the packets: the first cache line; doubles 8-10 bytes, last, first ms; words
// 22-25 [prev, next] of the idle/ended list (from L_PREV) then of the age list (from A_PREV).
const STRIDE = 32, DSTRIDE = 16;
const W_HASH = 12, W_STATE = 13, W_FLAGS = 26;
const D_PKTS = 7, D_OCT = 8, D_LAST = 9, D_FIRST = 10;
const L_PREV = 22, A_PREV = 24;

/**
 * The flow meter.
 *
 * @example
 * ```ts
 * import { FlowTable } from "./table.ts";
 * import { Decoded, decode } from "../../decode/mod.ts";
 * import type { PacketSource } from "../../packet.ts";
 * function meter(src: PacketSource): void {
 *   const table = new FlowTable({ onExpire: (r) => console.log(r.packets, r.bytes), idleTimeout: 15 });
 *   const d = new Decoded();
 *   for (let p = src.next(); p; p = src.next()) table.add(p, decode(p, d));
 *   table.flush(); // shutdown: export what is left
 * }
 * meter;
 * ```
 */
export class FlowTable {
  /** Most flows kept at once. */
  readonly maxFlows: number;
  /** Timeouts in milliseconds. */
  readonly activeMs: number;
  readonly idleMs: number;
  readonly tcpEndMs: number;
  /** The record handed to `onExpire` (reused). */
  readonly record: FlowRecord = new FlowRecord();

  /** Packets and bytes metered (IP packets only). */
  packets = 0;
  bytes = 0;
  /** Packets skipped because they are not IPv4/IPv6. */
  ignored = 0;
  /** Flows created, exported, and evicted because the table was full. */
  created = 0;
  exported = 0;
  evicted = 0;
  /** Newest packet time seen, ms since the epoch (0 before the first packet). */
  nowMs = 0;
  /** Time of the first packet, ms (NaN before it). */
  firstPacketMs = NaN;

  private readonly onExpire: (rec: FlowRecord) => void;
  private mask: number;
  private slots: Int32Array; // per slot [flow index + 1 (0 = empty), hash]; grows with the flows
  private readonly maxSlots: number;
  private readonly w: Uint32Array; // the flow records as words
  private readonly lk: Int32Array; // the same, signed (list links)
  private readonly dbl: Float64Array; // the same, as doubles
  private readonly freeStack: Int32Array;
  /** No list head falls due before this time (ms): until then `add()` skips `expire()`. */
  private nextDueMs = Infinity;
  private freeTop: number;
  private readonly ends = new Int32Array([NIL, NIL, NIL, NIL, NIL, NIL]);
  private readonly k = new Uint32Array(KEY_WORDS);
  private count = 0;

  constructor(opts: FlowTableOptions) {
    const max = opts.maxFlows ?? 262144;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxFlows must be a positive integer, got ${max}`);
    }
    for (
      const [n, v] of [["activeTimeout", opts.activeTimeout], ["idleTimeout", opts.idleTimeout]] as const
    ) {
      if (v !== undefined && !(v > 0)) throw new RangeError(`${n} must be > 0 seconds, got ${v}`);
    }
    this.onExpire = opts.onExpire;
    this.maxFlows = max;
    this.activeMs = (opts.activeTimeout ?? 60) * 1000;
    this.idleMs = (opts.idleTimeout ?? 15) * 1000;
    this.tcpEndMs = Math.max(0, opts.tcpEndTimeout ?? 1) * 1000;
    let cap = 16;
    while (cap < max * 2) cap *= 2;
    this.maxSlots = cap;
    // at most half full; sized to the flows in use (a slot array for 262,144 flows is 4 MiB,
    // and every packet reads one slot at random in it)
    cap = Math.min(cap, 1024);
    this.mask = cap - 1;
    this.slots = new Int32Array(cap * 2);
    const records = new ArrayBuffer(max * STRIDE * 4);
    this.w = new Uint32Array(records);
    this.lk = new Int32Array(records);
    this.dbl = new Float64Array(records);
    this.freeStack = new Int32Array(max);
    for (let i = 0; i < max; i++) this.freeStack[i] = max - 1 - i;
    this.freeTop = max;
  }

  /** Flows currently in the table. */
  get size(): number {
    return this.count;
  }

  /**
   * Meter one decoded packet (the hot path: no allocation). Expires due flows first.
   *
   * @example
   * ```ts
   * import { FlowTable } from "./table.ts";
   * import type { Decoded } from "../../decode/decoded.ts";
   * import type { Packet } from "../../packet.ts";
   * const t = new FlowTable({ onExpire: () => {} });
   * const one = (pkt: Packet, d: Decoded) => t.add(pkt, d); // d filled by decode()
   * one;
   * ```
   */
  add(pkt: Packet, d: Decoded): void {
    const k = this.k, v4 = d.ipVersion === 4;
    // the key's words that can be non-zero: an IPv4 key straight from `d` (written out only for a
    // new flow), an IPv6 one packed into k
    let k0: number, k4: number, k8: number, k9: number;
    if (v4) {
      k0 = d.src4;
      k4 = d.dst4;
      k8 = d.icmpType >= 0
        ? ((d.icmpType & 255) << 8) | (d.icmpCode & 255)
        : ((d.srcPort << 16) | d.dstPort) >>> 0;
      k9 = (d.protocol & 255) | ((d.tos & 255) << 8) | (4 << 16);
    } else if (packKey(pkt, d, k, 0)) {
      k0 = k[0];
      k4 = k[4];
      k8 = k[8];
      k9 = k[9];
    } else {
      this.ignored++;
      return;
    }
    const k10 = d.vlanId + 1, k11 = pkt.ifindex >>> 0;
    const now = pkt.tsSec * 1000 + pkt.tsNsec / 1e6;
    if (now > this.nowMs) this.nowMs = now;
    if (this.firstPacketMs !== this.firstPacketMs) this.firstPacketMs = now; // NaN: the first packet
    if (this.nowMs >= this.nextDueMs) this.expire(this.nowMs);

    const h = v4 ? hash4(k0, k4, k8, k9, k10, k11) : hashKey(k, 0);
    const slots = this.slots, keys = this.w, mask = this.mask, hs = h | 0;
    let i = h & mask;
    let f = NIL;
    // an IPv4 key (version 4 in its protocol word) has zeros in address words 1-3 and 5-7:
    // equal protocol words and the six other words are equal keys
    for (let s = slots[2 * i]; s !== 0; s = slots[2 * i]) {
      if (slots[2 * i + 1] === hs) {
        const c = s - 1, b = c * STRIDE;
        if (
          keys[b] === k0 && keys[b + 4] === k4 && keys[b + 8] === k8 && keys[b + 9] === k9 &&
          keys[b + 10] === k10 && keys[b + 11] === k11 &&
          (v4 || (keys[b + 1] === k[1] && keys[b + 2] === k[2] && keys[b + 3] === k[3] &&
            keys[b + 5] === k[5] && keys[b + 6] === k[6] && keys[b + 7] === k[7]))
        ) {
          f = c;
          break;
        }
      }
      i = (i + 1) & mask;
    }
    const tcp = (k9 & 255) === 6;
    const tf = tcp ? d.tcpFlags & 255 : 0;
    if (f !== NIL && keys[f * STRIDE + W_STATE] === ENDED && (tf & 0x12) === 0x02) {
      // a new connection (SYN without ACK) on a 5-tuple that just closed
      this.expireFlow(f, EndReason.END);
      f = NIL;
    }
    if (f === NIL) {
      if (this.count >= this.maxFlows) {
        this.evicted++;
        this.expireFlow(this.ends[END_H] !== NIL ? this.ends[END_H] : this.ends[IDLE_H], EndReason.RESOURCES);
      }
      if ((this.count + 1) * 2 > this.mask + 1 && this.mask + 1 < this.maxSlots) this.growSlots();
      const sl = this.slots, m = this.mask;
      f = this.freeStack[--this.freeTop];
      i = h & m; // deletions above may have shifted entries: find the first empty slot again
      while (sl[2 * i] !== 0) i = (i + 1) & m;
      sl[2 * i] = f + 1;
      sl[2 * i + 1] = hs;
      const b = f * STRIDE, r = f * DSTRIDE, dbl = this.dbl;
      if (v4) {
        for (let j = 0; j < 8; j++) keys[b + j] = 0;
        keys[b + K_SRC] = k0;
        keys[b + K_DST] = k4;
        keys[b + K_PORTS] = k8;
        keys[b + K_PROTO] = k9;
        keys[b + K_VLAN] = k10;
        keys[b + K_IF] = k11;
      } else for (let j = 0; j < KEY_WORDS; j++) keys[b + j] = k[j];
      keys[b + W_HASH] = h;
      keys[b + W_FLAGS] = 0;
      keys[b + W_STATE] = LIVE;
      dbl[r + D_PKTS] = 1;
      dbl[r + D_OCT] = d.ipLength;
      dbl[r + D_FIRST] = now;
      dbl[r + D_LAST] = now;
      this.count++;
      this.created++;
      this.append(L_PREV, IDLE_H, f);
      this.append(A_PREV, AGE_H, f);
    } else {
      const r = f * DSTRIDE, dbl = this.dbl;
      dbl[r + D_PKTS]++;
      dbl[r + D_OCT] += d.ipLength;
      if (now > dbl[r + D_LAST]) dbl[r + D_LAST] = now;
      else if (now < dbl[r + D_FIRST]) dbl[r + D_FIRST] = now;
      // most recently seen: to the tail of its list (already there when it is the tail)
      const li = keys[f * STRIDE + W_STATE] === ENDED ? END_H : IDLE_H;
      if (this.ends[li + 1] !== f) {
        this.unlink(L_PREV, li, f);
        this.append(L_PREV, li, f);
      }
    }
    this.packets++;
    this.bytes += d.ipLength;
    if (tf !== 0) {
      const b = f * STRIDE;
      keys[b + W_FLAGS] |= tf;
      if ((tf & 0x05) !== 0 && keys[b + W_STATE] === LIVE) {
        keys[b + W_STATE] = ENDED;
        this.unlink(L_PREV, IDLE_H, f);
        this.append(L_PREV, END_H, f);
        if (this.tcpEndMs === 0) this.expireFlow(f, EndReason.END);
      }
    }
  }

  /**
   * Export the flows due at `nowMs` (idle, TCP-ended, active timeouts); returns how many.
   * `add()` calls it; call it yourself when no packet arrives (live capture), with the wall clock.
   *
   * @example
   * ```ts
   * import { FlowTable } from "./table.ts";
   * const t = new FlowTable({ onExpire: () => {} });
   * t.expire(Date.now());
   * ```
   */
  expire(nowMs: number): number {
    const ends = this.ends, rec = this.dbl;
    let n = 0;
    for (
      let f = ends[IDLE_H];
      f !== NIL && rec[f * DSTRIDE + D_LAST] + this.idleMs <= nowMs;
      f = ends[IDLE_H]
    ) {
      this.expireFlow(f, EndReason.IDLE);
      n++;
    }
    for (
      let f = ends[END_H];
      f !== NIL && rec[f * DSTRIDE + D_LAST] + this.tcpEndMs <= nowMs;
      f = ends[END_H]
    ) {
      this.expireFlow(f, EndReason.END);
      n++;
    }
    for (
      let f = ends[AGE_H];
      f !== NIL && rec[f * DSTRIDE + D_FIRST] + this.activeMs <= nowMs;
      f = ends[AGE_H]
    ) {
      this.expireFlow(f, EndReason.ACTIVE);
      n++;
    }
    // the heads now: the earliest any of them falls due
    let due = Infinity;
    if (ends[IDLE_H] !== NIL) due = rec[ends[IDLE_H] * DSTRIDE + D_LAST] + this.idleMs;
    if (ends[END_H] !== NIL) due = Math.min(due, rec[ends[END_H] * DSTRIDE + D_LAST] + this.tcpEndMs);
    if (ends[AGE_H] !== NIL) due = Math.min(due, rec[ends[AGE_H] * DSTRIDE + D_FIRST] + this.activeMs);
    this.nextDueMs = due;
    return n;
  }

  /**
   * Export every flow in the table, oldest first (shutdown, end of file); returns how many.
   *
   * @example
   * ```ts
   * import { FlowTable } from "./table.ts";
   * const t = new FlowTable({ onExpire: (r) => console.log(r.endReason) });
   * t.flush(); // each record has endReason 4 (forced end)
   * ```
   */
  flush(reason: number = EndReason.FORCED): number {
    let n = 0;
    for (let f = this.ends[AGE_H]; f !== NIL; f = this.ends[AGE_H]) {
      // a flow already ended by FIN/RST keeps its reason
      this.expireFlow(f, this.w[f * STRIDE + W_STATE] === ENDED ? EndReason.END : reason);
      n++;
    }
    return n;
  }

  private expireFlow(f: number, reason: number): void {
    const r = this.record, keys = this.w, b = f * STRIDE;
    const pw = keys[b + K_PROTO];
    r.ipVersion = pw >>> 16;
    if (r.ipVersion === 4) {
      r.src4 = keys[b + K_SRC];
      r.dst4 = keys[b + K_DST];
      r.src6.fill(0);
      r.dst6.fill(0);
    } else {
      r.src4 = 0;
      r.dst4 = 0;
      for (let j = 0; j < 4; j++) {
        r.src6[j] = keys[b + K_SRC + j];
        r.dst6[j] = keys[b + K_DST + j];
      }
    }
    const ports = keys[b + K_PORTS];
    r.srcPort = ports >>> 16;
    r.dstPort = ports & 0xffff;
    r.protocol = pw & 255;
    r.tos = (pw >>> 8) & 255;
    r.vlanId = keys[b + K_VLAN] - 1;
    r.ifindex = keys[b + K_IF];
    r.tcpFlags = keys[b + W_FLAGS];
    const q = f * DSTRIDE, rec = this.dbl;
    r.packets = rec[q + D_PKTS];
    r.bytes = rec[q + D_OCT];
    r.firstMs = rec[q + D_FIRST];
    r.lastMs = rec[q + D_LAST];
    r.endReason = reason;
    this.remove(f);
    this.exported++;
    this.onExpire(r);
  }

  /** Twice the slots: every entry re-placed by its hash (flow indexes do not move). */
  private growSlots(): void {
    const old = this.slots, cap = (this.mask + 1) * 2, mask = cap - 1;
    const slots = new Int32Array(cap * 2);
    for (let j = 0; j < old.length; j += 2) {
      if (old[j] === 0) continue;
      let i = old[j + 1] & mask;
      while (slots[2 * i] !== 0) i = (i + 1) & mask;
      slots[2 * i] = old[j];
      slots[2 * i + 1] = old[j + 1];
    }
    this.slots = slots;
    this.mask = mask;
  }

  private remove(f: number): void {
    const slots = this.slots, mask = this.mask;
    let i = this.w[f * STRIDE + W_HASH] & mask;
    while (slots[2 * i] !== f + 1) i = (i + 1) & mask;
    // backward-shift deletion: pull later entries of the cluster into the hole
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = slots[2 * j];
      if (s === 0) break;
      const home = slots[2 * j + 1] & mask;
      // move s into the hole at i unless its home lies cyclically in (i, j]
      const inRange = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!inRange) {
        slots[2 * i] = s;
        slots[2 * i + 1] = slots[2 * j + 1];
        i = j;
      }
    }
    slots[2 * i] = 0;
    const b = f * STRIDE;
    this.unlink(L_PREV, this.w[b + W_STATE] === ENDED ? END_H : IDLE_H, f);
    this.unlink(A_PREV, AGE_H, f);
    this.w[b + W_STATE] = FREE;
    this.freeStack[this.freeTop++] = f;
    this.count--;
  }

  /** Append flow f at the tail of list h; `at` = L_PREV (idle/ended list links) or A_PREV (age list links). */
  private append(at: number, h: number, f: number): void {
    const ends = this.ends, links = this.lk, t = ends[h + 1];
    links[f * STRIDE + at] = t;
    links[f * STRIDE + at + 1] = NIL;
    if (t !== NIL) links[t * STRIDE + at + 1] = f;
    else {
      ends[h] = f;
      // a new head: it may fall due before the others did
      const r = f * DSTRIDE + (h === AGE_H ? D_FIRST : D_LAST);
      const due = this.dbl[r] + (h === IDLE_H ? this.idleMs : h === END_H ? this.tcpEndMs : this.activeMs);
      if (due < this.nextDueMs) this.nextDueMs = due;
    }
    ends[h + 1] = f;
  }

  private unlink(at: number, h: number, f: number): void {
    const ends = this.ends, links = this.lk, p = links[f * STRIDE + at], n = links[f * STRIDE + at + 1];
    if (p !== NIL) links[p * STRIDE + at + 1] = n;
    else ends[h] = n;
    if (n !== NIL) links[n * STRIDE + at] = p;
    else ends[h + 1] = p;
  }
}
