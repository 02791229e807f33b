/**
 * `TextSink`: packets as `tcpdump -n`-style lines (what `dump -r FILE` and
 * `dump IFACE` without `-w` print), buffered and written with `write` in
 * batches of 512 lines, and on `flush()`.
 *
 * @example
 * ```ts
 * import { TextSink } from "./text.ts";
 * import type { PacketSource } from "../packet.ts";
 * function print(src: PacketSource): void {
 *   const out = new TextSink((text) => console.log(text.trimEnd()));
 *   for (let p = src.next(); p; p = src.next()) out.writePacket(p);
 *   out.flush();
 * }
 * ```
 * @module
 */
import type { Packet } from "../packet.ts";
import { Decoded } from "../decode/decoded.ts";
import { packetLine } from "../decode/summary.ts";

/** Buffered one-line-per-packet text. */
export class TextSink {
  #d = new Decoded();
  #lines: string[] = [];

  /** `write` receives complete lines, each ending in "\n". */
  constructor(readonly write: (text: string) => void) {}

  writePacket(p: Packet): void {
    this.#lines.push(packetLine(p, this.#d, false));
    if (this.#lines.length >= 512) this.flush();
  }

  /** Write what is buffered. */
  flush(): void {
    if (this.#lines.length) this.write(this.#lines.join("\n") + "\n");
    this.#lines = [];
  }
}
