/**
 * The tools' side of `--metrics`: a `ToolMetrics` for the capture (always
 * made: it also counts the interface's own drops for the final `--json`
 * object) and, when `--metrics` was given, its HTTP server, started before
 * the capture so a bad or busy address exits 2.
 *
 * @example
 * ```ts
 * import { captureCli, parseCapture } from "./common.ts";
 * import { startMetrics } from "./metrics.ts";
 * const f = parseCapture(captureCli("n", "count"), ["lo", "--metrics", "9464"]);
 * if (f) {
 *   const m = await startMetrics(f);
 *   m.capture = () => [{ packets: 0, dropped: 0, filtered: 0, bytes: 0 }];
 *   await m.server?.close();
 * }
 * ```
 * @module
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { MetricsServer, ToolMetrics } from "../ops/metrics.ts";
import type { OpenedSource } from "../source/open.ts";
import type { CaptureFlags } from "./common.ts";

/** A tool's metrics and, with --metrics, the server publishing them. */
export interface CliMetrics extends ToolMetrics {
  server?: MetricsServer;
}

/** Make the tool's metrics and start --metrics' server (throws a one-line error: exit 2). */
export async function startMetrics(f: CaptureFlags): Promise<CliMetrics> {
  const m: CliMetrics = new ToolMetrics(f.read ?? f.iface);
  if (f.read !== undefined) m.backend = "file";
  else m.backend = liveBackend();
  if (f.metrics) m.server = await MetricsServer.start(f.metrics, m);
  return m;
}

/** The backend rings opened in Workers get: $RINGCAP_BACKEND, else the module when it is loaded. */
function liveBackend(): string {
  const env = process.env.RINGCAP_BACKEND;
  if (env && env !== "auto") return env;
  return existsSync("/proc/net/ringcap") ? "ring" : "packet";
}

/** Point `m` at a one-thread source: its ring's counters, read at each scrape. */
export function watchSource(m: ToolMetrics, s: OpenedSource): void {
  m.backend = s.ring?.backend ?? "file";
  let last = s.src.stats();
  m.capture = () => {
    try {
      last = s.src.stats();
    } catch {
      m.failed = true; // the interface is gone: the last counters stay
    }
    return [last];
  };
}
