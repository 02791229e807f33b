/**
 * Exports checked by real collectors: flows → encoder → UDP → nfcapd on
 * loopback → `nfdump` must list exactly the expected flows (packets, bytes,
 * times to the millisecond, flags, ToS, VLAN, interface), for NetFlow v5, v9
 * and IPFIX; the same datagrams, caught by a second collector socket and
 * wrapped in a pcap, must decode in `tshark` (cflow) with no malformed packet
 * and no expert info. Skips (saying why) when nfdump or tshark is missing.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skip, test } from "./harness.ts";
import { fakePacket } from "./fixtures/fake_packet.ts";
import { writeManyFlowsPcap } from "./fixtures/many_flows.ts";
import { Decoded } from "../lib/decode/decoded.ts";
import { FlowTable } from "../lib/analysis/flow/table.ts";
import { EndReason, FlowRecord, formatIPv4, parseIPv4, parseIPv6 } from "../lib/analysis/flow/record.ts";
import { createEncoder, UdpExporter } from "../lib/sink/netflow/exporter.ts";
import type { NetflowVersion, SamplingInfo } from "../lib/sink/netflow/encoder.ts";
import { IPFIX_FIELDS, recordLength } from "../lib/sink/netflow/templates.ts";
import { PcapWriter } from "../lib/sink/pcap/writer.ts";
import process from "node:process";
import { netReason, runtimeArgv, VethPair, waitForPacketSocket } from "./net.ts";
import { UdpSender } from "./fixtures/udp_sender.ts";
import { nfLine, requireTools, sleep, sniffer, withNfcapd } from "./fixtures/nfcapd.ts";

// ---------- helpers: tools, ports, nfcapd, tshark ----------

function nfTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString().replace("T", " ").replace("Z", "");
}

function nfFlags(f: number, proto: number): string {
  if (proto !== 6) return "........";
  const s = ["C", "E", "U", "A", "P", "R", "S", "F"];
  return s.map((c, i) => (f & (1 << (7 - i))) ? c : ".").join("");
}

function v6text(w: Uint32Array): string {
  const g: string[] = [];
  for (const x of w) g.push((x >>> 16).toString(16), (x & 0xffff).toString(16));
  // compress the longest run of zero groups, as inet_ntop does
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return g.join(":");
  return `${g.slice(0, best).join(":")}::${g.slice(best + bestLen).join(":")}`;
}

/** The line nfdump should print for a record (v5 has no VLAN; sampling multiplies counters). */
function expectLine(r: FlowRecord, version: NetflowVersion, sampling = 1): string {
  const icmp = r.protocol === 1 || r.protocol === 58;
  const dp = icmp ? `${r.dstPort >> 8}.${r.dstPort & 255}` : String(r.dstPort);
  const sa = r.ipVersion === 4 ? formatIPv4(r.src4) : v6text(r.src6);
  const da = r.ipVersion === 4 ? formatIPv4(r.dst4) : v6text(r.dst6);
  return nfLine(
    nfTime(r.firstMs),
    nfTime(r.lastMs),
    String(r.protocol), // nfdump -N prints protocol numbers
    sa,
    String(r.srcPort),
    da,
    dp,
    String(r.packets * sampling),
    String(r.bytes * sampling),
    nfFlags(r.tcpFlags, r.protocol),
    String(r.tos),
    String(r.ifindex),
    String(version === 5 || r.vlanId < 0 ? 0 : r.vlanId),
  );
}

/** Wrap datagrams (sent to 127.0.0.1:port) into a classic pcap with Ethernet/IPv4/UDP headers. */
function pcapOf(datagrams: Uint8Array[], port: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const gh = new DataView(new ArrayBuffer(24));
  gh.setUint32(0, 0xa1b2c3d4, true);
  gh.setUint16(4, 2, true);
  gh.setUint16(6, 4, true);
  gh.setUint32(16, 65535, true);
  gh.setUint32(20, 1, true);
  parts.push(new Uint8Array(gh.buffer));
  datagrams.forEach((d, i) => {
    const len = 14 + 20 + 8 + d.length;
    const f = new Uint8Array(16 + len);
    const v = new DataView(f.buffer);
    v.setUint32(0, 1_700_000_000 + i, true);
    v.setUint32(8, len, true);
    v.setUint32(12, len, true);
    v.setUint16(16 + 12, 0x0800);
    const ip = 16 + 14;
    v.setUint8(ip, 0x45);
    v.setUint16(ip + 2, 20 + 8 + d.length);
    v.setUint8(ip + 8, 64);
    v.setUint8(ip + 9, 17);
    v.setUint32(ip + 12, 0x7f000001);
    v.setUint32(ip + 16, 0x7f000001);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += v.getUint16(ip + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    v.setUint16(ip + 10, ~sum & 0xffff);
    v.setUint16(ip + 20, 40000);
    v.setUint16(ip + 22, port);
    v.setUint16(ip + 24, 8 + d.length);
    f.set(d, ip + 28);
    parts.push(f);
  });
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

/** tshark must see every datagram as cflow, with no malformed packet and no expert info at all. */
function checkTshark(datagrams: Uint8Array[], version: NetflowVersion): void {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-tshark-"));
  try {
    const file = join(dir, "export.pcap");
    const port = 2055;
    writeFileSync(file, pcapOf(datagrams, port));
    const run = (...args: string[]) => {
      const r = spawnSync("tshark", ["-n", "-r", file, "-d", `udp.port==${port},cflow`, ...args]);
      assert.equal(r.status, 0, new TextDecoder().decode(r.stderr));
      return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l.trim());
    };
    const versions = run("-Y", "cflow", "-T", "fields", "-e", "cflow.version");
    assert.deepEqual(versions, datagrams.map(() => String(version)), "every datagram decodes as cflow");
    const bad = run(
      "-Y",
      "_ws.malformed or _ws.expert",
      "-T",
      "fields",
      "-e",
      "frame.number",
      "-e",
      "_ws.expert.message",
    );
    assert.deepEqual(
      bad,
      [],
      `tshark reports problems:\n${bad.join("\n")}\n${run("-V").join("\n").slice(0, 4000)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Export `records` with `version` to nfcapd and to a sniffer (two collectors), then check
 * nfdump's list against the records and tshark against the datagrams.
 */
async function exportAndCheck(
  version: NetflowVersion,
  records: FlowRecord[],
  opts: { sampling?: SamplingInfo; bootMs?: number; expect?: FlowRecord[] } = {},
): Promise<Uint8Array[]> {
  const sniff = await sniffer();
  let sent: Uint8Array[] = [];
  const { flows, log } = await withNfcapd(async (port) => {
    const ex = await UdpExporter.open([`127.0.0.1:${port}`, `127.0.0.1:${sniff.port}`]);
    const now = Math.max(...records.map((r) => r.lastMs)) + 1;
    const enc = createEncoder(version, {
      emit: (d) => (sent.push(d), ex.send(d)),
      bootMs: opts.bootMs ?? Math.min(...records.map((r) => r.firstMs)),
      sampling: opts.sampling,
      sourceId: 3,
    });
    for (const r of records) enc.add(r, now);
    enc.close(now);
    await ex.close();
    assert.equal(ex.stats.errors, 0, ex.lastError ?? "");
  });
  await sleep(50);
  await sniff.close();
  assert.equal(sniff.got.length, sent.length, "the second collector got every datagram");
  sniff.got.forEach((d, i) => assert.deepEqual(d, sent[i]));
  const want = (opts.expect ?? records).filter((r) => version !== 5 || r.ipVersion === 4)
    .map((r) => expectLine(r, version, opts.sampling?.interval ?? 1)).sort();
  assert.deepEqual(flows, want, `nfcapd log:\n${log}`);
  checkSequence(version, sent);
  if (version === 10 && (opts.sampling?.interval ?? 1) > 1) {
    // RFC 7011 counts options data records in the sequence number; nfdump 1.7 counts flow records only
    // (one "sequence error" per message after a sampling options record); checkSequence checks ours.
  } else assert.match(log, /Sequence Errors: 0/, log);
  checkTshark(sent, version);
  sent = sent.slice();
  return sent;
}

/** Header sequence numbers: v5 counts flows, v9 datagrams, IPFIX data records (options records included). */
function checkSequence(version: NetflowVersion, sent: Uint8Array[]): void {
  let expect = 0;
  for (const d of sent) {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    if (version === 5) {
      assert.equal(v.getUint32(16), expect);
      assert.ok(v.getUint16(2) <= 30);
      expect += v.getUint16(2);
    } else if (version === 9) {
      assert.equal(v.getUint32(12), expect++);
    } else {
      assert.equal(v.getUint32(8), expect);
      assert.equal(v.getUint16(2), d.length);
      const lens: Record<number, number> = {
        256: recordLength(IPFIX_FIELDS.v4),
        257: recordLength(IPFIX_FIELDS.v6),
        258: 4 + 4 + 4 + 1,
      };
      for (let o = 16; o < d.length;) {
        const id = v.getUint16(o), len = v.getUint16(o + 2);
        if (id >= 256) expect += Math.floor((len - 4) / lens[id]);
        o += len;
      }
    }
  }
}

// ---------- synthetic records ----------

const T0 = 1_700_000_000_123;

function sampleRecords(): FlowRecord[] {
  return [
    FlowRecord.v4("10.0.0.1", "10.0.0.2", 6, 40000, 80, {
      packets: 5,
      bytes: 400,
      tcpFlags: 0x1b,
      firstMs: T0,
      lastMs: T0 + 1500.7,
      tos: 0x20,
      ifindex: 3,
      vlanId: 10,
      endReason: EndReason.END,
    }),
    FlowRecord.v4("10.0.0.2", "10.0.0.1", 6, 80, 40000, {
      packets: 4,
      bytes: 2400,
      tcpFlags: 0x14,
      firstMs: T0 + 1,
      lastMs: T0 + 1400,
      ifindex: 3,
      vlanId: 10,
    }),
    FlowRecord.v4("192.168.1.5", "192.168.1.1", 17, 5353, 53, {
      packets: 1,
      bytes: 60,
      firstMs: T0 + 5,
      lastMs: T0 + 5,
    }),
    FlowRecord.v4("10.0.0.1", "10.0.0.2", 1, 0, 8 << 8, {
      packets: 3,
      bytes: 252,
      firstMs: T0 + 7,
      lastMs: T0 + 2007,
    }),
    FlowRecord.v6("2001:db8::1", "2001:db8::2", 17, 6000, 443, {
      packets: 7,
      bytes: 9000,
      firstMs: T0,
      lastMs: T0 + 99,
    }),
    FlowRecord.v6("fe80::1", "ff02::1", 58, 0, 135 << 8, {
      packets: 2,
      bytes: 144,
      firstMs: T0 + 9,
      lastMs: T0 + 10,
    }),
  ];
}

/** Many small flows, so the export spans several datagrams (v5: 30 a datagram). */
function manyRecords(n: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      i % 3 === 2
        ? FlowRecord.v6(`2001:db8::${i.toString(16)}`, "2001:db8::ffff", 17, 1024 + i, 53, {
          packets: i + 1,
          bytes: 100 * (i + 1),
          firstMs: T0 + i,
          lastMs: T0 + 10 * i,
        })
        : FlowRecord.v4(`10.1.${i >> 8}.${i & 255}`, "10.2.0.1", 17, 1024 + i, 53, {
          packets: i + 1,
          bytes: 100 * (i + 1),
          firstMs: T0 + i,
          lastMs: T0 + 10 * i,
        }),
    );
  }
  return out;
}

// ---------- tests ----------

for (const version of [5, 9, 10] as const) {
  test(`collectors: NetFlow v${version} records → nfcapd/nfdump exact, tshark clean`, async () => {
    requireTools("nfcapd", "nfdump", "tshark");
    const sent = await exportAndCheck(version, sampleRecords());
    if (version === 10) {
      // the last datagram withdraws the templates (set 2, records with field count 0)
      const last = new DataView(sent[sent.length - 1].buffer);
      assert.deepEqual([last.getUint16(16), last.getUint16(20), last.getUint16(22)], [2, 256, 0]);
    }
  });

  test(`collectors: NetFlow v${version} over many datagrams (sequence numbers, template refresh)`, async () => {
    requireTools("nfcapd", "nfdump", "tshark");
    const sent = await exportAndCheck(version, manyRecords(500));
    assert.ok(sent.length >= (version === 5 ? 12 : 10), `only ${sent.length} datagrams`);
  });

  test(`collectors: NetFlow v${version} announces 1-in-10 sampling; nfdump scales, tshark clean`, async () => {
    requireTools("nfcapd", "nfdump", "tshark");
    await exportAndCheck(version, sampleRecords(), { sampling: { interval: 10, algorithm: "random" } });
  });
}

// ---------- the meter in front of the collectors ----------

interface Sc {
  ms: number;
  src: string;
  dst: string;
  proto: number;
  sp?: number;
  dp?: number;
  len: number;
  flags?: number;
  vlan?: number;
  icmp?: [number, number];
}

/** The scenario: FIN, RST, UDP request/response, ICMP echo, IPv6, VLAN, active timeout, idle gap. */
function scenario(): Sc[] {
  const p: Sc[] = [];
  const t = (ms: number, src: string, dst: string, sp: number, dp: number, flags: number, len: number) =>
    p.push({ ms: T0 + ms, src, dst, proto: 6, sp, dp, flags, len });
  const A = "10.0.0.1", B = "10.0.0.2";
  // TCP ended by FIN (both directions)
  t(0, A, B, 40000, 80, 0x02, 60);
  t(1, B, A, 80, 40000, 0x12, 60);
  t(2, A, B, 40000, 80, 0x10, 52);
  t(3, A, B, 40000, 80, 0x18, 152);
  t(4, B, A, 80, 40000, 0x18, 1452);
  t(5, A, B, 40000, 80, 0x11, 52);
  t(6, B, A, 80, 40000, 0x11, 52);
  t(7, A, B, 40000, 80, 0x10, 52);
  // TCP ended by RST
  t(10, A, B, 40001, 81, 0x02, 60);
  t(11, B, A, 81, 40001, 0x14, 40);
  // UDP request / response
  p.push({ ms: T0 + 20, src: A, dst: "192.0.2.53", proto: 17, sp: 5353, dp: 53, len: 60 });
  p.push({ ms: T0 + 21, src: "192.0.2.53", dst: A, proto: 17, sp: 53, dp: 5353, len: 120 });
  // ICMP echo
  p.push({ ms: T0 + 30, src: A, dst: B, proto: 1, icmp: [8, 0], len: 84 });
  p.push({ ms: T0 + 31, src: B, dst: A, proto: 1, icmp: [0, 0], len: 84 });
  p.push({ ms: T0 + 1030, src: A, dst: B, proto: 1, icmp: [8, 0], len: 84 });
  p.push({ ms: T0 + 1031, src: B, dst: A, proto: 1, icmp: [0, 0], len: 84 });
  // IPv6 UDP (addresses from the packet bytes)
  p.push({ ms: T0 + 40, src: "2001:db8::1", dst: "2001:db8::2", proto: 17, sp: 6000, dp: 443, len: 1280 });
  p.push({ ms: T0 + 41, src: "2001:db8::1", dst: "2001:db8::2", proto: 17, sp: 6000, dp: 443, len: 1280 });
  // VLAN 42
  p.push({ ms: T0 + 50, src: A, dst: B, proto: 17, sp: 7, dp: 7, len: 100, vlan: 42 });
  // a long flow, one packet every 10 s for 150 s: crosses the 60 s active timeout twice
  for (let s = 0; s <= 150; s += 10) {
    p.push({ ms: T0 + 100 + s * 1000, src: A, dst: B, proto: 17, sp: 9, dp: 9, len: 200 });
  }
  // a flow with a 20 s idle gap (idle timeout 15 s): two flows
  p.push({ ms: T0 + 200, src: B, dst: A, proto: 17, sp: 10, dp: 10, len: 300 });
  p.push({ ms: T0 + 20_200, src: B, dst: A, proto: 17, sp: 10, dp: 10, len: 300 });
  return p.sort((a, b) => a.ms - b.ms);
}

function decodedOf(s: Sc): Decoded {
  const d = new Decoded();
  const v6 = s.src.includes(":");
  d.ipVersion = v6 ? 6 : 4;
  if (v6) d.src6Offset = 22, d.dst6Offset = 38;
  else d.src4 = parseIPv4(s.src), d.dst4 = parseIPv4(s.dst);
  d.protocol = s.proto;
  d.srcPort = s.sp ?? 0;
  d.dstPort = s.dp ?? 0;
  d.tcpFlags = s.flags ?? 0;
  d.ipLength = s.len;
  d.vlanId = s.vlan ?? -1;
  if (s.icmp) d.icmpType = s.icmp[0], d.icmpCode = s.icmp[1];
  return d;
}

/** What the meter must export for `scenario()` (hand-written, not computed by the meter). */
function expectedScenarioFlows(): FlowRecord[] {
  const A = "10.0.0.1", B = "10.0.0.2";
  const f = (src: string, dst: string, proto: number, sp: number, dp: number, m: Partial<FlowRecord>) =>
    src.includes(":") ? FlowRecord.v6(src, dst, proto, sp, dp, m) : FlowRecord.v4(src, dst, proto, sp, dp, m);
  const ms = (a: number, b: number) => ({ firstMs: T0 + a, lastMs: T0 + b });
  const long = (a: number, b: number, n: number) =>
    f(A, B, 17, 9, 9, { packets: n, bytes: 200 * n, ...ms(100 + a * 1000, 100 + b * 1000) });
  return [
    f(A, B, 6, 40000, 80, { packets: 5, bytes: 60 + 52 + 152 + 52 + 52, tcpFlags: 0x1b, ...ms(0, 7) }),
    f(B, A, 6, 80, 40000, { packets: 3, bytes: 60 + 1452 + 52, tcpFlags: 0x1b, ...ms(1, 6) }),
    f(A, B, 6, 40001, 81, { packets: 1, bytes: 60, tcpFlags: 0x02, ...ms(10, 10) }),
    f(B, A, 6, 81, 40001, { packets: 1, bytes: 40, tcpFlags: 0x14, ...ms(11, 11) }),
    f(A, "192.0.2.53", 17, 5353, 53, { packets: 1, bytes: 60, ...ms(20, 20) }),
    f("192.0.2.53", A, 17, 53, 5353, { packets: 1, bytes: 120, ...ms(21, 21) }),
    f(A, B, 1, 0, 8 << 8, { packets: 2, bytes: 168, ...ms(30, 1030) }),
    f(B, A, 1, 0, 0, { packets: 2, bytes: 168, ...ms(31, 1031) }),
    f("2001:db8::1", "2001:db8::2", 17, 6000, 443, { packets: 2, bytes: 2560, ...ms(40, 41) }),
    f(A, B, 17, 7, 7, { packets: 1, bytes: 100, vlanId: 42, ...ms(50, 50) }),
    long(0, 50, 6), // 0..50 s, active timeout at 60 s
    long(60, 110, 6), // 60..110 s
    long(120, 150, 4), // 120..150 s, flushed at the end
    f(B, A, 17, 10, 10, { packets: 1, bytes: 300, ...ms(200, 200) }),
    f(B, A, 17, 10, 10, { packets: 1, bytes: 300, ...ms(20_200, 20_200) }),
  ];
}

for (const version of [5, 9, 10] as const) {
  test(`collectors: meter scenario (FIN, RST, UDP, ICMP, IPv6, VLAN, active, idle) → v${version} → nfdump exact`, async () => {
    requireTools("nfcapd", "nfdump", "tshark");
    const records: FlowRecord[] = [];
    const table = new FlowTable({
      activeTimeout: 60,
      idleTimeout: 15,
      onExpire: (r) => records.push(new FlowRecord().copyFrom(r)),
    });
    for (const s of scenario()) {
      const v6 = s.src.includes(":");
      table.add(fakePacket(s.ms, v6 ? [s.src, s.dst] : undefined), decodedOf(s));
    }
    table.flush();
    await exportAndCheck(version, records, { expect: expectedScenarioFlows(), bootMs: table.firstPacketMs });
  });
}

// ---------- the whole probe: generated pcap → examples/nprobe.ts → nfcapd ----------

/** A real Ethernet frame for one scenario packet (802.1Q tag in the frame for VLAN packets). */
function frameOf(s: Sc): Uint8Array {
  const v6 = s.src.includes(":");
  const tag = s.vlan !== undefined ? 4 : 0;
  const f = new Uint8Array(Math.max(60, 14 + tag + s.len));
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
  if (tag) v.setUint16(12, 0x8100), v.setUint16(14, s.vlan!);
  v.setUint16(12 + tag, v6 ? 0x86dd : 0x0800);
  const ip = 14 + tag;
  let l4 = ip + 20;
  if (v6) {
    v.setUint32(ip, 0x60000000);
    v.setUint16(ip + 4, s.len - 40);
    v.setUint8(ip + 6, s.proto);
    v.setUint8(ip + 7, 64);
    const a = parseIPv6(s.src), b = parseIPv6(s.dst);
    for (let i = 0; i < 4; i++) v.setUint32(ip + 8 + 4 * i, a[i]), v.setUint32(ip + 24 + 4 * i, b[i]);
    l4 = ip + 40;
  } else {
    v.setUint8(ip, 0x45);
    v.setUint16(ip + 2, s.len);
    v.setUint16(ip + 4, 1);
    v.setUint8(ip + 8, 64);
    v.setUint8(ip + 9, s.proto);
    v.setUint32(ip + 12, parseIPv4(s.src));
    v.setUint32(ip + 16, parseIPv4(s.dst));
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += v.getUint16(ip + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    v.setUint16(ip + 10, ~sum & 0xffff);
  }
  if (s.proto === 6) {
    v.setUint16(l4, s.sp!), v.setUint16(l4 + 2, s.dp!);
    v.setUint32(l4 + 4, 1000), v.setUint32(l4 + 8, (s.flags! & 0x10) ? 2000 : 0);
    v.setUint8(l4 + 12, 5 << 4), v.setUint8(l4 + 13, s.flags!), v.setUint16(l4 + 14, 65535);
  } else if (s.proto === 17) {
    v.setUint16(l4, s.sp!), v.setUint16(l4 + 2, s.dp!), v.setUint16(l4 + 4, s.len - (l4 - ip));
  } else {
    v.setUint8(l4, s.icmp![0]),
      v.setUint8(l4 + 1, s.icmp![1]),
      v.setUint16(l4 + 4, 77),
      v.setUint16(l4 + 6, 1);
  }
  return f;
}

function writeScenarioPcap(path: string): void {
  using w = PcapWriter.open(path, { snaplen: 65535 });
  for (const s of scenario()) {
    const ms = Math.round(s.ms);
    w.writeBytes(frameOf(s), Math.floor(ms / 1000), (ms % 1000) * 1e6);
  }
}

const NPROBE = new URL("../examples/nprobe.ts", import.meta.url).pathname;

/** Run examples/nprobe.ts under the runtime running the tests. */
function nprobe(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  // deno-lint-ignore no-explicit-any
  const G = globalThis as any;
  const exe = G.Deno ? G.Deno.execPath() : process.execPath;
  const argv = G.Deno ? ["run", "-A", NPROBE, ...args] : ["run", NPROBE, ...args];
  const p = spawn(exe, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "", stdout = "";
  p.stderr?.on("data", (b: Uint8Array) => stderr += new TextDecoder().decode(b));
  p.stdout?.on("data", (b: Uint8Array) => stdout += new TextDecoder().decode(b));
  return new Promise((r) => p.on("close", (code: number | null) => r({ code, stderr, stdout })));
}

for (const version of [5, 9, 10] as const) {
  test(`collectors: generated pcap → nprobe.ts -r -V ${version} → nfdump lists exactly the expected flows`, async () => {
    requireTools("nfcapd", "nfdump", "tshark");
    const dir = mkdtempSync(join(tmpdir(), "ringcap-probe-"));
    try {
      const pcap = join(dir, "scenario.pcap");
      writeScenarioPcap(pcap);
      const sniff = await sniffer();
      let res: { code: number | null; stderr: string; stdout: string } | undefined;
      const { flows, log } = await withNfcapd(async (port) => {
        res = await nprobe([
          "-r",
          pcap,
          "-n",
          `127.0.0.1:${port}`,
          "-n",
          `127.0.0.1:${sniff.port}`,
          "-V",
          String(version),
          "-t",
          "60",
          "-d",
          "15",
          "--json",
        ]);
      });
      await sleep(50);
      await sniff.close();
      assert.equal(res?.code, 0, res?.stderr ?? "");
      const want = expectedScenarioFlows().filter((r) => version !== 5 || r.ipVersion === 4)
        .map((r) => expectLine(r, version)).sort();
      assert.deepEqual(flows, want, `nfcapd log:\n${log}\nprobe:\n${res?.stderr}`);
      assert.match(log, /Sequence Errors: 0/);
      const json = JSON.parse(res!.stdout.trim().split("\n").pop()!);
      assert.equal(json.packets, scenario().length);
      assert.equal(json.flows, expectedScenarioFlows().length);
      checkSequence(version, sniff.got);
      checkTshark(sniff.got, version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test(
  "collectors: a file of 200,000 flows → nprobe.ts -r → nfcapd receives every one (export paced, -e)",
  async () => {
    requireTools("nfcapd", "nfdump");
    // unpaced, a probe reading a file outruns nfcapd's socket buffer: 15-45 % of these flows were lost
    const N = 200_000;
    const dir = mkdtempSync(join(tmpdir(), "ringcap-probe-"));
    try {
      const pcap = join(dir, "many.pcap");
      writeManyFlowsPcap(pcap, N);
      let res: { code: number | null; stderr: string; stdout: string } | undefined;
      const { flows, log } = await withNfcapd(async (port) => {
        res = await nprobe(["-r", pcap, "-n", `127.0.0.1:${port}`, "-V", "9", "--json"]);
      });
      assert.equal(res?.code, 0, res?.stderr ?? "");
      assert.equal(JSON.parse(res!.stdout.trim().split("\n").pop()!).flows, N);
      assert.equal(flows.length, N, `nfcapd stored ${flows.length} of ${N} flows; log:\n${log}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);

test("collectors: nprobe.ts refuses bad options and collector addresses with one line and exit 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-probe-"));
  try {
    const pcap = join(dir, "scenario.pcap");
    writeScenarioPcap(pcap);
    for (
      const [args, msg] of [
        [["-r", pcap], /no collector/],
        [["-r", pcap, "-n", "127.0.0.1"], /bad collector/],
        [["-r", pcap, "-n", "300.1.1.1:2055"], /not an IPv4 address/],
        [["-r", pcap, "-n", "[zz::1]:2055"], /not an IPv6 address/],
        [["-r", pcap, "-n", "127.0.0.1:2055", "-V", "7"], /-V must be 5, 9 or 10/],
        [["-r", pcap, "-n", "127.0.0.1:2055", "-t", "0"], /active timeout/],
        [["-r", pcap, "-n", "127.0.0.1:2055", "--max-flows", "1.5"], /--max-flows/],
        [["-r", pcap, "-n", "127.0.0.1:2055", "-e", "-0.5"], /-e -0.5: negative/],
        [["-r", join(dir, "missing.pcap"), "-n", "127.0.0.1:2055"], /no such file/],
      ] as const
    ) {
      const r = await nprobe([...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------- live: traffic in a namespace → nprobe.ts on the veth → nfcapd ----------

test(
  "collectors: live UDP in a namespace → nprobe.ts on the veth → nfcapd: totals equal packets sent (v5, v9, IPFIX over IPv6)",
  async () => {
    const why = netReason();
    if (why) skip(why);
    requireTools("nfcapd", "nfdump");
    const dir = mkdtempSync(join(tmpdir(), "ringcap-live-"));
    try {
      using net = VethPair.create("nfl");
      const udp = UdpSender.create(net, dir, "10.99.0");
      const N = 3000, FLOWS = 7, SIZE = 100;
      for (const [version, host] of [[5, "127.0.0.1"], [9, "127.0.0.1"], [10, "::1"]] as const) {
        let out = "", err = "", code: number | null = null;
        const { flows, log } = await withNfcapd(async (port) => {
          const collector = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
          const [exe, argv] = runtimeArgv(NPROBE, [
            "-i",
            net.host,
            "-n",
            collector,
            "-V",
            String(version),
            "--json",
            "udp",
          ]);
          const p = spawn(exe, argv, { stdio: ["ignore", "pipe", "pipe"] });
          p.stdout?.on("data", (b: Uint8Array) => out += new TextDecoder().decode(b));
          p.stderr?.on("data", (b: Uint8Array) => err += new TextDecoder().decode(b));
          const done = new Promise<void>((r) => p.on("close", (c: number | null) => (code = c, r())));
          await waitForPacketSocket(net.hostIndex);
          udp.send(N, FLOWS, SIZE);
          await sleep(300);
          process.kill(p.pid!, "SIGINT"); // every active flow must be exported on the way out
          await done;
        }, host);
        assert.equal(code, 0, err);
        const json = JSON.parse(out.trim().split("\n").pop()!);
        assert.equal(json.dropped, 0);
        const total = flows.map((l) => Number(/pkts=(\d+)/.exec(l)![1])).reduce((a, b) => a + b, 0);
        const bytes = flows.map((l) => Number(/bytes=(\d+)/.exec(l)![1])).reduce((a, b) => a + b, 0);
        assert.equal(total, N, `v${version}: nfdump total packets\n${flows.join("\n")}\n${log}\n${err}`);
        assert.equal(bytes, N * (20 + 8 + SIZE), `v${version}: nfdump total bytes`);
        assert.equal(flows.length, FLOWS, flows.join("\n"));
        for (const f of flows) assert.match(f, / 17 10\.99\.0\.1:200\d\d > 10\.99\.0\.2:9999 /);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);
