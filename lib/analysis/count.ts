/**
 * `counting`: pcount's analysis — packets and bytes (wire lengths) read.
 * The cheapest analysis there is: the read loop's own cost per packet.
 *
 * @example
 * ```ts
 * import { counting } from "./count.ts";
 * const a = counting.create({});
 * // a.add(p) for each packet...
 * const s = a.snapshot(); // { packets, bytes } since the previous snapshot
 * counting.merge(s, { packets: 2, bytes: 120 });
 * ```
 * @module
 */
import type { Packet } from "../packet.ts";
import type { Analysis, AnalysisKind } from "./analysis.ts";

/** Packets and bytes (sum of wire lengths) read. */
export interface CountSnapshot {
  packets: number;
  bytes: number;
}

/** pcount's per-thread state. */
export class CountAnalysis implements Analysis<CountSnapshot> {
  packets = 0;
  bytes = 0;

  add(p: Packet): void {
    this.packets++;
    this.bytes += p.wirelen;
  }

  snapshot(): CountSnapshot {
    const s = { packets: this.packets, bytes: this.bytes };
    this.packets = this.bytes = 0;
    return s;
  }
}

/** The count tool's kind: no options; snapshots add up. */
export const counting: AnalysisKind<Record<string, never>, CountSnapshot> = {
  name: "count",
  create: () => new CountAnalysis(),
  merge: (a, b) => ({ packets: a.packets + b.packets, bytes: a.bytes + b.bytes }),
};
