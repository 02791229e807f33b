/**
 * Child processes for the benchmark: spawn, collect output, wait for a line,
 * signal and wait for the exit with a deadline (then SIGKILL). Every process
 * started here is tracked so `stopAll()` (end of the run, SIGINT, SIGTERM) and
 * `killAll()` (process exit) end exactly those, with whatever they started
 * themselves (their descendants, found by parent pid in /proc), and nothing else.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

const live = new Set<Proc>();

/** A process as found in /proc: its pid and start time (so a reused pid is never mistaken for it). */
interface Ps {
  pid: number;
  start: string;
}

function stat(pid: number | string): string[] | null {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, "utf8");
    return st.slice(st.lastIndexOf(")") + 2).split(" "); // [0] state, [1] ppid, [19] starttime
  } catch {
    return null; // gone
  }
}

/** Every descendant of `pid` (children, their children...), from /proc. */
export function descendants(pid: number): Ps[] {
  const children = new Map<number, Ps[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const f = stat(e);
    if (!f) continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), { pid: Number(e), start: f[19] }]);
  }
  const out: Ps[] = [];
  for (let i = -1; i < out.length; i++) out.push(...(children.get(i < 0 ? pid : out[i].pid) ?? []));
  return out;
}

/** SIGKILL `p` if that process still exists (same pid, same start time). */
function killPs(p: Ps): void {
  if (stat(p.pid)?.[19] !== p.start) return;
  try {
    process.kill(p.pid, "SIGKILL");
  } catch { /* gone */ }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Proc {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  code: number | null = null;
  signal: string | null = null;
  readonly done: Promise<void>;
  #waiters: Array<() => void> = [];

  constructor(argv: string[], stdin = false) {
    this.child = spawn(argv[0], argv.slice(1), { stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"] });
    live.add(this);
    this.child.stdout!.setEncoding("utf8");
    this.child.stderr!.setEncoding("utf8");
    this.child.stdout!.on("data", (d: string) => {
      this.stdout += d;
      this.#wake();
    });
    this.child.stderr!.on("data", (d: string) => {
      this.stderr += d;
      this.#wake();
    });
    this.done = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        this.code = code;
        this.signal = signal;
        live.delete(this);
        this.#wake();
        resolve();
      });
      this.child.on("error", (e) => {
        this.stderr += String(e);
        this.code = -1;
        live.delete(this);
        this.#wake();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }
  get exited(): boolean {
    return this.code !== null || this.signal !== null;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Wait until `pred()` holds, the process exits, or `ms` pass. */
  async until(pred: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (this.exited || Date.now() >= end) return pred();
      await Promise.race([
        new Promise<void>((r) => this.#waiters.push(r)),
        sleep(Math.min(20, end - Date.now())),
      ]);
    }
    return true;
  }

  write(s: string): void {
    this.child.stdin?.write(s);
  }

  kill(sig: NodeJS.Signals = "SIGINT"): void {
    if (!this.exited && this.pid > 0) {
      try {
        process.kill(this.pid, sig);
      } catch { /* gone */ }
    }
  }

  /** SIGKILL the process and every process it started (they are looked up first, while still its descendants). */
  killTree(): void {
    if (this.exited || this.pid <= 0) return;
    const tree = descendants(this.pid);
    this.kill("SIGKILL");
    for (const d of tree) killPs(d);
  }

  /** Signal, then wait up to `ms` for the exit; after that SIGKILL it and its descendants. */
  async stop(sig: NodeJS.Signals = "SIGINT", ms = 10_000): Promise<void> {
    const tree = this.pid > 0 && !this.exited ? descendants(this.pid) : [];
    if (sig === "SIGKILL") this.killTree();
    else this.kill(sig);
    if (!(await this.until(() => this.exited, ms))) {
      this.killTree();
      await this.done;
    }
    // what it started and left behind when it ended (orphans now, no longer its descendants)
    for (const d of tree) killPs(d);
  }
}

/** SIGKILL every process this module started that is still running, with its descendants (synchronous: for exit handlers). */
export function killAll(): void {
  for (const p of live) p.killTree();
}

/** SIGKILL every process this module started that is still running, and wait (up to `ms`) until each has exited. */
export async function stopAll(ms = 5000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop("SIGKILL", ms)));
}
