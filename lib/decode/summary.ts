/**
 * `packetLine`: one tcpdump-style text line for a packet (`tcpdump -n`
 * format: time, protocol, addresses and ports, flags, length) — what
 * `dump -r` prints. Allocates a string per call: for printing, not counting.
 * @module
 */
import type { Packet } from "../packet.ts";
import { decode, Decoded } from "./mod.ts";
import {
  etherTypeName,
  ipv4ToString,
  ipv6ToString,
  macToString,
  protocolName,
  tcpFlagsToString,
} from "./format.ts";

const ICMP_NAMES: Record<number, string> = {
  0: "echo reply",
  3: "destination unreachable",
  5: "redirect",
  8: "echo request",
  11: "time exceeded",
};
const ICMP6_NAMES: Record<number, string> = {
  1: "destination unreachable",
  3: "time exceeded",
  128: "echo request",
  129: "echo reply",
  133: "router solicitation",
  134: "router advertisement",
  135: "neighbor solicitation",
  136: "neighbor advertisement",
};

let clockSec = -1, clockText = "";
/** Local HH:MM:SS of an epoch second, cached for the current second. */
function clock(sec: number): string {
  if (sec !== clockSec) {
    const t = new Date(sec * 1000);
    const p = (x: number) => String(x).padStart(2, "0");
    clockSec = sec;
    clockText = `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
  }
  return clockText;
}

/**
 * One tcpdump-style line (as `tcpdump -n` prints it, briefly) for a packet:
 * local time, then `IP`/`IP6` addresses and ports with TCP flags, UDP/ICMP
 * details and the payload length; ARP who-has / is-at; else the MACs and the
 * EtherType. `d` is a reused `Decoded`. Allocates strings: for text output only.
 *
 * @example
 * ```ts
 * import { packetLine } from "./summary.ts";
 * import { Decoded } from "./mod.ts";
 * import type { PacketSource } from "../packet.ts";
 * function print(src: PacketSource): void {
 *   const d = new Decoded();
 *   for (let p = src.next(); p; p = src.next()) console.log(packetLine(p, d));
 * }
 * ```
 */
export function packetLine(p: Packet, d: Decoded, nano = false): string {
  decode(p, d);
  const frac = nano
    ? String(p.tsNsec).padStart(9, "0")
    : String(Math.floor(p.tsNsec / 1000)).padStart(6, "0");
  let s = `${clock(p.tsSec)}.${frac} `;
  if (d.vlanId >= 0) s += `vlan ${d.vlanId}, `;
  const data = p.data;
  if (d.ipVersion === 0) {
    if (d.arpOp === 1) {
      s += `ARP, Request who-has ${ipv4ToString(d.arpTargetIp)} tell ${ipv4ToString(d.arpSenderIp)}`;
    } else if (d.arpOp === 2 && d.l3Offset >= 0) {
      s += `ARP, Reply ${ipv4ToString(d.arpSenderIp)} is-at ${macToString(data, d.l3Offset + 8)}`;
    } else {
      const hex = `0x${d.etherType.toString(16).padStart(4, "0")}`, name = etherTypeName(d.etherType);
      s += `${macToString(data, p.offset + 6)} > ${macToString(data, p.offset)}, ethertype ${
        name === hex ? "Unknown" : name
      } (${hex}), length ${p.wirelen}`;
      return s + (d.truncated ? " [|truncated]" : "");
    }
    // tcpdump gives the ARP length after the link header
    return `${s}, length ${Math.max(0, p.wirelen - (d.l3Offset - p.offset))}${d.truncated ? " [|arp]" : ""}`;
  }
  const v4 = d.ipVersion === 4;
  const src = v4 ? ipv4ToString(d.src4) : ipv6ToString(data, d.src6Offset);
  const dst = v4 ? ipv4ToString(d.dst4) : ipv6ToString(data, d.dst6Offset);
  s += v4 ? "IP " : "IP6 ";
  const l4 = d.l4Offset, end = d.l3End;
  if ((d.protocol === 6 || d.protocol === 17) && l4 >= 0) {
    s += `${src}.${d.srcPort} > ${dst}.${d.dstPort}: `;
    s += d.protocol === 6
      ? `Flags [${tcpFlagsToString(d.tcpFlags)}], length ${Math.max(0, end - l4 - d.tcpHeaderLength)}`
      : `UDP, length ${Math.max(0, end - l4 - 8)}`;
  } else if ((d.protocol === 1 || d.protocol === 58) && d.icmpType >= 0) {
    const names = d.protocol === 1 ? ICMP_NAMES : ICMP6_NAMES;
    const what = names[d.icmpType] ?? `type ${d.icmpType}, code ${d.icmpCode}`;
    s += `${src} > ${dst}: ${d.protocol === 1 ? "ICMP" : "ICMP6,"} ${what}, length ${Math.max(0, end - l4)}`;
  } else {
    const proto = d.protocol >= 0 ? protocolName(d.protocol) : "ip";
    s += `${src} > ${dst}: ${d.fragment ? "fragment, " : ""}${proto}, length ${d.ipLength}`;
  }
  return s + (d.truncated ? " [|truncated]" : d.malformed ? " [malformed]" : "");
}
