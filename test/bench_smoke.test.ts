/**
 * The benchmark's smallest case (`bench.ts --smoke`: a 300k-frame drain,
 * 64 B live capture on the plain veth setup, 10 lone packets; the flow probe
 * among the contenders, so its dummy UDP collector runs too; the scaling
 * section with pcount under Bun with 1 and 2 workers) runs end to end
 * under the runtime running the tests, and its JSON and SVG files have the
 * documented shape. Numbers are not checked: this machine is shared.
 *
 * Every run here starts the bench in a process group of its own and checks,
 * after it exited, that the group is empty (by process group, not by name:
 * whatever the bench started, under any name, is in it) and that no namespace
 * of the run is left: when it ends by itself, when it is interrupted (Ctrl-C
 * reaches the whole group; a supervisor's SIGTERM only the bench), and when a
 * contender fails.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { requireRoot, runtime, skip, test } from "./harness.ts";
import { ROOT } from "./net.ts";

const SCRIPT = join(ROOT, "scripts", "bench", "bench.ts");
const PROBE = existsSync(join(ROOT, "examples", "nprobe.ts"));
/** The smoke run ends in ~15-30 s here; the bound leaves room for a busy machine. */
const BOUND_MS = 80_000;

function needTools(): void {
  requireRoot();
  for (const t of ["trafgen", "tcpdump", "ethtool", "gcc"]) {
    if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) {
      skip(`${t} is not installed (bash scripts/setup.sh bench)`);
    }
  }
}

/** Live processes (zombies aside) whose process group is `pgid`, as "pid command line". */
function groupMembers(pgid: number): string[] {
  const out: string[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" "); // state ppid pgrp ...
      if (Number(f[2]) !== pgid || f[0] === "Z") continue;
      out.push(`${e} ${readFileSync(`/proc/${e}/cmdline`, "utf8").replace(/\0/g, " ").trim()}`);
    } catch { /* gone meanwhile */ }
  }
  return out;
}

interface BenchRun {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Processes of the bench's group still alive after it exited (then killed). */
  left: string[];
  /** Namespaces of the run still present after it exited. */
  namespaces: string[];
  /** Date.now() when it exited (or was killed at the bound). */
  endedAt: number;
}

/**
 * Run bench.ts in a new process group (as a shell runs a job); `during` may
 * act on it (signals) while it runs. After the exit, look for what is left;
 * kill it so a failing run does not spoil the next.
 */
async function runBench(
  args: string[],
  o: { env?: Record<string, string>; during?: (c: ChildProcess, err: () => string) => Promise<void> } = {},
): Promise<BenchRun> {
  const argv = runtime === "bun" ? ["run", SCRIPT] : ["run", "-A", SCRIPT];
  const c = spawn(process.execPath, [...argv, ...args], {
    detached: true, // its own process group: pgid = its pid
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...o.env },
  });
  const pgid = c.pid!;
  let stdout = "", stderr = "";
  c.stdout!.setEncoding("utf8").on("data", (d: string) => stdout += d);
  c.stderr!.setEncoding("utf8").on("data", (d: string) => stderr += d);
  const exited = new Promise<[number | null, string | null]>((resolve) =>
    c.on("close", (code, sig) => resolve([code, sig]))
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), BOUND_MS));
  if (o.during) void o.during(c, () => stderr).catch(() => {});
  const r = await Promise.race([exited, bound]);
  clearTimeout(timer);
  const endedAt = Date.now();
  const timedOut = r === "timeout";
  if (timedOut) spawnSync("kill", ["-KILL", `${pgid}`]);
  // what the bench left behind; a short grace for processes killed as it exited
  let left = groupMembers(pgid);
  for (let i = 0; i < 20 && left.length; i++) {
    await new Promise((res) => setTimeout(res, 100));
    left = groupMembers(pgid);
  }
  if (left.length) spawnSync("kill", ["-KILL", "--", `-${pgid}`]);
  const ns = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
  const namespaces = ns.split("\n").filter((l) => new RegExp(`^rcb${pgid}[tr]\\b`).test(l));
  for (const n of namespaces) spawnSync("ip", ["netns", "del", n.split(" ")[0]]);
  if (timedOut) await exited;
  const [status, signal] = timedOut ? [null, "timeout"] : r as [number | null, string | null];
  return { status, signal, stdout, stderr, timedOut, left, namespaces, endedAt };
}

function assertClean(r: BenchRun, what: string): void {
  const tail = r.stderr.slice(-1500);
  assert.ok(!r.timedOut, `${what}: still running after ${BOUND_MS / 1000} s (killed): ${tail}`);
  assert.deepEqual(r.left, [], `${what}: processes left behind in the bench's process group`);
  assert.deepEqual(r.namespaces, [], `${what}: namespaces left behind`);
  assert.equal(r.status, 0, `${what}: exited ${r.status} ${r.signal ?? ""}: ${tail}`);
}

/** Wait until the bench's stderr matches `re` (or it ended). */
async function stderrMatches(c: ChildProcess, err: () => string, re: RegExp): Promise<boolean> {
  while (!re.test(err())) {
    if (c.exitCode !== null || c.signalCode !== null) return false;
    await new Promise((res) => setTimeout(res, 50));
  }
  return true;
}

test(
  "bench --smoke: drain, live, latency and scaling rows, table, JSON, SVG; ends by itself, leaves nothing",
  async () => {
    needTools();
    const out = mkdtempSync(join(tmpdir(), "ringcap-bench-"));
    try {
      const r = await runBench(["--smoke", "--out", out]);
      assertClean(r, "bench --smoke");
      assert.match(r.stdout, /Drain rate/);
      assert.match(r.stdout, /% captured at trafgen's max rate/);
      assert.match(r.stdout, /Lone-packet latency/);
      assert.match(r.stdout, /Scaling: 1 vs 2 workers/);
      assert.match(r.stdout, /pcount bun .* x\d/);

      const R = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
      assert.equal(R.mode, "smoke");
      assert.equal(typeof R.date, "string");
      assert.ok(R.machine.cpus >= 1);
      const names = (rows: Array<{ contender?: string; reader?: string }>) =>
        new Set(rows.map((x) => x.contender ?? x.reader));
      const contenders = new Set(["pcount-bun", "cread", "tcpdump", ...(PROBE ? ["nprobe-bun"] : [])]);
      assert.deepEqual(names(R.drain), contenders);
      for (const d of R.drain) {
        assert.equal(d.read, d.frames);
        assert.ok(d.mpps > 0 && d.exitS > 0, JSON.stringify(d));
      }
      assert.deepEqual(names(R.live), contenders);
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
      // scaling: one drain and one live row each for 1 and 2 workers; the 2 rings together read every frame
      assert.deepEqual(
        R.scaling.drain.map((x: { contender: string; workers: number }) => [x.contender, x.workers]).sort(),
        [["pcount-bun", 1], ["pcount-bun-w2", 2]],
      );
      for (const d of R.scaling.drain) {
        assert.equal(d.read, d.warm + d.frames, JSON.stringify(d));
        assert.equal(d.dropped, 0);
        assert.equal(d.ringReadS.length, d.workers);
        assert.ok(d.readS > 0 && d.readMpps > 0 && d.startupMs > 0, JSON.stringify(d));
        if (d.workers === 2) {
          assert.equal(d.perWorker.length, 2);
          assert.equal(d.perWorker[0] + d.perWorker[1], d.read);
          assert.ok(d.perWorker.every((n: number) => n > 0), "the fanout hash sends each worker some flows");
        }
      }
      assert.deepEqual(names(R.scaling.live), new Set(["pcount-bun", "pcount-bun-w2"]));
      for (const l of R.scaling.live) {
        assert.ok(l.captured > 0 && l.pct > 0 && l.pct <= 100, JSON.stringify(l));
      }
      assert.ok(R.summary.scaling["pcount-bun"].ratio2wTo1w > 0);
      for (const f of ["drain.svg", "captured_vs_size_plain.svg"]) {
        const svg = readFileSync(join(out, f), "utf8");
        assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        assert.match(svg, /pcount-bun/);
      }
      assert.ok(!existsSync(join(out, "captured_vs_rate.svg")));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
  BOUND_MS + 20_000,
);

test("bench interrupted (Ctrl-C to its group, SIGTERM to it alone): exit 0 soon, nothing left", async () => {
  needTools();
  const out = mkdtempSync(join(tmpdir(), "ringcap-bench-"));
  try {
    // Ctrl-C: the terminal sends SIGINT to every process of the foreground group
    for (const [sig, group] of [["INT", true], ["TERM", false]] as const) {
      let sentAt = 0;
      const r = await runBench(["--smoke", "--out", out], {
        during: async (c, err) => {
          // once a first drain row is done: namespaces, the probe's collector and a contender ran
          if (!(await stderrMatches(c, err, /^ {2}(! )?drain /m))) return;
          sentAt = Date.now();
          spawnSync("kill", [`-${sig}`, "--", group ? `-${c.pid}` : `${c.pid}`]);
        },
      });
      const what = `SIG${sig} to the bench${group ? "'s process group" : ""}`;
      assert.ok(sentAt > 0, `${what}: no drain row before the end: ${r.stderr.slice(-1500)}`);
      assertClean(r, what);
      assert.match(r.stderr, /interrupted/, what);
      assert.ok(r.endedAt - sentAt < 15_000, `${what}: took ${r.endedAt - sentAt} ms to end`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 2 * BOUND_MS + 20_000);

test("bench with a failing contender: the others measured, exit 0, nothing left", async () => {
  needTools();
  const out = mkdtempSync(join(tmpdir(), "ringcap-bench-"));
  const bin = join(out, "bin");
  try {
    mkdirSync(bin);
    // a tcpdump that cannot start (as with a missing capability or a bad option)
    const fake = join(bin, "tcpdump");
    writeFileSync(fake, "#!/bin/sh\necho 'tcpdump: simulated failure' >&2\nsleep 0.2\nexit 1\n");
    chmodSync(fake, 0o755);
    const r = await runBench(["--smoke", "--out", out], { env: { PATH: `${bin}:${process.env.PATH}` } });
    assertClean(r, "bench --smoke with a failing tcpdump");
    assert.match(r.stderr, /! drain tcpdump /);
    assert.match(r.stderr, /! live tcpdump /);
    const R = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    const names = new Set(R.drain.map((x: { contender: string }) => x.contender));
    assert.ok(names.has("cread") && names.has("pcount-bun") && !names.has("tcpdump"), [...names].join());
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, BOUND_MS + 20_000);
