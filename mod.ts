/**
 * ringcap — high-speed passive packet capture for TypeScript (Bun and Deno).
 *
 * The public API: live capture (`Ring`), the shared read loop (`run`),
 * capture files (`openCaptureFile`, `PcapWriter`), offline filters
 * (`BpfFilter`), decoders (`decode` into a reused `Decoded`), the flow meter
 * and NetFlow v5/v9/IPFIX export (`FlowTable`, `FlowProbe`, `UdpExporter`).
 *
 * @example
 * ```ts
 * import { decode, Decoded, Ring } from "./mod.ts";
 * using ring = await Ring.open("eth0", { snaplen: 128, filter: "udp" });
 * const d = new Decoded();
 * for await (const batch of ring) {
 *   for (const p of batch) console.log(decode(p, d).dstPort);
 *   break;
 * }
 * ```
 */
// live capture
export { encodeOptions, Ring, type RingOptions, type WaitMode } from "./lib/source/live/ring.ts";
export { PacketBatch } from "./lib/batch.ts";
export type { CaptureStats, Packet, PacketSource } from "./lib/packet.ts";
export { RingError } from "./lib/source/live/errors.ts";
export { run, type RunOptions, type RunResult } from "./lib/run.ts";
export { BpfFilter } from "./lib/source/live/filter.ts";
// decoders
export { Decoded } from "./lib/decode/decoded.ts";
export { decode, decodeFrame } from "./lib/decode/mod.ts";
export {
  dstAddressToString,
  etherTypeName,
  ipv4ToString,
  ipv6ToString,
  macToString,
  protocolName,
  srcAddressToString,
  tcpFlagsToString,
} from "./lib/decode/format.ts";
export { packetLine } from "./lib/decode/summary.ts";
// top talkers, dump, opening a live or file source from CLI flags
export { TopCounter, type TopReport } from "./lib/analysis/top/counter.ts";
export { TopSession } from "./lib/analysis/top/session.ts";
export { renderTop, Screen } from "./lib/analysis/top/screen.ts";
export { runTop } from "./lib/cli/top.ts";
export { runDump } from "./lib/cli/dump.ts";
export { type OpenedSource, openSource } from "./lib/source/open.ts";
// capture files
export {
  CaptureFileReader,
  openCaptureFile,
  PcapFormatError,
  PcapNgReader,
  PcapReader,
  type ReaderOptions,
} from "./lib/source/file/mod.ts";
export {
  PcapWriter,
  type PcapWriterOptions,
  RotatingPcapWriter,
  type RotationOptions,
} from "./lib/sink/pcap/mod.ts";
// flows and NetFlow/IPFIX
export { FlowTable, type FlowTableOptions } from "./lib/analysis/flow/table.ts";
export { EndReason, FlowRecord } from "./lib/analysis/flow/record.ts";
export {
  FlowProbe,
  type ProbeOptions,
  type ProbeStats,
  runProbe,
  statusLine,
} from "./lib/analysis/flow/probe.ts";
export { createEncoder, parseCollector, UdpExporter } from "./lib/sink/netflow/exporter.ts";
export type { FlowEncoder, NetflowVersion, SamplingInfo } from "./lib/sink/netflow/encoder.ts";
export { V5Encoder } from "./lib/sink/netflow/v5.ts";
export { V9Encoder } from "./lib/sink/netflow/v9.ts";
export { IpfixEncoder } from "./lib/sink/netflow/ipfix.ts";
