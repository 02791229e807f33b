/**
 * The one bounds check every transport decoder makes: is a header of `n` bytes
 * at `p` inside the IP datagram (else malformed) and inside the capture (else truncated)?
 * @module
 */
import type { Decoded } from "./decoded.ts";

/**
 * True when `n` bytes at `p` fit both before `ipEnd` (the end of the IP datagram by
 * its length field) and before `end` (the end of the captured bytes). Otherwise
 * marks `out.malformed` (the IP length says the header is not there) or
 * `out.truncated` (the capture stopped first) and returns false.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { fits } from "./bounds.ts";
 * const d = new Decoded();
 * fits(34, 20, 100, 40, d); // false; d.truncated === true
 * ```
 */
export function fits(p: number, n: number, ipEnd: number, end: number, out: Decoded): boolean {
  if (p + n > ipEnd) {
    out.malformed = true;
    return false;
  }
  if (p + n > end) {
    out.truncated = true;
    return false;
  }
  return true;
}
