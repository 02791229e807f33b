/**
 * Capture files as a sink: the classic pcap writer, with tcpdump-style
 * rotation by size and time (the readers are a source: lib/source/file/).
 *
 * @example
 * ```ts
 * import { PcapWriter } from "./mod.ts";
 * import { openCaptureFile } from "../../source/file/mod.ts";
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
