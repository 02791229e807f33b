/**
 * Least privilege and the service unit (issue 18, parts 3 and 4):
 * - every tool (pcount, topn, dump, nprobe, ringcap count/top/dump/flow) runs
 *   as `nobody` holding only CAP_NET_RAW (ambient; `setpriv`) and captures
 *   exactly the frames sent on a veth pair the test made; half of them are
 *   ended with SIGHUP, which must end them as SIGTERM does (totals, exit 0);
 * - scripts/systemd/ringcap-flow@.service passes `systemd-analyze verify`, and
 *   its ExecStart line (parsed out of the unit, %i and the install prefix
 *   substituted) run under the unit's capabilities exports every flow on
 *   SIGTERM and on SIGHUP.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { skip, test } from "./harness.ts";
import { netReason, ROOT, runtimeArgv, type Started, VethPair, waitForPacketSocket } from "./net.ts";
import { freePort, sniffer } from "./fixtures/nfcapd.ts";
import { httpGet } from "./fixtures/prometheus.ts";
import { Traffic } from "./fixtures/traffic.ts";
import { ether, ipv4, udp } from "./fixtures/frames.ts";
import { bindError, hasCapability, needs, PrivilegeError } from "../lib/ops/privilege.ts";
import { unwrap } from "../lib/source/live/errors.ts";

const UNIT = join(ROOT, "scripts", "systemd", "ringcap-flow@.service");
const LIBRING = join(ROOT, "libring", "build", "libring.so");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** setpriv arguments: user nobody, no groups, only `caps` (e.g. ["net_raw"]) in every set, no new privileges. */
function dropTo(caps: string[]): string[] {
  const c = caps.map((x) => `+${x}`).join(",");
  return [
    "--reuid=nobody",
    "--regid=nogroup",
    "--clear-groups",
    `--inh-caps=-all${c ? "," + c : ""}`,
    ...(c ? [`--ambient-caps=${c}`] : []),
    `--bounding-set=-all${c ? "," + c : ""}`,
    "--no-new-privs",
    "--",
  ];
}

/** Skip unless root, setpriv and a net; skip (saying what to change) when nobody cannot reach the project. */
function needUnprivilegedRun(): void {
  const why = netReason();
  if (why) skip(why);
  if (spawnSync("setpriv", ["--version"]).status !== 0) skip("setpriv (util-linux) is not installed");
  const files = [process.execPath, LIBRING, join(ROOT, "lib", "run.ts"), join(ROOT, "bin", "ringcap.ts")];
  for (const f of files) {
    const r = spawnSync("setpriv", [
      ...dropTo([]),
      "sh",
      "-c",
      'test -r "$1" && test -x "$(dirname "$1")"',
      "-",
      f,
    ]);
    if (r.status !== 0) {
      skip(
        `user nobody cannot read ${f}: this checkout is not readable by other users ` +
          "(run the test from a clone under a world-readable path, or chmod o+rX its folders)",
      );
    }
  }
}

/** A temporary HOME/DENO_DIR the unprivileged runtime may write (its caches). */
function scratch(): { dir: string; env: string[]; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-nobody-"));
  chmodSync(dir, 0o777);
  return {
    dir,
    env: [`HOME=${dir}`, `DENO_DIR=${join(dir, "deno")}`, `PATH=${process.env.PATH ?? "/usr/bin:/bin"}`],
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Start `cmd args` as nobody with `caps`, environment `env` only. */
function startAs(caps: string[], env: string[], cmd: string, args: string[]): Started {
  const child = spawn("setpriv", [...dropTo(caps), "env", "-i", ...env, cmd, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "", err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((res) =>
    child.on("close", (code) => res({ code, out, err }))
  );
  return { child, done, out: () => out };
}

/** The capture process really is nobody with CAP_NET_RAW (bit 13) alone. */
function assertUnprivileged(pid: number, what: string): void {
  const st = readFileSync(`/proc/${pid}/status`, "utf8");
  assert.match(st, /^Uid:\s+65534\s+65534\s+65534\s+65534/m, `${what}: not running as nobody`);
  assert.match(st, /^CapEff:\s+0*2000$/m, `${what}: effective capabilities are not CAP_NET_RAW alone`);
  assert.match(st, /^CapBnd:\s+0*2000$/m, `${what}: bounding set is not CAP_NET_RAW alone`);
}

const N = 40;

test("privilege: errors name the missing capability (steal mode: CAP_NET_ADMIN); CapEff is read from /proc", () => {
  const e = needs("CAP_NET_ADMIN", "steal mode on eth1");
  assert.ok(e instanceof PrivilegeError);
  assert.equal(e.capability, "CAP_NET_ADMIN");
  assert.equal(
    e.message,
    "steal mode on eth1: needs CAP_NET_ADMIN (run as root or grant it: setcap/AmbientCapabilities)",
  );
  const denied = Object.assign(new Error("listen EACCES: permission denied 127.0.0.1:80"), {
    code: "EACCES",
  });
  const b = bindError(denied, "127.0.0.1", 80)!;
  assert.equal(b.capability, "CAP_NET_BIND_SERVICE");
  assert.match(
    b.message,
    /^--metrics 127\.0\.0\.1:80: ports below \d+ .*needs CAP_NET_BIND_SERVICE \(run as root/,
  );
  assert.match(bindError({ name: "PermissionDenied" }, "::1", 81)!.message, /^--metrics \[::1\]:81: /);
  assert.equal(bindError(Object.assign(new Error("in use"), { code: "EADDRINUSE" }), "127.0.0.1", 80), null);
  // libring's detail names a capability other than CAP_NET_RAW (steal mode): the message is that detail
  const lib = (detail: string) => ({
    strerror: () => "permission denied: capture needs CAP_NET_RAW",
    error: () => detail,
  });
  const steal = "steal mode needs CAP_NET_ADMIN (run as root or grant it: setcap/AmbientCapabilities)";
  assert.throws(() => unwrap(-1, "eth1", lib(steal)), { message: `eth1: ${steal}` });
  assert.throws(() => unwrap(-1, "eth1", lib("socket(AF_PACKET): Operation not permitted")), {
    message:
      "eth1: permission denied: capture needs CAP_NET_RAW (socket(AF_PACKET): Operation not permitted)",
  });
  const dir = mkdtempSync(join(tmpdir(), "ringcap-caps-"));
  try {
    writeFileSync(join(dir, "status"), "Name:\tx\nCapEff:\t0000000000002000\n");
    assert.equal(hasCapability("CAP_NET_RAW", join(dir, "status")), true);
    assert.equal(hasCapability("CAP_NET_ADMIN", join(dir, "status")), false);
    assert.equal(hasCapability("CAP_NET_RAW", join(dir, "missing")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("least privilege: every tool captures exactly as nobody with only CAP_NET_RAW (ambient); SIGHUP ends like SIGTERM", async () => {
  needUnprivilegedRun();
  using tmp = scratch();
  const col = await sniffer();
  try {
    const n = ["-n", `127.0.0.1:${col.port}`];
    const tools: [string, string[], string[]][] = [
      ["examples/pcount.ts", [], []],
      ["examples/topn.ts", [], []],
      ["examples/dump.ts", [], ["-w", join(tmp.dir, "d.pcap")]],
      ["examples/nprobe.ts", [], n],
      ["bin/ringcap.ts", ["count"], []],
      ["bin/ringcap.ts", ["top"], []],
      ["bin/ringcap.ts", ["dump"], ["-w", join(tmp.dir, "r.pcap")]],
      ["bin/ringcap.ts", ["flow"], n],
    ];
    for (const [k, [script, sub, extra]] of tools.entries()) {
      const what = [script, ...sub].join(" ");
      const signal = k % 2 ? "SIGHUP" : "SIGTERM";
      using net = VethPair.create("priv");
      const [cmd, argv] = runtimeArgv(join(ROOT, script), [...sub, net.host, ...extra, "--json"]);
      const p = startAs(["net_raw"], tmp.env, cmd, argv);
      try {
        await waitForPacketSocket(net.hostIndex, 60_000);
      } catch (e) {
        p.child.kill("SIGKILL");
        const r = await p.done;
        throw new Error(`${what}: ${(e as Error).message}; stderr: ${r.err}`);
      }
      assertUnprivileged(p.child.pid!, what);
      // promiscuous mode (PACKET_ADD_MEMBERSHIP on the capture's own socket) needs nothing more
      assert.ok(
        Number(readFileSync(`/sys/class/net/${net.host}/flags`, "utf8")) & 0x100,
        `${what}: not promiscuous`,
      );
      net.send(N, { pps: 2000 });
      await sleep(300);
      process.kill(p.child.pid!, signal);
      const r = await p.done;
      assert.equal(r.code, 0, `${what} after ${signal}: ${r.err}`);
      const last = JSON.parse(r.out.trim().split("\n").pop()!);
      assert.equal(last.packets, N, `${what}: ${r.out}`);
      if (last.read !== undefined) assert.equal(last.read, N, what);
    }
  } finally {
    await col.close();
  }
});

/** The unit's directives (last value of each key; repeated keys joined in order). */
function unitKeys(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (kv) m.set(kv[1], [...(m.get(kv[1]) ?? []), kv[2]]);
  }
  return m;
}

test("service: the unit holds the least-privilege settings and passes systemd-analyze verify", () => {
  const text = readFileSync(UNIT, "utf8");
  const keys = unitKeys(text);
  const want: Record<string, string> = {
    AmbientCapabilities: "CAP_NET_RAW",
    CapabilityBoundingSet: "CAP_NET_RAW",
    NoNewPrivileges: "yes",
    ProtectSystem: "strict",
    Restart: "on-failure",
    RestartPreventExitStatus: "2",
    DynamicUser: "yes",
  };
  for (const [k, v] of Object.entries(want)) assert.deepEqual(keys.get(k), [v], k);
  assert.ok(!keys.has("MemoryDenyWriteExecute"), "the runtimes JIT: no MemoryDenyWriteExecute");
  assert.ok(Number(keys.get("TimeoutStopSec")?.[0]) >= 60, "TimeoutStopSec leaves time for a full flush");
  if (spawnSync("systemd-analyze", ["--version"]).status !== 0) {
    skip("systemd-analyze (systemd) is not installed");
  }
  const dir = mkdtempSync(join(tmpdir(), "ringcap-unit-"));
  try {
    // the installed prefix replaced by this checkout: verify checks that ExecStart's program exists
    writeFileSync(join(dir, "ringcap-flow@.service"), text.replaceAll("/opt/ringcap", ROOT));
    const r = spawnSync("systemd-analyze", ["verify", join(dir, "ringcap-flow@eth1.service")], {
      encoding: "utf8",
      cwd: dir,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "", r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * ExecStart of the unit as argv, for interface `iface`, with `$RINGCAP_FLOW_ARGS` = `flowArgs` and
 * `$RINGCAP_METRICS_ARGS` = `metricsArgs`.
 */
function execStart(text: string, iface: string, flowArgs: string[], metricsArgs: string[]): string[] {
  const line = unitKeys(text).get("ExecStart")![0].replaceAll("/opt/ringcap", ROOT);
  return line.split(/\s+/).flatMap((w) =>
    w === "$RINGCAP_FLOW_ARGS"
      ? flowArgs
      : w === "$RINGCAP_METRICS_ARGS"
      ? metricsArgs
      : [w.replaceAll("%I", iface).replaceAll("%i", iface)]
  );
}

/** NetFlow v5 datagrams → flows and their packets. */
function v5Totals(dgrams: Uint8Array[]): { flows: number; packets: number } {
  let flows = 0, packets = 0;
  for (const d of dgrams) {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    assert.equal(v.getUint16(0), 5);
    const count = v.getUint16(2);
    flows += count;
    for (let i = 0; i < count; i++) packets += v.getUint32(24 + i * 48 + 16);
  }
  return { flows, packets };
}

for (const [signal, more] of [["SIGTERM", []], ["SIGHUP", []], ["SIGHUP", ["--workers", "2"]]] as const) {
  const how = more.length ? ` (${more.join(" ")})` : "";
  test(`service: the unit's ExecStart as its user and capabilities exports every flow on ${signal}${how}`, async () => {
    needUnprivilegedRun();
    const text = readFileSync(UNIT, "utf8");
    const caps = unitKeys(text).get("AmbientCapabilities")![0].split(/\s+/).map((c) =>
      c.replace(/^CAP_/, "").toLowerCase()
    );
    using tmp = scratch();
    using net = VethPair.create("unit");
    const FLOWS = 60;
    const frames = [];
    for (let i = 0; i < FLOWS; i++) {
      const f = ether(
        0x0800,
        ipv4({ src: "10.9.0.1", dst: "10.9.0.2", proto: 17 }, udp(20000 + i, 2055, [1, 2, 3])),
      );
      frames.push(f, f);
    }
    using traffic = new Traffic(frames);
    const col = await sniffer();
    try {
      const metricsPort = await freePort();
      assert.match(
        text,
        /^Environment="RINGCAP_METRICS_ARGS=--metrics 127\.0\.0\.1:\d+"$/m,
        "metrics on loopback",
      );
      const metrics = ["--metrics", `127.0.0.1:${metricsPort}`];
      const argv = execStart(text, net.host, ["-n", `127.0.0.1:${col.port}`, "-V", "5", ...more], metrics);
      const p = startAs(caps, tmp.env, argv[0], argv.slice(1));
      try {
        // every worker's socket bound; a fanout group reads once all joined and started (a moment later)
        await waitForPacketSocket(net.hostIndex, 60_000, more.length ? Number(more[1]) : 1);
        await sleep(more.length ? 1000 : 100);
      } catch (e) {
        p.child.kill("SIGKILL");
        throw new Error(`${(e as Error).message}; stderr: ${(await p.done).err}`);
      }
      assertUnprivileged(p.child.pid!, "ExecStart");
      const health = await httpGet(`http://127.0.0.1:${metricsPort}/healthz`);
      assert.equal(health.status, 200, "the unit's metrics endpoint answers on loopback");
      traffic.send(net, 2000);
      await sleep(300);
      assert.equal(v5Totals(col.got).flows, 0, "flows exported before the signal (timeouts are 60/15 s)");
      process.kill(p.child.pid!, signal);
      const r = await p.done;
      assert.equal(r.code, 0, r.err);
      await sleep(200);
      assert.deepEqual(v5Totals(col.got), { flows: FLOWS, packets: 2 * FLOWS }, r.err);
    } finally {
      await col.close();
    }
  });
}
