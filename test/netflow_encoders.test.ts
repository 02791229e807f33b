/**
 * Encoder and exporter unit tests without collectors: datagram limits (v5 ≤ 30
 * records, maxDatagram), IPv6 skipped by v5, v9/IPFIX template refresh by
 * datagram count and by time, IPFIX withdrawal and sequence numbers, header
 * times, collector address parsing, UDP to IPv4 and IPv6 collectors at once.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { test } from "./harness.ts";
import { FlowRecord } from "../lib/analysis/flow/record.ts";
import { V5Encoder } from "../lib/sink/netflow/v5.ts";
import { V9Encoder } from "../lib/sink/netflow/v9.ts";
import { IpfixEncoder } from "../lib/sink/netflow/ipfix.ts";
import { parseCollector, UdpExporter } from "../lib/sink/netflow/exporter.ts";
import { IPFIX_FIELDS, recordLength, V9_FIELDS } from "../lib/sink/netflow/templates.ts";

const T0 = 1_700_000_000_000;
const rec = (i: number) =>
  FlowRecord.v4("10.0.0.1", "10.0.0.2", 17, 1000 + i, 53, {
    packets: 1,
    bytes: 60,
    firstMs: T0 + i,
    lastMs: T0 + i,
  });
const view = (d: Uint8Array) => new DataView(d.buffer, d.byteOffset, d.byteLength);

/** Set ids in a v9 (header 20) or IPFIX (header 16) datagram. */
function sets(d: Uint8Array, header: number): number[] {
  const v = view(d), ids: number[] = [];
  for (let o = header; o < d.length; o += v.getUint16(o + 2)) ids.push(v.getUint16(o));
  return ids;
}

test("v5: at most 30 records a datagram, IPv6 counted as skipped, header times and sequence", () => {
  const out: Uint8Array[] = [];
  const enc = new V5Encoder({ emit: (d) => out.push(d), bootMs: T0 - 1000, sampling: { interval: 100 } });
  for (let i = 0; i < 65; i++) enc.add(rec(i), T0 + 5000);
  enc.add(FlowRecord.v6("::1", "::2", 17, 1, 2, { firstMs: T0, lastMs: T0 }), T0 + 5000);
  enc.close(T0 + 5000);
  assert.deepEqual(out.map((d) => view(d).getUint16(2)), [30, 30, 5]);
  assert.deepEqual(out.map((d) => d.length), [24 + 30 * 48, 24 + 30 * 48, 24 + 5 * 48]);
  assert.deepEqual(out.map((d) => view(d).getUint32(16)), [0, 30, 60]);
  const h = view(out[2]);
  assert.equal(h.getUint32(4), 6000); // sysUptime
  assert.equal(h.getUint32(8), (T0 + 5000) / 1000);
  assert.equal(h.getUint16(22), (1 << 14) | 100); // deterministic 1-in-100
  assert.equal(view(out[0]).getUint32(24 + 24), 1000); // First of record 0 = T0 - boot
  assert.equal(enc.stats.skipped, 1);
  assert.throws(() => new V5Encoder({ emit: () => {}, sampling: { interval: 20000 } }), /1 to 16383/);
});

test("v9: templates in the first datagram and every N datagrams or T seconds; datagrams ≤ maxDatagram", () => {
  const out: Uint8Array[] = [];
  const enc = new V9Encoder({
    emit: (d) => out.push(d),
    bootMs: T0,
    maxDatagram: 600,
    templateRefreshPackets: 3,
    templateRefreshSeconds: 3600,
    sampling: { interval: 8 },
  });
  for (let i = 0; i < 100; i++) enc.add(rec(i), T0 + 1000);
  enc.flush(T0 + 1000);
  assert.ok(out.every((d) => d.length <= 600));
  const withTemplates = out.map((d) => sets(d, 20).includes(0));
  assert.deepEqual(withTemplates.slice(0, 7), [true, false, false, true, false, false, true]);
  assert.deepEqual(sets(out[0], 20), [0, 1, 258, 256]); // templates, options template, options data, data
  assert.deepEqual(out.map((d) => view(d).getUint32(12)), out.map((_, i) => i)); // datagram sequence
  // count = every record: 2 templates + options template + options record + the data records
  for (const d of out) {
    const v = view(d);
    let n = 0;
    for (let o = 20; o < d.length; o += v.getUint16(o + 2)) {
      const id = v.getUint16(o), len = v.getUint16(o + 2);
      n += id === 0 ? 2 : id === 1 || id === 258 ? 1 : Math.floor((len - 4) / recordLength(V9_FIELDS.v4));
    }
    assert.equal(v.getUint16(2), n);
  }
  // time-based refresh
  const out2: Uint8Array[] = [];
  const enc2 = new V9Encoder({ emit: (d) => out2.push(d), bootMs: T0, templateRefreshSeconds: 10 });
  enc2.add(rec(0), T0), enc2.flush(T0);
  enc2.add(rec(1), T0 + 5000), enc2.flush(T0 + 5000);
  enc2.add(rec(2), T0 + 10_000), enc2.flush(T0 + 10_000);
  assert.deepEqual(out2.map((d) => sets(d, 20).includes(0)), [true, false, true]);
});

test("IPFIX: sequence counts data records per domain, lengths, withdrawal of the data templates on close", () => {
  const out: Uint8Array[] = [];
  const enc = new IpfixEncoder({ emit: (d) => out.push(d), sourceId: 77, maxDatagram: 512 });
  for (let i = 0; i < 40; i++) enc.add(rec(i), T0 + 2000);
  enc.close(T0 + 2000);
  let seq = 0;
  for (const d of out.slice(0, -1)) {
    const v = view(d);
    assert.equal(v.getUint16(0), 10);
    assert.equal(v.getUint16(2), d.length);
    assert.equal(v.getUint32(8), seq);
    assert.equal(v.getUint32(12), 77);
    for (let o = 16; o < d.length; o += v.getUint16(o + 2)) {
      if (v.getUint16(o) === 256) seq += Math.floor((v.getUint16(o + 2) - 4) / recordLength(IPFIX_FIELDS.v4));
    }
  }
  assert.equal(seq, 40);
  const w = view(out[out.length - 1]);
  assert.equal(w.getUint32(8), 40);
  assert.deepEqual([w.getUint16(16), w.getUint16(18)], [2, 12]);
  assert.deepEqual([w.getUint16(20), w.getUint16(22), w.getUint16(24), w.getUint16(26)], [256, 0, 257, 0]);
  assert.throws(() => enc.add(rec(0), T0), /closed/);
  const quiet: Uint8Array[] = [];
  const e2 = new IpfixEncoder({ emit: (d) => quiet.push(d), withdrawOnClose: false });
  e2.add(rec(0), T0), e2.close(T0);
  assert.equal(quiet.length, 1);
});

test("collector addresses: host:port, [v6]:port, bare v6; one-line errors", () => {
  assert.deepEqual(parseCollector("127.0.0.1:2055"), { host: "127.0.0.1", port: 2055 });
  assert.deepEqual(parseCollector("[::1]:4739"), { host: "::1", port: 4739 });
  assert.deepEqual(parseCollector("2001:db8::1:9995"), { host: "2001:db8::1", port: 9995 });
  assert.deepEqual(parseCollector("collector.example:2055"), { host: "collector.example", port: 2055 });
  for (const bad of ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":2055", "1.2.3.256:1", "[::g]:1"]) {
    assert.throws(() => parseCollector(bad), /bad collector/, bad);
  }
});

test("UDP exporter: the same datagrams, in order, to an IPv4 and an IPv6 collector", async () => {
  const listen = async (type: "udp4" | "udp6", host: string) => {
    const s = dgram.createSocket(type);
    const got: number[] = [];
    s.on("message", (m: Uint8Array) => got.push(m[0] | (m[1] << 8)));
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    return { s, got, port: s.address().port };
  };
  const a = await listen("udp4", "127.0.0.1"), b = await listen("udp6", "::1");
  const ex = await UdpExporter.open([`127.0.0.1:${a.port}`, `[::1]:${b.port}`]);
  const N = 50;
  for (let i = 0; i < N; i++) ex.send(new Uint8Array([i & 255, i >> 8, 0, 0]));
  await ex.close();
  await new Promise((r) => setTimeout(r, 100));
  const want = Array.from({ length: N }, (_, i) => i);
  assert.deepEqual(a.got, want);
  assert.deepEqual(b.got, want);
  assert.deepEqual([ex.stats.sent, ex.stats.errors, ex.stats.dropped], [2 * N, 0, 0]);
  a.s.close(), b.s.close();
  await assert.rejects(UdpExporter.open([]), /no collector/);
});

test("exporter: pacing (-e) spaces datagrams to a collector and keeps their order", async () => {
  const sink = dgram.createSocket("udp4");
  const got: { i: number; at: number }[] = [];
  sink.on("message", (m: Uint8Array) => got.push({ i: m[0], at: performance.now() }));
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", () => r()));
  const ex = await UdpExporter.open([`127.0.0.1:${(sink.address() as { port: number }).port}`]);
  ex.delayMs = 2;
  const N = 60, t0 = performance.now();
  for (let i = 0; i < N; i++) ex.send(new Uint8Array([i, 0, 0, 0]));
  await ex.queuedAtMost(N / 2); // the backpressure a file reader waits on
  assert.ok(ex.queued <= N / 2);
  await ex.close();
  const took = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 50));
  sink.close();
  assert.deepEqual(got.map((g) => g.i), Array.from({ length: N }, (_, i) => i));
  // 60 datagrams 2 ms apart: ~118 ms (a late timer may catch up by a few, never run ahead)
  assert.ok(took >= (N - 8) * 2, `60 datagrams paced at 2 ms left in ${took.toFixed(1)} ms`);
  // never ahead of the schedule: datagram k leaves no sooner than (k - burst) delays after the sends
  // began (measured from t0, not from the first arrival: a late first arrival is not a fast schedule)
  const ahead = got.filter((g, k) => g.at - t0 < (k - 8) * 2 - 1).map((g) => g.i);
  assert.deepEqual(ahead, [], "datagrams sent ahead of the pacing schedule");
});

test("exporter: a sent datagram is let go (a long-running probe's memory stays flat)", async () => {
  const sink = dgram.createSocket("udp4");
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", () => r()));
  const ex = await UdpExporter.open([`127.0.0.1:${(sink.address() as { port: number }).port}`]);
  // a few datagrams a second, as a probe sends them: the queue is far from its compaction size
  for (let i = 0; i < 5; i++) {
    ex.send(new Uint8Array(1400));
    await ex.flushed();
  }
  // the per-collector FIFO is private; look inside: nothing sent may still be referenced
  const targets = (ex as unknown as { targets: { queue: Uint8Array[]; head: number }[] }).targets;
  const held = targets.reduce((n, t) => n + t.queue.filter((d) => d.length > 0).length, 0);
  assert.equal(held, 0, "datagrams already sent are still referenced by the exporter queue");
  assert.equal(ex.stats.sent, 5);
  await ex.close();
  sink.close();
});
