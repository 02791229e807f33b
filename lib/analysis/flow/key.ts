/**
 * Flow keys packed in 32-bit words, and their hash.
 *
 * A key is `KEY_WORDS` words: source address (4 words; IPv4 in word 0),
 * destination address (4 words), ports, protocol/ToS/IP version, VLAN and
 * input interface. It is written into a caller-owned `Uint32Array` straight
 * from the packet bytes and the `Decoded` fields: no string, no allocation.
 *
 * @module
 */
import type { Packet } from "../../packet.ts";
import type { Decoded } from "../../decode/decoded.ts";

/** Words in one packed key. */
export const KEY_WORDS = 12;
/** Word indexes inside a key. */
export const K_SRC = 0, K_DST = 4, K_PORTS = 8, K_PROTO = 9, K_VLAN = 10, K_IF = 11;

/**
 * Pack the flow key of a decoded packet into `key` (at `at`); false when the packet is not IP.
 * ICMP and ICMPv6 carry type × 256 + code as destination port and 0 as source port.
 *
 * @example
 * ```ts
 * import { KEY_WORDS, packKey } from "./key.ts";
 * import type { Packet } from "../../packet.ts";
 * import type { Decoded } from "../../decode/decoded.ts";
 * const key = new Uint32Array(KEY_WORDS);
 * function protocolOf(pkt: Packet, d: Decoded): number { // d filled by a decoder
 *   return packKey(pkt, d, key, 0) ? key[9] & 255 : -1;
 * }
 * protocolOf;
 * ```
 */
export function packKey(pkt: Packet, d: Decoded, key: Uint32Array, at: number): boolean {
  const v = d.ipVersion;
  if (v === 4) {
    key[at] = d.src4;
    key[at + 1] = 0;
    key[at + 2] = 0;
    key[at + 3] = 0;
    key[at + 4] = d.dst4;
    key[at + 5] = 0;
    key[at + 6] = 0;
    key[at + 7] = 0;
  } else if (v === 6) {
    const dv = pkt.view;
    const s = d.src6Offset, t = d.dst6Offset;
    key[at] = dv.getUint32(s);
    key[at + 1] = dv.getUint32(s + 4);
    key[at + 2] = dv.getUint32(s + 8);
    key[at + 3] = dv.getUint32(s + 12);
    key[at + 4] = dv.getUint32(t);
    key[at + 5] = dv.getUint32(t + 4);
    key[at + 6] = dv.getUint32(t + 8);
    key[at + 7] = dv.getUint32(t + 12);
  } else return false;
  const proto = d.protocol & 255;
  if (d.icmpType >= 0) key[at + K_PORTS] = ((d.icmpType & 255) << 8) | (d.icmpCode & 255);
  else key[at + K_PORTS] = ((d.srcPort << 16) | d.dstPort) >>> 0;
  key[at + K_PROTO] = proto | ((d.tos & 255) << 8) | (v << 16);
  key[at + K_VLAN] = d.vlanId + 1;
  key[at + K_IF] = pkt.ifindex >>> 0;
  return true;
}

/**
 * 32-bit hash of the key at `at`: each address, port and protocol word times
 * its own odd constant, XOR-ed (independent multiplies, so they run side by
 * side; the 12-round murmur3 body this replaced was one serial chain, 45 ns of
 * a probe's ~90 ns per packet), then murmur3's finalizer so the low bits the
 * table indexes with depend on every input bit. IPv4 keys skip the six
 * address words that are always zero.
 *
 * @example
 * ```ts
 * import { hashKey, KEY_WORDS } from "./key.ts";
 * const h = hashKey(new Uint32Array(KEY_WORDS), 0);
 * ```
 */
export function hashKey(key: Uint32Array, at: number): number {
  const pv = key[at + K_PROTO];
  if (pv >>> 16 !== 6) {
    return hash4(key[at + K_SRC], key[at + K_DST], key[at + K_PORTS], pv, key[at + K_VLAN], key[at + K_IF]);
  }
  let h = Math.imul(key[at + K_SRC], 0xcc9e2d51) ^ Math.imul(key[at + K_DST], 0x1b873593) ^
    Math.imul(key[at + K_PORTS], 0x85ebca6b) ^ Math.imul(pv, 0xc2b2ae35) ^
    Math.imul(key[at + K_VLAN], 0x9e3779b1) ^ Math.imul(key[at + K_IF], 0x7feb352d);
  h ^= Math.imul(key[at + 1], 0x27d4eb2f) ^ Math.imul(key[at + 2], 0x165667b1) ^
    Math.imul(key[at + 3], 0x61c88647) ^ Math.imul(key[at + 5], 0x85ebca77) ^
    Math.imul(key[at + 6], 0xc2b2ae3d) ^ Math.imul(key[at + 7], 0x27d4eb4f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * `hashKey` of an IPv4 key from its six words that can be non-zero (source,
 * destination, ports, protocol word, VLAN + 1, interface): the flow table's
 * IPv4 lookup hashes these without writing the key out.
 *
 * @example
 * ```ts
 * import { hash4, hashKey, KEY_WORDS } from "./key.ts";
 * const k = new Uint32Array(KEY_WORDS);
 * k[9] = (4 << 16) | 17;
 * hash4(0, 0, 0, k[9], 0, 0) === hashKey(k, 0); // true
 * ```
 */
export function hash4(
  src: number,
  dst: number,
  ports: number,
  pv: number,
  vlan: number,
  ifx: number,
): number {
  let h = Math.imul(src, 0xcc9e2d51) ^ Math.imul(dst, 0x1b873593) ^ Math.imul(ports, 0x85ebca6b) ^
    Math.imul(pv, 0xc2b2ae35) ^ Math.imul(vlan, 0x9e3779b1) ^ Math.imul(ifx, 0x7feb352d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
