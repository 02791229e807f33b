/**
 * dump -r, under the runtime running the tests: one line per packet as
 * `tcpdump -n` prints it (briefly), -r/-w with a filter read back by tshark,
 * -G rotation in packet time, standard input/output ("-"), and a damaged file:
 * the packets before the damage, one line, exit 1.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skip, test } from "./harness.ts";
import { ROOT, runtimeArgv } from "./net.ts";
import { arp, ether, icmp, ipv4, ipv6, tcp, udp } from "./fixtures/frames.ts";
import { PcapWriter } from "../lib/sink/pcap/writer.ts";

const DUMP = join(ROOT, "examples/dump.ts");
const T0 = 1_700_000_000;

function dump(args: string[], input?: Uint8Array) {
  const [cmd, argv] = runtimeArgv(DUMP, args);
  const r = spawnSync(cmd, argv, {
    input,
    timeout: 60_000,
    env: { ...process.env, TZ: "UTC" },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, out: r.stdout?.toString("latin1") ?? "", err: r.stderr?.toString() ?? "" };
}

const FRAMES = [
  ether(0x0800, ipv4({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17 }, udp(5000, 6000, new Uint8Array(100)))),
  ether(
    0x0800,
    ipv4(
      { src: "10.0.0.1", dst: "10.0.0.2", proto: 6 },
      tcp({ sport: 40000, dport: 33333, flags: 0x12 }, new Uint8Array(30)),
    ),
  ),
  ether(0x86dd, ipv6({ nh: 17 }, udp(1, 2, new Uint8Array(10)))),
  ether(
    0x0800,
    ipv4({ src: "10.0.0.2", dst: "10.0.0.1", proto: 1 }, icmp(8, 0, [0, 1, 0, 1], new Uint8Array(56))),
  ),
  ether(0x0806, arp(1, "10.0.0.1", "10.0.0.2")),
  ether(0x88b5, new Uint8Array(46)),
];

function withFile(fn: (dir: string, path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "dumpr-"));
  try {
    const path = join(dir, "in.pcap");
    using w = PcapWriter.open(path);
    FRAMES.forEach((f, i) => w.writeBytes(f, T0 + i, 123456789));
    w.close();
    fn(dir, path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function hasTools(): string | null {
  for (const t of ["tcpdump", "tshark"]) {
    if (spawnSync(t, ["--version"], { stdio: "ignore" }).error) {
      return `${t} is not installed (the peer it is compared with)`;
    }
  }
  return null;
}

test("dump -r: one line per packet, as tcpdump -n prints it", () => {
  const why = hasTools();
  if (why) skip(why);
  withFile((_dir, path) => {
    const r = dump(["-r", path]);
    assert.equal(r.code, 0, r.err);
    const ours = r.out.trim().split("\n");
    const td = spawnSync("tcpdump", ["-nr", path], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } });
    const theirs = td.stdout.split("\n").filter((l) => /^\d\d:/.test(l));
    assert.equal(ours.length, FRAMES.length);
    assert.equal(theirs.length, FRAMES.length);
    // identical lines: UDP, IPv6 UDP, ARP, unknown EtherType
    for (const i of [0, 2, 4]) assert.equal(ours[i], theirs[i]);
    assert.equal(ours[5] + ": ", theirs[5], "tcpdump goes on with a hex dump of the unknown payload");
    // brief forms: same time, addresses, flags/type and length as tcpdump's
    assert.equal(ours[1], "22:13:21.123456 IP 10.0.0.1.40000 > 10.0.0.2.33333: Flags [S.], length 30");
    assert.ok(theirs[1].startsWith("22:13:21.123456 IP 10.0.0.1.40000 > 10.0.0.2.33333: Flags [S.], "));
    assert.ok(theirs[1].endsWith(", length 30"));
    assert.equal(ours[3], "22:13:23.123456 IP 10.0.0.2 > 10.0.0.1: ICMP echo request, length 64");
    assert.ok(theirs[3].startsWith("22:13:23.123456 IP 10.0.0.2 > 10.0.0.1: ICMP echo request, "));
    assert.ok(theirs[3].endsWith(", length 64"));
  });
});

test("dump -r FILE -w OUT filter: tshark reads OUT with the matching packets; --json counts the rest as filtered", () => {
  const why = hasTools();
  if (why) skip(why);
  withFile((dir, path) => {
    const out = join(dir, "udp.pcap");
    const r = dump(["-r", path, "-w", out, "--json", "udp"]);
    assert.equal(r.code, 0, r.err);
    const last = JSON.parse(r.out.trim().split("\n").pop()!);
    assert.equal(last.packets, 2);
    assert.equal(last.filtered, FRAMES.length - 2);
    const ts = spawnSync("tshark", ["-r", out, "-T", "fields", "-e", "frame.len", "-e", "frame.time_epoch"], {
      encoding: "utf8",
    });
    assert.equal(ts.status, 0, ts.stderr);
    const rows = ts.stdout.trim().split("\n").map((l) => l.split("\t"));
    assert.deepEqual(rows.map((x) => Number(x[0])), [FRAMES[0].length, FRAMES[2].length]);
    assert.deepEqual(rows.map((x) => x[1].slice(0, 17)), [`${T0}.123456`, `${T0 + 2}.123456`]);
  });
});

test("dump -r with -G: a new file per period of packet time", () => {
  withFile((dir, path) => {
    const r = dump(["-r", path, "-w", join(dir, "g-%s.pcap"), "-G", "2"]);
    assert.equal(r.code, 0, r.err);
    const files = readdirSync(dir).filter((f) => f.startsWith("g-")).sort();
    assert.deepEqual(files, [`g-${T0}.pcap`, `g-${T0 + 2}.pcap`, `g-${T0 + 4}.pcap`]);
  });
});

test("dump: '-r -' reads standard input and '-w -' writes a pcap to standard output", () => {
  withFile((_dir, path) => {
    const input = readFileSync(path);
    const r = dump(["-r", "-", "-w", "-", "tcp or icmp"], input);
    assert.equal(r.code, 0, r.err);
    const out = Buffer.from(r.out, "latin1");
    assert.equal(out.readUInt32LE(0), 0xa1b2c3d4);
    const back = dump(["-r", "-"], out);
    assert.equal(back.code, 0, back.err);
    assert.equal(back.out.trim().split("\n").length, 2);
  });
});

test("dump -r: a damaged file prints the packets before the damage, then one line, exit 1", () => {
  withFile((dir, path) => {
    const bytes = readFileSync(path);
    const cut = join(dir, "cut.pcap");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 20));
    const r = dump(["-r", cut]);
    assert.equal(r.code, 1, r.err);
    assert.equal(r.out.trim().split("\n").length, FRAMES.length - 1);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(r.err, /cut\.pcap/);
  });
});
