/**
 * Rotation like tcpdump: `-C` by size (names FILE, FILE1...; with `-W` wrapping,
 * zero-padded names) compared byte for byte with what `tcpdump -r IN -w OUT -C 1 [-W 3]`
 * writes from the same input; `-G` by time with strftime names; strftime itself.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skip, test } from "./harness.ts";
import { openCaptureFile } from "../lib/source/file/mod.ts";
import { PcapWriter, RotatingPcapWriter, rotationFileName, strftime } from "../lib/sink/pcap/mod.ts";
import { has } from "./fixtures/tools.ts";

function tmp(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-rotate-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function input(path: string): void {
  const w = PcapWriter.open(path);
  for (let i = 0; i < 3000; i++) {
    const f = new Uint8Array(1000 + (i % 7) * 50).map((_, k) => (k ^ i) & 255);
    w.writeBytes(f, 1700000000 + i, (i * 1000) % 1e9);
  }
  w.close();
}

function rotate(
  src: string,
  out: string,
  options: ConstructorParameters<typeof RotatingPcapWriter>[1],
): string[] {
  using r = openCaptureFile(src);
  const w = new RotatingPcapWriter(out, options);
  for (let p = r.next(); p; p = r.next()) w.writePacket(p);
  w.close();
  return w.files;
}

test("-C 1 and -C 1 -W 3 write the same files as tcpdump, byte for byte", () => {
  if (!has("tcpdump")) skip("tcpdump not installed (apt-get install tcpdump)");
  using t = tmp();
  const src = join(t.dir, "in.pcap");
  input(src);
  const ours = join(t.dir, "ours"), theirs = join(t.dir, "theirs");
  execFileSync("mkdir", [ours, theirs]);
  for (const args of [["-C", "1"], ["-C", "1", "-W", "3"]]) {
    const name = args.length > 2 ? "w.pcap" : "c.pcap";
    execFileSync("tcpdump", ["-r", src, "-w", join(theirs, name), "-Z", "root", ...args], {
      stdio: "ignore",
    });
    const files = rotate(src, join(ours, name), { fileSizeMB: 1, maxFiles: args.length > 2 ? 3 : undefined });
    const expected = args.length > 2
      ? ["w.pcap0", "w.pcap1", "w.pcap2", "w.pcap0"]
      : ["c.pcap", "c.pcap1", "c.pcap2", "c.pcap3"];
    assert.deepEqual(files.map((f) => f.slice(ours.length + 1)), expected);
  }
  const names = readdirSync(theirs).sort();
  assert.deepEqual(readdirSync(ours).sort(), names);
  for (const n of names) {
    assert.ok(
      readFileSync(join(ours, n)).equals(readFileSync(join(theirs, n))),
      `${n} differs from tcpdump's`,
    );
  }
});

test("-G 60 rotates by packet time with strftime names; -G with -C numbers within a period", () => {
  using t = tmp();
  const w = new RotatingPcapWriter(join(t.dir, "cap-%Y%m%d-%H%M%S.pcap"), {
    rotateSeconds: 60,
    startSec: 1700000000,
    utc: true,
  });
  for (let s = 0; s < 180; s++) w.writeBytes(new Uint8Array(60), 1700000000 + s, 0);
  w.close();
  const base = ["cap-20231114-221320.pcap", "cap-20231114-221420.pcap", "cap-20231114-221520.pcap"];
  assert.deepEqual(w.files.map((f) => f.slice(t.dir.length + 1)), base);
  for (const f of w.files) {
    using r = openCaptureFile(f);
    let n = 0;
    while (r.next()) n++;
    assert.equal(n, 60, f);
  }
  const both = new RotatingPcapWriter(join(t.dir, "g%s.pcap"), {
    rotateSeconds: 10,
    fileSizeMB: 0.001, // 1000 bytes
    startSec: 0,
    utc: true,
  });
  for (let s = 0; s < 20; s++) both.writeBytes(new Uint8Array(400), s, 0);
  both.close();
  assert.deepEqual(both.files.map((f) => f.slice(t.dir.length + 1)), [
    "g0.pcap",
    "g0.pcap1",
    "g0.pcap2",
    "g0.pcap3",
    "g10.pcap",
    "g10.pcap1",
    "g10.pcap2",
    "g10.pcap3",
  ]);
  assert.equal(both.packets, 20);
  assert.equal(both.bytes, 8000);
  assert.ok(existsSync(join(t.dir, "g10.pcap3")), "3 records of 416 bytes pass 1000 bytes: 3 per file");
});

test("rotationFileName and strftime", () => {
  assert.equal(rotationFileName("a.pcap", 0, 0), "a.pcap");
  assert.equal(rotationFileName("a.pcap", 12, 0), "a.pcap12");
  assert.equal(rotationFileName("a.pcap", 0, 2), "a.pcap00");
  assert.equal(
    strftime("%Y-%m-%d %H:%M:%S %j %y %e %%", 1700000000, true),
    "2023-11-14 22:13:20 318 23 14 %",
  );
  assert.equal(strftime("%F %T %b %a %s %q", 0, true), "1970-01-01 00:00:00 Jan Thu 0 %q");
});
