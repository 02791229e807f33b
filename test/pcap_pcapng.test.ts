/**
 * pcapng reading: files converted by `editcap -F pcapng` and written by `tshark -F pcapng`
 * match the classic pcap they came from; hand-built files in both byte orders with
 * several sections and interfaces, if_tsresol (decimal and binary), if_tsoffset, SPB, the
 * obsolete PB and blocks to skip read as tshark reads them; 64-bit tick conversion is exact.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skip, test } from "./harness.ts";
import { openCaptureFile, PcapNgReader } from "../lib/source/file/mod.ts";
import { PcapWriter } from "../lib/sink/pcap/mod.ts";
import { ticksToTime, tickTime } from "../lib/source/file/ts64.ts";
import { block, epb, file, idb, pb, shb, spb } from "./fixtures/capture_build.ts";
import { has, run } from "./fixtures/tools.ts";

function tmp(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-pcapng-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Seen {
  sec: number;
  nsec: number;
  caplen: number;
  wirelen: number;
  sum: number;
}

function readAll(path: string): Seen[] {
  using r = openCaptureFile(path);
  const out: Seen[] = [];
  for (let p = r.next(); p; p = r.next()) {
    let sum = 0;
    for (let i = 0; i < p.caplen; i++) sum = (sum * 31 + p.data[p.offset + i]) >>> 0;
    out.push({ sec: p.tsSec, nsec: p.tsNsec, caplen: p.caplen, wirelen: p.wirelen, sum });
  }
  return out;
}

function sample(path: string, nano: boolean): void {
  const w = PcapWriter.open(path, { nano, snaplen: 400 });
  for (let i = 0; i < 200; i++) {
    const f = new Uint8Array(60 + (i * 17) % 600).map((_, k) => (k * 13 + i) & 255);
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]); // local experimental EtherType
    w.writeBytes(f, 1700000000 + i * 7, (i * 123_456_789) % 1e9);
  }
  w.close();
}

test("pcapng from editcap and tshark reads back like the pcap it came from", () => {
  if (!has("tshark") || !has("editcap")) skip("tshark/editcap not installed (apt-get install tshark)");
  using t = tmp();
  for (const nano of [false, true]) {
    const src = join(t.dir, `src${nano}.pcap`);
    sample(src, nano);
    const want = readAll(src);
    assert.equal(want.length, 200);
    const viaEditcap = join(t.dir, `e${nano}.pcapng`);
    const viaTshark = join(t.dir, `t${nano}.pcapng`);
    execFileSync("editcap", ["-F", "pcapng", src, viaEditcap], { stdio: "ignore" });
    assert.deepEqual(run("tshark", ["-r", src, "-F", "pcapng", "-w", viaTshark]).warnings, []);
    for (const f of [viaEditcap, viaTshark]) {
      using r = openCaptureFile(f);
      assert.equal(r.format, "pcapng");
      assert.equal(r.linkType, 1);
      assert.equal(r.snaplen, 400);
      r.close();
      assert.deepEqual(readAll(f), want, f);
    }
  }
});

const payload = (n: number, seed: number) => new Uint8Array(n).map((_, k) => (k * 7 + seed) & 255);

/** Two sections: LE (ns interface + µs interface, SPB, blocks to skip), then BE (binary resolution, offset). */
function builtFile(): {
  bytes: Uint8Array;
  want: { sec: number; nsec: number; caplen: number; wirelen: number }[];
} {
  const le = true, be = false;
  const ns = 1_700_000_000_123_456_789n;
  const hi = Number(ns >> 32n), lo = Number(ns & 0xffffffffn);
  const bytes = file(
    shb(le),
    block(le, 0x0000000a, new Uint8Array([0x4b, 0x53, 0x4c, 0x54, 0, 0, 0, 0])), // decryption secrets: skipped
    idb(le, 1, 0, 9), // interface 0: ns, snaplen 0 (no limit)
    idb(le, 1, 64), // interface 1: µs (default), snaplen 64
    block(le, 4, new Uint8Array([0, 0, 0, 0])), // name resolution block: skipped
    epb(le, 0, hi, lo, payload(60, 1)),
    epb(le, 1, 395, 3_500_000_000 % 2 ** 32, payload(64, 2), 1514), // 395*2^32+x µs
    spb(le, payload(100, 3)), // SPB: interface 0, caplen = wirelen = 100
    spb(le, payload(90, 4)), // SPB: 90 bytes, padded to 92 in the block
    block(le, 5, new Uint8Array(12)), // interface statistics: skipped
    shb(be),
    idb(be, 1, 262144, 0x80 | 20, 1_000_000_000), // 2^-20 s ticks, +1e9 s offset
    epb(be, 0, 0, (5 << 20) | (1 << 19), payload(61, 5)), // 5.5 s + offset
    pb(be, 0, 0, 3 << 20, payload(62, 6)), // obsolete Packet Block: 3 s + offset
  );
  const usTicks = 395 * 2 ** 32 + (3_500_000_000 % 2 ** 32);
  return {
    bytes,
    want: [
      { sec: 1_700_000_000, nsec: 123_456_789, caplen: 60, wirelen: 60 },
      { sec: Math.floor(usTicks / 1e6), nsec: (usTicks % 1e6) * 1000, caplen: 64, wirelen: 1514 },
      { sec: 0, nsec: 0, caplen: 100, wirelen: 100 },
      { sec: 0, nsec: 0, caplen: 90, wirelen: 90 },
      { sec: 1_000_000_005, nsec: 500_000_000, caplen: 61, wirelen: 61 },
      { sec: 1_000_000_003, nsec: 0, caplen: 62, wirelen: 62 },
    ],
  };
}

test("hand-built pcapng: both byte orders, sections, interfaces, tsresol, tsoffset, SPB, skipped blocks", () => {
  using t = tmp();
  const { bytes, want } = builtFile();
  const path = join(t.dir, "built.pcapng");
  writeFileSync(path, bytes);
  const r = openCaptureFile(path) as PcapNgReader;
  assert.equal(r.linkType, 1);
  assert.equal(r.snaplen, 262144, "snaplen 0 means no limit");
  const got = [];
  for (let p = r.next(); p; p = r.next()) {
    got.push({ sec: p.tsSec, nsec: p.tsNsec, caplen: p.caplen, wirelen: p.wirelen });
    assert.equal(p.data[p.offset], got.length, "the right bytes (payload seed = packet number)");
  }
  assert.deepEqual(got, want);
  assert.equal(r.sections, 2);
  assert.equal(r.interfaces.length, 1, "interfaces of the current section");
  assert.deepEqual(r.stats(), { packets: 6, dropped: 0, filtered: 0, bytes: 60 + 1514 + 100 + 90 + 61 + 62 });
  r.close();
  if (!has("tshark")) return; // the reader checks above stand alone; tshark confirms the builder
  const ts = run("tshark", [
    "-r",
    path,
    "-T",
    "fields",
    "-e",
    "frame.time_epoch",
    "-e",
    "frame.len",
    "-e",
    "frame.cap_len",
  ]);
  assert.deepEqual(ts.warnings, []);
  const rows = ts.stdout.trimEnd().split("\n").map((l) => l.split("\t"));
  assert.equal(rows.length, want.length);
  rows.forEach((row, i) => {
    const [s, frac] = row[0].split(".");
    assert.equal(Number(s), want[i].sec, `tshark seconds of ${i}`);
    assert.equal(Number((frac ?? "").padEnd(9, "0")), want[i].nsec, `tshark nanoseconds of ${i}`);
    assert.equal(Number(row[1]), want[i].wirelen);
    assert.equal(Number(row[2]), want[i].caplen);
  });
});

test("64-bit tick conversion is exact for every resolution", () => {
  const check = (ticks: bigint, tsresol: number) => {
    ticksToTime(Number(ticks >> 32n), Number(ticks & 0xffffffffn), tsresol);
    const n = tsresol & 0x7f;
    const unit = tsresol & 0x80 ? 2n ** BigInt(n) : 10n ** BigInt(n);
    const sec = ticks / unit;
    const nsec = ((ticks % unit) * 1_000_000_000n) / unit;
    assert.deepEqual([tickTime.sec, tickTime.nsec], [Number(sec), Number(nsec)], `${ticks} at ${tsresol}`);
  };
  for (
    const t of [0n, 1n, 999_999n, 1_700_000_000_999_999n, 1_700_000_000_123_456_789n, 2n ** 63n + 12345n]
  ) {
    for (const r of [0, 3, 6, 9]) if (t / 10n ** BigInt(r) < 2n ** 53n) check(t, r);
  }
  check(1_700_000_000_123_456_789_012n & (2n ** 64n - 1n), 12); // picoseconds
  check(1_700_000_000n * 2n ** 20n + 12345n, 0x80 | 20);
  check(1_700_000_000n * 2n ** 32n + 0xfffffffen, 0x80 | 32);
  check(17n * 2n ** 40n + 2n ** 39n, 0x80 | 40);
});
