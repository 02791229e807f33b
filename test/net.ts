/**
 * Test networks: a veth pair whose sender end lives in a network namespace
 * the test creates (and always removes), and whose capture end stays in the
 * test's namespace with IPv6 off and no address, so the only frames on it
 * are the ones the test sends. Frames come from libring/build/txframes run
 * inside the namespace (see test/frames.ts for their exact bytes).
 *
 * @example
 * ```ts
 * using net = VethPair.create("ring");
 * net.send(100);          // 100 distinct frames arrive on net.host
 * ```
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import type { Ring } from "../lib/source/live/ring_base.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const TXFRAMES = join(ROOT, "libring", "build", "txframes");

function sh(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.error}`);
  }
  return r.stdout ?? "";
}

/**
 * `ip` arguments that make a veth pair `a` – `b` with one queue per end (so
 * RPS and fanout see one receive queue whichever CPU sends), `b` moved into
 * namespace `bNs`. Shared with the benchmark's setup (scripts/bench/net.ts).
 *
 * @example
 * ```ts
 * import { vethArgs } from "./net.ts";
 * vethArgs("h0", "p0", "ns0"); // ["link", "add", "name", "h0", "numtxqueues", "1", ...]
 * ```
 */
export function vethArgs(a: string, b: string, bNs: string): string[] {
  const oneQueue = ["numtxqueues", "1", "numrxqueues", "1"];
  return [
    "link",
    "add",
    "name",
    a,
    ...oneQueue,
    "type",
    "veth",
    "peer",
    "name",
    b,
    ...oneQueue,
    "netns",
    bNs,
  ];
}

let serial = 0;
let swept = false;

/**
 * Remove the namespaces of test processes that died without cleaning up (a
 * test killed by its timeout cannot run its `using`): their names carry the
 * creator's pid. Deleting a namespace deletes its veth end, and with it ours.
 */
export function sweepOrphans(): void {
  swept = true;
  if (!existsSync("/run/netns")) return;
  for (const name of readdirSync("/run/netns")) {
    const pid = /^rcns-\w*-(\d+)-\d+$/.exec(name)?.[1];
    if (pid && !existsSync(`/proc/${pid}`)) sh("ip", ["netns", "del", name], true);
  }
}

/** A veth pair: `host` (capture here) in our namespace, `peer` in namespace `ns`. */
export class VethPair implements Disposable {
  private constructor(readonly ns: string, readonly host: string, readonly peer: string) {}

  /** Create it; `tag` (≤ 4 chars) keeps names readable in `ip link`. */
  static create(tag: string): VethPair {
    if (!swept) sweepOrphans();
    const t = tag.slice(0, 4), n = serial++;
    const id = `${t}${process.pid % 100000}${n}`;
    const ns = `rcns-${t}-${process.pid}-${n}`,
      host = `rch${id}`.slice(0, 15),
      peer = `rcp${id}`.slice(0, 15);
    sh("ip", ["netns", "add", ns]);
    const v = new VethPair(ns, host, peer);
    try {
      sh("ip", vethArgs(host, peer, ns));
      sh("sysctl", ["-qw", `net.ipv6.conf.${host}.disable_ipv6=1`]);
      sh("ip", ["netns", "exec", ns, "sysctl", "-qw", `net.ipv6.conf.${peer}.disable_ipv6=1`]);
      sh("ip", ["link", "set", "dev", host, "up"]);
      sh("ip", ["-n", ns, "link", "set", "dev", peer, "up"]);
      sh("ip", ["-n", ns, "link", "set", "dev", "lo", "up"]);
    } catch (e) {
      v.destroy();
      throw e;
    }
    return v;
  }

  /** Send `count` frames from the namespace (txframes options: seed, min, max, pps, vlan). */
  send(
    count: number,
    opts: { seed?: number; min?: number; max?: number; pps?: number; vlan?: number } = {},
  ): void {
    const args = ["netns", "exec", this.ns, TXFRAMES, this.peer, String(count)];
    for (const [k, v] of Object.entries(opts)) if (v !== undefined) args.push(`--${k}`, String(v));
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "inherit"] });
  }

  /** The capture end's interface index. */
  get hostIndex(): number {
    return Number(readFileSync(`/sys/class/net/${this.host}/ifindex`, "utf8"));
  }

  destroy(): void {
    sh("ip", ["link", "del", this.host], true);
    sh("ip", ["netns", "del", this.ns], true);
  }

  [Symbol.dispose](): void {
    this.destroy();
  }
}

/** Can this process make namespaces and send frames? (root + iproute2 + txframes) */
export function netReason(): string | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    return "needs root for network namespaces";
  }
  if (!existsSync(TXFRAMES)) return "libring/build/txframes is not built (make -C libring)";
  if (spawnSync("ip", ["-V"]).status !== 0) return "iproute2 (ip) is not installed";
  return null;
}

/** Wait until `sockets` packet sockets are bound to ifindex (the captures under test are listening). */
export async function waitForPacketSocket(ifindex: number, timeoutMs = 10_000, sockets = 1): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const lines = readFileSync("/proc/net/packet", "utf8").trim().split("\n").slice(1);
    if (lines.filter((l) => Number(l.trim().split(/\s+/)[4]) === ifindex).length >= sockets) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`fewer than ${sockets} packet socket(s) bound to ifindex ${ifindex} after ${timeoutMs} ms`);
}

/** argv to run a TS script under the runtime running the tests. */
export function runtimeArgv(script: string, args: string[]): [string, string[]] {
  // deno-lint-ignore no-explicit-any
  const isBun = typeof (globalThis as any).Bun !== "undefined";
  return [process.execPath, isBun ? ["run", script, ...args] : ["run", "-A", script, ...args]];
}

/** A running process: the child and a promise of its exit code and output. */
export interface Started {
  child: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; out: string; err: string }>;
  /** stdout so far. */
  out(): string;
}

/** Start a command with stdout/stderr collected. */
export function startProcess(cmd: string, args: string[]): Started {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((res) =>
    child.on("close", (code) => res({ code, out, err }))
  );
  return { child, done, out: () => out };
}

/** Start a repo script (e.g. "examples/pcount.ts") under the runtime running the tests. */
export function startScript(script: string, args: string[]): Started {
  const [cmd, argv] = runtimeArgv(isAbsolute(script) ? script : join(ROOT, script), args);
  return startProcess(cmd, argv);
}

/** Run a repo script to its end under the runtime running the tests. */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; out: string; err: string } {
  const [cmd, argv] = runtimeArgv(isAbsolute(script) ? script : join(ROOT, script), args);
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
}

/**
 * Read `ring` until `want` packets arrived or `ms` passed, calling `fn` for
 * each (index, bytes, offset, caplen, wirelen); then waits 50 ms more and reads
 * what else shows up, so a surplus packet counts too. Returns the count.
 */
export async function drain(
  ring: Ring,
  want: number,
  fn: (i: number, d: Uint8Array, off: number, cap: number, wire: number) => void,
  ms = 5000,
): Promise<number> {
  let n = 0;
  const t0 = Date.now();
  const take = () => {
    for (let p = ring.next(); p; p = ring.next()) fn(n++, p.data, p.offset, p.caplen, p.wirelen);
  };
  while (n < want && Date.now() - t0 < ms) {
    take();
    if (n < want) await ring.wait(50);
  }
  await ring.wait(50);
  take();
  return n;
}

/**
 * Send 20 frames tagged VLAN 42 from the namespace and check what the ring
 * shows: the tag stripped from every frame's bytes (as Linux does), and on one
 * more frame the tag in `Packet.vlanTci` / `vlanTpid`. Both backends must pass.
 */
export async function expectVlanInMetadata(ring: Ring, net: VethPair, ms = 5000): Promise<void> {
  net.send(20, { vlan: 42 });
  let n = 0;
  await drain(ring, 20, (_k, d, off, cap) => {
    n++;
    if (d[off + 12] !== 0x88 || cap <= 0) throw new Error(`frame ${n}: tag left in the bytes or empty`);
  }, ms);
  if (n !== 20) throw new Error(`captured ${n} of 20 tagged frames`);
  net.send(1, { vlan: 42, seed: 9 });
  await ring.wait(Math.min(ms, 2000));
  const p = ring.next();
  if (!p) throw new Error("the last tagged frame did not arrive");
  if ((p.vlanTci & 0xfff) !== 42 || p.vlanTpid !== 0x8100) {
    throw new Error(
      `vlanTci ${p.vlanTci & 0xfff} (want 42), vlanTpid 0x${p.vlanTpid.toString(16)} (want 0x8100)`,
    );
  }
}
