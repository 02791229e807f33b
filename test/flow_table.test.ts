/**
 * Flow meter unit tests: keys, counters, and every expiry rule (idle, active,
 * TCP FIN/RST, eviction at maxFlows, flush), with hand-filled Decoded objects.
 */
import assert from "node:assert/strict";
import { test } from "./harness.ts";
import { fakePacket } from "./fixtures/fake_packet.ts";
import { Decoded } from "../lib/decode/decoded.ts";
import { FlowTable } from "../lib/analysis/flow/table.ts";
import {
  hashKey,
  K_DST,
  K_IF,
  K_PORTS,
  K_PROTO,
  K_SRC,
  K_VLAN,
  KEY_WORDS,
} from "../lib/analysis/flow/key.ts";
import { EndReason, FlowRecord, formatIPv4, parseIPv4, parseIPv6 } from "../lib/analysis/flow/record.ts";

interface Pk {
  ms: number;
  src?: string;
  dst?: string;
  proto?: number;
  sp?: number;
  dp?: number;
  len?: number;
  flags?: number;
  vlan?: number;
  tos?: number;
  icmp?: [number, number];
  v6?: [string, string];
  ifindex?: number;
}

function dec(o: Pk): Decoded {
  const d = new Decoded();
  d.ipVersion = o.v6 ? 6 : 4;
  if (o.v6) {
    d.src6Offset = 22;
    d.dst6Offset = 38;
  } else {
    d.src4 = parseIPv4(o.src ?? "10.0.0.1");
    d.dst4 = parseIPv4(o.dst ?? "10.0.0.2");
  }
  d.protocol = o.proto ?? 17;
  d.srcPort = o.sp ?? 1000;
  d.dstPort = o.dp ?? 53;
  d.ipLength = o.len ?? 100;
  d.tcpFlags = o.flags ?? 0;
  d.vlanId = o.vlan ?? -1;
  d.tos = o.tos ?? 0;
  if (o.icmp) {
    d.icmpType = o.icmp[0];
    d.icmpCode = o.icmp[1];
    d.srcPort = d.dstPort = 0;
  }
  return d;
}

function meter(pkts: Pk[], opts: Partial<ConstructorParameters<typeof FlowTable>[0]> = {}, flush = true) {
  const out: FlowRecord[] = [];
  const t = new FlowTable({ maxFlows: 64, ...opts, onExpire: (r) => out.push(new FlowRecord().copyFrom(r)) });
  for (const p of pkts) t.add(fakePacket(p.ms, p.v6, p.ifindex), dec(p));
  if (flush) t.flush();
  return { t, out };
}

const T0 = 1_700_000_000_000;

test("flow table: one UDP flow counts packets, IP bytes, first/last", () => {
  const { out } = meter([{ ms: T0, len: 60 }, { ms: T0 + 250, len: 70 }, { ms: T0 + 900, len: 80 }]);
  assert.equal(out.length, 1);
  const r = out[0];
  assert.equal(formatIPv4(r.src4), "10.0.0.1");
  assert.equal(formatIPv4(r.dst4), "10.0.0.2");
  assert.deepEqual([r.protocol, r.srcPort, r.dstPort, r.packets, r.bytes], [17, 1000, 53, 3, 210]);
  assert.deepEqual([r.firstMs, r.lastMs, r.endReason], [T0, T0 + 900, EndReason.FORCED]);
});

test("flow table: key fields separate flows (ports, proto, tos, vlan, ifindex, direction)", () => {
  const { out, t } = meter([
    { ms: T0 },
    { ms: T0, sp: 1001 },
    { ms: T0, proto: 6 },
    { ms: T0, tos: 0x10 },
    { ms: T0, vlan: 10 },
    { ms: T0, ifindex: 3 },
    { ms: T0, src: "10.0.0.2", dst: "10.0.0.1" },
    { ms: T0 + 1 }, // same as the first
  ]);
  assert.equal(t.created, 7);
  assert.equal(out.length, 7);
  assert.equal(out[0].packets, 2);
  assert.equal(out.find((r) => r.vlanId === 10)?.packets, 1);
  assert.equal(out.find((r) => r.ifindex === 3)?.packets, 1);
  assert.equal(out.find((r) => r.tos === 0x10)?.packets, 1);
});

test("flow table: ICMP type/code become the destination port; IPv6 addresses come from the packet", () => {
  const v6: [string, string] = ["2001:db8::1", "2001:db8::2"];
  const { out } = meter([
    { ms: T0, proto: 1, icmp: [8, 0] },
    { ms: T0, proto: 1, icmp: [0, 0], src: "10.0.0.2", dst: "10.0.0.1" },
    { ms: T0, proto: 58, icmp: [128, 0], v6, len: 104 },
    { ms: T0 + 1, proto: 58, icmp: [128, 0], v6, len: 104 },
  ]);
  assert.equal(out.length, 3);
  assert.deepEqual([out[0].srcPort, out[0].dstPort], [0, 8 * 256]);
  assert.deepEqual([out[1].srcPort, out[1].dstPort], [0, 0]);
  const r6 = out[2];
  assert.equal(r6.ipVersion, 6);
  assert.deepEqual([...r6.src6], [...parseIPv6("2001:db8::1")]);
  assert.deepEqual([...r6.dst6], [...parseIPv6("2001:db8::2")]);
  assert.deepEqual([r6.dstPort, r6.packets, r6.bytes], [128 * 256, 2, 208]);
});

test("flow table: idle timeout splits a flow at a gap", () => {
  const { out } = meter([{ ms: T0 }, { ms: T0 + 14_999 }, { ms: T0 + 14_999 + 15_000 }], { idleTimeout: 15 });
  assert.equal(out.length, 2);
  assert.deepEqual([out[0].packets, out[0].endReason, out[0].lastMs], [2, EndReason.IDLE, T0 + 14_999]);
  assert.deepEqual([out[1].packets, out[1].endReason], [1, EndReason.FORCED]);
});

test("flow table: idle flows expire when later packets of other flows arrive, or on expire(now)", () => {
  const { out, t } = meter([{ ms: T0 }, { ms: T0 + 16_000, sp: 2 }], { idleTimeout: 15 }, false);
  assert.equal(out.length, 1);
  assert.equal(out[0].endReason, EndReason.IDLE);
  assert.equal(t.size, 1);
  assert.equal(t.expire(T0 + 31_000), 1);
  assert.equal(t.size, 0);
});

test("flow table: active timeout exports a long flow and restarts it", () => {
  const pkts: Pk[] = [];
  for (let s = 0; s <= 150; s += 5) pkts.push({ ms: T0 + s * 1000 });
  const { out } = meter(pkts, { activeTimeout: 60, idleTimeout: 15 });
  assert.deepEqual(out.map((r) => [r.packets, r.endReason]), [
    [12, EndReason.ACTIVE], // 0..55 s
    [12, EndReason.ACTIVE], // 60..115 s
    [7, EndReason.FORCED], // 120..150 s
  ]);
  assert.equal(out.reduce((a, r) => a + r.packets, 0), pkts.length);
});

test("flow table: TCP FIN ends a flow after the closing ACK; RST too; a new SYN starts a new flow", () => {
  const tcp = (ms: number, flags: number, sp = 40000): Pk => ({ ms, proto: 6, sp, dp: 80, flags, len: 52 });
  const { out, t } = meter(
    [
      tcp(T0, 0x02),
      tcp(T0 + 10, 0x10),
      tcp(T0 + 20, 0x11), // FIN|ACK
      tcp(T0 + 30, 0x10), // closing ACK: still this flow
      tcp(T0 + 40, 0x02, 40001),
      tcp(T0 + 50, 0x04, 40001), // RST
      tcp(T0 + 2000, 0x10, 40002), // moves the clock: both ended flows are due
      tcp(T0 + 2010, 0x02, 40002),
      tcp(T0 + 2020, 0x11, 40002),
      tcp(T0 + 2030, 0x02, 40002), // port reuse: SYN closes the ended flow at once
    ],
    { tcpEndTimeout: 1 },
    false,
  );
  assert.deepEqual(out.map((r) => [r.srcPort, r.packets, r.tcpFlags, r.endReason]), [
    [40000, 4, 0x13, EndReason.END],
    [40001, 2, 0x06, EndReason.END],
    [40002, 3, 0x13, EndReason.END],
  ]);
  assert.equal(t.size, 1);
  t.flush();
  assert.equal(out[3].packets, 1);
});

test("flow table: tcpEndTimeout 0 exports at the FIN itself", () => {
  const { out } = meter([{ ms: T0, proto: 6, flags: 0x01 }], { tcpEndTimeout: 0 }, false);
  assert.equal(out.length, 1);
  assert.equal(out[0].endReason, EndReason.END);
});

test("flow table: a full table evicts the least recently seen flow and counts it", () => {
  const { out, t } = meter(
    [
      { ms: T0, sp: 1 },
      { ms: T0 + 1, sp: 2 },
      { ms: T0 + 2, sp: 1 }, // flow 1 is now the most recent
      { ms: T0 + 3, sp: 3 }, // evicts flow 2
    ],
    { maxFlows: 2 },
    false,
  );
  assert.equal(t.evicted, 1);
  assert.deepEqual(out.map((r) => [r.srcPort, r.endReason]), [[2, EndReason.RESOURCES]]);
  assert.equal(t.size, 2);
});

test("flow table: churn through a small table keeps every packet (hash deletes stay consistent)", () => {
  const out: FlowRecord[] = [];
  let packets = 0;
  const t = new FlowTable({
    maxFlows: 100,
    idleTimeout: 1,
    onExpire: (r) => (packets += r.packets, out.push(new FlowRecord().copyFrom(r))),
  });
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let n = 0; n < 50_000; n++) {
    const sp = Math.floor(rnd() * 300);
    const ms = T0 + n; // 1 ms apart: idle expiry and eviction both happen
    t.add(fakePacket(ms), dec({ ms, sp }));
  }
  t.flush();
  assert.equal(packets, 50_000);
  assert.equal(t.size, 0);
  assert.equal(t.exported, t.created);
  assert.ok(t.evicted > 0);
  // a key lost in the hash would show up as two flows of one key overlapping in time
  const byPort = new Map<number, FlowRecord[]>();
  for (const r of out) byPort.set(r.srcPort, [...byPort.get(r.srcPort) ?? [], r]);
  for (const rs of byPort.values()) {
    rs.sort((a, b) => a.firstMs - b.firstMs);
    for (let i = 1; i < rs.length; i++) {
      assert.ok(rs[i].firstMs > rs[i - 1].lastMs, "overlapping flows of one key");
    }
  }
});

test("flow key hash: keys that differ in any one field spread like random over the table's buckets", () => {
  // 100,000 keys into 2^18 buckets: uniform hashing fills ~83,000 (1 - e^-0.38 of them); a hash
  // that drops bits of a field (e.g. a VLAN shifted out of the word) fills far fewer
  const N = 100_000, mask = (1 << 18) - 1;
  const V4 = 4 << 16, V6 = 6 << 16;
  const fields: [string, (k: Uint32Array, i: number) => void][] = [
    ["IPv4 source", (k, i) => (k[K_SRC] = 0x0a000000 + i, k[K_PROTO] = V4 | 17)],
    ["IPv4 destination high bits", (k, i) => (k[K_DST] = (i << 12) >>> 0, k[K_PROTO] = V4 | 17)],
    ["ports", (k, i) => (k[K_PORTS] = ((i & 0xffff) << 16 | (i >>> 16)) >>> 0, k[K_PROTO] = V4 | 6)],
    ["IPv6 source, one word at a time", (k, i) => (k[K_SRC + (i & 3)] = i >>> 2, k[K_PROTO] = V6 | 17)],
    ["IPv6 destination, one word at a time", (k, i) => (k[K_DST + (i & 3)] = i >>> 2, k[K_PROTO] = V6 | 17)],
    ["protocol x ToS", (k, i) => (k[K_PROTO] = V4 | (i & 0xffff), k[K_SRC] = i >>> 16)],
    ["VLAN x interface", (k, i) => (k[K_VLAN] = (i & 4095) + 1, k[K_IF] = i >>> 12, k[K_PROTO] = V4 | 17)],
  ];
  const key = new Uint32Array(KEY_WORDS);
  for (const [name, set] of fields) {
    const seen = new Uint8Array(mask + 1);
    let used = 0;
    for (let i = 0; i < N; i++) {
      key.fill(0);
      set(key, i);
      const b = hashKey(key, 0) & mask;
      if (seen[b]++ === 0) used++;
    }
    assert.ok(used > 80_000, `${name}: ${used} of ${mask + 1} buckets used by ${N} keys (uniform: ~83,000)`);
  }
});
