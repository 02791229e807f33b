/**
 * The TypeScript Ring over the ringcap kernel module (backend "ring"), run
 * inside the VM by test/vm/ts_tests.sh under Bun and Deno: exact capture byte
 * for byte, exact drop accounting (a tiny ring not read; a small ring read
 * while it overflows: no slot exposed mid-write), VLAN metadata, kernel filter, the pause
 * barrier (paused + start()), fanout = a module cluster (hash, lb; other modes refused),
 * deterministic module sampling, steal refused on a bridge port. Skips
 * (saying why) where the module is not loaded, e.g. on the host.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { Ring } from "../../lib/source/live/ring.ts";
import type { SlotPacket } from "../../lib/source/live/ring_slots.ts";
import "../../lib/source/live/ring_slots.ts";
import type { Ring as RingT } from "../../lib/source/live/ring_base.ts";
import { skip, test } from "../harness.ts";
import {
  drain,
  expectVlanInMetadata,
  netReason,
  ROOT,
  runtimeArgv,
  startProcess,
  TXFRAMES,
  VethPair,
} from "../net.ts";
import { frame, frameIndex, frameLength } from "../frames.ts";

function needModule(): void {
  const why = netReason();
  if (why) skip(why);
  if (!existsSync("/sys/module/ringcap")) {
    skip("the ringcap module is not loaded (these run in the VM: scripts/vm/run.sh)");
  }
}

/** How long a VM test waits for its packets (TCG is slow). */
const VM_MS = 30000;

/** Wait until the module has been offered `n` packets (seen = packets + dropped + filtered). */
async function settle(ring: RingT, n: number, ms = 30000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const s = ring.stats();
    if (s.packets + s.dropped + s.filtered >= n || Date.now() - t0 > ms) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("module ring: N distinct frames 60..1514 B captured exactly, byte for byte", async () => {
  needModule();
  using net = VethPair.create("mex");
  using ring = await Ring.open(net.host, { backend: "ring", ringMb: 8, snaplen: 2048 });
  assert.equal(ring.backend, "ring");
  assert.equal(ring.layout.kind, 2);
  const N = 3000;
  net.send(N);
  const seen = new Uint8Array(N);
  let bad = 0;
  const n = await drain(ring, N, (_k, d, off, cap, wire) => {
    const i = frameIndex(d, off);
    assert.ok(i < N, `frame index ${i} out of range`);
    seen[i]++;
    const want = frame(i);
    if (cap !== want.length || wire !== want.length) bad++;
    else {
      for (let b = 0; b < cap; b++) {
        if (d[off + b] !== want[b]) {
          bad++;
          break;
        }
      }
    }
  }, VM_MS);
  const p = ring.next();
  assert.equal(p, null);
  assert.equal(n, N, "captured count");
  assert.equal(bad, 0, "frames with wrong bytes or lengths");
  assert.ok(seen.every((c) => c === 1), "every frame exactly once");
  const s = ring.stats();
  assert.equal(s.packets, N);
  assert.equal(s.dropped, 0);
  assert.equal(s.bytes, Array.from({ length: N }, (_, i) => frameLength(i)).reduce((a, b) => a + b, 0));
});

test("module ring: packet metadata (ifindex, timestamp) comes from the slot header", async () => {
  needModule();
  using net = VethPair.create("mmd");
  using ring = await Ring.open(net.host, { backend: "ring", ringMb: 1, snaplen: 1600 });
  const before = Math.floor(Date.now() / 1000);
  net.send(5);
  await ring.wait(5000);
  const p = ring.next();
  assert.ok(p);
  assert.equal(p.ifindex, net.hostIndex);
  assert.ok(p.tsSec >= before - 1 && p.tsSec <= before + 60, `tsSec ${p.tsSec} vs ${before}`);
  assert.ok(p.tsNsec >= 0 && p.tsNsec < 1e9);
  assert.equal(p.vlanTci, -1);
});

test("module ring: a tiny ring not read: packets + dropped == sent, exactly; first frames kept", async () => {
  needModule();
  using net = VethPair.create("mdr");
  using ring = await Ring.open(net.host, { backend: "ring", ringBytes: 16 * 1664, snaplen: 1600 });
  assert.equal(ring.layout.slot_count, 16);
  const N = 1000;
  net.send(N);
  await settle(ring, N);
  const s = ring.stats();
  assert.equal(s.packets + s.dropped, N, `packets ${s.packets} + dropped ${s.dropped}`);
  assert.equal(s.packets, 16);
  let k = 0;
  for (let p = ring.next(); p; p = ring.next()) assert.equal(frameIndex(p.data, p.offset), k++);
  assert.equal(k, 16);
});

test("module ring: batched hand-back under overflow: packets + dropped == sent, no slot exposed mid-write", async () => {
  // -smp 2: txframes (and the kernel's softirq writing slots) on one CPU, this
  // reader on the other, a 64-slot ring overflowing the whole time. Every
  // frame carries its sequence number and bytes that are a function of it
  // (the check, stronger than a checksum); the slot header's seq is the
  // kernel's insert count. A slot read while the kernel writes it, or given
  // back before we were done, shows up as a wrong byte or a wrong seq.
  needModule();
  using net = VethPair.create("mov");
  using ring = await Ring.open(net.host, { backend: "ring", ringBytes: 64 * 1664, snaplen: 1600 });
  const slots = ring.layout.slot_count;
  assert.equal(slots, 64);
  const N = 20000, SEED = 5, SLOT_SEQ = 40; // struct ringcap_slot.seq (u64, low word)
  const tx = startProcess("ip", [
    "netns",
    "exec",
    net.ns,
    TXFRAMES,
    net.peer,
    String(N),
    "--seed",
    String(SEED),
    "--min",
    "200",
    "--max",
    "1514",
  ]);
  let read = 0, last = -1, bad = "";
  const check = (): void => {
    for (let p = ring.next(); p; p = ring.next()) {
      const d = p.data, o = p.offset, cap = p.caplen;
      const seq = (p as SlotPacket).u32[((p as SlotPacket).hdr + SLOT_SEQ) >>> 2];
      const i = frameIndex(d, o);
      if (!bad && seq !== read) {
        bad = `slot seq ${seq} != ${read} read before it`;
      }
      if (!bad && (i <= last || i >= N)) bad = `frame ${i} after ${last}`;
      if (!bad && (cap !== frameLength(i, SEED, 200, 1514) || p.wirelen !== cap)) {
        bad = `frame ${i}: caplen ${cap}`;
      }
      for (let k = 22; k < cap && !bad; k++) {
        if (d[o + k] !== ((Math.imul(i, 131) + k * 7 + SEED) & 0xff)) bad = `frame ${i} byte ${k} torn`;
      }
      last = i;
      read++;
    }
  };
  let done = false;
  tx.done.then(() => (done = true));
  const t0 = Date.now();
  while (!done && Date.now() - t0 < 120000) {
    check();
    await ring.wait(20);
  }
  const r = await tx.done;
  assert.equal(r.code, 0, `txframes: ${r.err}`);
  await settle(ring, N);
  check();
  const s = ring.stats();
  assert.equal(bad, "", bad);
  assert.equal(s.packets + s.dropped, N, `packets ${s.packets} + dropped ${s.dropped} != ${N} sent`);
  assert.equal(read, s.packets, `read ${read}, kernel inserted ${s.packets}`);
  assert.ok(s.dropped > 0, "the ring never overflowed (the test did not test overflow)");
  assert.ok(read > 4 * slots, `read ${read}: the ring wrapped fewer than 4 times`);
});

test("module ring: the stripped 802.1Q tag is in Packet.vlanTci / vlanTpid", async () => {
  needModule();
  using net = VethPair.create("mvl");
  using ring = await Ring.open(net.host, { backend: "ring", ringMb: 1, snaplen: 1600 });
  await expectVlanInMetadata(ring, net, VM_MS);
});

test("module ring: kernel filter inserts only matches and counts the rest as filtered", async () => {
  needModule();
  using net = VethPair.create("mfl");
  using ring = await Ring.open(net.host, {
    backend: "ring",
    ringMb: 4,
    snaplen: 1600,
    filter: "greater 1000",
  });
  const N = 1000;
  net.send(N);
  const want = Array.from({ length: N }, (_, i) => frameLength(i)).filter((l) => l >= 1000).length;
  const n = await drain(ring, want, (_k, _d, _o, _c, wire) => assert.ok(wire >= 1000), VM_MS);
  assert.equal(n, want);
  await settle(ring, N);
  const s = ring.stats();
  assert.equal(s.filtered, N - want);
});

test("module ring: paused receives nothing until start(), then its filter (or none) applies", async () => {
  needModule();
  using net = VethPair.create("mpa");
  for (const filter of ["greater 1000", ""]) {
    using ring = await Ring.open(net.host, {
      backend: "ring",
      ringMb: 4,
      snaplen: 1600,
      filter,
      paused: true,
    });
    assert.ok(ring.paused);
    net.send(200);
    await settle(ring, 200);
    let s = ring.stats();
    assert.equal(s.packets, 0, `filter '${filter}': frames reached a paused ring`);
    assert.equal(s.filtered, 200, "refused while paused: counted as filtered");
    ring.start();
    assert.ok(!ring.paused);
    const N = 1000;
    net.send(N, { seed: 5 });
    const want = Array.from({ length: N }, (_, i) =>
      frameLength(i, 5)).filter((l) => !filter || l >= 1000).length;
    const n = await drain(ring, want, () => {}, VM_MS);
    assert.equal(n, want, `filter '${filter}'`);
    await settle(ring, 200 + N);
    s = ring.stats();
    assert.equal(s.filtered, 200 + N - want);
  }
});

test("module ring: fanout joins a module cluster (hash, lb); other modes and defrag are EINVAL", async () => {
  needModule();
  using net = VethPair.create("mfo");
  const base = { backend: "ring" as const, ringMb: 1, snaplen: 1600 };
  using a = await Ring.open(net.host, { ...base, fanout: { mode: "hash", members: 2 } });
  assert.ok(a.fanoutGroup > 0 && a.fanoutGroup <= 65535, `cluster id ${a.fanoutGroup}`);
  using b = await Ring.open(net.host, {
    ...base,
    fanout: { mode: "hash", group: a.fanoutGroup, members: 2 },
  });
  assert.equal(b.fanoutGroup, a.fanoutGroup);
  const proc = readFileSync("/proc/net/ringcap_clusters", "utf8");
  assert.match(proc, new RegExp(`^${a.fanoutGroup} ${net.host} hash 2 2 `, "m"));
  await assert.rejects(
    Ring.open(net.host, { ...base, fanout: { mode: "hash", group: a.fanoutGroup } }),
    (e: Error & { code?: string }) => e.code === "ENOSPC" && /is full/.test(e.message),
  );
  for (const mode of ["cpu", "rollover", "random", "qm"] as const) {
    await assert.rejects(
      Ring.open(net.host, { ...base, fanout: { mode, members: 2 } }),
      (e: Error & { code?: string }) => e.code === "EINVAL" && /hash or lb only/.test(e.message),
    );
  }
  await assert.rejects(
    Ring.open(net.host, { ...base, fanout: { mode: "hash", members: 2, defrag: true } }),
    (e: Error & { code?: string }) => e.code === "EINVAL" && /defrag/.test(e.message),
  );
  await assert.rejects(
    Ring.open(net.host, { ...base, fanout: { mode: "lb" } }),
    (e: Error & { code?: string }) => e.code === "EINVAL" && /needs its size/.test(e.message),
  );
});

test("module ring: sampling 1 in 10 happens in the module: packets == sent/10", async () => {
  needModule();
  using net = VethPair.create("msa");
  using ring = await Ring.open(net.host, { backend: "ring", ringMb: 4, snaplen: 1600, sampling: 10 });
  const N = 2000;
  net.send(N);
  await settle(ring, N);
  const s = ring.stats();
  assert.ok(Math.abs(s.packets - N / 10) <= 1, `packets ${s.packets}, want ${N / 10} ± 1`);
  assert.equal(s.packets + s.filtered, N);
});

test("module ring: steal on a bridge port fails with EBUSY and says why", async () => {
  needModule();
  using net = VethPair.create("mbr");
  const br = `rcb${process.pid % 10000}`;
  spawnSync("ip", ["link", "add", "name", br, "type", "bridge"]);
  try {
    spawnSync("ip", ["link", "set", "dev", net.host, "master", br]);
    await assert.rejects(
      Ring.open(net.host, { backend: "ring", ringMb: 1, snaplen: 1600, steal: true }),
      (e: Error & { code?: string }) => e.code === "EBUSY" && /rx_handler/.test(e.message),
    );
  } finally {
    spawnSync("ip", ["link", "del", br]);
  }
});

test("module ring: libring's slot layout keys equal offsetof() in the ABI header", async () => {
  needModule();
  const bin = `${ROOT}/build/vm/out/bin/slot_layout`;
  if (!existsSync(bin)) skip("build/vm/out/bin/slot_layout is not built (scripts/vm/run.sh builds it)");
  const want = JSON.parse(execFileSync(bin, { encoding: "utf8" })) as Record<string, number>;
  using net = VethPair.create("mly");
  using ring = await Ring.open(net.host, { backend: "ring", ringMb: 1, snaplen: 1600 });
  const L = ring.layout;
  for (const [k, v] of Object.entries(want)) {
    if (k === "read_idx_in_page1") continue;
    assert.equal(L[k], v, `layout key ${k}`);
  }
  // the consumed count lives in page 1, right after the kernel's header page
  assert.equal(L.read_idx_off, L.slot_base_off / 2 + want.read_idx_in_page1);
  assert.equal(L.slot_size % 64, 0);
  assert.ok(L.slot_size >= L.slot_data_off + 1600);
  assert.equal(L.size, L.slot_base_off + Math.ceil((L.slot_count * L.slot_size) / 4096) * 4096);
});

test("module ring: examples/pcount.ts counts exactly on the module backend, unchanged", async () => {
  needModule();
  using net = VethPair.create("mpc");
  const N = 500;
  const [cmd, args] = runtimeArgv(`${ROOT}/examples/pcount.ts`, [net.host, "-c", String(N), "--json"]);
  const child = spawn(cmd, args, { env: { ...process.env, RINGCAP_BACKEND: "ring" } });
  let out = "", err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const done = new Promise<number>((r) => child.on("close", (code) => r(code ?? -1)));
  // wait until its PF_RING socket is bound (a line for the interface in /proc/net/ringcap)
  const t0 = Date.now();
  while (!readFileSync("/proc/net/ringcap", "utf8").split("\n").some((l) => l.startsWith(net.host + " "))) {
    if (Date.now() - t0 > 30000) {
      child.kill();
      throw new Error(`pcount did not open a module capture: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  net.send(N);
  const code = await done;
  assert.equal(code, 0, `pcount exit ${code}: ${err}`);
  const last = JSON.parse(out.trim().split("\n").pop() ?? "{}");
  assert.equal(last.packets, N);
  assert.equal(last.dropped, 0);
});
