/**
 * `transferables(value)`: the ArrayBuffers inside a snapshot (typed arrays'
 * buffers, packed record buffers), each once, for `postMessage`'s transfer
 * list — a snapshot's tables move between threads without a copy.
 *
 * @example
 * ```ts
 * import { transferables } from "./transfer.ts";
 * const s = { keys: new Uint32Array(4), records: { buffer: new ArrayBuffer(96), count: 1 } };
 * transferables(s).length; // 2
 * ```
 * @module
 */
export function transferables(v: unknown, out: Set<ArrayBuffer> = new Set()): ArrayBuffer[] {
  if (v instanceof ArrayBuffer) out.add(v);
  else if (ArrayBuffer.isView(v)) {
    if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) {
      out.add(v.buffer);
    }
  } else if (v && typeof v === "object") {
    for (const x of Object.values(v)) transferables(x, out);
  }
  return [...out];
}
