/**
 * The v9 and IPFIX templates ringcap exports, and the one function that
 * writes a field of a `FlowRecord` by its element id.
 *
 * NetFlow v9 field types 1–127 and IPFIX Information Elements share their
 * numbers (IANA "IPFIX Information Elements" registry), so one table names
 * both. v9 carries times as sysUptime offsets (21/22), IPFIX as absolute
 * milliseconds (152/153) plus the flow end reason (136).
 *
 * @module
 */
import type { FlowRecord } from "../../analysis/flow/record.ts";
import { putUint } from "./encoder.ts";

/** IANA element ids used here (RFC 3954 field types are the same numbers). */
export const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  ipClassOfService: 5,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  ingressInterface: 10,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  flowEndSysUpTime: 21,
  /** v9 ICMP_TYPE / IPFIX icmpTypeCodeIPv4: type × 256 + code. */
  icmpTypeCodeIPv4: 32,
  flowStartSysUpTime: 22,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  samplingInterval: 34,
  samplingAlgorithm: 35,
  vlanId: 58,
  ipVersion: 60,
  observationDomainId: 149,
  flowEndReason: 136,
  icmpTypeCodeIPv6: 139,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  selectorId: 302,
  selectorAlgorithm: 304,
  samplingPacketInterval: 305,
  samplingPacketSpace: 306,
} as const;

/** One template field: element id and length in bytes. */
export type Field = readonly [id: number, length: number];

/** Template ids: data templates for IPv4 and IPv6 flows, and the sampling options template. */
export const TEMPLATE_V4 = 256, TEMPLATE_V6 = 257, TEMPLATE_SAMPLING = 258;

const common = (times: Field[], flagsLen: number, tail: Field[]): Field[] => [
  [IE.sourceTransportPort, 2],
  [IE.destinationTransportPort, 2],
  ...(tail.length ? [] : [[IE.icmpTypeCodeIPv4, 2] as Field]),
  [IE.protocolIdentifier, 1],
  [IE.ipClassOfService, 1],
  [IE.tcpControlBits, flagsLen],
  [IE.ingressInterface, 4],
  [IE.vlanId, 2],
  [IE.packetDeltaCount, 8],
  [IE.octetDeltaCount, 8],
  ...times,
  ...tail,
  [IE.ipVersion, 1],
];
const v9Times: Field[] = [[IE.flowStartSysUpTime, 4], [IE.flowEndSysUpTime, 4]];
const ipfixTimes: Field[] = [[IE.flowStartMilliseconds, 8], [IE.flowEndMilliseconds, 8]];
const v4: Field[] = [[IE.sourceIPv4Address, 4], [IE.destinationIPv4Address, 4]];
const v6: Field[] = [[IE.sourceIPv6Address, 16], [IE.destinationIPv6Address, 16]];

/**
 * NetFlow v9 data templates: TCP flags in 1 byte, times as sysUptime ms, ICMP_TYPE (32) for
 * both IP versions (collectors such as nfdump take the ICMP type/code from it, not from the port).
 */
export const V9_FIELDS: { readonly v4: readonly Field[]; readonly v6: readonly Field[] } = {
  v4: [...v4, ...common(v9Times, 1, [])],
  v6: [...v6, ...common(v9Times, 1, [])],
};
/** IPFIX data templates: tcpControlBits as its full unsigned16, absolute ms times, flowEndReason, ICMP type/code. */
export const IPFIX_FIELDS: { readonly v4: readonly Field[]; readonly v6: readonly Field[] } = {
  v4: [...v4, ...common(ipfixTimes, 2, [[IE.icmpTypeCodeIPv4, 2], [IE.flowEndReason, 1]])],
  v6: [...v6, ...common(ipfixTimes, 2, [[IE.icmpTypeCodeIPv6, 2], [IE.flowEndReason, 1]])],
};

/**
 * Bytes one record of `fields` takes.
 *
 * @example
 * ```ts
 * import { recordLength, V9_FIELDS } from "./templates.ts";
 * recordLength(V9_FIELDS.v4); // 48
 * ```
 */
export function recordLength(fields: readonly Field[]): number {
  let n = 0;
  for (const f of fields) n += f[1];
  return n;
}

/**
 * Write the template record (id, field count, id/length pairs) at `off`; returns the offset after it.
 *
 * @example
 * ```ts
 * import { TEMPLATE_V4, V9_FIELDS, writeTemplate } from "./templates.ts";
 * const v = new DataView(new ArrayBuffer(128));
 * const end = writeTemplate(v, 0, TEMPLATE_V4, V9_FIELDS.v4);
 * ```
 */
export function writeTemplate(view: DataView, off: number, id: number, fields: readonly Field[]): number {
  view.setUint16(off, id);
  view.setUint16(off + 2, fields.length);
  off += 4;
  for (const [ie, len] of fields) {
    view.setUint16(off, ie);
    view.setUint16(off + 2, len);
    off += 4;
  }
  return off;
}

/**
 * Write one data record of `fields` from `r` at `off`; returns the offset after it.
 * `bootMs` is the sysUptime base for v9 times.
 *
 * @example
 * ```ts
 * import { writeRecord, V9_FIELDS } from "./templates.ts";
 * import { FlowRecord } from "../../analysis/flow/record.ts";
 * const v = new DataView(new ArrayBuffer(64));
 * writeRecord(v, 0, V9_FIELDS.v4, FlowRecord.v4("10.0.0.1", "10.0.0.2", 17, 1, 2), 0);
 * ```
 */
export function writeRecord(
  view: DataView,
  off: number,
  fields: readonly Field[],
  r: FlowRecord,
  bootMs: number,
): number {
  for (let i = 0; i < fields.length; i++) {
    const ie = fields[i][0], len = fields[i][1];
    switch (ie) {
      case IE.sourceIPv4Address:
        view.setUint32(off, r.src4);
        break;
      case IE.destinationIPv4Address:
        view.setUint32(off, r.dst4);
        break;
      case IE.sourceIPv6Address:
        for (let j = 0; j < 4; j++) view.setUint32(off + 4 * j, r.src6[j]);
        break;
      case IE.destinationIPv6Address:
        for (let j = 0; j < 4; j++) view.setUint32(off + 4 * j, r.dst6[j]);
        break;
      case IE.sourceTransportPort:
        putUint(view, off, len, r.srcPort);
        break;
      case IE.destinationTransportPort:
        putUint(view, off, len, r.dstPort);
        break;
      case IE.protocolIdentifier:
        putUint(view, off, len, r.protocol);
        break;
      case IE.ipClassOfService:
        putUint(view, off, len, r.tos);
        break;
      case IE.tcpControlBits:
        putUint(view, off, len, r.tcpFlags);
        break;
      case IE.ingressInterface:
        putUint(view, off, len, r.ifindex);
        break;
      case IE.vlanId:
        putUint(view, off, len, r.vlanId < 0 ? 0 : r.vlanId);
        break;
      case IE.packetDeltaCount:
        putUint(view, off, len, r.packets);
        break;
      case IE.octetDeltaCount:
        putUint(view, off, len, r.bytes);
        break;
      case IE.flowStartSysUpTime:
        putUint(view, off, len, uptime(r.firstMs, bootMs));
        break;
      case IE.flowEndSysUpTime:
        putUint(view, off, len, uptime(r.lastMs, bootMs));
        break;
      case IE.flowStartMilliseconds:
        putUint(view, off, len, Math.floor(r.firstMs));
        break;
      case IE.flowEndMilliseconds:
        putUint(view, off, len, Math.floor(r.lastMs));
        break;
      case IE.icmpTypeCodeIPv4:
      case IE.icmpTypeCodeIPv6:
        putUint(view, off, len, r.protocol === 1 || r.protocol === 58 ? r.dstPort : 0);
        break;
      case IE.flowEndReason:
        putUint(view, off, len, r.endReason);
        break;
      case IE.ipVersion:
        putUint(view, off, len, r.ipVersion);
        break;
      default:
        throw new RangeError(`no writer for element ${ie}`);
    }
    off += len;
  }
  return off;
}

/**
 * Milliseconds from `bootMs` to `ms`, as the unsigned 32-bit sysUptime NetFlow carries.
 *
 * @example
 * ```ts
 * import { uptime } from "./templates.ts";
 * uptime(1_000_500.7, 1_000_000); // 500
 * ```
 */
export function uptime(ms: number, bootMs: number): number {
  const u = Math.floor(ms) - bootMs;
  return (u < 0 ? 0 : u) >>> 0;
}
