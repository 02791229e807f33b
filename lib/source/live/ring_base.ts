/**
 * `Ring`: a live capture on one interface, read straight out of the
 * memory-mapped ring (the public class; `ring.ts` beside it is its entry point).
 *
 * `Ring.open()` validates options, opens the capture in libring, maps the
 * ring ONCE as one ArrayBuffer and picks the reader that matches the ring's
 * layout (AF_PACKET TPACKET_V3 blocks: ring_v3.ts; TPACKET_V2 frames for
 * immediate delivery: ring_v2.ts; the ringcap module's slots: ring_slots.ts). Reading a packet is plain memory access: no copy,
 * no FFI call, no allocation — `next()` returns one reused `Packet`, valid
 * until the next `next()`.
 *
 * Waiting for packets (`await ring.wait()`) is the only FFI call in a read
 * loop, made once per empty ring, never per packet.
 *
 * Scaling across cores: rings opened with the same `fanout` group on one
 * interface share its traffic, each frame going to exactly one of them
 * (AF_PACKET PACKET_FANOUT; one ring per Worker). `paused: true` opens a ring
 * that receives nothing until `ring.start()`: open and join every member
 * paused, then start them, and no member sees a frame while the group is
 * still forming.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts";
 * using ring = await Ring.open("eth0", { snaplen: 128 });
 * let n = 0;
 * while (n < 1000) {
 *   for (let p = ring.next(); p; p = ring.next()) n++;
 *   await ring.wait(100);
 * }
 * console.log(ring.stats());
 * ```
 */
import { type Native, native, OPTS, OPTS_SIZE } from "./ffi.ts";
import { errnoName, RingError, unwrap } from "./errors.ts";
import type { CaptureStats, Packet, PacketSource } from "../../packet.ts";
import { PacketBatch } from "../../batch.ts";

/** How the reader waits when the ring is empty (the paper's three modes). */
export type WaitMode = "poll" | "busy" | "adaptive";
const WAIT_MODES: Record<WaitMode, number> = { poll: 0, busy: 1, adaptive: 2 };
const BACKENDS = { auto: 0, ring: 1, packet: 2, xdp: 3 } as const;
/** Longest blocking lr_wait call (ms) under Bun: the event loop is never held longer. */
const SLICE_MS = 50;
/** Longest blocking lr_wait call under Deno; longer waits are nonblocking calls (Ring.wait). */
const DENO_SLICE_MS = 10;
/**
 * Least time between two turns of the event loop while packets keep coming
 * (ms). Deno: 50 — its turn is a nonblocking FFI call (a thread pool hop), and
 * an idle or slow ring waits nonblocking anyway, the event loop free. Bun: 0,
 * a turn (setImmediate, ~5 us) after every wake-up: with fewer, Bun served
 * --metrics scrapes 5x slower (test/metrics.test.ts, 3,000 scrapes at 20 kpps).
 */
const TURN_MS = (globalThis as { Bun?: unknown }).Bun ? 0 : 50;

/**
 * How a fanout group spreads frames over its members: "hash" (default) the
 * kernel's symmetric flow hash, so both directions of a flow meet in one
 * member; "lb" round robin; "cpu" by the receiving CPU; "qm" by the NIC's
 * receive queue; "rollover" fill one member, then the next; "random".
 */
export type FanoutMode = "hash" | "lb" | "cpu" | "qm" | "rollover" | "random";
/** Every fanout mode, the default first. */
export const FANOUT_MODES: readonly FanoutMode[] = ["hash", "lb", "cpu", "qm", "rollover", "random"];
/** libring.h enum lr_fanout_mode (the kernel's PACKET_FANOUT_* numbers). */
const FANOUT_MODE_NUM: Record<FanoutMode, number> = { hash: 0, lb: 1, cpu: 2, rollover: 3, random: 4, qm: 5 };
/** lr_open flags LR_F_PAUSED, LR_F_IMMEDIATE; lr_fanout flag LR_FANOUT_DEFRAG. */
const LR_F_PAUSED = 0x10, LR_F_IMMEDIATE = 0x20, LR_FANOUT_DEFRAG = 0x1;

/** A fanout group to join (`RingOptions.fanout`): AF_PACKET PACKET_FANOUT, or a cluster of the ringcap module (hash and lb). */
export interface FanoutOptions {
  /** How frames are spread; default "hash". Every member must use the same. */
  mode?: FanoutMode;
  /** Group id 1..65535 to join (or create, if no group has it); 0 or absent: the kernel allocates a new one (read it from `ring.fanoutGroup`). */
  group?: number;
  /** Group size, fixed when the group is created (1..65536); a join beyond it fails (ENOSPC). Absent: 256 (kernel default) when creating, any size when joining. */
  members?: number;
  /**
   * Reassemble IPv4 fragments before choosing the member; default false.
   * Members then receive reassembled datagrams instead of the wire frames, so
   * packets and bytes count datagrams, not frames.
   */
  defrag?: boolean;
}

/** Options of `Ring.open`. Every one is validated; a bad one throws RingError EINVAL. */
export interface RingOptions {
  /** Bytes kept per packet (tcpdump -s), 1..262144; default 65535. */
  snaplen?: number;
  /** Ring memory in MiB (--ring-mb); default 64. */
  ringMb?: number;
  /** Ring memory in bytes (overrides ringMb; for tiny test rings). */
  ringBytes?: number;
  /** TPACKET_V3 block size in bytes (multiple of 4096); default from the ring size. */
  blockBytes?: number;
  /** TPACKET_V3 block retire timeout (ms): bounds latency at low rates; default 10. */
  timeoutMs?: number;
  /** Wait mode (--wait); default "poll". */
  wait?: WaitMode;
  /** Keep 1 packet in N, in the kernel (--sampling); default 1 (all). */
  sampling?: number;
  /** tcpdump filter expression, compiled by libpcap, run in the kernel. */
  filter?: string;
  /** Put the interface in promiscuous mode; default true (as tcpdump). */
  promisc?: boolean;
  /** Which direction to capture; default "both". */
  direction?: "both" | "in" | "out";
  /** Module only: captured packets do not reach the host stack. */
  steal?: boolean;
  /** Force a backend; default "auto" (or $RINGCAP_BACKEND); "auto" never picks "xdp" (AF_XDP steals the frames it captures). */
  backend?: "auto" | "ring" | "packet" | "xdp";
  /** Backend "xdp": attach mode "native" (driver) or "generic" (any interface); default: native where the driver has it, else generic (or $RINGCAP_XDP_MODE). */
  xdpMode?: "auto" | "native" | "generic";
  /** Backend "xdp": the receive queue to bind (--queue); required on an interface with several (an AF_XDP socket sees only its queue). */
  xdpQueue?: number;
  /** Join a fanout group after opening (AF_PACKET; on the ringcap module a cluster: hash or lb only, else EINVAL). */
  fanout?: FanoutOptions;
  /**
   * Open paused: the ring receives nothing until `ring.start()` (a start
   * barrier for a fanout group's members). The filter still compiles at open.
   */
  paused?: boolean;
  /**
   * Immediate delivery (--immediate): each packet visible to `next()` and
   * `wait()` as soon as the kernel wrote it. On AF_PACKET the ring is
   * TPACKET_V2 frames (sized from `snaplen` capped by the interface MTU, as
   * libpcap does) instead of TPACKET_V3 blocks, which reach the reader only
   * when full or after `timeoutMs`. Default false; the module's slots are
   * immediate either way. See `ring.delivery`.
   */
  immediate?: boolean;
}

/**
 * How packets reach the reader: "block" (TPACKET_V3: a block at a time, when
 * full or after `timeoutMs`) or "immediate" (each packet once written:
 * TPACKET_V2 frames, the module's slots).
 */
export type Delivery = "block" | "immediate";

/** lr_fanout's arguments from validated fanout options. */
interface FanoutArgs {
  group: number;
  mode: number;
  flags: number;
  members: number;
}

/** Validate `RingOptions.fanout`; null when absent. */
function fanoutArgs(f: unknown): FanoutArgs | null {
  if (f === undefined) return null;
  if (typeof f !== "object" || f === null || Array.isArray(f)) {
    throw new RingError(
      "EINVAL",
      `fanout must be an object like { mode: "hash", members: 4 }, got ${String(f)}`,
    );
  }
  const o = f as FanoutOptions;
  const mode = o.mode ?? "hash";
  if (typeof mode !== "string" || !Object.hasOwn(FANOUT_MODE_NUM, mode)) {
    throw new RingError(
      "EINVAL",
      `fanout mode (--fanout) must be ${FANOUT_MODES.join(", ")}, got ${String(mode)}`,
    );
  }
  if (o.defrag !== undefined && typeof o.defrag !== "boolean") {
    throw new RingError("EINVAL", `fanout.defrag must be true or false, got ${String(o.defrag)}`);
  }
  return {
    group: intOption("fanout.group", o.group ?? 0, 0, 65535),
    mode: FANOUT_MODE_NUM[mode],
    flags: o.defrag ? LR_FANOUT_DEFRAG : 0,
    members: o.members === undefined ? 0 : intOption("fanout.members", o.members, 1, 65536),
  };
}

/** Return rc when >= 0, else throw a RingError whose message is libring's one-line detail. */
function check(rc: number, what: string, lib: Native): number {
  if (rc >= 0) return rc;
  throw new RingError(errnoName(rc), `${what}: ${lib.error() || lib.strerror(rc)}`);
}

/** Largest ring: the reader addresses it with 32-bit offsets (`>>> 2` into one Uint32Array). */
export const MAX_RING_MB = 4095;

function intOption(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RingError("EINVAL", `${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

/** Validate options and encode them as struct lr_opts. */
export function encodeOptions(o: RingOptions): Uint8Array {
  const buf = new Uint8Array(OPTS_SIZE);
  const dv = new DataView(buf.buffer);
  let ring = 64 * 2 ** 20;
  if (o.ringBytes !== undefined) ring = intOption("ringBytes", o.ringBytes, 4096, MAX_RING_MB * 2 ** 20);
  else if (o.ringMb !== undefined) {
    if (typeof o.ringMb !== "number" || !(o.ringMb >= 1 / 256 && o.ringMb <= MAX_RING_MB)) {
      throw new RingError(
        "EINVAL",
        `ring size (--ring-mb) must be a number from 0.004 to ${MAX_RING_MB}, got ${o.ringMb}`,
      );
    }
    ring = Math.floor(o.ringMb * 2 ** 20);
  }
  dv.setBigUint64(OPTS.ring_bytes, BigInt(ring), true);
  dv.setUint32(OPTS.snaplen, intOption("snaplen (-s)", o.snaplen ?? 65535, 1, 262144), true);
  if (o.blockBytes !== undefined) {
    const b = intOption("blockBytes", o.blockBytes, 4096, 1 << 30);
    if (b % 4096) throw new RingError("EINVAL", `blockBytes must be a multiple of 4096, got ${b}`);
    dv.setUint32(OPTS.block_bytes, b, true);
  }
  dv.setUint32(OPTS.timeout_ms, intOption("timeoutMs", o.timeoutMs ?? 10, 1, 60_000), true);
  dv.setUint32(OPTS.sampling, intOption("sampling (--sampling)", o.sampling ?? 1, 1, 2 ** 31), true);
  const wait = o.wait ?? "poll";
  if (!(wait in WAIT_MODES)) {
    throw new RingError("EINVAL", `wait mode (--wait) must be busy, poll or adaptive, got ${String(wait)}`);
  }
  dv.setUint32(OPTS.wait_mode, WAIT_MODES[wait], true);
  const backend = o.backend ?? "auto";
  if (!(backend in BACKENDS)) {
    throw new RingError("EINVAL", `backend must be auto, ring, packet or xdp, got ${String(backend)}`);
  }
  dv.setUint32(OPTS.backend, BACKENDS[backend], true);
  const xdpMode = o.xdpMode ?? "auto";
  if (xdpMode !== "auto" && xdpMode !== "native" && xdpMode !== "generic") {
    throw new RingError("EINVAL", `xdpMode must be auto, native or generic, got ${String(xdpMode)}`);
  }
  const xdpQueue = o.xdpQueue === undefined ? 0 : intOption("xdpQueue (--queue)", o.xdpQueue, 0, 65535) + 1;
  dv.setUint32(OPTS.xdp, (xdpMode === "generic" ? 1 : xdpMode === "native" ? 2 : 0) | (xdpQueue << 8), true);
  const dir = o.direction ?? "both";
  if (dir !== "both" && dir !== "in" && dir !== "out") {
    throw new RingError("EINVAL", `direction must be both, in or out, got ${String(dir)}`);
  }
  if (o.paused !== undefined && typeof o.paused !== "boolean") {
    throw new RingError("EINVAL", `paused must be true or false, got ${String(o.paused)}`);
  }
  if (o.immediate !== undefined && typeof o.immediate !== "boolean") {
    throw new RingError("EINVAL", `immediate must be true or false, got ${String(o.immediate)}`);
  }
  // a fanout member is opened paused, joined, then started (unless paused was asked):
  // it never receives a frame alone before it joins
  const fanout = fanoutArgs(o.fanout);
  const flags = (o.promisc === false ? 1 : 0) | (o.steal ? 2 : 0) | (dir === "in" ? 4 : 0) |
    (dir === "out" ? 8 : 0) | (o.paused || fanout ? LR_F_PAUSED : 0) | (o.immediate ? LR_F_IMMEDIATE : 0);
  dv.setUint32(OPTS.flags, flags, true);
  return buf;
}

/** The mapped ring and its description, handed to a reader subclass. */
export interface Mapping {
  lib: Native;
  handle: number;
  iface: string;
  /** Layout values by key name (lr_layout_key), as numbers. */
  layout: Record<string, number>;
  buffer: ArrayBuffer;
}

type ReaderClass = new (m: Mapping) => Ring;
const readers = new Map<number, ReaderClass>();
const safetyNet = new FinalizationRegistry<{ lib: Native; handle: number }>((h) => {
  h.lib.close(h.handle);
});

/** A live capture. Open with `Ring.open`; read with `next()`; close with `close()` or `using`. */
export abstract class Ring implements PacketSource, Disposable, AsyncIterable<PacketBatch> {
  /** The interface name. */
  readonly iface: string;
  /** "packet" (AF_PACKET TPACKET_V3), "ring" (the ringcap module) or "xdp" (AF_XDP). */
  readonly backend: "packet" | "ring" | "xdp";
  /** Layout values by name, as libring describes them. */
  readonly layout: Readonly<Record<string, number>>;
  /** Sum of wire lengths of the packets read so far. */
  protected bytesRead = 0;
  protected lib: Native;
  protected handle: number;
  #closed = false;
  #paused = false;
  #fanout = -1;
  #stats = new BigUint64Array(5);
  #token = {};

  /** Register the reader class for a layout kind (1 = TPACKET_V3, 2 = slots). */
  static register(kind: number, cls: ReaderClass): void {
    readers.set(kind, cls);
  }

  /**
   * Open a capture on `iface`. Throws RingError: ENODEV (no such interface),
   * EPERM (no CAP_NET_RAW), EINVAL (bad option), EBADMSG (bad filter), ENOMEM.
   * With `fanout`, also joins the group (opened paused, joined, then started
   * unless `paused`): EINVAL (the group exists with another mode, flags, size
   * or interface), ENOSPC (the group is full), EINVAL on the module for modes other than hash and lb.
   */
  static async open(iface: string, options: RingOptions = {}): Promise<Ring> {
    if (typeof iface !== "string" || !iface) {
      throw new RingError("ENODEV", "no interface given: pass one (e.g. eth0; see `ip link`)");
    }
    const opts = encodeOptions(options);
    const fanout = fanoutArgs(options.fanout);
    const lib = await native();
    const filter = options.filter ?? "";
    const handle = unwrap(lib.open(iface, opts, filter), filter ? `${iface} '${filter}'` : iface, lib);
    let ring: Ring;
    try {
      const keys = lib.layoutKeys();
      const vals = new BigUint64Array(keys.length);
      unwrap(lib.layoutGet(handle, vals), iface, lib);
      const layout: Record<string, number> = {};
      keys.forEach((k, i) => (layout[k] = k === "base" ? 0 : Number(vals[i])));
      const base = vals[keys.indexOf("base")];
      const cls = readers.get(layout.kind);
      if (!cls) throw new RingError("EPROTONOSUPPORT", `no reader for ring layout kind ${layout.kind}`);
      let buffer: ArrayBuffer;
      try {
        buffer = lib.view(base, layout.size);
      } catch (e) {
        throw new RingError(
          "ENOMEM",
          `${iface}: cannot map a ${layout.size}-byte ring in this runtime (${e}): use a smaller --ring-mb`,
        );
      }
      ring = new cls({ lib, handle, iface, layout, buffer });
    } catch (e) {
      lib.close(handle);
      throw e;
    }
    try {
      ring.#paused = options.paused === true || fanout !== null;
      if (fanout) {
        ring.#fanout = check(
          lib.fanout(handle, fanout.group, fanout.mode, fanout.flags, fanout.members),
          `${iface} fanout`,
          lib,
        );
        if (!options.paused) ring.start();
      }
    } catch (e) {
      ring.close();
      throw e;
    }
    return ring;
  }

  protected constructor(m: Mapping) {
    this.iface = m.iface;
    this.lib = m.lib;
    this.handle = m.handle;
    this.layout = m.layout;
    const b = m.lib.backend(m.handle);
    this.backend = b === 1 ? "ring" : b === 3 ? "xdp" : "packet";
    safetyNet.register(this, { lib: m.lib, handle: m.handle }, this.#token);
  }

  /** The next ready packet (reused object, valid until the next call), or null if none is ready. */
  abstract next(): Packet | null;
  /** True when `next()` would return a packet. */
  abstract ready(): boolean;
  /** The block/slot index the reader waits on (for lr_wait). */
  protected abstract cursor(): number;
  /** Make every view unusable (called on close, before unmapping). */
  protected abstract detach(): void;

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * How packets reach the reader: "block" on AF_PACKET TPACKET_V3 (layout
   * kind 1), "immediate" otherwise (TPACKET_V2 with `immediate`, the module's
   * slots). What `--json` reports as `delivery`.
   */
  get delivery(): Delivery {
    return this.layout.kind === 1 ? "block" : "immediate";
  }

  /** The fanout group this ring is in (`RingOptions.fanout`), or -1. */
  get fanoutGroup(): number {
    return this.#fanout;
  }

  /** True while the ring was opened `paused` and not started yet. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * End the pause of a ring opened with `paused: true`: from now on it
   * receives frames (the kernel swaps the drop-all program for the ring's
   * filter atomically). A no-op when not paused.
   */
  start(): void {
    if (this.#closed) throw new RingError("EBADF", `${this.iface}: the capture is closed`);
    if (!this.#paused) return;
    check(this.lib.start(this.handle), `${this.iface} start`, this.lib);
    this.#paused = false;
  }

  /**
   * Wait until packets are ready or `timeoutMs` passes (default 100 ms).
   * Resolves true when ready. Throws RingError ENODEV/ENETDOWN when the
   * interface goes away. Never blocks the event loop for long, and does not
   * turn it after every wake-up either (a turn costs more than the wake-up):
   * a wake-up is one blocking lr_wait call, and the event loop turns (timers,
   * signals, I/O, messages) after every wake-up under Bun (setImmediate is
   * cheap there), at most every 50 ms under Deno while packets keep coming.
   * Under Bun the blocking calls last at most 50 ms. Under Deno they last at most 10 ms; an idle ring (a call
   * that timed out) and every 50 ms's turn wait with the nonblocking call
   * instead, so the event loop runs freely meanwhile. `waitCounts` counts both.
   */
  async wait(timeoutMs = 100): Promise<boolean> {
    if (this.#closed) throw new RingError("EBADF", `${this.iface}: the capture is closed`);
    if (this.ready()) {
      // packets keep coming: still turn the event loop every TURN_MS (signals, timers, I/O)
      if (performance.now() - this.#turned < TURN_MS) return true;
      this.waitCounts.turns++;
      if (this.lib.runtime === "bun") await new Promise((r) => setImmediate(r));
      else unwrap(await this.lib.wait(this.handle, this.cursor(), 0), this.iface, this.lib);
      this.#turned = performance.now();
      return !this.#closed && this.ready();
    }
    const ms = Number.isFinite(timeoutMs) ? Math.max(0, Math.min(2 ** 31 - 1, Math.ceil(timeoutMs))) : 100;
    const c = this.waitCounts;
    const deno = this.lib.runtime === "deno";
    let now = performance.now();
    const end = now + ms;
    for (;;) {
      const left = Math.max(0, Math.ceil(end - now));
      let rc: number;
      if (deno && (this.#idle || now - this.#turned >= TURN_MS)) {
        // a nonblocking call: a worker thread sleeps in poll(), the event loop runs meanwhile
        rc = await this.lib.wait(this.handle, this.cursor(), left);
        c.waits++;
        c.turns++;
        if (this.#closed) return false;
        unwrap(rc, this.iface, this.lib);
        this.#idle = rc === 0;
        now = this.#turned = performance.now();
      } else {
        rc = this.lib.waitSync(this.handle, this.cursor(), Math.min(deno ? DENO_SLICE_MS : SLICE_MS, left));
        c.waits++;
        unwrap(rc, this.iface, this.lib);
        now = performance.now();
        this.#idle = rc === 0;
        if (!deno && now - this.#turned >= TURN_MS) {
          c.turns++;
          await new Promise((r) => setImmediate(r));
          if (this.#closed) return false;
          now = this.#turned = performance.now();
        }
      }
      if (rc > 0 || now >= end) return this.ready();
    }
  }

  /**
   * `wait()` without a promise, for read loops (run()): when the event loop
   * need not turn yet, one blocking lr_wait of at most a slice (50 ms; 10 ms
   * under Deno) and whether packets are ready; `null` when a turn is due (or,
   * under Deno, the ring looks idle): then `await wait()`. An async call and
   * its promise per wake-up cost more than the wake-up's reading at moderate
   * rates. `now`: performance.now() if the caller has just read it (one clock
   * read per wake-up: under Deno it is an op call).
   */
  waitNow(timeoutMs: number, now: number = performance.now()): boolean | null {
    if (this.#closed) throw new RingError("EBADF", `${this.iface}: the capture is closed`);
    const deno = this.lib.runtime === "deno";
    if (now - this.#turned >= TURN_MS) return null;
    if (this.ready()) return true;
    if (deno && this.#idle) return null;
    const ms = Math.max(0, Math.min(deno ? DENO_SLICE_MS : SLICE_MS, Math.ceil(timeoutMs)));
    const rc = this.lib.waitSync(this.handle, this.cursor(), ms);
    this.waitCounts.waits++;
    unwrap(rc, this.iface, this.lib);
    this.#idle = rc === 0;
    return rc > 0 && this.ready();
  }

  /**
   * What waiting has cost since open (for tests and tuning): `waits` blocking
   * lr_wait calls (one per wake-up or 50 ms slice), `turns` of the event loop.
   */
  readonly waitCounts = { waits: 0, turns: 0 };
  #turned = 0;
  /** The last blocking wait timed out (Deno: wait nonblocking next). */
  #idle = false;

  /**
   * Batches of ready packets (at most `maxPerBatch` each) until the ring is closed.
   * One promise per batch, never per packet:
   * `for await (const batch of ring) for (const p of batch) ...`
   */
  async *batches(maxPerBatch = 65536): AsyncGenerator<PacketBatch> {
    const batch = new PacketBatch(this, maxPerBatch);
    let spins = 0;
    while (!this.#closed) {
      if (!this.ready()) {
        await this.wait(100);
        continue;
      }
      if (batch.fill()) yield batch;
      // let timers and signal handlers run during long bursts
      if (++spins % 32 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<PacketBatch> {
    return this.batches();
  }

  /** Counters since open (DESIGN.md names). `bytes` counts packets read. */
  stats(): CaptureStats {
    if (!this.#closed) unwrap(this.lib.stats(this.handle, this.#stats), this.iface, this.lib);
    const s = this.#stats;
    return { packets: Number(s[0]), dropped: Number(s[1]), filtered: Number(s[2]), bytes: this.bytesRead };
  }

  /** Close the capture and unmap the ring. Idempotent. Every Packet view becomes empty. */
  close(): void {
    if (this.#closed) return;
    this.stats();
    this.#closed = true;
    this.detach();
    safetyNet.unregister(this.#token);
    this.lib.close(this.handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Detach an ArrayBuffer in place (its views read as empty) where the runtime allows. */
export function detachBuffer(b: ArrayBuffer): void {
  try {
    (b as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer }).transfer?.(0);
  } catch {
    // not detachable: the reader has already swapped its views for empty ones
  }
}
