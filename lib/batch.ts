/**
 * `PacketBatch`: what async iteration over a source yields. It iterates with one
 * reused IteratorResult, so `for (const p of batch)` allocates nothing per packet.
 * @module
 */
import type { Packet, PacketSource } from "./packet.ts";

/**
 * Up to `limit` packets pulled lazily from a source. The batch object, its iterator
 * and its IteratorResult are reused from batch to batch; each packet is valid until
 * the loop moves to the next one.
 *
 * @example
 * ```ts
 * import type { PacketSource } from "./packet.ts";
 * import { PacketBatch } from "./batch.ts";
 * function drain(src: PacketSource): number {
 *   const batch = new PacketBatch(src, 256);
 *   let n = 0;
 *   while (batch.fill()) for (const _p of batch) n++;
 *   return n;
 * }
 * ```
 */
export class PacketBatch implements Iterable<Packet>, Iterator<Packet> {
  #src: PacketSource;
  #limit: number;
  #taken = 0;
  #ended = true;
  #first: Packet | null = null;
  readonly #result = { done: false, value: null as unknown as Packet };
  readonly #done = { done: true, value: undefined } as const;

  constructor(src: PacketSource, limit = 1024) {
    this.#src = src;
    this.#limit = limit > 0 ? limit : 1;
  }

  /** Packets handed out by this batch so far. */
  get count(): number {
    return this.#taken;
  }

  /**
   * Start a new batch: pulls its first packet. False when the source has none (end).
   *
   * @example
   * ```ts
   * import type { PacketSource } from "./packet.ts";
   * import { PacketBatch } from "./batch.ts";
   * const hasMore = (src: PacketSource) => new PacketBatch(src).fill();
   * ```
   */
  fill(): boolean {
    this.#taken = 0;
    this.#first = this.#src.next();
    this.#ended = this.#first === null;
    return !this.#ended;
  }

  /** The batch is its own (reused) iterator. */
  [Symbol.iterator](): Iterator<Packet> {
    return this;
  }

  /**
   * Next packet of the batch (the reused result object), done after `limit` packets or at the end.
   *
   * @example
   * ```ts
   * import type { PacketSource } from "./packet.ts";
   * import { PacketBatch } from "./batch.ts";
   * function first(src: PacketSource) {
   *   const b = new PacketBatch(src);
   *   return b.fill() ? b.next().value : undefined;
   * }
   * ```
   */
  next(): IteratorResult<Packet> {
    if (this.#ended || this.#taken >= this.#limit) return this.#done;
    let p: Packet | null;
    if (this.#first) {
      p = this.#first;
      this.#first = null;
    } else {
      p = this.#src.next();
    }
    if (!p) {
      this.#ended = true;
      return this.#done;
    }
    this.#taken++;
    this.#result.value = p;
    return this.#result;
  }
}
