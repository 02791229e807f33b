/**
 * UDP export to one or more collectors (IPv4 or IPv6), over node:dgram
 * (works the same under Bun and Deno), plus `createEncoder` to pick the
 * v5/v9/IPFIX encoder by version number.
 *
 * `send()` gives a datagram to every collector (`--collector-mode copy`);
 * `sendTo(i, ...)` to collector i alone (round-robin: flow_export.ts keeps one
 * encoder per collector). In order: each collector has a FIFO
 * with one send in flight (Deno's node:dgram may reorder concurrent sends, and
 * a collector must see templates before the data that uses them). `send()`
 * never blocks the packet loop; `close()` waits until every queued datagram
 * has left. A collector whose queue holds `maxQueue` datagrams drops new ones
 * (counted in `stats.dropped`) rather than growing without bound.
 *
 * Pacing (nProbe's `--flow-delay`): at most one datagram every `delayMs` ms per
 * collector. UDP has no flow control: a probe reading a file sends as fast as
 * it reads, and a collector's socket buffer (nfcapd: ~200 kB) overflows
 * silently. Timers fire at best once a millisecond, so a late timer may send
 * up to `PACE_BURST` datagrams at once to catch up with the schedule.
 *
 * @module
 */
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { EncoderOptions, FlowEncoder, NetflowVersion } from "./encoder.ts";
import { V5Encoder } from "./v5.ts";
import { V9Encoder } from "./v9.ts";
import { IpfixEncoder } from "./ipfix.ts";

/** A collector address: host (IP literal or name) and UDP port. */
export interface Collector {
  host: string;
  port: number;
}

/**
 * Parse `HOST:PORT`, `[IPv6]:PORT` or `IPv6-literal:PORT`; throws a one-line message otherwise.
 *
 * @example
 * ```ts
 * import { parseCollector } from "./exporter.ts";
 * parseCollector("127.0.0.1:2055"); // { host: "127.0.0.1", port: 2055 }
 * parseCollector("[::1]:4739");     // { host: "::1", port: 4739 }
 * ```
 */
export function parseCollector(s: string): Collector {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^(.*):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  const host = m?.[1] ?? "";
  if (!m || !host || !(port >= 1 && port <= 65535)) {
    throw new Error(`bad collector "${s}": expected HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:2055`);
  }
  if (host.includes(":") && isIP(host) !== 6) {
    throw new Error(`bad collector "${s}": "${host}" is not an IPv6 address`);
  }
  if (/^[\d.]+$/.test(host) && isIP(host) !== 4) {
    throw new Error(`bad collector "${s}": "${host}" is not an IPv4 address`);
  }
  return { host, port };
}

/** Export counters. */
export interface ExporterStats {
  /** Datagrams sent (counted once per collector). */
  sent: number;
  /** Bytes of those datagrams. */
  bytes: number;
  /** Sends that failed (e.g. ICMP port unreachable reported back). */
  errors: number;
  /** Datagrams dropped because a collector's queue was full. */
  dropped: number;
}

/**
 * One collector's counters (`UdpExporter.collectorStats()`, the probe's
 * `--json` `collectors` array, the metrics endpoint). A datagram counts once
 * it has left the socket; a failed send or one dropped from a full queue
 * counts in `dropped` instead (errors reported by a socket and not by a send,
 * e.g. a late ICMP, are only in `ExporterStats.errors`).
 */
export interface CollectorStats {
  /** The collector as given, e.g. "127.0.0.1:2055" or "[::1]:4739". */
  collector: string;
  /** Flow records in the datagrams sent to it. */
  flows: number;
  /** Datagrams sent to it. */
  datagrams: number;
  /** Datagrams to it that failed to send (EAGAIN, ENOBUFS, ECONNREFUSED...) or found its queue full. */
  dropped: number;
  /** UDP payload bytes sent to it. */
  bytes: number;
}

/** Stands in the queue for a datagram already handed to the socket. */
const SENT = new Uint8Array(0);
/** Most datagrams a paced collector may be sent back to back after a late timer. */
const PACE_BURST = 8;

interface Target {
  stats: CollectorStats;
  /** Flow records of each queued datagram (parallel to `queue`). */
  records: number[];
  socket: dgram.Socket;
  host: string;
  port: number;
  queue: Uint8Array[];
  head: number;
  busy: boolean;
  /** Pacing: earliest performance.now() for the next send; a timer is pending. */
  nextAt: number;
  timer: boolean;
}

/**
 * Sends export datagrams to every collector.
 *
 * @example
 * ```ts
 * import { UdpExporter } from "./exporter.ts";
 * const ex = await UdpExporter.open(["127.0.0.1:2055", "[::1]:2055"]);
 * ex.send(new Uint8Array([0, 5, 0, 0]));
 * await ex.close();
 * ```
 */
export class UdpExporter {
  /** Counters. */
  readonly stats: ExporterStats = { sent: 0, bytes: 0, errors: 0, dropped: 0 };
  /** Most datagrams waiting per collector. */
  maxQueue = 65536;
  /** The last send error, if any (for the status line). */
  lastError: string | undefined;
  /** Pacing: least time between two datagrams to one collector, ms (0 = none; fractions allowed). */
  delayMs = 0;
  private pending = 0;
  private waiters: { below: number; resolve: () => void }[] = [];

  private constructor(
    private readonly targets: Target[],
    private readonly sockets: dgram.Socket[],
  ) {}

  /**
   * Resolve the collectors and open one UDP socket per address family.
   * Throws a one-line message for a bad address or a name that does not resolve.
   *
   * @example
   * ```ts
   * import { UdpExporter } from "./exporter.ts";
   * const ex = await UdpExporter.open(["127.0.0.1:2055"]);
   * await ex.close();
   * ```
   */
  static async open(collectors: readonly (string | Collector)[]): Promise<UdpExporter> {
    if (collectors.length === 0) throw new Error("no collector: give at least one -n HOST:PORT");
    const parsed = collectors.map((c) => typeof c === "string" ? parseCollector(c) : c);
    const resolved: { host: string; port: number; family: 4 | 6; name: string }[] = [];
    for (const [i, c] of parsed.entries()) {
      const given = collectors[i];
      const name = typeof given === "string"
        ? given
        : c.host.includes(":")
        ? `[${c.host}]:${c.port}`
        : `${c.host}:${c.port}`;
      let host = c.host, fam = isIP(host);
      if (fam === 0) {
        try {
          const a = await lookup(host);
          host = a.address;
          fam = a.family;
        } catch {
          throw new Error(`collector "${c.host}" does not resolve: use an IP address or a known host name`);
        }
      }
      resolved.push({ host, port: c.port, family: fam === 6 ? 6 : 4, name });
    }
    const sockets = new Map<4 | 6, dgram.Socket>();
    const ex = new UdpExporter([], []);
    for (const r of resolved) {
      let s = sockets.get(r.family);
      if (!s) {
        s = dgram.createSocket(r.family === 6 ? "udp6" : "udp4");
        s.on("error", (e: Error) => {
          ex.stats.errors++;
          ex.lastError = e.message;
        });
        sockets.set(r.family, s);
        ex.sockets.push(s);
      }
      ex.targets.push({
        stats: { collector: r.name, flows: 0, datagrams: 0, dropped: 0, bytes: 0 },
        records: [],
        socket: s,
        host: r.host,
        port: r.port,
        queue: [],
        head: 0,
        busy: false,
        nextAt: 0,
        timer: false,
      });
    }
    return ex;
  }

  /** Datagrams queued and not yet sent. */
  get queued(): number {
    return this.pending;
  }

  /** How many collectors. */
  get collectors(): number {
    return this.targets.length;
  }

  /**
   * Each collector's counters, in the order given (copies, live during the run).
   *
   * @example
   * ```ts
   * import { UdpExporter } from "./exporter.ts";
   * const ex = await UdpExporter.open(["127.0.0.1:2055"]);
   * ex.collectorStats(); // [{ collector: "127.0.0.1:2055", flows: 0, datagrams: 0, dropped: 0, bytes: 0 }]
   * await ex.close();
   * ```
   */
  collectorStats(): CollectorStats[] {
    return this.targets.map((t) => ({ ...t.stats }));
  }

  /**
   * Send one datagram carrying `records` flow records to every collector
   * (the buffer must not change afterwards).
   */
  send(datagram: Uint8Array, records = 0): void {
    for (const t of this.targets) this.enqueue(t, datagram, records);
  }

  /** Send one datagram carrying `records` flow records to collector `index` alone. */
  sendTo(index: number, datagram: Uint8Array, records = 0): void {
    const t = this.targets[index];
    if (!t) throw new RangeError(`no collector ${index}`);
    this.enqueue(t, datagram, records);
  }

  private enqueue(t: Target, datagram: Uint8Array, records: number): void {
    if (t.queue.length - t.head >= this.maxQueue) {
      this.stats.dropped++;
      t.stats.dropped++;
      return;
    }
    this.pending++;
    t.queue.push(datagram);
    t.records.push(records);
    this.pump(t);
  }

  private pump(t: Target): void {
    if (t.busy || t.timer || t.head === t.queue.length) return;
    if (this.delayMs > 0) {
      const now = performance.now();
      if (now < t.nextAt) {
        t.timer = true;
        setTimeout(() => {
          t.timer = false;
          this.pump(t);
        }, t.nextAt - now);
        return;
      }
      t.nextAt = Math.max(t.nextAt, now - this.delayMs * (PACE_BURST - 1)) + this.delayMs;
    }
    const d = t.queue[t.head], n = t.records[t.head];
    // let go of the datagram now (a long-lived probe sends a few a second:
    // kept until the queue is compacted, they added up to megabytes)
    t.queue[t.head++] = SENT;
    if (t.head === t.queue.length) {
      t.queue.length = 0;
      t.records.length = 0;
      t.head = 0;
    } else if (t.head > 1024 && t.head * 2 > t.queue.length) {
      t.queue = t.queue.slice(t.head);
      t.records = t.records.slice(t.head);
      t.head = 0;
    }
    t.busy = true;
    t.socket.send(d, t.port, t.host, (err: Error | null) => {
      t.busy = false;
      if (err) {
        this.stats.errors++;
        t.stats.dropped++;
        this.lastError = err.message;
      } else {
        this.stats.sent++;
        this.stats.bytes += d.length;
        t.stats.datagrams++;
        t.stats.bytes += d.length;
        t.stats.flows += n;
      }
      this.pending--;
      this.pump(t);
      this.wake();
    });
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => this.pending <= w.below);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => this.pending > w.below);
    for (const w of due) w.resolve();
  }

  /**
   * Resolves once at most `n` datagrams are queued: a reader of a file waits
   * here so that it does not outrun a paced exporter (a live capture must not wait).
   *
   * @example
   * ```ts
   * import { UdpExporter } from "./exporter.ts";
   * const ex = await UdpExporter.open(["127.0.0.1:2055"]);
   * ex.delayMs = 0.1;
   * await ex.queuedAtMost(64);
   * await ex.close();
   * ```
   */
  queuedAtMost(n: number): Promise<void> {
    if (this.pending <= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ below: n, resolve }));
  }

  /** Resolves when every queued datagram has been sent. */
  flushed(): Promise<void> {
    return this.queuedAtMost(0);
  }

  /** Wait for queued datagrams, then close the sockets. */
  async close(): Promise<void> {
    await this.flushed();
    for (const s of this.sockets) await new Promise<void>((r) => s.close(() => r()));
  }
}

/**
 * The encoder for NetFlow `version` 5, 9 or 10 (IPFIX).
 *
 * @example
 * ```ts
 * import { createEncoder, UdpExporter } from "./exporter.ts";
 * const ex = await UdpExporter.open(["127.0.0.1:2055"]);
 * const enc = createEncoder(10, { emit: (d) => ex.send(d), sampling: { interval: 1 } });
 * ```
 */
export function createEncoder(version: NetflowVersion, opts: EncoderOptions): FlowEncoder {
  switch (version) {
    case 5:
      return new V5Encoder(opts);
    case 9:
      return new V9Encoder(opts);
    case 10:
      return new IpfixEncoder(opts);
    default:
      throw new Error(`unknown NetFlow version ${version}: use 5, 9 or 10 (IPFIX)`);
  }
}
