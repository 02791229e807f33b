/**
 * `--metrics [HOST:]PORT`: the counters of a running tool as Prometheus text
 * (exposition format 0.0.4) on `/metrics`, and `/healthz` (200 while the
 * capture runs, 503 once its source failed).
 *
 * The exposition is written here (a few lines), not with a client library:
 * prom-client's default process metrics read Node internals that Bun and
 * Deno do not have, and the tools need nothing but counters and gauges read
 * when a scrape arrives. Nothing here runs per packet: a scrape calls the
 * tool's getters (one `stats()` call per ring, or the workers' counters as of
 * their last snapshot) and reads a few files under /proc and /sys.
 *
 * Names follow DESIGN.md's metrics contract: `ringcap_` prefix, counters end
 * in `_total`, base units; labels `interface`, `worker` (several workers:
 * one series each, so `sum()` is the total), `collector`.
 *
 * @example
 * ```ts
 * import { MetricsServer, parseMetricsAddress, ToolMetrics } from "./metrics.ts";
 * const m = new ToolMetrics("eth0");
 * m.capture = () => [{ packets: 10, dropped: 0, filtered: 0, bytes: 600 }];
 * const server = await MetricsServer.start(parseMetricsAddress("9464"), m);
 * console.log(server.url); // http://127.0.0.1:9464/metrics
 * await server.close();
 * ```
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readdirSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import process from "node:process";
import type { CaptureStats } from "../packet.ts";

/** Where `--metrics` listens. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/** A bad `--metrics` value or a port that cannot be bound: one line, exit 2 (a `UsageError` by name). */
export class MetricsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parse `[HOST:]PORT` (`9464`, `0.0.0.0:9464`, `[::1]:9464`, `localhost:9464`); the host
 * defaults to 127.0.0.1 so counters are not published to the network unless asked.
 *
 * @example
 * ```ts
 * import { parseMetricsAddress } from "./metrics.ts";
 * parseMetricsAddress("[::]:9464"); // { host: "::", port: 9464 }
 * ```
 */
export function parseMetricsAddress(v: unknown): MetricsAddress {
  const s = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
  const bad = (why: string) =>
    new MetricsError(
      `--metrics '${v === true ? "" : String(v ?? "")}': ${why} (give [HOST:]PORT, e.g. 9464)`,
    );
  if (!s) throw bad("no address");
  let host = "127.0.0.1", portText = s;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(s);
  if (v6) [host, portText] = [v6[1], v6[2]];
  else if (s.includes(":")) {
    const at = s.lastIndexOf(":");
    [host, portText] = [s.slice(0, at), s.slice(at + 1)];
    if (host.includes(":")) throw bad("an IPv6 address goes in brackets");
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw bad(`port must be 1..65535, got '${portText}'`);
  }
  if (host !== "localhost" && isIP(host) === 0) throw bad(`'${host}' is not an IP address`);
  return { host, port: Number(portText) };
}

/** One sample: label values and the value. */
type Labels = Record<string, string | number>;

/**
 * A Prometheus text exposition (format 0.0.4) being written: `# HELP`/`# TYPE`
 * once per family, then its samples.
 *
 * @example
 * ```ts
 * import { Exposition } from "./metrics.ts";
 * const e = new Exposition();
 * e.family("ringcap_packets_total", "counter", "Packets put in the ring").sample({ interface: "eth0" }, 10);
 * e.text(); // "# HELP ringcap_packets_total ...\n# TYPE ...\nringcap_packets_total{interface=\"eth0\"} 10\n"
 * ```
 */
export class Exposition {
  #out: string[] = [];

  /** Start a family; returns a writer of its samples. */
  family(name: string, type: "counter" | "gauge", help: string): { sample(l: Labels, v: number): unknown } {
    this.#out.push(
      `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
      `# TYPE ${name} ${type}`,
    );
    const sample = (l: Labels, v: number) => {
      const ls = Object.entries(l).map(([k, x]) => `${k}="${escapeLabel(String(x))}"`).join(",");
      this.#out.push(`${name}${ls ? `{${ls}}` : ""} ${formatValue(v)}`);
      return writer;
    };
    const writer = { sample };
    return writer;
  }

  /** The exposition text. */
  text(): string {
    return this.#out.join("\n") + "\n";
  }
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

/**
 * The interface's own drops since construction, as libpcap counts them:
 * `rx_missed_errors + rx_fifo_errors` from /sys/class/net/IFACE/statistics
 * (the NIC or driver had no room). Not `rx_dropped`: that counts frames the
 * stack discarded (unknown protocol, no socket), not capture losses.
 *
 * @example
 * ```ts
 * import { InterfaceDrops } from "./metrics.ts";
 * const d = new InterfaceDrops("lo");
 * d.since(); // 0
 * ```
 */
export class InterfaceDrops {
  readonly #base: number;
  #last = 0;
  constructor(readonly iface: string) {
    this.#base = this.#read() ?? 0;
  }

  #read(): number | undefined {
    const dir = `/sys/class/net/${this.iface}/statistics/`;
    try {
      const n = (f: string) => Number(readFileSync(dir + f, "utf8").trim()) || 0;
      return n("rx_missed_errors") + n("rx_fifo_errors");
    } catch {
      return undefined; // not an interface (a file), or it is gone: the last value stays
    }
  }

  /** Drops since construction (the last known value once the interface is gone). */
  since(): number {
    const now = this.#read();
    if (now !== undefined) this.#last = Math.max(this.#last, now - this.#base);
    return this.#last;
  }
}

/** A collector's export counters (the probe). */
export interface CollectorCounters {
  collector: string;
  flows: number;
  datagrams: number;
  dropped: number;
  bytes: number;
}

/** What the probe adds to the metrics. */
export interface ProbeCounters {
  /** Flows in the tables now. */
  active: number;
  created: number;
  /** Evicted early because a table was full. */
  evicted: number;
  collectors: readonly CollectorCounters[];
}

/** The runtime's name and version (`bun 1.4.5`, `deno 2.9.6`). */
export function runtimeName(): { runtime: string; version: string } {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun) return { runtime: "bun", version: String(g.Bun.version) };
  if (g.Deno) return { runtime: "deno", version: String(g.Deno.version?.deno) };
  return { runtime: "node", version: process.versions.node };
}

let version: string | undefined;
/** ringcap's version (package.json's). */
export function ringcapVersion(): string {
  try {
    version ??= String(
      JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version,
    );
  } catch {
    version = "unknown";
  }
  return version;
}

/**
 * A tool's live figures for the exposition: getters the tool sets, read at
 * each scrape. `capture()` returns one entry per worker (one entry: no
 * `worker` label).
 */
export class ToolMetrics {
  /** Each worker's ring counters (one entry for one thread). */
  capture: () => readonly CaptureStats[] = () => [];
  /** The probe's flow and export counters, when the tool is the probe. */
  probe?: () => ProbeCounters;
  /** "packet" (AF_PACKET), "ring" (the module), "file" (-r). */
  backend = "packet";
  /** Set once the source failed: /healthz answers 503. */
  failed = false;
  /** The interface's own drops since start. */
  readonly interfaceDrops: InterfaceDrops;

  constructor(readonly iface: string) {
    this.interfaceDrops = new InterfaceDrops(iface);
  }

  /**
   * `{ drops: { ring, interface } }` for a live capture's final `--json`
   * object (spread into it); nothing for a file, which drops nothing.
   */
  drops(stats: CaptureStats): { drops?: { ring: number; interface: number } } {
    if (this.backend === "file") return {};
    return { drops: { ring: stats.dropped, interface: this.interfaceDrops.since() } };
  }

  /** The exposition text. */
  render(): string {
    const e = new Exposition();
    const ws = this.capture();
    const lab = (i: number): Labels =>
      ws.length > 1 ? { interface: this.iface, worker: i } : { interface: this.iface };
    const each = (name: string, help: string, key: keyof CaptureStats) => {
      const f = e.family(name, "counter", help);
      ws.forEach((s, i) => f.sample(lab(i), s[key]));
    };
    each("ringcap_packets_total", "Packets put in the capture ring (after filter and sampling)", "packets");
    each("ringcap_bytes_total", "Wire bytes of the packets read from the ring", "bytes");
    each("ringcap_filtered_packets_total", "Packets rejected by the filter or by sampling", "filtered");
    const d = e.family(
      "ringcap_dropped_packets_total",
      "counter",
      "Packets lost: cause=ring the capture ring was full (per worker); cause=interface the NIC's own drops " +
        "(rx_missed_errors + rx_fifo_errors since start)",
    );
    ws.forEach((s, i) => d.sample({ ...lab(i), cause: "ring" }, s.dropped));
    d.sample({ interface: this.iface, cause: "interface" }, this.interfaceDrops.since());
    const p = this.probe?.();
    if (p) {
      const il = { interface: this.iface };
      e.family("ringcap_flows_active", "gauge", "Flows in the flow tables").sample(il, p.active);
      e.family("ringcap_flows_created_total", "counter", "Flows created").sample(il, p.created);
      e.family(
        "ringcap_flows_evicted_total",
        "counter",
        "Flows exported early because the flow table was full",
      )
        .sample(il, p.evicted);
      const per = (name: string, help: string, key: keyof Omit<CollectorCounters, "collector">) => {
        const f = e.family(name, "counter", help);
        for (const c of p.collectors) f.sample({ ...il, collector: c.collector }, c[key]);
      };
      per("ringcap_flows_exported_total", "Flow records sent to the collector", "flows");
      per("ringcap_export_datagrams_total", "Export datagrams sent to the collector", "datagrams");
      per("ringcap_export_datagrams_dropped_total", "Export datagrams that could not be sent", "dropped");
      per("ringcap_export_bytes_total", "UDP payload bytes sent to the collector", "bytes");
    }
    const rt = runtimeName();
    e.family("ringcap_build_info", "gauge", "ringcap's version, runtime and capture backend (value 1)")
      .sample(
        { version: ringcapVersion(), runtime: `${rt.runtime} ${rt.version}`, backend: this.backend },
        1,
      );
    processMetrics(e);
    return e.text();
  }
}

const CLK_TCK = 100, PAGE = 4096;

/** The standard process_* metrics, from /proc/self (what client libraries export). */
function processMetrics(e: Exposition): void {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    const utime = Number(f[11]), stime = Number(f[12]), start = Number(f[19]);
    const vsize = Number(f[20]), rss = Number(f[21]) * PAGE;
    const btime = Number(/^btime (\d+)/m.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? 0);
    e.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
      .sample({}, (utime + stime) / CLK_TCK);
    e.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
      .sample({}, btime + start / CLK_TCK);
    e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.").sample({}, rss);
    e.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.").sample({}, vsize);
    e.family("process_open_fds", "gauge", "Number of open file descriptors.")
      .sample({}, readdirSync("/proc/self/fd").length);
  } catch {
    // no procfs: no process metrics
  }
}

/**
 * The HTTP server of `--metrics`: GET /metrics and /healthz, anything else 404.
 * Started before the capture so a bad address or a busy port is a start-up
 * error (exit 2); never holds the process open (unref'd).
 */
export class MetricsServer {
  private constructor(private readonly server: Server, readonly url: string) {}

  /** Listen on `addr`; rejects with a one-line `MetricsError` naming the option. */
  static start(addr: MetricsAddress, m: ToolMetrics): Promise<MetricsServer> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => respond(req, res, m));
    const where = addr.host.includes(":") ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
    return new Promise((resolve, reject) => {
      server.once("error", (err: Error & { code?: string }) => reject(bindError(err, where, addr.port)));
      server.listen(addr.port, addr.host, () => {
        server.removeAllListeners("error");
        server.on("error", () => {}); // a client's reset after listening is not the tool's failure
        server.unref();
        resolve(new MetricsServer(server, `http://${where}/metrics`));
      });
    });
  }

  /** Stop listening and drop open connections. */
  close(): Promise<void> {
    return new Promise((r) => {
      (this.server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      this.server.close(() => r());
    });
  }
}

function respond(req: IncomingMessage, res: ServerResponse, m: ToolMetrics): void {
  res.on("error", () => {}); // the scraper went away mid-response: nothing to do
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
  } else if (path === "/metrics") {
    let body: string;
    try {
      body = m.render();
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(req.method === "HEAD" ? undefined : body);
  } else if (path === "/healthz") {
    res.writeHead(m.failed ? 503 : 200, { "content-type": "text/plain" });
    res.end(m.failed ? "capture failed\n" : "ok\n");
  } else {
    res.writeHead(404, { "content-type": "text/plain" }).end("see /metrics and /healthz\n");
  }
}

function bindError(err: Error & { code?: string }, where: string, port: number): MetricsError {
  const code = err.code ?? "";
  if (code === "EADDRINUSE") {
    return new MetricsError(`--metrics ${where}: the port is in use; pick another port`);
  }
  if (code === "EACCES" || code === "EPERM") {
    return new MetricsError(
      `--metrics ${where}: port ${port} is below net.ipv4.ip_unprivileged_port_start (${unprivilegedStart()}): ` +
        `binding it needs CAP_NET_BIND_SERVICE; use a higher port or grant the capability`,
    );
  }
  if (code === "EADDRNOTAVAIL") {
    return new MetricsError(`--metrics ${where}: no interface of this host has that address`);
  }
  return new MetricsError(`--metrics ${where}: cannot listen (${code || err.message})`);
}

function unprivilegedStart(): string {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim();
  } catch {
    return "1024";
  }
}
