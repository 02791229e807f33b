/**
 * `FlowRecord`: one expired flow, as the flow table hands it to an exporter.
 *
 * The table owns ONE reused `FlowRecord` and refills it for every flow it
 * expires, so exporting allocates nothing per flow; an exporter encodes the
 * fields at once and must not keep the object. Tests and tools may also build
 * records by hand (`FlowRecord.v4(...)`).
 *
 * @module
 */

/** Why a flow ended: the IPFIX flowEndReason codes (IANA IE 136). */
export const EndReason = {
  /** No packet for the idle timeout. */
  IDLE: 1,
  /** The flow lasted the active timeout: exported, the next packet starts a new one. */
  ACTIVE: 2,
  /** TCP FIN or RST seen. */
  END: 3,
  /** Forced out at shutdown (every active flow is flushed). */
  FORCED: 4,
  /** Evicted because the table was full (`maxFlows`). */
  RESOURCES: 5,
} as const;

/** One of the `EndReason` values. */
export type EndReasonCode = typeof EndReason[keyof typeof EndReason];

/**
 * The fields of one unidirectional flow (NetFlow/IPFIX semantics).
 *
 * @example
 * ```ts
 * import { FlowRecord, EndReason } from "./record.ts";
 * const r = FlowRecord.v4("10.0.0.1", "10.0.0.2", 6, 40000, 80, { packets: 3, bytes: 180 });
 * r.endReason = EndReason.END;
 * console.log(r.src4 >>> 24); // 10
 * ```
 */
export class FlowRecord {
  /** 4 or 6. */
  ipVersion = 4;
  /** IPv4 source / destination as unsigned 32-bit numbers (0 for IPv6). */
  src4 = 0;
  dst4 = 0;
  /** IPv6 source / destination as 4 big-endian 32-bit words (zeros for IPv4). */
  readonly src6: Uint32Array = new Uint32Array(4);
  readonly dst6: Uint32Array = new Uint32Array(4);
  /** Transport ports; for ICMP/ICMPv6 srcPort is 0 and dstPort is type × 256 + code. */
  srcPort = 0;
  dstPort = 0;
  /** IP protocol number. */
  protocol = 0;
  /** IPv4 ToS / IPv6 traffic class. */
  tos = 0;
  /** TCP flags OR-ed over the flow's packets. */
  tcpFlags = 0;
  /** VLAN id, -1 when untagged. */
  vlanId = -1;
  /** Input interface index (0 when unknown). */
  ifindex = 0;
  /** Packets and IP-layer bytes (IPv4 total length; IPv6 40 + payload length). */
  packets = 0;
  bytes = 0;
  /** First and last packet time, milliseconds since the epoch (fractional). */
  firstMs = 0;
  lastMs = 0;
  /** Why the flow ended (`EndReason`). */
  endReason: number = EndReason.IDLE;

  /**
   * Build an IPv4 record (allocates; for tests and tools, not for the meter).
   *
   * @example
   * ```ts
   * import { FlowRecord } from "./record.ts";
   * const r = FlowRecord.v4("192.0.2.1", "192.0.2.2", 17, 5353, 53, { packets: 1, bytes: 60, firstMs: 1e12 });
   * ```
   */
  static v4(
    src: string,
    dst: string,
    protocol: number,
    srcPort: number,
    dstPort: number,
    more: Partial<Omit<FlowRecord, "src6" | "dst6">> = {},
  ): FlowRecord {
    const r = new FlowRecord();
    r.ipVersion = 4;
    r.src4 = parseIPv4(src);
    r.dst4 = parseIPv4(dst);
    return r.withPorts(protocol, srcPort, dstPort, more);
  }

  /**
   * Build an IPv6 record (allocates; for tests and tools).
   *
   * @example
   * ```ts
   * import { FlowRecord } from "./record.ts";
   * const r = FlowRecord.v6("2001:db8::1", "2001:db8::2", 58, 0, 128 * 256, { packets: 2, bytes: 208 });
   * ```
   */
  static v6(
    src: string,
    dst: string,
    protocol: number,
    srcPort: number,
    dstPort: number,
    more: Partial<Omit<FlowRecord, "src6" | "dst6">> = {},
  ): FlowRecord {
    const r = new FlowRecord();
    r.ipVersion = 6;
    r.src6.set(parseIPv6(src));
    r.dst6.set(parseIPv6(dst));
    return r.withPorts(protocol, srcPort, dstPort, more);
  }

  /** v4()/v6(): the fields after the addresses. */
  private withPorts(
    protocol: number,
    srcPort: number,
    dstPort: number,
    more: Partial<Omit<FlowRecord, "src6" | "dst6">>,
  ): FlowRecord {
    this.protocol = protocol;
    this.srcPort = srcPort;
    this.dstPort = dstPort;
    return Object.assign(this, more);
  }

  /** Copy every field from `o` (allocates nothing). */
  copyFrom(o: FlowRecord): this {
    this.ipVersion = o.ipVersion;
    this.src4 = o.src4;
    this.dst4 = o.dst4;
    this.src6.set(o.src6);
    this.dst6.set(o.dst6);
    this.srcPort = o.srcPort;
    this.dstPort = o.dstPort;
    this.protocol = o.protocol;
    this.tos = o.tos;
    this.tcpFlags = o.tcpFlags;
    this.vlanId = o.vlanId;
    this.ifindex = o.ifindex;
    this.packets = o.packets;
    this.bytes = o.bytes;
    this.firstMs = o.firstMs;
    this.lastMs = o.lastMs;
    this.endReason = o.endReason;
    return this;
  }
}

/**
 * Dotted quad → unsigned 32-bit number; throws on anything else.
 *
 * @example
 * ```ts
 * import { parseIPv4 } from "./record.ts";
 * parseIPv4("10.0.0.1"); // 167772161
 * ```
 */
export function parseIPv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw new TypeError(`not an IPv4 address: ${s}`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) throw new TypeError(`not an IPv4 address: ${s}`);
    v = v * 256 + b;
  }
  return v;
}

/**
 * IPv6 text (with `::`, optionally an embedded IPv4 tail) → 4 big-endian words; throws if invalid.
 *
 * @example
 * ```ts
 * import { parseIPv6 } from "./record.ts";
 * parseIPv6("::1"); // Uint32Array [0, 0, 0, 1]
 * ```
 */
export function parseIPv6(s: string): Uint32Array {
  const bad = () => new TypeError(`not an IPv6 address: ${s}`);
  let text = s;
  const groups: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    const n = parseIPv4(v4[2]);
    tail = [n >>> 16, n & 0xffff];
    text = v4[1].endsWith("::") ? v4[1] : v4[1].slice(0, -1);
  }
  const parts = text.split("::");
  if (parts.length > 2) throw bad();
  const parse = (t: string) =>
    (t === "" ? [] : t.split(":")).map((g) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
      return parseInt(g, 16);
    });
  const head = parse(parts[0]);
  if (parts.length === 2) {
    const rest = [...parse(parts[1]), ...tail];
    const fill = 8 - head.length - rest.length;
    if (fill < 1) throw bad();
    groups.push(...head, ...new Array(fill).fill(0), ...rest);
  } else groups.push(...head, ...tail);
  if (groups.length !== 8) throw bad();
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return w;
}

/**
 * Format an IPv4 number as a dotted quad (allocates).
 *
 * @example
 * ```ts
 * import { formatIPv4 } from "./record.ts";
 * formatIPv4(0x0a000001); // "10.0.0.1"
 * ```
 */
export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}
