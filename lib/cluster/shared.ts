/**
 * `SharedControl`: what the threads of one capture share, in one
 * `SharedArrayBuffer` — a stop flag (SIGINT/SIGTERM, --duration, a failed
 * worker, the end of -c) checked once per burst by every worker, and the -c
 * budget. A worker reserves up to a burst's worth of the budget before
 * reading (`claim`) and gives back what it did not read (`settle`), so the
 * packets read across all workers add up to -c exactly, with one atomic
 * operation per burst, none per packet.
 *
 * @example
 * ```ts
 * import { SharedControl } from "./shared.ts";
 * const c = new SharedControl(SharedControl.create(100));
 * const got = c.claim(65536); // 100
 * c.settle(got, 40); // read 40 of them: 60 go back
 * c.claim(65536); // 60
 * c.requestStop(); // every worker stops at its next burst
 * ```
 * @module
 */

const STOP = 0;
const REMAINING = 0, RESERVED = 1;

/** The shared flag and budget. */
export class SharedControl {
  readonly #flags: Int32Array;
  readonly #budget: BigInt64Array;
  readonly #limited: boolean;

  /** A buffer for a capture of at most `count` packets (0 = no limit). */
  static create(count: number): SharedArrayBuffer {
    const sab = new SharedArrayBuffer(32);
    new BigInt64Array(sab, 16, 2)[REMAINING] = BigInt(count > 0 ? count : -1);
    return sab;
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.#flags = new Int32Array(buffer, 0, 4);
    this.#budget = new BigInt64Array(buffer, 16, 2);
    this.#limited = Atomics.load(this.#budget, REMAINING) >= 0n;
  }

  /** True once any thread asked every worker to stop. */
  stop(): boolean {
    return Atomics.load(this.#flags, STOP) !== 0;
  }

  /** Ask every worker to stop at its next burst. */
  requestStop(): void {
    Atomics.store(this.#flags, STOP, 1);
  }

  /** Reserve up to `n` packets of the budget; how many this burst may read (0: none now). */
  claim(n: number): number {
    if (!this.#limited) return n;
    const b = this.#budget;
    for (;;) {
      const rem = Atomics.load(b, REMAINING);
      const take = rem < BigInt(n) ? rem : BigInt(n);
      if (take <= 0n) return 0;
      if (Atomics.compareExchange(b, REMAINING, rem, rem - take) === rem) {
        Atomics.add(b, RESERVED, take);
        return Number(take);
      }
    }
  }

  /** After a burst: give back `claimed - read`; true when the whole budget is read (then stop is set). */
  settle(claimed: number, read: number): boolean {
    if (!this.#limited) return false;
    const b = this.#budget;
    if (claimed > read) Atomics.add(b, REMAINING, BigInt(claimed - read));
    const reserved = Atomics.sub(b, RESERVED, BigInt(claimed)) - BigInt(claimed);
    if (reserved === 0n && Atomics.load(b, REMAINING) === 0n) {
      this.requestStop();
      return true;
    }
    return false;
  }
}
