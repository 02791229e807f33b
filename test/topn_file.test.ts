/**
 * topn on a generated pcap with known top talkers, under the runtime running
 * the tests: --json per-interval objects in packet time and the whole-file
 * object checked against an independent count of what was written, --by
 * packets, -n, a filter, -c; the table's growth and overflow; exit 2 cases.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "./harness.ts";
import { ROOT, runtimeArgv } from "./net.ts";
import { arp, ether, ipv4, ipv6, tcp, udp } from "./fixtures/frames.ts";
import { PcapWriter } from "../lib/sink/pcap/writer.ts";
import { KeyTable } from "../lib/analysis/top/table.ts";
import { TopCounter } from "../lib/analysis/top/counter.ts";
import { FilePacket } from "../lib/source/file/file_packet.ts";

const TOPN = join(ROOT, "examples/topn.ts");
const T0 = 1_700_000_000;

interface Spec {
  src: string;
  dst: string;
  proto: "TCP" | "UDP" | "ARP";
  sport: number;
  dport: number;
  frame: Uint8Array;
  sec: number;
  nsec: number;
}

/** Talkers with distinct totals: 10.1.0.2 is the top host by bytes and packets; .1 beats .3 by bytes, not packets. */
function traffic(): Spec[] {
  const out: Spec[] = [];
  const add = (i: number, s: Omit<Spec, "sec" | "nsec">) =>
    out.push({ ...s, sec: T0 + (i % 3), nsec: i * 1000 });
  for (let i = 0; i < 60; i++) {
    const f = ether(
      0x0800,
      ipv4(
        { src: "10.1.0.1", dst: "10.1.0.2", proto: 6 },
        tcp({ sport: 40000, dport: 443 }, new Uint8Array(1000)),
      ),
    );
    add(i, { src: "10.1.0.1", dst: "10.1.0.2", proto: "TCP", sport: 40000, dport: 443, frame: f });
  }
  for (let i = 0; i < 210; i++) {
    const f = ether(
      0x0800,
      ipv4({ src: "10.1.0.3", dst: "10.1.0.2", proto: 17 }, udp(5353, 53, new Uint8Array(100))),
    );
    add(i, { src: "10.1.0.3", dst: "10.1.0.2", proto: "UDP", sport: 5353, dport: 53, frame: f });
  }
  for (let i = 0; i < 21; i++) {
    const f = ether(
      0x86dd,
      ipv6({ nh: 17, src: "2001:db8::5", dst: "2001:db8::6" }, udp(7000, 8000, new Uint8Array(500))),
    );
    add(i, { src: "2001:db8::5", dst: "2001:db8::6", proto: "UDP", sport: 7000, dport: 8000, frame: f });
  }
  for (let i = 0; i < 6; i++) {
    add(i, {
      src: "",
      dst: "",
      proto: "ARP",
      sport: 0,
      dport: 0,
      frame: ether(0x0806, arp(1, "10.1.0.1", "10.1.0.9")),
    });
  }
  // packet time order, as a capture would be
  return out.sort((a, b) => a.sec - b.sec || a.nsec - b.nsec);
}

function writePcap(path: string, specs: Spec[]): void {
  using w = PcapWriter.open(path, { snaplen: 65535 });
  for (const s of specs) w.writeBytes(s.frame, s.sec, s.nsec);
}

type Row = { packets: number; bytes: number };
/** The reference count, straight from what was written. */
function reference(specs: Spec[]) {
  const hosts = new Map<string, Row>(), pairs = new Map<string, Row>();
  const protocols = new Map<string, Row>(), ports = new Map<string, Row>();
  const bump = (m: Map<string, Row>, k: string, len: number) => {
    const r = m.get(k) ?? { packets: 0, bytes: 0 };
    r.packets++, r.bytes += len, m.set(k, r);
  };
  for (const s of specs) {
    const len = s.frame.length;
    bump(protocols, s.proto, len);
    if (s.proto === "ARP") continue;
    bump(hosts, s.src, len);
    if (s.dst !== s.src) bump(hosts, s.dst, len);
    bump(pairs, [s.src, s.dst].sort().join(" "), len);
    bump(ports, `${s.proto} ${s.sport}`, len);
    if (s.dport !== s.sport) bump(ports, `${s.proto} ${s.dport}`, len);
  }
  return { hosts, pairs, protocols, ports };
}

/** A row name as topn's key words: family then address words (v4 before v6); "TCP 443" as 6, 443. */
function keyOf(name: string): number[] {
  const addr = (a: string) =>
    a.includes(":")
      ? [6, ...ip6Words(a)]
      : [4, a.split(".").reduce((x, o) => x * 256 + Number(o), 0), 0, 0, 0];
  const [p, port] = name.split(" ");
  if (/^\d+$/.test(port ?? "")) return [p === "TCP" ? 6 : 17, Number(port)];
  if (port !== undefined) return [...addr(p), ...addr(port).slice(1)]; // a pair "a b"
  if (/^[0-9.:a-f]+$/.test(p) && (p.includes(".") || p.includes(":"))) return addr(p);
  return [({ ICMP: 1, TCP: 6, UDP: 17 } as Record<string, number>)[p] ?? 0x10000];
}

function ip6Words(a: string): number[] {
  const [l, r = ""] = a.split("::");
  const left = l ? l.split(":") : [], right = r ? r.split(":") : [];
  const h = [...left, ...new Array(8 - left.length - right.length).fill("0"), ...right].map((x) =>
    parseInt(x, 16)
  );
  return [0, 2, 4, 6].map((i) => h[i] * 65536 + h[i + 1]);
}

/** topn's order: bytes then packets (or the reverse), full ties to the lower key. */
function sorted(m: Map<string, Row>, byPackets = false): [string, Row][] {
  const byKey = (a: string, b: string) => {
    const x = keyOf(a), y = keyOf(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  };
  return [...m].sort((a, b) =>
    (byPackets
      ? b[1].packets - a[1].packets || b[1].bytes - a[1].bytes
      : b[1].bytes - a[1].bytes || b[1].packets - a[1].packets) || byKey(a[0], b[0])
  );
}

function topn(args: string[]) {
  const [cmd, argv] = runtimeArgv(TOPN, args);
  const r = spawnSync(cmd, argv, {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function withPcap(fn: (path: string, specs: Spec[]) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "topn-"));
  try {
    const specs = traffic();
    const path = join(dir, "talkers.pcap");
    writePcap(path, specs);
    fn(path, specs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// deno-lint-ignore no-explicit-any
type Json = any;
const rows = (list: Json[], key: (x: Json) => string) =>
  list.map((x) => [key(x), { packets: x.packets, bytes: x.bytes }]);

test("topn: --json on a pcap gives per-second objects in packet time and an exact whole-file object", () => {
  withPcap((path, specs) => {
    const r = topn(["-r", path, "--json", "-n", "50"]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 4, "3 one-second intervals + the whole file");
    const ref = reference(specs);
    const whole = lines[3];
    assert.deepEqual(Object.keys(lines[0]), ["ts", "interval", "totals", "top"]);
    assert.deepEqual(Object.keys(lines[0].top), ["hosts", "pairs", "protocols", "ports"]);
    const totalBytes = specs.reduce((a, s) => a + s.frame.length, 0);
    assert.deepEqual(whole.totals, { packets: specs.length, bytes: totalBytes, dropped: 0 });
    // DESIGN.md counters on the last line
    assert.equal(whole.packets, specs.length);
    assert.equal(whole.bytes, totalBytes);
    assert.equal(whole.dropped, 0);
    assert.equal(whole.filtered, 0);
    assert.ok(whole.seconds >= 0);
    assert.equal(whole.ts, T0);
    assert.deepEqual(rows(whole.top.hosts, (x) => x.addr), sorted(ref.hosts));
    assert.deepEqual(rows(whole.top.pairs, (x) => `${x.a} ${x.b}`), sorted(ref.pairs));
    assert.deepEqual(rows(whole.top.protocols, (x) => x.protocol), sorted(ref.protocols));
    assert.deepEqual(rows(whole.top.ports, (x) => `${x.protocol} ${x.port}`), sorted(ref.ports));
    assert.equal(whole.top.hosts[0].addr, "10.1.0.2");
    assert.equal(whole.top.hosts[1].addr, "10.1.0.1");
    // intervals: one per second of packet time, adding up to the whole file
    for (let k = 0; k < 3; k++) {
      const iv = lines[k];
      assert.equal(iv.ts, T0 + k);
      assert.equal(iv.interval, 1);
      const inK = specs.filter((s) => s.sec === T0 + k);
      assert.equal(iv.totals.packets, inK.length);
      assert.equal(iv.totals.bytes, inK.reduce((a, s) => a + s.frame.length, 0));
      assert.deepEqual(rows(iv.top.hosts, (x) => x.addr), sorted(reference(inK).hosts));
    }
  });
});

test("topn: --by packets, -n, a filter and -c on a file", () => {
  withPcap((path, specs) => {
    const byPkts = JSON.parse(
      topn(["-r", path, "--json", "-n", "2", "--by", "packets"]).out.trim().split("\n").pop()!,
    );
    assert.deepEqual(byPkts.top.hosts.map((h: Json) => h.addr), ["10.1.0.2", "10.1.0.3"]);
    assert.equal(byPkts.top.protocols[0].protocol, "UDP");
    for (const list of Object.values(byPkts.top)) assert.ok((list as Json[]).length <= 2);
    const r = topn(["-r", path, "--json", "--interval", "10", "udp"]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2, "one 10 s interval + the whole file");
    const udps = specs.filter((s) => s.proto === "UDP");
    assert.equal(lines[1].totals.packets, udps.length);
    assert.equal(lines[1].filtered, specs.length - udps.length);
    assert.deepEqual(lines[1].top.protocols.map((p: Json) => p.protocol), ["UDP"]);
    const c = JSON.parse(topn(["-r", path, "--json", "-c", "7"]).out.trim().split("\n").pop()!);
    assert.equal(c.totals.packets, 7);
  });
});

test("topn: text output on a file is the whole-file tables", () => {
  withPcap((path) => {
    const r = topn(["-r", path, "-n", "3"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /whole file/);
    assert.match(r.out, /^Hosts/m);
    assert.match(r.out, /^ {2}10\.1\.0\.2 /m);
    assert.match(r.out, /^Host pairs/m);
    assert.match(r.out, /^ {2}TCP 443 /m);
    assert.ok(!r.out.includes("\x1b["), "no escape sequences outside a terminal");
  });
});

test("topn: exit 2 with one line for bad -n, --by, --interval, missing file, bad filter, not a pcap", () => {
  withPcap((path) => {
    const cases: [string[], RegExp][] = [
      [["-r", path, "-n", "0"], /-n must be/],
      [["-r", path, "--by", "flows"], /--by must be bytes or packets/],
      [["-r", path, "--interval", "x"], /--interval/],
      [["-r", "/nonexistent/x.pcap"], /no such file/],
      [["-r", path, "tcp", "port"], /filter/],
      [["-r", join(ROOT, "package.json")], /not a pcap/],
      [["-r", path, "--bogus"], /unknown option --bogus/],
    ];
    for (const [args, re] of cases) {
      const r = topn(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, re);
      assert.equal(r.err.trim().split("\n").length, 1, `one line: ${r.err}`);
    }
  });
});

test("topn: KeyTable grows, keeps counts, and counts keys past maxEntries as overflow", () => {
  const t = new KeyTable(2, { initialSlots: 16, maxEntries: 5000 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 6000; i++) {
      t.key[0] = i;
      t.key[1] = i ^ 0xdeadbeef;
      t.add(1, i);
    }
  }
  assert.equal(t.size, 5000);
  assert.equal(t.overflowPackets, 3 * 1000);
  const top = t.top(3);
  assert.deepEqual(top.map((s) => t.keyWord(s, 0)), [4999, 4998, 4997]);
  assert.equal(t.bytesAt(top[0]), 3 * 4999);
  const u = new KeyTable(2);
  u.merge(t);
  assert.equal(u.size, 5000);
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(t.top(3).length, 0);
});

test("topn: TopCounter counts a packet's hosts once when source = destination", () => {
  const frame = ether(0x0800, ipv4({ src: "10.9.9.9", dst: "10.9.9.9", proto: 17 }, udp(53, 53, [1, 2, 3])));
  const p = new FilePacket(frame, new DataView(frame.buffer));
  p.caplen = p.wirelen = frame.length;
  const c = new TopCounter();
  c.add(p);
  const r = c.report(10, false, 0, 1, 0);
  assert.deepEqual(r.top.hosts, [{ addr: "10.9.9.9", packets: 1, bytes: frame.length }]);
  assert.deepEqual(r.top.ports, [{ protocol: "UDP", port: 53, packets: 1, bytes: frame.length }]);
});
