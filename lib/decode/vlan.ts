/**
 * 802.1Q / 802.1ad (QinQ) tags inside the frame: walks the stacked tags after
 * the MAC addresses and records the VLAN ids in a reused `Decoded`.
 * @module
 */
import type { Decoded } from "./decoded.ts";

/** TPIDs recognised as a VLAN tag: 802.1Q, 802.1ad, and the pre-standard QinQ 0x9100. */
export const TPID_8021Q = 0x8100;
/** 802.1ad service tag (outer tag of QinQ). */
export const TPID_8021AD = 0x88a8;
/** Pre-standard QinQ outer tag. */
export const TPID_QINQ_OLD = 0x9100;
/** Most tags per frame (the metadata tag included); more is reported as malformed (the walk is bounded). */
export const MAX_VLAN_TAGS = 8;

/**
 * True when `etherType` is a VLAN tag protocol id.
 *
 * @example
 * ```ts
 * import { isVlanTpid } from "./vlan.ts";
 * isVlanTpid(0x8100); // true
 * ```
 */
export function isVlanTpid(etherType: number): boolean {
  return etherType === TPID_8021Q || etherType === TPID_8021AD || etherType === TPID_QINQ_OLD;
}

/**
 * Record one VLAN id (12 bits of a TCI) in `out`: the first is the outer id, the second the inner one.
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { addVlan } from "./vlan.ts";
 * const d = new Decoded();
 * addVlan(d, 0x2064); // d.vlanId === 100, d.vlanCount === 1
 * ```
 */
export function addVlan(out: Decoded, tci: number): void {
  const id = tci & 0xfff;
  if (out.vlanCount === 0) out.vlanId = id;
  else if (out.vlanCount === 1) out.innerVlanId = id;
  out.vlanCount++;
}

/**
 * Walk the VLAN tags starting at `p` while `out.etherType` is a TPID. Each tag is
 * 4 bytes (TCI, next EtherType). Sets `out.etherType` to the type after the tags.
 * Returns the offset after the last tag, or -1 (truncated, or more than MAX_VLAN_TAGS in all: malformed);
 * then the EtherType after the tags is unknown and `out.etherType` is 0, and a tag cut after its
 * TCI still counts (its VLAN id was captured).
 *
 * @example
 * ```ts
 * import { Decoded } from "./decoded.ts";
 * import { decodeVlanTags } from "./vlan.ts";
 * const b = new Uint8Array([0x00, 0x64, 0x08, 0x00]);
 * const d = new Decoded();
 * d.etherType = 0x8100;
 * decodeVlanTags(b, new DataView(b.buffer), 0, 4, d); // 4; d.vlanId === 100, d.etherType === 0x0800
 * ```
 */
export function decodeVlanTags(
  data: Uint8Array,
  view: DataView,
  p: number,
  end: number,
  out: Decoded,
): number {
  while (isVlanTpid(out.etherType)) {
    if (out.vlanCount >= MAX_VLAN_TAGS) {
      out.malformed = true;
      out.etherType = 0; // unknown: the walk stopped inside the tags
      return -1;
    }
    if (p + 4 > end) {
      if (p + 2 <= end) addVlan(out, (data[p] << 8) | data[p + 1]); // the TCI was captured
      out.truncated = true;
      out.etherType = 0; // unknown: not captured
      return -1;
    }
    addVlan(out, (data[p] << 8) | data[p + 1]);
    out.etherType = view.getUint16(p + 2);
    p += 4;
  }
  return p;
}
