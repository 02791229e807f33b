/**
 * Text output of top talkers: `renderTop(report)` lays a `TopReport` out as
 * tables with rates; `Screen` redraws it in place on a terminal (alternate
 * screen, hidden cursor) and always gives the terminal back as it found it —
 * on the normal end, on Ctrl-C (the read loop stops, then `close()`), on an
 * error and on process exit.
 * @module
 */
import { writeSync } from "node:fs";
import process from "node:process";
import type { TopReport } from "../analysis/top/counter.ts";

/** Format a number with thousands separators. */
function num(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Bytes as B / kB / MB / GB (powers of 1000). */
function size(n: number): string {
  if (n < 1000) return `${n} B`;
  const u = ["kB", "MB", "GB", "TB", "PB"];
  let i = -1;
  while (n >= 1000 && i < u.length - 1) n /= 1000, i++;
  return `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${u[i]}`;
}

/** bit/s with k/M/G prefixes. */
function bitrate(bytesPerSec: number): string {
  const b = bytesPerSec * 8;
  if (b < 1000) return `${b.toFixed(0)} bit/s`;
  if (b < 1e6) return `${(b / 1e3).toFixed(1)} kbit/s`;
  if (b < 1e9) return `${(b / 1e6).toFixed(1)} Mbit/s`;
  return `${(b / 1e9).toFixed(2)} Gbit/s`;
}

/** Local time of `ts` (epoch seconds) as YYYY-MM-DD HH:MM:SS. */
function clock(ts: number): string {
  const d = new Date(ts * 1000);
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** What `renderTop` prints in its header besides the report. */
export interface RenderContext {
  /** Interface or file name. */
  source: string;
  /** Ordered by packets instead of bytes. */
  byPackets: boolean;
  /** Whole-capture totals so far (packets, bytes, dropped), shown next to the interval's. */
  total?: { packets: number; bytes: number; dropped: number };
  /** A title instead of "interval": e.g. "whole capture". */
  title?: string;
}

/**
 * The report as lines of text: a header with the interval's packets, bytes,
 * rates and drops, then the top hosts, pairs, protocols and ports with
 * packets, bytes, rates and share of the interval's bytes (or packets).
 *
 * @example
 * ```ts
 * import { renderTop } from "./top_screen.ts";
 * const lines = renderTop({
 *   ts: 1700000000, interval: 1, totals: { packets: 1, bytes: 60, dropped: 0 },
 *   top: { hosts: [{ addr: "10.0.0.1", packets: 1, bytes: 60 }], pairs: [], protocols: [], ports: [] },
 * }, { source: "eth0", byPackets: false });
 * console.log(lines.join("\n"));
 * ```
 */
export function renderTop(r: TopReport, c: RenderContext): string[] {
  const dt = r.interval > 0 ? r.interval : 1;
  const t = r.totals;
  const offered = t.packets + t.dropped;
  const out: string[] = [];
  out.push(
    `${c.source}  ${clock(r.ts)}  ${c.title ?? `interval ${num(r.interval, 1)} s`}  ` +
      `top ${c.byPackets ? "by packets" : "by bytes"}`,
  );
  let line =
    `${num(t.packets)} pkts (${num(t.packets / dt)} pkt/s)  ${size(t.bytes)} (${bitrate(t.bytes / dt)})  ` +
    `${num(t.dropped)} dropped (${num(offered ? (100 * t.dropped) / offered : 0, 1)}%)`;
  if (c.total) {
    line += `   total ${num(c.total.packets)} pkts ${size(c.total.bytes)} ${num(c.total.dropped)} dropped`;
  }
  out.push(line);
  const share = (p: number, b: number) => {
    const whole = c.byPackets ? t.packets : t.bytes;
    return whole ? `${num((100 * (c.byPackets ? p : b)) / whole, 1)}%` : "-";
  };
  const table = (title: string, rows: { name: string; packets: number; bytes: number }[]) => {
    out.push("");
    out.push(
      `${title.padEnd(44)}${"packets".padStart(12)}${"bytes".padStart(12)}${"pkt/s".padStart(11)}` +
        `${"rate".padStart(14)}${"share".padStart(8)}`,
    );
    if (rows.length === 0) out.push("  (none)");
    for (const x of rows) {
      out.push(
        `  ${x.name.padEnd(42)}${num(x.packets).padStart(12)}${size(x.bytes).padStart(12)}` +
          `${num(x.packets / dt).padStart(11)}${bitrate(x.bytes / dt).padStart(14)}` +
          `${share(x.packets, x.bytes).padStart(8)}`,
      );
    }
  };
  table("Hosts", r.top.hosts.map((h) => ({ name: h.addr, packets: h.packets, bytes: h.bytes })));
  table(
    "Host pairs",
    r.top.pairs.map((p) => ({ name: `${p.a} <-> ${p.b}`, packets: p.packets, bytes: p.bytes })),
  );
  table("Protocols", r.top.protocols.map((p) => ({ name: p.protocol, packets: p.packets, bytes: p.bytes })));
  table(
    "Ports",
    r.top.ports.map((p) => ({ name: `${p.protocol} ${p.port}`, packets: p.packets, bytes: p.bytes })),
  );
  return out;
}

const ENTER = "\x1b[?1049h\x1b[?25l"; // alternate screen, hide cursor
const LEAVE = "\x1b[?25h\x1b[?1049l"; // show cursor, main screen

/**
 * Redraws text in place on a terminal; on anything else, prints each frame
 * followed by a blank line.
 *
 * @example
 * ```ts
 * import { Screen } from "./top_screen.ts";
 * using s = new Screen();
 * s.draw(["hello", "world"]);
 * ```
 */
export class Screen implements Disposable {
  readonly tty: boolean;
  #active = false;
  #restore = () => this.close();

  constructor(readonly fd = 1, tty?: boolean) {
    this.tty = tty ?? (fd === 1 ? process.stdout.isTTY === true : process.stderr.isTTY === true);
  }

  /** Show these lines (replacing the previous frame on a terminal). */
  draw(lines: string[]): void {
    if (!this.tty) {
      this.#write(lines.join("\n") + "\n\n");
      return;
    }
    if (!this.#active) {
      this.#active = true;
      process.on("exit", this.#restore);
      this.#write(ENTER);
    }
    const rows = process.stdout.rows || 50;
    const cols = process.stdout.columns || 200;
    const shown = lines.slice(0, rows - 1).map((l) => l.slice(0, cols) + "\x1b[K");
    this.#write("\x1b[H" + shown.join("\n") + "\n\x1b[J");
  }

  /** Give the terminal back (main screen, cursor shown). Idempotent. */
  close(): void {
    if (!this.#active) return;
    this.#active = false;
    process.off("exit", this.#restore);
    this.#write(LEAVE);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #write(s: string): void {
    const b = new TextEncoder().encode(s);
    for (let o = 0; o < b.length;) {
      try {
        o += writeSync(this.fd, b, o, b.length - o);
      } catch (e) {
        if ((e as { code?: string }).code === "EAGAIN") continue;
        throw e;
      }
    }
  }
}
