/**
 * The AF_XDP backend (`backend: "xdp"`), on a veth pair in a namespace the
 * test makes: exact capture byte for byte in native and generic mode, judged
 * against what the sender's veth really sent (`tx_packets − tx_dropped`: veth
 * may drop before XDP runs); a small unread UMEM: packets + dropped ==
 * arrived; the snap length applied in user space; the XDP program gone after
 * close; per-packet kernel timestamps from libring's XDP program (native
 * and generic: distinct, increasing, within the capture's time); filters
 * and sampling run by that program (counts equal tcpdump's; 1 in 10 exact;
 * rejected frames reach the stack: ping works through a "udp" capture and
 * not through an unfiltered one); one-line errors (bad filter, a filter too
 * long for the program, multi-queue interface, bad mode, tiny UMEM, unknown
 * backend name).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Ring } from "../lib/source/live/ring.ts";
import type { XdpRing } from "../lib/source/live/ring_xdp.ts";
import { RingError } from "../lib/source/live/errors.ts";
import { skip, test } from "./harness.ts";
import { drain, netReason, ROOT, TXFRAMES, VethPair } from "./net.ts";
import { writeManyFlowsPcap } from "./fixtures/many_flows.ts";
import { pcapSendArgs } from "./fixtures/traffic.ts";
import { frame, frameIndex } from "./frames.ts";

/** Skip (with the reason) where this machine cannot run AF_XDP captures. */
function needXdp(): void {
  const why = netReason();
  if (why) skip(why);
  const libs = [
    "/usr/lib/x86_64-linux-gnu/libxdp.so.1",
    "/usr/lib/aarch64-linux-gnu/libxdp.so.1",
    "/usr/lib/libxdp.so.1",
  ];
  if (!libs.some((l) => existsSync(l))) skip("libxdp is not installed (apt-get install libxdp1)");
  if (spawnSync("ip", ["-V"]).status !== 0) skip("iproute2 missing");
}

const XDPFILT = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o";

/** The sender's veth counters in its namespace: frames it handed on (tx_packets − tx_dropped). */
function sent(net: VethPair): number {
  const r = spawnSync("ip", ["-n", net.ns, "-s", "-j", "link", "show", "dev", net.peer], {
    encoding: "utf8",
  });
  const tx = JSON.parse(r.stdout)[0].stats64.tx;
  return tx.packets - tx.dropped;
}

/** Is an XDP program attached to dev (iproute2 shows an "xdp" member)? */
function xdpAttached(dev: string): boolean {
  const r = spawnSync("ip", ["-j", "link", "show", "dev", dev], { encoding: "utf8" });
  return "xdp" in JSON.parse(r.stdout)[0];
}

async function exact(mode: "native" | "generic"): Promise<void> {
  needXdp();
  using net = VethPair.create(mode === "native" ? "xn" : "xg");
  const ring = await Ring.open(net.host, { backend: "xdp", xdpMode: mode, ringMb: 16 }) as XdpRing;
  try {
    assert.equal(ring.backend, "xdp");
    assert.equal(ring.xdpMode.mode, mode);
    assert.equal(ring.xdpMode.zeroCopy, false, "veth has no zero-copy");
    assert.ok(xdpAttached(net.host), "an XDP program is attached while capturing");
    const N = 3000;
    net.send(N, { pps: 100_000 });
    const arrived = sent(net);
    assert.ok(arrived > N * 0.9, `the sender's veth handed on ${arrived} of ${N}`);
    const seen = new Uint8Array(N);
    let bad = 0, bytes = 0;
    const n = await drain(ring, arrived, (_k, d, off, cap, wire) => {
      const i = frameIndex(d, off);
      assert.ok(i < N, `frame index ${i} out of range`);
      seen[i]++;
      const want = frame(i);
      bytes += wire;
      if (cap !== want.length || wire !== want.length) bad++;
      else {
        for (let b = 0; b < cap; b++) {
          if (d[off + b] !== want[b]) {
            bad++;
            break;
          }
        }
      }
    });
    assert.equal(n, arrived, `captured ${n}, the sender handed on ${arrived}`);
    assert.equal(bad, 0, "frames with wrong bytes or lengths");
    assert.ok(seen.every((c) => c <= 1), "no frame twice");
    const s = ring.stats();
    assert.equal(s.packets, arrived);
    assert.equal(s.dropped, 0);
    assert.equal(s.bytes, bytes);
  } finally {
    ring.close();
  }
  assert.equal(xdpAttached(net.host), false, "the XDP program is detached after close");
}

test("xdp: N distinct frames captured exactly, byte for byte, native mode", () => exact("native"));
test("xdp: N distinct frames captured exactly, byte for byte, generic mode", () => exact("generic"));

test("xdp: a small UMEM not read while frames arrive: packets + dropped == arrived", async () => {
  needXdp();
  using net = VethPair.create("xdr");
  using ring = await Ring.open(net.host, { backend: "xdp", ringBytes: 256 * 1024 }); // 64 chunks
  const N = 2000;
  net.send(N, { pps: 100_000 });
  const arrived = sent(net);
  const n = await drain(ring, arrived, () => {}, 1000);
  const s = ring.stats();
  assert.ok(s.dropped > 0, `the 64-chunk UMEM should have dropped (packets ${s.packets})`);
  assert.equal(s.packets + s.dropped, arrived, `packets ${s.packets} + dropped ${s.dropped} vs ${arrived}`);
  assert.equal(n, s.packets, "every packet the kernel produced was read");
});

test("xdp: the snap length is applied in user space; the UMEM is reused across wraps", async () => {
  needXdp();
  using net = VethPair.create("xds");
  using ring = await Ring.open(net.host, { backend: "xdp", ringBytes: 256 * 1024, snaplen: 100 });
  // 20 rounds of 50 (< 64 chunks, sent while nobody reads): every chunk goes back to the fill ring ~16 times
  let n = 0, maxCap = 0, short = 0;
  for (let k = 0; k < 20; k++) {
    net.send(50, { seed: k + 1, min: 200, max: 1000, pps: 20_000 });
    n += await drain(ring, 50, (_i, _d, _o, cap, wire) => {
      maxCap = Math.max(maxCap, cap);
      if (wire < 200) short++;
    }, 2000);
  }
  assert.equal(n, sent(net));
  assert.equal(maxCap, 100);
  assert.equal(short, 0);
  assert.equal(ring.stats().dropped, 0);
});

/** The RingError of an open that must fail. */
async function openError(iface: string, opts: Parameters<typeof Ring.open>[1]): Promise<RingError> {
  try {
    const r = await Ring.open(iface, opts);
    r.close();
  } catch (e) {
    assert.ok(e instanceof RingError, String(e));
    assert.ok(!e.message.includes("\n"), "one line");
    return e;
  }
  throw new Error("the open should have failed");
}

test("xdp: errors are one line each", async () => {
  needXdp();
  if (spawnSync("xdp-loader", ["help"]).error || !existsSync(XDPFILT)) {
    skip("xdp-tools (xdp-loader) is not installed");
  }
  using net = VethPair.create("xde");
  let e = await openError(net.host, { backend: "xdp", filter: "udp and" });
  assert.equal(e.code, "EBADMSG");
  if (existsSync(TS_PROG)) {
    // 200 hosts: about 800 classic BPF instructions, beyond the program's 512
    const big = Array.from({ length: 200 }, (_, i) => `host 10.0.${i >> 8}.${i & 255}`).join(" or ");
    e = await openError(net.host, { backend: "xdp", filter: big });
    assert.equal(e.code, "EINVAL");
    assert.match(e.message, /BPF instructions; libring's XDP program runs at most 512/);
  }
  e = await openError(net.host, { backend: "xdp", xdpMode: "turbo" as "native" });
  assert.equal(e.code, "EINVAL");
  assert.match(e.message, /xdpMode/);
  e = await openError(net.host, { backend: "xdp", ringBytes: 128 * 1024 });
  assert.equal(e.code, "EINVAL");
  assert.match(e.message, /at least 64 chunks/);
  e = await openError(net.host, { backend: "xdp", direction: "out" });
  assert.equal(e.code, "EINVAL");
  e = await openError(net.host, { backend: "xdp", fanout: { mode: "hash" } });
  assert.equal(e.code, "EOPNOTSUPP");
  assert.match(e.message, /fanout is refused on the xdp backend: the NIC's RSS/);
  e = await openError(net.host, { backend: "xdp", xdpQueue: 1 });
  assert.equal(e.code, "EINVAL");
  assert.match(e.message, /queue 1 is out of range: .* has 1 receive queue \(0\.\.0\)/);
  // another program, attached by iproute2 (never through libxdp's dispatcher)
  const other = spawnSync("ip", ["link", "set", "dev", net.host, "xdpdrv", "obj", XDPFILT, "sec", "xdp"], {
    encoding: "utf8",
  });
  assert.equal(other.status, 0, other.stderr);
  e = await openError(net.host, { backend: "xdp" });
  assert.equal(e.code, "EEXIST");
  assert.match(e.message, /another XDP program is attached .*xdp-loader status/);
  spawnSync("ip", ["link", "set", "dev", net.host, "xdpdrv", "off"]);
  assert.equal(xdpAttached(net.host), false);
  // a bad backend name is refused before libring
  e = await openError(net.host, { backend: "xdpx" as "xdp" });
  assert.equal(e.code, "EINVAL");
  assert.equal(xdpAttached(net.host), false, "no program left behind by a failed open");
});

test("xdp: frames larger than a UMEM chunk are dropped and counted (generic mode, MTU 9000); native refused in one line", async () => {
  needXdp();
  const jumbo = (n: VethPair) => {
    spawnSync("ip", ["link", "set", "dev", n.host, "mtu", "9000"]);
    spawnSync("ip", ["-n", n.ns, "link", "set", "dev", n.peer, "mtu", "9000"]);
  };
  {
    // veth: the peer's MTU is too large for native XDP (its own pair: libxdp 1.3.1 leaves the failed
    // socket bound to the queue until the process exits, so a later open of that queue gets EBUSY)
    using other = VethPair.create("xbgn");
    jumbo(other);
    const e = await openError(other.host, { backend: "xdp", xdpMode: "native" });
    assert.equal(e.code, "EOPNOTSUPP");
    assert.match(e.message, /the driver refused native XDP/);
    assert.equal(xdpAttached(other.host), false);
  }
  using net = VethPair.create("xbig");
  jumbo(net);
  using ring = await Ring.open(net.host, { backend: "xdp", xdpMode: "generic", ringMb: 4 });
  net.send(50, { min: 5000, max: 5000 });
  net.send(50, { seed: 7, min: 100, max: 100 });
  const arrived = sent(net);
  const n = await drain(ring, 50, (_i, _d, _o, _cap, wire) => assert.equal(wire, 100), 2000);
  const s = ring.stats();
  assert.equal(n, 50);
  assert.equal(s.packets, 50);
  assert.equal(s.dropped, 50, "the 5000-byte frames do not fit a 4096-byte chunk");
  assert.equal(s.packets + s.dropped, arrived);
});

test("xdp: an interface without native XDP (a bridge without ports): one line", async () => {
  needXdp();
  const br = `rcxbr${process.pid % 100000}`;
  assert.equal(spawnSync("ip", ["link", "add", "name", br, "type", "bridge"]).status, 0);
  try {
    const e = await openError(br, { backend: "xdp", xdpMode: "native" });
    assert.equal(e.code, "EOPNOTSUPP");
    assert.match(e.message, /the driver refused native XDP/);
    assert.equal(xdpAttached(br), false);
  } finally {
    spawnSync("ip", ["link", "del", br]);
  }
});

test("xdp: a 4-queue veth: no queue given → refused; one ring per queue: every queue receives, union exact and disjoint", async () => {
  needXdp();
  const t = `${process.pid % 100000}`;
  const ns = `rcns-xmq-${process.pid}-0`, a = `rcxq${t}a`, b = `rcxq${t}b`;
  const ip = (...args: string[]) => spawnSync("ip", args, { encoding: "utf8" });
  const q4 = ["numrxqueues", "4", "numtxqueues", "4"];
  assert.equal(ip("netns", "add", ns).status, 0);
  const r = ip("link", "add", "name", a, ...q4, "type", "veth", "peer", "name", b, ...q4, "netns", ns);
  const pcap = join(tmpdir(), `rc-xdp-mq-${process.pid}.pcap`);
  const rings: Ring[] = [];
  try {
    assert.equal(r.status, 0, r.stderr);
    spawnSync("sysctl", ["-qw", `net.ipv6.conf.${a}.disable_ipv6=1`]);
    ip("netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${b}.disable_ipv6=1`);
    ip("link", "set", "dev", a, "up");
    ip("-n", ns, "link", "set", "dev", b, "up");
    let e = await openError(a, { backend: "xdp" });
    assert.equal(e.code, "EOPNOTSUPP");
    assert.match(e.message, /4 receive queues.*--queue/);
    e = await openError(a, { backend: "xdp", xdpQueue: 4 });
    assert.equal(e.code, "EINVAL");
    assert.match(e.message, /queue 4 is out of range: .* has 4 receive queues \(0\.\.3\)/);
    for (let q = 0; q < 4; q++) rings.push(await Ring.open(a, { backend: "xdp", xdpQueue: q, ringMb: 8 }));
    assert.deepEqual(rings.map((x) => (x as XdpRing).xdpMode.queue), [0, 1, 2, 3]);
    const FLOWS = 1000; // one packet per flow: the sender's veth picks the queue by the flow hash
    writeManyFlowsPcap(pcap, FLOWS);
    ip("netns", "exec", ns, TXFRAMES, b, "--pcap", pcap, "--pps", "50000");
    const tx = JSON.parse(ip("-n", ns, "-s", "-j", "link", "show", "dev", b).stdout)[0].stats64.tx;
    const arrived = tx.packets - tx.dropped;
    await new Promise((res) => setTimeout(res, 300));
    const union = new Set<number>();
    const per = rings.map((ring) => {
      const keys = new Set<number>();
      for (let p = ring.next(); p; p = ring.next()) keys.add(p.view.getUint32(p.offset + 30)); // IPv4 destination: the flow
      return keys;
    });
    for (const k of per) for (const x of k) union.add(x);
    assert.ok(per.every((k) => k.size > 0), `every queue receives frames: ${per.map((k) => k.size)}`);
    assert.equal(per.reduce((n, k) => n + k.size, 0), union.size, "no flow on two queues");
    assert.equal(union.size, arrived, `union ${union.size} of ${arrived} arrived`);
    assert.equal(rings.reduce((n, x) => n + x.stats().packets, 0), arrived);
    for (const x of rings.splice(0, 3)) x.close();
    assert.ok(xdpAttached(a), "the program stays while a queue is captured");
    rings.pop()!.close();
    assert.equal(xdpAttached(a), false, "detached with the last queue");
  } finally {
    for (const x of rings) x.close();
    ip("link", "del", a);
    ip("netns", "del", ns);
    rmSync(pcap, { force: true });
  }
});

const TS_PROG = join(ROOT, "libring", "build", "xsk_ts.bpf.o");

/** Each frame's own kernel stamp: distinct, increasing on one queue, between the send and the read. */
async function stamps(mode: "native" | "generic"): Promise<void> {
  needXdp();
  if (!existsSync(TS_PROG)) {
    skip("libring/build/xsk_ts.bpf.o not built (scripts/build.sh needs clang and libbpf-dev)");
  }
  using net = VethPair.create(mode === "native" ? "xtn" : "xtg");
  using ring = await Ring.open(net.host, { backend: "xdp", xdpMode: mode, ringMb: 4 }) as XdpRing;
  assert.equal(ring.timestamps, true, "libring's XDP program is attached");
  const N = 200, PPS = 2000;
  const before = Date.now();
  net.send(N, { pps: PPS });
  const arrived = sent(net);
  const ts: number[] = [];
  const t0 = Date.now();
  while (ts.length < arrived && Date.now() - t0 < 5000) {
    await ring.wait(50);
    for (let p = ring.next(); p; p = ring.next()) {
      assert.ok(p.tsNsec >= 0 && p.tsNsec < 1e9, `tsNsec ${p.tsNsec}`);
      ts.push(p.tsSec * 1e3 + p.tsNsec / 1e6); // ms
    }
  }
  const after = Date.now();
  assert.equal(ts.length, arrived);
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i] > ts[i - 1], `stamp ${i} not after stamp ${i - 1}`);
  assert.ok(ts[0] >= before - 2 && ts[ts.length - 1] <= after + 2, `stamps within [${before}, ${after}] ms`);
  // paced at 2,000 pkt/s: the stamps span the sending time, not one batch's read
  const span = ts[ts.length - 1] - ts[0];
  assert.ok(span >= 0.5 * (N - 1) / PPS * 1e3, `stamps span ${span.toFixed(1)} ms`);
}

test("xdp: per-packet kernel timestamps (XDP metadata), native mode", () => stamps("native"));
test("xdp: per-packet kernel timestamps (XDP metadata), generic mode", () => stamps("generic"));

/** tcpdump's count of the packets of `pcap` that `filter` matches. */
function tcpdumpCount(pcap: string, filter: string): number {
  const r = spawnSync("tcpdump", ["-r", pcap, "-nn", filter], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l).length;
}

test("xdp: filter and sampling run in the XDP program: matches captured as tcpdump counts them, the rest reaches the stack, counted as filtered", async () => {
  needXdp();
  if (!existsSync(TS_PROG)) {
    skip("libring/build/xsk_ts.bpf.o not built (scripts/build.sh needs clang and libbpf-dev)");
  }
  if (spawnSync("tcpdump", ["--version"]).error) skip("tcpdump is not installed");
  using net = VethPair.create("xfs");
  const pcap = join(tmpdir(), `rc-xdp-fs-${process.pid}.pcap`);
  writeManyFlowsPcap(pcap, 1000);
  const sendPcap = () => {
    const r = spawnSync("ip", pcapSendArgs(net, pcap, 50_000));
    assert.equal(r.status, 0, String(r.stderr));
  };
  const readAll = async (ring: Ring, ms = 400) => {
    let n = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      await ring.wait(20);
      for (let p = ring.next(); p; p = ring.next()) n++;
    }
    return n;
  };
  try {
    // the classic BPF of libpcap, run by the XDP program: tcpdump's counts, exactly
    for (
      const f of [
        "udp and src port 1030",
        "src portrange 1024-1523",
        "dst host 10.1.1.44 or dst host 10.1.0.7",
        "ip[0] & 0xf = 5 and udp[0:2] & 1 = 1",
        "ip and len > 59 and not tcp",
        "icmp",
      ]
    ) {
      const ring = await Ring.open(net.host, { backend: "xdp", filter: f, ringMb: 4 });
      const before = sent(net);
      sendPcap();
      const arrived = sent(net) - before;
      const n = await readAll(ring);
      const s = ring.stats();
      ring.close(); // not `using`: Bun's for-of body does not dispose it each turn
      assert.equal(n, tcpdumpCount(pcap, f), `'${f}': captured`);
      assert.equal(s.packets, n);
      assert.equal(
        s.packets + s.filtered + s.dropped,
        arrived,
        `'${f}': packets + filtered + dropped == arrived`,
      );
    }
    // 1 in 10 after the filter, in order: exactly a tenth
    {
      using ring = await Ring.open(net.host, { backend: "xdp", filter: "udp", sampling: 10, ringMb: 4 });
      const before = sent(net);
      sendPcap();
      const arrived = sent(net) - before;
      const n = await readAll(ring);
      assert.equal(arrived, 1000);
      assert.equal(n, 100);
      assert.equal(ring.stats().filtered, 900);
    }
    // what the filter rejects reaches the stack: ping works through a "udp" capture, not through an unfiltered one
    spawnSync("ip", ["addr", "add", "10.77.0.1/24", "dev", net.host]);
    spawnSync("ip", ["-n", net.ns, "addr", "add", "10.77.0.2/24", "dev", net.peer]);
    const ping = () =>
      spawnSync("ip", ["netns", "exec", net.ns, "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.77.0.1"])
        .status;
    {
      using ring = await Ring.open(net.host, { backend: "xdp", filter: "udp", ringMb: 4 });
      assert.equal(ping(), 0, "ARP and ICMP pass the filter's XDP_PASS to the stack");
      assert.ok(ring.stats().filtered >= 3, `filtered ${ring.stats().filtered}`);
      assert.equal(await readAll(ring, 100), 0);
    }
    spawnSync("ip", ["neigh", "flush", "dev", net.host]);
    spawnSync("ip", ["-n", net.ns, "neigh", "flush", "dev", net.peer]);
    {
      using ring = await Ring.open(net.host, { backend: "xdp", ringMb: 4 });
      assert.notEqual(ping(), 0, "without a filter every frame is stolen");
      assert.ok(await readAll(ring, 100) >= 2);
    }
    assert.equal(xdpAttached(net.host), false);
  } finally {
    rmSync(pcap, { force: true });
  }
});
