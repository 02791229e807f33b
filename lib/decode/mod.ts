/**
 * Frame decoding entry points: `decode(packet, out)` for a `Packet`, and
 * `decodeFrame(...)` for raw bytes. Ethernet → VLAN tags → ARP | IPv4 | IPv6
 * → TCP | UDP | ICMP | ICMPv6, all into one reused `Decoded`, with no allocation
 * and no exception on truncated or malformed input.
 *
 * @example
 * ```ts
 * import { Decoded, decode } from "./mod.ts";
 * import type { PacketSource } from "../packet.ts";
 * function tcpSyns(src: PacketSource): number {
 *   const d = new Decoded();
 *   let n = 0;
 *   for (let p = src.next(); p; p = src.next()) {
 *     if (decode(p, d).protocol === 6 && (d.tcpFlags & 0x12) === 0x02) n++;
 *   }
 *   return n;
 * }
 * ```
 * @module
 */
import type { Packet } from "../packet.ts";
import { Decoded } from "./decoded.ts";
import { resetDecoded } from "./reset.ts";
import { decodeEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ethernet.ts";
import { decodeArp } from "./arp.ts";
import { decodeIpv4 } from "./ipv4.ts";
import { decodeIpv6 } from "./ipv6.ts";
import { decodeTcp } from "./tcp.ts";
import { decodeUdp } from "./udp.ts";
import { decodeIcmp } from "./icmp.ts";
import { decodeIcmpv6 } from "./icmpv6.ts";

export { Decoded };
export { resetDecoded };
export { decodeEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 };
export { decodeVlanTags, isVlanTpid, MAX_VLAN_TAGS } from "./vlan.ts";
export { decodeArp, decodeIcmp, decodeIcmpv6, decodeIpv4, decodeIpv6, decodeTcp, decodeUdp };
export { MAX_IPV6_EXTENSION_HEADERS } from "./ipv6.ts";

/** IP protocol numbers of the transport decoders. */
export const IPPROTO_ICMP = 1;
/** TCP. */
export const IPPROTO_TCP = 6;
/** UDP. */
export const IPPROTO_UDP = 17;
/** ICMPv6. */
export const IPPROTO_ICMPV6 = 58;

/**
 * Decode the Ethernet frame at `data[offset, offset + caplen)` into `out` (reset
 * first) and return `out`. `view` is a DataView over the same bytes as `data`
 * (same indices), `wirelen` the length on the wire, `vlanTci` the tag stripped
 * into the metadata (-1 if none; it counts as the outer VLAN). Never throws on
 * bad input: decoding stops at the last complete layer and sets `truncated`
 * (the capture ended inside a header) or `malformed` (inconsistent header).
 *
 * @example
 * ```ts
 * import { Decoded, decodeFrame } from "./mod.ts";
 * const frame = new Uint8Array(60);
 * frame.set([0x08, 0x06], 12); // an (empty) ARP frame
 * const d = decodeFrame(frame, new DataView(frame.buffer), 0, 60, 60, -1, new Decoded());
 * d.etherType; // 0x0806
 * ```
 */
export function decodeFrame(
  data: Uint8Array,
  view: DataView,
  offset: number,
  caplen: number,
  wirelen: number,
  vlanTci: number,
  out: Decoded,
): Decoded {
  resetDecoded(out);
  const end = offset + caplen;
  const wireEnd = offset + (wirelen > caplen ? wirelen : caplen);
  const l3 = decodeEthernet(data, view, offset, end, vlanTci, out);
  if (l3 < 0) return out;
  let l4 = -1;
  const type = out.etherType;
  if (type === ETHERTYPE_IPV4) l4 = decodeIpv4(data, view, l3, end, wireEnd, out);
  else if (type === ETHERTYPE_IPV6) l4 = decodeIpv6(data, view, l3, end, wireEnd, out);
  else if (type === ETHERTYPE_ARP) decodeArp(data, view, l3, end, out);
  if (l4 < 0) return out;
  // the end of the datagram by its length field, but never past the frame (an over-long
  // length field is malformed; the transport header is still decoded when it is complete)
  const ipEnd = out.l3End < wireEnd ? out.l3End : wireEnd;
  switch (out.protocol) {
    case IPPROTO_TCP:
      decodeTcp(data, view, l4, ipEnd, end, out);
      break;
    case IPPROTO_UDP:
      decodeUdp(data, view, l4, ipEnd, end, out);
      break;
    case IPPROTO_ICMP:
      if (out.ipVersion === 4) decodeIcmp(data, view, l4, ipEnd, end, out);
      break;
    case IPPROTO_ICMPV6:
      if (out.ipVersion === 6) decodeIcmpv6(data, view, l4, ipEnd, end, out);
      break;
  }
  return out;
}

/**
 * Decode a `Packet` (from a `Ring` or a file reader) into `out` and return `out`.
 * The packet's stripped VLAN tag (`vlanTci`) is the outer VLAN.
 *
 * @example
 * ```ts
 * import { Decoded, decode } from "./mod.ts";
 * import type { Packet } from "../packet.ts";
 * const d = new Decoded();
 * function isDns(p: Packet): boolean {
 *   decode(p, d);
 *   return d.protocol === 17 && (d.srcPort === 53 || d.dstPort === 53);
 * }
 * ```
 */
export function decode(p: Packet, out: Decoded): Decoded {
  return decodeFrame(p.data, p.view, p.offset, p.caplen, p.wirelen, p.vlanTci, out);
}
