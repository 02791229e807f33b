/**
 * The cost of the TypeScript read loop alone, with no kernel and no memory
 * traffic from a NIC: a synthetic TPACKET_V3 ring (64 blocks of 1 MiB filled
 * with 64-byte frames) in an ArrayBuffer, read by the real reader
 * (lib/ring_v3.ts) through pcount's loop (lib/run.ts) and through a bare
 * `for (p = next(); p; p = next())`. Prints ns per packet per repetition.
 *
 *   bun run scripts/bench/synthetic_loop.ts [REPS]
 *   deno run -A scripts/bench/synthetic_loop.ts [REPS]
 */
import process from "node:process";
import { V3Ring } from "../../lib/ring_v3.ts";
import { run } from "../../lib/run.ts";
import type { Mapping } from "../../lib/ring_base.ts";

const BS = 1 << 20, NB = 64, FIRST = 48, SLOT = 144, LEN = 64;
const buf = new ArrayBuffer(BS * NB);
const dv = new DataView(buf);
let perBlock = 0;

/** Hand every block to the "reader" again, as the kernel would. */
function fill(): void {
  for (let b = 0; b < NB; b++) {
    const base = b * BS;
    let off = base + FIRST, n = 0;
    for (; off + SLOT < base + BS; off += SLOT, n++) {
      dv.setUint32(off, SLOT, true); // tp_next_offset
      dv.setUint32(off + 12, LEN, true); // tp_snaplen
      dv.setUint32(off + 16, LEN, true); // tp_len
      dv.setUint16(off + 24, 80, true); // tp_mac
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
for (let rep = 0; rep < reps; rep++) {
  fill();
  let packets = 0, bytes = 0;
  const t0 = performance.now();
  if (rep % 2 === 0) {
    await run(ring, (p) => {
      packets++;
      bytes += p.wirelen;
    }, { count: total, duration: 5, handleSignals: false });
  } else {
    for (let p = ring.next(); p && packets < total; p = ring.next()) {
      packets++;
      bytes += p.wirelen;
    }
  }
  const ns = ((performance.now() - t0) * 1e6) / packets;
  console.log(`${rep % 2 ? "bare loop" : "run()    "} ${packets} packets ${ns.toFixed(2)} ns/packet`);
}
