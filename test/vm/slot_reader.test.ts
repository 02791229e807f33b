/**
 * Unit tests of the module slot reader (lib/source/live/ring_slots.ts) over a fake ring
 * in plain memory: no kernel needed, so they run on the host too
 * (`bun test test/vm/slot_reader.test.ts`, `deno test -A test/vm/...`).
 * The "kernel" here is the test following the ABI 2 protocol
 * (kernel/include/uapi/ringcap.h): it fills slot `produced % count` only while
 * `produced - consumed < count`, then bumps `produced`. It checks the
 * reader's side: order, wrap-around, the hand-back (batched, everything given
 * back once caught up, never the Packet still held), never a slot beyond
 * `produced`, the count published before a wait, no access after close.
 */
import assert from "node:assert/strict";
import { SlotRing } from "../../lib/source/live/ring_slots.ts";
import type { Mapping } from "../../lib/source/live/ring_base.ts";
import { test } from "../harness.ts";

const SIZE = 128, BASE = 8192, READY = 1, FREE = 0, CONSUMED = 4096, PRODUCED = 96;

function fakeRing(count: number) {
  const buf = new ArrayBuffer(BASE + count * SIZE);
  const u32 = new Uint32Array(buf);
  const layout: Record<string, number> = {
    kind: 2,
    size: buf.byteLength,
    ifindex: 7,
    snaplen: 64,
    slot_base_off: BASE,
    slot_size: SIZE,
    slot_count: count,
    slot_status_off: 0,
    slot_caplen_off: 4,
    slot_sec_off: 8,
    slot_nsec_off: 16,
    slot_wirelen_off: 20,
    slot_ifindex_off: 24,
    slot_vlan_tci_off: 28,
    slot_vlan_tpid_off: 30,
    slot_flags_off: 32,
    slot_direction_off: 34,
    slot_data_off: 64,
    slot_flag_vlan: 1,
    slot_ready: READY,
    slot_free: FREE,
    read_idx_off: CONSUMED,
    insert_idx_off: 48,
    produced_off: PRODUCED,
  };
  const lib = { backend: () => 1, close: () => 0, stats: () => 0, runtime: "bun" };
  const ring = new (SlotRing as unknown as new (m: Mapping) => SlotRing)(
    { lib, handle: 0, iface: "fake0", layout, buffer: buf } as unknown as Mapping,
  );
  const P = PRODUCED >>> 2, C = CONSUMED >>> 2;
  const dv = new DataView(buf);
  /** Write the next packet into its slot; `publish` false leaves it mid-write. */
  const write = (seq: number, vlan: number): void => {
    const off = BASE + (u32[P] % count) * SIZE;
    u32[(off + 4) >>> 2] = 60;
    u32[(off + 20) >>> 2] = 60;
    u32[(off + 8) >>> 2] = 1_700_000_000 + seq;
    u32[(off + 24) >>> 2] = 7;
    dv.setUint16(off + 32, vlan >= 0 ? 1 : 0, true);
    dv.setUint16(off + 28, vlan >= 0 ? vlan : 0, true);
    dv.setUint16(off + 30, vlan >= 0 ? 0x8100 : 0, true);
    dv.setUint32(off + 64 + 14, seq);
    u32[off >>> 2] = READY;
  };
  let seq = 0;
  /** Kernel side: fill the next slot if the reader gave it back; false when the ring is full. */
  const put = (vlan = -1): boolean => {
    if (((u32[P] - u32[C]) >>> 0) >= count) return false;
    write(seq++, vlan);
    u32[P] = (u32[P] + 1) >>> 0;
    return true;
  };
  /** Kernel side: write the next slot but do not publish it yet. */
  const half = (): void => write(0xdead, -1);
  const produced = () => u32[P];
  const consumed = () => u32[C];
  return { ring, put, half, produced, consumed, u32 };
}

test("slot reader: packets in order with their header fields, null when none is ready", () => {
  const { ring, put } = fakeRing(8);
  assert.equal(ring.next(), null);
  put();
  put(100);
  let p = ring.next();
  assert.ok(p);
  assert.equal(p.view.getUint32(p.offset + 14), 0);
  assert.equal(p.caplen, 60);
  assert.equal(p.wirelen, 60);
  assert.equal(p.tsSec, 1_700_000_000);
  assert.equal(p.ifindex, 7);
  assert.equal(p.vlanTci, -1);
  p = ring.next();
  assert.ok(p);
  assert.equal(p.view.getUint32(p.offset + 14), 1);
  assert.equal(p.vlanTci, 100);
  assert.equal(p.vlanTpid, 0x8100);
  assert.equal(ring.next(), null);
});

test("slot reader: everything is given back once caught up; the ring wraps many times", () => {
  for (const count of [2, 3, 16, 100]) {
    const { ring, put, produced, consumed } = fakeRing(count);
    let want = 0;
    for (let round = 0; round < 50; round++) {
      let n = 0;
      while (put()) n++; // fill whatever is free
      assert.ok(n > 0, `count ${count}: kernel found no free slot in round ${round}`);
      for (let p = ring.next(); p; p = ring.next()) assert.equal(p.view.getUint32(p.offset + 14), want++);
      assert.equal(consumed(), produced(), `count ${count}: round ${round}: not all given back`);
    }
  }
});

test("slot reader: a reader one packet at a time behind a busy kernel never stalls it", () => {
  for (const count of [2, 5, 64, 65, 200, 2000]) {
    const { ring, put } = fakeRing(count);
    let want = 0;
    for (let step = 0; step < 3000; step++) {
      while (put()); // the kernel fills every slot it gets back
      const p = ring.next(); // never catches up: the ring is always full here
      assert.ok(p, `count ${count}: stalled at step ${step}`);
      assert.equal(p.view.getUint32(p.offset + 14), want++);
    }
  }
});

test("slot reader: the Packet held is never given back, and a slot not yet published is never read", () => {
  for (const count of [2, 4, 64, 1024]) {
    const { ring, put, half, produced, consumed } = fakeRing(count);
    let want = 0;
    for (let step = 0; step < 5000; step++) {
      if (step % 7 === 0) { while (put()); // a burst
       } else put();
      const p = ring.next();
      if (!p) {
        assert.equal(consumed(), produced(), `count ${count}: caught up but not all given back`);
        half(); // the kernel is writing the next slot: not ours yet
        assert.equal(ring.next(), null, `count ${count}: read a slot the kernel had not published`);
        assert.equal(ring.ready(), false);
        continue;
      }
      assert.equal(p.view.getUint32(p.offset + 14), want);
      // the kernel now overwrites every slot it got back; the held one must not be among them
      while (put());
      assert.equal(p.view.getUint32(p.offset + 14), want, `count ${count}: held slot overwritten`);
      want++;
    }
    assert.ok(want > 4 * count, `count ${count}: read ${want}`);
  }
});

test("slot reader: slots go back once a batch, not one by one", () => {
  const { ring, put, consumed } = fakeRing(4096); // batch: 256 (a quarter of the ring at most)
  for (let i = 0; i < 1000; i++) put();
  for (let i = 0; i < 200; i++) assert.ok(ring.next());
  assert.equal(consumed(), 0, "given back before the batch was read");
  for (let i = 0; i < 57; i++) assert.ok(ring.next()); // 257th: the next batch starts
  assert.equal(consumed(), 256);
});

test("slot reader: the consumed count is published before a wait; close makes it inert", () => {
  const { ring, put, u32 } = fakeRing(64);
  for (let i = 0; i < 5; i++) put();
  for (let i = 0; i < 3; i++) assert.ok(ring.next());
  // deno-lint-ignore no-explicit-any
  const cursor = (ring as any).cursor.bind(ring) as () => number;
  assert.equal(cursor(), 3); // the third Packet is done once we wait
  assert.equal(u32[CONSUMED >>> 2], 3);
  for (let i = 0; i < 2; i++) assert.ok(ring.next());
  assert.equal(ring.next(), null);
  assert.equal(cursor(), 5);
  assert.equal(u32[CONSUMED >>> 2], 5);
  ring.close();
  assert.equal(ring.next(), null);
  assert.equal(ring.ready(), false);
});
