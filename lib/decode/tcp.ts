/**
 * TCP (RFC 9293): ports, flags and header length (options skipped by data offset).
 * @module
 */
import type { Decoded } from "./decoded.ts";
import { fits } from "./bounds.ts";

/** TCP header length without options. */
export const TCP_MIN_HEADER_LENGTH = 20;

/**
 * Decode the TCP header at `p` (`ipEnd`: end of the IP datagram, `end`: end of the
 * capture). Ports and flags are set once the 20-byte fixed header is complete;
 * `payloadOffset` once the options are too. Returns true when the whole header was decoded.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeTcp } from "./tcp.ts";
 * const t = new Uint8Array(20);
 * t[1] = 80; t[3] = 90; t[12] = 0x50; t[13] = 0x12;
 * const d = new Decoded();
 * decodeTcp(t, new DataView(t.buffer), 0, 20, 20, d); // true; d.srcPort === 80, d.tcpFlags === 0x12
 * ```
 */
export function decodeTcp(
  data: Uint8Array,
  view: DataView,
  p: number,
  ipEnd: number,
  end: number,
  out: Decoded,
): boolean {
  if (!fits(p, TCP_MIN_HEADER_LENGTH, ipEnd, end, out)) return false;
  out.l4Offset = p;
  out.srcPort = view.getUint16(p);
  out.dstPort = view.getUint16(p + 2);
  out.tcpFlags = data[p + 13];
  const hl = (data[p + 12] >> 4) << 2;
  out.tcpHeaderLength = hl;
  if (hl < TCP_MIN_HEADER_LENGTH) {
    out.malformed = true;
    return false;
  }
  if (!fits(p, hl, ipEnd, end, out)) return false;
  out.payloadOffset = p + hl;
  return true;
}
