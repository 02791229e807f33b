/**
 * `TopSession`: cuts a packet stream into intervals and reports the top
 * talkers of each, plus one report for the whole capture.
 *
 * Live captures are cut by the wall clock (`tick()` from the read loop);
 * files by packet time: the first interval starts at the first packet and
 * each one lasts `interval` seconds (intervals with no packet are not
 * reported). Every packet belongs to exactly one reported interval, so the
 * intervals' totals add up to the whole capture's.
 * @module
 */
import type { Packet } from "../../packet.ts";
import { TopCounter, type TopReport } from "./counter.ts";

/** Options of `TopSession`. */
export interface TopSessionOptions {
  /** Entries per list. */
  n: number;
  /** Order by packets instead of bytes. */
  byPackets: boolean;
  /** Interval length in seconds. */
  interval: number;
  /** Cut intervals by packet time (files) instead of by `tick()` (live). */
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
 * import type { PacketSource } from "../../packet.ts";
 * function perSecond(src: PacketSource) {
 *   const s = new TopSession({ n: 5, byPackets: false, interval: 1, packetTime: true, onInterval: console.log });
 *   for (let p = src.next(); p; p = src.next()) s.add(p);
 *   return s.finish(0, 0); // the whole file
 * }
 * ```
 */
export class TopSession {
  /** The current interval. */
  readonly current: TopCounter;
  /** Every interval reported so far. */
  readonly whole: TopCounter;
  #start = -1;
  #end = 0;
  #first = -1;
  #last = 0;
  #dropped = 0;

  constructor(readonly o: TopSessionOptions) {
    const limits = { maxEntries: o.maxEntries };
    this.current = new TopCounter(limits);
    this.whole = new TopCounter(limits);
  }

  /** Count a packet (first closing the current interval when the packet's time is past it). */
  add(p: Packet): void {
    if (this.o.packetTime) {
      const t = p.tsSec + p.tsNsec / 1e9;
      if (this.#start < 0) {
        this.#start = this.#first = this.#last = t;
        this.#end = t + this.o.interval;
      } else if (t >= this.#end) {
        this.#emit(this.o.interval, 0);
        this.#start += this.o.interval * Math.floor((t - this.#start) / this.o.interval);
        this.#end = this.#start + this.o.interval;
      }
      if (t > this.#last) this.#last = t;
    }
    this.current.add(p);
  }

  /** Live: start the first interval at `now` (epoch seconds). */
  begin(now: number): void {
    this.#start = this.#first = now;
  }

  /** Live: close the interval at `now` (epoch seconds); `droppedTotal` is the ring's cumulative count. */
  tick(now: number, droppedTotal: number): void {
    this.#emit(now - this.#start, droppedTotal - this.#dropped);
    this.#dropped = droppedTotal;
    this.#start = now;
    this.#last = now;
  }

  /**
   * End: report the last interval if it has packets (a file's last one is nominally
   * `interval` long), and return the whole capture's report.
   */
  finish(now: number, droppedTotal: number): TopReport {
    const live = !this.o.packetTime;
    const dropped = droppedTotal - this.#dropped;
    if (this.current.packets > 0 || dropped > 0) {
      this.#emit(live ? now - this.#start : this.o.interval, dropped);
    }
    if (live) this.#last = now;
    const first = this.#first < 0 ? now : this.#first;
    const last = this.#first < 0 ? now : this.#last;
    return this.whole.report(this.o.n, this.o.byPackets, first, last - first, droppedTotal);
  }

  #emit(length: number, dropped: number): void {
    this.o.onInterval(this.current.report(this.o.n, this.o.byPackets, this.#start, length, dropped));
    this.whole.merge(this.current);
    this.current.clear();
  }
}
