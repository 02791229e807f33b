/**
 * Ethernet II link layer: MAC header, the VLAN tag the kernel stripped into the
 * packet metadata (outer tag), then the tags left in the frame.
 * @module
 */
import type { Decoded } from "./decoded.ts";
import { addVlan, decodeVlanTags } from "./vlan.ts";

/** Ethernet II header length (two MACs and the EtherType). */
export const ETHERNET_HEADER_LENGTH = 14;
/** EtherTypes the decoders understand. */
export const ETHERTYPE_IPV4 = 0x0800;
/** ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;

/**
 * Decode the Ethernet header at `off` (frame bytes end at `end`). `vlanTci` is the
 * stripped tag from the metadata (-1 if none); it counts as the outer VLAN.
 * Sets `etherType`, the VLAN fields and `l3Offset`; returns the network header
 * offset, or -1 (truncated, 802.3 length frame, or a malformed tag stack).
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeEthernet } from "./ethernet.ts";
 * const f = new Uint8Array(14);
 * f[12] = 0x08;
 * const d = new Decoded();
 * decodeEthernet(f, new DataView(f.buffer), 0, 14, -1, d); // 14; d.etherType === 0x0800
 * ```
 */
export function decodeEthernet(
  data: Uint8Array,
  view: DataView,
  off: number,
  end: number,
  vlanTci: number,
  out: Decoded,
): number {
  if (vlanTci >= 0) addVlan(out, vlanTci);
  if (off + ETHERNET_HEADER_LENGTH > end) {
    out.truncated = true;
    return -1;
  }
  const type = view.getUint16(off + 12);
  if (type < 0x0600) return -1; // IEEE 802.3 length field (LLC/SNAP): no EtherType to follow
  out.etherType = type;
  const p = decodeVlanTags(data, view, off + ETHERNET_HEADER_LENGTH, end, out);
  if (p >= 0) out.l3Offset = p;
  return p;
}
