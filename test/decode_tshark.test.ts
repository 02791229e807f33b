/**
 * Cross-check of the decoders against tshark: every case of the decode corpus
 * (all protocols, truncated and malformed frames) is written to a pcap with ringcap's
 * writer, read back with ringcap's reader and decoded, and compared frame by frame
 * with `tshark -T fields` (VLAN ids, addresses, protocol, lengths, ports, TCP flags and
 * header length, ICMP type/code, ARP). Differences a strict decoder must have are listed
 * per case (`tsharkDiffers`) and printed; any other difference fails, and so does a
 * listed difference that no longer happens.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skip, test } from "./harness.ts";
import { decode, Decoded, decodeFrame } from "../lib/decode/mod.ts";
import { dstAddressToString, ipv4ToString, srcAddressToString } from "../lib/decode/format.ts";
import { openCaptureFile } from "../lib/source/file/mod.ts";
import { PcapWriter } from "../lib/sink/pcap/mod.ts";
import { decodeCases } from "./fixtures/decode_cases.ts";

const FIELDS = [
  "frame.number",
  "frame.len",
  "frame.cap_len",
  "frame.protocols",
  "ieee8021ad.id",
  "ieee8021ad.svid",
  "ieee8021ad.cvid",
  "vlan.id",
  "ip.src",
  "ip.dst",
  "ip.proto",
  "ip.len",
  "ipv6.src",
  "ipv6.dst",
  "ipv6.plen",
  "ipv6.nxt",
  "ipv6.hopopts.nxt",
  "ipv6.routing.nxt",
  "ipv6.fraghdr.nxt",
  "ipv6.dstopts.nxt",
  "tcp.srcport",
  "tcp.dstport",
  "tcp.flags",
  "tcp.hdr_len",
  "udp.srcport",
  "udp.dstport",
  "icmp.type",
  "icmp.code",
  "icmpv6.type",
  "icmpv6.code",
  "arp.opcode",
  "arp.src.proto_ipv4",
  "arp.dst.proto_ipv4",
] as const;
type Field = typeof FIELDS[number];
type Row = Record<Field, string[]>;

function hasTshark(): boolean {
  return spawnSync("tshark", ["--version"], { stdio: "ignore" }).status === 0;
}

function tsharkRows(file: string): Row[] {
  const args = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-n", "-r", file, "-T", "fields"];
  args.push("-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,");
  for (const f of FIELDS) args.push("-e", f);
  const out = execFileSync("tshark", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return out.trimEnd().split("\n").map((line) => {
    const cols = line.split("\t");
    const row = {} as Row;
    FIELDS.forEach((f, i) => row[f] = cols[i] ? cols[i].split(",") : []);
    return row;
  });
}

const EXT = new Set(["0", "43", "44", "60"]);
const first = (v: string[]) => v[0] ?? "";
const num = (v: string[]) => (v.length ? Number(v[0]) : -1);

/** The comparable view of one frame, by category, from tshark's fields. */
function fromTshark(r: Row): Record<string, string> {
  // VLAN ids in frame order: walk the layers; an 802.1ad layer holding two stacked 0x88a8
  // tags shows them as S-VID + C-VID, a single one as ID.
  const q = { ad: [...r["ieee8021ad.id"]], s: [...r["ieee8021ad.svid"]], c: [...r["ieee8021ad.cvid"]] };
  const q1 = [...r["vlan.id"]];
  const vlans: string[] = [];
  for (const layer of first(r["frame.protocols"]).split(":")) {
    if (layer === "ieee8021ad") {
      if (q.s.length) vlans.push(q.s.shift()!, q.c.shift()!);
      else vlans.push(q.ad.shift()!);
    } else if (layer === "vlan") vlans.push(q1.shift()!);
  }
  let protocol = "";
  if (r["ip.proto"].length) protocol = first(r["ip.proto"]);
  else if (r["ipv6.nxt"].length) {
    // the upper protocol is the one next-header value of the chain that is not an extension header
    const chain = [
      ...r["ipv6.nxt"].slice(0, 1),
      ...r["ipv6.hopopts.nxt"],
      ...r["ipv6.dstopts.nxt"],
      ...r["ipv6.routing.nxt"],
      ...r["ipv6.fraghdr.nxt"],
    ];
    protocol = chain.find((x) => !EXT.has(x)) ?? "";
    if (r["ipv6.fraghdr.nxt"].length && !r["tcp.srcport"].length && !r["udp.srcport"].length) {
      protocol = first(r["ipv6.fraghdr.nxt"]); // fragment: the protocol is the fragment header's
    }
  }
  // The transport layer of the outer IP header (not one quoted inside an ICMP error).
  const layers = first(r["frame.protocols"]).split(":");
  let at = layers.findIndex((x) => x === "ip" || x === "ipv6") + 1;
  while (at > 0 && layers[at]?.startsWith("ipv6.")) at++;
  const l4 = at > 0 ? layers[at] ?? "" : "";
  const tcp = l4 === "tcp";
  const ports = tcp
    ? [r["tcp.srcport"], r["tcp.dstport"]]
    : l4 === "udp"
    ? [r["udp.srcport"], r["udp.dstport"]]
    : [[], []];
  const icmp = l4 === "icmp"
    ? [r["icmp.type"], r["icmp.code"]]
    : l4 === "icmpv6"
    ? [r["icmpv6.type"], r["icmpv6.code"]]
    : [[], []];
  return {
    frame: `${first(r["frame.len"])}/${first(r["frame.cap_len"])}`,
    vlan: vlans.slice(0, 2).join(","),
    ip: r["ip.src"].length
      ? `${first(r["ip.src"])}>${first(r["ip.dst"])}`
      : r["ipv6.src"].length
      ? `${first(r["ipv6.src"])}>${first(r["ipv6.dst"])}`
      : "",
    protocol,
    length: r["ip.len"].length
      ? first(r["ip.len"])
      : r["ipv6.plen"].length
      ? String(40 + Number(first(r["ipv6.plen"])))
      : "",
    ports: ports[0].length ? `${first(ports[0])}>${first(ports[1])}` : "",
    tcp: tcp ? `${r["tcp.flags"].length ? num(r["tcp.flags"]) & 0xff : ""}/${first(r["tcp.hdr_len"])}` : "",
    icmp: icmp[0].length ? `${first(icmp[0])}/${first(icmp[1])}` : "",
    arp: r["arp.opcode"].length
      ? `${first(r["arp.opcode"])} ${first(r["arp.src.proto_ipv4"])}>${first(r["arp.dst.proto_ipv4"])}`
      : "",
  };
}

/** The same view from ringcap's Decoded. */
function fromRingcap(d: Decoded, data: Uint8Array, wirelen: number, caplen: number): Record<string, string> {
  const ip = d.ipVersion ? `${srcAddressToString(d, data)}>${dstAddressToString(d, data)}` : "";
  const arpAddrs = d.arpSenderIp || d.arpTargetIp
    ? `${ipv4ToString(d.arpSenderIp)}>${ipv4ToString(d.arpTargetIp)}`
    : ">";
  return {
    frame: `${wirelen}/${caplen}`,
    vlan: [d.vlanId, d.innerVlanId].filter((x) => x >= 0).join(","),
    ip,
    protocol: d.ipVersion && d.protocol >= 0 ? String(d.protocol) : "",
    length: d.ipVersion ? String(d.ipLength) : "",
    ports: d.l4Offset >= 0 && (d.protocol === 6 || d.protocol === 17) ? `${d.srcPort}>${d.dstPort}` : "",
    tcp: d.l4Offset >= 0 && d.protocol === 6 ? `${d.tcpFlags}/${d.tcpHeaderLength}` : "",
    icmp: d.icmpType >= 0 ? `${d.icmpType}/${d.icmpCode}` : "",
    arp: d.arpOp >= 0 ? `${d.arpOp} ${arpAddrs}` : "",
  };
}

/** Corpus frames also written as if captured with their outer tag stripped into the metadata. */
const META = [
  {
    index: decodeCases.findIndex((c) => c.name === "IPv4 TCP SYN with options"),
    tci: (6 << 13) | 5,
    tpid: 0,
  },
  { index: decodeCases.findIndex((c) => c.name.startsWith("QinQ")), tci: 77, tpid: 0x88a8 },
  {
    index: decodeCases.findIndex((c) => c.name.startsWith("IPv6 hop-by-hop + dstopts")),
    tci: 4095,
    tpid: 0x8100,
  },
];

test("decoders agree with tshark frame by frame (known differences listed)", () => {
  if (!hasTshark()) skip("tshark not installed (apt-get install tshark)");
  const dir = mkdtempSync(join(tmpdir(), "ringcap-decode-"));
  try {
    const file = join(dir, "cases.pcap");
    const w = PcapWriter.open(file);
    decodeCases.forEach((c, i) =>
      w.writeRecord(c.frame, 0, c.caplen ?? c.frame.length, c.frame.length, 1700000000 + i, i * 1000)
    );
    // Frames whose outer tag the kernel stripped into the metadata: the writer puts it back.
    for (const m of META) {
      const c = decodeCases[m.index];
      w.writeRecord(c.frame, 0, c.frame.length, c.frame.length, 1800000000, 0, m.tci, m.tpid);
    }
    w.close();

    const rows = tsharkRows(file);
    assert.equal(rows.length, decodeCases.length + META.length, "tshark frame count");
    const d = new Decoded();
    const r = openCaptureFile(file);
    const failures: string[] = [];
    const listed: string[] = [];
    let i = 0;
    for (; i < decodeCases.length; i++) {
      const p = r.next();
      assert.ok(p, `frame ${i + 1} read back`);
      const c = decodeCases[i];
      decode(p, d);
      const ours = fromRingcap(d, p.data, p.wirelen, p.caplen);
      const theirs = fromTshark(rows[i]);
      const known = new Set(c.tsharkDiffers?.fields ?? []);
      for (const k of Object.keys(ours)) {
        const same = ours[k] === theirs[k];
        if (!same && !known.has(k)) {
          failures.push(`frame ${i + 1} "${c.name}" ${k}: ringcap "${ours[k]}" tshark "${theirs[k]}"`);
        }
        if (same && known.has(k)) {
          failures.push(`frame ${i + 1} "${c.name}" ${k}: listed as differing but both say "${ours[k]}"`);
        }
        if (!same && known.has(k)) listed.push(`${k}: ringcap "${ours[k]}" tshark "${theirs[k]}"`);
      }
      if (c.tsharkDiffers) {
        console.log(
          `known difference, frame ${i + 1} "${c.name}": ${c.tsharkDiffers.reason}\n    ${
            listed.join("\n    ")
          }`,
        );
        listed.length = 0;
      }
    }
    // The metadata-tag frames: ringcap decodes the untagged frame + vlanTci, tshark the file's tagged frame.
    for (const [k, m] of META.entries()) {
      const c = decodeCases[m.index];
      const f = c.frame;
      decodeFrame(f, new DataView(f.buffer, f.byteOffset), 0, f.length, f.length, m.tci, d);
      const ours = fromRingcap(d, f, f.length + 4, f.length + 4);
      const theirs = fromTshark(rows[decodeCases.length + k]);
      assert.deepEqual(ours, theirs, `"${c.name}" with metadata tag ${m.tci}`);
      assert.equal(d.vlanId, m.tci & 0xfff);
      const p = r.next()!; // the tagged frame from the file decodes the same
      assert.deepEqual(fromRingcap(decode(p, d), p.data, p.wirelen, p.caplen), theirs);
      i++;
    }
    assert.equal(r.next(), null);
    r.close();
    assert.equal(i, decodeCases.length + META.length, "frames read back by ringcap");
    assert.deepEqual(failures, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
