/**
 * pcap writer → reader round trips (µs and ns, snaplen, VLAN tag put back, big files
 * across read chunks, batch iteration), and writer → tcpdump -r / tshark -r (counts,
 * bytes, timestamps, VLAN ids, no warnings).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import process from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtime, skip, test } from "./harness.ts";
import type { Packet } from "../lib/packet.ts";
import { FilePacket, openCaptureFile, PacketBatch } from "../lib/source/file/mod.ts";
import { PcapWriter } from "../lib/sink/pcap/mod.ts";
import { has, run } from "./fixtures/tools.ts";

function tmp(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-pcap-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A deterministic frame: Ethernet/IPv4/UDP header, then bytes derived from i. */
function frame(i: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let k = 0; k < len; k++) f[k] = (i * 31 + k * 7) & 255;
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, (len - 14) >> 8, (len - 14) & 255]);
  f.set([0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x13, 0x88, 0x13, 0x89], 18);
  f.set([(len - 34) >> 8, (len - 34) & 255, 0, 0], 38);
  return f;
}

/** A Packet built by hand (as a Ring would hand one out), with a stripped VLAN tag. */
function livePacket(data: Uint8Array, vlanTci: number, vlanTpid: number): Packet {
  const p = new FilePacket(data, new DataView(data.buffer));
  p.caplen = data.length;
  p.wirelen = data.length + 100;
  p.tsSec = 1700000000;
  p.tsNsec = 999_999_999;
  p.vlanTci = vlanTci;
  p.vlanTpid = vlanTpid;
  return p;
}

test("µs round trip: header, timestamps, lengths, bytes, stats", () => {
  using t = tmp();
  const path = join(t.dir, "a.pcap");
  const w = PcapWriter.open(path, { snaplen: 1500 });
  const want: { sec: number; nsec: number; data: Uint8Array; wire: number }[] = [];
  for (let i = 0; i < 500; i++) {
    const data = frame(i, 60 + (i % 1400));
    const wire = data.length + (i % 3 === 0 ? 100 : 0);
    want.push({ sec: 1700000000 + i, nsec: i * 1_001_001 % 1e9, data, wire });
    w.writeRecord(data, 0, data.length, wire, 1700000000 + i, i * 1_001_001 % 1e9);
  }
  w.close();
  const head = new DataView(readFileSync(path).buffer);
  assert.equal(head.getUint32(0, true), 0xa1b2c3d4);
  assert.equal(head.getUint32(16, true), 1500);
  assert.equal(head.getUint32(20, true), 1);
  using r = openCaptureFile(path);
  assert.equal(r.format, "pcap");
  assert.equal(r.linkType, 1);
  assert.equal(r.snaplen, 1500);
  let i = 0;
  for (let p = r.next(); p; p = r.next(), i++) {
    const e = want[i];
    assert.equal(p.tsSec, e.sec);
    assert.equal(p.tsNsec, Math.floor(e.nsec / 1000) * 1000, "µs precision");
    assert.equal(p.caplen, e.data.length);
    assert.equal(p.wirelen, e.wire);
    assert.deepEqual(p.bytes(), e.data);
    assert.equal(p.vlanTci, -1);
  }
  assert.equal(i, 500);
  assert.deepEqual(r.stats(), {
    packets: 500,
    dropped: 0,
    filtered: 0,
    bytes: want.reduce((a, e) => a + e.wire, 0),
  });
  assert.equal(r.next(), null, "stays at the end");
});

test("ns round trip and snaplen cut", () => {
  using t = tmp();
  const path = join(t.dir, "n.pcap");
  const w = PcapWriter.open(path, { nano: true, snaplen: 100 });
  w.writeBytes(frame(1, 300), 1700000001, 123456789);
  w.writeBytes(frame(2, 60), 1700000002, 999999999);
  w.close();
  using r = openCaptureFile(path);
  assert.equal(r.snaplen, 100);
  const p1 = r.next()!;
  assert.deepEqual([p1.tsSec, p1.tsNsec, p1.caplen, p1.wirelen], [1700000001, 123456789, 100, 300]);
  assert.deepEqual(p1.bytes(), frame(1, 300).subarray(0, 100));
  const p2 = r.next()!;
  assert.deepEqual([p2.tsSec, p2.tsNsec, p2.caplen, p2.wirelen], [1700000002, 999999999, 60, 60]);
  assert.equal(r.next(), null);
});

test("a stripped VLAN tag goes back into the frame (libpcap's way)", () => {
  using t = tmp();
  const path = join(t.dir, "v.pcap");
  const w = PcapWriter.open(path);
  const data = frame(3, 80);
  w.writePacket(livePacket(data, (3 << 13) | 100, 0)); // TPID unknown → 0x8100
  w.writePacket(livePacket(data, 200, 0x88a8));
  w.writePacket(livePacket(data.subarray(0, 10), 300, 0)); // shorter than the MACs: no tag
  w.close();
  using r = openCaptureFile(path);
  const p = r.next()!;
  assert.equal(p.caplen, 84);
  assert.equal(p.wirelen, 184);
  const b = p.bytes();
  assert.deepEqual(b.subarray(0, 12), data.subarray(0, 12));
  assert.deepEqual([...b.subarray(12, 16)], [0x81, 0x00, 0x60, 100]);
  assert.deepEqual(b.subarray(16), data.subarray(12));
  assert.deepEqual([...r.next()!.bytes().subarray(12, 16)], [0x88, 0xa8, 0, 200]);
  assert.equal(r.next()!.caplen, 10);
});

test("a file much bigger than the read buffer streams through it intact", () => {
  using t = tmp();
  const path = join(t.dir, "big.pcap");
  const w = PcapWriter.open(path, { bufferSize: 8192 });
  let sum = 0;
  for (let i = 0; i < 20000; i++) {
    const f = frame(i, 60 + ((i * 37) % 1454));
    sum += f.length;
    w.writeBytes(f, i, 0);
  }
  w.close();
  assert.ok(statSync(path).size > 14_000_000);
  // maxRecord 2048 → a 67,584-byte buffer: records straddle chunk ends all the time
  using r = openCaptureFile(path, { maxRecord: 2048, bufferSize: 1 });
  let n = 0, bytes = 0;
  for (let p = r.next(); p; p = r.next(), n++) {
    assert.equal(p.tsSec, n);
    assert.equal(p.caplen, 60 + ((n * 37) % 1454));
    assert.equal(p.data[p.offset + 14 + 20 + 8], frame(n, p.caplen)[42], `payload of ${n}`);
    assert.equal(p.data.length, 2048 + 65536, "constant memory: one fixed buffer");
    bytes += p.caplen;
  }
  assert.equal(n, 20000);
  assert.equal(bytes, sum);
});

test("async iteration by batches reuses the batch and its IteratorResult", async () => {
  using t = tmp();
  const path = join(t.dir, "b.pcap");
  const w = PcapWriter.open(path);
  for (let i = 0; i < 2500; i++) w.writeBytes(frame(i, 64), i, 0);
  w.close();
  using r = openCaptureFile(path);
  let batches = 0, n = 0;
  let seenBatch: PacketBatch | null = null;
  const results = new Set<unknown>();
  for await (const batch of r.batches(1000)) {
    if (seenBatch) assert.equal(batch, seenBatch, "same batch object");
    seenBatch = batch;
    batches++;
    const it = batch[Symbol.iterator]();
    for (let res = it.next(); !res.done; res = it.next()) {
      results.add(res);
      assert.equal(res.value.tsSec, n++);
    }
    assert.ok(batch.count <= 1000);
  }
  assert.equal(n, 2500);
  assert.equal(batches, 3);
  assert.equal(results.size, 1, "one IteratorResult object for every packet");
  // for await over the reader itself + for..of over each batch
  using r2 = openCaptureFile(path);
  let m = 0;
  for await (const batch of r2) for (const p of batch) m += p.caplen === 64 ? 1 : 0;
  assert.equal(m, 2500);
});

test("tcpdump -r and tshark -r read the writer's files: counts, bytes, VLANs, ns, no warnings", () => {
  if (!has("tcpdump") || !has("tshark")) {
    skip("tcpdump or tshark not installed (apt-get install tcpdump tshark)");
  }
  using t = tmp();
  for (const nano of [false, true]) {
    const path = join(t.dir, nano ? "n.pcap" : "u.pcap");
    const w = PcapWriter.open(path, { nano, snaplen: 1000 });
    let bytes = 0;
    for (let i = 0; i < 300; i++) {
      const f = frame(i, 60 + (i * 13) % 1400);
      if (i % 10 === 0) {
        w.writePacket(livePacket(f, 100 + i, 0));
        bytes += f.length + 100 + 4;
      } else {
        w.writeRecord(f, 0, f.length, f.length, 1700000000 + i, i * 1001);
        bytes += f.length;
      }
    }
    w.close();
    const td = run("tcpdump", ["-enr", path, ...(nano ? ["--time-stamp-precision=nano"] : [])]);
    assert.equal(td.status, 0);
    assert.deepEqual(td.warnings, [], "tcpdump stderr");
    const lines = td.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 300);
    assert.match(lines[1], nano ? /\.000001001 / : /\.000001 /);
    assert.match(lines[0], /vlan 100,/);

    const ts = run("tshark", [
      "-r",
      path,
      "-T",
      "fields",
      "-e",
      "frame.len",
      "-e",
      "frame.cap_len",
      "-e",
      "vlan.id",
    ]);
    assert.equal(ts.status, 0);
    assert.deepEqual(ts.warnings, [], "tshark stderr");
    const rows = ts.stdout.trimEnd().split("\n").map((l) => l.split("\t"));
    assert.equal(rows.length, 300);
    assert.equal(rows.reduce((a, r) => a + Number(r[0]), 0), bytes);
    assert.ok(rows.every((r) => Number(r[1]) <= 1000), "snaplen respected");
    assert.equal(rows.filter((r) => r[2]).length, 30);
    assert.equal(rows[10][2], "110");
  }
});

test('"-" reads a capture from standard input (a pipe: no seeks)', async () => {
  using t = tmp();
  const path = join(t.dir, "s.pcap");
  const w = PcapWriter.open(path);
  for (let i = 0; i < 1000; i++) w.writeBytes(frame(i, 100), i, 0);
  w.close();
  const script = join(t.dir, "count.ts");
  const mod = new URL("../lib/source/file/mod.ts", import.meta.url).href;
  writeFileSync(
    script,
    `import { openCaptureFile } from "${mod}";\nconst r = openCaptureFile("-");\nwhile (r.next());\nconsole.log(r.stats().packets, r.stats().bytes);\n`,
  );
  const { spawnSync } = await import("node:child_process");
  const args = runtime === "bun" ? [script] : ["run", "-A", script];
  const out = spawnSync(process.execPath, args, { input: readFileSync(path), encoding: "utf8" });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), "1000 100000");
});
