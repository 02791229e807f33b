/**
 * Golden outputs: every tool, run on one deterministic capture file, prints
 * and writes exactly what test/golden/ holds — byte for byte. The files were
 * made by the tools as they were before the analysis-shape refactor (issue
 * 14), so this test is the proof that moving the tools onto the shape
 * changed no output: topn's text and --json, `ringcap count`, dump's lines
 * and the pcap it writes, and the NetFlow v5, v9 and IPFIX datagrams the
 * probe sends. Times that depend on the run (`seconds`) are masked.
 *
 * Remake the files (only when an output change is intended):
 *   RINGCAP_GOLDEN_WRITE=1 bun test ./test/golden_output.test.ts
 * RINGCAP_GOLDEN_ROOT=DIR runs the tools of another checkout (e.g. an older commit).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "./harness.ts";
import { ROOT } from "./net.ts";
import { ether, ipv4, ipv6, tcp, udp } from "./fixtures/frames.ts";
import { PcapWriter } from "../lib/sink/pcap/writer.ts";

const TOOLS = process.env.RINGCAP_GOLDEN_ROOT ?? ROOT;
const GOLDEN = join(ROOT, "test", "golden");
const WRITE = process.env.RINGCAP_GOLDEN_WRITE === "1";
const T0 = 1_700_000_000;

/** 2,000 frames over 30 s of packet time: TCP (with FIN), UDP, IPv6, a VLAN tag, ARP-less. */
function writeCapture(path: string): void {
  const w = PcapWriter.open(path);
  for (let i = 0; i < 2000; i++) {
    const a = `10.1.${i % 5}.${1 + (i % 17)}`, b = `203.0.113.${1 + (i % 3)}`;
    const fwd = i % 4 !== 0;
    const [src, dst] = fwd ? [a, b] : [b, a];
    const sp = 40000 + (i % 23), dp = [22, 53, 443, 8080][i % 4];
    const [s, d] = fwd ? [sp, dp] : [dp, sp];
    const body = new Array((i * 7) % 300).fill(i & 255);
    const frame = i % 13 === 0
      ? ether(
        0x86dd,
        ipv6({ nh: 6, src: `2001:db8::${i % 6}`, dst: "2001:db8::1" }, tcp({ sport: s, dport: d }, body)),
      )
      : i % 2
      ? ether(
        0x0800,
        ipv4(
          { src, dst, proto: 6, tos: i % 3 },
          tcp({ sport: s, dport: d, flags: i % 97 ? 0x18 : 0x11 }, body),
        ),
      )
      : ether(0x0800, ipv4({ src, dst, proto: 17 }, udp(s, d, body)), i % 11 === 0 ? [{ tci: 7 }] : []);
    w.writeBytes(frame, T0 + Math.floor(i / 66), (i % 66) * 15_000_000);
  }
  w.close();
}

function tool(dir: string, script: string, args: string[]): { stdout: string; stderr: string } {
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  const argv = isBun ? ["run", join(TOOLS, script), ...args] : ["run", "-A", join(TOOLS, script), ...args];
  const r = spawnSync(process.execPath, argv, {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, TZ: "UTC", NO_COLOR: "1" },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `${script} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/**
 * Times that depend on the run masked, and keys added to the final JSON
 * objects after these files were made removed (the probe's per-collector
 * export counters, issue 18): the rest must be what it was.
 */
const mask = (s: string) =>
  s.replace(/,"collectors":\[[^\]]*\]/g, "")
    .replace(/"seconds":[0-9.e-]+/g, '"seconds":X').replace(/\((eof|count), [0-9.]+ s\)/g, "($1, X s)");

function check(name: string, actual: string | Uint8Array): void {
  const path = join(GOLDEN, name);
  const bytes = typeof actual === "string" ? new TextEncoder().encode(actual) : actual;
  if (WRITE) {
    writeFileSync(path, bytes);
    return;
  }
  assert.ok(existsSync(path), `${path} is missing: make it with RINGCAP_GOLDEN_WRITE=1`);
  const want = readFileSync(path);
  if (typeof actual === "string") assert.equal(actual, want.toString("utf8"), name);
  else assert.ok(Buffer.compare(Buffer.from(bytes), want) === 0, `${name}: bytes differ`);
}

function inDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "ringcap-golden-"));
    try {
      writeCapture(join(dir, "g.pcap"));
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  "golden: topn -r (text, --json per 5 s, --by packets -n 3, a filter) prints what it printed before",
  inDir((dir) => {
    check("topn.txt", tool(dir, "examples/topn.ts", ["-r", "g.pcap"]).stdout);
    check(
      "topn.json",
      mask(tool(dir, "examples/topn.ts", ["-r", "g.pcap", "--json", "--interval", "5"]).stdout),
    );
    check(
      "topn_packets.json",
      mask(
        tool(dir, "lib/cli/ringcap.ts", [
          "top",
          "-r",
          "g.pcap",
          "--json",
          "--by",
          "packets",
          "-n",
          "3",
          "udp",
        ]).stdout,
      ),
    );
  }),
);

test(
  "golden: ringcap count -r and dump -r / -w write what they wrote before",
  inDir((dir) => {
    check("count.txt", tool(dir, "lib/cli/ringcap.ts", ["count", "-r", "g.pcap", "tcp"]).stdout);
    const j = tool(dir, "lib/cli/ringcap.ts", ["count", "-r", "g.pcap", "--json", "-c", "777"]);
    check("count.json", mask(j.stderr + j.stdout));
    check("dump.txt", tool(dir, "examples/dump.ts", ["-r", "g.pcap", "-c", "300"]).stdout);
    const d = tool(dir, "lib/cli/ringcap.ts", [
      "dump",
      "-r",
      "g.pcap",
      "-w",
      "out.pcap",
      "--nano",
      "--json",
      "vlan or ip6",
    ]);
    check("dump_w.json", mask(d.stdout));
    check("dump_w.pcap", readFileSync(join(dir, "out.pcap")));
  }),
);

for (const v of ["5", "9", "10"]) {
  test(`golden: the probe -r -V ${v} sends the datagrams it sent before`, async () => {
    const sock = createSocket("udp4");
    const got: Uint8Array[] = [];
    sock.on("message", (m) => got.push(new Uint8Array(m)));
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const port = sock.address().port;
    try {
      await inDir(async (dir) => {
        const r = tool(dir, "examples/nprobe.ts", [
          "-r",
          "g.pcap",
          "-n",
          `127.0.0.1:${port}`,
          "-V",
          v,
          "-d",
          "3",
          "--json",
        ]);
        // the probe has sent every datagram before it exits; they wait in the socket until the loop turns
        await new Promise((res) => setTimeout(res, 300));
        check(`nprobe_v${v}.txt`, mask(r.stderr + r.stdout));
        const all = new Uint8Array(got.reduce((n, g) => n + 4 + g.length, 0));
        let o = 0;
        for (const g of got) { // length-prefixed, in arrival order (one sender, loopback: in order)
          new DataView(all.buffer).setUint32(o, g.length);
          all.set(g, o + 4);
          o += 4 + g.length;
        }
        assert.ok(got.length > 3, `${got.length} datagrams`);
        check(`nprobe_v${v}.bin`, all);
      })();
    } finally {
      sock.close();
    }
  });
}
