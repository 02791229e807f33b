/**
 * `FlowTable`: the flow meter. Packets in, expired flows out.
 *
 * Open addressing (linear probing, backward-shift deletion, no tombstones)
 * over typed arrays: keys packed in one `Uint32Array` (see key.ts), counters
 * and timestamps in `Float64Array`s, flows threaded on index-linked lists
 * (idle order, TCP-ended order, start order) so every expiry check is O(1)
 * at the head of a list. Nothing is allocated per packet. Time is the packet
 * timestamps', so a run over a file is deterministic.
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
import { hashKey, K_DST, K_IF, K_PORTS, K_PROTO, K_SRC, K_VLAN, KEY_WORDS, packKey } from "./key.ts";
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
  private readonly mask: number;
  private readonly slots: Int32Array; // flow index + 1, 0 = empty
  private readonly keys: Uint32Array;
  private readonly hashes: Uint32Array;
  private readonly pkts: Float64Array;
  private readonly octets: Float64Array;
  private readonly first: Float64Array;
  private readonly last: Float64Array;
  private readonly flags: Uint8Array;
  private readonly state: Uint8Array;
  private readonly prevL: Int32Array; // idle or ended list
  private readonly nextL: Int32Array;
  private readonly prevA: Int32Array; // age list
  private readonly nextA: Int32Array;
  private readonly freeStack: Int32Array;
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
    this.mask = cap - 1;
    this.slots = new Int32Array(cap);
    this.keys = new Uint32Array(max * KEY_WORDS);
    this.hashes = new Uint32Array(max);
    this.pkts = new Float64Array(max);
    this.octets = new Float64Array(max);
    this.first = new Float64Array(max);
    this.last = new Float64Array(max);
    this.flags = new Uint8Array(max);
    this.state = new Uint8Array(max);
    this.prevL = new Int32Array(max);
    this.nextL = new Int32Array(max);
    this.prevA = new Int32Array(max);
    this.nextA = new Int32Array(max);
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
    const k = this.k;
    if (!packKey(pkt, d, k, 0)) {
      this.ignored++;
      return;
    }
    const now = pkt.tsSec * 1000 + pkt.tsNsec / 1e6;
    if (now > this.nowMs) this.nowMs = now;
    if (Number.isNaN(this.firstPacketMs)) this.firstPacketMs = now;
    this.expire(this.nowMs);

    const h = hashKey(k, 0);
    const slots = this.slots, keys = this.keys, hashes = this.hashes, mask = this.mask;
    let i = h & mask;
    let f = NIL;
    for (let s = slots[i]; s !== 0; s = slots[i]) {
      const c = s - 1;
      if (hashes[c] === h) {
        const b = c * KEY_WORDS;
        if (
          keys[b] === k[0] && keys[b + 1] === k[1] && keys[b + 2] === k[2] && keys[b + 3] === k[3] &&
          keys[b + 4] === k[4] && keys[b + 5] === k[5] && keys[b + 6] === k[6] && keys[b + 7] === k[7] &&
          keys[b + 8] === k[8] && keys[b + 9] === k[9] && keys[b + 10] === k[10] && keys[b + 11] === k[11]
        ) {
          f = c;
          break;
        }
      }
      i = (i + 1) & mask;
    }
    const tcp = (k[K_PROTO] & 255) === 6;
    const tf = tcp ? d.tcpFlags & 255 : 0;
    if (f !== NIL && this.state[f] === ENDED && (tf & 0x12) === 0x02) {
      // a new connection (SYN without ACK) on a 5-tuple that just closed
      this.expireFlow(f, EndReason.END);
      f = NIL;
    }
    if (f === NIL) {
      if (this.count >= this.maxFlows) {
        this.evicted++;
        this.expireFlow(this.ends[END_H] !== NIL ? this.ends[END_H] : this.ends[IDLE_H], EndReason.RESOURCES);
      }
      f = this.freeStack[--this.freeTop];
      i = h & mask; // deletions above may have shifted entries: find the first empty slot again
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = f + 1;
      hashes[f] = h;
      keys.set(k, f * KEY_WORDS);
      this.pkts[f] = 0;
      this.octets[f] = 0;
      this.first[f] = now;
      this.last[f] = now;
      this.flags[f] = 0;
      this.state[f] = LIVE;
      this.count++;
      this.created++;
      this.append(this.prevL, this.nextL, IDLE_H, f);
      this.append(this.prevA, this.nextA, AGE_H, f);
    } else {
      if (now > this.last[f]) this.last[f] = now;
      if (now < this.first[f]) this.first[f] = now;
      if (this.nextL[f] !== NIL) {
        const li = this.state[f] === ENDED ? END_H : IDLE_H;
        this.unlink(this.prevL, this.nextL, li, f);
        this.append(this.prevL, this.nextL, li, f);
      }
    }
    this.pkts[f]++;
    this.octets[f] += d.ipLength;
    this.packets++;
    this.bytes += d.ipLength;
    if (tf !== 0) {
      this.flags[f] |= tf;
      if ((tf & 0x05) !== 0 && this.state[f] === LIVE) {
        this.state[f] = ENDED;
        this.unlink(this.prevL, this.nextL, IDLE_H, f);
        this.append(this.prevL, this.nextL, END_H, f);
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
    const ends = this.ends;
    let n = 0;
    for (let f = ends[IDLE_H]; f !== NIL && this.last[f] + this.idleMs <= nowMs; f = ends[IDLE_H]) {
      this.expireFlow(f, EndReason.IDLE);
      n++;
    }
    for (let f = ends[END_H]; f !== NIL && this.last[f] + this.tcpEndMs <= nowMs; f = ends[END_H]) {
      this.expireFlow(f, EndReason.END);
      n++;
    }
    for (let f = ends[AGE_H]; f !== NIL && this.first[f] + this.activeMs <= nowMs; f = ends[AGE_H]) {
      this.expireFlow(f, EndReason.ACTIVE);
      n++;
    }
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
      this.expireFlow(f, this.state[f] === ENDED ? EndReason.END : reason);
      n++;
    }
    return n;
  }

  private expireFlow(f: number, reason: number): void {
    const r = this.record, keys = this.keys, b = f * KEY_WORDS;
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
    r.tcpFlags = this.flags[f];
    r.packets = this.pkts[f];
    r.bytes = this.octets[f];
    r.firstMs = this.first[f];
    r.lastMs = this.last[f];
    r.endReason = reason;
    this.remove(f);
    this.exported++;
    this.onExpire(r);
  }

  private remove(f: number): void {
    const slots = this.slots, hashes = this.hashes, mask = this.mask;
    let i = hashes[f] & mask;
    while (slots[i] !== f + 1) i = (i + 1) & mask;
    // backward-shift deletion: pull later entries of the cluster into the hole
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = slots[j];
      if (s === 0) break;
      const home = hashes[s - 1] & mask;
      // move s into the hole at i unless its home lies cyclically in (i, j]
      const inRange = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!inRange) {
        slots[i] = s;
        i = j;
      }
    }
    slots[i] = 0;
    this.unlink(this.prevL, this.nextL, this.state[f] === ENDED ? END_H : IDLE_H, f);
    this.unlink(this.prevA, this.nextA, AGE_H, f);
    this.state[f] = FREE;
    this.freeStack[this.freeTop++] = f;
    this.count--;
  }

  private append(prev: Int32Array, next: Int32Array, h: number, f: number): void {
    const ends = this.ends, t = ends[h + 1];
    prev[f] = t;
    next[f] = NIL;
    if (t !== NIL) next[t] = f;
    else ends[h] = f;
    ends[h + 1] = f;
  }

  private unlink(prev: Int32Array, next: Int32Array, h: number, f: number): void {
    const ends = this.ends, p = prev[f], n = next[f];
    if (p !== NIL) next[p] = n;
    else ends[h] = n;
    if (n !== NIL) prev[n] = p;
    else ends[h + 1] = p;
  }
}
