/**
 * Throughput of decode + flow meter on an in-memory packet array, next to a
 * bare counting loop over the same array (what pcount does per packet; the JIT
 * reduces it to almost nothing in memory, so compare live rates for ratios), at
 * 64 and 1500 bytes. The packets sit in one big buffer and one reused Packet
 * object moves its offset, as a ring reader does. Prints packets/s; asserts
 * only a floor far below what is expected, so a slow machine does not fail.
 */
import assert from "node:assert/strict";
import { test } from "./harness.ts";
import { FilePacket } from "../lib/source/file/file_packet.ts";
import { Decoded } from "../lib/decode/decoded.ts";
import { decode } from "../lib/decode/mod.ts";
import { FlowTable } from "../lib/analysis/flow/table.ts";

/** `count` IPv4/UDP frames of `size` bytes over `flows` distinct 5-tuples, back to back. */
function frames(count: number, size: number, flows: number): Uint8Array {
  const data = new Uint8Array(count * size);
  const v = new DataView(data.buffer);
  for (let i = 0; i < count; i++) {
    const o = i * size, f = i % flows;
    data.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0], o);
    v.setUint8(o + 14, 0x45);
    v.setUint16(o + 16, size - 14);
    v.setUint8(o + 22, 64);
    v.setUint8(o + 23, 17);
    v.setUint32(o + 26, 0x0a000000 + (f >> 8));
    v.setUint32(o + 30, 0x0a800000 + (f & 0xff));
    v.setUint16(o + 34, 1024 + f);
    v.setUint16(o + 36, 53);
    v.setUint16(o + 38, size - 34);
  }
  return data;
}

function measure(size: number, label: string): { bare: number; probe: number } {
  const COUNT = 16384, FLOWS = 4096, ROUNDS = 60;
  const data = frames(COUNT, size, FLOWS);
  const p = new FilePacket(data, new DataView(data.buffer)); // one reused packet moving its offset, as a ring reader does
  p.tsSec = 1_700_000_000;
  p.ifindex = 2;
  const d = new Decoded();
  let exported = 0;
  const table = new FlowTable({ maxFlows: 65536, onExpire: () => exported++ });
  const bare = () => {
    let n = 0, bytes = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < COUNT; i++) {
        p.offset = i * size;
        p.caplen = p.wirelen = size;
        n++;
        bytes += p.wirelen;
      }
    }
    return n + bytes * 0;
  };
  const probe = () => {
    let n = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < COUNT; i++) {
        p.offset = i * size;
        p.caplen = p.wirelen = size;
        p.tsNsec += 100; // 10 Mpps of packet time
        if (p.tsNsec >= 1e9) p.tsSec++, p.tsNsec -= 1e9;
        decode(p, d);
        table.add(p, d);
        n++;
      }
    }
    return n;
  };
  const rate = (fn: () => number) => {
    let best = 0;
    for (let rep = 0; rep < 5; rep++) {
      const t0 = performance.now();
      const n = fn();
      best = Math.max(best, n / ((performance.now() - t0) / 1000));
    }
    return best;
  };
  rate(bare), rate(probe); // warm up
  const b = rate(bare), pr = rate(probe);
  console.log(
    `${label}: bare loop ${(b / 1e6).toFixed(1)} Mpps, decode+meter ${(pr / 1e6).toFixed(2)} Mpps ` +
      `(${(1e9 / pr).toFixed(0)} ns/pkt, ${table.size} flows, ${exported} exported)`,
  );
  assert.equal(table.size, FLOWS); // every packet found its flow; nothing expired in 10 Mpps packet time
  return { bare: b, probe: pr };
}

test("flow throughput: decode + meter on in-memory 64 B and 1500 B packets", () => {
  const small = measure(64, "64 B");
  const big = measure(1500, "1500 B");
  // far below the ~10 Mpps seen here: only catches an accidental allocation or Map per packet
  assert.ok(small.probe > 1e6, `decode+meter at 64 B: ${small.probe} pps`);
  assert.ok(big.probe > 1e6, `decode+meter at 1500 B: ${big.probe} pps`);
}, 120_000);
