/**
 * ICMP for IPv4 (RFC 792): type and code of the 8-byte header.
 * @module
 */
import type { Decoded } from "./decoded.ts";
import { fits } from "./bounds.ts";

/** ICMP header length (type, code, checksum, 4 bytes of rest-of-header). */
export const ICMP_HEADER_LENGTH = 8;

/**
 * Decode the ICMP header at `p` (`ipEnd`: end of the IP datagram, `end`: end of the
 * capture). Sets `icmpType`, `icmpCode`, `payloadOffset` (after the 8-byte header).
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeIcmp } from "./icmp.ts";
 * const m = new Uint8Array([8, 0, 0, 0, 0, 1, 0, 1]);
 * const d = new Decoded();
 * decodeIcmp(m, new DataView(m.buffer), 0, 8, 8, d); // true; d.icmpType === 8 (echo request)
 * ```
 */
export function decodeIcmp(
  data: Uint8Array,
  _view: DataView,
  p: number,
  ipEnd: number,
  end: number,
  out: Decoded,
): boolean {
  if (!fits(p, ICMP_HEADER_LENGTH, ipEnd, end, out)) return false;
  out.l4Offset = p;
  out.icmpType = data[p];
  out.icmpCode = data[p + 1];
  out.payloadOffset = p + ICMP_HEADER_LENGTH;
  return true;
}
