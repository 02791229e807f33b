/**
 * pcount end to end, under the runtime running the tests: exact --json
 * counters on a veth pair, SIGINT ends with the stats and exit 0, and the
 * DESIGN.md exit codes (2: could not start; 1: interface removed mid-capture).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { skip, test } from "./harness.ts";
import { netReason, ROOT, runtimeArgv, startScript, VethPair, waitForPacketSocket } from "./net.ts";
import { frame } from "./frames.ts";

const PCOUNT = join(ROOT, "examples/pcount.ts");

const start = (args: string[]) => startScript("examples/pcount.ts", args);

function runSync(args: string[], pre: string[] = []) {
  const [cmd, argv] = runtimeArgv(PCOUNT, args);
  const r = spawnSync(pre.length ? pre[0] : cmd, pre.length ? [...pre.slice(1), cmd, ...argv] : argv, {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("pcount: --json counts exactly the frames sent; SIGINT prints stats and exits 0", async () => {
  const why = netReason();
  if (why) skip(why);
  using net = VethPair.create("pc");
  const p = start([net.host, "--json", "--duration", "60"]);
  await waitForPacketSocket(net.hostIndex);
  const N = 5000;
  net.send(N);
  await new Promise((r) => setTimeout(r, 300));
  // process.kill, not child.kill: Deno's child_process reports a signal
  // exit after child.kill() whatever the child's real exit code was.
  process.kill(p.child.pid!, "SIGINT");
  const r = await p.done;
  assert.equal(r.code, 0, r.err);
  const last = JSON.parse(r.out.trim().split("\n").pop()!);
  assert.equal(last.packets, N);
  assert.equal(last.dropped, 0);
  assert.equal(last.filtered, 0);
  assert.equal(last.bytes, Array.from({ length: N }, (_, i) => frame(i).length).reduce((a, b) => a + b, 0));
  assert.ok(last.seconds > 0);
  assert.match(r.err, /Absolute Stats: \[5,000 pkts total\]\[0 pkts dropped\]\[0\.0% dropped\]/);
});

test("pcount: -c stops after COUNT packets, with a filter as trailing arguments", async () => {
  const why = netReason();
  if (why) skip(why);
  using net = VethPair.create("pcc");
  const p = start(["-i", net.host, "-c", "100", "--json", "greater", "700"]);
  await waitForPacketSocket(net.hostIndex);
  net.send(1000);
  const r = await p.done;
  assert.equal(r.code, 0, r.err);
  const last = JSON.parse(r.out.trim().split("\n").pop()!);
  assert.equal(last.read, 100);
});

test("pcount: exit 2 with one line for unknown interface, bad option, bad filter", () => {
  const cases: [string[], RegExp][] = [
    [["nosuch0"], /nosuch0.*no such interface/],
    [["lo", "--wait", "sleepy"], /--wait/],
    [["lo", "-s", "0"], /snaplen/],
    [["lo", "--ring-mb", "abc"], /--ring-mb/],
    [["lo", "--bogus"], /unknown option --bogus/],
    [["lo", "tcp", "port"], /filter/],
  ];
  for (const [args, re] of cases) {
    const r = runSync(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split("\n").length, 1, `one line: ${r.err}`);
    assert.doesNotMatch(r.err, /at .*\.ts:\d+/, "no stack trace");
  }
});

test("pcount: without CAP_NET_RAW it exits 2 naming the capability", () => {
  if (spawnSync("setpriv", ["--version"]).status !== 0) skip("setpriv (util-linux) is not installed");
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    skip("dropping a capability needs root");
  }
  const r = runSync(["lo", "-c", "1"], ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--"]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /CAP_NET_RAW/);
});

test("pcount: the interface deleted under a running capture ends it with exit 1 and a clear line", async () => {
  const why = netReason();
  if (why) skip(why);
  const net = VethPair.create("pcd");
  try {
    const p = start([net.host, "--json"]);
    await waitForPacketSocket(net.hostIndex);
    net.send(10);
    const t0 = Date.now();
    net.destroy();
    const r = await p.done;
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /removed|went down/);
    assert.ok(Date.now() - t0 < 3000, "ends within a few seconds");
    assert.match(r.err, /Absolute Stats: \[10 pkts total\]\[0 pkts dropped\]/, "the totals, then the error");
  } finally {
    net.destroy();
  }
});
