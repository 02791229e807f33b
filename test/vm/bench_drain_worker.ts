/**
 * A Worker of test/vm/bench_drain.ts's scaling section: opens one ring
 * (module cluster member or AF_PACKET fanout member, or a lone ring),
 * paused; starts it; reports its counters; drains what it holds when told
 * and reports the wall-clock interval (epoch ms) it took.
 */
import { Ring } from "../../lib/source/live/ring.ts";
import "../../lib/source/live/ring_slots.ts";
import type { Ring as RingT } from "../../lib/source/live/ring_base.ts";

// deno-lint-ignore no-explicit-any
const self_: any = globalThis;
let ring: RingT | null = null;
const now = () => performance.timeOrigin + performance.now();

self_.onmessage = async (ev: MessageEvent) => {
  const m = ev.data;
  try {
    if (m.op === "open") {
      ring = await Ring.open(m.iface, {
        backend: m.backend,
        ringMb: m.ringMb,
        snaplen: 128,
        paused: true,
        fanout: m.members > 1 ? { mode: m.mode, group: m.group, members: m.members } : undefined,
      });
      self_.postMessage({ op: "opened", group: ring.fanoutGroup });
    } else if (m.op === "start") {
      await ring!.start();
      self_.postMessage({ op: "started" });
    } else if (m.op === "stats") {
      const s = ring!.stats();
      self_.postMessage({ op: "stats", packets: s.packets, dropped: s.dropped });
    } else if (m.op === "drain") {
      const t0 = now();
      let n = 0, sum = 0;
      for (let p = ring!.next(); p; p = ring!.next()) {
        sum += p.data[p.offset + 17];
        n++;
      }
      self_.postMessage({ op: "drained", n, t0, t1: now(), sum });
    } else if (m.op === "close") {
      ring?.close();
      ring = null;
      self_.postMessage({ op: "closed" });
    }
  } catch (e) {
    self_.postMessage({ op: "error", message: String((e as Error)?.message ?? e) });
  }
};
