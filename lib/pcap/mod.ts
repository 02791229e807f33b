/**
 * Capture files: classic pcap writer (with tcpdump-style rotation) and pcap/pcapng
 * readers that are `PacketSource`s with batch iteration like the live `Ring`.
 *
 * @example
 * ```ts
 * import { openCaptureFile, PcapWriter } from "./mod.ts";
 * // copy the first 100 packets of any pcap/pcapng file into a classic pcap
 * using r = openCaptureFile("/tmp/in.pcapng");
 * using w = PcapWriter.open("/tmp/out.pcap", { snaplen: r.snaplen });
 * for (let p = r.next(), n = 0; p && n < 100; p = r.next(), n++) w.writePacket(p);
 * ```
 * @module
 */
export { PcapWriter, type PcapWriterOptions } from "./writer.ts";
export { RotatingPcapWriter, rotationFileName, type RotationOptions } from "./rotate.ts";
export { strftime } from "./strftime.ts";
export { openCaptureFile } from "./open.ts";
export { CaptureFileReader, type ReaderOptions } from "./reader_base.ts";
export { PcapReader } from "./pcap_reader.ts";
export { type PcapNgInterface, PcapNgReader } from "./pcapng_reader.ts";
export { PacketBatch } from "../batch.ts"; // re-exported for file readers
export { FilePacket } from "./file_packet.ts";
export { type PcapErrorCode, PcapFormatError } from "./errors.ts";
export { DEFAULT_MAX_RECORD, DEFAULT_SNAPLEN, LINKTYPE_ETHERNET } from "./constants.ts";
