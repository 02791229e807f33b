/**
 * The benchmark's smallest case (`bench.ts --smoke`: a 300k-frame drain,
 * 64 B live capture on the plain veth setup, 10 lone packets) runs end to
 * end under the runtime running the tests, and its JSON and SVG files have
 * the documented shape. Numbers are not checked: this machine is shared.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { requireRoot, runtime, skip, test } from "./harness.ts";
import { ROOT } from "./net.ts";

test("bench --smoke: drain, live and latency rows, table, JSON, SVG", () => {
  requireRoot();
  for (const t of ["trafgen", "tcpdump", "ethtool", "gcc"]) {
    if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) {
      skip(`${t} is not installed (bash scripts/setup.sh bench)`);
    }
  }
  const out = mkdtempSync(join(tmpdir(), "ringcap-bench-"));
  try {
    const script = join(ROOT, "scripts", "bench", "bench.ts");
    const argv = runtime === "bun" ? ["run", script] : ["run", "-A", script];
    const r = spawnSync(process.execPath, [...argv, "--smoke", "--out", out], {
      encoding: "utf8",
      timeout: 55_000,
    });
    assert.equal(r.status, 0, `bench --smoke exited ${r.status} ${r.signal ?? ""}: ${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /Drain rate/);
    assert.match(r.stdout, /% captured at trafgen's max rate/);
    assert.match(r.stdout, /Lone-packet latency/);

    const R = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    assert.equal(R.mode, "smoke");
    assert.equal(typeof R.date, "string");
    assert.ok(R.machine.cpus >= 1);
    const names = (rows: Array<{ contender?: string; reader?: string }>) =>
      new Set(rows.map((x) => x.contender ?? x.reader));
    assert.deepEqual(names(R.drain), new Set(["pcount-bun", "cread", "tcpdump"]));
    for (const d of R.drain) {
      assert.equal(d.read, d.frames);
      assert.ok(d.mpps > 0 && d.exitS > 0, JSON.stringify(d));
    }
    assert.deepEqual(names(R.live), new Set(["pcount-bun", "cread", "tcpdump"]));
    for (const l of R.live) {
      assert.equal(l.setup, "plain");
      assert.equal(l.size, 64);
      assert.ok(l.sent >= 200_000 && l.captured > 0 && l.pct > 0 && l.pct <= 100, JSON.stringify(l));
    }
    assert.ok(R.latency.length >= 2);
    for (const x of R.latency) {
      assert.equal(x.packets, 10);
      assert.ok(x.medianUs > 0 && x.p99Us >= x.medianUs, JSON.stringify(x));
    }
    assert.ok(R.summary.drainVsCread["64|pcount-bun"].exit.median > 0);
    assert.ok(R.summary.drainVsCread["64|pcount-bun"].read.median > 0);
    for (const f of ["drain.svg", "captured_vs_size_plain.svg"]) {
      const svg = readFileSync(join(out, f), "utf8");
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /pcount-bun/);
    }
    assert.ok(!existsSync(join(out, "captured_vs_rate.svg")));
    // everything torn down: no namespace of that run left
    const ns = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
    if (r.pid) assert.doesNotMatch(ns, new RegExp(`^rcb${r.pid}[tr]\\b`, "m"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
