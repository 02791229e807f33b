/**
 * Unit tests of the core: the layout libring describes vs offsetof in C
 * (libring/build/layout_dump), option validation, errno mapping, library
 * lookup errors. Needs no privileges except the layout test (opens lo).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { encodeOptions, Ring } from "../lib/source/live/ring.ts";
import { errnoName, RingError, unwrap } from "../lib/source/live/errors.ts";
import { native, OPTS, OPTS_SIZE } from "../lib/source/live/ffi.ts";
import { isRoot, skip, test } from "./harness.ts";
import { ROOT } from "./net.ts";
import { run } from "../lib/run.ts";
import { fakePacket } from "./fixtures/fake_packet.ts";

test("layout: every TPACKET_V3 offset libring reports equals offsetof in the kernel headers", async () => {
  if (!isRoot()) skip("opening a capture on lo needs root (CAP_NET_RAW)");
  const want = JSON.parse(execFileSync(join(ROOT, "libring/build/layout_dump"), { encoding: "utf8" }));
  using ring = await Ring.open("lo", { ringMb: 1 });
  for (const [k, v] of Object.entries(want)) {
    if (!k.startsWith("v2.")) assert.equal(ring.layout[k], v, `layout key ${k}`); // v2.*: test/immediate.test.ts
  }
  assert.equal(ring.layout.kind, 1);
  assert.equal(ring.layout.size, ring.layout.block_size * ring.layout.block_count);
  assert.ok(Object.keys(want).length >= 16);
});

test("layout: libring lists its keys by name, ending with NULL", async () => {
  const lib = await native();
  const keys = lib.layoutKeys();
  for (const k of ["kind", "base", "size", "block_size", "pkt_mac_off", "slot_size", "read_idx_off"]) {
    assert.ok(keys.includes(k), `key ${k}`);
  }
  assert.equal(new Set(keys).size, keys.length, "keys are unique");
});

test("options: struct lr_opts is encoded at the C offsets with defaults", () => {
  const b = encodeOptions({});
  assert.equal(b.length, OPTS_SIZE);
  const dv = new DataView(b.buffer);
  assert.equal(dv.getBigUint64(OPTS.ring_bytes, true), 64n << 20n);
  assert.equal(dv.getUint32(OPTS.snaplen, true), 65535);
  assert.equal(dv.getUint32(OPTS.sampling, true), 1);
  const c = new DataView(
    encodeOptions({ wait: "adaptive", promisc: false, direction: "in", snaplen: 128, ringMb: 2 }).buffer,
  );
  assert.equal(c.getUint32(OPTS.wait_mode, true), 2);
  assert.equal(c.getUint32(OPTS.flags, true), 1 | 4);
  assert.equal(c.getUint32(OPTS.snaplen, true), 128);
  assert.equal(c.getBigUint64(OPTS.ring_bytes, true), 2n << 20n);
});

test("options: bad values throw RingError EINVAL naming the option", () => {
  const bad: [object, RegExp][] = [
    [{ snaplen: 0 }, /snaplen/],
    [{ snaplen: 262145 }, /snaplen/],
    [{ snaplen: 1.5 }, /snaplen/],
    [{ ringMb: 0 }, /ring/],
    [{ ringMb: NaN }, /ring/],
    [{ ringMb: 1e9 }, /ring/],
    [{ ringMb: 4096 }, /ring/],
    [{ wait: "sleepy" }, /wait/],
    [{ sampling: 0 }, /sampling/],
    [{ blockBytes: 5000 }, /blockBytes/],
    [{ direction: "sideways" }, /direction/],
    [{ backend: "magic" }, /backend/],
  ];
  for (const [o, re] of bad) {
    assert.throws(
      () => encodeOptions(o),
      (e: unknown) => e instanceof RingError && e.code === "EINVAL" && re.test(e.message),
    );
  }
});

test("errors: -errno maps to a typed RingError with a message that says what to do", async () => {
  const lib = await native();
  assert.equal(errnoName(-19), "ENODEV");
  assert.equal(errnoName(-1), "EPERM");
  assert.throws(
    () => unwrap(-1, "eth9", lib),
    (e: unknown) => e instanceof RingError && e.code === "EPERM" && /CAP_NET_RAW/.test(e.message),
  );
  assert.throws(() => unwrap(-12, "eth9", lib), /--ring-mb/);
  assert.equal(unwrap(3, "x", lib), 3);
});

test("errors: unknown interface is ENODEV, bad filter is EBADMSG with libpcap's message", async () => {
  await assert.rejects(
    Ring.open("nosuch0"),
    (e: unknown) => e instanceof RingError && e.code === "ENODEV" && /nosuch0/.test(e.message),
  );
  await assert.rejects(Ring.open(""), (e: unknown) => e instanceof RingError && e.code === "ENODEV");
  if (!isRoot()) return;
  await assert.rejects(
    Ring.open("lo", { filter: "tcp port" }),
    (e: unknown) => e instanceof RingError && e.code === "EBADMSG" && /syntax error/.test(e.message),
  );
});

test("errors: forcing the module backend when it is not loaded is a clear error", async () => {
  if (!isRoot()) skip("needs root to reach backend selection");
  await assert.rejects(
    Ring.open("lo", { backend: "ring" }),
    (e: unknown) =>
      e instanceof RingError && e.code === "EPROTONOSUPPORT" && /modprobe ringcap|module/.test(e.message),
  );
});

test("offline filter: libpcap's compiler and bpf_filter on bytes in place", async () => {
  const { BpfFilter } = await import("../lib/source/live/filter.ts");
  using f = await BpfFilter.compile("ether proto 0x88b5 and greater 100");
  const b = new Uint8Array(2000);
  b[512] = 0x88;
  b[513] = 0xb5;
  assert.equal(f.matchesBytes(b, 500, 200, 200), true);
  assert.equal(f.matchesBytes(b, 500, 60, 60), false, "too short");
  assert.equal(f.matchesBytes(b, 0, 200, 200), false, "other ethertype");
  await assert.rejects(
    BpfFilter.compile("port"),
    (e: unknown) => e instanceof RingError && e.code === "EBADMSG",
  );
});

test("run: returnErrors hands a failing source's error back after the packets read before it", async () => {
  // a live-looking source: 3 packets, then its wait fails as when the interface is removed
  let left = 3;
  const gone = new Error("eth9: the interface was removed");
  const src = {
    next: () => left-- > 0 ? fakePacket(1_700_000_000_000) : null,
    wait: () => Promise.reject(gone),
    stats: () => ({ packets: 3, dropped: 0, filtered: 0, bytes: 192 }),
    close: () => {},
  };
  let n = 0;
  const end = await run(src, () => n++, { returnErrors: true, handleSignals: false });
  assert.deepEqual([end.reason, end.error, end.read, n], ["error", gone, 3, 3]);
  left = 3;
  await assert.rejects(run(src, () => n++, { handleSignals: false }), gone, "without it, run throws");
  // a consumer failing mid-burst (a full disk under dump -w): read counts the packets it took
  left = 3;
  const full = new Error("ENOSPC");
  const mid = await run(src, () => {
    if (left === 0) throw full;
  }, { returnErrors: true, handleSignals: false });
  assert.deepEqual([mid.reason, mid.error, mid.read], ["error", full, 2]);
});
