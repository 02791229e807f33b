/**
 * workers — one capture over several cores with an analysis of your own, in
 * one file: packets and bytes per TCP/UDP destination port, counted in N
 * Workers (each reads its own ring of one fanout group: packets never cross
 * threads), merged once a second in the main thread.
 *
 *   bun run examples/workers.ts [IFACE] [WORKERS] [SECONDS]
 *   deno run -A examples/workers.ts eth0 2 10
 *
 * The shape every ringcap tool takes: `add(p)` per packet (no allocation),
 * `snapshot()` of what was counted since the previous one, `merge(a, b)` of
 * two snapshots. Each Worker imports this file by its URL to create the
 * analysis, so the main program below runs only as the entry point (and
 * passes the kind itself for merging in the main thread).
 */
import process from "node:process";
import { type Analysis, type AnalysisKind, decode, Decoded, type Packet, runCapture } from "../mod.ts";

/** Per destination port: [packets, bytes]. */
export interface PortCounts {
  ports: Record<number, [number, number]>;
}

class PortAnalysis implements Analysis<PortCounts> {
  #d = new Decoded();
  #packets = new Float64Array(65536);
  #bytes = new Float64Array(65536);
  #seen: number[] = []; // ports counted since the last snapshot

  add(p: Packet): void {
    const d = decode(p, this.#d);
    if ((d.protocol !== 6 && d.protocol !== 17) || d.l4Offset < 0) return;
    if (this.#packets[d.dstPort]++ === 0) this.#seen.push(d.dstPort);
    this.#bytes[d.dstPort] += p.wirelen;
  }

  snapshot(): PortCounts {
    const ports: PortCounts["ports"] = {};
    for (const port of this.#seen) {
      ports[port] = [this.#packets[port], this.#bytes[port]];
      this.#packets[port] = this.#bytes[port] = 0;
    }
    this.#seen = [];
    return { ports };
  }
}

/** What a Worker loads (by this file's URL and this export's name). */
export const portCounting: AnalysisKind<Record<string, never>, PortCounts> = {
  name: "ports",
  create: () => new PortAnalysis(),
  merge: (a, b) => {
    const ports = { ...a.ports };
    for (const [k, [n, bytes]] of Object.entries(b.ports)) {
      const [n0, b0] = ports[+k] ?? [0, 0];
      ports[+k] = [n0 + n, b0 + bytes];
    }
    return { ports };
  },
};

if (import.meta.main) {
  const [iface = "lo", workers = "2", seconds = "5"] = process.argv.slice(2);
  const analysis = { module: import.meta.url, export: "portCounting", options: {}, kind: portCounting };
  const res = await runCapture<Record<string, never>, PortCounts>(iface, analysis, {
    workers: Number(workers),
    fanout: "hash",
    duration: Number(seconds),
    snaplen: 128,
    onSnapshot: (s, sec, ws, final) => {
      if (!final) {
        console.error(
          `${sec.toFixed(0)} s: ${Object.keys(s.ports).length} ports, drops ${
            ws.map((w) => w.stats.dropped)
          }`,
        );
      }
    },
  });
  if (res.error) throw res.error;
  const top = Object.entries(res.total.ports).sort((x, y) => y[1][1] - x[1][1]).slice(0, 10);
  for (const [port, [n, bytes]] of top) console.log(`port ${port}: ${n} packets, ${bytes} bytes`);
  console.log(
    `${res.read} packets over ${res.workers.length} workers (start-up ${res.startupMs.toFixed(0)} ms)`,
  );
}
