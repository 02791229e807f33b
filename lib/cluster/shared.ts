/**
 * `SharedControl`: what the threads of one capture share, in one
 * `SharedArrayBuffer` — a stop flag (SIGINT/SIGTERM, --duration, a failed
 * worker, the end of -c) checked once per burst by every worker, and the -c
 * budget. A worker reserves up to a burst's worth of the budget before
 * reading (`claim`) and gives back what it did not read (`settle`), so the
 * packets read across all workers add up to -c exactly, with a few atomic
 * operations per burst and none per packet. The end is when the packets read
 * (a counter that only grows) reach -c: the settle that reads the last one
 * sees it, exactly once.
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
const REMAINING = 0, READ = 1, TOTAL = 2;

/** The shared flag and budget. */
export class SharedControl {
  readonly #flags: Int32Array;
  readonly #budget: BigInt64Array;
  readonly #total: bigint;

  /** A buffer for a capture of at most `count` packets (0 = no limit). */
  static create(count: number): SharedArrayBuffer {
    const sab = new SharedArrayBuffer(48);
    const b = new BigInt64Array(sab, 16, 3);
    b[REMAINING] = b[TOTAL] = BigInt(count > 0 ? count : -1);
    return sab;
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.#flags = new Int32Array(buffer, 0, 4);
    this.#budget = new BigInt64Array(buffer, 16, 3);
    this.#total = this.#budget[TOTAL];
  }

  /** True once any thread asked every worker to stop. */
  stop(): boolean {
    return Atomics.load(this.#flags, STOP) !== 0;
  }

  /** Ask every worker to stop at its next burst. */
  requestStop(): void {
    Atomics.store(this.#flags, STOP, 1);
  }

  /** Reserve up to `n` packets of the budget; how many this burst may read (0: none left now). */
  claim(n: number): number {
    if (this.#total < 0n) return n;
    const b = this.#budget;
    for (;;) {
      const rem = Atomics.load(b, REMAINING);
      const take = rem < BigInt(n) ? rem : BigInt(n);
      if (take <= 0n) return 0;
      if (Atomics.compareExchange(b, REMAINING, rem, rem - take) === rem) return Number(take);
    }
  }

  /** After a burst: give back `claimed - read`; true when this burst read the budget's last packet (stop is then set). */
  settle(claimed: number, read: number): boolean {
    if (this.#total < 0n) return false;
    const b = this.#budget;
    if (claimed > read) Atomics.add(b, REMAINING, BigInt(claimed - read));
    if (read === 0) return false;
    if (Atomics.add(b, READ, BigInt(read)) + BigInt(read) !== this.#total) return false;
    this.requestStop();
    return true;
  }
}
