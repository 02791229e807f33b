/**
 * `TopCounter`: top talkers — hosts, host pairs, protocols and ports — counted
 * per packet with no allocation (one reused `Decoded` filled by the lean decode, typed-array tables keyed
 * by the address words read from the packet), and turned into a `TopReport`
 * (the `--json` object of examples/topn.ts) only when printing.
 *
 * What is counted, bytes being wire lengths:
 * - hosts: an IPv4/IPv6 address; its traffic is what it sent plus what it received;
 * - pairs: the two addresses of a packet, either direction (a conversation);
 * - protocols: the IP protocol (TCP, UDP, ICMP...), or the EtherType of non-IP frames;
 * - ports: a TCP/UDP port, as source or destination (a packet counts once per distinct port).
 * @module
 */
import type { Packet } from "../../packet.ts";
import { Decoded } from "../../decode/decoded.ts";
import { decodeLean } from "../../decode/fast.ts";
import { etherTypeName, ipv4ToString, ipv6ToString, protocolName } from "../../decode/format.ts";
import { DirectTable, KeyTable, type KeyTableOptions, type TableSnapshot } from "./table.ts";

/** A `TopCounter`'s tables and totals as plain typed arrays (see `TopCounter.snapshot`). */
export interface TopTables {
  packets: number;
  bytes: number;
  hosts: TableSnapshot;
  pairs: TableSnapshot;
  protocols: TableSnapshot;
  ports: TableSnapshot;
}

/** A host: `addr` is its IPv4 or IPv6 (RFC 5952) text. */
export interface TopHost {
  addr: string;
  packets: number;
  bytes: number;
}
/** A host pair (either direction); `a` is the lower address. */
export interface TopPair {
  a: string;
  b: string;
  packets: number;
  bytes: number;
}
/** An IP protocol name ("TCP", "UDP", "ICMP"...) or, for non-IP frames, the EtherType name ("ARP", "0x88b5"). */
export interface TopProtocol {
  protocol: string;
  packets: number;
  bytes: number;
}
/** A TCP or UDP port. */
export interface TopPort {
  protocol: string;
  port: number;
  packets: number;
  bytes: number;
}

/** One interval (or a whole capture): the `--json` object of topn. */
export interface TopReport {
  /** Start of the interval, seconds since the epoch (packet time for files). */
  ts: number;
  /** Length of the interval in seconds. */
  interval: number;
  /** What the interval saw: packets, bytes (wire lengths), dropped by the ring. */
  totals: { packets: number; bytes: number; dropped: number };
  /** Each list ordered by bytes (or packets), at most N entries. */
  top: { hosts: TopHost[]; pairs: TopPair[]; protocols: TopProtocol[]; ports: TopPort[] };
}

const HOST_W = 5; // [family, addr words 0..3]
const PAIR_W = 9; // [family, a 0..3, b 0..3]

/**
 * Counts packets into four tables.
 *
 * @example
 * ```ts
 * import { TopCounter } from "./counter.ts";
 * import type { PacketSource } from "../../packet.ts";
 * function top3(src: PacketSource) {
 *   const c = new TopCounter();
 *   for (let p = src.next(); p; p = src.next()) c.add(p);
 *   return c.report(3, false, 0, 0, 0).top.hosts;
 * }
 * ```
 */
export class TopCounter {
  readonly hosts: KeyTable;
  readonly pairs: KeyTable;
  /** Slot: the IP protocol (0..255), or 256 + EtherType for non-IP frames. */
  readonly protocols: DirectTable;
  /** Slot: the port, + 65536 for UDP. */
  readonly ports: DirectTable;
  /** Packets counted (every frame, IP or not). */
  packets = 0;
  /** Sum of their wire lengths. */
  bytes = 0;
  #d = new Decoded();

  constructor(o: KeyTableOptions = {}) {
    this.hosts = new KeyTable(HOST_W, o);
    this.pairs = new KeyTable(PAIR_W, o);
    this.protocols = new DirectTable(256 + 65536);
    this.ports = new DirectTable(2 * 65536);
  }

  /** Count one packet. */
  add(p: Packet): void {
    const len = p.wirelen;
    this.packets++;
    this.bytes += len;
    const d = decodeLean(p, this.#d);
    if (d.ipVersion === 0) {
      this.protocols.addAt(256 + d.etherType, 0x10000 | d.etherType, 1, len);
      return;
    }
    if (d.protocol >= 0) this.protocols.addAt(d.protocol, d.protocol, 1, len);
    else this.protocols.addAt(256 + d.etherType, 0x10000 | d.etherType, 1, len);
    if (d.ipVersion === 4) { // the same counts as the general path below, without writing keys
      const s = d.src4, t = d.dst4;
      this.hosts.add4(s, 0, 1, len);
      if (s !== t) this.hosts.add4(t, 0, 1, len);
      if (s > t) this.pairs.add4(t, s, 1, len);
      else this.pairs.add4(s, t, 1, len);
      this.countPorts(d, len);
      return;
    }
    const pk = this.pairs.key;
    pk[0] = d.ipVersion;
    if (d.ipVersion === 4) {
      pk[1] = d.src4;
      pk[2] = pk[3] = pk[4] = 0;
      pk[5] = d.dst4;
      pk[6] = pk[7] = pk[8] = 0;
    } else {
      const v = p.view, s = d.src6Offset, t = d.dst6Offset;
      pk[1] = v.getUint32(s), pk[2] = v.getUint32(s + 4), pk[3] = v.getUint32(s + 8);
      pk[4] = v.getUint32(s + 12);
      pk[5] = v.getUint32(t), pk[6] = v.getUint32(t + 4), pk[7] = v.getUint32(t + 8);
      pk[8] = v.getUint32(t + 12);
    }
    const hk = this.hosts.key;
    hk[0] = d.ipVersion;
    hk[1] = pk[1], hk[2] = pk[2], hk[3] = pk[3], hk[4] = pk[4];
    this.hosts.add(1, len);
    let cmp = 0;
    for (let i = 1; i < 5 && cmp === 0; i++) cmp = pk[i] - pk[i + 4];
    if (cmp !== 0) {
      hk[1] = pk[5], hk[2] = pk[6], hk[3] = pk[7], hk[4] = pk[8];
      this.hosts.add(1, len);
    }
    if (cmp > 0) {
      for (let i = 1; i < 5; i++) {
        const x = pk[i];
        pk[i] = pk[i + 4];
        pk[i + 4] = x;
      }
    }
    this.pairs.add(1, len);
    this.countPorts(d, len);
  }

  /** Count a TCP/UDP packet's ports (once when source = destination). */
  private countPorts(d: Decoded, len: number): void {
    if ((d.protocol === 6 || d.protocol === 17) && d.l4Offset >= 0 && !d.fragment) {
      const ports = this.ports, base = d.protocol === 6 ? 0 : 65536, hi = d.protocol << 16;
      ports.addAt(base + d.srcPort, hi | d.srcPort, 1, len);
      if (d.dstPort !== d.srcPort) ports.addAt(base + d.dstPort, hi | d.dstPort, 1, len);
    }
  }

  /** Add another counter's tables and totals into this one (interval → whole capture). */
  merge(o: TopCounter): void {
    this.hosts.merge(o.hosts);
    this.pairs.merge(o.pairs);
    this.protocols.merge(o.protocols);
    this.ports.merge(o.ports);
    this.packets += o.packets;
    this.bytes += o.bytes;
  }

  /** The tables and totals, copied out in insertion order (a Worker can post them). */
  snapshot(): TopTables {
    return {
      packets: this.packets,
      bytes: this.bytes,
      hosts: this.hosts.snapshot(),
      pairs: this.pairs.snapshot(),
      protocols: this.protocols.snapshot(),
      ports: this.ports.snapshot(),
    };
  }

  /** Add a snapshot's tables and totals into this counter (the same as `merge` of its counter). */
  load(t: TopTables): void {
    this.hosts.load(t.hosts);
    this.pairs.load(t.pairs);
    this.protocols.load(t.protocols);
    this.ports.load(t.ports);
    this.packets += t.packets;
    this.bytes += t.bytes;
  }

  /** Forget everything (memory kept). */
  clear(): void {
    this.hosts.clear();
    this.pairs.clear();
    this.protocols.clear();
    this.ports.clear();
    this.packets = 0;
    this.bytes = 0;
  }

  /** The top `n` of each table as a `TopReport` (allocates: for printing). */
  report(n: number, byPackets: boolean, ts: number, interval: number, dropped: number): TopReport {
    const h = this.hosts, pr = this.pairs, pt = this.protocols, po = this.ports;
    return {
      ts: round6(ts),
      interval: round6(interval),
      totals: { packets: this.packets, bytes: this.bytes, dropped },
      top: {
        hosts: h.top(n, byPackets).map((s) => ({
          addr: addr(h, s),
          packets: h.packetsAt(s),
          bytes: h.bytesAt(s),
        })),
        pairs: pr.top(n, byPackets).map((s) => {
          const a = addr(pr, s), b = addr(pr, s, 5);
          return { a, b, packets: pr.packetsAt(s), bytes: pr.bytesAt(s) };
        }),
        protocols: pt.top(n, byPackets).map((s) => {
          const k = pt.keys[s];
          const protocol = k & 0x10000 ? etherTypeName(k & 0xffff) : protocolName(k);
          return { protocol, packets: pt.packets[s], bytes: pt.bytes[s] };
        }),
        ports: po.top(n, byPackets).map((s) => ({
          protocol: po.keys[s] >>> 16 === 6 ? "TCP" : "UDP",
          port: po.keys[s] & 0xffff,
          packets: po.packets[s],
          bytes: po.bytes[s],
        })),
      },
    };
  }
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

const scratch = new Uint8Array(16);
const scratchView = new DataView(scratch.buffer);

/** Text of the address in slot s of t: family in key word 0, address from word `at`. */
function addr(t: KeyTable, s: number, at = 1): string {
  if (t.keyWord(s, 0) === 4) return ipv4ToString(t.keyWord(s, at));
  for (let i = 0; i < 4; i++) scratchView.setUint32(4 * i, t.keyWord(s, at + i));
  return ipv6ToString(scratch, 0);
}
