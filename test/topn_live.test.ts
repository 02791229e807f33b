/**
 * topn live, under the runtime running the tests: exact top talkers on a veth
 * pair (IP frames sent with trafgen from the namespace), intervals adding up
 * to the whole capture, -c, the default interface, and on a terminal (a pty
 * from `script`) a redrawn screen that Ctrl-C gives back clean.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skip, test } from "./harness.ts";
import { netReason, ROOT, runtimeArgv, startProcess, VethPair, waitForPacketSocket } from "./net.ts";
import { ether, ipv4, tcp, udp } from "./fixtures/frames.ts";
import { defaultInterface } from "../lib/cli/common.ts";

const TOPN = join(ROOT, "examples/topn.ts");

function trafgenReason(): string | null {
  // trafgen exits 1 even for --version: "not installed" is a spawn error (ENOENT)
  return spawnSync("trafgen", ["--version"], { stdio: "ignore" }).error === undefined
    ? null
    : "trafgen (package netsniff-ng) is not installed: it sends the IP frames";
}

/** Send `count` copies of `frame` from the namespace's end of the pair. */
function sendFrame(net: VethPair, frame: Uint8Array, count: number): void {
  const dir = mkdtempSync(join(tmpdir(), "topn-tg-"));
  try {
    const conf = join(dir, "f.cfg");
    writeFileSync(conf, `{ ${[...frame].map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ")} }\n`);
    const r = spawnSync("ip", [
      "netns",
      "exec",
      net.ns,
      "trafgen",
      "--dev",
      net.peer,
      "--conf",
      conf,
      "-n",
      String(count),
      "-t",
      "0",
    ], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const start = startProcess;

const A = ether(
  0x0800,
  ipv4({ src: "10.7.0.1", dst: "10.7.0.2", proto: 6 }, tcp({ sport: 33000, dport: 80 }, new Uint8Array(900))),
);
const B = ether(
  0x0800,
  ipv4({ src: "10.7.0.3", dst: "10.7.0.2", proto: 17 }, udp(4000, 53, new Uint8Array(40))),
);

test("topn live: --json reports the exact top talkers of a veth pair; intervals add up; SIGINT exits 0", async () => {
  const why = netReason() ?? trafgenReason();
  if (why) skip(why);
  using net = VethPair.create("tnl");
  const [cmd, argv] = runtimeArgv(TOPN, [net.host, "--json", "--interval", "0.25", "-n", "5"]);
  const p = start(cmd, argv);
  await waitForPacketSocket(net.hostIndex);
  sendFrame(net, A, 300);
  sendFrame(net, B, 500);
  await new Promise((r) => setTimeout(r, 600));
  process.kill(p.child.pid!, "SIGINT");
  const r = await p.done;
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(lines.length >= 3, `intervals then the whole capture: ${r.out}`);
  const whole = lines.at(-1);
  const bytes = 300 * A.length + 500 * B.length;
  assert.deepEqual(whole.totals, { packets: 800, bytes, dropped: 0 });
  assert.equal(whole.packets, 800);
  assert.equal(whole.bytes, bytes);
  assert.deepEqual(whole.top.hosts, [
    { addr: "10.7.0.2", packets: 800, bytes },
    { addr: "10.7.0.1", packets: 300, bytes: 300 * A.length },
    { addr: "10.7.0.3", packets: 500, bytes: 500 * B.length },
  ]);
  assert.deepEqual(whole.top.pairs.map((x: { a: string; b: string }) => `${x.a} ${x.b}`), [
    "10.7.0.1 10.7.0.2",
    "10.7.0.2 10.7.0.3",
  ]);
  assert.deepEqual(whole.top.protocols.map((x: { protocol: string }) => x.protocol), ["TCP", "UDP"]);
  // each conversation's two ports tie: the lower key (port) first, whichever packet came first
  assert.deepEqual(whole.top.ports.map((x: { port: number }) => x.port), [80, 33000, 53, 4000]);
  const intervals = lines.slice(0, -1);
  assert.equal(intervals.reduce((a, l) => a + l.totals.packets, 0), 800);
  assert.equal(intervals.reduce((a, l) => a + l.totals.bytes, 0), bytes);
  for (const l of intervals) {
    assert.ok(l.interval > 0.1 && l.interval < 2, `interval ${l.interval}`);
    assert.ok(Math.abs(l.ts - Date.now() / 1000) < 60, "wall-clock timestamps");
  }
});

test("topn live: -c stops after COUNT packets, --by packets orders by packets", async () => {
  const why = netReason() ?? trafgenReason();
  if (why) skip(why);
  using net = VethPair.create("tnc");
  const [cmd, argv] = runtimeArgv(TOPN, ["-i", net.host, "--json", "-c", "400", "--by", "packets"]);
  const p = start(cmd, argv);
  await waitForPacketSocket(net.hostIndex);
  sendFrame(net, A, 100);
  sendFrame(net, B, 400);
  const r = await p.done;
  assert.equal(r.code, 0, r.err);
  const whole = JSON.parse(r.out.trim().split("\n").pop()!);
  assert.equal(whole.totals.packets, 400);
  assert.deepEqual(whole.top.hosts.map((h: { addr: string }) => h.addr), [
    "10.7.0.2",
    "10.7.0.3",
    "10.7.0.1",
  ]);
});

test("topn live: without an interface it captures on the default route's", async () => {
  const why = netReason();
  if (why) skip(why);
  const iface = defaultInterface();
  const [cmd, argv] = runtimeArgv(TOPN, ["--duration", "0.3", "-n", "1"]);
  const p = start(cmd, argv);
  const r = await p.done;
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.startsWith(`${iface}  `), `header names ${iface}: ${r.out.slice(0, 100)}`);
  assert.match(r.out, /whole capture/);
});

test("topn live: on a terminal the screen is redrawn in place and Ctrl-C gives the terminal back", async () => {
  const why = netReason() ?? trafgenReason();
  if (why) skip(why);
  if (spawnSync("script", ["--version"], { stdio: "ignore" }).status !== 0) {
    skip("script (util-linux) is not installed");
  }
  using net = VethPair.create("tnt");
  const dir = mkdtempSync(join(tmpdir(), "topn-tty-"));
  try {
    const typescript = join(dir, "tty.out");
    const [cmd, argv] = runtimeArgv(TOPN, [net.host, "--interval", "0.2", "-n", "3"]);
    const line = [cmd, ...argv].map((a) => `'${a}'`).join(" ");
    const p = start("script", ["-qfec", line, typescript]);
    await waitForPacketSocket(net.hostIndex);
    sendFrame(net, A, 50);
    // the runtime is the one descendant of script whose command line holds topn.ts
    const pid = await findDescendant(p.child.pid!, "topn.ts");
    const draws = (s: string) => s.split("\x1b[H").length - 1;
    await waitFor(() => {
      const s = readFileSync(typescript, "latin1");
      return s.includes("10.7.0.1") && draws(s) >= 2;
    }, 10_000);
    process.kill(pid, "SIGINT");
    const r = await p.done;
    assert.equal(r.code, 0, r.err);
    const screen = readFileSync(typescript, "latin1");
    const enter = screen.indexOf("\x1b[?1049h"), leave = screen.lastIndexOf("\x1b[?25h\x1b[?1049l");
    assert.ok(enter >= 0, "alternate screen entered");
    assert.ok(leave > enter, "cursor shown and main screen restored after Ctrl-C");
    assert.ok(draws(screen) >= 2, "redrawn in place more than once");
    const after = screen.slice(leave);
    assert.match(after, /whole capture/);
    assert.ok(!after.slice(14).includes("\x1b["), "plain text after the terminal is given back");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function waitFor(ok: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function findDescendant(root: number, needle: string): Promise<number> {
  let found = 0;
  await waitFor(() => {
    const queue = [root];
    while (queue.length) {
      const pid = queue.shift()!;
      let kids: string[] = [];
      try {
        kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
      } catch {
        // exited
      }
      for (const k of kids) {
        const cmdline = readFileSync(`/proc/${k}/cmdline`, "utf8").split("\0");
        if (cmdline.some((a) => a.endsWith(needle)) && !cmdline[0].endsWith("sh")) found = Number(k);
        queue.push(Number(k));
      }
    }
    return found > 0;
  }, 10_000);
  return found;
}
