/**
 * Entry point for live capture: `Ring` with every ring reader registered
 * (TPACKET_V3 blocks from AF_PACKET: ring_v3.ts; TPACKET_V2 frames for
 * immediate delivery: ring_v2.ts; the ringcap module's slots: ring_slots.ts). Import `Ring` from here, not from ring_base.ts.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts";
 * const ring = await Ring.open("lo", { filter: "icmp" });
 * for await (const batch of ring) {
 *   for (const p of batch) console.log(p.wirelen);
 *   break;
 * }
 * ring.close();
 * ```
 */
import "./ring_v3.ts";
import "./ring_v2.ts";
import "./ring_slots.ts";
import "./ring_xdp.ts";
export {
  type Delivery,
  encodeOptions,
  FANOUT_MODES,
  type FanoutMode,
  type FanoutOptions,
  Ring,
  type RingOptions,
  type WaitMode,
} from "./ring_base.ts";
