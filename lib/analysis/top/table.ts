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

/** Options of `KeyTable`. */
export interface KeyTableOptions {
  /** Initial number of slots (rounded up to a power of two). Default 1024. */
  initialSlots?: number;
  /** Most distinct keys kept; further new keys go to the overflow counters. Default 1,048,576. */
  maxEntries?: number;
}

/**
 * Counters per key of `width` 32-bit words.
 *
 * @example
 * ```ts
 * import { KeyTable } from "./table.ts";
 * const t = new KeyTable(1);
 * t.key[0] = 443;
 * t.add(1, 1500);
 * t.add(1, 60);
 * const slot = t.entry(0); // first key inserted
 * t.bytes[slot]; // 1560
 * ```
 */
export class KeyTable {
  /** Write the key here, then call `add` or `merge`. */
  readonly key: Uint32Array;
  /** Key words of every slot (`width` per slot). */
  keys: Uint32Array;
  /** Packets per slot. */
  packets: Float64Array;
  /** Bytes per slot. */
  bytes: Float64Array;
  /** Number of distinct keys. */
  size = 0;
  /** Packets of keys that did not fit (table at `maxEntries`). */
  overflowPackets = 0;
  /** Bytes of keys that did not fit. */
  overflowBytes = 0;
  readonly maxEntries: number;

  // Plain (not #private) fields: the per-packet path reads them, and JSC/V8 read those fastest.
  /** 1 where a slot holds a key. */
  protected used: Uint8Array;
  /** Occupied slots in insertion order: iteration and clearing cost O(size). */
  protected order: Int32Array;
  protected mask: number;

  constructor(readonly width: number, o: KeyTableOptions = {}) {
    let slots = 16;
    while (slots < (o.initialSlots ?? 1024)) slots *= 2;
    this.maxEntries = o.maxEntries ?? 1 << 20;
    this.key = new Uint32Array(width);
    this.keys = new Uint32Array(slots * width);
    this.packets = new Float64Array(slots);
    this.bytes = new Float64Array(slots);
    this.used = new Uint8Array(slots);
    this.order = new Int32Array(slots >>> 1);
    this.mask = slots - 1;
  }

  /** The slot of the `i`-th key inserted (0 ≤ i < size). */
  entry(i: number): number {
    return this.order[i];
  }

  /** Count `packets` and `bytes` for the key in `this.key`. */
  add(packets: number, bytes: number): void {
    const w = this.width, k = this.key, keys = this.keys, used = this.used, mask = this.mask;
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
    while (used[s] !== 0) {
      const b = s * w;
      let i = 0;
      while (i < w && keys[b + i] === k[i]) i++;
      if (i === w) {
        this.packets[s] += packets;
        this.bytes[s] += bytes;
        return;
      }
      s = (s + 1) & mask;
    }
    this.#insert(s, packets, bytes);
  }

  /** A new key goes into free slot `s` (growing the table first when half full). */
  #insert(s: number, packets: number, bytes: number): void {
    if (this.size >= this.maxEntries) {
      this.overflowPackets += packets;
      this.overflowBytes += bytes;
      return;
    }
    if ((this.size + 1) * 2 > this.mask + 1) {
      this.#grow();
      this.add(packets, bytes);
      return;
    }
    const w = this.width, k = this.key, keys = this.keys;
    this.used[s] = 1;
    for (let i = 0, b = s * w; i < w; i++) keys[b + i] = k[i];
    this.order[this.size++] = s;
    this.packets[s] = packets;
    this.bytes[s] = bytes;
  }

  /** Add every counter of `other` (same width) into this table. */
  merge(other: KeyTable): void {
    const w = this.width, k = this.key;
    for (let i = 0; i < other.size; i++) {
      const s = other.entry(i);
      for (let j = 0; j < w; j++) k[j] = other.keys[s * w + j];
      this.add(other.packets[s], other.bytes[s]);
    }
    this.overflowPackets += other.overflowPackets;
    this.overflowBytes += other.overflowBytes;
  }

  /** Forget every key (cost O(size), memory kept). */
  clear(): void {
    clearSlots(this.order, this.size, this.used, this.packets, this.bytes);
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
      for (let j = 0; j < w; j++) keys[i * w + j] = this.keys[s * w + j];
      packets[i] = this.packets[s];
      bytes[i] = this.bytes[s];
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
    return topSlots(this.order, this.size, this.packets, this.bytes, n, byPackets, this.keys, this.width);
  }

  #grow(): void {
    const w = this.width, size = this.size;
    const oldKeys = this.keys, oldPackets = this.packets, oldBytes = this.bytes, oldOrder = this.order;
    const slots = (this.mask + 1) * 2;
    this.keys = new Uint32Array(slots * w);
    this.packets = new Float64Array(slots);
    this.bytes = new Float64Array(slots);
    this.used = new Uint8Array(slots);
    this.order = new Int32Array(slots >>> 1);
    this.mask = slots - 1;
    this.size = 0;
    const saved = this.key.slice();
    for (let i = 0; i < size; i++) {
      const s = oldOrder[i];
      for (let j = 0; j < w; j++) this.key[j] = oldKeys[s * w + j];
      this.add(oldPackets[s], oldBytes[s]);
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
    return topSlots(this.order, this.size, this.packets, this.bytes, n, byPackets, this.keys, 1);
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
  packets: Float64Array,
  bytes: Float64Array,
  n: number,
  byPackets: boolean,
  keys: Uint32Array,
  width: number,
): number[] {
  const first = byPackets ? packets : bytes, second = byPackets ? bytes : packets;
  const before = (x: number, y: number) => { // slot x ranks before slot y
    if (first[x] !== first[y]) return first[x] > first[y];
    if (second[x] !== second[y]) return second[x] > second[y];
    for (let i = 0; i < width; i++) {
      const a = keys[x * width + i], b = keys[y * width + i];
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
