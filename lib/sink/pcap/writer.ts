/**
 * Classic pcap writer: microsecond (default) or nanosecond timestamps, snaplen and
 * link type in the header, the stripped VLAN tag put back into the frame as libpcap
 * does, records gathered in one buffer (a syscall per buffer, not per packet).
 * @module
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { Packet } from "../../packet.ts";
import {
  DEFAULT_SNAPLEN,
  LINKTYPE_ETHERNET,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_MICRO,
  PCAP_MAGIC_NANO,
  PCAP_RECORD_HEADER_LENGTH,
} from "../../source/file/constants.ts";

/** Copy n bytes: a loop for short runs, one view + memcpy (`set`) for long ones (cheaper than the loop). */
function copy(dst: Uint8Array, at: number, src: Uint8Array, from: number, n: number): void {
  if (n <= 64) {
    for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
  } else {
    dst.set(src.subarray(from, from + n), at);
  }
}

/** Options of `PcapWriter`. */
export interface PcapWriterOptions {
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nano?: boolean;
  /** Snap length written in the header; longer frames are cut to it. Default 262144. */
  snaplen?: number;
  /** Link type in the header. Default 1 (Ethernet). */
  linkType?: number;
  /** Size of the write buffer in bytes. Default 1 MiB. */
  bufferSize?: number;
}

/**
 * Writes a classic pcap file. Little-endian, as libpcap on x86 writes it.
 *
 * @example
 * ```ts
 * import { PcapWriter } from "./writer.ts";
 * using w = PcapWriter.open("/tmp/out.pcap", { snaplen: 65535 });
 * const frame = new Uint8Array(60);
 * w.writeBytes(frame, 1700000000, 123456000); // ts 1700000000.123456
 * ```
 */
export class PcapWriter {
  /** Records written (buffered ones included). */
  packets = 0;
  /** Sum of the wire lengths written. */
  bytes = 0;
  /** Size of the file once flushed: header plus every record written so far. */
  fileSize = PCAP_FILE_HEADER_LENGTH;
  /** Snap length in the header. */
  readonly snaplen: number;
  /** Link type in the header. */
  readonly linkType: number;
  /** Nanosecond timestamps. */
  readonly nano: boolean;

  #fd: number;
  #ownsFd: boolean;
  #buf: Uint8Array;
  #view: DataView;
  #used = 0;
  #closed = false;

  /** Write to an open file descriptor (`ownsFd`: close it in `close()`). Writes the file header. */
  constructor(fd: number, options: PcapWriterOptions = {}, ownsFd = false, readonly path = `fd ${fd}`) {
    this.#fd = fd;
    this.#ownsFd = ownsFd;
    this.nano = options.nano ?? false;
    this.snaplen = options.snaplen && options.snaplen > 0 ? options.snaplen : DEFAULT_SNAPLEN;
    this.linkType = options.linkType ?? LINKTYPE_ETHERNET;
    const size = Math.max(options.bufferSize ?? 1 << 20, 4096);
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
    const v = this.#view;
    v.setUint32(0, this.nano ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, this.linkType, true);
    this.#used = PCAP_FILE_HEADER_LENGTH;
  }

  /**
   * Create (truncate) `path` and write the file header.
   *
   * @example
   * ```ts
   * import { PcapWriter } from "./writer.ts";
   * const w = PcapWriter.open("/tmp/x.pcap", { nano: true });
   * w.close();
   * ```
   */
  static open(path: string, options: PcapWriterOptions = {}): PcapWriter {
    return new PcapWriter(openSync(path, "w"), options, true, path);
  }

  /**
   * Append one `Packet` (from a `Ring` or a reader). A stripped VLAN tag
   * (`vlanTci >= 0`) goes back into the frame after the MACs, TPID `vlanTpid || 0x8100`.
   *
   * @example
   * ```ts
   * import { PcapWriter } from "./writer.ts";
   * import type { PacketSource } from "../../packet.ts";
   * function dump(src: PacketSource, path: string): void {
   *   using w = PcapWriter.open(path);
   *   for (let p = src.next(); p; p = src.next()) w.writePacket(p);
   * }
   * ```
   */
  writePacket(p: Packet): void {
    this.writeRecord(p.data, p.offset, p.caplen, p.wirelen, p.tsSec, p.tsNsec, p.vlanTci, p.vlanTpid);
  }

  /**
   * Append a frame given as a whole byte array (tests and generators).
   *
   * @example
   * ```ts
   * import { PcapWriter } from "./writer.ts";
   * using w = PcapWriter.open("/tmp/y.pcap");
   * w.writeBytes(new Uint8Array(64), 1, 500, 1514); // 64 bytes captured of a 1514-byte frame
   * ```
   */
  writeBytes(frame: Uint8Array, tsSec = 0, tsNsec = 0, wirelen = frame.length): void {
    this.writeRecord(frame, 0, frame.length, wirelen, tsSec, tsNsec, -1, 0);
  }

  /**
   * Append the frame `data[offset, offset + caplen)` with its wire length and
   * timestamp; `vlanTci >= 0` inserts that 802.1Q tag (caplen and wirelen grow by 4).
   * The captured length is cut to the snap length.
   *
   * @example
   * ```ts
   * import { PcapWriter } from "./writer.ts";
   * using w = PcapWriter.open("/tmp/z.pcap");
   * const buf = new Uint8Array(2048);
   * w.writeRecord(buf, 100, 60, 60, 1700000000, 0, 0x0064, 0x8100); // VLAN 100
   * ```
   */
  writeRecord(
    data: Uint8Array,
    offset: number,
    caplen: number,
    wirelen: number,
    tsSec: number,
    tsNsec: number,
    vlanTci = -1,
    vlanTpid = 0,
  ): void {
    if (this.#closed) throw new Error(`${this.path}: pcap writer used after close()`);
    const tag = vlanTci >= 0 && caplen >= 12 ? 4 : 0;
    const fullCap = caplen + tag;
    const cap = fullCap > this.snaplen ? this.snaplen : fullCap;
    const need = PCAP_RECORD_HEADER_LENGTH + cap;
    if (this.#used + need > this.#buf.length) {
      this.flush();
      if (need > this.#buf.length) this.#grow(need);
    }
    const v = this.#view;
    let o = this.#used;
    v.setUint32(o, tsSec >>> 0, true);
    v.setUint32(o + 4, this.nano ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(o + 8, cap, true);
    v.setUint32(o + 12, wirelen + tag, true);
    o += PCAP_RECORD_HEADER_LENGTH;
    const buf = this.#buf;
    if (tag === 0) {
      copy(buf, o, data, offset, cap);
    } else {
      for (let i = 0; i < 12; i++) buf[o + i] = data[offset + i];
      if (cap > 12) buf[o + 12] = (vlanTpid || 0x8100) >> 8;
      if (cap > 13) buf[o + 13] = (vlanTpid || 0x8100) & 255;
      if (cap > 14) buf[o + 14] = (vlanTci >> 8) & 255;
      if (cap > 15) buf[o + 15] = vlanTci & 255;
      if (cap > 16) copy(buf, o + 16, data, offset + 12, cap - 16);
    }
    this.#used = o + cap;
    this.packets++;
    this.bytes += wirelen + tag;
    this.fileSize += need;
  }

  #grow(size: number): void {
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
  }

  /**
   * Write the buffered records to the file.
   *
   * @example
   * ```ts
   * import { PcapWriter } from "./writer.ts";
   * const w = PcapWriter.open("/tmp/f.pcap");
   * w.flush(); // the 24-byte header is now on disk
   * w.close();
   * ```
   */
  flush(): void {
    let done = 0;
    while (done < this.#used) done += writeSync(this.#fd, this.#buf, done, this.#used - done);
    this.#used = 0;
  }

  /**
   * Flush and close the file (idempotent).
   *
   * @example
   * ```ts
   * import { PcapWriter } from "./writer.ts";
   * const w = PcapWriter.open("/tmp/c.pcap");
   * w.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
    } finally {
      this.#closed = true;
      if (this.#ownsFd) closeSync(this.#fd);
    }
  }

  /** `using w = PcapWriter.open(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
