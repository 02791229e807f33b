/**
 * `decodeLean`: the decode the flow probe and topn run per packet. It fills
 * only the fields they read (`LEAN_FIELDS`) for the common frames — Ethernet,
 * at most one VLAN tag in the frame, IPv4 without options or fragmentation,
 * IPv6 without extension headers, then TCP, UDP, ICMP or ICMPv6 — straight
 * from the packet bytes, with no reset of the other fields and one bounds
 * decision per layer. Every other frame (ARP and other EtherTypes, QinQ, IPv4
 * options, fragments, IPv6 extension headers, truncated or malformed headers)
 * goes to the full `decodeFrame`, so the `LEAN_FIELDS` always hold what
 * `decode()` would have put there (test/decode_lean.test.ts checks this over
 * the decode corpus and seeded fuzz frames). The fields outside `LEAN_FIELDS`
 * are left as they were on the fast path: read them only after `decode()`.
 * @module
 */
import type { Packet } from "../packet.ts";
import type { Decoded } from "./decoded.ts";
import { decodeFrame } from "./mod.ts";

/** The `Decoded` fields `decodeLean` keeps equal to `decode()`'s (what the probe and topn read). */
export const LEAN_FIELDS = [
  "vlanId",
  "etherType",
  "ipVersion",
  "src4",
  "dst4",
  "src6Offset",
  "dst6Offset",
  "protocol",
  "tos",
  "ipLength",
  "fragment",
  "l4Offset",
  "srcPort",
  "dstPort",
  "tcpFlags",
  "icmpType",
  "icmpCode",
] as const;

/**
 * Decode `p` into `out`, filling the `LEAN_FIELDS` (the rest only when the
 * frame took the full path). Returns `out`. No allocation, no exception.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeLean } from "./fast.ts";
 * import type { Packet } from "../packet.ts";
 * const d = new Decoded();
 * function isDns(p: Packet): boolean {
 *   decodeLean(p, d);
 *   return d.protocol === 17 && (d.srcPort === 53 || d.dstPort === 53);
 * }
 * ```
 */
export function decodeLean(p: Packet, out: Decoded): Decoded {
  const data = p.data, view = p.view, o = p.offset, cap = p.caplen;
  const end = o + cap;
  let l3 = o + 14;
  // the smallest frame the fast path takes: Ethernet + IPv4 + 4 bytes of transport
  if (l3 + 24 > end) return decodeFrame(data, view, o, cap, p.wirelen, p.vlanTci, out);
  let type = view.getUint16(o + 12);
  const tci = p.vlanTci;
  let vlan = tci >= 0 ? tci & 0xfff : -1;
  if (type === 0x8100 || type === 0x88a8) { // one tag in the frame (a second one, or 0x9100: full path)
    if (vlan < 0) vlan = data[l3 + 1] | ((data[l3] & 15) << 8);
    type = view.getUint16(l3 + 2);
    l3 += 4;
    if (l3 + 24 > end) return decodeFrame(data, view, o, cap, p.wirelen, tci, out);
  }
  const wire = p.wirelen;
  const wireEnd = o + (wire > cap ? wire : cap);
  let l4: number, ipEnd: number, proto: number;
  if (type === 0x0800) {
    const w0 = view.getUint32(l3); // version/IHL, ToS, total length
    // anything but a plain 20-byte header, and fragments (MF or an offset): the full path
    if ((w0 >>> 24) !== 0x45 || (view.getUint16(l3 + 6) & 0x3fff) !== 0) {
      return decodeFrame(data, view, o, cap, wire, tci, out);
    }
    const total = w0 & 0xffff;
    ipEnd = l3 + total;
    if (total < 20 || ipEnd > wireEnd) return decodeFrame(data, view, o, cap, wire, tci, out);
    proto = data[l3 + 9];
    l4 = l3 + 20;
    out.ipVersion = 4;
    out.src4 = view.getUint32(l3 + 12);
    out.dst4 = view.getUint32(l3 + 16);
    out.src6Offset = -1;
    out.dst6Offset = -1;
    out.tos = (w0 >>> 16) & 255;
    out.ipLength = total;
  } else if (type === 0x86dd) {
    l4 = l3 + 40;
    if (l4 > end) return decodeFrame(data, view, o, cap, wire, tci, out);
    const w0 = view.getUint32(l3); // version, traffic class, flow label
    proto = data[l3 + 6];
    const plen = view.getUint16(l3 + 4);
    ipEnd = l4 + plen;
    // an extension header (hop-by-hop, routing, fragment, destination options), no next header,
    // or a payload length beyond the frame: the full path
    if (
      (w0 >>> 28) !== 6 || proto === 0 || proto === 43 || proto === 44 || proto === 60 || proto === 59 ||
      ipEnd > wireEnd
    ) {
      return decodeFrame(data, view, o, cap, wire, tci, out);
    }
    out.ipVersion = 6;
    out.src4 = 0;
    out.dst4 = 0;
    out.src6Offset = l3 + 8;
    out.dst6Offset = l3 + 24;
    out.tos = (w0 >>> 20) & 255;
    out.ipLength = 40 + plen;
  } else return decodeFrame(data, view, o, cap, wire, tci, out);
  // the transport header must lie inside both the datagram and the capture
  const lim = ipEnd < end ? ipEnd : end;
  let l4Offset = l4, ports = 0, flags = 0, icmpType = -1, icmpCode = -1;
  if (proto === 17) {
    if (l4 + 8 > lim) return decodeFrame(data, view, o, cap, wire, tci, out);
    ports = view.getUint32(l4);
  } else if (proto === 6) {
    if (l4 + 20 > lim) return decodeFrame(data, view, o, cap, wire, tci, out);
    ports = view.getUint32(l4);
    flags = data[l4 + 13];
  } else if (proto === (type === 0x0800 ? 1 : 58)) { // ICMP in IPv4, ICMPv6 in IPv6
    if (l4 + (proto === 1 ? 8 : 4) > lim) return decodeFrame(data, view, o, cap, wire, tci, out);
    icmpType = data[l4];
    icmpCode = data[l4 + 1];
  } else l4Offset = -1;
  out.vlanId = vlan;
  out.etherType = type;
  out.protocol = proto;
  out.fragment = false;
  out.l4Offset = l4Offset;
  out.srcPort = ports >>> 16;
  out.dstPort = ports & 0xffff;
  out.tcpFlags = flags;
  out.icmpType = icmpType;
  out.icmpCode = icmpCode;
  return out;
}
