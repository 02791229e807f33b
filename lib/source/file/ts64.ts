/**
 * pcapng timestamps: a 64-bit tick count (high, low 32-bit words) in units of
 * 10^-n or 2^-n seconds (if_tsresol) turned into seconds + nanoseconds exactly,
 * without BigInt (no allocation per packet).
 * @module
 */

const limbs = new Float64Array(4); // 16-bit limbs of a 64-bit number, most significant first

/** Divide the number in `limbs` by d (d < 2^30) in place; returns the remainder. */
function divLimbs(d: number): number {
  let r = 0;
  for (let i = 0; i < 4; i++) {
    const cur = r * 65536 + limbs[i];
    const q = Math.floor(cur / d);
    limbs[i] = q;
    r = cur - q * d;
  }
  return r;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** Result of `ticksToTime` (reused). */
export const tickTime = { sec: 0, nsec: 0 };

/**
 * Convert `high * 2^32 + low` ticks at resolution `tsresol` (the if_tsresol byte:
 * MSB clear = 10^-n, set = 2^-n s) into `tickTime.sec` / `tickTime.nsec`.
 *
 * @example
 * ```ts
 * import { ticksToTime, tickTime } from "./ts64.ts";
 * ticksToTime(0, 1_500_000, 6); // 1.5 s in microseconds
 * tickTime.sec; // 1
 * tickTime.nsec; // 500000000
 * ```
 */
export function ticksToTime(high: number, low: number, tsresol: number): void {
  let n = tsresol & 0x7f;
  if (tsresol & 0x80) {
    if (n <= 32) {
      const p = 2 ** n;
      const q = Math.floor(low / p);
      tickTime.sec = high * 2 ** (32 - n) + q;
      tickTime.nsec = Math.floor(((low - q * p) * 1e9) / p);
    } else {
      const p = 2 ** (n - 32);
      const qh = Math.floor(high / p);
      tickTime.sec = qh;
      tickTime.nsec = Math.floor((((high - qh * p) * 4294967296 + low) / 2 ** n) * 1e9);
    }
    return;
  }
  limbs[0] = high >>> 16;
  limbs[1] = high & 0xffff;
  limbs[2] = low >>> 16;
  limbs[3] = low & 0xffff;
  while (n > 9) { // finer than ns: drop the extra digits first
    const k = n - 9 > 9 ? 9 : n - 9;
    divLimbs(POW10[k]);
    n -= k;
  }
  const r = divLimbs(POW10[n]);
  tickTime.sec = ((limbs[0] * 65536 + limbs[1]) * 65536 + limbs[2]) * 65536 + limbs[3];
  tickTime.nsec = r * POW10[9 - n];
}
