/**
 * File rotation for pcap dumps, as tcpdump does it: `-C MB` (a new file once the
 * current one exceeds MB × 1,000,000 bytes: FILE, FILE1, FILE2...; with `-W N`
 * the numbers wrap and are zero-padded) and `-G SEC` (a new file every SEC
 * seconds, the name passed through strftime).
 * @module
 */
import type { Packet } from "../../packet.ts";
import { PcapWriter, type PcapWriterOptions } from "./writer.ts";
import { strftime } from "./strftime.ts";

/** Options of `RotatingPcapWriter` (plus every `PcapWriterOptions`). */
export interface RotationOptions extends PcapWriterOptions {
  /** `-C`: rotate once the file is larger than this many millions of bytes (tcpdump's unit). */
  fileSizeMB?: number;
  /** `-G`: rotate every this many seconds of packet time; the name is a strftime pattern. */
  rotateSeconds?: number;
  /** `-W`: with `-C`, reuse at most this many files (names FILE0..FILE{N-1}, zero-padded). */
  maxFiles?: number;
  /** Start of the first `-G` period and the time its name is formatted with (default: now). */
  startSec?: number;
  /** Format `-G` names in UTC instead of local time. */
  utc?: boolean;
}

/**
 * The name tcpdump gives a savefile: the (strftime-expanded with `-G`) name, then
 * the file number unless it is the first file without `-W`.
 *
 * @example
 * ```ts
 * import { rotationFileName } from "./rotate.ts";
 * rotationFileName("dump.pcap", 0, 0); // "dump.pcap"
 * rotationFileName("dump.pcap", 2, 0); // "dump.pcap2"
 * rotationFileName("dump.pcap", 3, 2); // "dump.pcap03"
 * ```
 */
export function rotationFileName(name: string, count: number, maxChars: number): string {
  if (count === 0 && maxChars === 0) return name;
  return name + String(count).padStart(maxChars, "0");
}

/**
 * A pcap writer that rotates files by size (`-C`) and/or time (`-G`) with tcpdump's names.
 * `files` lists every file opened, in order.
 *
 * @example
 * ```ts
 * import { RotatingPcapWriter } from "./rotate.ts";
 * using w = new RotatingPcapWriter("/tmp/cap.pcap", { fileSizeMB: 1 });
 * for (let i = 0; i < 5000; i++) w.writeBytes(new Uint8Array(1000), 1700000000 + i, 0);
 * w.files; // ["/tmp/cap.pcap", "/tmp/cap.pcap1", ...]
 * ```
 */
export class RotatingPcapWriter {
  /** Every file opened, in order (with `maxFiles`, names repeat). */
  readonly files: string[] = [];
  /** Records written over all files. */
  packets = 0;
  /** Sum of wire lengths over all files. */
  bytes = 0;

  #writer: PcapWriter;
  #limit: number;
  #seconds: number;
  #maxChars = 0;
  #count = 0;
  #periodStart: number;
  #name: string;

  constructor(readonly path: string, readonly options: RotationOptions = {}) {
    this.#limit = options.fileSizeMB && options.fileSizeMB > 0 ? options.fileSizeMB * 1_000_000 : 0;
    this.#seconds = options.rotateSeconds && options.rotateSeconds > 0 ? options.rotateSeconds : 0;
    if (options.maxFiles && options.maxFiles > 0) {
      for (let i = options.maxFiles - 1; i > 0; i = Math.floor(i / 10)) this.#maxChars++;
      if (this.#maxChars === 0) this.#maxChars = 1;
    }
    this.#periodStart = Math.floor(options.startSec ?? Date.now() / 1000);
    this.#name = this.#seconds ? strftime(path, this.#periodStart, options.utc) : path;
    this.#writer = this.#open();
  }

  #open(): PcapWriter {
    const file = rotationFileName(this.#name, this.#count, this.#maxChars);
    this.files.push(file);
    return PcapWriter.open(file, this.options);
  }

  #rotate(): void {
    this.#writer.close();
    this.#writer = this.#open();
  }

  /** Rotate if needed before a packet stamped `tsSec` (tcpdump checks before writing). */
  #check(tsSec: number): void {
    if (this.#seconds && tsSec - this.#periodStart >= this.#seconds) {
      this.#periodStart = Math.floor(tsSec);
      this.#name = strftime(this.path, this.#periodStart, this.options.utc);
      this.#count = 0;
      this.#rotate();
    } else if (this.#limit && this.#writer.fileSize > this.#limit) {
      this.#count++;
      if (this.options.maxFiles && this.#count >= this.options.maxFiles) this.#count = 0;
      this.#rotate();
    }
  }

  /**
   * Append a `Packet` (VLAN tag put back), rotating first if needed.
   *
   * @example
   * ```ts
   * import { RotatingPcapWriter } from "./rotate.ts";
   * import type { Packet } from "../../packet.ts";
   * const w = new RotatingPcapWriter("/tmp/%H%M%S.pcap", { rotateSeconds: 60 });
   * const write = (p: Packet) => w.writePacket(p);
   * ```
   */
  writePacket(p: Packet): void {
    this.writeRecord(p.data, p.offset, p.caplen, p.wirelen, p.tsSec, p.tsNsec, p.vlanTci, p.vlanTpid);
  }

  /**
   * Append a raw frame (see `PcapWriter.writeRecord`), rotating first if needed.
   *
   * @example
   * ```ts
   * import { RotatingPcapWriter } from "./rotate.ts";
   * using w = new RotatingPcapWriter("/tmp/r.pcap", { fileSizeMB: 10 });
   * w.writeRecord(new Uint8Array(60), 0, 60, 60, 1700000000, 0);
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
    this.#check(tsSec);
    const before = this.#writer.bytes;
    this.#writer.writeRecord(data, offset, caplen, wirelen, tsSec, tsNsec, vlanTci, vlanTpid);
    this.packets++;
    this.bytes += this.#writer.bytes - before;
  }

  /**
   * Append a frame given as a whole byte array, rotating first if needed.
   *
   * @example
   * ```ts
   * import { RotatingPcapWriter } from "./rotate.ts";
   * using w = new RotatingPcapWriter("/tmp/b.pcap", { fileSizeMB: 1 });
   * w.writeBytes(new Uint8Array(60), 1700000000, 0);
   * ```
   */
  writeBytes(frame: Uint8Array, tsSec = 0, tsNsec = 0, wirelen = frame.length): void {
    this.writeRecord(frame, 0, frame.length, wirelen, tsSec, tsNsec);
  }

  /**
   * Flush the current file.
   *
   * @example
   * ```ts
   * import { RotatingPcapWriter } from "./rotate.ts";
   * using w = new RotatingPcapWriter("/tmp/f2.pcap", {});
   * w.flush();
   * ```
   */
  flush(): void {
    this.#writer.flush();
  }

  /**
   * Flush and close the current file.
   *
   * @example
   * ```ts
   * import { RotatingPcapWriter } from "./rotate.ts";
   * new RotatingPcapWriter("/tmp/c2.pcap", {}).close();
   * ```
   */
  close(): void {
    this.#writer.close();
  }

  /** `using` support. */
  [Symbol.dispose](): void {
    this.close();
  }
}
