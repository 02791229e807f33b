/**
 * ringcap — high-speed passive packet capture for TypeScript (Bun and Deno).
 *
 * The library, in the order a packet travels (the command-line tools are in
 * lib/cli/ and are not loaded by this module):
 * - sources: live capture (`Ring`), capture files (`openCaptureFile`), either
 *   one from options (`openSource`); offline filters (`BpfFilter`);
 * - the read loop (`run`) and the analysis shape every tool takes
 *   (`Analysis`, `AnalysisKind`, `runAnalysis`);
 * - decoders (`decode` into a reused `Decoded`);
 * - analyses: packet counting (`counting`), top talkers (`topTalkers`,
 *   `TopCounter`), flow metering (`FlowMeter`, `FlowTable`), dump;
 * - sinks: pcap files (`PcapWriter`), NetFlow v5/v9/IPFIX export
 *   (`FlowExport`, `UdpExporter`); `FlowProbe` wires meter and export.
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
// sources
export * from "./lib/source/live/ring.ts"; // Ring, RingOptions, fanout types
export { RingError } from "./lib/source/live/errors.ts";
export { BpfFilter } from "./lib/source/live/filter.ts";
export {
  CaptureFileReader,
  openCaptureFile,
  PcapFormatError,
  PcapNgReader,
  PcapReader,
  type ReaderOptions,
} from "./lib/source/file/mod.ts";
export { type OpenedSource, openSource, type SourceOptions } from "./lib/source/open.ts";
export { PacketBatch } from "./lib/batch.ts";
export type { CaptureStats, Packet, PacketSource } from "./lib/packet.ts";
// one capture over several cores (Workers in a fanout group)
export {
  type AnalysisRef,
  type ClusterOptions,
  type ClusterResult,
  runCapture,
  runCluster,
  WorkerError,
  type WorkerState,
} from "./lib/cluster/cluster.ts";
export { type ProbeWorkersOptions, runProbeWorkers } from "./lib/cluster/probe.ts";
// the read loop and the analysis shape
export { run, type RunOptions, type RunResult } from "./lib/run.ts";
export {
  type Analysis,
  type AnalysisKind,
  type AnalysisResult,
  runAnalysis,
  type RunAnalysisOptions,
} from "./lib/analysis/analysis.ts";
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
// analyses
export { CountAnalysis, counting, type CountSnapshot } from "./lib/analysis/count.ts";
export { TopCounter, type TopReport, type TopTables } from "./lib/analysis/top/counter.ts";
export { TopAnalysis, type TopOptions, type TopSnapshot, topTalkers } from "./lib/analysis/top/analysis.ts";
export { TopSession } from "./lib/analysis/top/session.ts";
export { DumpAnalysis, dumping, type PacketSink } from "./lib/analysis/dump.ts";
export { FlowTable, type FlowTableOptions } from "./lib/analysis/flow/table.ts";
export { EndReason, FlowRecord } from "./lib/analysis/flow/record.ts";
export { type PackedRecords, RecordBatch } from "./lib/analysis/flow/record_batch.ts";
export { FlowMeter, flowMetering, type FlowSnapshot, type MeterOptions } from "./lib/analysis/flow/meter.ts";
export {
  FlowProbe,
  type ProbeOptions,
  type ProbeStats,
  runProbe,
  statusLine,
} from "./lib/analysis/flow/probe.ts";
// sinks
export {
  PcapWriter,
  type PcapWriterOptions,
  RotatingPcapWriter,
  type RotationOptions,
} from "./lib/sink/pcap/mod.ts";
export { TextSink } from "./lib/sink/text.ts";
export {
  type CollectorMode,
  type CollectorStats,
  type ExportOptions,
  FlowExport,
} from "./lib/sink/netflow/flow_export.ts";
export { createEncoder, parseCollector, UdpExporter } from "./lib/sink/netflow/exporter.ts";
export type { FlowEncoder, NetflowVersion, SamplingInfo } from "./lib/sink/netflow/encoder.ts";
export { V5Encoder } from "./lib/sink/netflow/v5.ts";
export { V9Encoder } from "./lib/sink/netflow/v9.ts";
export { IpfixEncoder } from "./lib/sink/netflow/ipfix.ts";
