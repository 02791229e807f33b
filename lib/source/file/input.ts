/**
 * `ByteInput`: a file read forward in chunks into one fixed buffer (node:fs
 * readSync), so readers stream in constant memory. Works on pipes too (no seeks).
 * @module
 */
import { readSync } from "node:fs";
import { PcapFormatError } from "./errors.ts";

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * A window `buf[start, end)` over the file, `fileOffset` being the file position of `buf[start]`.
 *
 * @example
 * ```ts
 * import { openSync } from "node:fs";
 * import { ByteInput } from "./input.ts";
 * const input = new ByteInput(openSync("/etc/hostname", "r"), "/etc/hostname", 65536);
 * if (input.ensure(4)) console.log(input.buf[input.start]);
 * ```
 */
export class ByteInput {
  /** The buffer (packets point into it). Never reallocated. */
  readonly buf: Uint8Array;
  /** DataView over `buf`. */
  readonly view: DataView;
  /** First unconsumed byte. */
  start = 0;
  /** End of the valid bytes. */
  end = 0;
  /** File offset of `buf[start]`. */
  fileOffset = 0;
  #eof = false;

  constructor(readonly fd: number, readonly path: string, size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes available in the window. */
  get available(): number {
    return this.end - this.start;
  }

  /**
   * Make `n` bytes (n ≤ buf.length) available at `start`, reading as needed.
   * False when the file ends first (`available` then says how many there are).
   *
   * @example
   * ```ts
   * import { openSync } from "node:fs";
   * import { ByteInput } from "./input.ts";
   * const input = new ByteInput(openSync("/etc/hostname", "r"), "/etc/hostname", 4096);
   * input.ensure(1); // true unless the file is empty
   * ```
   */
  ensure(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (this.start + n > this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    while (this.end - this.start < n && !this.#eof) {
      let got: number;
      try {
        got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      } catch (e) {
        if ((e as { code?: string }).code === "EAGAIN") { // a non-blocking pipe (stdin): wait 1 ms, retry
          Atomics.wait(sleeper, 0, 0, 1);
          continue;
        }
        throw new PcapFormatError("IO", this.path, this.fileOffset + this.available, `read failed: ${e}`);
      }
      if (got === 0) this.#eof = true;
      this.end += got;
    }
    return this.end - this.start >= n;
  }

  /**
   * Consume `n` available bytes.
   *
   * @example
   * ```ts
   * import { openSync } from "node:fs";
   * import { ByteInput } from "./input.ts";
   * const input = new ByteInput(openSync("/etc/hostname", "r"), "/etc/hostname", 4096);
   * if (input.ensure(2)) input.consume(2);
   * ```
   */
  consume(n: number): void {
    this.start += n;
    this.fileOffset += n;
  }

  /**
   * Skip `n` bytes, any size, reading and dropping them chunk by chunk. False when the file ends first.
   *
   * @example
   * ```ts
   * import { openSync } from "node:fs";
   * import { ByteInput } from "./input.ts";
   * const input = new ByteInput(openSync("/etc/hostname", "r"), "/etc/hostname", 4096);
   * input.skip(1);
   * ```
   */
  skip(n: number): boolean {
    while (n > 0) {
      if (this.available === 0 && !this.ensure(1)) return false;
      const k = Math.min(n, this.available);
      this.consume(k);
      n -= k;
    }
    return true;
  }
}
