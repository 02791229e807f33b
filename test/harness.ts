/**
 * One test API for `bun test` and `deno test`.
 *
 * Test files import `test` and `skip` from here instead of `bun:test` or
 * `Deno.test`, so the same file runs under both runtimes. Every result is
 * also appended as a JSON line to `$RINGCAP_RESULTS` (when set), which is
 * how scripts/test.sh counts passed/failed/skipped across runtimes and the VM.
 *
 * Skips: call `skip("why")` inside a test when the machine lacks a capability
 * (not root, no qemu...). The reason is printed. With RINGCAP_REQUIRE_ALL=1
 * (CI) a skip is a failure.
 *
 * @example
 * ```ts
 * import { test, skip } from "./harness.ts";
 * import assert from "node:assert/strict";
 * test("adds", () => assert.equal(1 + 1, 2));
 * test("needs root", () => { if (process.getuid?.() !== 0) skip("not root"); });
 * ```
 */
import { appendFileSync } from "node:fs";
import process from "node:process";

/** Which runtime runs the tests. */
// deno-lint-ignore no-explicit-any
const G = globalThis as any;
export const runtime: "bun" | "deno" = G.Bun ? "bun" : "deno";

class SkipSignal extends Error {
  constructor(readonly reason: string) {
    super(`skipped: ${reason}`);
  }
}

/** Skip the current test, saying why (a missing capability only). */
export function skip(reason: string): never {
  throw new SkipSignal(reason);
}

/** True when the process runs as root (needed for capture and namespaces). */
export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Skip unless root. */
export function requireRoot(): void {
  if (!isRoot()) skip("needs root (CAP_NET_RAW, CAP_NET_ADMIN) for namespaces and capture");
}

function record(name: string, status: "pass" | "fail" | "skip", detail = ""): void {
  const file = process.env.RINGCAP_RESULTS;
  if (!file) return;
  appendFileSync(file, JSON.stringify({ runtime, name, status, detail }) + "\n");
}

type Fn = () => void | Promise<void>;

function wrap(name: string, fn: Fn): () => Promise<void> {
  return async () => {
    try {
      await fn();
      record(name, "pass");
    } catch (e) {
      if (e instanceof SkipSignal) {
        if (process.env.RINGCAP_REQUIRE_ALL === "1") {
          record(name, "fail", `skip not allowed (RINGCAP_REQUIRE_ALL=1): ${e.reason}`);
          throw new Error(`skip not allowed with RINGCAP_REQUIRE_ALL=1: ${e.reason}`);
        }
        console.log(`SKIP ${name}: ${e.reason}`);
        record(name, "skip", e.reason);
        return;
      }
      record(name, "fail", String((e as Error)?.stack ?? e).slice(0, 2000));
      throw e;
    }
  };
}

const bunTest = G.Bun
  ? ((await import(["bun", "test"].join(":"))) as {
    test: (n: string, f: () => Promise<void>, t?: number) => void;
  }).test
  : undefined;

/** Register a test. `timeoutMs` defaults to 60 s (capture tests take time). */
export function test(name: string, fn: Fn, timeoutMs = 60_000): void {
  const full = `${name} [${runtime}]`;
  if (bunTest) {
    bunTest(full, wrap(full, fn), timeoutMs);
  } else {
    G.Deno.test({ name: full, sanitizeOps: false, sanitizeResources: false, fn: wrap(full, fn) });
  }
}
