/**
 * `KeyTable`: an open-addressing hash table of packet and byte counters keyed
 * by a fixed number of 32-bit words (an address, an address pair, a protocol
 * and port...), all in typed arrays. Counting a packet allocates nothing: the
 * caller writes the key into the reused `key` array and calls `add()`.
 * Memory grows only when the table does (doubling, amortised), up to
 * `maxEntries`; past that, new keys are counted in `overflowPackets`/`overflowBytes`.
 * @module
 */

/**
 * A table's entries in insertion order as plain typed arrays: what a Worker
 * posts (the arrays can be transferred) and what `load` adds back.
 */
export interface TableSnapshot {
  /** Key words, `width` per entry (DirectTable: one key value per entry). */
  keys: Uint32Array;
  /** DirectTable only: the slot of each entry. */
  slots?: Uint32Array;
  packets: Float64Array;
  bytes: Float64Array;
  overflowPackets: number;
  overflowBytes: number;
}

/** One odd multiplier per key word (the hash of `KeyTable.add`). */
const MULS = new Int32Array([
  0xcc9e2d51,
  0x1b873593,
  0x85ebca6b,
  0xc2b2ae35,
  0x9e3779b1,
  0x7feb352d,
  0x27d4eb2f,
  0x165667b1,
  0x61c88647,
  0x85ebca77,
  0xc2b2ae3d,
  0x27d4eb4f,
  0x2545f491,
  0x9e3779b9,
  0x94d049bb,
  0xbf58476d,
]);

/** The part of `KeyTable.add`'s hash (before the finalizer) that an IPv4 host / pair key's fixed words give. */
function fixedPart(width: number): number {
  let h = 0x9747b28c;
  for (let i = 0; i < width; i++) {
    if (i !== 1 && i !== 5) h ^= Math.imul((i === 0 ? 4 : 0) ^ (i << 27), MULS[i & 15]);
  }
  return h;
}
const HOST4 = fixedPart(5), PAIR4 = fixedPart(9);

/** Options of `KeyTable`. */
export interface KeyTableOptions {
  /** Initial number of slots (rounded up to a power of two). Default 1024. */
  initialSlots?: number;
  /** Most distinct keys kept; further new keys go to the overflow counters. Default 1,048,576. */
  maxEntries?: number;
}

/** Word offsets in a KeyTable slot record: words 0-3 are the two counters (doubles). */
const KT_USED = 4, KT_KEY = 5;

/**
 * Counters per key of `width` 32-bit words. Each slot is one record of
 * `stride` words (a power of two: 64 bytes for a host or a pair key) holding
 * its packets and bytes (two doubles), a used mark and the key words, so
 * counting a packet touches one cache line per table. Read a slot with
 * `packetsAt`, `bytesAt` and `keyWord`.
 *
 * @example
 * ```ts
 * import { KeyTable } from "./table.ts";
 * const t = new KeyTable(1);
 * t.key[0] = 443;
 * t.add(1, 1500);
 * t.add(1, 60);
 * const slot = t.entry(0); // first key inserted
 * t.bytesAt(slot); // 1560
 * ```
 */
export class KeyTable {
  /** Write the key here, then call `add` or `merge`. */
  readonly key: Uint32Array;
  /** Number of distinct keys. */
  size = 0;
  /** Packets of keys that did not fit (table at `maxEntries`). */
  overflowPackets = 0;
  /** Bytes of keys that did not fit. */
  overflowBytes = 0;
  readonly maxEntries: number;
  /** Words per slot record: [packets (f64), bytes (f64), used, key words..., padding]. */
  readonly stride: number;

  // Plain (not #private) fields: the per-packet path reads them, and JSC/V8 read those fastest.
  /** The slot records as words (used mark at KT_USED, key from KT_KEY). */
  protected cells: Uint32Array;
  /** The same records as doubles: packets at stride/2 * slot, bytes after it. */
  protected counts: Float64Array;
  /** Occupied slots in insertion order: iteration and clearing cost O(size). */
  protected order: Int32Array;
  protected mask: number;

  constructor(readonly width: number, o: KeyTableOptions = {}) {
    let slots = 16;
    while (slots < (o.initialSlots ?? 1024)) slots *= 2;
    this.maxEntries = o.maxEntries ?? 1 << 20;
    let stride = 8;
    while (stride < KT_KEY + width) stride *= 2;
    this.stride = stride;
    this.key = new Uint32Array(width);
    const buf = new ArrayBuffer(slots * stride * 4);
    this.cells = new Uint32Array(buf);
    this.counts = new Float64Array(buf);
    this.order = new Int32Array(slots - (slots >>> 2));
    this.mask = slots - 1;
  }

  /** The slot of the `i`-th key inserted (0 ≤ i < size). */
  entry(i: number): number {
    return this.order[i];
  }

  /** Packets counted in slot `s`. */
  packetsAt(s: number): number {
    return this.counts[s * (this.stride >>> 1)];
  }

  /** Bytes counted in slot `s`. */
  bytesAt(s: number): number {
    return this.counts[s * (this.stride >>> 1) + 1];
  }

  /** Word `i` of the key in slot `s`. */
  keyWord(s: number, i: number): number {
    return this.cells[s * this.stride + KT_KEY + i];
  }

  /** Count `packets` and `bytes` for the key in `this.key`. */
  add(packets: number, bytes: number): void {
    const w = this.width, k = this.key, cells = this.cells, mask = this.mask, st = this.stride;
    // each word times its own odd constant, XOR-ed: independent multiplies that run side by
    // side (a serial chain over the 9 words of a pair cost ~10 ns a packet), then murmur3's
    // finalizer so the low bits the table indexes with depend on every input bit
    let h = 0x9747b28c;
    for (let i = 0; i < w; i++) h ^= Math.imul(k[i] ^ (i << 27), MULS[i & 15]);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    let s = (h ^ (h >>> 16)) & mask;
    for (let b = s * st; cells[b + KT_USED] !== 0; b = s * st) {
      let i = 0;
      while (i < w && cells[b + KT_KEY + i] === k[i]) i++;
      if (i === w) {
        const c = b >>> 1;
        this.counts[c] += packets;
        this.counts[c + 1] += bytes;
        return;
      }
      s = (s + 1) & mask;
    }
    this.#insert(s, packets, bytes);
  }

  /**
   * `add` for an IPv4 key of topn's tables without writing `key`: a host key
   * [4, a, 0, 0, 0] (width 5) or a pair key [4, a, 0, 0, 0, b, 0, 0, 0] (width 9;
   * `b` ignored at width 5). Same hash and slot as `add` with that key; only
   * words 0, 1 and 5 are compared, so use it on tables whose family-4 keys have
   * zeros elsewhere (TopCounter's).
   */
  add4(a: number, b: number, packets: number, bytes: number): void {
    const cells = this.cells, mask = this.mask, st = this.stride, pair = this.width === 9;
    let h = pair
      ? PAIR4 ^ Math.imul(a ^ (1 << 27), MULS[1]) ^ Math.imul(b ^ (5 << 27), MULS[5])
      : HOST4 ^ Math.imul(a ^ (1 << 27), MULS[1]);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    let s = (h ^ (h >>> 16)) & mask;
    for (let q = s * st; cells[q + KT_USED] !== 0; q = s * st) {
      if (cells[q + KT_KEY] === 4 && cells[q + KT_KEY + 1] === a && (!pair || cells[q + KT_KEY + 5] === b)) {
        const c = q >>> 1;
        this.counts[c] += packets;
        this.counts[c + 1] += bytes;
        return;
      }
      s = (s + 1) & mask;
    }
    const k = this.key; // a new key: written out for the general insert
    for (let i = 0; i < k.length; i++) k[i] = 0;
    k[0] = 4;
    k[1] = a;
    if (pair) k[5] = b;
    this.#insert(s, packets, bytes);
  }

  /**
   * A new key goes into free slot `s` (growing the table first when three quarters full: at
   * most 8 MiB of 64-byte slots for 65,536 keys, where half full was 16 MiB, more than the TLB
   * reaches — every packet looks up a host and a pair at random in them).
   */
  #insert(s: number, packets: number, bytes: number): void {
    if (this.size >= this.maxEntries) {
      this.overflowPackets += packets;
      this.overflowBytes += bytes;
      return;
    }
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) {
      this.#grow();
      this.add(packets, bytes);
      return;
    }
    const w = this.width, k = this.key, cells = this.cells, b = s * this.stride;
    cells[b + KT_USED] = 1;
    for (let i = 0; i < w; i++) cells[b + KT_KEY + i] = k[i];
    this.order[this.size++] = s;
    this.counts[b >>> 1] = packets;
    this.counts[(b >>> 1) + 1] = bytes;
  }

  /** Add every counter of `other` (same width) into this table. */
  merge(other: KeyTable): void {
    const w = this.width, k = this.key;
    for (let i = 0; i < other.size; i++) {
      const s = other.entry(i);
      for (let j = 0; j < w; j++) k[j] = other.keyWord(s, j);
      this.add(other.packetsAt(s), other.bytesAt(s));
    }
    this.overflowPackets += other.overflowPackets;
    this.overflowBytes += other.overflowBytes;
  }

  /** Forget every key (cost O(size), memory kept). */
  clear(): void {
    const st = this.stride, cells = this.cells, counts = this.counts;
    for (let i = 0; i < this.size; i++) {
      const b = this.order[i] * st;
      cells[b + KT_USED] = 0;
      counts[b >>> 1] = 0;
      counts[(b >>> 1) + 1] = 0;
    }
    this.size = 0;
    this.overflowPackets = 0;
    this.overflowBytes = 0;
  }

  /** Every entry, in insertion order, copied out (allocates: once per interval, not per packet). */
  snapshot(): TableSnapshot {
    const w = this.width, n = this.size;
    const keys = new Uint32Array(n * w), packets = new Float64Array(n), bytes = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = this.order[i];
      for (let j = 0; j < w; j++) keys[i * w + j] = this.keyWord(s, j);
      packets[i] = this.packetsAt(s);
      bytes[i] = this.bytesAt(s);
    }
    return { keys, packets, bytes, overflowPackets: this.overflowPackets, overflowBytes: this.overflowBytes };
  }

  /** Add every entry of a snapshot (of a table of the same width), in its order. */
  load(t: TableSnapshot): void {
    const w = this.width, k = this.key;
    for (let i = 0; i < t.packets.length; i++) {
      for (let j = 0; j < w; j++) k[j] = t.keys[i * w + j];
      this.add(t.packets[i], t.bytes[i]);
    }
    this.overflowPackets += t.overflowPackets;
    this.overflowBytes += t.overflowBytes;
  }

  /**
   * The slots of the `n` largest entries, by bytes (then packets) or by packets
   * (then bytes); full ties go to the lower key. Allocates (for printing, not per packet).
   */
  top(n: number, byPackets = false): number[] {
    return topSlots(
      this.order,
      this.size,
      (s) => this.packetsAt(s),
      (s) => this.bytesAt(s),
      n,
      byPackets,
      (s, i) => this.keyWord(s, i),
      this.width,
    );
  }

  #grow(): void {
    const w = this.width, size = this.size, st = this.stride;
    const oldCells = this.cells, oldCounts = this.counts, oldOrder = this.order;
    const slots = (this.mask + 1) * 2;
    const buf = new ArrayBuffer(slots * st * 4);
    this.cells = new Uint32Array(buf);
    this.counts = new Float64Array(buf);
    this.order = new Int32Array(slots - (slots >>> 2));
    this.mask = slots - 1;
    this.size = 0;
    const saved = this.key.slice();
    for (let i = 0; i < size; i++) {
      const b = oldOrder[i] * st;
      for (let j = 0; j < w; j++) this.key[j] = oldCells[b + KT_KEY + j];
      this.add(oldCounts[b >>> 1], oldCounts[(b >>> 1) + 1]);
    }
    this.key.set(saved);
  }
}

/**
 * `DirectTable`: counters for a small key space (IP protocols, TCP/UDP ports)
 * indexed directly by a slot number — no hashing. `keys[slot]` keeps the key
 * value the caller gave for that slot; `entry`, `top`, `merge` and `clear`
 * work as in `KeyTable`.
 *
 * @example
 * ```ts
 * import { DirectTable } from "./table.ts";
 * const t = new DirectTable(2 * 65536);
 * t.addAt(443, (6 << 16) | 443, 1, 1500); // slot 443 = TCP 443
 * t.bytes[t.entry(0)]; // 1500
 * ```
 */
export class DirectTable {
  /** The key value of each slot (as given to `addAt`). */
  readonly keys: Uint32Array;
  /** Packets per slot. */
  readonly packets: Float64Array;
  /** Bytes per slot. */
  readonly bytes: Float64Array;
  /** Number of slots used. */
  size = 0;
  protected used: Uint8Array;
  protected order: Int32Array;

  constructor(readonly slots: number) {
    this.keys = new Uint32Array(slots);
    this.packets = new Float64Array(slots);
    this.bytes = new Float64Array(slots);
    this.used = new Uint8Array(slots);
    this.order = new Int32Array(slots);
  }

  /** Count into `slot` (0 ≤ slot < slots), whose key value is `key`. */
  addAt(slot: number, key: number, packets: number, bytes: number): void {
    if (this.used[slot] === 0) {
      this.used[slot] = 1;
      this.keys[slot] = key;
      this.order[this.size++] = slot;
    }
    this.packets[slot] += packets;
    this.bytes[slot] += bytes;
  }

  /** The slot of the `i`-th key used. */
  entry(i: number): number {
    return this.order[i];
  }

  /** Add every counter of `other` (same size). */
  merge(other: DirectTable): void {
    for (let i = 0; i < other.size; i++) {
      const s = other.entry(i);
      this.addAt(s, other.keys[s], other.packets[s], other.bytes[s]);
    }
  }

  /** Forget every key (cost O(size)). */
  clear(): void {
    clearSlots(this.order, this.size, this.used, this.packets, this.bytes);
    this.size = 0;
  }

  /** Every entry, in insertion order, copied out (see `KeyTable.snapshot`). */
  snapshot(): TableSnapshot {
    const n = this.size;
    const slots = new Uint32Array(n), keys = new Uint32Array(n);
    const packets = new Float64Array(n), bytes = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = this.order[i];
      slots[i] = s;
      keys[i] = this.keys[s];
      packets[i] = this.packets[s];
      bytes[i] = this.bytes[s];
    }
    return { slots, keys, packets, bytes, overflowPackets: 0, overflowBytes: 0 };
  }

  /** Add every entry of a snapshot of a table of the same size. */
  load(t: TableSnapshot): void {
    for (let i = 0; i < t.packets.length; i++) this.addAt(t.slots![i], t.keys[i], t.packets[i], t.bytes[i]);
  }

  /** The slots of the `n` largest entries (see `KeyTable.top`). */
  top(n: number, byPackets = false): number[] {
    const packets = this.packets, bytes = this.bytes, keys = this.keys;
    return topSlots(
      this.order,
      this.size,
      (s) => packets[s],
      (s) => bytes[s],
      n,
      byPackets,
      (s) => keys[s],
      1,
    );
  }
}

/** Zero the counters and the used mark of the slots order[0, size). */
function clearSlots(
  order: Int32Array,
  size: number,
  used: Uint8Array,
  packets: Float64Array,
  bytes: Float64Array,
): void {
  for (let i = 0; i < size; i++) {
    const s = order[i];
    used[s] = 0;
    packets[s] = 0;
    bytes[s] = 0;
  }
}

/**
 * The `n` slots among order[0, size) with the most bytes (then packets), or with
 * `byPackets` the most packets (then bytes); full ties go to the lower key
 * (its `width` words compared in order), so the order does not depend on
 * which packet came first — the same top-N whether one thread counted or
 * several threads' tables were merged.
 */
function topSlots(
  order: Int32Array,
  size: number,
  packets: (s: number) => number,
  bytes: (s: number) => number,
  n: number,
  byPackets: boolean,
  key: (s: number, i: number) => number,
  width: number,
): number[] {
  const first = byPackets ? packets : bytes, second = byPackets ? bytes : packets;
  const before = (x: number, y: number) => { // slot x ranks before slot y
    if (first(x) !== first(y)) return first(x) > first(y);
    if (second(x) !== second(y)) return second(x) > second(y);
    for (let i = 0; i < width; i++) {
      const a = key(x, i), b = key(y, i);
      if (a !== b) return a < b;
    }
    return false;
  };
  const best: number[] = [];
  for (let i = 0; i < size; i++) {
    const s = order[i];
    let j = best.length;
    while (j > 0 && before(s, best[j - 1])) j--;
    if (j >= n) continue;
    best.splice(j, 0, s);
    if (best.length > n) best.pop();
  }
  return best;
}
