/**
 * pcapng reader: Section Header (either byte order, several sections), Interface
 * Description (link type, snaplen, if_tsresol, if_tsoffset), Enhanced and Simple
 * Packet blocks (and the obsolete Packet Block); every other block is skipped. Streamed in constant memory.
 * @module
 */
import {
  DEFAULT_MAX_RECORD,
  DEFAULT_SNAPLEN,
  MAX_PCAPNG_BLOCK,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_EPB,
  PCAPNG_IDB,
  PCAPNG_OPT_IF_TSOFFSET,
  PCAPNG_OPT_IF_TSRESOL,
  PCAPNG_PB,
  PCAPNG_SHB,
  PCAPNG_SPB,
} from "./constants.ts";
import { PcapFormatError } from "./errors.ts";
import type { FilePacket } from "./file_packet.ts";
import type { ByteInput } from "./input.ts";
import { CaptureFileReader, type ReaderOptions } from "./reader_base.ts";
import { ticksToTime, tickTime } from "./ts64.ts";

/** One pcapng interface (from its IDB). */
export interface PcapNgInterface {
  linkType: number;
  /** Snap length as written (0 = no limit). */
  snaplen: number;
  /** if_tsresol byte (default 6: microseconds). */
  tsresol: number;
  /** if_tsoffset in seconds (default 0). */
  tsoffset: number;
}

/**
 * Reads a pcapng file. Open it with `openCaptureFile` (which sniffs the format).
 *
 * @example
 * ```ts
 * import { openCaptureFile } from "./open.ts";
 * using r = openCaptureFile("/tmp/x.pcapng");
 * for (let p = r.next(); p; p = r.next()) console.log(p.tsSec, p.tsNsec, p.caplen);
 * ```
 */
export class PcapNgReader extends CaptureFileReader {
  readonly format = "pcapng" as const;
  /** Interfaces of the current section. */
  interfaces: PcapNgInterface[] = [];
  /** Sections seen so far. */
  sections = 0;
  #le = true;
  #maxRecord: number;
  #firstLinkType = -1;
  #firstSnaplen = DEFAULT_SNAPLEN;

  private constructor(path: string, input: ByteInput, ownsFd: boolean, options: ReaderOptions) {
    super(path, input, ownsFd);
    this.#maxRecord = options.maxRecord ?? DEFAULT_MAX_RECORD;
    // The file must start with a section header; then read up to the first interface.
    if (!input.ensure(12)) {
      throw this.#fail("TRUNCATED", `truncated pcapng section header: ${input.available} of 28 bytes`);
    }
    if (input.view.getUint32(input.start, true) !== PCAPNG_SHB) {
      throw this.#fail("BAD_MAGIC", "not a pcapng file (no section header block first)");
    }
    while (this.interfaces.length === 0 && this.#step(true)) { /* non-packet blocks before the first IDB */ }
  }

  /**
   * A reader over `input` positioned at the start of the file. Throws `PcapFormatError`
   * when the first section header is unusable.
   *
   * @example
   * ```ts
   * import { openSync } from "node:fs";
   * import { ByteInput } from "./input.ts";
   * import { PcapNgReader } from "./pcapng_reader.ts";
   * const path = "/tmp/x.pcapng";
   * const r = PcapNgReader.fromInput(path, new ByteInput(openSync(path, "r"), path, 1 << 20), true);
   * ```
   */
  static fromInput(
    path: string,
    input: ByteInput,
    ownsFd: boolean,
    options: ReaderOptions = {},
  ): PcapNgReader {
    return new PcapNgReader(path, input, ownsFd, options);
  }

  /** Link type of the first interface (-1 when the file describes none). */
  get linkType(): number {
    return this.#firstLinkType;
  }

  /** Snap length of the first interface (0 read as 262144). */
  get snaplen(): number {
    return this.#firstSnaplen;
  }

  #fail(code: PcapFormatError["code"], what: string): PcapFormatError {
    return new PcapFormatError(code, this.path, this.input.fileOffset, what);
  }

  protected read(): FilePacket | null {
    for (;;) {
      const r = this.#step(false);
      if (r === false) return null;
      if (r !== true) return r;
    }
  }

  /**
   * Handle one block. Returns the packet for a packet block, true for another block,
   * false at the end of the file. With `peek`, stops (true... false) before a packet block.
   */
  #step(peek: boolean): FilePacket | boolean {
    const input = this.input;
    if (!input.ensure(8)) {
      if (input.available === 0) return false;
      throw this.#fail("TRUNCATED", `the file ends inside a block header (${input.available} of 8 bytes)`);
    }
    const v = input.view;
    let s = input.start;
    const type = v.getUint32(s, this.#le);
    if (type === PCAPNG_SHB) {
      if (!input.ensure(28)) {
        throw this.#fail(
          "TRUNCATED",
          `the file ends inside a section header (${input.available} of 28 bytes)`,
        );
      }
      s = input.start;
      const bom = v.getUint32(s + 8, true);
      if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.#le = true;
      else if (v.getUint32(s + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) this.#le = false;
      else throw this.#fail("BAD_HEADER", `bad pcapng byte-order magic 0x${bom.toString(16)}`);
      const major = v.getUint16(s + 12, this.#le);
      if (major !== 1) throw this.#fail("BAD_HEADER", `unsupported pcapng version ${major}`);
    }
    const len = v.getUint32(s + 4, this.#le);
    if (len < 12 || len % 4 !== 0) {
      throw this.#fail("BAD_BLOCK", `block length ${len} is not a multiple of 4 of at least 12`);
    }
    if (len > MAX_PCAPNG_BLOCK) {
      throw this.#fail("RECORD_TOO_LARGE", `block of ${len} bytes, more than the cap of ${MAX_PCAPNG_BLOCK}`);
    }
    if (type === PCAPNG_SHB) {
      if (len < 28) throw this.#fail("BAD_BLOCK", `section header block of ${len} bytes (at least 28)`);
      this.sections++;
      this.interfaces = [];
      if (!input.skip(len)) {
        throw this.#fail("TRUNCATED", `the file ends inside a ${len}-byte section header`);
      }
      return true;
    }
    if (type !== PCAPNG_IDB && type !== PCAPNG_EPB && type !== PCAPNG_SPB && type !== PCAPNG_PB) {
      if (!input.skip(len)) {
        throw this.#fail("TRUNCATED", `the file ends inside a ${len}-byte block (type ${type})`);
      }
      return true;
    }
    if (peek && type !== PCAPNG_IDB) return false;
    if (len > input.buf.length) {
      throw this.#fail(
        "RECORD_TOO_LARGE",
        `block of ${len} bytes, more than the read buffer (${input.buf.length})`,
      );
    }
    if (!input.ensure(len)) {
      throw this.#fail(
        "TRUNCATED",
        `truncated last block: ${len} bytes announced, ${input.available} in the file`,
      );
    }
    s = input.start;
    if (v.getUint32(s + len - 4, this.#le) !== len) {
      throw this.#fail(
        "BAD_BLOCK",
        `block lengths differ (${len} at the start, ${v.getUint32(s + len - 4, this.#le)} at the end)`,
      );
    }
    if (type === PCAPNG_IDB) {
      this.#interface(s, len);
      input.consume(len);
      return true;
    }
    const p = this.packet;
    let ifid = 0, caplen: number, dataAt: number;
    const timed = type !== PCAPNG_SPB;
    if (timed) { // EPB: interface id u32; obsolete PB: interface id u16 + drops u16; then the same layout
      if (len < 32) throw this.#fail("BAD_BLOCK", `packet block of ${len} bytes (at least 32)`);
      ifid = type === PCAPNG_EPB ? v.getUint32(s + 8, this.#le) : v.getUint16(s + 8, this.#le);
      caplen = v.getUint32(s + 20, this.#le);
      p.wirelen = v.getUint32(s + 24, this.#le);
      dataAt = s + 28;
      if (caplen > len - 32) {
        throw this.#fail("BAD_BLOCK", `captured length ${caplen} runs past the ${len}-byte packet block`);
      }
    } else { // SPB: no timestamp, no captured length: min(original length, block room, snaplen)
      if (len < 16) throw this.#fail("BAD_BLOCK", `simple packet block of ${len} bytes (at least 16)`);
      p.wirelen = v.getUint32(s + 8, this.#le);
      dataAt = s + 12;
      caplen = Math.min(p.wirelen, len - 16);
    }
    const iface = this.interfaces[ifid];
    if (!iface) {
      throw this.#fail(
        "BAD_INTERFACE",
        `packet for interface ${ifid}, but only ${this.interfaces.length} described`,
      );
    }
    if (type === PCAPNG_SPB && iface.snaplen > 0 && caplen > iface.snaplen) caplen = iface.snaplen;
    if (caplen > this.#maxRecord) {
      throw this.#fail(
        "RECORD_TOO_LARGE",
        `packet of ${caplen} captured bytes, more than the cap of ${this.#maxRecord}`,
      );
    }
    if (timed) {
      ticksToTime(v.getUint32(s + 12, this.#le), v.getUint32(s + 16, this.#le), iface.tsresol);
      p.tsSec = tickTime.sec + iface.tsoffset;
      p.tsNsec = tickTime.nsec;
    } else {
      p.tsSec = 0;
      p.tsNsec = 0;
    }
    p.caplen = caplen;
    p.offset = dataAt;
    p.interfaceId = ifid;
    p.linkType = iface.linkType;
    input.consume(len);
    return p;
  }

  #interface(s: number, len: number): void {
    const v = this.input.view, le = this.#le;
    if (len < 20) throw this.#fail("BAD_BLOCK", `interface description block of ${len} bytes (at least 20)`);
    const iface: PcapNgInterface = {
      linkType: v.getUint16(s + 8, le),
      snaplen: v.getUint32(s + 12, le),
      tsresol: 6,
      tsoffset: 0,
    };
    const end = s + len - 4;
    for (let o = s + 16; o + 4 <= end;) {
      const code = v.getUint16(o, le), olen = v.getUint16(o + 2, le);
      if (code === 0) break;
      if (o + 4 + olen > end) throw this.#fail("BAD_BLOCK", `interface option ${code} runs past its block`);
      if (code === PCAPNG_OPT_IF_TSRESOL && olen >= 1) iface.tsresol = this.input.buf[o + 4];
      if (code === PCAPNG_OPT_IF_TSOFFSET && olen >= 8) {
        const hi = v.getInt32(o + 4 + (le ? 4 : 0), le), lo = v.getUint32(o + 4 + (le ? 0 : 4), le);
        iface.tsoffset = hi * 4294967296 + lo;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    if (this.interfaces.length === 0 && this.sections === 1) {
      this.#firstLinkType = iface.linkType;
      this.#firstSnaplen = iface.snaplen === 0 || iface.snaplen > DEFAULT_SNAPLEN
        ? DEFAULT_SNAPLEN
        : iface.snaplen;
    }
    this.interfaces.push(iface);
  }
}
