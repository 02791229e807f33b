/**
 * Loaded before a tool by scripts/memcurve.sh (bun --preload / deno --preload):
 * every MEMCURVE_MS ms (default 20000) it forces a full garbage collection
 * (unless MEMCURVE_GC=0) and prints one line on stderr:
 *   memcurve t=SECONDS anon=KB file=KB rss=KB heap=KB arraybuffers=KB
 * anon is the process's private memory (JS heap, malloc); file includes the
 * mapped ring. A leak is a trend in anon or arraybuffers across a forced GC.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

const every = Number(process.env.MEMCURVE_MS ?? 20000);
const forceGc = process.env.MEMCURVE_GC !== "0";
const t0 = Date.now();
const g = globalThis as { Bun?: { gc(full: boolean): void }; gc?: () => void };

function sample(): void {
  if (forceGc) g.Bun ? g.Bun.gc(true) : g.gc?.();
  const st = readFileSync("/proc/self/status", "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
  const m = process.memoryUsage();
  console.error(
    `memcurve t=${Math.round((Date.now() - t0) / 1000)} anon=${kb("RssAnon")} file=${kb("RssFile")} ` +
      `rss=${kb("VmRSS")} heap=${Math.round(m.heapUsed / 1024)} arraybuffers=${
        Math.round(m.arrayBuffers / 1024)
      }`,
  );
}

setInterval(sample, every).unref();
