/**
 * The analysis shape's merge step, before any Worker exists: a capture file
 * is split in two, each half is analysed on its own, the two snapshots are
 * merged, and the result must equal the analysis of the whole file —
 * pcount's counters (split by alternate packets), topn's tables and reports
 * (split into first and second half), and the probe's flow records (split by
 * a symmetric flow hash, as a fanout group splits traffic between workers).
 * Also: importing mod.ts loads no CLI (cac), under Bun and Deno.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { runtime, test } from "./harness.ts";
import { ROOT } from "./net.ts";
import { ether, ipv4, ipv6, tcp, udp } from "./fixtures/frames.ts";
import { PcapWriter } from "../lib/sink/pcap/writer.ts";
import { openCaptureFile } from "../lib/source/file/mod.ts";
import { type AnalysisKind, runAnalysis } from "../lib/analysis/analysis.ts";
import { counting } from "../lib/analysis/count.ts";
import { topTalkers } from "../lib/analysis/top/analysis.ts";
import { TopCounter } from "../lib/analysis/top/counter.ts";
import { flowMetering, type FlowSnapshot } from "../lib/analysis/flow/meter.ts";
import { RecordBatch } from "../lib/analysis/flow/record_batch.ts";
import { Decoded } from "../lib/decode/decoded.ts";
import { decodeFrame } from "../lib/decode/mod.ts";

const T0 = 1_700_000_000;

/** 3,000 frames: 60 hosts, TCP/UDP both ways, IPv6, over 10 s of packet time. */
function frames(): { frame: Uint8Array; sec: number; nsec: number }[] {
  const out = [];
  for (let i = 0; i < 3000; i++) {
    const a = `10.0.${i % 7}.${1 + (i % 13)}`, b = `192.0.2.${1 + (i % 5)}`;
    const fwd = i % 3 !== 0;
    const [src, dst] = fwd ? [a, b] : [b, a];
    const sp = 30000 + (i % 11), dp = [53, 80, 443][i % 3];
    const [s, d] = fwd ? [sp, dp] : [dp, sp];
    const body = new Array(i % 200).fill(i & 255);
    const frame = i % 10 === 9
      ? ether(0x86dd, ipv6({ nh: 17, src: `2001:db8::${i % 4}`, dst: "2001:db8::ff" }, udp(s, d, body)))
      : i % 2
      ? ether(0x0800, ipv4({ src, dst, proto: 6 }, tcp({ sport: s, dport: d, flags: 0x10 }, body)))
      : ether(0x0800, ipv4({ src, dst, proto: 17 }, udp(s, d, body)));
    out.push({ frame, sec: T0 + Math.floor(i / 300), nsec: (i % 300) * 3_000_000 });
  }
  return out;
}

/** A symmetric flow key: both directions of a 5-tuple give the same number. */
function flowSide(frame: Uint8Array): number {
  const d = decodeFrame(
    frame,
    new DataView(frame.buffer, frame.byteOffset),
    0,
    frame.length,
    frame.length,
    -1,
    new Decoded(),
  );
  const addr = (o: number, n: number) => Array.from(frame.subarray(o, o + n)).join(".");
  const [x, y] = d.ipVersion === 4
    ? [String(d.src4), String(d.dst4)]
    : [addr(d.src6Offset, 16), addr(d.dst6Offset, 16)];
  const ends = [`${x}:${d.srcPort}`, `${y}:${d.dstPort}`].sort().join("|") + d.protocol;
  let h = 0;
  for (const c of ends) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h & 1;
}

function withFiles(
  fn: (whole: string, half: (pick: (i: number, f: Uint8Array) => boolean) => string[]) => Promise<void>,
) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "ringcap-merge-"));
    try {
      const all = frames();
      const write = (path: string, keep: (i: number) => boolean) => {
        const w = PcapWriter.open(path);
        all.forEach((f, i) => keep(i) && w.writeBytes(f.frame, f.sec, f.nsec));
        w.close();
        return path;
      };
      const whole = write(join(dir, "whole.pcap"), () => true);
      let n = 0;
      await fn(whole, (pick) => {
        n++;
        return [
          write(join(dir, `a${n}.pcap`), (i) => pick(i, all[i].frame)),
          write(join(dir, `b${n}.pcap`), (i) => !pick(i, all[i].frame)),
        ];
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** The merge of every snapshot of a run over the file (all of each: records included). */
async function analyse<O, S>(path: string, kind: AnalysisKind<O, S>, o: O): Promise<S> {
  using src = openCaptureFile(path);
  let all: S | undefined;
  await runAnalysis(src, kind, o, {
    handleSignals: false,
    onSnapshot: (s) => (all = all === undefined ? s : kind.merge(all, s)),
  });
  return all!;
}

async function splitMerge<O, S>(kind: AnalysisKind<O, S>, o: O, halves: string[]): Promise<S> {
  const [a, b] = await Promise.all(halves.map((h) => analyse(h, kind, o)));
  return kind.merge(a, b);
}

test(
  "merge: pcount's counters of two halves (alternate packets) equal the whole file's",
  withFiles(async (whole, half) => {
    const merged = await splitMerge(counting, {}, half((i) => i % 2 === 0));
    const all = await analyse(whole, counting, {});
    assert.ok(all.packets === 3000 && all.bytes > 3000 * 60);
    assert.deepEqual(merged, all);
  }),
);

test(
  "merge: topn's tables of two halves (first and second half) equal the whole file's, reports included",
  withFiles(async (whole, half) => {
    const o = { interval: 3600, packetTime: false };
    const merged = await splitMerge(topTalkers, o, half((i) => i < 1500));
    const all = await analyse(whole, topTalkers, o);
    const report = (s: typeof all) => {
      const c = new TopCounter();
      c.load(s);
      return c.report(10, false, 0, 0, 0);
    };
    assert.equal(merged.packets, 3000);
    assert.deepEqual(report(merged), report(all));
    assert.equal(report(all).top.hosts.length, 10);
    // every entry, not only the top: the same keys with the same counts
    const entries = (s: typeof all) =>
      [s.hosts, s.pairs, s.protocols, s.ports].map((t) => {
        const w = t.keys.length / Math.max(1, t.packets.length);
        const rows = [];
        for (let i = 0; i < t.packets.length; i++) {
          rows.push(`${Array.from(t.keys.subarray(i * w, i * w + w))}=${t.packets[i]}/${t.bytes[i]}`);
        }
        return rows.sort();
      });
    assert.deepEqual(entries(merged), entries(all));
  }),
);

test(
  "merge: the probe's flow records of two halves split by flow hash equal the whole file's",
  withFiles(async (whole, half) => {
    const o = { idleTimeout: 15, activeTimeout: 60 };
    const merged = await splitMerge(flowMetering, o, half((_, f) => flowSide(f) === 0));
    const all = await analyse(whole, flowMetering, o);
    const rows = (s: FlowSnapshot) => {
      const out: string[] = [];
      RecordBatch.forEach(s.records, (r) => {
        out.push(
          [r.ipVersion, r.src4, r.dst4, ...r.src6, ...r.dst6, r.srcPort, r.dstPort, r.protocol, r.tcpFlags]
            .join(",") + ` ${r.packets}/${r.bytes} ${r.firstMs}-${r.lastMs} ${r.endReason}`,
        );
      });
      return out.sort();
    };
    assert.ok(all.records.count > 50, `${all.records.count} flows`);
    assert.equal(merged.records.count, all.records.count);
    assert.deepEqual(rows(merged), rows(all));
    const { records: _a, ...mc } = merged, { records: _b, ...ac } = all;
    assert.deepEqual(mc, ac);
  }),
);

test("mod.ts loads no CLI: importing it does not load cac", () => {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-mod-"));
  try {
    const script = join(dir, "probe.ts");
    // the library imports and runs without the CLI under the runtime running the tests
    writeFileSync(
      script,
      `import * as lib from ${JSON.stringify(join(ROOT, "mod.ts"))};\n` +
        `console.log(typeof lib.Ring, typeof lib.runAnalysis);\n`,
    );
    const env = { ...process.env, NODE_OPTIONS: "" };
    const argv = runtime === "bun" ? [script] : ["run", "-A", "--no-check", script];
    const r = spawnSync(process.execPath, argv, { encoding: "utf8", env, cwd: ROOT });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "function function");
    // the module graph mod.ts pulls in: no file of lib/cli/ and no cac
    const g = spawnSync(join(ROOT, "node_modules/.bin/deno"), ["info", "--json", join(ROOT, "mod.ts")], {
      encoding: "utf8",
      cwd: ROOT,
    });
    assert.equal(g.status, 0, g.stderr);
    const mods: string[] = JSON.parse(g.stdout).modules.map((m: { specifier: string }) => m.specifier);
    assert.ok(mods.length > 30, `${mods.length} modules`);
    assert.deepEqual(mods.filter((m) => /\/lib\/cli\/|cac/.test(m)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
