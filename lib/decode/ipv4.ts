/**
 * IPv4 (RFC 791): addresses, protocol, lengths, options skipped by IHL, fragments
 * (only the first fragment carries the transport header).
 * @module
 */
import type { Decoded } from "./decoded.ts";

/** Minimum IPv4 header length (no options). */
export const IPV4_MIN_HEADER_LENGTH = 20;

/**
 * Decode the IPv4 header at `p`. `end` is where the captured bytes stop, `wireEnd`
 * where the frame stopped on the wire. Fills the network-layer fields and `l3End`.
 * Returns the offset of the transport header when it should be decoded, else -1
 * (truncated, malformed header, or a fragment other than the first). A total length
 * beyond the frame marks the packet malformed but keeps the complete header's fields
 * and returns the transport offset (as tshark does, and as IPv6 does for its payload length).
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeIpv4 } from "./ipv4.ts";
 * const h = new Uint8Array([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
 * const d = new Decoded();
 * decodeIpv4(h, new DataView(h.buffer), 0, 20, 20, d); // 20; d.protocol === 17, d.src4 === 0x0a000001
 * ```
 */
export function decodeIpv4(
  data: Uint8Array,
  view: DataView,
  p: number,
  end: number,
  wireEnd: number,
  out: Decoded,
): number {
  if (p + IPV4_MIN_HEADER_LENGTH > end) {
    out.truncated = true;
    return -1;
  }
  const vihl = data[p];
  const hl = (vihl & 15) << 2;
  const total = view.getUint16(p + 2);
  if (vihl >> 4 !== 4 || hl < IPV4_MIN_HEADER_LENGTH || total < hl) { // not an IPv4 header we can trust
    out.malformed = true;
    return -1;
  }
  out.ipVersion = 4;
  out.tos = data[p + 1];
  out.ipLength = total;
  const frag = view.getUint16(p + 6);
  out.ttl = data[p + 8];
  out.protocol = data[p + 9];
  out.src4 = view.getUint32(p + 12);
  out.dst4 = view.getUint32(p + 16);
  const fragOffset = frag & 0x1fff;
  if (fragOffset !== 0) out.fragment = true;
  else if ((frag & 0x2000) !== 0) out.firstFragment = true;
  out.l3End = p + total;
  if (p + hl > end) { // the capture ends inside the options
    out.truncated = true;
    return -1;
  }
  // The datagram claims more bytes than the frame had on the wire: malformed, but the
  // header is complete; the transport header is decoded within the frame (decodeFrame).
  if (p + total > wireEnd) out.malformed = true;
  return out.fragment ? -1 : p + hl;
}
