/**
 * Immediate delivery (`immediate: true`, `--immediate`): on AF_PACKET a
 * TPACKET_V2 ring whose frames reach the reader as soon as the kernel wrote
 * them, where a TPACKET_V3 block waits for its retire timer. Checked in a
 * namespace + veth pair made by the test: a lone packet arrives with a block
 * timeout (60 s) far longer than the test's bound, while a block ring opened
 * beside it still holds it back; every frame exactly once, byte for byte,
 * across block boundaries and ring wraps; exact drop accounting; VLAN
 * metadata; frames sized from the snap length capped by the interface MTU
 * (jumbo MTU, offloads as libpcap counts them); the layout against offsetof;
 * the CLI's --immediate, its choice for -c <= 16 and `"delivery"` in --json.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { Ring, type WaitMode } from "../lib/source/live/ring.ts";
import { isRoot, skip, test } from "./harness.ts";
import {
  drain,
  expectVlanInMetadata,
  netReason,
  ROOT,
  runScript,
  startProcess,
  startScript,
  TXFRAMES,
  VethPair,
  waitForPacketSocket,
} from "./net.ts";
import { frame, frameIndex } from "./frames.ts";

function needNet(): void {
  const why = netReason();
  if (why) skip(why);
}

/** The frame size libring must choose: TPACKET_ALIGN(80 + min(snaplen, cap)), 80 = the largest tp_mac. */
const frameSize = (snaplen: number, cap: number) => (80 + Math.min(snaplen, cap) + 15) & ~15;

/** Turn the segmentation and receive offloads of a veth end on or off (what libpcap's sizing looks at). */
function offloads(net: VethPair, on: boolean): void {
  const v = on ? "on" : "off";
  execFileSync("ethtool", ["-K", net.host, "tso", v, "gso", v, "gro", v], { stdio: "ignore" });
}

function mtu(net: VethPair, bytes: number): void {
  execFileSync("ip", ["link", "set", "dev", net.host, "mtu", String(bytes)]);
  execFileSync("ip", ["-n", net.ns, "link", "set", "dev", net.peer, "mtu", String(bytes)]);
}

function needEthtool(): void {
  if (spawnSync("ethtool", ["--version"]).status !== 0) {
    skip("ethtool is not installed (apt-get install ethtool)");
  }
}

const BOUND_MS = 1500; // what a lone packet may take here; the block timer below is 40 times that

for (const wait of ["poll", "busy"] as WaitMode[]) {
  test(`immediate (${wait}): lone packets arrive at once, with a 60 s block timeout; a block ring beside it still holds them`, async () => {
    needNet();
    using net = VethPair.create("imm");
    using ring = await Ring.open(net.host, { immediate: true, timeoutMs: 60_000, wait, snaplen: 128 });
    using block = await Ring.open(net.host, { timeoutMs: 60_000, wait, snaplen: 128 });
    assert.equal(ring.delivery, "immediate");
    assert.equal(ring.layout.kind, 3);
    assert.equal(block.delivery, "block");
    for (let i = 0; i < 3; i++) {
      net.send(1, { seed: 10 + i, min: 100, max: 100 });
      const t0 = Date.now();
      let p = ring.next();
      while (!p && Date.now() - t0 < BOUND_MS) {
        await ring.wait(BOUND_MS);
        p = ring.next();
      }
      const waited = Date.now() - t0;
      assert.ok(p, `lone packet ${i} not delivered within ${BOUND_MS} ms (block timeout 60 s)`);
      assert.equal(p.wirelen, 100);
      assert.equal(p.caplen, 100);
      assert.equal(frameIndex(p.data, p.offset), 0);
      assert.equal(p.data[p.offset + 21], 10 + i, "the seed of this send");
      // kernel receive timestamp to now: the packet was not held back anywhere
      const ageMs = Date.now() - (p.tsSec * 1000 + p.tsNsec / 1e6);
      assert.ok(ageMs < BOUND_MS + waited, `packet ${i} is ${ageMs.toFixed(1)} ms old`);
      assert.equal(ring.next(), null, "exactly one packet");
    }
    assert.equal(block.ready(), false, "the block ring still waits for its 60 s timer");
    assert.equal(block.next(), null);
    const s = ring.stats();
    assert.equal(s.packets, 3);
    assert.equal(s.dropped, 0);
  });
}

test("immediate: 3,000 frames 60..1514 B, each once and byte for byte; VLAN tags in the metadata", async () => {
  needNet();
  needEthtool();
  using net = VethPair.create("imx");
  offloads(net, false); // 1600-byte frames (MTU 1500), not 64 KiB ones
  using ring = await Ring.open(net.host, { immediate: true, ringMb: 8 });
  assert.ok(ring.layout.frame_count >= 3000, `frame count ${ring.layout.frame_count}`);
  assert.ok(ring.layout.block_count > 1 && ring.layout.frames_per_block > 1);
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
    else {
      for (let b = 0; b < cap; b++) {
        if (d[off + b] !== want[b]) {
          bad++;
          break;
        }
      }
    }
  });
  assert.equal(n, N, "captured count");
  assert.equal(bad, 0, "frames with wrong bytes or lengths");
  assert.ok(seen.every((c) => c === 1), "every frame exactly once");
  const s = ring.stats();
  assert.equal(s.packets, N);
  assert.equal(s.dropped, 0);
  assert.equal(s.bytes, Array.from({ length: N }, (_, i) => frame(i).length).reduce((a, b) => a + b, 0));
  await expectVlanInMetadata(ring, net);
});

test("immediate: a small ring read while it wraps 20 times: in order, packets + dropped == sent", async () => {
  needNet();
  using net = VethPair.create("imw");
  // 256 KiB of 208-byte frames (snaplen 128): a thousand frames in many blocks
  using ring = await Ring.open(net.host, { immediate: true, ringBytes: 256 * 1024, snaplen: 128 });
  assert.equal(ring.layout.frame_size, frameSize(128, 1518));
  const N = 20 * ring.layout.frame_count;
  // paced, read while it is sent: the reader keeps up and the ring wraps
  const tx = startProcess("ip", [
    "netns",
    "exec",
    net.ns,
    TXFRAMES,
    net.peer,
    String(N),
    "--pps",
    "20000",
    "--max",
    "200",
  ]);
  let sent = false;
  void tx.done.then(() => (sent = true));
  let n = 0, last = -1, ordered = true, bad = 0;
  const take = () => {
    for (let p = ring.next(); p; p = ring.next()) {
      const i = frameIndex(p.data, p.offset);
      if (i <= last) ordered = false;
      last = i;
      if (p.wirelen !== frame(i, 1, 60, 200).length || p.caplen !== Math.min(128, p.wirelen)) bad++;
      n++;
    }
  };
  const t0 = Date.now();
  while (!sent && Date.now() - t0 < 30_000) {
    take();
    await ring.wait(20);
  }
  await ring.wait(100);
  take();
  assert.equal((await tx.done).code, 0, "txframes");
  const s = ring.stats();
  assert.equal(s.packets + s.dropped, N, `packets ${s.packets} + dropped ${s.dropped}`);
  assert.equal(n, s.packets, "every inserted packet was read");
  assert.ok(ordered, "frames come out in order");
  assert.equal(bad, 0, "frames with wrong lengths");
  assert.ok(s.packets > N / 2, `most frames captured (${s.packets} of ${N})`);
});

test("immediate: V2 frames sized from the snap length capped by the MTU (+18), 64 KiB with offloads, as libpcap", async () => {
  needNet();
  needEthtool();
  using net = VethPair.create("ims");
  const ringBytes = 16 << 20;
  const open = (snaplen: number) => Ring.open(net.host, { immediate: true, ringBytes, snaplen });
  const check = (r: Ring, want: number, what: string) => {
    const L = r.layout;
    assert.equal(L.frame_size, want, `${what}: frame size`);
    assert.equal(L.frames_per_block, Math.floor(L.block_size / L.frame_size), `${what}: frames per block`);
    assert.equal(L.frame_count, L.frames_per_block * L.block_count, `${what}: frame count`);
    assert.equal(L.size, L.block_size * L.block_count, `${what}: mapped size`);
    // frames do not cross blocks; what is left at a block's end is at most 1/16 of it
    assert.ok(
      L.block_size % L.frame_size <= L.block_size / 16,
      `${what}: block ${L.block_size} wastes too much`,
    );
    assert.ok(
      L.frame_count * L.frame_size >= ringBytes * 0.85,
      `${what}: ${L.frame_count} frames use too little`,
    );
  };
  offloads(net, false);
  // snaplen above the MTU: capped at 1500 + 18
  {
    using r = await open(65535);
    check(r, frameSize(65535, 1518), "MTU 1500, snaplen 65535");
    assert.equal(r.layout.frame_size, 1600);
    assert.ok(r.layout.frame_count > 10_000, "a 16 MiB ring holds ~10,000 MTU-sized frames");
    net.send(40, { min: 1500, max: 1514 });
    let whole = 0;
    const n = await drain(r, 40, (_k, d, off, cap, wire) => {
      const want = frame(frameIndex(d, off), 1, 1500, 1514);
      if (cap === wire && wire === want.length && d[off + cap - 1] === want[cap - 1]) whole++;
    });
    assert.equal(n, 40);
    assert.equal(whole, 40, "full-size frames are captured whole");
  }
  // snaplen below the MTU: the snap length decides, the kernel cuts
  {
    using r = await open(128);
    check(r, frameSize(128, 1518), "snaplen 128");
    net.send(10, { min: 1000, max: 1514 });
    let cut = 0;
    await drain(r, 10, (_k, _d, _off, cap, wire) => void (cap === 128 && wire >= 1000 && cut++));
    assert.equal(cut, 10);
  }
  // jumbo MTU
  mtu(net, 9000);
  {
    using r = await open(65535);
    check(r, frameSize(65535, 9018), "MTU 9000");
    net.send(20, { min: 8000, max: 9014 });
    let whole = 0;
    const n = await drain(r, 20, (_k, d, off, cap, wire) => {
      const want = frame(frameIndex(d, off), 1, 8000, 9014);
      if (cap === wire && wire === want.length && d[off + cap - 1] === want[cap - 1]) whole++;
    });
    assert.equal(n, 20);
    assert.equal(whole, 20, "jumbo frames are captured whole");
  }
  // offloads on: packets bigger than the MTU can reach the capture point, so 65535 + 18 (libpcap's rule)
  offloads(net, true);
  {
    using r = await open(262144);
    check(r, frameSize(262144, 65553), "offloads on, snaplen 262144");
  }
  {
    using r = await open(65535);
    check(r, frameSize(65535, 65553), "offloads on, snaplen 65535");
  }
});

test("immediate: every TPACKET_V2 offset libring reports equals offsetof in the kernel headers", async () => {
  if (!isRoot()) skip("opening a capture on lo needs root (CAP_NET_RAW)");
  const all = JSON.parse(execFileSync(join(ROOT, "libring/build/layout_dump"), { encoding: "utf8" }));
  using ring = await Ring.open("lo", { ringMb: 1, immediate: true, snaplen: 256 });
  const v2 = Object.entries(all).filter(([k]) => k.startsWith("v2.") && k !== "v2.hdrlen");
  assert.ok(v2.length >= 12);
  for (const [k, v] of v2) assert.equal(ring.layout[k.slice(3)], v, `layout key ${k}`);
  assert.equal(ring.layout.kind, 3);
  assert.equal(ring.delivery, "immediate");
  // the room before the frame libring reserves covers the largest tp_mac the kernel uses
  assert.equal(80, ((all["v2.hdrlen"] as number) + 16 + 15) & ~15);
  assert.equal(ring.layout.frame_size, frameSize(256, 1e9));
});

test("immediate: options are checked (EINVAL names the option)", async () => {
  await assert.rejects(Ring.open("lo", { immediate: "yes" as unknown as boolean }), /immediate/);
});

/** The last stdout line of a --json run, parsed. */
function lastJson(out: string): Record<string, unknown> {
  return JSON.parse(out.trim().split("\n").pop() ?? "{}");
}

test("immediate CLI: -c <= 16 chooses immediate delivery by itself; --json says which", async () => {
  needNet();
  using net = VethPair.create("imc");
  const p = startScript("examples/pcount.ts", [net.host, "-c", "3", "--json"]);
  await waitForPacketSocket(net.hostIndex);
  const t0 = Date.now();
  for (let i = 0; i < 3; i++) {
    net.send(1, { seed: 20 + i });
    await new Promise((r) => setTimeout(r, 50));
  }
  const r = await p.done;
  assert.equal(r.code, 0, r.err);
  assert.ok(Date.now() - t0 < 5000, "pcount -c 3 ended without waiting for a block timer");
  const j = lastJson(r.out);
  assert.equal(j.delivery, "immediate");
  assert.equal(j.read, 3);
});

test("immediate CLI: block by default, --immediate on request, in every tool and with --workers 2", () => {
  needNet();
  using net = VethPair.create("imd");
  const ringcap = join(ROOT, "bin", "ringcap.ts");
  const cases: Array<[string, string[], string]> = [
    ["examples/pcount.ts", [net.host, "-c", "100"], "block"],
    ["examples/pcount.ts", [net.host, "-c", "100", "--immediate"], "immediate"],
    ["examples/pcount.ts", [net.host, "--immediate", "--workers", "2"], "immediate"],
    [ringcap, ["count", net.host, "--workers", "2"], "block"],
    [ringcap, ["top", net.host, "--immediate"], "immediate"],
    [ringcap, ["dump", net.host, "-c", "5"], "immediate"],
    [ringcap, ["flow", net.host, "-n", "127.0.0.1:9", "--immediate", "--workers", "2"], "immediate"],
    [ringcap, ["flow", net.host, "-n", "127.0.0.1:9"], "block"],
  ];
  for (const [script, args, want] of cases) {
    const r = runScript(script, [...args, "--duration", "0.3", "--json"]);
    assert.equal(r.code, 0, `${script} ${args.join(" ")}: ${r.err}`);
    assert.equal(lastJson(r.out).delivery, want, `${script} ${args.join(" ")}`);
  }
  const bad = runScript("examples/pcount.ts", [net.host, "--immediate=yes", "--duration", "0.1"]);
  assert.equal(bad.code, 2, "--immediate takes no value");
});

test("immediate: the C reader (cread --immediate) reads every frame of a TPACKET_V2 ring, as pcount does", async () => {
  needNet();
  using net = VethPair.create("imr");
  const N = 5000;
  const p = startProcess(join(ROOT, "libring", "build", "cread"), [
    net.host,
    "-c",
    String(N),
    "--immediate",
    "-s",
    "128",
  ]);
  await waitForPacketSocket(net.hostIndex);
  net.send(N, { pps: 50_000 });
  const r = await p.done;
  assert.equal(r.code, 0, r.err);
  const j = lastJson(r.out);
  assert.equal(Number(j.packets) + Number(j.dropped), N);
  assert.equal(j.read, j.packets, "every inserted frame read");
});
