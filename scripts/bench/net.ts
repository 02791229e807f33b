/**
 * The benchmark's traffic setup: two network namespaces joined by one veth
 * pair (one queue each), offloads and IPv6 off, no addresses, so the only
 * frames on the capture end are the ones trafgen sends. Frames go to a
 * foreign MAC (02:00:00:00:00:99): the receiving stack drops them at once,
 * like mirrored traffic (MACHINE-NOTES.md).
 *
 *   tx namespace  rcb<pid>t: veth "rcbtx"  (trafgen, txframes)
 *   rx namespace  rcb<pid>r: veth "rcbrx"  (the capturers)
 *
 * "rps" setup: rps_cpus=2 on rcbrx (the receive work runs on CPU1), the
 * capturer is pinned to CPU1 and trafgen to CPU0; trafgen then needs a big
 * SO_SNDBUFFORCE (sndbuf_shim.so), MACHINE-NOTES.md.
 *
 * Everything is removed by `teardown()`, which bench.ts calls on exit,
 * SIGINT and SIGTERM; namespaces left by a killed run (dead pid) are
 * removed at the next start.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ether, ipv4, udp } from "../../test/fixtures/frames.ts";
import { vethArgs } from "../../test/net.ts";
import { join } from "node:path";
import process from "node:process";

export const TX_IF = "rcbtx";
export const RX_IF = "rcbrx";

function sh(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${(r.stderr || "").trim()}`);
  }
  return r.stdout ?? "";
}

/** Remove rcb<pid>{t,r} namespaces whose pid is gone (a killed earlier run). */
export function removeStale(): void {
  for (const ns of sh("ip", ["netns", "list"], true).split("\n")) {
    const m = /^rcb(\d+)[tr]\b/.exec(ns.trim());
    if (m && Number(m[1]) !== process.pid && !existsSync(`/proc/${m[1]}`)) {
      sh("ip", ["netns", "del", ns.trim().split(/\s/)[0]], true);
    }
  }
}

/** The two namespaces and their veth ends. */
export class BenchNet {
  readonly txNs = `rcb${process.pid}t`;
  readonly rxNs = `rcb${process.pid}r`;
  rps = false;
  #up = false;

  /** Create namespaces and veth; `rps` steers receive work to CPU1. */
  setup(rps: boolean): void {
    this.teardown();
    this.#up = true;
    this.rps = rps;
    const { txNs, rxNs } = this;
    sh("ip", ["netns", "add", txNs]);
    sh("ip", ["netns", "add", rxNs]);
    sh("ip", ["-n", txNs, ...vethArgs(TX_IF, RX_IF, rxNs)]);
    for (const [ns, dev] of [[txNs, TX_IF], [rxNs, RX_IF]]) {
      this.exec(ns, "sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
      this.exec(ns, "sysctl", ["-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
      // veth offloads off: every frame is one skb the size it was sent
      this.exec(ns, "ethtool", [
        "-K",
        dev,
        "tso",
        "off",
        "gso",
        "off",
        "gro",
        "off",
        "tx",
        "off",
        "rx",
        "off",
        "sg",
        "off",
      ], true);
      sh("ip", ["-n", ns, "link", "set", "dev", dev, "up"]);
      sh("ip", ["-n", ns, "link", "set", "dev", "lo", "up"]);
    }
    this.exec(rxNs, "sh", ["-c", `echo ${rps ? 2 : 0} > /sys/class/net/${RX_IF}/queues/rx-0/rps_cpus`]);
  }

  exec(ns: string, cmd: string, args: string[], allowFail = false): string {
    return sh("ip", ["netns", "exec", ns, cmd, ...args], allowFail);
  }

  /** Interface counters (tx end's tx, rx end's rx and drops). */
  counters(): { sent: number; arrived: number; rxDropped: number } {
    const out = this.exec(this.rxNs, "sh", [
      "-c",
      `cat /sys/class/net/${RX_IF}/statistics/rx_packets /sys/class/net/${RX_IF}/statistics/rx_dropped`,
    ]).trim().split("\n").map(Number);
    const tx = Number(this.exec(this.txNs, "cat", [`/sys/class/net/${TX_IF}/statistics/tx_packets`]).trim());
    return { sent: tx, arrived: out[0], rxDropped: out[1] };
  }

  teardown(): void {
    if (!this.#up) return;
    this.#up = false;
    sh("ip", ["netns", "del", this.txNs], true);
    sh("ip", ["netns", "del", this.rxNs], true);
  }
}

/**
 * A trafgen config: `size`-byte IPv4/UDP frames to the foreign MAC, 10.0.0.1 →
 * 10.0.0.2, destination port 53, the source port varying per frame: its high
 * byte counts 0x30..0x40 (17 values) and its low byte 0..255 (256), two
 * one-byte trafgen counters whose periods are coprime, so the pairs repeat
 * only after 17 × 256 = 4,352 frames: 4,352 flows. The flow probe meters what
 * it reads (a non-IP frame would only be counted and skipped, and the probe
 * would be measured as a packet counter), and a fanout group's hash spreads
 * the flows over its workers. The UDP checksum is 0 (none), valid for every
 * port; trafgen sends these as fast as one static frame.
 *
 * `flows` (drain --flows) picks other traffic mixes: 256 = the source port's
 * low byte only (high byte 0x30); 65280 = 255 × 256 hosts 10.0.X.Y (X one
 * counter of 255 values, Y one of 256: the most two one-byte counters give),
 * ports fixed, so the probe's flows and topn's hosts and pairs are 65,280
 * each (the IPv4 checksum is then wrong; the frames go to a foreign MAC and
 * no reader checks it).
 */
export function frameConfig(dir: string, size: number, flows: number = FLOWS): string {
  if (!FLOW_MIXES.includes(flows)) throw new Error(`flows: ${flows} is not one of ${FLOW_MIXES.join(", ")}`);
  const path = join(dir, flows === FLOWS ? `frame-${size}.cfg` : `frame-${size}-${flows}f.cfg`);
  // the 42 header bytes (lengths and checksum for the whole frame), then the payload as a trafgen fill
  const udpHeader = udp(0x3000, 53, [], size - 34);
  const ip = { src: "10.0.0.1", dst: "10.0.0.2", proto: 17, totalLength: size - 14 };
  const f = ether(0x0800, ipv4(ip, udpHeader), [], false);
  f.set([2, 0, 0, 0, 0, 0x99]); // to the foreign MAC
  const bytes = [...f].map((x) => `0x${x.toString(16).padStart(2, "0")}`);
  if (flows === FLOWS) {
    bytes[SPORT_LOW - 1] = "dinc(0x30, 0x40)"; // source port: 0x3000..0x40ff, 4,352 pairs in turn
    bytes[SPORT_LOW] = "dinc(0, 255)";
  } else if (flows === 256) bytes[SPORT_LOW] = "dinc(0, 255)"; // source port 0x3000..0x30ff
  else {
    bytes[IP_SRC + 2] = "dinc(0, 254)"; // 10.0.X.Y: 255 × 256 pairs in turn
    bytes[IP_SRC + 3] = "dinc(0, 255)";
  }
  bytes.push(`fill(0x5a, ${size - 42})`);
  writeFileSync(path, `{ ${bytes.join(",")} }\n`);
  return path;
}
/** Flows in the bench's traffic (source ports of frameConfig). */
export const FLOWS = 17 * 256;
/** Offset of the UDP source port's low byte in those frames (Ethernet 14 + IPv4 20 + 1). */
const SPORT_LOW = 35;
/** Offset of the IPv4 source address (Ethernet 14 + 12). */
const IP_SRC = 26;
/** The traffic mixes frameConfig makes (flows per mix). */
export const FLOW_MIXES = [256, FLOWS, 65280];

/** Send `count` frames with trafgen from the tx namespace; `rate` pps (0 = max). */
export function trafgen(
  net: BenchNet,
  o: { cfg: string; count: number; rate?: number; cpus?: 1 | 2; shim?: string },
): { ok: boolean; stderr: string } {
  const cpus = o.cpus ?? 1;
  const args = ["netns", "exec", net.txNs];
  if (o.shim) args.push("env", `LD_PRELOAD=${o.shim}`);
  if (cpus === 1) args.push("taskset", "-c", "0");
  args.push(
    "trafgen",
    "-o",
    TX_IF,
    "-i",
    o.cfg,
    "-n",
    String(o.count),
    "-P",
    String(cpus),
    "--no-sock-mem",
    "-Q",
    "-C",
  );
  if (o.rate) args.push("-b", `${o.rate}pps`);
  const r = spawnSync("ip", args, { encoding: "utf8" });
  return { ok: r.status === 0, stderr: (r.stderr || "").trim() };
}

/** Lone frames (txframes --pps): the latency probe's traffic. */
export function txframes(net: BenchNet, bin: string, count: number, pps: number): void {
  execFileSync("ip", [
    "netns",
    "exec",
    net.txNs,
    bin,
    TX_IF,
    String(count),
    "--pps",
    String(pps),
    "--min",
    "64",
    "--max",
    "64",
  ], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** CPU seconds (user+sys, all threads) of a process, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return NaN;
  }
}

/** True once process `pid` has a packet socket bound (its own netns's /proc/net/packet). */
export function hasPacketSocket(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/net/packet`, "utf8").trim().split("\n").length > 1;
  } catch {
    return false;
  }
}
