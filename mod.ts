/**
 * ringcap — high-speed passive packet capture for TypeScript (Bun and Deno).
 *
 * The public API: open a live capture (`Ring`), read files (`PcapReader`),
 * decode (`decode`), write pcap, meter flows and export NetFlow/IPFIX.
 *
 * @example
 * ```ts
 * import { Ring } from "./mod.ts";
 * using ring = await Ring.open("eth0", { snaplen: 128, filter: "udp" });
 * for await (const batch of ring) {
 *   for (const p of batch) console.log(p.wirelen);
 *   break;
 * }
 * ```
 */
export { Batch, encodeOptions, Ring, type RingOptions, type WaitMode } from "./lib/ring.ts";
export type { CaptureStats, Packet, PacketSource } from "./lib/packet.ts";
export { RingError } from "./lib/errors.ts";
export { run, type RunOptions, type RunResult } from "./lib/run.ts";
export { Decoded } from "./lib/decode/decoded.ts";
