/**
 * Decoder unit tests: every corpus case gives the expected fields; the tag in the
 * packet metadata counts as the outer VLAN; no input (any truncation, random bytes)
 * makes a decoder throw or point outside the capture; the per-packet files contain
 * no allocating construct; the formatting helpers follow RFC 5952.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "./harness.ts";
import { Decoded, decodeFrame, isVlanTpid } from "../lib/decode/mod.ts";
import { TopCounter } from "../lib/analysis/top/counter.ts";
import {
  etherTypeName,
  ipv4ToString,
  ipv6ToString,
  macToString,
  protocolName,
  tcpFlagsToString,
} from "../lib/decode/format.ts";
import { decodeCases } from "./fixtures/decode_cases.ts";
import { cat, ether, ext6, ip6, ipv4, ipv6, tcp, udp } from "./fixtures/frames.ts";

function run(frame: Uint8Array, caplen = frame.length, vlanTci = -1, d = new Decoded()): Decoded {
  return decodeFrame(
    frame,
    new DataView(frame.buffer, frame.byteOffset),
    0,
    caplen,
    frame.length,
    vlanTci,
    d,
  );
}

test("every corpus case decodes to its expected fields", () => {
  const d = new Decoded();
  for (const c of decodeCases) {
    run(c.frame, c.caplen, -1, d);
    for (const [k, v] of Object.entries(c.expect)) {
      assert.equal((d as unknown as Record<string, unknown>)[k], v, `${c.name}: ${k}`);
    }
    if (!("truncated" in c.expect)) {
      assert.equal(d.truncated, c.name.startsWith("truncated"), `${c.name}: truncated`);
    }
    if (!("malformed" in c.expect)) {
      assert.equal(d.malformed, c.name.startsWith("malformed"), `${c.name}: malformed`);
    }
  }
});

test("a reused Decoded is fully reset between frames", () => {
  const d = new Decoded();
  for (const c of decodeCases) {
    for (const prev of decodeCases) {
      run(prev.frame, prev.caplen, 5, d);
      run(c.frame, c.caplen, -1, d);
      assert.deepEqual({ ...d }, { ...run(c.frame, c.caplen) }, `${c.name} after ${prev.name}`);
    }
  }
});

test("the stripped VLAN tag (metadata) is the outer VLAN; in-frame tags follow", () => {
  for (const c of decodeCases.filter((c) => !c.caplen)) {
    // Insert the tag into the frame (what the pcap writer does) and compare.
    const tagged = new Uint8Array(c.frame.length + 4);
    tagged.set(c.frame.subarray(0, 12));
    tagged.set([0x81, 0x00, 0x20, 0x2a], 12); // priority 1, VLAN 42
    tagged.set(c.frame.subarray(12), 16);
    const meta = run(c.frame, c.frame.length, 0x202a);
    const inFrame = run(tagged);
    if (meta.etherType === 0) continue; // 802.3 frames: no EtherType to tag
    for (
      const k of [
        "vlanId",
        "innerVlanId",
        "vlanCount",
        "etherType",
        "protocol",
        "srcPort",
        "dstPort",
      ] as const
    ) {
      assert.equal(meta[k], inFrame[k], `${c.name}: ${k}`);
    }
    assert.equal(meta.vlanId, 42, c.name);
    if (inFrame.vlanCount > 1) assert.equal(meta.innerVlanId, run(c.frame).vlanId, `${c.name}: inner`);
  }
});

function checkSane(d: Decoded, end: number, what: string): void {
  for (const k of ["l3Offset", "l4Offset", "payloadOffset", "src6Offset", "dst6Offset"] as const) {
    assert.ok(d[k] <= end, `${what}: ${k} ${d[k]} beyond the capture (${end})`);
  }
  if (d.src6Offset >= 0) assert.ok(d.dst6Offset + 16 <= end, `${what}: IPv6 address outside the capture`);
  if (d.l4Offset >= 0) assert.ok(d.l4Offset < end, what);
}

test("every truncation of every case: no throw, offsets inside the capture", () => {
  const d = new Decoded();
  for (const c of decodeCases) {
    for (let cap = 0; cap <= c.frame.length; cap++) {
      run(c.frame, cap, -1, d);
      checkSane(d, cap, `${c.name} caplen ${cap}`);
    }
  }
});

test("an IP length field claiming more than the frame: IPv4 and IPv6 report the same layers", () => {
  // The same UDP and TCP headers behind an IPv4 header (20 bytes) and an IPv6
  // header + hop-by-hop (48 bytes), each with a length field far beyond the frame.
  const l4s = [
    { proto: 17, l4: udp(1000, 53, [1, 2, 3, 4]), hl: 8, ports: [1000, 53] },
    { proto: 6, l4: tcp({ sport: 443, dport: 50000, flags: 0x18 }, [9, 9]), hl: 20, ports: [443, 50000] },
  ];
  const d = new Decoded();
  for (const { proto, l4, hl, ports } of l4s) {
    const families = [
      { v: 4, l3: 20, frame: ether(0x0800, ipv4({ proto, totalLength: 1400 }, l4), [], false) },
      { v: 6, l3: 48, frame: ether(0x86dd, ipv6({ nh: 0, plen: 1400 }, cat(ext6(proto), l4)), [], false) },
    ];
    for (const { v, l3, frame } of families) {
      for (let cap = 14; cap <= frame.length; cap++) {
        const what = `IPv${v} protocol ${proto} caplen ${cap}`;
        run(frame, cap, -1, d);
        const ipComplete = cap >= 14 + (v === 4 ? 20 : 40);
        assert.equal(d.ipVersion, ipComplete ? v : 0, `${what}: ipVersion`);
        if (!ipComplete) continue;
        assert.equal(d.malformed, true, `${what}: malformed`);
        // the final protocol once the header chain is in the capture
        assert.equal(d.protocol, cap >= 14 + l3 ? proto : -1, `${what}: protocol`);
        const l4Complete = cap >= 14 + l3 + hl;
        assert.equal(d.l4Offset, l4Complete ? 14 + l3 : -1, `${what}: l4Offset`);
        assert.deepEqual([d.srcPort, d.dstPort], l4Complete ? ports : [0, 0], `${what}: ports`);
        assert.equal(d.truncated, !l4Complete, `${what}: truncated`);
        if (proto === 6) assert.equal(d.tcpFlags, l4Complete ? 0x18 : 0, `${what}: flags`);
      }
    }
  }
});

test("a cut VLAN tag: etherType unknown (0, never a TPID), a captured TCI's id kept, topn in range", () => {
  const d = new Decoded();
  const top = new TopCounter();
  let n = 0;
  for (const c of decodeCases) {
    for (let cap = 0; cap <= c.frame.length; cap++) {
      const f = c.frame;
      run(f, cap, -1, d);
      assert.ok(!isVlanTpid(d.etherType), `${c.name} caplen ${cap}: etherType 0x${d.etherType.toString(16)}`);
      if (d.etherType === 0) assert.equal(d.l3Offset, -1, `${c.name} caplen ${cap}: l3Offset`);
      // every tag whose TCI is in the capture is counted (at most 8)
      let tags = 0;
      const tpidAt = (p: number) => isVlanTpid((f[p] << 8) | f[p + 1]);
      for (let p = 12; p + 4 <= cap && tags < 8 && tpidAt(p); p += 4) tags++;
      assert.equal(d.vlanCount, tags, `${c.name} caplen ${cap}: vlanCount`);
      // the capture ends before the EtherType after the tags, or inside the next tag
      const next = 12 + 4 * tags;
      if (cap < next + 2 || (tags < 8 && tpidAt(next))) {
        assert.equal(d.etherType, 0, `${c.name} caplen ${cap}: etherType`);
        assert.equal(d.truncated, true, `${c.name} caplen ${cap}: truncated`);
      }
      top.add({
        data: f,
        view: new DataView(f.buffer, f.byteOffset),
        offset: 0,
        caplen: cap,
        wirelen: f.length,
        tsSec: 0,
        tsNsec: 0,
        vlanTci: -1,
        vlanTpid: 0,
        ifindex: 0,
        bytes: () => f.subarray(0, cap),
      });
      n++;
    }
  }
  // every frame counted in the protocol table (an index outside it would lose the count)
  let counted = 0;
  for (let i = 0; i < top.protocols.size; i++) counted += top.protocols.packets[top.protocols.entry(i)];
  assert.equal(counted, n);
});

test("random byte mutations: no throw, offsets inside the capture", () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const d = new Decoded();
  for (let round = 0; round < 20000; round++) {
    const c = decodeCases[Math.floor(rnd() * decodeCases.length)];
    const f = c.frame.slice();
    const flips = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < flips; i++) f[Math.floor(rnd() * Math.min(f.length, 120))] = Math.floor(rnd() * 256);
    const cap = Math.floor(rnd() * (f.length + 1));
    run(f, cap, rnd() < 0.2 ? 7 : -1, d);
    checkSane(d, cap, `${c.name} mutated`);
  }
});

test("per-packet decoder files contain no allocating construct", () => {
  const hot = [
    "mod.ts",
    "ethernet.ts",
    "vlan.ts",
    "arp.ts",
    "ipv4.ts",
    "ipv6.ts",
    "tcp.ts",
    "udp.ts",
    "icmp.ts",
  ];
  hot.push("icmpv6.ts", "bounds.ts", "reset.ts");
  const allocating =
    /\bnew\b|subarray|slice\(|=>|`|\bfunction\s*\(|\[\s*\]|=\s*\{|\.map\(|\.join\(|String\(|toString/;
  for (const f of hot) {
    const code = readFileSync(new URL(`../lib/decode/${f}`, import.meta.url), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "") // JSDoc (examples allocate, code must not)
      .replace(/\/\/.*$/gm, "");
    const m = code.match(allocating);
    assert.equal(m, null, `${f} allocates: ${m?.[0]}`);
  }
});

test("format: IPv6 text per RFC 5952", () => {
  const cases: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
    ["fe80:0:0:0:0:0:0:0", "fe80::"],
    ["2001:DB8:AA:BB:CC:DD:EE:FF", "2001:db8:aa:bb:cc:dd:ee:ff"],
    ["0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"],
  ];
  for (const [input, want] of cases) {
    const b = new Uint8Array(ip6(input.toLowerCase()));
    assert.equal(ipv6ToString(b, 0), want, input);
  }
});

test("format: IPv4, MAC, names, TCP flags", () => {
  assert.equal(ipv4ToString(0xc0000201), "192.0.2.1");
  assert.equal(ipv4ToString(0xffffffff), "255.255.255.255");
  assert.equal(macToString(new Uint8Array([0, 0x1b, 0x21, 0xa, 0xbc, 0xff]), 0), "00:1b:21:0a:bc:ff");
  assert.equal(protocolName(6), "TCP");
  assert.equal(protocolName(58), "ICMPv6");
  assert.equal(protocolName(200), "200");
  assert.equal(etherTypeName(0x0800), "IPv4");
  assert.equal(etherTypeName(0x88a8), "802.1ad");
  assert.equal(etherTypeName(0x0123), "0x0123");
  assert.equal(tcpFlagsToString(0x02), "S");
  assert.equal(tcpFlagsToString(0x11), "F.");
  assert.equal(tcpFlagsToString(0), "none");
});
