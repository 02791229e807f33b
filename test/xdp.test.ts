/**
 * The AF_XDP backend (`backend: "xdp"`), on a veth pair in a namespace the
 * test makes: exact capture byte for byte in native and generic mode, judged
 * against what the sender's veth really sent (`tx_packets − tx_dropped`: veth
 * may drop before XDP runs); a small unread UMEM: packets + dropped ==
 * arrived; the snap length applied in user space; the XDP program gone after
 * close; one-line errors (filter, multi-queue interface, bad mode, tiny
 * UMEM, unknown backend name).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { Ring } from "../lib/source/live/ring.ts";
import type { XdpRing } from "../lib/source/live/ring_xdp.ts";
import { RingError } from "../lib/source/live/errors.ts";
import { skip, test } from "./harness.ts";
import { drain, netReason, VethPair } from "./net.ts";
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
  using net = VethPair.create("xde");
  let e = await openError(net.host, { backend: "xdp", filter: "udp" });
  assert.equal(e.code, "EOPNOTSUPP");
  assert.match(e.message, /no filter or sampling/);
  e = await openError(net.host, { backend: "xdp", sampling: 10 });
  assert.equal(e.code, "EOPNOTSUPP");
  e = await openError(net.host, { backend: "xdp", xdpMode: "turbo" as "native" });
  assert.equal(e.code, "EINVAL");
  assert.match(e.message, /xdpMode/);
  e = await openError(net.host, { backend: "xdp", ringBytes: 128 * 1024 });
  assert.equal(e.code, "EINVAL");
  assert.match(e.message, /at least 64 chunks/);
  e = await openError(net.host, { backend: "xdp", direction: "out" });
  assert.equal(e.code, "EINVAL");
  // a bad backend name is refused before libring
  e = await openError(net.host, { backend: "xdpx" as "xdp" });
  assert.equal(e.code, "EINVAL");
  assert.equal(xdpAttached(net.host), false, "no program left behind by a failed open");
});

test("xdp: an interface with several receive queues is refused (other queues' frames would go unseen)", async () => {
  needXdp();
  const a = `rcxq${process.pid % 100000}a`, b = `rcxq${process.pid % 100000}b`;
  const ip = (...args: string[]) => spawnSync("ip", args, { encoding: "utf8" });
  const r = ip(
    "link",
    "add",
    "name",
    a,
    "numrxqueues",
    "4",
    "numtxqueues",
    "4",
    "type",
    "veth",
    "peer",
    "name",
    b,
  );
  assert.equal(r.status, 0, r.stderr);
  try {
    ip("link", "set", "dev", a, "up");
    const e = await openError(a, { backend: "xdp" });
    assert.equal(e.code, "EOPNOTSUPP");
    assert.match(e.message, /4 receive queues/);
  } finally {
    ip("link", "del", a);
  }
});
