/**
 * Capture files as a packet source: pcap/pcapng readers that are
 * `PacketSource`s with batch iteration like the live `Ring` (the writer is a
 * sink: lib/sink/pcap/).
 *
 * @example
 * ```ts
 * import { openCaptureFile } from "./mod.ts";
 * using r = openCaptureFile("/tmp/in.pcapng");
 * let n = 0;
 * for (let p = r.next(); p; p = r.next()) n++;
 * console.log(n, "packets, link type", r.linkType);
 * ```
 * @module
 */
export { openCaptureFile } from "./open.ts";
export { CaptureFileReader, type ReaderOptions } from "./reader_base.ts";
export { PcapReader } from "./pcap_reader.ts";
export { type PcapNgInterface, PcapNgReader } from "./pcapng_reader.ts";
export { PacketBatch } from "../../batch.ts"; // re-exported for file readers
export { FilePacket } from "./file_packet.ts";
export { type PcapErrorCode, PcapFormatError } from "./errors.ts";
export { DEFAULT_MAX_RECORD, DEFAULT_SNAPLEN, LINKTYPE_ETHERNET } from "./constants.ts";
