/**
 * `TopSession`: turns interval snapshots of the top analysis into reports —
 * the top talkers of each interval, and one report for the whole capture.
 *
 * Live captures report an interval at every `tick()` (the wall clock);
 * files report the packet-time intervals `TopAnalysis` cuts (`interval()`).
 * Every packet belongs to exactly one reported interval, so the intervals'
 * totals add up to the whole capture's.
 * @module
 */
import { TopCounter, type TopReport, type TopTables } from "./counter.ts";
import type { TopSnapshot } from "./analysis.ts";

/** Options of `TopSession`. */
export interface TopSessionOptions {
  /** Entries per list. */
  n: number;
  /** Order by packets instead of bytes. */
  byPackets: boolean;
  /** Interval length in seconds. */
  interval: number;
  /** Intervals are cut by packet time (files) instead of by `tick()` (live). */
  packetTime: boolean;
  /** Called with each interval's report. */
  onInterval: (r: TopReport) => void;
  /** Most distinct keys per table (see KeyTable). */
  maxEntries?: number;
}

/**
 * @example
 * ```ts
 * import { TopSession } from "./session.ts";
 * import { TopAnalysis } from "./analysis.ts";
 * import type { PacketSource } from "../../packet.ts";
 * function perSecond(src: PacketSource) {
 *   const s = new TopSession({ n: 5, byPackets: false, interval: 1, packetTime: true, onInterval: console.log });
 *   const a = new TopAnalysis({ interval: 1, packetTime: true }, (i) => s.interval(i));
 *   for (let p = src.next(); p; p = src.next()) a.add(p);
 *   return s.finish(a.snapshot(), 0, 0); // the whole file
 * }
 * ```
 */
export class TopSession {
  /** Every interval reported so far. */
  readonly whole: TopCounter;
  #scratch: TopCounter;
  #start = -1;
  #first = -1;
  #dropped = 0;

  constructor(readonly o: TopSessionOptions) {
    const limits = { maxEntries: o.maxEntries };
    this.whole = new TopCounter(limits);
    this.#scratch = new TopCounter(limits);
  }

  /** Live: the first interval starts at `now` (epoch seconds). */
  begin(now: number): void {
    this.#start = this.#first = now;
  }

  /** Files: report a finished packet-time interval (from `TopAnalysis`'s `onInterval`). */
  interval(s: TopSnapshot): void {
    this.#emit(s, s.start, this.o.interval, 0);
  }

  /** Live: the interval's tables at `now` (epoch seconds); `droppedTotal` is the ring's cumulative count. */
  tick(s: TopTables, now: number, droppedTotal: number): void {
    this.#emit(s, this.#start, now - this.#start, droppedTotal - this.#dropped);
    this.#dropped = droppedTotal;
    this.#start = now;
  }

  /**
   * End: report the last interval if it has packets (a file's last one is nominally
   * `interval` long), and return the whole capture's report.
   */
  finish(s: TopSnapshot, now: number, droppedTotal: number): TopReport {
    const live = !this.o.packetTime;
    const dropped = droppedTotal - this.#dropped;
    if (s.packets > 0 || dropped > 0) {
      this.#emit(s, live ? this.#start : s.start, live ? now - this.#start : this.o.interval, dropped);
    }
    let first = live ? this.#first : s.first, last = live ? now : s.last;
    if (first < 0) first = last = now;
    return this.whole.report(this.o.n, this.o.byPackets, first, last - first, droppedTotal);
  }

  #emit(s: TopTables, start: number, length: number, dropped: number): void {
    const c = this.#scratch;
    c.clear();
    c.load(s);
    this.o.onInterval(c.report(this.o.n, this.o.byPackets, start, length, dropped));
    this.whole.load(s);
  }
}
