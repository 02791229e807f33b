/**
 * Hostile packets: 100,000 seeded fuzz frames — random bytes, and mutations
 * of every valid decoder case (cut at a random byte, bytes flipped, length
 * and header-length fields overwritten, IPv6 next-header chains that loop)
 * — through the decoders, the top-N counter and the flow meter (with the
 * flow table's expiry running). Nothing may throw, hang or grow: the seed is
 * printed on failure so a run can be replayed (RINGCAP_FUZZ_SEED=N).
 */
import assert from "node:assert/strict";
import process from "node:process";
import { decodeFrame } from "../lib/decode/mod.ts";
import { Decoded } from "../lib/decode/decoded.ts";
import { TopCounter } from "../lib/analysis/top/counter.ts";
import { FlowTable } from "../lib/analysis/flow/table.ts";
import { FilePacket } from "../lib/source/file/file_packet.ts";
import { test } from "./harness.ts";
import { rng } from "./fixtures/rng.ts";
import { decodeCases } from "./fixtures/decode_cases.ts";

/** One reused Packet over a fuzz buffer (what a file reader or the ring hands out). */
function fuzzPacket(): FilePacket {
  const data = new Uint8Array(4096);
  const p = new FilePacket(data, new DataView(data.buffer));
  p.offset = 100;
  p.tsSec = 1_700_000_000;
  p.ifindex = 3;
  return p;
}

function mutate(r: () => number, p: FilePacket): void {
  const d = p.data, o = p.offset;
  if (r() % 2 === 0 && p.caplen < 3000) { // random bytes
    const n = r() % 300;
    for (let i = 0; i < n; i++) d[o + i] = r() & 255;
    p.caplen = n;
  } else { // a mutated valid frame
    const c = decodeCases[r() % decodeCases.length];
    d.set(c.frame, o);
    p.caplen = c.frame.length;
    const kind = r() % 6;
    const at = p.caplen ? r() % p.caplen : 0;
    if (kind === 0) p.caplen = at; // truncated at a random byte
    else if (kind === 1) {
      for (let k = r() % 8; k >= 0; k--) d[o + (r() % Math.max(1, p.caplen))] = r() & 255;
    } else if (kind === 2) d[o + 14 + (r() % 4)] = r() & 255; // IHL/version/ToS/total length
    else if (kind === 3) d[o + 16] = r() & 255, d[o + 17] = r() & 255;
    // IPv4 total length / IPv6 flow label
    else if (kind === 4 && p.caplen > 60) d[o + 20] = [0, 43, 44, 60][r() % 4]; // IPv6 next header → a chain
    else d[o + 12] = [0x81, 0x88, 0x86, 0x08][r() % 4]; // EtherType games
  }
  p.wirelen = r() % 4 === 0 ? r() % 70000 : p.caplen;
  p.vlanTci = r() % 10 === 0 ? r() & 0xffff : -1;
  p.tsNsec = (p.tsNsec + 1_000_000) % 1_000_000_000;
  if (p.tsNsec === 0) p.tsSec++;
}

function heapMb(): number {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun) g.Bun.gc(true);
  return process.memoryUsage().heapUsed / 2 ** 20;
}

test("fuzz: 100,000 hostile frames through decoders, top-N and the flow meter: no throw, no hang, flat memory", () => {
  const seed = Number(process.env.RINGCAP_FUZZ_SEED ?? Date.now() % 1_000_000);
  const r = rng(seed);
  const p = fuzzPacket();
  const d = new Decoded();
  const top = new TopCounter();
  let expired = 0;
  const flows = new FlowTable({
    onExpire: () => expired++,
    maxFlows: 4096,
    idleTimeout: 2,
    activeTimeout: 5,
  });
  const heap: number[] = [];
  const t0 = Date.now();
  let i = 0;
  try {
    for (; i < 100_000; i++) {
      mutate(r, p);
      decodeFrame(p.data, p.view, p.offset, p.caplen, p.wirelen, p.vlanTci, d);
      // the decoder never points outside what was captured
      for (const off of [d.l3Offset, d.l4Offset, d.payloadOffset]) {
        assert.ok(
          off === -1 || (off >= p.offset && off <= p.offset + p.caplen),
          `offset ${off} outside the capture`,
        );
      }
      top.add(p);
      flows.add(p, d);
      if (i % 1000 === 999) flows.expire(p.tsSec * 1000 + p.tsNsec / 1e6);
      if (i % 25_000 === 24_999) heap.push(heapMb());
    }
    flows.flush();
  } catch (e) {
    throw new Error(`fuzz failed at frame ${i} with seed ${seed} (replay: RINGCAP_FUZZ_SEED=${seed}): ${e}`);
  }
  const ms = Date.now() - t0;
  assert.ok(ms < 60_000, `took ${ms} ms: something loops (seed ${seed})`);
  assert.ok(expired > 0, "flows expired");
  const rep = top.report(5, false, 0, 1, 0);
  assert.ok(rep.top.hosts.length <= 5);
  // after warm-up, the heap must not keep growing (allowance for JIT/GC noise)
  assert.ok(
    heap[3] - heap[1] < 16,
    `heap grew ${(heap[3] - heap[1]).toFixed(1)} MiB (seed ${seed}): ${heap}`,
  );
});
