/**
 * The lean decode (lib/decode/fast.ts) the flow probe and topn run per packet:
 * it must give the same `LEAN_FIELDS` as the full `decode()` on every frame of
 * the decode corpus (the frames the tshark cross-check uses), cut at every
 * byte, with and without a stripped VLAN tag, and on 200,000 seeded fuzz frames;
 * it must take its fast path on plain TCP/UDP/ICMP frames (fields outside
 * `LEAN_FIELDS` untouched) and allocate nothing. The flow table must keep
 * expiry off the per-packet path (`expire()` runs only when a list head falls
 * due), and the probe's meter and topn's counter must not grow the heap.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { readFileSync } from "node:fs";
import { decodeFrame } from "../lib/decode/mod.ts";
import { Decoded } from "../lib/decode/decoded.ts";
import { decodeLean, LEAN_FIELDS } from "../lib/decode/fast.ts";
import { FlowTable } from "../lib/analysis/flow/table.ts";
import { FlowMeter } from "../lib/analysis/flow/meter.ts";
import { TopCounter } from "../lib/analysis/top/counter.ts";
import { KeyTable } from "../lib/analysis/top/table.ts";
import { FilePacket } from "../lib/source/file/file_packet.ts";
import { test } from "./harness.ts";
import { rng } from "./fixtures/rng.ts";
import { decodeCases } from "./fixtures/decode_cases.ts";
import { ether, ipv4, ipv6, tcp, udp } from "./fixtures/frames.ts";

const full = new Decoded(), lean = new Decoded();

function packet(size = 4096): FilePacket {
  const data = new Uint8Array(size);
  const p = new FilePacket(data, new DataView(data.buffer));
  p.offset = 64;
  p.tsSec = 1_700_000_000;
  p.ifindex = 2;
  return p;
}

/** Lean and full decode of p agree on every LEAN_FIELD (the lean Decoded keeps stale values elsewhere). */
function agree(p: FilePacket, what: string): void {
  decodeFrame(p.data, p.view, p.offset, p.caplen, p.wirelen, p.vlanTci, full);
  decodeLean(p, lean);
  for (const k of LEAN_FIELDS) {
    assert.equal(lean[k], full[k], `${what}: ${k} lean ${lean[k]} full ${full[k]}`);
  }
}

test("lean decode = full decode on LEAN_FIELDS: every corpus frame, cut at every byte, with and without a stripped tag", () => {
  const p = packet();
  let n = 0;
  for (const c of decodeCases) {
    p.data.fill(0);
    p.data.set(c.frame, p.offset);
    const cap = c.caplen ?? c.frame.length;
    for (const tci of [-1, 0x2064]) {
      for (let cut = 0; cut <= cap; cut++) {
        p.caplen = cut;
        for (const wire of [c.frame.length, cut]) {
          p.wirelen = wire;
          p.vlanTci = tci;
          agree(p, `${c.name} cut ${cut} wire ${wire} tci ${tci}`);
          n++;
        }
      }
    }
  }
  assert.ok(n > 1000, `${n} frames compared`);
});

test("lean decode = full decode on LEAN_FIELDS: 200,000 seeded fuzz frames", () => {
  const seed = Number(process.env.RINGCAP_FUZZ_SEED ?? Date.now() % 1_000_000);
  const r = rng(seed);
  const p = packet();
  const d = p.data, o = p.offset;
  for (let i = 0; i < 200_000; i++) {
    const c = decodeCases[r() % decodeCases.length];
    d.set(c.frame, o);
    p.caplen = c.frame.length;
    const kind = r() % 8;
    if (kind === 0) p.caplen = r() % (c.frame.length + 1);
    else if (kind === 1) {
      for (let k = r() % 8; k >= 0; k--) d[o + (r() % c.frame.length)] = r() & 255;
    } else if (kind === 2) d[o + 14 + (r() % 12)] = r() & 255; // the IP header's first bytes
    else if (kind === 3) d[o + 12 + (r() % 4)] = [0x81, 0x88, 0x86, 0x08, 0x00, 0xdd][r() % 6];
    else if (kind === 4) d[o + 34 + (r() % 30)] = r() & 255; // transport / IPv6 addresses
    else if (kind === 5) { // lengths: IPv4 total / IPv6 payload, UDP length
      d[o + 16 + (r() % 4)] = r() & 255;
      d[o + 38 + (r() % 4)] = r() & 255;
    }
    p.wirelen = r() % 4 === 0 ? r() % 3000 : p.caplen;
    p.vlanTci = r() % 8 === 0 ? r() & 0xffff : -1;
    try {
      agree(p, `fuzz frame ${i} (${c.name})`);
    } catch (e) {
      throw new Error(`seed ${seed} (replay: RINGCAP_FUZZ_SEED=${seed}): ${(e as Error).message}`);
    }
  }
});

test("lean decode takes its fast path on IPv4/IPv6 TCP/UDP frames, one VLAN tag included (no reset)", () => {
  const frames = [
    ether(0x0800, ipv4({ proto: 17, src: "10.0.0.1", dst: "10.0.0.2" }, udp(1234, 53, [1, 2, 3, 4]))),
    ether(0x0800, ipv4({ proto: 6 }, tcp({ sport: 40000, dport: 80, flags: 0x12 }, []))),
    ether(0x86dd, ipv6({ nh: 17 }, udp(5353, 5353, [0, 0]))),
    ether(0x0800, ipv4({ proto: 17 }, udp(1, 2, [])), [{ tci: 100 }]),
  ];
  const p = packet();
  for (const f of frames) {
    p.data.set(f, p.offset);
    p.caplen = p.wirelen = f.length;
    p.vlanTci = -1;
    const d = new Decoded();
    d.ttl = 123; // outside LEAN_FIELDS: a full decode resets it
    d.payloadOffset = 77;
    decodeLean(p, d);
    assert.equal(d.ttl, 123, "the fast path does not reset the other fields");
    assert.equal(d.payloadOffset, 77);
    assert.ok(d.ipVersion === 4 || d.ipVersion === 6);
    assert.ok(d.l4Offset > 0 && d.srcPort > 0);
    agree(p, "fast-path frame");
  }
});

test("fast.ts contains no allocating construct in its code", () => {
  const code = readFileSync(new URL("../lib/decode/fast.ts", import.meta.url), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/export const LEAN_FIELDS = \[[^\]]*\] as const;/, ""); // module-level, once
  const m = code.match(
    /\bnew\b|subarray|slice\(|=>|`|\bfunction\s*\(|\[\s*\]|=\s*\{|\.map\(|\.join\(|String\(/,
  );
  assert.equal(m, null, `fast.ts allocates: ${m?.[0]}`);
});

/** n 64-byte IPv4/UDP frames over `flows` source ports, 1 µs apart, through `each`. */
function udpStream(n: number, flows: number, each: (p: FilePacket) => void, start = 0): void {
  const p = packet(256);
  const f = ether(
    0x0800,
    ipv4({ proto: 17, src: "10.0.0.1", dst: "10.0.0.2" }, udp(0x3000, 53, new Array(22).fill(0))),
  );
  p.data.set(f, p.offset);
  p.caplen = p.wirelen = f.length;
  for (let i = start; i < start + n; i++) {
    p.view.setUint16(p.offset + 34, 0x3000 + (i % flows));
    p.tsSec = 1_700_000_000 + Math.floor(i / 1e6);
    p.tsNsec = (i % 1e6) * 1000;
    each(p);
  }
}

test("flow table: expire() runs only when a list head falls due, not per packet; idle flows still expire on time", () => {
  const expired: number[] = [];
  const t = new FlowTable({ onExpire: (r) => expired.push(r.lastMs), idleTimeout: 1 });
  let calls = 0;
  const orig = t.expire.bind(t);
  t.expire = (ms: number) => {
    calls++;
    return orig(ms);
  };
  const d = new Decoded();
  udpStream(100_000, 256, (p) => t.add(p, decodeLean(p, d))); // 0.1 s of packets, 256 flows
  assert.ok(calls <= 2, `expire() ran ${calls} times for 100,000 packets within the idle timeout`);
  assert.equal(expired.length, 0);
  assert.equal(t.size, 256);
  // 1.2 s later one packet of another flow: the 256 idle flows go, each at once
  udpStream(1, 1000, (p) => t.add(p, decodeLean(p, d)), 1_300_999); // 1.300999 s, port 0x3000 + 999
  assert.equal(expired.length, 256);
  assert.equal(t.size, 1);
});

function heapMb(): number {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun) g.Bun.gc(true);
  return process.memoryUsage().heapUsed / 2 ** 20;
}

test("the probe's meter and topn's counter: 3,000,000 packets, heap flat after warm-up (no allocation per packet)", () => {
  const m = new FlowMeter({ idleTimeout: 15 }, () => {});
  const top = new TopCounter();
  const both = (p: FilePacket) => {
    m.add(p);
    top.add(p);
  };
  udpStream(200_000, 4096, both); // warm-up: JIT, tables at their size
  const before = heapMb();
  udpStream(3_000_000, 4096, both, 200_000);
  const grown = heapMb() - before;
  assert.equal(m.table.packets, 3_200_000);
  assert.equal(top.packets, 3_200_000);
  // 3 M packets allocating even 16 bytes each would be 48 MiB
  assert.ok(grown < 8, `heap grew ${grown.toFixed(1)} MiB over 3,000,000 packets`);
});

test("topn's IPv4 shortcut KeyTable.add4 counts in the same slot as add with the full key (hosts and pairs)", () => {
  const r = rng(7);
  for (const width of [5, 9]) {
    const fast = new KeyTable(width, { initialSlots: 16 }), slow = new KeyTable(width, { initialSlots: 16 });
    const mixed = new KeyTable(width, { initialSlots: 16 });
    for (let i = 0; i < 20_000; i++) {
      const a = r() % 300, b = ((r() % 300) * 0x01000001) >>> 0; // uint32, as getUint32 gives
      const key = slow.key;
      key.fill(0);
      key[0] = 4;
      key[1] = a;
      if (width === 9) key[5] = b;
      slow.add(1, i);
      fast.add4(a, b, 1, i);
      if (i % 2) mixed.add4(a, b, 1, i);
      else {
        mixed.key.set(key);
        mixed.add(1, i);
      }
    }
    assert.deepEqual(fast.snapshot(), slow.snapshot(), `width ${width}`);
    assert.deepEqual(mixed.snapshot(), slow.snapshot(), `width ${width}, add and add4 mixed`);
  }
});

test("flow table: the slot array grows with the flows (from 1,024 slots): 50,000 flows each found again, none doubled", () => {
  const out: number[] = [];
  const t = new FlowTable({ onExpire: (r) => out.push(r.packets), idleTimeout: 60 });
  const d = new Decoded();
  udpStream(50_000, 50_000, (p) => t.add(p, decodeLean(p, d))); // source ports 0x3000..0xf34f
  udpStream(50_000, 50_000, (p) => t.add(p, decodeLean(p, d)), 50_000);
  assert.equal(t.size, 50_000);
  assert.equal(t.created, 50_000);
  assert.equal(t.flush(), 50_000);
  assert.ok(out.every((n) => n === 2), "every flow got both its packets");
});
