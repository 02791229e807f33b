/**
 * `PcapFormatError`: the one error the pcap/pcapng readers and writers throw for
 * a damaged file, with a code and the file offset where the damage starts.
 * @module
 */

/** What is wrong with a capture file. */
export type PcapErrorCode =
  | "EMPTY" // zero-length file
  | "BAD_MAGIC" // neither pcap nor pcapng
  | "BAD_HEADER" // file header / section header unusable
  | "TRUNCATED" // the file ends inside a header, record or block
  | "RECORD_TOO_LARGE" // a record/block length beyond the sane cap
  | "BAD_BLOCK" // a pcapng block whose lengths do not add up
  | "BAD_INTERFACE" // a pcapng packet for an interface never described
  | "IO"; // the operating system refused a read or write

/**
 * A damaged or unreadable capture file. `code` says what kind of damage, `offset`
 * the byte offset in the file where it starts, `path` the file.
 *
 * @example
 * ```ts
 * import { PcapFormatError } from "./errors.ts";
 * try {
 *   throw new PcapFormatError("BAD_MAGIC", "x.pcap", 0, "not a pcap or pcapng file (magic 0x00000000)");
 * } catch (e) {
 *   if (e instanceof PcapFormatError && e.code === "BAD_MAGIC") console.error(e.message);
 * }
 * ```
 */
export class PcapFormatError extends Error {
  constructor(
    /** Kind of damage. */
    readonly code: PcapErrorCode,
    /** The file. */
    readonly path: string,
    /** Byte offset in the file where the damage starts. */
    readonly offset: number,
    what: string,
  ) {
    super(`${path}: ${what} (at byte ${offset})`);
    this.name = "PcapFormatError";
  }
}
