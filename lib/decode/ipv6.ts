/**
 * IPv6 (RFC 8200): fixed header, then the extension-header chain (hop-by-hop,
 * routing, fragment, destination options) walked, bounded, to the upper protocol.
 * @module
 */
import type { Decoded } from "./decoded.ts";

/** IPv6 fixed header length. */
export const IPV6_HEADER_LENGTH = 40;
/** Most extension headers walked; a longer chain is reported as malformed. */
export const MAX_IPV6_EXTENSION_HEADERS = 16;

/** Next-header values walked as extension headers. */
export const IPPROTO_HOPOPTS = 0;
/** Routing header. */
export const IPPROTO_ROUTING = 43;
/** Fragment header. */
export const IPPROTO_FRAGMENT = 44;
/** Destination options header. */
export const IPPROTO_DSTOPTS = 60;
/** No next header. */
export const IPPROTO_NONE = 59;

/**
 * Decode the IPv6 header at `p` and walk its extension headers. `end` is where the
 * captured bytes stop, `wireEnd` where the frame stopped on the wire. Sets
 * `protocol` to the upper-layer protocol (-1 when the chain is cut or broken),
 * the address offsets, `ipLength`, `l3End`, the fragment flags. Returns the
 * transport header offset, or -1 (truncated, malformed, non-first fragment, no next header).
 * A payload length beyond the frame marks the packet malformed; the chain is then
 * walked within the frame, so the upper protocol and its offset are still reported
 * (as tshark does, and as IPv4 does for its total length).
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeIpv6 } from "./ipv6.ts";
 * const h = new Uint8Array(48);
 * h[0] = 0x60; h[5] = 8; h[6] = 17; h[7] = 64;
 * const d = new Decoded();
 * decodeIpv6(h, new DataView(h.buffer), 0, 48, 48, d); // 40; d.protocol === 17
 * ```
 */
export function decodeIpv6(
  data: Uint8Array,
  view: DataView,
  p: number,
  end: number,
  wireEnd: number,
  out: Decoded,
): number {
  if (p + IPV6_HEADER_LENGTH > end) {
    out.truncated = true;
    return -1;
  }
  if (data[p] >> 4 !== 6) {
    out.malformed = true;
    return -1;
  }
  out.ipVersion = 6;
  out.tos = (view.getUint16(p) >> 4) & 0xff;
  const plen = view.getUint16(p + 4);
  out.ipLength = IPV6_HEADER_LENGTH + plen;
  out.ttl = data[p + 7];
  out.src6Offset = p + 8;
  out.dst6Offset = p + 24;
  let l3End = p + IPV6_HEADER_LENGTH + plen;
  out.l3End = l3End;
  if (l3End > wireEnd) { // payload length claims more than the frame had on the wire
    out.malformed = true;
    l3End = wireEnd; // the chain can only be in the frame
  }
  let nh = data[p + 6];
  let q = p + IPV6_HEADER_LENGTH;
  for (let i = 0;; i++) {
    if (
      nh !== IPPROTO_HOPOPTS && nh !== IPPROTO_ROUTING && nh !== IPPROTO_FRAGMENT && nh !== IPPROTO_DSTOPTS
    ) {
      out.protocol = nh;
      return nh === IPPROTO_NONE ? -1 : q;
    }
    if (i === MAX_IPV6_EXTENSION_HEADERS) {
      out.malformed = true;
      return -1;
    }
    // Every extension header is at least 8 bytes; its length field is in 8-byte units (not counting the first 8).
    if (q + 8 > l3End) {
      out.malformed = true;
      return -1;
    }
    if (q + 8 > end) {
      out.truncated = true;
      return -1;
    }
    const hl = nh === IPPROTO_FRAGMENT ? 8 : (data[q + 1] + 1) << 3;
    if (q + hl > l3End) {
      out.malformed = true;
      return -1;
    }
    if (q + hl > end) {
      out.truncated = true;
      return -1;
    }
    if (nh === IPPROTO_FRAGMENT) {
      const fo = view.getUint16(q + 2);
      if ((fo & 0xfff8) !== 0) {
        out.fragment = true;
        out.protocol = data[q];
        return -1;
      }
      if ((fo & 1) !== 0) out.firstFragment = true;
    }
    nh = data[q];
    q += hl;
  }
}
