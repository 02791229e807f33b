/**
 * `FlowProbe` and `runProbe`: the paper's nProbe on a packet source.
 * source → decode → `FlowTable` → v5/v9/IPFIX encoder → UDP to the collectors.
 *
 * Time is the packets' (deterministic on files); a live probe also expires
 * idle flows by the wall clock once a second when traffic stops, and flushes
 * half-filled export datagrams every second. At the end (end of file,
 * --duration, -c, SIGINT/SIGTERM) every flow still in the table is exported
 * and every datagram sent before `close()` resolves: nothing is lost.
 *
 * @module
 */
import type { Packet, PacketSource } from "../../packet.ts";
import { Decoded } from "../../decode/decoded.ts";
import { decode } from "../../decode/mod.ts";
import { run, type RunResult } from "../../run.ts";
import { FlowTable } from "./table.ts";
import type { FlowRecord } from "./record.ts";
import type { FlowEncoder, NetflowVersion, SamplingInfo } from "../../sink/netflow/encoder.ts";
import { createEncoder, UdpExporter } from "../../sink/netflow/exporter.ts";

/** Default pacing of export datagrams, ms between two to one collector (see `ProbeOptions.flowDelay`). */
export const DEFAULT_FLOW_DELAY_MS = 0.1;
/** A file source waits while more export datagrams than this are queued. */
const FILE_QUEUE_HIGH = 256;

/** Probe settings (nProbe's letters in the comments). */
export interface ProbeOptions {
  /** Collectors, HOST:PORT or [IPv6]:PORT (-n, repeatable). */
  collectors: string[];
  /** 5, 9 or 10 = IPFIX (-V); default 9. */
  version?: NetflowVersion;
  /** Active timeout, s (-t); default 60. */
  activeTimeout?: number;
  /** Idle timeout, s (-d); default 15. */
  idleTimeout?: number;
  /** Most flows in the table (--max-flows); default 262144. */
  maxFlows?: number;
  /** Linger after TCP FIN/RST, s; default 1. */
  tcpEndTimeout?: number;
  /** The 1-in-N sampling the source applied, announced in the exports (--sampling). */
  sampling?: SamplingInfo;
  /** v5 engine id / v9 source id / IPFIX observation domain (default 0). */
  sourceId?: number;
  /** A live source: wall-clock expiry when idle, datagrams flushed every second. */
  live?: boolean;
  /**
   * Least time between two export datagrams to one collector, ms (-e, nProbe's
   * --flow-delay; fractions allowed; default 0.1 = 10,000 datagrams/s; 0 = as
   * fast as they come). A file is read no faster than its flows can leave.
   */
  flowDelay?: number;
  /** Stop after N packets / S seconds (0: no limit). */
  count?: number;
  duration?: number;
  /** Called once a second with the counters (the probe's status line). */
  onStatus?: (s: ProbeStats) => void;
  /**
   * `runProbe` returns a failure of the source (interface removed) as
   * `reason: "error"` with `error` set, after exporting every flow, instead of
   * throwing (see `run`'s option of the same name). Default false.
   */
  returnErrors?: boolean;
}

/** The probe's counters. */
export interface ProbeStats {
  /** Packets read from the source; IP packets metered; non-IP skipped. */
  packets: number;
  metered: number;
  ignored: number;
  /** IP bytes metered. */
  bytes: number;
  /** Flows in the table now; created; exported; evicted because the table was full. */
  flows: number;
  created: number;
  exported: number;
  evicted: number;
  /** Export datagrams built, and flows the version could not carry (IPv6 in v5). */
  datagrams: number;
  skipped: number;
  /** UDP sends that failed or were dropped (collector queue full). */
  sendErrors: number;
  /** The source's drop counter (ring full). */
  dropped: number;
  /** Seconds since the start. */
  seconds: number;
}

/**
 * A flow probe you feed packets yourself (`runProbe` drives one from a source).
 *
 * @example
 * ```ts
 * import { FlowProbe } from "./probe.ts";
 * import type { PacketSource } from "../../packet.ts";
 * async function probeAll(src: PacketSource): Promise<void> {
 *   const probe = await FlowProbe.open({ collectors: ["127.0.0.1:2055"], version: 10 });
 *   for (let p = src.next(); p; p = src.next()) probe.add(p);
 *   await probe.close(); // exports every flow left, withdraws IPFIX templates, drains the sockets
 * }
 * probeAll;
 * ```
 */
export class FlowProbe {
  /** The flow table (counters: created, exported, evicted...). */
  readonly table: FlowTable;
  /** The encoder of the chosen version. */
  readonly encoder: FlowEncoder;
  /** The UDP exporter. */
  readonly exporter: UdpExporter;
  /** Packets given to add(). */
  packets = 0;
  private readonly d = new Decoded();
  private readonly live: boolean;
  private clock = 0; // export time of the records being expired, ms
  private booted = false; // the encoder's sysUptime base is set
  private closed = false;

  private constructor(o: ProbeOptions, exporter: UdpExporter) {
    this.live = o.live ?? false;
    this.exporter = exporter;
    exporter.delayMs = o.flowDelay ?? DEFAULT_FLOW_DELAY_MS;
    this.encoder = createEncoder(o.version ?? 9, {
      emit: (dg) => exporter.send(dg),
      sampling: o.sampling,
      sourceId: o.sourceId,
    });
    const enc = this.encoder;
    this.table = new FlowTable({
      maxFlows: o.maxFlows,
      activeTimeout: o.activeTimeout,
      idleTimeout: o.idleTimeout,
      tcpEndTimeout: o.tcpEndTimeout,
      onExpire: (r: FlowRecord) => enc.add(r, this.clock > r.lastMs ? this.clock : r.lastMs),
    });
    // live: the exporter "boots" now, before any packet it will see; files: at their first packet
    if (this.live) this.boot(Date.now());
  }

  private boot(ms: number): void {
    this.encoder.bootMs = ms;
    this.booted = true;
  }

  /**
   * Open the exporter sockets and build the table and encoder. Throws a one-line
   * message for a bad collector address or option.
   *
   * @example
   * ```ts
   * import { FlowProbe } from "./probe.ts";
   * const probe = await FlowProbe.open({ collectors: ["[::1]:4739"], version: 10, idleTimeout: 30 });
   * await probe.close();
   * ```
   */
  static async open(o: ProbeOptions): Promise<FlowProbe> {
    const v = o.version ?? 9;
    if (v !== 5 && v !== 9 && v !== 10) {
      throw new Error(`unknown NetFlow version ${v}: use 5, 9 or 10 (IPFIX)`);
    }
    const ex = await UdpExporter.open(o.collectors);
    try {
      return new FlowProbe(o, ex);
    } catch (e) {
      await ex.close();
      throw e;
    }
  }

  /** Decode and meter one packet (the hot path). */
  add(p: Packet): void {
    this.packets++;
    decode(p, this.d);
    if (!this.booted && this.d.ipVersion !== 0) this.boot(p.tsSec * 1000 + p.tsNsec / 1e6);
    const t = this.table;
    this.clock = t.nowMs;
    t.add(p, this.d);
  }

  /**
   * Once a second: a live probe expires by the wall clock (idle flows with no
   * traffic) and flushes the half-filled datagram.
   */
  tick(): void {
    if (!this.live) return;
    const now = Math.max(Date.now(), this.table.nowMs);
    this.clock = now;
    this.table.expire(now);
    this.encoder.flush(now);
  }

  /** Export every flow left, close the encoder, wait for the sockets to drain. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const now = this.live ? Math.max(Date.now(), this.table.nowMs) : this.table.nowMs;
    this.clock = now;
    if (!this.booted) this.boot(now);
    this.exporter.maxQueue = Infinity; // every flow left is exported, however many
    this.table.flush();
    this.encoder.close(now);
    await this.exporter.close();
  }

  /** The counters (`dropped` and `seconds` are the caller's). */
  stats(dropped = 0, seconds = 0): ProbeStats {
    const t = this.table, e = this.encoder.stats, x = this.exporter.stats;
    return {
      packets: this.packets,
      metered: t.packets,
      ignored: t.ignored,
      bytes: t.bytes,
      flows: t.size,
      created: t.created,
      exported: t.exported,
      evicted: t.evicted,
      datagrams: e.datagrams,
      skipped: e.skipped,
      sendErrors: x.errors + x.dropped,
      dropped,
      seconds,
    };
  }
}

/** What `runProbe` returns. */
export interface ProbeResult extends ProbeStats {
  /** Why the read loop ended. */
  reason: RunResult["reason"];
  /** What failed, with `returnErrors` (reason "error"). */
  error?: unknown;
}

/**
 * Run a probe over `src` until end of file, -c, --duration or SIGINT/SIGTERM,
 * then export everything left. Calls `onStatus` once a second.
 *
 * @example
 * ```ts
 * import { runProbe } from "./probe.ts";
 * import { openCaptureFile } from "../../source/file/mod.ts";
 * using r = openCaptureFile("/tmp/trace.pcap");
 * const res = await runProbe(r, { collectors: ["127.0.0.1:2055"], version: 5 });
 * console.log(res.exported, "flows exported");
 * ```
 */
export async function runProbe(src: PacketSource, o: ProbeOptions): Promise<ProbeResult> {
  const probe = await FlowProbe.open(o);
  let end: RunResult | undefined;
  const t0 = performance.now();
  try {
    const ex = probe.exporter;
    end = await run(src, (p) => probe.add(p), {
      count: o.count,
      duration: o.duration,
      returnErrors: o.returnErrors,
      // a file waits for its flows to leave; a live capture never waits (the ring would overflow)
      between: "wait" in src
        ? undefined
        : () => ex.queued > FILE_QUEUE_HIGH ? ex.queuedAtMost(FILE_QUEUE_HIGH / 4) : undefined,
      onTick: (s) => {
        probe.tick();
        o.onStatus?.(probe.stats(src.stats().dropped, s));
      },
    });
  } finally {
    await probe.close();
  }
  return {
    ...probe.stats(src.stats().dropped, end?.seconds ?? (performance.now() - t0) / 1000),
    reason: end.reason,
    error: end.error,
  };
}

/**
 * The status line: packets, active flows, exported flows, drops.
 *
 * @example
 * ```ts
 * import { statusLine } from "./probe.ts";
 * console.error(statusLine({ packets: 10, flows: 2, exported: 1, dropped: 0 } as never));
 * ```
 */
export function statusLine(s: ProbeStats): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return `${n(s.packets)} pkts  ${n(s.flows)} active flows  ${n(s.exported)} exported ` +
    `(${n(s.datagrams)} datagrams)  ${n(s.dropped)} dropped  ${n(s.evicted)} evicted` +
    (s.sendErrors ? `  ${n(s.sendErrors)} send errors` : "");
}
