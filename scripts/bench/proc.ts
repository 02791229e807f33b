/**
 * Child processes for the benchmark: spawn, collect output, wait for a line,
 * signal and wait for the exit with a deadline (then SIGKILL). Every process
 * started here is tracked so `killAll()` (exit, SIGINT) ends exactly those.
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";

const live = new Set<ChildProcess>();

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
    live.add(this.child);
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
        live.delete(this.child);
        this.#wake();
        resolve();
      });
      this.child.on("error", (e) => {
        this.stderr += String(e);
        this.code = -1;
        live.delete(this.child);
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

  /** Signal, then wait up to `ms` for the exit; SIGKILL after that. */
  async stop(sig: NodeJS.Signals = "SIGINT", ms = 10_000): Promise<void> {
    this.kill(sig);
    if (!(await this.until(() => this.exited, ms))) {
      this.kill("SIGKILL");
      await this.done;
    }
  }
}

/** SIGKILL every process this module started that is still running. */
export function killAll(): void {
  for (const c of live) {
    try {
      if (c.pid) process.kill(c.pid, "SIGKILL");
    } catch { /* gone */ }
  }
}
