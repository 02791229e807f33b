/**
 * Every receive queue of an interface on the xdp backend, for the tools.
 *
 * An AF_XDP socket receives only the queue it is bound to; the frames of the
 * other queues go to the stack unseen. So a tool capturing with
 * `RINGCAP_BACKEND=xdp` opens one ring (one AF_XDP socket) per receive queue
 * unless a queue is chosen (`--queue Q`, `RingOptions.xdpQueue`,
 * `RINGCAP_XDP_QUEUE`). `openLive` decides: one `Ring` where one queue is
 * read (the other backends, a chosen queue, a one-queue interface), else an
 * `XdpQueues` that one thread reads round-robin (`--workers 1`); a cluster
 * gives each Worker whole queues (`xdpQueueList`, lib/cluster/cluster.ts).
 *
 * `XdpQueues.next()` reads up to `QUOTA` packets from one ring, then moves to
 * the next ring with packets: no allocation, no FFI call, no copy per packet
 * (each ring's reader hands its chunks back to its fill ring in batches, as
 * alone). `wait()` has no single descriptor to sleep on, so it waits on the
 * rings in turn in slices of at most 10 ms.
 *
 * @example
 * ```ts
 * import { openLive, xdpInfo } from "./xdp_queues.ts";
 * const src = await openLive("veth1", { backend: "xdp" }); // every queue of veth1
 * await src.wait(100);
 * console.log(src.next()?.wirelen, xdpInfo(src)); // { mode: "native", zeroCopy: false, queues: [0, 1, 2, 3] }
 * src.close();
 * ```
 * @module
 */
import { readdirSync } from "node:fs";
import process from "node:process";
import type { CaptureStats, Packet, PacketSource } from "../../packet.ts";
import { RingError } from "./errors.ts";
import { type Delivery, Ring, type RingOptions } from "./ring.ts";
import type { XdpRing } from "./ring_xdp.ts";

/** Packets read from one ring before the next ring's turn. */
const QUOTA = 64;

/** What an xdp capture obtained: attach mode, zero-copy or copy, the queues read. */
export interface XdpInfo {
  mode: "native" | "generic";
  zeroCopy: boolean;
  queues: number[];
}

/** True when these options open the xdp backend (`backend: "xdp"`, or "auto"/unset with RINGCAP_BACKEND=xdp). */
export function xdpBackend(o: RingOptions): boolean {
  const b = o.backend ?? "auto";
  return b === "xdp" || (b === "auto" && process.env.RINGCAP_BACKEND === "xdp");
}

/** Receive queues of `iface` (sysfs `queues/rx-N`), 1 when unknown. */
export function rxQueues(iface: string): number {
  if (!iface || iface.includes("/") || iface.startsWith(".")) return 1;
  try {
    return readdirSync(`/sys/class/net/${iface}/queues`).filter((n) => /^rx-\d+$/.test(n)).length || 1;
  } catch {
    return 1;
  }
}

/**
 * The queues an xdp capture of `iface` reads: the chosen one (`xdpQueue`,
 * else `RINGCAP_XDP_QUEUE`), else every receive queue. libring checks each
 * against the interface (out of range → EINVAL, one line).
 */
export function xdpQueueList(iface: string, o: RingOptions): number[] {
  if (o.xdpQueue !== undefined) return [o.xdpQueue];
  const env = process.env.RINGCAP_XDP_QUEUE;
  if (env) {
    if (!/^\d{1,5}$/.test(env)) {
      throw new RingError("EINVAL", `RINGCAP_XDP_QUEUE=${env}: give a queue number`);
    }
    return [Number(env)];
  }
  return Array.from({ length: rxQueues(iface) }, (_, q) => q);
}

/** Several AF_XDP rings (one per queue) read by one thread, round-robin. */
export class XdpQueues implements PacketSource, Disposable {
  readonly backend = "xdp" as const;
  /** One ring per queue, in `queues` order. */
  readonly rings: readonly Ring[];
  readonly iface: string;
  #i = 0;
  #quota = QUOTA;
  #turn = 0;
  #closed = false;

  /** Open one ring per queue (each `Ring.open(iface, { ...o, xdpQueue: q })`); all or none. */
  static async open(iface: string, o: RingOptions, queues: readonly number[]): Promise<XdpQueues> {
    const rings: Ring[] = [];
    try {
      for (const q of queues) rings.push(await Ring.open(iface, { ...o, backend: "xdp", xdpQueue: q }));
    } catch (e) {
      for (const r of rings) r.close();
      throw e;
    }
    return new XdpQueues(iface, rings);
  }

  private constructor(iface: string, rings: Ring[]) {
    this.iface = iface;
    this.rings = rings;
  }

  /** The next packet of the current ring, or of the next ring with packets; null when none has any. */
  next(): Packet | null {
    const rs = this.rings, n = rs.length;
    if (--this.#quota > 0) {
      const p = rs[this.#i].next();
      if (p) return p;
    }
    for (let k = 0; k < n; k++) {
      this.#i = this.#i + 1 === n ? 0 : this.#i + 1;
      const p = rs[this.#i].next();
      if (p) {
        this.#quota = QUOTA;
        return p;
      }
    }
    return null;
  }

  /** True when some ring has a packet. */
  ready(): boolean {
    for (const r of this.rings) if (r.ready()) return true;
    return false;
  }

  /** Wait until some ring has packets or `timeoutMs` passes: the rings in turn, ≤ 10 ms each. */
  async wait(timeoutMs = 100): Promise<boolean> {
    if (this.#closed) throw new RingError("EBADF", `${this.iface}: the capture is closed`);
    if (this.ready()) return true;
    const n = this.rings.length;
    const slice = Math.max(1, Math.min(10, Math.ceil(timeoutMs / n)));
    const end = performance.now() + timeoutMs;
    do {
      const r = this.rings[this.#turn];
      this.#turn = this.#turn + 1 === n ? 0 : this.#turn + 1;
      if (await r.wait(Math.min(slice, Math.max(1, end - performance.now())))) return true;
      if (this.#closed) return false;
      if (this.ready()) return true;
    } while (performance.now() < end);
    return false;
  }

  /** End the pause of rings opened `paused`. */
  start(): void {
    for (const r of this.rings) r.start();
  }

  /** The sum of the rings' counters. */
  stats(): CaptureStats {
    const t = { packets: 0, dropped: 0, filtered: 0, bytes: 0 };
    for (const r of this.rings) {
      const s = r.stats();
      t.packets += s.packets, t.dropped += s.dropped, t.filtered += s.filtered, t.bytes += s.bytes;
    }
    return t;
  }

  /** Each packet is visible once the kernel wrote it (AF_XDP RX rings). */
  get delivery(): Delivery {
    return "immediate";
  }

  /** No fanout group on xdp. */
  get fanoutGroup(): number {
    return -1;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Mode of the first ring (every queue is attached alike), zero-copy where all are, the queues. */
  get xdp(): XdpInfo {
    const each = this.rings.map((r) => (r as XdpRing).xdpMode);
    return { mode: each[0].mode, zeroCopy: each.every((x) => x.zeroCopy), queues: each.map((x) => x.queue) };
  }

  /** Close every ring (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of this.rings) r.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A live capture: a ring, or on xdp without a chosen queue on a multi-queue interface, every queue. */
export type LiveSource = Ring | XdpQueues;

/**
 * Open a live capture of `iface`: `Ring.open`, except on the xdp backend
 * where every receive queue is read unless one is chosen (see the module doc).
 */
export async function openLive(iface: string, o: RingOptions = {}): Promise<LiveSource> {
  if (!xdpBackend(o) || o.fanout) return await Ring.open(iface, o);
  const queues = xdpQueueList(iface, o);
  if (queues.length === 1) return await Ring.open(iface, { ...o, xdpQueue: queues[0] });
  return await XdpQueues.open(iface, o, queues);
}

/** What an xdp capture obtained, or undefined on the other backends. */
export function xdpInfo(src: LiveSource | undefined): XdpInfo | undefined {
  if (!src || src.backend !== "xdp") return undefined;
  if (src instanceof XdpQueues) return src.xdp;
  const m = (src as XdpRing).xdpMode;
  return { mode: m.mode, zeroCopy: m.zeroCopy, queues: [m.queue] };
}
