/**
 * The `ringcap` CLI, under the runtime running the tests: --help for the
 * program and each subcommand, exit 2 with one line for what cannot start,
 * the subcommands giving what the examples give, the launcher (`npx ringcap`
 * under Bun, `deno task ringcap` under Deno), and the status line on stderr
 * only when stderr is a terminal.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { runtime, skip, test } from "./harness.ts";
import { netReason, ROOT, runScript, runtimeArgv, VethPair } from "./net.ts";
import { ether, ipv4, udp } from "./fixtures/frames.ts";
import { PcapWriter } from "../lib/sink/pcap/writer.ts";

const CLI = join(ROOT, "lib/cli/ringcap.ts");

const run = (script: string, args: string[]) => runScript(script, args, { TZ: "UTC" });
const ringcap = (args: string[]) => run(CLI, args);

function withPcap(fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "cli-"));
  try {
    const path = join(dir, "x.pcap");
    using w = PcapWriter.open(path);
    for (let i = 0; i < 50; i++) {
      const src = `10.2.0.${1 + (i % 3)}`;
      w.writeBytes(
        ether(0x0800, ipv4({ src, dst: "10.2.0.9", proto: 17 }, udp(1000 + i, 9, new Uint8Array(i)))),
        1_700_000_000 + (i >> 4),
        i,
      );
    }
    w.close();
    fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("ringcap: --help for the program and every subcommand", () => {
  const top = ringcap(["--help"]);
  assert.equal(top.code, 0, top.err);
  for (const c of ["count", "top", "dump", "flow"]) {
    assert.match(top.out, new RegExp(`^ {2}${c} \\[iface\\]`, "m"));
  }
  const own: Record<string, RegExp[]> = {
    count: [/-r, --read <file>/],
    top: [/-n, --top <n>/, /--by <what>/, /--interval <seconds>/],
    dump: [/-w, --write <file>/, /-C, --file-size <mb>/, /-G, --rotate-seconds <sec>/, /--nano/],
    flow: [],
  };
  for (const [c, res] of Object.entries(own)) {
    const r = ringcap([c, "--help"]);
    assert.equal(r.code, 0, `${c}: ${r.err}`);
    assert.match(r.out, new RegExp(`\\$ ringcap ${c} \\[iface\\] \\[\\.\\.\\.filter\\]`));
    for (const re of [/-c, --count <n>/, /--duration <seconds>/, /--json/, ...res]) {
      assert.match(r.out, re, `${c} --help`);
    }
  }
});

test("ringcap: exit 2 with one line for no command, unknown command, bad option, bad value, no collector", () => {
  withPcap((pcap) => {
    const cases: [string[], RegExp][] = [
      [[], /give a command: count, top, dump or flow/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["count", "-r", pcap, "--bogus"], /unknown option --bogus/],
      [["top", "-r", pcap, "--by", "flows"], /--by must be bytes or packets/],
      [["dump", "-r", pcap, "-W", "2", "-w", "/tmp/x"], /-W needs -C/],
      [["count", "-r", pcap, "udp", "port"], /filter/],
      [["count", "nosuch0"], /nosuch0/],
      [["flow", "-r", pcap], /no collector: give -n HOST:PORT/],
      [["flow", "-r", pcap, "-n", "127.0.0.1:2055", "-V", "7"], /-V must be 5, 9 or 10/],
    ];
    for (const [args, re] of cases) {
      const r = ringcap(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, re);
      assert.equal(r.err.trim().split("\n").length, 1, `one line: ${r.err}`);
      assert.doesNotMatch(r.err, /at .*\.ts:\d+/, "no stack trace");
    }
  });
});

test("ringcap: count, top and dump on a file give what the examples give", () => {
  withPcap((pcap) => {
    const c = ringcap(["count", "-r", pcap, "--json", "udp"]);
    assert.equal(c.code, 0, c.err);
    const counters = JSON.parse(c.out.trim().split("\n").pop()!);
    assert.equal(counters.packets, 50);
    assert.equal(counters.dropped, 0);
    assert.equal(counters.filtered, 0);
    const strip = (s: string) => s.trim().split("\n").map((l) => ({ ...JSON.parse(l), seconds: 0 }));
    const t = ringcap(["top", "-r", pcap, "--json", "-n", "2"]);
    const e = run(join(ROOT, "examples/topn.ts"), ["-r", pcap, "--json", "-n", "2"]);
    assert.equal(t.code, 0, t.err);
    assert.deepEqual(strip(t.out), strip(e.out));
    assert.equal(strip(t.out).at(-1).top.hosts[0].addr, "10.2.0.9");
    const d = ringcap(["dump", "-r", pcap, "-c", "5"]);
    assert.equal(d.code, 0, d.err);
    assert.equal(d.out, run(join(ROOT, "examples/dump.ts"), ["-r", pcap, "-c", "5"]).out);
    assert.equal(d.out.trim().split("\n").length, 5);
  });
});

test("ringcap: the launcher of this runtime runs it (npx ringcap on Bun, deno task ringcap on Deno)", () => {
  withPcap((pcap) => {
    const [cmd, args] = runtime === "bun"
      ? ["npx", ["--no-install", "ringcap", "count", "-r", pcap]]
      : [process.execPath, ["task", "-q", "ringcap", "count", "-r", pcap]];
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    if (r.error) skip(`${cmd} cannot be run: ${r.error.message}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /: 50 packets, /);
  });
});

test("ringcap: a status line on stderr during a long capture only when stderr is a terminal", () => {
  const why = netReason();
  if (why) skip(why);
  if (spawnSync("script", ["--version"], { stdio: "ignore" }).error) {
    skip("script (util-linux) is not installed");
  }
  using net = VethPair.create("cst");
  const dir = mkdtempSync(join(tmpdir(), "cli-tty-"));
  try {
    const [cmd, argv] = runtimeArgv(CLI, ["count", net.host, "--duration", "2.3"]);
    const typescript = join(dir, "tty.out");
    const line = [cmd, ...argv].map((a) => `'${a}'`).join(" ");
    const t = spawnSync("script", ["-qfec", line, typescript], { encoding: "utf8", timeout: 60_000 });
    assert.equal(t.status, 0, t.stderr);
    const tty = readFileSync(typescript, "latin1");
    const ESC = "\x1b";
    assert.match(tty, new RegExp(`\r[^\n]*: 0 pkts [^\n]*${ESC}\\[K`), "status line redrawn in place");
    assert.match(
      tty,
      new RegExp(`\r${ESC}\\[K[^\n]*: 0 packets, 0 bytes`),
      "status erased before the result",
    );
    const piped = ringcap(["count", net.host, "--duration", "1.3"]);
    assert.equal(piped.code, 0, piped.err);
    assert.equal(piped.err, "", "no status line when stderr is not a terminal");
    assert.ok(!piped.out.includes("\r"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ringcap flow: -r FILE exports every flow of the file as IPFIX to a collector on loopback", async () => {
  const sock = createSocket("udp4");
  const datagrams: Buffer[] = [];
  sock.on("message", (m) => datagrams.push(m));
  await new Promise<void>((res) => sock.bind(0, "127.0.0.1", () => res()));
  const dir = mkdtempSync(join(tmpdir(), "cli-flow-"));
  try {
    const pcap = join(dir, "x.pcap");
    withPcap((p) => writeFileSync(pcap, readFileSync(p)));
    const args = ["flow", "-r", pcap, "-n", `127.0.0.1:${sock.address().port}`, "-V", "10", "--json"];
    const [cmd, argv] = runtimeArgv(CLI, args);
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise<number | null>((res) => child.on("close", res));
    assert.equal(code, 0, err);
    const last = JSON.parse(out.trim().split("\n").pop()!);
    assert.equal(last.packets, 50);
    assert.equal(last.flows, 50, "one flow per source port");
    const t0 = Date.now();
    while (datagrams.length === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(datagrams.length > 0, "datagrams reached the collector");
    for (const d of datagrams) assert.equal(d.readUInt16BE(0), 10, "IPFIX version 10");
  } finally {
    sock.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
