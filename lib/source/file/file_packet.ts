/**
 * `FilePacket`: the one reused `Packet` a file reader hands out; its bytes stay in
 * the reader's buffer.
 * @module
 */
import type { Packet } from "../../packet.ts";

/**
 * A `Packet` whose fields the reader overwrites on each `next()`.
 *
 * @example
 * ```ts
 * import { FilePacket } from "./file_packet.ts";
 * const buf = new Uint8Array(64);
 * const p = new FilePacket(buf, new DataView(buf.buffer));
 * p.caplen = 60;
 * p.bytes().length; // 60
 * ```
 */
export class FilePacket implements Packet {
  offset = 0;
  caplen = 0;
  wirelen = 0;
  tsSec = 0;
  tsNsec = 0;
  /** Files carry tags inside the frames: always -1. */
  vlanTci = -1;
  vlanTpid = 0;
  ifindex = 0;
  /** Link type of the interface the packet came from (pcapng: per interface). */
  linkType = 1;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId = 0;

  constructor(public data: Uint8Array, public view: DataView) {}

  /** A subarray over the frame bytes (allocates; valid until the next `next()`). */
  bytes(): Uint8Array {
    return this.data.subarray(this.offset, this.offset + this.caplen);
  }
}
