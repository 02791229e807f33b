/**
 * dump -w from a live capture, under the runtime running the tests: files that
 * tcpdump -r and tshark -r read with no warning and with the captured count
 * and bytes, every byte as sent (VLAN tags put back), --nano and -s in the
 * header, -C/-W and -G rotation, -c, a filter, SIGINT/SIGTERM in the middle of
 * traffic leaving a complete file, and exit 2 for what cannot start.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skip, test } from "./harness.ts";
import { netReason, ROOT, runtimeArgv, startScript, VethPair, waitForPacketSocket } from "./net.ts";
import { frame } from "./frames.ts";
import { openCaptureFile } from "../lib/source/file/open.ts";

const DUMP = join(ROOT, "examples/dump.ts");

const start = (args: string[]) => startScript("examples/dump.ts", args);

function toolsReason(): string | null {
  for (const t of ["tcpdump", "tshark"]) {
    if (spawnSync(t, ["--version"], { stdio: "ignore" }).error) {
      return `${t} is not installed (the round-trip peer)`;
    }
  }
  return null;
}

/** What tcpdump -r and tshark -r say of a file: packets, sum of frame lengths, warnings. */
function peers(path: string) {
  const td = spawnSync("tcpdump", ["-enr", path], { encoding: "utf8", maxBuffer: 256 << 20 });
  // one line per packet (tcpdump adds hex lines for EtherTypes it does not know)
  const tdLines = td.stdout.split("\n").filter((l) => /^\d\d:\d\d:\d\d\.\d+ /.test(l));
  const tdBytes = tdLines.reduce((a, l) => a + Number(/, length (\d+)/.exec(l)?.[1] ?? NaN), 0);
  const tdWarnings = td.stderr.split("\n").filter((l) => l.trim() && !/^reading from file /.test(l));
  const ts = spawnSync("tshark", ["-r", path, "-T", "fields", "-e", "frame.len"], {
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
  const tsLens = ts.stdout.split("\n").filter(Boolean).map(Number);
  const tsWarnings = ts.stderr.split("\n").filter((l) => l.trim() && !/Running as user "root"/.test(l));
  assert.equal(td.status, 0, td.stderr);
  assert.equal(ts.status, 0, ts.stderr);
  assert.deepEqual(tdWarnings, [], `tcpdump warnings on ${path}`);
  assert.deepEqual(tsWarnings, [], `tshark warnings on ${path}`);
  return {
    tcpdump: { packets: tdLines.length, bytes: tdBytes },
    tshark: { packets: tsLens.length, bytes: tsLens.reduce((a, b) => a + b, 0) },
  };
}

function header(path: string) {
  const v = new DataView(readFileSync(path).buffer.slice(0, 24));
  return { magic: v.getUint32(0, true), snaplen: v.getUint32(16, true), linkType: v.getUint32(20, true) };
}

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "dump-"));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const sizes = (n: number, seed: number) => sum(Array.from({ length: n }, (_, i) => frame(i, seed).length));

test("dump: -w on SIGINT gives a pcap tcpdump and tshark read with no warning, exact count, bytes and frames (VLAN put back)", async () => {
  const why = netReason() ?? toolsReason();
  if (why) skip(why);
  await withDir(async (dir) => {
    using net = VethPair.create("dw");
    const file = join(dir, "live.pcap");
    const p = start([net.host, "-w", file]);
    await waitForPacketSocket(net.hostIndex);
    net.send(1000, { seed: 1 });
    net.send(300, { seed: 2, vlan: 7 });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(p.child.pid!, "SIGINT");
    const r = await p.done;
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^1300 packets captured$/m);
    assert.match(r.err, /^0 packets dropped by kernel$/m);
    const bytes = sizes(1000, 1) + sizes(300, 2);
    const seen = peers(file);
    assert.deepEqual(seen.tcpdump, { packets: 1300, bytes });
    assert.deepEqual(seen.tshark, { packets: 1300, bytes });
    assert.deepEqual(header(file), { magic: 0xa1b2c3d4, snaplen: 65535, linkType: 1 });
    using rd = openCaptureFile(file);
    let i = 0;
    for (let pk = rd.next(); pk; pk = rd.next(), i++) {
      const want = i < 1000 ? frame(i, 1) : frame(i - 1000, 2, 60, 1514, 7);
      assert.deepEqual(pk.bytes(), want, `frame ${i} byte for byte`);
      assert.equal(pk.wirelen, want.length);
      assert.equal(pk.tsNsec % 1000, 0, "microsecond timestamps");
    }
    assert.equal(i, 1300);
  });
});

test("dump: --nano and -s go into the header; -c stops after COUNT; a filter keeps only matches", async () => {
  const why = netReason() ?? toolsReason();
  if (why) skip(why);
  await withDir(async (dir) => {
    using net = VethPair.create("dn");
    const file = join(dir, "nano.pcap");
    const p = start([
      "-i",
      net.host,
      "-w",
      file,
      "--nano",
      "-s",
      "128",
      "-c",
      "200",
      "--json",
      "greater",
      "700",
    ]);
    await waitForPacketSocket(net.hostIndex);
    net.send(1000);
    const r = await p.done;
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(header(file), { magic: 0xa1b23c4d, snaplen: 128, linkType: 1 });
    const wanted = Array.from({ length: 1000 }, (_, i) => frame(i)).filter((f) => f.length >= 700).slice(
      0,
      200,
    );
    const seen = peers(file);
    assert.deepEqual(seen.tshark, { packets: 200, bytes: sum(wanted.map((f) => f.length)) });
    assert.equal(seen.tcpdump.packets, 200);
    using rd = openCaptureFile(file);
    let i = 0;
    for (let pk = rd.next(); pk; pk = rd.next(), i++) {
      assert.equal(pk.caplen, 128);
      assert.deepEqual(pk.bytes(), wanted[i].subarray(0, 128));
    }
    const last = JSON.parse(r.out.trim().split("\n").pop()!);
    assert.equal(last.dropped, 0);
    assert.ok(last.packets >= 200);
  });
});

test("dump: -C MB rotates by size (FILE, FILE1...), -W N reuses N files; every file reads clean", async () => {
  const why = netReason() ?? toolsReason();
  if (why) skip(why);
  await withDir(async (dir) => {
    using net = VethPair.create("dc");
    const file = join(dir, "size.pcap");
    const p = start([net.host, "-w", file, "-C", "0.2", "-c", "1000"]);
    await waitForPacketSocket(net.hostIndex);
    net.send(1000);
    const r = await p.done;
    assert.equal(r.code, 0, r.err);
    const files = readdirSync(dir).sort((a, b) => a.length - b.length || a.localeCompare(b));
    assert.ok(files.length >= 3, `several files: ${files}`);
    assert.deepEqual(files, files.map((_, k) => (k === 0 ? "size.pcap" : `size.pcap${k}`)));
    let packets = 0, bytes = 0;
    for (const f of files) {
      const s = peers(join(dir, f));
      packets += s.tshark.packets, bytes += s.tshark.bytes;
      const size = statSync(join(dir, f)).size;
      assert.ok(size <= 200_000 + 1514 + 16, `${f}: ${size} bytes`);
    }
    assert.equal(packets, 1000);
    assert.equal(bytes, sizes(1000, 1));
  });
});

test("dump: -W 3 with -C keeps three files, named FILE0..FILE2", async () => {
  const why = netReason() ?? toolsReason();
  if (why) skip(why);
  await withDir(async (dir) => {
    using net = VethPair.create("dw3");
    const p = start([net.host, "-w", join(dir, "x.pcap"), "-C", "0.05", "-W", "3", "-c", "1000"]);
    await waitForPacketSocket(net.hostIndex);
    net.send(1000);
    const r = await p.done;
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(readdirSync(dir).sort(), ["x.pcap0", "x.pcap1", "x.pcap2"]);
    for (const f of readdirSync(dir)) peers(join(dir, f));
  });
});

test("dump: -G SEC starts a new file every SEC seconds (strftime names)", async () => {
  const why = netReason() ?? toolsReason();
  if (why) skip(why);
  await withDir(async (dir) => {
    using net = VethPair.create("dg");
    const p = start([net.host, "-w", join(dir, "g-%s.pcap"), "-G", "1"]);
    await waitForPacketSocket(net.hostIndex);
    net.send(200, { seed: 1 });
    await new Promise((r) => setTimeout(r, 1300));
    net.send(200, { seed: 2 });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(p.child.pid!, "SIGINT");
    const r = await p.done;
    assert.equal(r.code, 0, r.err);
    const files = readdirSync(dir).sort();
    assert.ok(files.length >= 2, `two periods at least: ${files}`);
    for (const f of files) assert.match(f, /^g-\d{10}\.pcap$/);
    const total = sum(files.map((f) => peers(join(dir, f)).tshark.packets));
    assert.equal(total, 400);
  });
});

test("dump: SIGTERM in the middle of traffic leaves a complete file holding every packet captured", async () => {
  const why = netReason() ?? toolsReason();
  if (why) skip(why);
  await withDir(async (dir) => {
    using net = VethPair.create("dt");
    const file = join(dir, "term.pcap");
    const p = start([net.host, "-w", file]);
    await waitForPacketSocket(net.hostIndex);
    const txframes = join(ROOT, "libring/build/txframes");
    const tx = spawn("ip", ["netns", "exec", net.ns, txframes, net.peer, "100000", "--pps", "20000"], {
      stdio: "ignore",
    });
    await new Promise((r) => setTimeout(r, 700));
    process.kill(p.child.pid!, "SIGTERM");
    const r = await p.done;
    tx.kill("SIGKILL");
    await new Promise((res) => tx.once("close", res));
    assert.equal(r.code, 0, r.err);
    const captured = Number(/^(\d+) packets captured$/m.exec(r.err)?.[1]);
    assert.ok(captured > 1000, `traffic was flowing: ${captured}`);
    const seen = peers(file);
    assert.equal(seen.tcpdump.packets, captured);
    assert.equal(seen.tshark.packets, captured);
  });
});

test("dump: exit 2 with one line when -w cannot be written or the flags do not fit", () => {
  const cases: [string[], RegExp][] = [
    [["lo", "-w", "/nonexistent-dir/x.pcap"], /cannot write \/nonexistent-dir\/x\.pcap/],
    [["lo", "-w", "/tmp/x.pcap", "-W", "3"], /-W needs -C/],
    [["lo", "-C", "10"], /go with -w/],
    [["lo", "-w", "/tmp/x.pcap", "-C", "zero"], /-C/],
    [["lo", "-w", "-", "-G", "5"], /need a file/],
    [["nosuch0", "-w", "/tmp/x.pcap"], /nosuch0/],
  ];
  for (const [args, re] of cases) {
    const [cmd, argv] = runtimeArgv(DUMP, args);
    const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  }
});
