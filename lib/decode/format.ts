/**
 * Text forms of what the decoders produce: IPv4/IPv6 (RFC 5952) and MAC addresses,
 * protocol and EtherType names, TCP flags. These allocate strings: use them for
 * output, never in the per-packet path.
 * @module
 */
import type { Decoded } from "./decoded.ts";

/**
 * Dotted-quad text of an IPv4 address given as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import { ipv4ToString } from "./format.ts";
 * ipv4ToString(0xc0a80001); // "192.168.0.1"
 * ```
 */
export function ipv4ToString(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/**
 * Dotted-quad text of the 4 bytes at `data[off]`.
 *
 * @example
 * ```ts
 * import { ipv4BytesToString } from "./format.ts";
 * ipv4BytesToString(new Uint8Array([10, 0, 0, 1]), 0); // "10.0.0.1"
 * ```
 */
export function ipv4BytesToString(data: Uint8Array, off: number): string {
  return `${data[off]}.${data[off + 1]}.${data[off + 2]}.${data[off + 3]}`;
}

/**
 * RFC 5952 text of the 16-byte IPv6 address at `data[off]`: lower-case hex, no
 * leading zeros, the longest run (≥ 2 groups, the first on a tie) of zero groups
 * as "::", IPv4-mapped addresses as `::ffff:a.b.c.d`.
 *
 * @example
 * ```ts
 * import { ipv6ToString } from "./format.ts";
 * const a = new Uint8Array(16);
 * a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8; a[15] = 1;
 * ipv6ToString(a, 0); // "2001:db8::1"
 * ```
 */
export function ipv6ToString(data: Uint8Array, off: number): string {
  const g: number[] = new Array(8);
  for (let i = 0; i < 8; i++) g[i] = (data[off + 2 * i] << 8) | data[off + 2 * i + 1];
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${ipv4BytesToString(data, off + 12)}`;
  }
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(":");
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(":");
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(":");
  return `${head}::${tail}`;
}

/**
 * Colon-separated lower-case text of the 6-byte MAC address at `data[off]`.
 *
 * @example
 * ```ts
 * import { macToString } from "./format.ts";
 * macToString(new Uint8Array([2, 0, 0, 0, 0, 0x99]), 0); // "02:00:00:00:00:99"
 * ```
 */
export function macToString(data: Uint8Array, off: number): string {
  let s = "";
  for (let i = 0; i < 6; i++) s += (i ? ":" : "") + data[off + i].toString(16).padStart(2, "0");
  return s;
}

const PROTOCOL_NAMES: Record<number, string> = {
  0: "HOPOPT",
  1: "ICMP",
  2: "IGMP",
  4: "IPIP",
  6: "TCP",
  17: "UDP",
  41: "IPv6",
  43: "IPv6-Route",
  44: "IPv6-Frag",
  47: "GRE",
  50: "ESP",
  51: "AH",
  58: "ICMPv6",
  59: "IPv6-NoNxt",
  60: "IPv6-Opts",
  89: "OSPF",
  103: "PIM",
  112: "VRRP",
  132: "SCTP",
};

/**
 * IANA keyword of an IP protocol number ("TCP", "UDP", "ICMPv6"...), else the number as text.
 *
 * @example
 * ```ts
 * import { protocolName } from "./format.ts";
 * protocolName(17); // "UDP"
 * protocolName(253); // "253"
 * ```
 */
export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? String(protocol);
}

const ETHERTYPE_NAMES: Record<number, string> = {
  0x0800: "IPv4",
  0x0806: "ARP",
  0x8035: "RARP",
  0x8100: "802.1Q",
  0x86dd: "IPv6",
  0x8808: "PAUSE",
  0x8847: "MPLS",
  0x8848: "MPLS-multicast",
  0x8863: "PPPoE-discovery",
  0x8864: "PPPoE-session",
  0x888e: "EAPOL",
  0x88a8: "802.1ad",
  0x88cc: "LLDP",
  0x88f7: "PTP",
  0x9100: "QinQ",
};

/**
 * Name of an EtherType ("IPv4", "ARP", "IPv6"...), else `0x` and 4 hex digits.
 *
 * @example
 * ```ts
 * import { etherTypeName } from "./format.ts";
 * etherTypeName(0x86dd); // "IPv6"
 * etherTypeName(0x1234); // "0x1234"
 * ```
 */
export function etherTypeName(etherType: number): string {
  return ETHERTYPE_NAMES[etherType] ?? `0x${etherType.toString(16).padStart(4, "0")}`;
}

/**
 * TCP flags in tcpdump's letters: F(IN) S(YN) R(ST) P(USH) .(ACK) U(RG) E(CE) W(CWR); "none" for 0.
 *
 * @example
 * ```ts
 * import { tcpFlagsToString } from "./format.ts";
 * tcpFlagsToString(0x12); // "S."
 * ```
 */
export function tcpFlagsToString(flags: number): string {
  const letters = "FSRP.UEW";
  let s = "";
  for (let i = 0; i < 8; i++) if (flags & (1 << i)) s += letters[i];
  return s || "none";
}

/**
 * Text of the source address of a decoded packet (IPv4 or IPv6), "" when not IP.
 * `data` is the packet's backing bytes (`Packet.data`), where IPv6 addresses stay.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { srcAddressToString } from "./format.ts";
 * const d = new Decoded();
 * d.ipVersion = 4; d.src4 = 0x0a000001;
 * srcAddressToString(d, new Uint8Array(0)); // "10.0.0.1"
 * ```
 */
export function srcAddressToString(d: Decoded, data: Uint8Array): string {
  if (d.ipVersion === 4) return ipv4ToString(d.src4);
  if (d.ipVersion === 6) return ipv6ToString(data, d.src6Offset);
  return "";
}

/**
 * Text of the destination address of a decoded packet (IPv4 or IPv6), "" when not IP.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { dstAddressToString } from "./format.ts";
 * const d = new Decoded();
 * d.ipVersion = 4; d.dst4 = 0x08080808;
 * dstAddressToString(d, new Uint8Array(0)); // "8.8.8.8"
 * ```
 */
export function dstAddressToString(d: Decoded, data: Uint8Array): string {
  if (d.ipVersion === 4) return ipv4ToString(d.dst4);
  if (d.ipVersion === 6) return ipv6ToString(data, d.dst6Offset);
  return "";
}
