/**
 * Resets every field of a reused `Decoded` to its "nothing decoded" value.
 * Called by `decodeFrame` before each frame; no allocation.
 * @module
 */
import type { Decoded } from "./decoded.ts";

/**
 * Put every field of `out` back to its initial value (same values as `new Decoded()`).
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { resetDecoded } from "./reset.ts";
 * const d = new Decoded();
 * d.srcPort = 80;
 * resetDecoded(d); // d.srcPort === 0
 * ```
 */
export function resetDecoded(out: Decoded): void {
  out.vlanId = -1;
  out.innerVlanId = -1;
  out.vlanCount = 0;
  out.etherType = 0;
  out.l3Offset = -1;
  out.ipVersion = 0;
  out.src4 = 0;
  out.dst4 = 0;
  out.src6Offset = -1;
  out.dst6Offset = -1;
  out.protocol = -1;
  out.tos = 0;
  out.ttl = 0;
  out.ipLength = 0;
  out.fragment = false;
  out.firstFragment = false;
  out.l4Offset = -1;
  out.srcPort = 0;
  out.dstPort = 0;
  out.tcpFlags = 0;
  out.icmpType = -1;
  out.icmpCode = -1;
  out.payloadOffset = -1;
  out.tcpHeaderLength = 0;
  out.l3End = -1;
  out.arpOp = -1;
  out.arpSenderIp = 0;
  out.arpTargetIp = 0;
  out.truncated = false;
  out.malformed = false;
}
