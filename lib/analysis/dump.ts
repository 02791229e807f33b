/**
 * `DumpAnalysis`: dump's analysis — every packet goes to a sink (the pcap
 * writer of `-w`, or tcpdump-style text lines); the state is how many went.
 * dump runs on one thread: a pcap file is one ordered stream.
 *
 * @example
 * ```ts
 * import { DumpAnalysis } from "./dump.ts";
 * import { PcapWriter } from "../sink/pcap/writer.ts";
 * import type { PacketSource } from "../packet.ts";
 * function copy(src: PacketSource, path: string): number {
 *   using w = PcapWriter.open(path);
 *   const a = new DumpAnalysis(w);
 *   for (let p = src.next(); p; p = src.next()) a.add(p);
 *   return a.snapshot().packets;
 * }
 * ```
 * @module
 */
import type { Packet } from "../packet.ts";
import type { Analysis, AnalysisKind } from "./analysis.ts";

/** Where dump's packets go (`PcapWriter`, `RotatingPcapWriter`, `TextSink`). */
export interface PacketSink {
  writePacket(p: Packet): void;
}

/** Packets handed to the sink since the previous snapshot. */
export interface DumpSnapshot {
  packets: number;
}

/** dump's state: a sink and a count. */
export class DumpAnalysis implements Analysis<DumpSnapshot> {
  #packets = 0;

  constructor(readonly sink: PacketSink) {}

  add(p: Packet): void {
    this.sink.writePacket(p);
    this.#packets++;
  }

  snapshot(): DumpSnapshot {
    const s = { packets: this.#packets };
    this.#packets = 0;
    return s;
  }
}

/** The dump tool's kind (options: the sink). */
export const dumping: AnalysisKind<PacketSink, DumpSnapshot> = {
  name: "dump",
  create: (sink) => new DumpAnalysis(sink),
  merge: (a, b) => ({ packets: a.packets + b.packets }),
};
