/**
 * ARP (RFC 826): opcode, and the sender/target IPv4 addresses of Ethernet/IPv4 ARP.
 * @module
 */
import type { Decoded } from "./decoded.ts";

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_ETHERNET_IPV4_LENGTH = 28;

/**
 * Decode an ARP packet at `p` (captured bytes end at `end`). Sets `arpOp`, and for
 * Ethernet/IPv4 ARP `arpSenderIp`/`arpTargetIp`. Marks `truncated` when the capture
 * ends inside it. Returns true when the whole ARP packet was decoded.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeArp } from "./arp.ts";
 * const a = new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, ...new Array(20).fill(0)]);
 * const d = new Decoded();
 * decodeArp(a, new DataView(a.buffer), 0, a.length, d); // true; d.arpOp === 1
 * ```
 */
export function decodeArp(data: Uint8Array, view: DataView, p: number, end: number, out: Decoded): boolean {
  if (p + 8 > end) {
    out.truncated = true;
    return false;
  }
  out.arpOp = view.getUint16(p + 6);
  const ethIpv4 = view.getUint16(p) === 1 && view.getUint16(p + 2) === 0x0800 && data[p + 4] === 6 &&
    data[p + 5] === 4;
  if (!ethIpv4) return true; // another hardware/protocol pair: opcode only
  if (p + ARP_ETHERNET_IPV4_LENGTH > end) {
    out.truncated = true;
    return false;
  }
  out.arpSenderIp = view.getUint32(p + 14);
  out.arpTargetIp = view.getUint32(p + 24);
  return true;
}
