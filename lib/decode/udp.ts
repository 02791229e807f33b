/**
 * UDP (RFC 768): ports and the length field checked against the IP datagram.
 * @module
 */
import type { Decoded } from "./decoded.ts";
import { fits } from "./bounds.ts";

/** UDP header length. */
export const UDP_HEADER_LENGTH = 8;

/**
 * Decode the UDP header at `p` (`ipEnd`: end of the IP datagram, `end`: end of the
 * capture). Sets ports; a length field below 8 or beyond the IP datagram marks the
 * packet malformed (ports kept, no payload offset; a first fragment may be shorter than its length). Returns true when consistent.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeUdp } from "./udp.ts";
 * const u = new Uint8Array([0, 53, 0x30, 0x39, 0, 8, 0, 0]);
 * const d = new Decoded();
 * decodeUdp(u, new DataView(u.buffer), 0, 8, 8, d); // true; d.srcPort === 53, d.dstPort === 12345
 * ```
 */
export function decodeUdp(
  _data: Uint8Array,
  view: DataView,
  p: number,
  ipEnd: number,
  end: number,
  out: Decoded,
): boolean {
  if (!fits(p, UDP_HEADER_LENGTH, ipEnd, end, out)) return false;
  out.l4Offset = p;
  out.srcPort = view.getUint16(p);
  out.dstPort = view.getUint16(p + 2);
  const len = view.getUint16(p + 4);
  // In a first fragment the length covers the whole datagram, beyond this fragment.
  if (len < UDP_HEADER_LENGTH || (p + len > ipEnd && !out.firstFragment)) {
    out.malformed = true;
    return false;
  }
  out.payloadOffset = p + UDP_HEADER_LENGTH;
  return true;
}
