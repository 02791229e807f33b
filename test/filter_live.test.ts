/**
 * tcpdump filters in the kernel on a live capture: mixed traffic (UDP and TCP
 * on and off port 53, ICMP, IPv6, ARP, a VLAN-tagged frame) is written to a
 * pcap, sent from a namespace with `txframes --pcap`, and captured through
 * `Ring` with the filter "udp port 53": exactly the matching frames arrive,
 * byte for byte. Two oracles decide what matches: ringcap's decoder and
 * libpcap's own bpf_filter on the same bytes (BpfFilter); they must agree.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { Ring } from "../lib/source/live/ring.ts";
import { BpfFilter } from "../lib/source/live/filter.ts";
import { Decoded } from "../lib/decode/decoded.ts";
import { decodeFrame } from "../lib/decode/mod.ts";
import { PcapWriter } from "../lib/sink/pcap/mod.ts";
import { skip, test } from "./harness.ts";
import { netReason, TXFRAMES, VethPair } from "./net.ts";
import { mixedFrames } from "./fixtures/mixed.ts";

test("filter: 'udp port 53' in the kernel captures exactly the matching frames of mixed traffic", async () => {
  const why = netReason();
  if (why) skip(why);
  const frames = mixedFrames(800);
  const dir = mkdtempSync(join(tmpdir(), "ringcap-filter-"));
  try {
    const file = join(dir, "mix.pcap");
    const w = PcapWriter.open(file);
    for (const f of frames) w.writeBytes(f);
    w.close();
    // oracle 1: our decoder; oracle 2: libpcap's bpf_filter on the same bytes
    const d = new Decoded();
    using bpf = await BpfFilter.compile("udp port 53");
    const want = new Set<string>();
    let bpfCount = 0;
    for (const f of frames) {
      decodeFrame(f, new DataView(f.buffer), 0, f.length, f.length, -1, d);
      if (d.protocol === 17 && (d.srcPort === 53 || d.dstPort === 53)) want.add(f.join(","));
      if (bpf.matchesBytes(f, 0, f.length)) bpfCount++;
    }
    assert.equal(bpfCount, want.size, "decoder and libpcap agree on what matches");
    assert.ok(want.size > 0 && want.size < frames.length);

    using net = VethPair.create("flt");
    using ring = await Ring.open(net.host, { filter: "udp port 53" });
    execFileSync("ip", ["netns", "exec", net.ns, TXFRAMES, net.peer, "--pcap", file], { stdio: "ignore" });
    const got: string[] = [];
    const t0 = Date.now();
    while (got.length < want.size && Date.now() - t0 < 5000) {
      for (let p = ring.next(); p; p = ring.next()) got.push(Array.from(p.bytes()).join(","));
      await ring.wait(50);
    }
    await ring.wait(100);
    for (let p = ring.next(); p; p = ring.next()) got.push(Array.from(p.bytes()).join(","));
    assert.equal(got.length, want.size, "count of captured frames");
    for (const g of got) assert.ok(want.has(g), "a captured frame that should not match");
    assert.equal(new Set(got).size, want.size, "each matching frame once");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("filter: 'vlan' expressions match the tags Linux stripped into packet metadata", async () => {
  const why = netReason();
  if (why) skip(why);
  using net = VethPair.create("vlf");
  // 20 frames tagged VLAN 42, 30 untagged; the receiving kernel strips the tags before any filter runs
  const want: Record<string, number> = { "vlan 42": 20, "vlan": 20, "not vlan": 30, "vlan 7": 0 };
  for (const [filter, n] of Object.entries(want)) {
    using ring = await Ring.open(net.host, { filter });
    net.send(20, { vlan: 42 });
    net.send(30, { seed: 7 });
    let got = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 400) {
      for (let p = ring.next(); p; p = ring.next()) got++;
      await ring.wait(50);
    }
    assert.equal(got, n, `filter '${filter}'`);
  }
});
