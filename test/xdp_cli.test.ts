/**
 * The AF_XDP backend under a tool (pcount with RINGCAP_BACKEND=xdp), on a
 * veth pair in a namespace the test makes: an exact count; the interface
 * deleted under capture → exit 1 with totals; SIGKILL leaves libxdp's program
 * attached and the next run removes it, captures exactly and leaves nothing
 * attached; a missing capability or a memlock limit below the UMEM named in
 * one line, exit 2; libxdp missing → one line, exit 2.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import process from "node:process";
import { skip, test } from "./harness.ts";
import { netReason, ROOT, runtimeArgv, type Started, startProcess, VethPair } from "./net.ts";

const LIBXDP = ["/usr/lib/x86_64-linux-gnu/libxdp.so.1", "/usr/lib/aarch64-linux-gnu/libxdp.so.1"];

function needXdp(): void {
  const why = netReason();
  if (why) skip(why);
  if (!LIBXDP.some((l) => existsSync(l))) skip("libxdp is not installed (apt-get install libxdp1)");
}

/** pcount's command line with RINGCAP_BACKEND=xdp, behind optional wrappers (setpriv, prlimit...). */
function pcountArgv(args: string[], pre: string[] = []): [string, string[]] {
  const [cmd, argv] = runtimeArgv(`${ROOT}/examples/pcount.ts`, args);
  return ["env", ["RINGCAP_BACKEND=xdp", ...pre, cmd, ...argv]];
}

function startPcount(args: string[]): Started {
  return startProcess(...pcountArgv(args));
}

function runPcount(args: string[], pre: string[] = []): { code: number | null; out: string; err: string } {
  const [cmd, argv] = pcountArgv(args, pre);
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 30_000 });
  return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function xdpProg(dev: string): string | null {
  const r = spawnSync("ip", ["-j", "link", "show", "dev", dev], { encoding: "utf8" });
  const x = JSON.parse(r.stdout)[0].xdp;
  return x ? String(x.prog?.name ?? x.prog?.id ?? "attached") : null;
}

/** Wait until the tool runs: an XDP program on dev, then its first per-second line. */
async function running(p: Started, dev: string, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (xdpProg(dev) && p.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 500)); // the socket is bound after the program is attached
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no XDP program on ${dev} after ${ms} ms`);
}

function sent(net: VethPair): number {
  const r = spawnSync("ip", ["-n", net.ns, "-s", "-j", "link", "show", "dev", net.peer], {
    encoding: "utf8",
  });
  const tx = JSON.parse(r.stdout)[0].stats64.tx;
  return tx.packets - tx.dropped;
}

test("xdp pcount: exact count; the interface deleted under capture → exit 1 with totals", async () => {
  needXdp();
  using net = VethPair.create("xpc");
  const p = startPcount([net.host, "--json", "--duration", "60"]);
  try {
    await running(p, net.host);
    net.send(2000, { pps: 50_000 });
    const arrived = sent(net);
    await new Promise((r) => setTimeout(r, 500));
    spawnSync("ip", ["link", "del", net.host]);
    const r = await p.done;
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /removed/);
    const total = arrived.toLocaleString("en-US");
    assert.match(r.err, new RegExp(`Absolute Stats: \\[${total} pkts total\\]\\[0 pkts dropped\\]`), r.err);
  } finally {
    if (p.child.exitCode === null) process.kill(p.child.pid!, "SIGKILL");
  }
});

test("xdp: after SIGKILL the program stays; the next run removes it, captures exactly, leaves nothing", async () => {
  needXdp();
  using net = VethPair.create("xsk");
  const a = startPcount([net.host, "--duration", "60"]);
  await running(a, net.host);
  process.kill(a.child.pid!, "SIGKILL");
  await a.done;
  // ringcap_xsk: libring's timestamp program (built with clang); xsk_def_prog: libxdp's own
  assert.match(xdpProg(net.host) ?? "", /^(ringcap_xsk|xsk_def_prog)$/, "the killed capture's program stays");
  const b = startPcount([net.host, "--json", "--duration", "60"]);
  try {
    await running(b, net.host);
    net.send(1000, { pps: 50_000 });
    const arrived = sent(net);
    await new Promise((r) => setTimeout(r, 500));
    process.kill(b.child.pid!, "SIGTERM");
    const r = await b.done;
    assert.equal(r.code, 0, r.err);
    const last = JSON.parse(r.out.trim().split("\n").at(-1)!);
    assert.equal(last.packets, arrived);
    assert.equal(xdpProg(net.host), null, "nothing attached after the second run");
  } finally {
    if (b.child.exitCode === null) process.kill(b.child.pid!, "SIGKILL");
  }
});

test("xdp: a missing capability is named, exit 2; a memlock limit below the UMEM too", () => {
  needXdp();
  if (spawnSync("setpriv", ["--version"]).status !== 0) skip("setpriv (util-linux) is not installed");
  using net = VethPair.create("xcap");
  let r = runPcount([net.host, "-c", "1"], [
    "setpriv",
    "--bounding-set=-net_admin",
    "--inh-caps=-net_admin",
    "--",
  ]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /needs CAP_NET_ADMIN/);
  assert.equal(r.err.trim().split("\n").length, 1, r.err);
  r = runPcount([net.host, "-c", "1", "--ring-mb", "64"], [
    "setpriv",
    "--bounding-set=-ipc_lock",
    "--inh-caps=-ipc_lock",
    "--",
    "prlimit",
    "--memlock=1048576",
  ]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /exceeds the memlock limit.*CAP_IPC_LOCK/);
  assert.equal(xdpProg(net.host), null);
});

test("xdp: without libxdp the backend says so in one line, exit 2", () => {
  needXdp();
  if (spawnSync("unshare", ["--version"]).status !== 0) skip("unshare (util-linux) is not installed");
  using net = VethPair.create("xnol");
  const lib = realpathSync(LIBXDP.find((l) => existsSync(l))!);
  const [cmd, argv] = pcountArgv([net.host, "-c", "1"]);
  // a private mount namespace where libxdp is an empty file: dlopen fails
  const script = `mount --bind /dev/null ${lib} && exec "$@"`;
  const r = spawnSync("unshare", ["-m", "sh", "-c", script, "sh", cmd, ...argv], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /needs libxdp at run time \(apt-get install libxdp1/);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
});

test("xdp pcount: RINGCAP_XDP_QUEUE beyond the interface's queues → one line, exit 2", () => {
  needXdp();
  using net = VethPair.create("xque");
  const r = runPcount([net.host, "-c", "1"], ["RINGCAP_XDP_QUEUE=3"]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /queue 3 is out of range: .* has 1 receive queue \(0\.\.0\)/);
  assert.equal(r.err.trim().split("\n").length, 1, r.err);
});

test("xdp: the default route's interface is refused (the capture would cut the machine off)", () => {
  needXdp();
  using net = VethPair.create("xdef");
  // in the test's own namespace, the default route goes through its veth end
  assert.equal(spawnSync("ip", ["-n", net.ns, "addr", "add", "10.77.0.2/24", "dev", net.peer]).status, 0);
  assert.equal(spawnSync("ip", ["-n", net.ns, "route", "add", "default", "via", "10.77.0.1"]).status, 0);
  const [cmd, argv] = pcountArgv([net.peer, "-c", "1"]);
  const r = spawnSync("ip", ["netns", "exec", net.ns, cmd, ...argv], { encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /carries the default route .* RINGCAP_XDP_ALLOW_DEFAULT_ROUTE=1/);
  const link = spawnSync("ip", ["-n", net.ns, "-j", "link", "show", "dev", net.peer], { encoding: "utf8" });
  assert.equal(JSON.parse(link.stdout)[0].xdp, undefined, "nothing attached");
});

test("xdp: RINGCAP_XDP_PROG names the XDP program: a missing object → one line, exit 2; 'default' keeps libxdp's", async () => {
  needXdp();
  using net = VethPair.create("xpg");
  const bad = runPcount([net.host, "-c", "1"], ["RINGCAP_XDP_PROG=/nonexistent/xsk.o"]);
  assert.equal(bad.code, 2, bad.err);
  assert.equal(bad.err.trim().split("\n").length, 1, bad.err);
  assert.match(
    bad.err,
    /cannot load the XDP timestamp program \/nonexistent\/xsk\.o .*RINGCAP_XDP_PROG=default/,
  );
  assert.equal(xdpProg(net.host), null, "nothing left attached");
  const p = startProcess(
    ...pcountArgv([net.host, "--json", "--duration", "60"], ["RINGCAP_XDP_PROG=default"]),
  );
  try {
    await running(p, net.host);
    assert.equal(xdpProg(net.host), "xsk_def_prog", "libxdp's own program (no timestamps)");
    net.send(500, { pps: 50_000 });
    const arrived = sent(net);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(p.child.pid!, "SIGINT");
    const r = await p.done;
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out.trim().split("\n").pop()!).packets, arrived);
  } finally {
    if (p.child.exitCode === null) process.kill(p.child.pid!, "SIGKILL");
  }
  assert.equal(xdpProg(net.host), null);
});
