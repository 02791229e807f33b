/**
 * The cost of the TypeScript read loop alone, with no kernel and no memory
 * traffic from a NIC: a synthetic TPACKET_V3 ring (64 blocks of 1 MiB filled
 * with 64-byte IPv4/UDP frames over 256 flows) in an ArrayBuffer, read by the
 * real reader (lib/source/live/ring_v3.ts) six ways, in turn: pcount's loop (the
 * counting analysis through runAnalysis and lib/run.ts),
 * a bare `for (p = next(); p; p = next())`, the bare loop plus the full
 * `decode()`, plus `decodeLean()` (lib/decode/fast.ts: the decode the probe and
 * topn run), the bare loop feeding the flow probe (decode + flow table; its
 * export goes to a discard port), and feeding topn's counter. Prints ns per
 * packet per repetition and, at the end, the median per way; the differences
 * are what decoding, metering and counting cost.
 *
 * FLOWS (default 256): 256 = the UDP source port's low byte varies; more
 * (up to 65,536) = the IPv4 source's last two bytes count 0..FLOWS-1, so the
 * probe's flows and topn's hosts and pairs are FLOWS each.
 *
 * WAY (0-5, default all in turn) runs one way only: what scripts/bench/profile_hot.sh
 * profiles.
 *
 *   bun run scripts/bench/synthetic_loop.ts [REPS] [FLOWS] [WAY]
 *   deno run -A scripts/bench/synthetic_loop.ts [REPS] [FLOWS] [WAY]
 */
import process from "node:process";
import { V3Ring } from "../../lib/source/live/ring_v3.ts";
import { runAnalysis } from "../../lib/analysis/analysis.ts";
import { counting } from "../../lib/analysis/count.ts";
import type { Mapping } from "../../lib/source/live/ring_base.ts";
import { decode, Decoded } from "../../lib/decode/mod.ts";
import { decodeLean } from "../../lib/decode/fast.ts";
import { FlowProbe } from "../../lib/analysis/flow/probe.ts";
import { TopCounter } from "../../lib/analysis/top/counter.ts";
import { ether, ipv4, udp } from "../../test/fixtures/frames.ts";

const BS = 1 << 20, NB = 64, FIRST = 48, SLOT = 144, LEN = 64;
const buf = new ArrayBuffer(BS * NB);
const dv = new DataView(buf);
const bytes = new Uint8Array(buf);
/** The frame in every slot: Ethernet, IPv4 10.0.0.1 -> 10.0.0.2, UDP -> 53 (its source port varies). */
const FRAME = ether(
  0x0800,
  ipv4({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17 }, udp(0x3000, 53, new Array(LEN - 42).fill(0))),
);
let perBlock = 0;
const FLOWS = Number(process.argv[3] ?? 256);
if (!(FLOWS >= 1 && FLOWS <= 65536)) throw new Error(`FLOWS must be 1..65536, got ${process.argv[3]}`);
const WAY = Number(process.argv[4] ?? -1);

/** Hand every block to the "reader" again, as the kernel would. */
function fill(): void {
  let g = 0; // frames so far: the flow of each
  for (let b = 0; b < NB; b++) {
    const base = b * BS;
    let off = base + FIRST, n = 0;
    for (; off + SLOT < base + BS; off += SLOT, n++) {
      dv.setUint32(off, SLOT, true); // tp_next_offset
      dv.setUint32(off + 12, LEN, true); // tp_snaplen
      dv.setUint32(off + 16, LEN, true); // tp_len
      dv.setUint16(off + 24, 80, true); // tp_mac
      bytes.set(FRAME, off + 80);
      const flow = g++ % FLOWS;
      if (FLOWS <= 256) dv.setUint16(off + 80 + 34, 0x3000 + flow); // UDP source port
      else dv.setUint16(off + 80 + 28, flow); // IPv4 source 10.0.X.Y
    }
    dv.setUint32(base + 12, n, true);
    dv.setUint32(base + 16, FIRST, true);
    dv.setUint32(base + 8, 1, true); // TP_STATUS_USER
    perBlock = n;
  }
}

const layout: Record<string, number> = {
  kind: 1,
  size: BS * NB,
  ifindex: 1,
  block_size: BS,
  block_count: NB,
  blk_status_off: 8,
  blk_num_pkts_off: 12,
  blk_first_off: 16,
  status_user: 1,
  status_kernel: 0,
  pkt_next_off: 0,
  pkt_sec_off: 4,
  pkt_nsec_off: 8,
  pkt_caplen_off: 12,
  pkt_wirelen_off: 16,
  pkt_status_off: 20,
  pkt_mac_off: 24,
  pkt_vlan_tci_off: 32,
  pkt_vlan_tpid_off: 36,
  vlan_valid_mask: 16,
  vlan_tpid_valid_mask: 64,
};
const lib = { backend: () => 2, close: () => 0, stats: () => 0, wait: () => Promise.resolve(0) };
const ring = new V3Ring({ lib, handle: 0, iface: "synthetic", layout, buffer: buf } as unknown as Mapping);

fill();
// the last block stays "held" by the reader between repetitions: read one block less
const total = perBlock * (NB - 1);
const reps = Number(process.argv[2] ?? 12);
const d = new Decoded();
const probe = await FlowProbe.open({ collectors: ["127.0.0.1:9"], version: 9 });
const top = new TopCounter();
const NAMES = [
  "pcount loop ",
  "bare loop   ",
  "+ decode    ",
  "+ decodeLean",
  "+ flow probe",
  "+ topn      ",
];
const W = NAMES.length;
const per: number[][] = NAMES.map(() => []);
for (let rep = 0; rep < reps; rep++) {
  fill();
  let packets = 0, bytes = 0;
  const mode = WAY >= 0 && WAY < W ? WAY : rep % W;
  const t0 = performance.now();
  if (mode === 0) {
    const end = await runAnalysis(ring, counting, {}, { count: total, duration: 5, handleSignals: false });
    packets = end.total.packets;
  } else if (mode === 1) {
    for (let p = ring.next(); p && packets < total; p = ring.next()) {
      packets++;
      bytes += p.wirelen;
    }
  } else if (mode === 2) {
    for (let p = ring.next(); p && packets < total; p = ring.next()) {
      packets++;
      bytes += decode(p, d).ipLength;
    }
  } else if (mode === 3) {
    for (let p = ring.next(); p && packets < total; p = ring.next()) {
      packets++;
      bytes += decodeLean(p, d).ipLength;
    }
  } else if (mode === 4) {
    for (let p = ring.next(); p && packets < total; p = ring.next()) {
      packets++;
      probe.add(p);
    }
  } else {
    for (let p = ring.next(); p && packets < total; p = ring.next()) {
      packets++;
      top.add(p);
    }
    top.clear(); // a new interval, as topn's snapshot() does
  }
  const ns = ((performance.now() - t0) * 1e6) / packets;
  per[mode].push(ns);
  console.log(`${NAMES[mode]} ${packets} packets ${ns.toFixed(2)} ns/packet`);
}
await probe.close();
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
console.log(
  `median ns/packet (${FLOWS} flows, ${Math.floor(reps / W)}+ reps each): ` +
    NAMES.map((n, i) => `${n.trim()} ${med(per[i]).toFixed(1)}`).join(", "),
);
