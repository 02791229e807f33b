/**
 * The `vm` section of scripts/bench/bench.ts: the ringcap kernel module vs
 * AF_PACKET, measured in the VM (scripts/bench/vm_drain.sh boots Debian's
 * kernel under qemu TCG once, ringcap.ko loaded, and runs
 * test/vm/bench_drain.ts under each runtime). Drain speed of a warm 64 MiB
 * ring per backend, TypeScript readers and the C reader
 * (scripts/bench/src/cdrain.c) side by side, medians of REPS repetitions;
 * ratios are module / AF_PACKET and TS / C of the same boot. TCG slows
 * everything (atomics and page walks most): compare rows, not absolutes.
 *
 * @example
 * ```ts
 * import { vmSection, vmTable } from "./vm.ts";
 * const vm = vmSection(100_000, 5, ["bun", "deno"]);
 * console.log(vmTable(vm).join("\n"));
 * ```
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./contenders.ts";

/** One reader's row (bench_drain.ts's JSON). */
export interface VmReader {
  captured_pct: number;
  dropped_pct: number;
  drain_mpps: number;
}

/** What one runtime's run printed (bench_drain.ts's JSON line). */
export interface VmRuntime {
  runtime: string;
  sent: number;
  reps: number;
  ring?: VmReader;
  packet?: VmReader;
  packet_tov1000?: VmReader;
  c_ring?: VmReader;
  c_packet?: VmReader;
  ratios?: Record<string, number | null>;
  scaling?: Record<string, { drain_mpps: number; split: string }>;
  note?: string;
}

export interface VmResult {
  command: string;
  frames: number;
  reps: number;
  seconds: number;
  runtimes: VmRuntime[];
  /** Why there are no rows (no qemu, no headers, a runtime failed...). */
  error?: string;
}

/** Boot the VM once and measure; never throws (a failure is `error`). */
export function vmSection(frames: number, reps: number, runtimes: string[], scaling = true): VmResult {
  const args = [
    join(ROOT, "scripts", "bench", "vm_drain.sh"),
    String(frames),
    String(reps),
    runtimes.join(","),
  ];
  if (!scaling) args.push("noscaling");
  const t0 = Date.now();
  const r = spawnSync("bash", args, { encoding: "utf8", cwd: ROOT, timeout: 60 * 60_000 });
  const res: VmResult = {
    command: `bash scripts/bench/vm_drain.sh ${args.slice(1).join(" ")}`,
    frames,
    reps,
    seconds: Math.round((Date.now() - t0) / 1000),
    runtimes: [],
  };
  const bad: string[] = [];
  for (const line of (r.stdout ?? "").split("\n")) {
    const m = /^DRAIN (\S+) (.*)$/.exec(line);
    if (!m) continue;
    try {
      res.runtimes.push(JSON.parse(m[2]));
    } catch {
      bad.push(`${m[1]}: ${m[2].slice(0, 200)}`);
    }
  }
  if (r.status !== 0 || bad.length || !res.runtimes.length) {
    res.error =
      [...bad, (r.stderr ?? "").trim().split("\n").slice(-2).join(" ")].filter(Boolean).join("; ") ||
      `vm_drain.sh exited ${r.status}`;
  }
  return res;
}

/** The section's lines of the bench table. */
export function vmTable(vm: VmResult): string[] {
  const L: string[] = [
    "",
    `VM: ringcap module vs AF_PACKET TPACKET_V3, in one boot of Debian's 6.1 kernel under qemu TCG (-smp 2): ${
      vm.frames.toLocaleString("en-US")
    } 60 B frames, every ring 64 MiB, snaplen 128; drain Mpps from a warm ring, median of ${vm.reps} reps`,
    `  (${vm.command}; TCG slows everything, atomics and page walks most: compare rows, not absolutes)`,
  ];
  if (vm.error) L.push(`  not measured: ${vm.error}`);
  const pad = (s: string, n: number) => s.padEnd(n);
  const f = (
    x: number | null | undefined,
    d = 2,
  ) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(d) : "-");
  const cols: [string, keyof VmRuntime][] = [
    ["module TS", "ring"],
    ["AF_PACKET TS", "packet"],
    ["AF_PACKET TS 1s", "packet_tov1000"],
    ["module C", "c_ring"],
    ["AF_PACKET C", "c_packet"],
  ];
  if (!vm.runtimes.length) return L;
  L.push(
    `  ${pad("", 7)}${cols.map(([h]) => pad(h, 17)).join("")}${pad("TS mod/AFP", 12)}${pad("C mod/AFP", 11)}${
      pad("TS/C mod", 10)
    }TS/C AFP`,
  );
  for (const rt of vm.runtimes) {
    const cell = (k: keyof VmRuntime) => {
      const r = rt[k] as VmReader | undefined;
      return r ? `${f(r.drain_mpps)} (${f(r.captured_pct, 0)}%)` : "-";
    };
    const q = rt.ratios ?? {};
    L.push(
      `  ${pad(rt.runtime, 7)}${cols.map(([, k]) => pad(cell(k), 17)).join("")}${
        pad(f(q.ring_vs_packet), 12)
      }${pad(f(q.c_ring_vs_c_packet), 11)}${pad(f(q.ring_vs_c_ring), 10)}${f(q.packet_vs_c_packet)}`,
    );
    if (rt.note) L.push(`         ${rt.note}`);
  }
  L.push(
    "  cells: drain Mpps (captured % of sent); AF_PACKET TS 1s: 1 s block retire timeout (10 ms elsewhere)",
  );
  const sc = vm.runtimes.filter((rt) => rt.scaling);
  if (sc.length) {
    L.push("  1 vs 2 Workers (module cluster hash / AF_PACKET fanout hash), TS drain Mpps:");
    for (const rt of sc) {
      const s = rt.scaling!;
      L.push(
        `  ${pad(rt.runtime, 7)}module 1w ${f(s.ring_1w?.drain_mpps)} 2w ${
          f(s.ring_2w?.drain_mpps)
        }   AF_PACKET 1w ${f(s.packet_1w?.drain_mpps)} 2w ${f(s.packet_2w?.drain_mpps)}`,
      );
    }
  }
  return L;
}
