/**
 * Classic pcap reader (libpcap savefile): both byte orders, microsecond and
 * nanosecond magic, streamed in constant memory, hostile lengths refused.
 * @module
 */
import {
  DEFAULT_MAX_RECORD,
  DEFAULT_SNAPLEN,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_MICRO,
  PCAP_MAGIC_NANO,
  PCAP_RECORD_HEADER_LENGTH,
} from "./constants.ts";
import { PcapFormatError } from "./errors.ts";
import type { FilePacket } from "./file_packet.ts";
import type { ByteInput } from "./input.ts";
import { CaptureFileReader, type ReaderOptions } from "./reader_base.ts";

/**
 * Reads a classic pcap file. Open it with `openCaptureFile` (which sniffs the format)
 * or `PcapReader.fromInput`.
 *
 * @example
 * ```ts
 * import { openCaptureFile } from "./open.ts";
 * using r = openCaptureFile("/tmp/x.pcap");
 * console.log(r.format, r.linkType, r.snaplen);
 * ```
 */
export class PcapReader extends CaptureFileReader {
  readonly format = "pcap" as const;
  readonly linkType: number;
  readonly snaplen: number;
  /** Timestamps in the file are nanoseconds (else microseconds). */
  readonly nano: boolean;
  /** The file is big-endian (written on a big-endian host). */
  readonly bigEndian: boolean;
  /** Version in the file header. */
  readonly versionMajor: number;
  readonly versionMinor: number;
  #le: boolean;
  #maxRecord: number;

  private constructor(path: string, input: ByteInput, ownsFd: boolean, options: ReaderOptions) {
    super(path, input, ownsFd);
    this.#maxRecord = options.maxRecord ?? DEFAULT_MAX_RECORD;
    if (!input.ensure(PCAP_FILE_HEADER_LENGTH)) {
      throw new PcapFormatError(
        "TRUNCATED",
        path,
        input.available,
        `truncated pcap file header: ${input.available} of ${PCAP_FILE_HEADER_LENGTH} bytes`,
      );
    }
    const v = input.view, s = input.start;
    const magicLe = v.getUint32(s, true);
    const magicBe = v.getUint32(s, false);
    this.#le = magicLe === PCAP_MAGIC_MICRO || magicLe === PCAP_MAGIC_NANO;
    const magic = this.#le ? magicLe : magicBe;
    if (magic !== PCAP_MAGIC_MICRO && magic !== PCAP_MAGIC_NANO) {
      throw new PcapFormatError("BAD_MAGIC", path, 0, `not a pcap file (magic 0x${magicBe.toString(16)})`);
    }
    this.bigEndian = !this.#le;
    this.nano = magic === PCAP_MAGIC_NANO;
    this.versionMajor = v.getUint16(s + 4, this.#le);
    this.versionMinor = v.getUint16(s + 6, this.#le);
    if (this.versionMajor !== 2) {
      throw new PcapFormatError(
        "BAD_HEADER",
        path,
        4,
        `unsupported pcap version ${this.versionMajor}.${this.versionMinor}`,
      );
    }
    const snap = v.getUint32(s + 16, this.#le);
    this.snaplen = snap === 0 || snap > DEFAULT_SNAPLEN ? DEFAULT_SNAPLEN : snap;
    this.linkType = v.getUint32(s + 20, this.#le) & 0xffff;
    this.packet.linkType = this.linkType;
    input.consume(PCAP_FILE_HEADER_LENGTH);
  }

  /**
   * A reader over `input` positioned at the start of the file (the magic). Throws
   * `PcapFormatError` when the file header is unusable.
   *
   * @example
   * ```ts
   * import { openSync } from "node:fs";
   * import { ByteInput } from "./input.ts";
   * import { PcapReader } from "./pcap_reader.ts";
   * const r = PcapReader.fromInput("/tmp/x.pcap", new ByteInput(openSync("/tmp/x.pcap", "r"), "/tmp/x.pcap", 1 << 20), true);
   * ```
   */
  static fromInput(path: string, input: ByteInput, ownsFd: boolean, options: ReaderOptions = {}): PcapReader {
    return new PcapReader(path, input, ownsFd, options);
  }

  protected read(): FilePacket | null {
    const input = this.input;
    if (!input.ensure(PCAP_RECORD_HEADER_LENGTH)) {
      if (input.available === 0) return null;
      throw new PcapFormatError(
        "TRUNCATED",
        this.path,
        input.fileOffset,
        `truncated last record: the file ends inside a record header (${input.available} of ${PCAP_RECORD_HEADER_LENGTH} bytes)`,
      );
    }
    const v = input.view, s = input.start, le = this.#le;
    const caplen = v.getUint32(s + 8, le);
    if (caplen > this.#maxRecord) {
      throw new PcapFormatError(
        "RECORD_TOO_LARGE",
        this.path,
        input.fileOffset,
        `record claims ${caplen} captured bytes, more than the cap of ${this.#maxRecord}: the file is damaged`,
      );
    }
    const total = PCAP_RECORD_HEADER_LENGTH + caplen;
    if (!input.ensure(total)) {
      throw new PcapFormatError(
        "TRUNCATED",
        this.path,
        input.fileOffset,
        `truncated last record: ${caplen} captured bytes announced, only ${
          input.available - PCAP_RECORD_HEADER_LENGTH
        } in the file`,
      );
    }
    const p = this.packet;
    const s2 = input.start; // ensure() may have moved the window
    p.tsSec = v.getUint32(s2, le);
    const frac = v.getUint32(s2 + 4, le);
    p.tsNsec = this.nano ? frac : frac * 1000;
    p.caplen = caplen;
    p.wirelen = v.getUint32(s2 + 12, le);
    p.offset = s2 + PCAP_RECORD_HEADER_LENGTH;
    input.consume(total);
    return p;
  }
}
