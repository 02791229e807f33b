/**
 * The exact bytes of the frames libring/tools/txframes.c sends, rebuilt in
 * TypeScript so capture tests can compare every captured byte.
 *
 * @example
 * ```ts
 * const f = frame(7, 1);           // frame 7 of seed 1
 * frameIndex(f, 0);                // 7
 * ```
 */

/** Wire length of frame i (before a VLAN tag is added). */
export function frameLength(i: number, seed = 1, min = 60, max = 1514): number {
  return min + ((Math.imul(i, 7919) >>> 0) + seed) % (max - min + 1);
}

/** The bytes of frame i as sent (with an 802.1Q tag when vlan >= 0). */
export function frame(i: number, seed = 1, min = 60, max = 1514, vlan = -1): Uint8Array {
  const len = frameLength(i, seed, min, max);
  const f = new Uint8Array(len);
  for (let k = 0; k < len; k++) f[k] = (Math.imul(i, 131) + k * 7 + seed) & 0xff;
  f.set([2, 0, 0, 0, 0, 0x99, 2, 0, 0, 0, 0, 1]);
  let p = 12;
  if (vlan >= 0) {
    f.set([0x81, 0x00, vlan >> 8, vlan & 0xff], p);
    p += 4;
  }
  f.set([0x88, 0xb5], p);
  new DataView(f.buffer).setUint32(p + 2, i);
  new DataView(f.buffer).setUint32(p + 6, seed);
  return f;
}

/** The index i stored in a captured txframes frame (VLAN tag already stripped). */
export function frameIndex(data: Uint8Array, offset: number): number {
  return ((data[offset + 14] << 24) | (data[offset + 15] << 16) | (data[offset + 16] << 8) |
    data[offset + 17]) >>> 0;
}
