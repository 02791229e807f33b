/**
 * The one FFI adapter: loads libring.so under Bun (`bun:ffi`) or Deno
 * (`Deno.dlopen`) from ONE symbol table, and exposes the same small `Native`
 * object to the rest of the library. Nothing else in ringcap calls FFI.
 *
 * None of these calls is made per packet: they open, describe, wait, count
 * and close. Packets are read from the mapped ring in plain memory (ring.ts).
 *
 * The library is found at `$RINGCAP_LIB`, else `libring/build/libring.so`
 * next to this package; if missing, the error says how to build it.
 *
 * @example
 * ```ts
 * import { native } from "./ffi.ts";
 * const lib = await native();
 * console.log(lib.strerror(-19)); // "no such interface ..."
 * ```
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { RingError } from "./errors.ts";

type ArgType = "i32" | "u32" | "buffer";
type RetType = "i32" | "cstring";

/** THE symbol table: every libring function TS uses, with its C prototype. */
export const SYMBOLS = {
  /** int lr_open(const char *dev, const struct lr_opts *opts, const char *filter); */
  lr_open: { args: ["buffer", "buffer", "buffer"], result: "i32" },
  /** const char *lr_layout_key(int i); */
  lr_layout_key: { args: ["i32"], result: "cstring" },
  /** int lr_layout_get(int h, uint64_t *out, int n); */
  lr_layout_get: { args: ["i32", "buffer", "i32"], result: "i32" },
  /** int lr_wait(int h, uint32_t cursor, int timeout_ms); — blocking */
  lr_wait: { args: ["i32", "u32", "i32"], result: "i32", blocking: true },
  /** int lr_stats(int h, uint64_t *out); — out[5]: packets dropped filtered seen bytes */
  lr_stats: { args: ["i32", "buffer"], result: "i32" },
  /** int lr_backend(int h); */
  lr_backend: { args: ["i32"], result: "i32" },
  /** int lr_close(int h); */
  lr_close: { args: ["i32"], result: "i32" },
  /** int lr_start(int h); — ends the pause of a handle opened with LR_F_PAUSED */
  lr_start: { args: ["i32"], result: "i32" },
  /** int lr_fanout(int h, uint32_t group_id, uint32_t mode, uint32_t flags, uint32_t max_members); */
  lr_fanout: { args: ["i32", "u32", "u32", "u32", "u32"], result: "i32" },
  /** const char *lr_strerror(int err); */
  lr_strerror: { args: ["i32"], result: "cstring" },
  /** const char *lr_error(void); */
  lr_error: { args: [], result: "cstring" },
  /** int lr_bpf_compile(const char *expr, uint32_t snaplen, int linktype); */
  lr_bpf_compile: { args: ["buffer", "u32", "i32"], result: "i32" },
  /** int lr_bpf_match(int fh, const uint8_t *buf, uint32_t off, uint32_t caplen, uint32_t wirelen); */
  lr_bpf_match: { args: ["i32", "buffer", "u32", "u32", "u32"], result: "i32" },
  /** int lr_bpf_free(int fh); */
  lr_bpf_free: { args: ["i32"], result: "i32" },
} as const satisfies Record<string, { args: readonly ArgType[]; result: RetType; blocking?: boolean }>;

/** struct lr_opts, 40 bytes (libring.h has a _Static_assert on the size). */
export const OPTS_SIZE = 40;
/** Byte offsets of struct lr_opts fields. */
export const OPTS = {
  ring_bytes: 0, // u64
  snaplen: 8,
  block_bytes: 12,
  timeout_ms: 16,
  sampling: 20,
  flags: 24,
  wait_mode: 28,
  backend: 32,
  xdp: 36,
} as const;

/** What the rest of ringcap sees of libring. */
export interface Native {
  readonly runtime: "bun" | "deno";
  open(dev: string, opts: Uint8Array, filter: string): number;
  /** All layout keys, in libring's order. */
  layoutKeys(): string[];
  layoutGet(h: number, out: BigUint64Array): number;
  /** Blocking wait in the calling thread (keep timeouts short under Bun). */
  waitSync(h: number, cursor: number, timeoutMs: number): number;
  /** Wait without blocking the event loop where the runtime allows (Deno). */
  wait(h: number, cursor: number, timeoutMs: number): Promise<number>;
  stats(h: number, out: BigUint64Array): number;
  backend(h: number): number;
  close(h: number): number;
  /** End a paused handle's pause (0, or -errno). */
  start(h: number): number;
  /** Join a fanout group (0 = the kernel allocates one): the group id, or -errno. */
  fanout(h: number, group: number, mode: number, flags: number, maxMembers: number): number;
  strerror(err: number): string;
  error(): string;
  bpfCompile(expr: string, snaplen: number, linktype: number): number;
  /** Run an offline filter on buf[off, off+caplen): bytes to keep, 0 = rejected. */
  bpfMatch(fh: number, buf: Uint8Array, off: number, caplen: number, wirelen: number): number;
  bpfFree(fh: number): number;
  /** A zero-copy ArrayBuffer over `size` bytes at address `base`. */
  view(base: bigint, size: number): ArrayBuffer;
}

const enc = new TextEncoder();
/** NUL-terminated UTF-8 bytes for a C string argument. */
function cstr(s: string): Uint8Array {
  const u = enc.encode(s);
  const b = new Uint8Array(u.length + 1);
  b.set(u);
  return b;
}

/** Where libring.so is, or a RingError saying how to build it. */
export function libraryPath(): string {
  const env = process.env.RINGCAP_LIB;
  if (env) {
    if (!existsSync(env)) throw new RingError("ENOENT", `RINGCAP_LIB=${env} does not exist`);
    return env;
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const p = join(here, "..", "..", "..", "libring", "build", "libring.so");
  if (!existsSync(p)) {
    throw new RingError(
      "ENOENT",
      `libring is not built (${p} missing): run \`make -C libring\` or \`npm run build\``,
    );
  }
  return p;
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** What differs between runtimes; everything else is built once in makeNative. */
interface Binding {
  runtime: "bun" | "deno";
  /** The raw symbols of SYMBOLS. */
  s: Any;
  /** A C string result as a JS string ("" for NULL). */
  str(v: unknown): string;
  /** lr_wait without blocking the event loop for long. */
  waitAsync(h: number, cursor: number, timeoutMs: number): Promise<number>;
  view(base: bigint, size: number): ArrayBuffer;
}

function makeNative(b: Binding): Native {
  const { s, str } = b;
  return {
    runtime: b.runtime,
    open: (dev, opts, filter) => s.lr_open(cstr(dev), opts, cstr(filter)),
    layoutKeys() {
      const keys: string[] = [];
      for (let i = 0;; i++) {
        const k = str(s.lr_layout_key(i));
        if (!k) return keys;
        keys.push(k);
      }
    },
    layoutGet: (h, out) => s.lr_layout_get(h, out, out.length),
    waitSync: (h, c, t) => s.lr_wait(h, c, t),
    wait: b.waitAsync,
    stats: (h, out) => s.lr_stats(h, out),
    backend: (h) => s.lr_backend(h),
    close: (h) => s.lr_close(h),
    start: (h) => s.lr_start(h),
    fanout: (h, g, m, f, max) => s.lr_fanout(h, g, m, f, max),
    strerror: (e) => str(s.lr_strerror(e)),
    error: () => str(s.lr_error()),
    bpfCompile: (e, snap, lt) => s.lr_bpf_compile(cstr(e), snap, lt),
    bpfMatch: (fh, buf, off, cap, wire) => s.lr_bpf_match(fh, buf, off, cap, wire),
    bpfFree: (fh) => s.lr_bpf_free(fh),
    view: b.view,
  };
}

/** Bun: bun:ffi; a blocking wait is cut to 50 ms (Ring.wait turns the event loop after it). */
async function loadBun(path: string): Promise<Native> {
  const spec = ["bun", "ffi"].join(":");
  const ffi: Any = await import(spec);
  const T: Record<string, unknown> = {
    i32: ffi.FFIType.i32,
    u32: ffi.FFIType.u32,
    buffer: ffi.FFIType.ptr,
    cstring: ffi.FFIType.cstring,
  };
  const defs: Record<string, { args: unknown[]; returns: unknown }> = {};
  for (const [name, d] of Object.entries(SYMBOLS)) {
    defs[name] = { args: d.args.map((a) => T[a]), returns: T[d.result] };
  }
  const s: Any = ffi.dlopen(path, defs).symbols;
  return makeNative({
    runtime: "bun",
    s,
    str: (v: Any) => (v == null || v.ptr === 0 ? "" : String(v)),
    waitAsync: (h, c, t) => Promise.resolve(s.lr_wait(h, c, Math.min(t, 50))),
    view: (base, size) => ffi.toArrayBuffer(Number(base), 0, size),
  });
}

/** Deno: Deno.dlopen; waits are nonblocking FFI calls (a worker thread sleeps in poll()). */
function loadDeno(path: string): Native {
  const D: Any = (globalThis as Any).Deno;
  const T: Record<string, string> = { i32: "i32", u32: "u32", buffer: "buffer", cstring: "pointer" };
  const defs: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(SYMBOLS)) {
    defs[name] = { parameters: d.args.map((a) => T[a]), result: T[d.result] };
  }
  // lr_wait twice: a nonblocking one for async waits, a plain one for sync waits.
  defs.lr_wait_async = { ...(defs.lr_wait as object), name: "lr_wait", nonblocking: true };
  const s: Any = D.dlopen(path, defs).symbols;
  return makeNative({
    runtime: "deno",
    s,
    str: (p: Any) => (p === null ? "" : new D.UnsafePointerView(p).getCString()),
    waitAsync: (h, c, t) => s.lr_wait_async(h, c, t),
    view: (base, size) => D.UnsafePointerView.getArrayBuffer(D.UnsafePointer.create(base), size),
  });
}

let loaded: Promise<Native> | undefined;

/** The loaded library (loaded once per process). */
export function native(): Promise<Native> {
  if (!loaded) {
    const G = globalThis as Any;
    const path = libraryPath();
    loaded = G.Bun ? loadBun(path) : Promise.resolve(loadDeno(path));
  }
  return loaded;
}
