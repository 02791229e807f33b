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
  return decodeIcmpHeader(data, p, ICMP_HEADER_LENGTH, ipEnd, end, out);
}

/**
 * The part ICMP and ICMPv6 share: type and code, then the payload after a
 * `headerLength`-byte header. False (truncated) when that header does not fit.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeIcmpHeader } from "./icmp.ts";
 * const m = new Uint8Array([3, 1, 0, 0]);
 * decodeIcmpHeader(m, 0, 4, 4, 4, new Decoded()); // true: type 3, code 1
 * ```
 */
export function decodeIcmpHeader(
  data: Uint8Array,
  p: number,
  headerLength: number,
  ipEnd: number,
  end: number,
  out: Decoded,
): boolean {
  if (!fits(p, headerLength, ipEnd, end, out)) return false;
  out.l4Offset = p;
  out.icmpType = data[p];
  out.icmpCode = data[p + 1];
  out.payloadOffset = p + headerLength;
  return true;
}
