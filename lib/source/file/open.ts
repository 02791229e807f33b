/**
 * `openCaptureFile(path)`: open a pcap or pcapng file (or "-" for standard input),
 * sniffing the format from its first bytes.
 * @module
 */
import { closeSync, openSync } from "node:fs";
import { DEFAULT_MAX_RECORD, PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO, PCAPNG_SHB } from "./constants.ts";
import { PcapFormatError } from "./errors.ts";
import { ByteInput } from "./input.ts";
import { PcapReader } from "./pcap_reader.ts";
import { PcapNgReader } from "./pcapng_reader.ts";
import type { ReaderOptions } from "./reader_base.ts";

/**
 * Open `path` ("-" = standard input) as a packet source: a `PcapReader` or a
 * `PcapNgReader`. Throws `PcapFormatError` (EMPTY, BAD_MAGIC, TRUNCATED, BAD_HEADER...)
 * when the file cannot be read as a capture, or the fs error when it cannot be opened.
 *
 * @example
 * ```ts
 * import { openCaptureFile } from "./open.ts";
 * using r = openCaptureFile("/tmp/x.pcap");
 * let n = 0;
 * while (r.next()) n++;
 * ```
 */
export function openCaptureFile(path: string, options: ReaderOptions = {}): PcapReader | PcapNgReader {
  const stdin = path === "-";
  const fd = stdin ? 0 : openSync(path, "r");
  try {
    const maxRecord = options.maxRecord ?? DEFAULT_MAX_RECORD;
    const size = Math.max(options.bufferSize ?? 1 << 20, maxRecord + 65536);
    const input = new ByteInput(fd, path, size);
    if (!input.ensure(4)) {
      if (input.available === 0) {
        throw new PcapFormatError("EMPTY", path, 0, "empty file: no pcap or pcapng header");
      }
      throw new PcapFormatError(
        "TRUNCATED",
        path,
        0,
        `file of ${input.available} bytes: too short for a header`,
      );
    }
    const le = input.view.getUint32(0, true), be = input.view.getUint32(0, false);
    if (le === PCAPNG_SHB) return PcapNgReader.fromInput(path, input, !stdin, options);
    if (
      le === PCAP_MAGIC_MICRO || le === PCAP_MAGIC_NANO || be === PCAP_MAGIC_MICRO || be === PCAP_MAGIC_NANO
    ) {
      return PcapReader.fromInput(path, input, !stdin, options);
    }
    if (le === 0xa1b2cd34 || be === 0xa1b2cd34) {
      throw new PcapFormatError("BAD_MAGIC", path, 0, "modified (Kuznetzov) pcap format is not supported");
    }
    throw new PcapFormatError(
      "BAD_MAGIC",
      path,
      0,
      `not a pcap or pcapng file (magic 0x${be.toString(16).padStart(8, "0")})`,
    );
  } catch (e) {
    if (!stdin) closeSync(fd);
    throw e;
  }
}
