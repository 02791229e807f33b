/**
 * The tools on the AF_XDP backend (RINGCAP_BACKEND=xdp), on a 4-queue veth
 * pair in a namespace the test makes, 1,000 one-packet flows spread over the
 * queues by the sender's flow hash: pcount reads every queue by default — one
 * thread round-robin, and --workers 2 (two queues each) — and counts exactly
 * what the sender handed on (`tx_packets − tx_dropped`), also with a filter
 * (run by the XDP program); its banner and --json say the mode and the
 * queues; --queue 2 reads queue 2 alone; topn, dump -w (each packet's own
 * kernel timestamp in the file) and the probe count exactly too; nothing
 * stays attached after any of them; the interface deleted under an
 * every-queue capture (one thread, two workers) → exit 1 with totals.
 * Errors, one line and exit 2: more workers than queues, --queue with
 * --workers, --fanout on xdp, --queue without xdp, a queue out of range.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skip, test } from "./harness.ts";
import { netReason, ROOT, runtimeArgv, TXFRAMES } from "./net.ts";
import { writeManyFlowsPcap } from "./fixtures/many_flows.ts";

const FLOWS = 1000;

function needXdp(): void {
  const why = netReason();
  if (why) skip(why);
  const libs = ["/usr/lib/x86_64-linux-gnu/libxdp.so.1", "/usr/lib/aarch64-linux-gnu/libxdp.so.1"];
  if (!libs.some((l) => existsSync(l))) skip("libxdp is not installed (apt-get install libxdp1)");
}

const ip = (...args: string[]) => spawnSync("ip", args, { encoding: "utf8" });

/** A veth pair with 4 receive queues each side: `host` here, `peer` in namespace `ns`; a pcap of FLOWS flows. */
class FourQueues implements Disposable {
  readonly ns: string;
  readonly host: string;
  readonly peer: string;
  readonly pcap: string;
  constructor(tag: string) {
    const t = `${process.pid % 100000}`;
    this.ns = `rcns-${tag}-${process.pid}`, this.host = `rc${tag}${t}a`, this.peer = `rc${tag}${t}b`;
    this.pcap = join(tmpdir(), `rc-${tag}-${process.pid}.pcap`);
    const q4 = ["numrxqueues", "4", "numtxqueues", "4"];
    assert.equal(ip("netns", "add", this.ns).status, 0);
    const r = ip("link", "add", "name", this.host, ...q4, "type", "veth", "peer", "name", this.peer, ...q4);
    assert.equal(r.status, 0, r.stderr);
    ip("link", "set", "dev", this.peer, "netns", this.ns);
    spawnSync("sysctl", ["-qw", `net.ipv6.conf.${this.host}.disable_ipv6=1`]);
    ip("netns", "exec", this.ns, "sysctl", "-qw", `net.ipv6.conf.${this.peer}.disable_ipv6=1`);
    ip("link", "set", "dev", this.host, "up");
    ip("-n", this.ns, "link", "set", "dev", this.peer, "up");
    writeManyFlowsPcap(this.pcap, FLOWS);
  }
  /** Send the flows from the namespace; what the sender's veth handed on since it was made. */
  send(): number {
    const r = spawnSync("ip", [
      "netns",
      "exec",
      this.ns,
      TXFRAMES,
      this.peer,
      "--pcap",
      this.pcap,
      "--pps",
      "50000",
    ]);
    assert.equal(r.status, 0, String(r.stderr));
    const tx =
      JSON.parse(ip("-n", this.ns, "-s", "-j", "link", "show", "dev", this.peer).stdout)[0].stats64.tx;
    return tx.packets - tx.dropped;
  }
  attached(): boolean {
    return Boolean(JSON.parse(ip("-j", "link", "show", "dev", this.host).stdout)[0].xdp);
  }
  [Symbol.dispose](): void {
    ip("link", "del", this.host);
    ip("netns", "del", this.ns);
    rmSync(this.pcap, { force: true });
  }
}

/** The command line of a repo script under this runtime with RINGCAP_BACKEND=xdp (and `env`). */
function argv(script: string, args: string[], env: string[] = []): [string, string[]] {
  const [cmd, a] = runtimeArgv(join(ROOT, script), args);
  return ["env", ["RINGCAP_BACKEND=xdp", ...env, cmd, ...a]];
}

/**
 * Run a tool: wait for its xdp banner (every queue bound), send the flows,
 * let it read them, SIGINT, and return its exit code, output and what arrived.
 */
async function capture(
  net: FourQueues,
  script: string,
  args: string[],
): Promise<{ code: number | null; out: string; err: string; arrived: number }> {
  const child = spawn(...argv(script, args), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const done = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
  try {
    const t0 = Date.now();
    while (!/AF_XDP on/.test(err)) {
      if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`no banner: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const arrived = net.send();
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(child.pid!, "SIGINT");
    const code = await done;
    return { code, out, err, arrived };
  } finally {
    if (child.exitCode === null) process.kill(child.pid!, "SIGKILL");
  }
}

function lastJson(out: string): Record<string, unknown> {
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

test("xdp tools: pcount reads every queue (one thread, --workers 2), --queue 2 reads one; banner and --json say so", async () => {
  needXdp();
  using net = new FourQueues("xtq");
  let r = await capture(net, "examples/pcount.ts", [net.host, "--json"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`${net.host}: AF_XDP on 4 receive queues \\(0,1,2,3\\), native mode, copy`));
  let j = lastJson(r.out);
  assert.equal(j.packets, r.arrived, `every queue read by one thread: ${r.out}`);
  assert.equal(j.read, r.arrived);
  assert.equal(j.dropped, 0);
  assert.deepEqual(j.xdp, { mode: "native", zeroCopy: false, queues: [0, 1, 2, 3] });
  assert.equal(net.attached(), false, "nothing attached after one thread");

  const before = r.arrived;
  r = await capture(net, "examples/pcount.ts", [net.host, "--json", "--workers", "2"]);
  assert.equal(r.code, 0, r.err);
  j = lastJson(r.out);
  const arrived = r.arrived - before;
  assert.equal(j.packets, arrived, `every queue read by two workers: ${r.out}`);
  assert.deepEqual(j.xdp, { mode: "native", zeroCopy: false, queues: [0, 1, 2, 3] });
  const ws = j.workers as Array<{ packets: number }>;
  assert.equal(ws.length, 2);
  assert.ok(ws.every((w) => w.packets > 0), `each worker's two queues receive: ${JSON.stringify(ws)}`);
  assert.equal(net.attached(), false, "nothing attached after two workers");

  const before2 = r.arrived;
  r = await capture(net, "examples/pcount.ts", [net.host, "--json", "--queue", "2"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /AF_XDP on receive queue 2, native mode, copy/);
  j = lastJson(r.out);
  const one = j.packets as number;
  assert.ok(one > 0 && one < r.arrived - before2, `queue 2 alone: ${one} of ${r.arrived - before2}`);
  assert.deepEqual(j.xdp, { mode: "native", zeroCopy: false, queues: [2] });
  assert.equal(net.attached(), false);

  // a filter, run by the XDP program of every queue, under two workers (opened paused, started together)
  const before3 = r.arrived;
  r = await capture(net, "examples/pcount.ts", [
    net.host,
    "--json",
    "--workers",
    "2",
    "src",
    "portrange",
    "1024-1523",
  ]);
  assert.equal(r.code, 0, r.err);
  j = lastJson(r.out);
  assert.equal(r.arrived - before3, FLOWS);
  assert.equal(j.packets, FLOWS / 2, `the filter's half: ${r.out}`);
  assert.equal(j.filtered, FLOWS / 2);
  assert.equal(net.attached(), false);
});

test("xdp tools: topn, dump -w and the probe count every queue exactly", async () => {
  needXdp();
  using net = new FourQueues("xtt");
  let prev = 0;
  const round = async (script: string, args: string[]) => {
    const r = await capture(net, script, args);
    assert.equal(r.code, 0, `${script}: ${r.err}`);
    assert.match(r.err, /AF_XDP on 4 receive queues/);
    const arrived = r.arrived - prev;
    prev = r.arrived;
    assert.equal(net.attached(), false, `${script}: nothing attached after`);
    return { j: lastJson(r.out), arrived };
  };
  let { j, arrived } = await round("examples/topn.ts", [net.host, "--json"]);
  assert.equal(j.packets, arrived, "topn");
  assert.deepEqual((j.xdp as { queues: number[] }).queues, [0, 1, 2, 3]);

  const file = join(tmpdir(), `rc-xtt-dump-${process.pid}.pcap`);
  try {
    const hasTs = existsSync(join(ROOT, "libring", "build", "xsk_ts.bpf.o")); // else no stamps (0)
    const from = Date.now();
    ({ j, arrived } = await round("examples/dump.ts", ["-i", net.host, "-w", file, "--json"]));
    const to = Date.now();
    assert.equal(j.packets, arrived, "dump");
    const pcap = readFileSync(file);
    const unit = pcap.readUInt32LE(0) === 0xa1b23c4d ? 1e6 : 1e3; // sub-second field per ms
    let n = 0;
    const stamps = new Set<number>();
    for (let o = 24; o + 16 <= pcap.length; o += 16 + pcap.readUInt32LE(o + 8)) {
      n++;
      const ms = pcap.readUInt32LE(o) * 1e3 + pcap.readUInt32LE(o + 4) / unit;
      if (hasTs) {
        assert.ok(ms >= from - 2 && ms <= to + 2, `packet ${n}: its stamp ${ms} within [${from}, ${to}]`);
      }
      stamps.add(ms);
    }
    assert.equal(n, arrived, "dump: every packet in the file");
    if (hasTs) {
      assert.ok(stamps.size > arrived * 0.9, `per-packet stamps: ${stamps.size} distinct of ${arrived}`);
    }
  } finally {
    rmSync(file, { force: true });
  }

  ({ j, arrived } = await round("examples/nprobe.ts", ["-i", net.host, "-n", "127.0.0.1:9", "--json"]));
  assert.equal(j.packets, arrived, "probe: packets");
  assert.equal(j.flows, arrived, "probe: one flow per packet");
});

test("xdp tools: more workers than queues, --queue with --workers, --fanout, --queue without xdp, out of range: one line, exit 2", () => {
  needXdp();
  using net = new FourQueues("xte");
  const run = (args: string[], env: string[] = [], xdp = true) => {
    const [cmd, a] = xdp
      ? argv("examples/pcount.ts", args, env)
      : runtimeArgv(join(ROOT, "examples/pcount.ts"), args);
    const r = spawnSync(cmd, a, { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    return r.stderr;
  };
  assert.match(
    run([net.host, "--workers", "5"]),
    /--workers 5: .* has 4 receive queues .* use --workers 4 or fewer/,
  );
  assert.match(run([net.host, "--workers", "2", "--queue", "1"]), /reads only queue 1 .* use --workers 1/);
  assert.match(
    run([net.host, "--workers", "2"], ["RINGCAP_XDP_QUEUE=3"]),
    /reads only queue 3 .* use --workers 1/,
  );
  assert.match(
    run([net.host, "--workers", "2", "--fanout", "lb"]),
    /--fanout does not apply to the xdp backend/,
  );
  assert.match(run([net.host, "--queue", "1"], [], false), /--queue .* needs RINGCAP_BACKEND=xdp/);
  assert.match(
    run([net.host, "--queue", "4"]),
    /queue 4 is out of range: .* has 4 receive queues \(0\.\.3\)/,
  );
  assert.equal(net.attached(), false);
});

test("xdp tools: the interface deleted under an every-queue capture (one thread, --workers 2) → exit 1 with totals", async () => {
  needXdp();
  for (const workers of ["1", "2"]) {
    const net = new FourQueues(`xtd${workers}`);
    try {
      const child = spawn(...argv("examples/pcount.ts", [net.host, "--json", "--workers", workers]), {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let err = "";
      child.stderr!.on("data", (d) => (err += d));
      const done = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
      const t0 = Date.now();
      while (!/AF_XDP on 4 receive queues/.test(err)) {
        assert.ok(child.exitCode === null && Date.now() - t0 < 30_000, `no banner: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const arrived = net.send();
      await new Promise((r) => setTimeout(r, 1000));
      ip("link", "del", net.host);
      const code = await done;
      assert.equal(code, 1, err);
      assert.match(err, /removed|went down/);
      assert.match(
        err,
        new RegExp(`Absolute Stats: \\[${arrived.toLocaleString("en-US")} pkts total\\]`),
        err,
      );
    } finally {
      net[Symbol.dispose]();
    }
  }
});
