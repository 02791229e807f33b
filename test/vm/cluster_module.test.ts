/**
 * Clusters of the ringcap kernel module through the unchanged TypeScript
 * Workers API (runCluster: rings opened with `fanout`, paused, started
 * together), run inside the VM by test/vm/ts_tests.sh under Bun and Deno
 * with the module backend:
 * - 2 and 4 members (hash) capture every frame exactly once: the multiset of
 *   frames equals that of a plain module ring on the same interface;
 * - flow affinity: both directions of every flow (IPv4, IPv6 with flow labels
 *   that differ by direction, VLAN-tagged IPv4) meet in one member;
 * - lb: 3 members, every frame once, shares within ±1 frame.
 * Skips (saying why) where the module is not loaded, e.g. on the host.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { gate, Traffic } from "../fixtures/traffic.ts";
import { skip, test } from "../harness.ts";
import { netReason, VethPair } from "../net.ts";
import { ether, ipv4, ipv6, udp } from "../fixtures/frames.ts";
import type { Digests, Owners } from "../fixtures/frame_digests.ts";
import { assertOneOwnerPerFlow, assertSameFrames, digests } from "../fixtures/frame_digests.ts";
import { Ring } from "../../lib/source/live/ring.ts";
import "../../lib/source/live/ring_slots.ts";
import { runAnalysis } from "../../lib/analysis/analysis.ts";
import { runCluster } from "../../lib/cluster/cluster.ts";

const FIXTURE = new URL("../fixtures/frame_digests.ts", import.meta.url).href;

function needModule(): void {
  const why = netReason();
  if (why) skip(why);
  if (!existsSync("/sys/module/ringcap")) {
    skip("the ringcap module is not loaded (these run in the VM: scripts/vm/run.sh)");
  }
}

/** `flows` conversations, 3 frames each way: IPv4/UDP, IPv6/UDP (flow label per direction), IPv4/UDP in VLAN 100+i%7. */
function conversations(flows: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < flows; i++) {
    const kind = i % 3;
    const a = `10.${(i >> 8) & 255}.${i & 255}.1`, b = `192.0.${(i >> 6) & 3}.${1 + (i % 60)}`;
    const sp = 20000 + i, dp = [53, 80, 443, 123][i % 4];
    for (let k = 0; k < 3; k++) {
      for (const fwd of [true, false]) {
        const [s, d, src, dst] = fwd ? [sp, dp, a, b] : [dp, sp, b, a];
        const body = new Array(10 + k).fill(i & 255);
        if (kind === 1) {
          const s6 = `2001:db8:${i.toString(16)}::1`, d6 = `2001:db8:ffff::${(i % 200) + 1}`;
          const f = ether(0x86dd, ipv6({ nh: 17, src: fwd ? s6 : d6, dst: fwd ? d6 : s6 }, udp(s, d, body)));
          const fl = (i * 7919 + (fwd ? 1 : 2)) & 0xfffff;
          f[15] |= fl >> 16, f[16] = (fl >> 8) & 255, f[17] = fl & 255;
          out.push(f);
        } else if (kind === 2) {
          out.push(ether(0x0800, ipv4({ src, dst, proto: 17 }, udp(s, d, body)), [{ tci: 100 + (i % 7) }]));
        } else {
          out.push(ether(0x0800, ipv4({ src, dst, proto: 17 }, udp(s, d, body))));
        }
      }
    }
  }
  return out;
}

for (const n of [2, 4]) {
  test(`module cluster: ${n} workers (hash) capture every frame exactly once (= one module ring's multiset)`, async () => {
    needModule();
    using net = VethPair.create(`mc${n}`);
    using t = new Traffic(conversations(150));
    using ref = await Ring.open(net.host, { backend: "ring", ringMb: 8, snaplen: 256 });
    const single = runAnalysis(ref, digests, {}, {
      count: t.frames.length,
      duration: 20,
      handleSignals: false,
    });
    const started = gate();
    const cluster = runCluster<Record<string, never>, Digests>(
      net.host,
      { module: FIXTURE, export: "digests", options: {} },
      {
        workers: n,
        backend: "ring",
        ringMb: 8,
        snaplen: 256,
        count: t.frames.length,
        duration: 20,
        handleSignals: false,
      },
      started.go,
    );
    await started.promise;
    t.send(net, 20000);
    const [one, many] = await Promise.all([single, cluster]);
    assert.equal(many.error, undefined);
    assert.equal(many.reason, "count");
    assertSameFrames(one.total, { ...many.total, workers: many.workers }, t.frames.length);
  });
}

test("module cluster: flows stay in one worker both ways (IPv4, IPv6 ± flow label, VLAN)", async () => {
  needModule();
  using net = VethPair.create("mcf");
  using t = new Traffic(conversations(240));
  const started = gate();
  const cluster = runCluster<Record<string, never>, Owners>(
    net.host,
    { module: FIXTURE, export: "owners", options: {} },
    {
      workers: 4,
      backend: "ring",
      ringMb: 8,
      snaplen: 256,
      count: t.frames.length,
      duration: 20,
      handleSignals: false,
    },
    started.go,
  );
  await started.promise;
  t.send(net, 20000);
  const res = await cluster;
  assert.equal(res.read, t.frames.length, `${res.reason} ${res.error} ${JSON.stringify(res.workers)}`);
  const flows = Object.entries(res.total.flows);
  assert.equal(flows.length, 240);
  assertOneOwnerPerFlow(res.total, 4);
});

test("module cluster: lb with 3 workers, every frame once, shares within ±1", async () => {
  needModule();
  using net = VethPair.create("mcl");
  using t = new Traffic(conversations(100));
  const started = gate();
  const cluster = runCluster<Record<string, never>, Digests>(
    net.host,
    { module: FIXTURE, export: "digests", options: {} },
    {
      workers: 3,
      fanout: "lb",
      backend: "ring",
      ringMb: 8,
      snaplen: 256,
      count: t.frames.length,
      duration: 20,
      handleSignals: false,
    },
    started.go,
  );
  await started.promise;
  t.send(net, 20000);
  const res = await cluster;
  assert.equal(res.error, undefined);
  assert.equal(res.total.digests.length, t.frames.length);
  const reads = res.workers.map((w) => w.read);
  assert.ok(Math.max(...reads) - Math.min(...reads) <= 1, `lb shares ${reads}`);
});
