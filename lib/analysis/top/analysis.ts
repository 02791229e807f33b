/**
 * `topTalkers`: topn's analysis — a `TopCounter` (hosts, host pairs,
 * protocols, ports) per thread, cut into intervals. Live captures are cut by
 * the wall clock: the front end takes a `snapshot()` every interval. Files
 * are cut by packet time: the first interval starts at the first packet, each
 * lasts `interval` seconds, and a packet past the end hands the finished
 * interval to `onInterval` before it is counted (intervals with no packet are
 * not reported).
 *
 * Snapshots are the counter's tables in insertion order (`TopTables`) plus
 * the packet times seen; `merge` adds tables by key — host, pair and port
 * tables are not partitioned between threads, so counts of one key from
 * several threads add up, and top-N is taken after the merge.
 *
 * @example
 * ```ts
 * import { TopAnalysis, topTalkers } from "./analysis.ts";
 * import { TopCounter } from "./counter.ts";
 * import type { PacketSource } from "../../packet.ts";
 * function hostsOf(a: PacketSource, b: PacketSource) {
 *   const x = new TopAnalysis({ interval: 1, packetTime: false });
 *   const y = new TopAnalysis({ interval: 1, packetTime: false });
 *   for (let p = a.next(); p; p = a.next()) x.add(p);
 *   for (let p = b.next(); p; p = b.next()) y.add(p);
 *   const both = new TopCounter();
 *   both.load(topTalkers.merge(x.snapshot(), y.snapshot()));
 *   return both.report(10, false, 0, 0, 0).top.hosts;
 * }
 * ```
 * @module
 */
import type { Packet } from "../../packet.ts";
import type { Analysis, AnalysisKind } from "../analysis.ts";
import { TopCounter, type TopTables } from "./counter.ts";

/** Options of the top analysis. */
export interface TopOptions {
  /** Interval length, seconds. */
  interval: number;
  /** Cut intervals by packet time (files) instead of by the front end's ticks (live). */
  packetTime: boolean;
  /** Most distinct keys per table (see KeyTable). */
  maxEntries?: number;
}

/** One interval's tables, with packet times (seconds; -1 = none or not cut by packet time). */
export interface TopSnapshot extends TopTables {
  /** Packet time: start of the interval. */
  start: number;
  /** Packet time of the first packet of the capture, and of the newest so far. */
  first: number;
  last: number;
}

/** topn's per-thread state. */
export class TopAnalysis implements Analysis<TopSnapshot> {
  /** The current interval's tables. */
  readonly counter: TopCounter;
  #start = -1;
  #end = 0;
  #first = -1;
  #last = -1;

  /** `onInterval` receives each finished packet-time interval (files). */
  constructor(readonly o: TopOptions, readonly onInterval?: (s: TopSnapshot) => void) {
    this.counter = new TopCounter({ maxEntries: o.maxEntries });
  }

  add(p: Packet): void {
    if (this.o.packetTime) {
      const t = p.tsSec + p.tsNsec / 1e9;
      if (this.#start < 0) {
        this.#start = this.#first = this.#last = t;
        this.#end = t + this.o.interval;
      } else if (t >= this.#end) {
        const done = this.snapshot();
        this.onInterval?.(done);
        this.#start += this.o.interval * Math.floor((t - this.#start) / this.o.interval);
        this.#end = this.#start + this.o.interval;
      }
      if (t > this.#last) this.#last = t;
    }
    this.counter.add(p);
  }

  snapshot(): TopSnapshot {
    const s = { ...this.counter.snapshot(), start: this.#start, first: this.#first, last: this.#last };
    this.counter.clear();
    return s;
  }
}

/** The top tool's kind. */
export const topTalkers: AnalysisKind<TopOptions, TopSnapshot> = {
  name: "top",
  create: (o) => new TopAnalysis(o),
  merge(a, b) {
    const c = new TopCounter();
    c.load(a);
    c.load(b);
    const first = a.first < 0 ? b.first : b.first < 0 ? a.first : Math.min(a.first, b.first);
    return { ...c.snapshot(), start: Math.min(a.start, b.start), first, last: Math.max(a.last, b.last) };
  },
};
