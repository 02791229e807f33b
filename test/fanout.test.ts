/**
 * Fanout groups and the start barrier (issue 15, item 1), live on AF_PACKET
 * in a namespace + veth pair the test makes: rings in one kernel-allocated
 * group capture every frame exactly once between them (hash spreads distinct
 * UDP flows and keeps both directions of a flow in one member; lb deals
 * round robin); paused rings receive nothing until start(); rx-only members
 * ignore what the interface sends; defrag delivers reassembled datagrams; and
 * every refused join is a RingError with one clear line; and from C, one
 * group read by 4 threads of one process (libring/tools/fanout_threads:
 * concurrent opens and joins, per-thread lr_error()). The UDP frames are
 * written to a pcap and sent with `txframes --pcap` from inside the namespace.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FANOUT_MODES, type FanoutOptions, Ring, type RingOptions } from "../lib/source/live/ring.ts";
import { encodeOptions } from "../lib/source/live/ring_base.ts";
import { RingError } from "../lib/source/live/errors.ts";
import { native } from "../lib/source/live/ffi.ts";
import { skip, test } from "./harness.ts";
import { netReason, ROOT, startProcess, TXFRAMES, VethPair } from "./net.ts";

function needNet(): void {
  const why = netReason();
  if (why) skip(why);
}

/** One's-complement sum of 16-bit words (IPv4 header checksum). */
function ipChecksum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let k = 0; k < len; k += 2) sum += (b[off + k] << 8) | b[off + k + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Where the frame's index and seed sit in a captured frame (the UDP payload). */
const PAYLOAD = 14 + 20 + 8;

/**
 * UDP frame i of a run (seed): its own flow (addresses and ports vary with i),
 * payload = u32 i, u32 seed, u8 reversed; `reversed` swaps addresses and
 * ports (the other direction of the same flow). 64 bytes on the wire.
 */
function udpFrame(i: number, seed: number, reversed = false): Uint8Array {
  const f = new Uint8Array(64);
  const dv = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 0x99, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  let src = [10, 1, (i >> 8) & 255, i & 255], dst = [10, 2, seed & 255, (i * 37) & 255];
  let sport = 1024 + (i * 7919) % 60000, dport = 2000 + i % 1000;
  if (reversed) [src, dst, sport, dport] = [dst, src, dport, sport];
  f[14] = 0x45;
  dv.setUint16(16, f.length - 14); // total length
  dv.setUint16(18, i & 0xffff); // id
  f[22] = 64;
  f[23] = 17;
  f.set(src, 26);
  f.set(dst, 30);
  dv.setUint16(24, ipChecksum(f, 14, 20));
  dv.setUint16(34, sport);
  dv.setUint16(36, dport);
  dv.setUint16(38, f.length - 34); // UDP length
  dv.setUint32(PAYLOAD, i);
  dv.setUint32(PAYLOAD + 4, seed);
  f[PAYLOAD + 8] = reversed ? 1 : 0;
  return f;
}

/** A classic little-endian pcap of Ethernet frames (what txframes --pcap sends). */
function pcapBytes(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true); // Ethernet
  let p = 24;
  for (const f of frames) {
    dv.setUint32(p + 8, f.length, true);
    dv.setUint32(p + 12, f.length, true);
    out.set(f, p + 16);
    p += 16 + f.length;
  }
  return out;
}

/** Send exactly these frames from the namespace into net.host. */
function sendFrames(net: VethPair, frames: Uint8Array[]): void {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-fanout-"));
  try {
    const file = join(dir, "frames.pcap");
    writeFileSync(file, pcapBytes(frames));
    execFileSync("ip", ["netns", "exec", net.ns, TXFRAMES, net.peer, "--pcap", file], { stdio: "ignore" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Frames as captured: for each ring, the (seed, index, reversed) keys it read. */
type Catch = string[][];

/**
 * Read every ring until `want` frames arrived in total or `ms` passed, then
 * 100 ms more so a surplus or duplicate shows up. Keys are "seed:i:r" for the
 * UDP frames above, "other" for anything else.
 */
async function drainAll(rings: Ring[], want: number, ms = 5000): Promise<Catch> {
  const got: Catch = rings.map(() => []);
  let total = 0;
  const take = () => {
    rings.forEach((ring, r) => {
      for (let p = ring.next(); p; p = ring.next()) {
        const d = p.data, o = p.offset;
        const udp = p.caplen >= PAYLOAD + 9 && d[o + 12] === 0x08 && d[o + 13] === 0 && d[o + 23] === 17;
        const dv = new DataView(d.buffer, d.byteOffset + o, p.caplen);
        got[r].push(
          udp ? `${dv.getUint32(PAYLOAD + 4)}:${dv.getUint32(PAYLOAD)}:${d[o + PAYLOAD + 8]}` : "other",
        );
        total++;
      }
    });
  };
  const t0 = Date.now();
  while (total < want && Date.now() - t0 < ms) {
    take();
    if (total < want) { for (const ring of rings) if (!ring.ready()) await ring.wait(5); }
  }
  const t1 = Date.now();
  while (Date.now() - t1 < 100) {
    take();
    await rings[0].wait(10);
  }
  take();
  return got;
}

/** Open `n` rings in one new group: the first creates it, the others join its id. */
async function openGroup(
  iface: string,
  n: number,
  fanout: FanoutOptions,
  extra: RingOptions = {},
): Promise<Ring[]> {
  const rings: Ring[] = [];
  try {
    rings.push(await Ring.open(iface, { ringMb: 4, ...extra, fanout: { ...fanout, members: n } }));
    const group = rings[0].fanoutGroup;
    for (let k = 1; k < n; k++) {
      rings.push(await Ring.open(iface, { ringMb: 4, ...extra, fanout: { ...fanout, group, members: n } }));
    }
    return rings;
  } catch (e) {
    for (const r of rings) r.close();
    throw e;
  }
}

/** Expect a RingError with this code whose message matches. */
async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<RingError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RingError, `not a RingError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    assert.ok(!e.message.includes("\n"), "one line");
    return e;
  }
  throw new Error(`expected RingError ${code}`);
}

test("fanout: 2 and 4 rings in one hash group capture every frame exactly once; both directions of a flow meet", async () => {
  needNet();
  using net = VethPair.create("fan");
  for (const n of [2, 4]) {
    const rings = await openGroup(net.host, n, { mode: "hash" });
    try {
      assert.ok(rings.every((r) => r.fanoutGroup === rings[0].fanoutGroup && r.fanoutGroup > 0));
      assert.ok(rings.every((r) => !r.paused));
      const N = 2000, seed = n;
      // frame i and frame i reversed (the other direction of its flow), each sent once
      const frames = [];
      for (let i = 0; i < N; i++) frames.push(udpFrame(i, seed));
      for (let i = 0; i < N; i++) frames.push(udpFrame(i, seed, true));
      sendFrames(net, frames);
      const got = await drainAll(rings, 2 * N);
      const owner = new Map<string, number>();
      got.forEach((keys, r) => {
        for (const k of keys) {
          assert.ok(!owner.has(k), `frame ${k} captured twice (rings ${owner.get(k)} and ${r})`);
          owner.set(k, r);
        }
      });
      assert.equal(owner.size, 2 * N, `union of ${n} rings: ${got.map((g) => g.length).join(" + ")}`);
      for (let i = 0; i < N; i++) {
        assert.ok(owner.has(`${seed}:${i}:0`), `frame ${i} missing`);
        assert.equal(owner.get(`${seed}:${i}:1`), owner.get(`${seed}:${i}:0`), `flow ${i}: directions split`);
      }
      // the hash spreads distinct flows over every member
      for (const [r, keys] of got.entries()) {
        assert.ok(keys.length > (2 * N / n) * 0.6, `ring ${r} of ${n} got ${keys.length} of ${2 * N}`);
      }
      const stats = rings.map((r) => r.stats());
      assert.equal(stats.reduce((a, s) => a + s.packets, 0), 2 * N);
      assert.ok(stats.every((s) => s.dropped === 0));
    } finally {
      for (const r of rings) r.close();
    }
  }
});

test("fanout: lb deals frames round robin, every member within ±1 of its share", async () => {
  needNet();
  using net = VethPair.create("lb");
  const rings = await openGroup(net.host, 4, { mode: "lb" });
  try {
    const N = 1002;
    net.send(N, { min: 60, max: 200 });
    const got = await drainAll(rings, N);
    const counts = got.map((g) => g.length);
    assert.equal(counts.reduce((a, b) => a + b, 0), N, counts.join(" + "));
    for (const c of counts) assert.ok(Math.abs(c - N / 4) <= 1, `lb counts ${counts.join(", ")}`);
  } finally {
    for (const r of rings) r.close();
  }
});

test("fanout: a paused group receives nothing before start() and every frame exactly once after", async () => {
  needNet();
  using net = VethPair.create("pau");
  const rings = await openGroup(net.host, 3, { mode: "hash" }, { paused: true });
  try {
    assert.ok(rings.every((r) => r.paused && r.fanoutGroup > 0));
    sendFrames(net, Array.from({ length: 300 }, (_, i) => udpFrame(i, 1)));
    const before = await drainAll(rings, 1, 300);
    assert.deepEqual(before.map((g) => g.length), [0, 0, 0], "frames reached a paused ring");
    assert.ok(rings.every((r) => r.stats().packets === 0));
    for (const r of rings) r.start();
    for (const r of rings) r.start(); // a no-op now
    assert.ok(rings.every((r) => !r.paused));
    const N = 900;
    sendFrames(net, Array.from({ length: N }, (_, i) => udpFrame(i, 2)));
    const after = await drainAll(rings, N);
    const all = after.flat();
    assert.equal(all.length, N, after.map((g) => g.length).join(" + "));
    assert.equal(new Set(all).size, N, "no frame twice");
    assert.ok(all.every((k) => k.startsWith("2:")), "a frame sent while paused arrived late");
    assert.ok(after.every((g) => g.length > 0), "hash reached every member");
  } finally {
    for (const r of rings) r.close();
  }
});

test("fanout: a paused ring keeps its filter: after start() only matching frames arrive", async () => {
  needNet();
  using net = VethPair.create("pfl");
  using ring = await Ring.open(net.host, { paused: true, filter: "udp dst port 2007", ringMb: 4 });
  assert.equal(ring.fanoutGroup, -1);
  sendFrames(net, Array.from({ length: 100 }, (_, i) => udpFrame(i, 1)));
  assert.equal((await drainAll([ring], 1, 200))[0].length, 0);
  ring.start();
  sendFrames(net, Array.from({ length: 100 }, (_, i) => udpFrame(i, 2)));
  const got = (await drainAll([ring], 1))[0];
  assert.deepEqual(got, ["2:7:0"], "only frame 7 goes to port 2007");
  // a bad filter still fails at open, paused or not
  await rejects(Ring.open(net.host, { paused: true, filter: "udp port" }), "EBADMSG", /udp port/);
});

test("fanout: rx-only members ignore the frames the interface sends (both-direction members see them)", async () => {
  needNet();
  using net = VethPair.create("rxo");
  // the group's own flag for this (PACKET_FANOUT_FLAG_IGNORE_OUTGOING) does nothing on Linux 6.1:
  // libring's program drops outgoing frames for rx-only captures too
  const cases = [["in", true], ["both", true], ["in", false]] as const;
  for (const [direction, grouped] of cases) {
    const rings = grouped
      ? await openGroup(net.host, 2, { mode: "lb" }, { direction })
      : [await Ring.open(net.host, { ringMb: 4, direction })];
    try {
      // sent out of net.host (into the namespace): outgoing on net.host
      execFileSync(TXFRAMES, [net.host, "200"], { stdio: "ignore" });
      net.send(100);
      const want = direction === "in" ? 100 : 300;
      const got = await drainAll(rings, want);
      assert.equal(
        got.flat().length,
        want,
        `${direction}${grouped ? " (group)" : ""}: ${got.map((g) => g.length).join(" + ")}`,
      );
    } finally {
      for (const r of rings) r.close();
    }
  }
});

test("fanout: defrag delivers one reassembled datagram instead of its fragments", async () => {
  needNet();
  using net = VethPair.create("dfr");
  // a 1200-byte UDP datagram in 3 IPv4 fragments (payload 1208 bytes = 400 + 400 + 408)
  const payload = 8 + 1200, parts = [[0, 400], [400, 400], [800, 408]];
  const whole = new Uint8Array(payload);
  new DataView(whole.buffer).setUint16(0, 5555);
  new DataView(whole.buffer).setUint16(2, 6666);
  new DataView(whole.buffer).setUint16(4, payload);
  const frags = parts.map(([off, len], k) => {
    const f = new Uint8Array(14 + 20 + len);
    const dv = new DataView(f.buffer);
    f.set([2, 0, 0, 0, 0, 0x99, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    f[14] = 0x45;
    dv.setUint16(16, 20 + len);
    dv.setUint16(18, 0x4242);
    dv.setUint16(20, (k < parts.length - 1 ? 0x2000 : 0) | (off / 8));
    f[22] = 64;
    f[23] = 17;
    f.set([10, 9, 9, 1], 26);
    f.set([10, 9, 9, 2], 30);
    dv.setUint16(24, ipChecksum(f, 14, 20));
    f.set(whole.subarray(off, off + len), 34);
    return f;
  });
  for (const defrag of [false, true]) {
    const rings = await openGroup(net.host, 2, { mode: "hash", defrag });
    try {
      sendFrames(net, frags);
      const want = defrag ? 1 : 3;
      await drainAll(rings, want, 2000);
      const s = rings.map((r) => r.stats());
      assert.equal(s[0].packets + s[1].packets, want, `defrag ${defrag}`);
      assert.equal(
        s[0].bytes + s[1].bytes,
        defrag ? 14 + 20 + payload : frags.reduce((a, f) => a + f.length, 0),
        `defrag ${defrag}: bytes`,
      );
    } finally {
      for (const r of rings) r.close();
    }
  }
});

test("fanout: refused joins and bad options are RingErrors with one clear line", async () => {
  needNet();
  using net = VethPair.create("ferr");
  const open = (fanout: unknown, extra: RingOptions = {}) =>
    Ring.open(net.host, { ringMb: 1, ...extra, fanout: fanout as FanoutOptions });
  // options: checked before anything is opened
  await rejects(
    open({ mode: "hashh" }),
    "EINVAL",
    /fanout mode .*hash, lb, cpu, qm, rollover, random.*hashh/,
  );
  await rejects(open({ members: 0 }), "EINVAL", /fanout\.members must be an integer from 1 to 65536/);
  await rejects(open({ group: 70000 }), "EINVAL", /fanout\.group must be an integer from 0 to 65535/);
  await rejects(open({ defrag: "yes" }), "EINVAL", /fanout\.defrag/);
  await rejects(open(4), "EINVAL", /fanout must be an object/);
  assert.throws(() => encodeOptions({ paused: 1 as unknown as boolean }), /paused must be true or false/);
  assert.deepEqual([...FANOUT_MODES], ["hash", "lb", "cpu", "qm", "rollover", "random"]);

  // libring checks too (for C callers): an unknown mode number
  const lib = await native();
  const h = lib.open(net.host, encodeOptions({ ringMb: 1 }), "");
  assert.ok(h >= 0, lib.error());
  try {
    assert.equal(lib.fanout(h, 0, 9, 0, 0), -22);
    assert.match(lib.error(), /unknown fanout mode 9: use hash, lb, cpu, qm, rollover or random/);
    assert.equal(lib.fanout(h, 0, 0, 0x4, 0), -22);
    assert.equal(lib.fanout(h, 0, 0, 0, 65537), -22);
  } finally {
    lib.close(h);
  }

  // two groups: ids > 0 and different
  using a = await open({ mode: "hash", members: 2 });
  using b = await open({ mode: "lb" });
  assert.ok(
    a.fanoutGroup > 0 && b.fanoutGroup > 0 && a.fanoutGroup !== b.fanoutGroup,
    `${a.fanoutGroup} ${b.fanoutGroup}`,
  );
  const g = a.fanoutGroup;

  // another mode or flags on join: the kernel says EINVAL, libring says what differs
  await rejects(
    open({ mode: "lb", group: g }),
    "EINVAL",
    new RegExp(
      `fanout group ${g} exists with another mode or flags \\(hash, not lb\\): use the same --fanout on every member`,
    ),
  );
  await rejects(open({ group: g, defrag: true }), "EINVAL", /\(hash, not hash\+defrag\)/);
  await rejects(open({ group: g }, { direction: "in" }), "EINVAL", /\(hash, not hash\+rx-only\)/);
  await rejects(
    open({ group: g, members: 3 }),
    "EINVAL",
    new RegExp(`fanout group ${g} was made for 2 members, not 3`),
  );

  // a refused join closes what it opened
  const fds = () => readdirSync("/proc/self/fd").length;
  const before = fds();
  for (let k = 0; k < 20; k++) await rejects(open({ mode: "cpu", group: g }), "EINVAL", /another mode/);
  assert.equal(fds(), before, "file descriptors left behind by refused joins");

  // full: members 2, a third join
  using a2 = await open({ group: g, members: 2 });
  assert.equal(a2.fanoutGroup, g);
  await rejects(open({ group: g }), "ENOSPC", new RegExp(`fanout group ${g} is full \\(2 members\\)`));

  // another interface
  using net2 = VethPair.create("fer2");
  await rejects(
    Ring.open(net2.host, { ringMb: 1, fanout: { group: g } }),
    "EINVAL",
    new RegExp(`fanout group ${g} captures on ${net.host}, not ${net2.host}`),
  );

  // every mode can make a group
  for (const mode of FANOUT_MODES) {
    using r = await open({ mode });
    assert.ok(r.fanoutGroup > 0, mode);
  }
});

test("fanout: 4 threads of one process, one group (C): concurrent opens and joins, per-thread errors, every frame once", async () => {
  needNet();
  using net = VethPair.create("thr");
  const N = 4000;
  const p = startProcess(join(ROOT, "libring/build/fanout_threads"), [
    net.host,
    "4",
    String(N),
    "--timeout",
    "8000",
  ]);
  try {
    const t0 = Date.now();
    while (!/^ready \d+$/m.test(p.out()) && p.child.exitCode === null && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.match(p.out(), /^ready \d+$/m, "the members did not get ready");
    sendFrames(net, Array.from({ length: N }, (_, i) => udpFrame(i, 3)));
    const { code, out, err } = await p.done;
    assert.equal(code, 0, err);
    const r = JSON.parse(out.trim().split("\n").pop()!);
    assert.ok(r.group > 0);
    assert.equal(r.errors_per_thread, true);
    assert.equal(r.dropped, 0);
    assert.equal(r.read.reduce((a: number, b: number) => a + b, 0), N, r.read.join(" + "));
    assert.ok(r.read.every((n: number) => n > N / 4 * 0.6), `hash spread ${r.read.join(", ")}`);
  } finally {
    if (p.child.exitCode === null) p.child.kill();
  }
});
