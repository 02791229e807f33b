/**
 * Live capture through the TypeScript Ring on AF_PACKET TPACKET_V3, in a
 * namespace + veth pair made by the test: exact count and exact bytes of
 * every frame; exact drop accounting with a tiny ring; batches; VLAN tag
 * metadata; kernel filter and sampling; close makes views unusable.
 */
import assert from "node:assert/strict";
import { Ring } from "../lib/source/live/ring.ts";
import { skip, test } from "./harness.ts";
import { drain, expectVlanInMetadata, netReason, VethPair } from "./net.ts";
import { frame, frameIndex } from "./frames.ts";

function needNet(): void {
  const why = netReason();
  if (why) skip(why);
}

test("ring: N distinct frames 60..1514 B are captured exactly, byte for byte", async () => {
  needNet();
  using net = VethPair.create("ring");
  using ring = await Ring.open(net.host, { ringMb: 8 });
  assert.equal(ring.backend, "packet");
  const N = 3000;
  net.send(N);
  const seen = new Uint8Array(N);
  let bad = 0;
  const n = await drain(ring, N, (_k, d, off, cap, wire) => {
    const i = frameIndex(d, off);
    const want = frame(i);
    assert.ok(i < N, `frame index ${i} out of range`);
    seen[i]++;
    if (cap !== want.length || wire !== want.length) bad++;
    else {for (let b = 0; b < cap; b++) {
        if (d[off + b] !== want[b]) {
          bad++;
          break;
        }
      }}
  });
  assert.equal(n, N, "captured count");
  assert.equal(bad, 0, "frames with wrong bytes or lengths");
  assert.ok(seen.every((c) => c === 1), "every frame exactly once");
  const s = ring.stats();
  assert.equal(s.packets, N);
  assert.equal(s.dropped, 0);
  assert.equal(s.bytes, Array.from({ length: N }, (_, i) => frame(i).length).reduce((a, b) => a + b, 0));
});

test("ring: a tiny ring not read while frames arrive: packets + dropped == sent, exactly", async () => {
  needNet();
  using net = VethPair.create("drop");
  using ring = await Ring.open(net.host, { ringBytes: 64 * 1024, blockBytes: 8192 });
  const N = 2000;
  net.send(N);
  let last = -1, ordered = true;
  const n = await drain(ring, N, (_k, d, off) => {
    const i = frameIndex(d, off);
    if (i <= last) ordered = false;
    last = i;
  }, 1000);
  const s = ring.stats();
  assert.ok(s.dropped > 0, `the tiny ring should have dropped (packets ${s.packets})`);
  assert.equal(s.packets + s.dropped, N, `packets ${s.packets} + dropped ${s.dropped}`);
  assert.equal(n, s.packets, "every inserted packet was read");
  assert.ok(ordered, "frames come out in order");
});

test("ring: batches iterate ready packets with for..of, and snaplen cuts in the kernel", async () => {
  needNet();
  using net = VethPair.create("bat");
  using ring = await Ring.open(net.host, { snaplen: 100 });
  const N = 500;
  net.send(N, { min: 200, max: 1000 });
  let n = 0, maxCap = 0;
  const t0 = Date.now();
  for await (const batch of ring) {
    for (const p of batch) {
      n++;
      maxCap = Math.max(maxCap, p.caplen);
      assert.ok(p.wirelen >= 200);
    }
    if (n >= N || Date.now() - t0 > 5000) break;
  }
  assert.equal(n, N);
  assert.equal(maxCap, 100);
});

test("ring: the 802.1Q tag the kernel strips is in Packet.vlanTci", async () => {
  needNet();
  using net = VethPair.create("vlan");
  using ring = await Ring.open(net.host);
  await expectVlanInMetadata(ring, net);
});

test("ring: a kernel filter keeps only matching frames", async () => {
  needNet();
  using net = VethPair.create("filt");
  // frames of even length only: ether[...]? use the length: keep frames >= 1000 bytes
  using ring = await Ring.open(net.host, { filter: "greater 1000" });
  const N = 1000;
  net.send(N);
  const want = Array.from({ length: N }, (_, i) => frame(i).length).filter((l) => l >= 1000).length;
  const n = await drain(ring, want, (_k, _d, _o, _c, wire) => assert.ok(wire >= 1000));
  assert.equal(n, want);
});

test("ring: sampling 1/10 in the kernel: 100,000 frames give 10,000 ± 3σ", async () => {
  needNet();
  using net = VethPair.create("samp");
  using ring = await Ring.open(net.host, { sampling: 10, ringMb: 64 });
  const N = 100_000;
  net.send(N, { min: 60, max: 60, pps: 300_000 });
  const n = await drain(ring, N, () => {}, 1500);
  const sigma = Math.sqrt(N * 0.1 * 0.9);
  assert.ok(Math.abs(n - N / 10) <= 3 * sigma, `captured ${n}, expected ${N / 10} ± ${3 * sigma}`);
});

test("ring: after close, the packet view is empty (no crash), and stats stay readable", async () => {
  needNet();
  using net = VethPair.create("cls");
  const ring = await Ring.open(net.host);
  net.send(5);
  await ring.wait(1000);
  const p = ring.next();
  assert.ok(p);
  ring.close();
  assert.equal(p.data.length, 0);
  assert.equal(p.caplen, undefined);
  assert.equal(ring.next(), null);
  assert.equal(ring.stats().packets, 5);
  ring.close(); // idempotent
});
