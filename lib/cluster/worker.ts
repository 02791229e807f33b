/**
 * The Worker side of a cluster (`runCluster` in cluster.ts starts one per
 * member): open this member's ring paused and join the fanout group, wait for
 * the start, then run the analysis where the packets are — the shared read
 * loop, stopping on the shared flag or the shared -c budget — answer
 * snapshot requests between bursts, and at the end post the last snapshot
 * with the ring's counters. Packets never leave this thread; only snapshots
 * (plain objects, typed arrays transferred) do.
 *
 * Messages in: `open` (what to capture and analyse), `start`, `snapshot`.
 * Messages out: `joined` (the group id), `snapshot`, `done`, `failed`.
 *
 * On the xdp backend there is no fanout group: the member opens the AF_XDP
 * rings of the receive queues it was given (`xdpQueues`; several are read
 * round-robin by `XdpQueues`) and reports what it obtained in `joined`.
 *
 * Fault injection for tests: RINGCAP_FAULT_WORKER=K:P makes worker K throw
 * after it has analysed P packets.
 * @module
 */
import process from "node:process";
import type { Packet } from "../packet.ts";
import { run } from "../run.ts";
import { Ring } from "../source/live/ring.ts";
import type { RingOptions } from "../source/live/ring_base.ts";
import { type LiveSource, xdpInfo, XdpQueues } from "../source/live/xdp_queues.ts";
import { type Analysis, loadAnalysisKind } from "../analysis/analysis.ts";
import { SharedControl } from "./shared.ts";
import { transferables } from "./transfer.ts";

/** What the main thread sends to open a member. */
export interface OpenMessage {
  type: "open";
  index: number;
  iface: string;
  ring: RingOptions;
  module: string;
  export: string;
  options: unknown;
  control: SharedArrayBuffer;
  tickMs: number;
  /** xdp: the receive queues this worker reads (one AF_XDP socket each; no fanout group). */
  xdpQueues?: number[];
}

// deno-lint-ignore no-explicit-any
const port = globalThis as any; // the Worker's global scope (self)
let ring: LiveSource | null = null;
let analysis: Analysis<unknown> | null = null;
let index = -1;
let started: (() => void) | null = null;
const startGate = new Promise<void>((r) => (started = r));

function post(msg: Record<string, unknown>, payload?: unknown): void {
  port.postMessage(msg, payload === undefined ? [] : transferables(payload));
}

/** Report a failure with what was analysed until then (the analysis finished: a probe exports its flows). */
function fail(e: unknown, stage: string, read = 0): void {
  const message = String((e as Error)?.message ?? e);
  let snapshot: unknown = undefined, stats = undefined;
  try {
    if (analysis && stage !== "open") {
      analysis.finish?.(Date.now());
      snapshot = analysis.snapshot();
    }
    stats = ring?.stats();
  } catch {
    // the interface is gone: no counters to add
  }
  const code = (e as { code?: string })?.code;
  post({ type: "failed", index, stage, message, code, read, snapshot, stats }, snapshot);
}

async function open(m: OpenMessage): Promise<void> {
  index = m.index;
  try {
    analysis = (await loadAnalysisKind(m.module, m.export)).create(m.options);
    const q = m.xdpQueues;
    ring = q === undefined
      ? await Ring.open(m.iface, { ...m.ring, paused: true })
      : q.length === 1
      ? await Ring.open(m.iface, { ...m.ring, backend: "xdp", xdpQueue: q[0], paused: true })
      : await XdpQueues.open(m.iface, { ...m.ring, paused: true }, q);
    post({ type: "joined", index, group: ring.fanoutGroup, delivery: ring.delivery, xdp: xdpInfo(ring) });
  } catch (e) {
    fail(e, "open");
    ring?.close();
    return;
  }
  await startGate;
  await capture(m);
}

async function capture(m: OpenMessage): Promise<void> {
  const r = ring!, a = analysis!;
  const control = new SharedControl(m.control);
  let onPacket = (p: Packet) => a.add(p);
  const fault = (process.env.RINGCAP_FAULT_WORKER ?? "").split(":").map(Number);
  if (fault.length === 2 && fault[0] === index) {
    let n = 0;
    onPacket = (p: Packet) => {
      if (++n > fault[1]) throw new Error(`injected fault after ${fault[1]} packets (RINGCAP_FAULT_WORKER)`);
      a.add(p);
    };
  }
  try {
    r.start();
    const end = await run(r, onPacket, {
      handleSignals: false,
      tickMs: m.tickMs,
      onTick: () => a.tick?.(Date.now()),
      shared: control,
      returnErrors: true,
    });
    if (end.error !== undefined) {
      control.requestStop();
      fail(end.error, "capture", end.read);
      return;
    }
    a.finish?.(Date.now());
    const snapshot = a.snapshot();
    const stats = r.stats();
    r.close(); // before "done": the main thread may end this Worker then (xdp detaches its program at close)
    post({ type: "done", index, reason: end.reason, read: end.read, snapshot, stats }, snapshot);
  } catch (e) {
    control.requestStop();
    fail(e, "capture");
  } finally {
    r.close();
    ring = null;
  }
}

port.onmessage = (e: MessageEvent) => {
  const m = e.data;
  if (m.type === "open") void open(m as OpenMessage);
  else if (m.type === "start") started!();
  else if (m.type === "snapshot" && analysis && ring) {
    const snapshot = analysis.snapshot();
    let stats = undefined;
    try {
      stats = ring.stats();
    } catch {
      // the interface went away: the loop reports it
    }
    post({ type: "snapshot", index, seq: m.seq, snapshot, stats }, snapshot);
  }
};
