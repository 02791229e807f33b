/**
 * ICMPv6 (RFC 4443): type and code of the 4-byte header (the message body follows).
 * @module
 */
import type { Decoded } from "./decoded.ts";
import { decodeIcmpHeader } from "./icmp.ts";

/** ICMPv6 header length (type, code, checksum). */
export const ICMPV6_HEADER_LENGTH = 4;

/**
 * Decode the ICMPv6 header at `p` (`ipEnd`: end of the IP datagram, `end`: end of the
 * capture). Sets `icmpType`, `icmpCode`, `payloadOffset` (the message body, after 4 bytes).
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeIcmpv6 } from "./icmpv6.ts";
 * const m = new Uint8Array([128, 0, 0, 0, 0, 1, 0, 1]);
 * const d = new Decoded();
 * decodeIcmpv6(m, new DataView(m.buffer), 0, 8, 8, d); // true; d.icmpType === 128 (echo request)
 * ```
 */
export function decodeIcmpv6(
  data: Uint8Array,
  _view: DataView,
  p: number,
  ipEnd: number,
  end: number,
  out: Decoded,
): boolean {
  return decodeIcmpHeader(data, p, ICMPV6_HEADER_LENGTH, ipEnd, end, out);
}
