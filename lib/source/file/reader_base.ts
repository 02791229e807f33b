/**
 * `CaptureFileReader`: what the pcap and pcapng readers share — the `PacketSource`
 * surface (stats, close, dispose), batch iteration like the live `Ring`, the sticky error.
 * @module
 */
import { closeSync } from "node:fs";
import { setImmediate } from "node:timers";
import type { CaptureStats, Packet, PacketSource } from "../../packet.ts";
import { PacketBatch } from "../../batch.ts";
import type { ByteInput } from "./input.ts";
import { FilePacket } from "./file_packet.ts";

/** Options of the file readers. */
export interface ReaderOptions {
  /** Largest captured length accepted in one record; a bigger record is an error. Default 262144. */
  maxRecord?: number;
  /** Read chunk (buffer) size in bytes. Default 1 MiB (at least maxRecord + 64 KiB). */
  bufferSize?: number;
}

/**
 * Base of `PcapReader` and `PcapNgReader`. `next()` returns one reused `Packet` or
 * null at the end of the file; damage throws a `PcapFormatError` after the packets
 * before it (and again on every later call).
 *
 * @example
 * ```ts
 * import { openCaptureFile } from "./open.ts";
 * using r = openCaptureFile("/tmp/x.pcap");
 * for await (const batch of r) for (const p of batch) console.log(p.caplen);
 * ```
 */
export abstract class CaptureFileReader implements PacketSource, AsyncIterable<PacketBatch> {
  /** "pcap" or "pcapng". */
  abstract readonly format: "pcap" | "pcapng";
  /** Link type of the file (pcapng: of the first interface; -1 before any). */
  abstract readonly linkType: number;
  /** Snap length of the file (pcapng: of the first interface); 0 or absurd values read as 262144. */
  abstract readonly snaplen: number;

  protected readonly packet: FilePacket;
  protected error: Error | null = null;
  protected closed = false;
  #stats: CaptureStats = { packets: 0, dropped: 0, filtered: 0, bytes: 0 };

  protected constructor(
    readonly path: string,
    protected readonly input: ByteInput,
    protected readonly ownsFd: boolean,
  ) {
    this.packet = new FilePacket(input.buf, input.view);
  }

  /** Read the next record; null at the end of the file. Subclasses implement it. */
  protected abstract read(): FilePacket | null;

  /**
   * The next packet (reused object, valid until the next call), or null at the end of the file.
   * Throws `PcapFormatError` when the file is damaged at this point.
   *
   * @example
   * ```ts
   * import { openCaptureFile } from "./open.ts";
   * const r = openCaptureFile("/tmp/x.pcap");
   * for (let p = r.next(); p; p = r.next()) console.log(p.tsSec, p.wirelen);
   * r.close();
   * ```
   */
  next(): Packet | null {
    if (this.error) throw this.error;
    if (this.closed) return null;
    let p: FilePacket | null;
    try {
      p = this.read();
    } catch (e) {
      this.error = e as Error;
      throw e;
    }
    if (p) {
      this.#stats.packets++;
      this.#stats.bytes += p.wirelen;
    }
    return p;
  }

  /**
   * Counters so far: `packets` read, `bytes` (sum of wire lengths); `dropped`/`filtered` are 0 for files.
   *
   * @example
   * ```ts
   * import { openCaptureFile } from "./open.ts";
   * const r = openCaptureFile("/tmp/x.pcap");
   * while (r.next());
   * console.log(r.stats().packets);
   * ```
   */
  stats(): CaptureStats {
    return { ...this.#stats };
  }

  /**
   * Close the file (idempotent); `next()` returns null afterwards.
   *
   * @example
   * ```ts
   * import { openCaptureFile } from "./open.ts";
   * openCaptureFile("/tmp/x.pcap").close();
   * ```
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) closeSync(this.input.fd);
  }

  /** `using r = openCaptureFile(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Async iteration by batches of up to `max` packets (default 65,536, as `Ring.batches`).
   * The batch object is reused; `for (const p of batch)` allocates nothing per packet.
   * Lets the event loop turn between batches (every 16 small ones) so signals and timers get through.
   *
   * @example
   * ```ts
   * import { openCaptureFile } from "./open.ts";
   * using r = openCaptureFile("/tmp/x.pcap");
   * let n = 0;
   * for await (const batch of r.batches(512)) for (const _p of batch) n++;
   * ```
   */
  async *batches(max = 65536): AsyncGenerator<PacketBatch, void, void> {
    const batch = new PacketBatch(this, max);
    for (let i = 1; batch.fill(); i++) {
      yield batch;
      if (max >= 4096 || i % 16 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Same as `batches()`. */
  [Symbol.asyncIterator](): AsyncGenerator<PacketBatch, void, void> {
    return this.batches();
  }
}
