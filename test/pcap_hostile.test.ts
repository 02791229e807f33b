/**
 * Hostile capture files: empty, short, bad magic, bad version, huge record or block
 * lengths, inconsistent pcapng blocks, truncated last records, packets for undescribed
 * interfaces, and random damage. The reader must hand out the packets before the damage,
 * then throw a `PcapFormatError` whose code and message say what is wrong (or stop
 * cleanly) — never hang, crash or allocate what a length field asks for.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./harness.ts";
import { openCaptureFile, type PcapErrorCode, PcapFormatError } from "../lib/source/file/mod.ts";
import { block, epb, file, idb, pcapFile, shb, spb } from "./fixtures/capture_build.ts";

const dir = mkdtempSync(join(tmpdir(), "ringcap-hostile-"));
let seq = 0;
function put(bytes: Uint8Array): string {
  const path = join(dir, `f${seq++}`);
  writeFileSync(path, bytes);
  return path;
}

const frame = (n: number, seed = 0) => new Uint8Array(n).map((_, k) => (k + seed) & 255);

/** Read everything; returns the packet count and the error (if any) thrown at open or on the way. */
function drain(path: string): { packets: number; error: PcapFormatError | null } {
  let packets = 0;
  try {
    using r = openCaptureFile(path);
    for (let p = r.next(); p; p = r.next()) {
      assert.ok(p.offset + p.caplen <= p.data.length);
      packets++;
    }
    return { packets, error: null };
  } catch (e) {
    if (!(e instanceof PcapFormatError)) throw e;
    return { packets, error: e };
  }
}

function expectError(path: string, packets: number, code: PcapErrorCode, message: RegExp): void {
  const r = drain(path);
  assert.equal(r.packets, packets, `packets before the damage (${r.error?.message})`);
  assert.ok(r.error, `expected ${code}`);
  assert.equal(r.error.code, code, r.error.message);
  assert.match(r.error.message, message);
  assert.ok(r.error.message.startsWith(path), "the message names the file");
}

const good = [0, 1, 2].map((i) => ({ sec: 100 + i, frac: i, data: frame(60, i) }));

test("pcap: empty, short, bad magic, bad version", () => {
  expectError(put(new Uint8Array(0)), 0, "EMPTY", /empty file/);
  expectError(put(new Uint8Array([0xd4, 0xc3, 0xb2])), 0, "TRUNCATED", /too short/);
  expectError(
    put(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
    0,
    "BAD_MAGIC",
    /not a pcap or pcapng/,
  );
  expectError(put(pcapFile(good).subarray(0, 20)), 0, "TRUNCATED", /pcap file header/);
  const v3 = pcapFile(good);
  v3[4] = 3;
  expectError(put(v3), 0, "BAD_HEADER", /version 3/);
  expectError(put(pcapFile(good, { magic: 0xa1b2cd34 })), 0, "BAD_MAGIC", /Kuznetzov/);
});

test("pcap: a huge record length after good records is an error, not an allocation", () => {
  const f = pcapFile([...good, { sec: 1, frac: 0, data: frame(60), caplen: 0xfffffff0 }]);
  expectError(put(f), 3, "RECORD_TOO_LARGE", /4294967280 captured bytes, more than the cap/);
  const be = pcapFile([...good, { sec: 1, frac: 0, data: frame(60), caplen: 300000 }], { le: false });
  expectError(put(be), 3, "RECORD_TOO_LARGE", /300000/);
});

test("pcap: the error is sticky; next() keeps throwing it", () => {
  const path = put(pcapFile([...good, { sec: 1, frac: 0, data: frame(60), caplen: 0x7fffffff }]));
  const r = openCaptureFile(path);
  for (let i = 0; i < 3; i++) r.next();
  assert.throws(() => r.next(), PcapFormatError);
  assert.throws(() => r.next(), /RECORD|more than the cap/);
  r.close();
});

test("pcap: truncated last record / record header → the packets before, then TRUNCATED", () => {
  const full = pcapFile(good);
  expectError(
    put(full.subarray(0, full.length - 10)),
    2,
    "TRUNCATED",
    /truncated last record: 60 captured bytes announced, only 50/,
  );
  expectError(put(full.subarray(0, 24 + 76 + 9)), 1, "TRUNCATED", /inside a record header \(9 of 16/);
  assert.deepEqual(
    drain(put(full.subarray(0, 24 + 76))),
    { packets: 1, error: null },
    "a cut between records is a clean end",
  );
  assert.deepEqual(
    drain(put(full.subarray(0, 24))),
    { packets: 0, error: null },
    "a header alone: no packets",
  );
});

test("pcap: snaplen 0 in the header reads as 262144; both byte orders, ns", () => {
  for (const le of [true, false]) {
    for (const nano of [true, false]) {
      const path = put(pcapFile(good, { le, nano, snaplen: 0 }));
      using r = openCaptureFile(path);
      assert.equal(r.snaplen, 262144);
      const p = r.next()!;
      assert.deepEqual([p.tsSec, p.tsNsec, p.caplen], [100, 0, 60]);
      const p2 = r.next()!;
      assert.equal(p2.tsNsec, nano ? 1 : 1000, `le ${le} nano ${nano}`);
      assert.equal(p2.data[p2.offset], 1);
    }
  }
});

const le = true;
const ngHead = () => [shb(le), idb(le, 1, 65535, 6)];

test("pcapng: bad lengths, bad byte-order magic, huge blocks", () => {
  const pkts = [epb(le, 0, 0, 1, frame(60)), epb(le, 0, 0, 2, frame(60))];
  expectError(
    put(file(...ngHead(), ...pkts, block(le, 6, new Uint8Array(40), 0x7ffffff0))),
    2,
    "RECORD_TOO_LARGE",
    /block of 2147483632 bytes/,
  );
  expectError(
    put(file(...ngHead(), ...pkts, block(le, 6, new Uint8Array(40), 13))),
    2,
    "BAD_BLOCK",
    /multiple of 4/,
  );
  expectError(put(file(...ngHead(), block(le, 6, new Uint8Array(40), 8))), 0, "BAD_BLOCK", /at least 12/);
  const mismatch = epb(le, 0, 0, 3, frame(60));
  mismatch[mismatch.length - 4] ^= 4;
  expectError(put(file(...ngHead(), ...pkts, mismatch)), 2, "BAD_BLOCK", /lengths differ/);
  expectError(put(file(...ngHead(), epb(le, 0, 0, 1, frame(60), 60, 5000))), 0, "BAD_BLOCK", /runs past/);
  const badBom = shb(le);
  badBom[8] = 0;
  expectError(put(file(badBom)), 0, "BAD_HEADER", /byte-order magic/);
  const shortShb = shb(le);
  shortShb[4] = 16;
  expectError(put(file(shortShb)), 0, "BAD_BLOCK", /section header block of 16 bytes/);
  // A block to skip that claims 15 MiB in a small file: a clean TRUNCATED, no 15 MiB buffer.
  expectError(
    put(file(...ngHead(), ...pkts, block(le, 0x0000000a, new Uint8Array(40), 15 << 20))),
    2,
    "TRUNCATED",
    /15728640-byte block/,
  );
  // A packet block bigger than the read buffer (but under 16 MiB): refused.
  expectError(
    put(file(...ngHead(), block(le, 6, new Uint8Array(40), 4 << 20))),
    0,
    "RECORD_TOO_LARGE",
    /read buffer/,
  );
});

test("pcapng: packets for undescribed interfaces, truncation, empty sections", () => {
  expectError(put(file(shb(le), epb(le, 0, 0, 1, frame(60)))), 0, "BAD_INTERFACE", /interface 0, but only 0/);
  expectError(put(file(...ngHead(), epb(le, 3, 0, 1, frame(60)))), 0, "BAD_INTERFACE", /interface 3/);
  expectError(put(file(shb(le), spb(le, frame(60)))), 0, "BAD_INTERFACE", /interface 0/);
  const whole = file(...ngHead(), epb(le, 0, 0, 1, frame(60)), epb(le, 0, 0, 2, frame(70)));
  expectError(put(whole.subarray(0, whole.length - 7)), 1, "TRUNCATED", /truncated last block/);
  expectError(put(whole.subarray(0, whole.length - 120 + 5)), 1, "TRUNCATED", /inside a block header/);
  expectError(put(shb(le).subarray(0, 20)), 0, "TRUNCATED", /section header/);
  // a section with no interface and no packets: clean, link type unknown
  const only = openCaptureFile(put(shb(le)));
  assert.equal(only.linkType, -1);
  assert.equal(only.next(), null);
  only.close();
  // the writer's byte order flips per section: BE section after LE
  const two = file(
    ...ngHead(),
    epb(le, 0, 0, 1, frame(60, 1)),
    shb(false),
    idb(false, 1, 0),
    epb(false, 0, 0, 7, frame(61, 2)),
  );
  const r = drain(put(two));
  assert.deepEqual(r, { packets: 2, error: null });
});

test("random damage to pcap and pcapng files: packets or PcapFormatError, never anything else", () => {
  let seed = 777;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const pcap = pcapFile(
    Array.from({ length: 20 }, (_, i) => ({ sec: i, frac: i, data: frame(40 + i * 3, i) })),
  );
  const ng = file(
    ...ngHead(),
    ...Array.from({ length: 20 }, (_, i) => epb(le, 0, 0, i, frame(40 + i * 3, i))),
    spb(le, frame(50)),
  );
  const counts = { clean: 0, errors: 0 };
  for (let round = 0; round < 1500; round++) {
    const f = (round % 2 ? ng : pcap).slice(0, Math.floor(rnd() * (round % 2 ? ng : pcap).length) + 1);
    const hits = Math.floor(rnd() * 5);
    for (let i = 0; i < hits; i++) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
    const r = drain(put(f));
    if (r.error) counts.errors++;
    else counts.clean++;
  }
  assert.ok(counts.errors > 100 && counts.clean > 10, JSON.stringify(counts));
});

test("cleanup", () => rmSync(dir, { recursive: true, force: true }));
