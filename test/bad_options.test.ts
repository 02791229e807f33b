/**
 * Bad options, everywhere: every tool (pcount, topn, dump, nprobe, and the
 * ringcap CLI's subcommands) given a bad ring size, snap length, wait mode,
 * count, sampling, filter, interface — and the probe a bad collector —
 * answers with ONE line on stderr naming the problem, exit 2, no stack trace.
 * And the library: 300 failed Ring.open calls leave no file descriptor open.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { encodeOptions, Ring } from "../lib/source/live/ring.ts";
import { RingError } from "../lib/source/live/errors.ts";
import { isRoot, skip, test } from "./harness.ts";
import { ROOT, runScript, runtimeArgv } from "./net.ts";

const TOOLS: [string, string[]][] = [
  ["examples/pcount.ts", []],
  ["examples/topn.ts", []],
  ["examples/dump.ts", ["-w", "/tmp/ringcap-never-written.pcap"]],
  ["examples/nprobe.ts", ["-n", "127.0.0.1:9"]],
  ["lib/cli/ringcap.ts", ["count"]],
];

/** [args, what the one line must mention] */
const BAD: [string[], RegExp][] = [
  [["lo", "--ring-mb", "0"], /ring-mb/],
  [["lo", "--ring-mb", "99999999"], /ring-mb/],
  [["lo", "--ring-mb", "lots"], /ring-mb/],
  [["lo", "-s", "0"], /snaplen|-s/],
  [["lo", "-s", "262145"], /snaplen|-s/],
  [["lo", "--wait", "sleepy"], /--wait/],
  [["lo", "-c", "-5"], /count|-c|-5/],
  [["lo", "--sampling", "0"], /sampling/],
  [["lo", "--duration", "soon"], /duration/],
  [["lo", "--frobnicate"], /frobnicate/],
  [["lo", "tcp", "port"], /filter|syntax/],
  [["no-such-if0"], /no-such-if0/],
];

const run = (script: string, args: string[]) => runScript(script, args);

for (const [script, base] of TOOLS) {
  test(`bad options: ${script} ${base.join(" ")} → one line naming the option, exit 2`, () => {
    if (!isRoot()) skip("the interface and filter cases open a capture (needs root)");
    for (const [args, re] of BAD) {
      const all = script.endsWith("ringcap.ts") ? [...base, ...args] : [...args, ...base];
      const r = run(script, all);
      const what = `${script} ${all.join(" ")}`;
      assert.equal(r.code, 2, `${what}: exit ${r.code}: ${r.err}`);
      assert.match(r.err, re, what);
      assert.equal(r.err.trim().split("\n").length, 1, `${what}: one line, got: ${r.err}`);
      assert.doesNotMatch(r.err, /\bat .*\.ts:\d+|Error:.*\n\s+at /, `${what}: no stack trace`);
    }
  }, 300_000);
}

test("bad options: the probe refuses bad collector addresses, versions and flow delays", () => {
  const ok = ["-n", "127.0.0.1:9"];
  const cases: [string[], RegExp][] = [
    [["-n", "nohost"], /nohost/],
    [["-n", "1.2.3.4:99999"], /collector/],
    [["-n", "[::1:9"], /collector/],
    [[...ok, "-V", "7"], /-V/],
    [[...ok, "-e", "-1"], /-e -1: negative/],
    [[...ok, "--flow-delay", "soon"], /flow delay/],
    [[...ok, "-e", "5000"], /flow delay/],
    [
      [...ok, "--collector-mode", "broadcast"],
      /--collector-mode must be copy or round-robin, got 'broadcast'/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = run("examples/nprobe.ts", ["-r", "/dev/null", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, re, args.join(" "));
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
  }
});

test("bad options: 300 failed Ring.open calls leave no file descriptor or handle behind", async () => {
  if (!isRoot()) skip("opening captures needs root");
  // the fds open now, by number and what they point at (other tests' child pipes may close meanwhile:
  // only an fd that is new afterwards is a leak)
  const fds = () =>
    new Set(
      readdirSync("/proc/self/fd").map((n) => {
        try {
          return `${n} -> ${readlinkSync(`/proc/self/fd/${n}`)}`;
        } catch {
          return `${n} (closed while listed)`;
        }
      }),
    );
  const before = fds();
  const leaked = () => [...fds()].filter((f) => !before.has(f) && !f.includes("closed while listed"));
  for (let i = 0; i < 100; i++) {
    await assert.rejects(Ring.open("lo", { filter: "tcp port" }), (e: unknown) => e instanceof RingError);
    await assert.rejects(Ring.open("no-such-if0"), (e: unknown) => e instanceof RingError);
    assert.throws(() => encodeOptions({ snaplen: 0 }), RingError);
  }
  await assert.rejects(
    Ring.open("lo", { ringMb: 4096 }),
    (e: unknown) => e instanceof RingError && e.code === "EINVAL",
  );
  assert.deepEqual(leaked(), [], "file descriptors leaked");
  // and the handle table still has room: a good open works
  using ring = await Ring.open("lo", { ringMb: 1 });
  assert.equal(ring.backend === "packet" || ring.backend === "ring", true);
});

test("permissions: without CAP_NET_RAW every tool exits 2 naming the capability", () => {
  if (!isRoot()) skip("dropping a capability with setpriv needs root");
  if (spawnSync("setpriv", ["--version"]).status !== 0) skip("setpriv (util-linux) is not installed");
  for (const [script, base] of TOOLS) {
    const [cmd, argv] = runtimeArgv(join(ROOT, script), [
      ...(script.endsWith("ringcap.ts") ? base : []),
      "lo",
      ...(script.endsWith("ringcap.ts") ? [] : base),
    ]);
    const r = spawnSync("setpriv", ["--bounding-set=-net_raw", "--inh-caps=-net_raw", "--", cmd, ...argv], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(r.status, 2, `${script}: ${r.stderr}`);
    assert.match(r.stderr, /CAP_NET_RAW/, script);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${script}: ${r.stderr}`);
  }
});
