/**
 * `openSource(options)`: the packet source a tool asks for — a live `Ring` on
 * an interface (filter and sampling in the kernel), or with `read` a
 * pcap/pcapng file read in constant memory with the filter (libpcap's, run in
 * user space) and 1-in-N sampling applied. Either way the result is a
 * `PacketSource` that `run()` reads. Problems opening it throw a `RingError`
 * whose message says what to do (`ENOENT` no such file, `EINVAL` a file that
 * cannot be decoded, and the `Ring.open` codes).
 *
 * @example
 * ```ts
 * import { openSource } from "./open.ts";
 * import { run } from "../run.ts";
 * using s = await openSource({ read: "/tmp/x.pcap", filter: "udp" });
 * console.log((await run(s.src, () => {})).read, "UDP packets in", s.name);
 * ```
 * @module
 */
import type { CaptureStats, Packet, PacketSource } from "../packet.ts";
import { BpfFilter } from "./live/filter.ts";
import { openCaptureFile } from "./file/open.ts";
import type { CaptureFileReader } from "./file/reader_base.ts";
import { RingError } from "./live/errors.ts";
import type { RingOptions } from "./live/ring_base.ts";
import { type LiveSource, openLive, type XdpInfo, xdpInfo } from "./live/xdp_queues.ts";

/** What to open: `iface` (live, with the ring options) or `read` (a file; "-" = standard input). */
export interface SourceOptions extends RingOptions {
  /** Interface to capture on (when `read` is not given). */
  iface?: string;
  /** A pcap/pcapng file to read instead ("-" = standard input). */
  read?: string;
  /** Refuse files whose link type is not Ethernet (tools that decode frames). */
  ethernetOnly?: boolean;
}

/** An opened source and what the tools need to know about it. */
export interface OpenedSource extends Disposable {
  /** What run() reads. */
  readonly src: PacketSource;
  /** The interface or the file name (for headers and messages). */
  readonly name: string;
  /** A live capture (wall-clock intervals, drops) rather than a file. */
  readonly live: boolean;
  /** The live ring, when live (on xdp without a chosen queue: every queue's ring, read in turn). */
  readonly ring?: LiveSource;
  /** On the xdp backend: the attach mode, zero-copy or copy, and the queues read. */
  readonly xdp?: XdpInfo;
  /** The file reader, when reading a file. */
  readonly reader?: CaptureFileReader;
  /** Link type of the packets (1 = Ethernet). */
  readonly linkType: number;
  /** Snap length of the capture (live: -s or 65535; file: the file's). */
  readonly snaplen: number;
  close(): void;
}

/** A file reader with the user's filter and 1-in-N sampling applied. */
class FileSource implements PacketSource {
  #packets = 0;
  #bytes = 0;
  #filtered = 0;
  #seen = 0;

  constructor(
    readonly reader: CaptureFileReader,
    readonly filter: BpfFilter | null,
    readonly sampling: number,
  ) {}

  next(): Packet | null {
    const r = this.reader, f = this.filter, n = this.sampling;
    for (let p = r.next(); p; p = r.next()) {
      if ((f && !f.matches(p)) || (n > 1 && this.#seen++ % n !== 0)) {
        this.#filtered++;
        continue;
      }
      this.#packets++;
      this.#bytes += p.wirelen;
      return p;
    }
    return null;
  }

  stats(): CaptureStats {
    return { packets: this.#packets, dropped: 0, filtered: this.#filtered, bytes: this.#bytes };
  }

  close(): void {
    this.filter?.close();
    this.reader.close();
  }
}

/**
 * Open what the options name: `read` (a file, or "-" for standard input) with
 * the filter and sampling applied, else a live `Ring` on `iface` (on xdp,
 * every receive queue unless one is chosen: `openLive`).
 */
export async function openSource(o: SourceOptions): Promise<OpenedSource> {
  const { iface = "", read, ethernetOnly = false, ...ringOptions } = o;
  if (read === undefined) {
    const ring = await openLive(iface, ringOptions);
    return {
      src: ring,
      ring,
      xdp: xdpInfo(ring),
      name: iface,
      live: true,
      linkType: 1,
      snaplen: o.snaplen ?? 65535,
      close: () => ring.close(),
      [Symbol.dispose]: () => ring.close(),
    };
  }
  const f = { read, filter: o.filter ?? "", sampling: o.sampling ?? 1 };
  let reader: CaptureFileReader;
  try {
    reader = openCaptureFile(f.read);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT"
      ? "no such file"
      : code === "EACCES"
      ? "permission denied"
      : code === "EISDIR"
      ? "is a directory"
      : (e as Error).message.replace(`${f.read}: `, "");
    throw new RingError(code ?? "EINVAL", `${f.read}: ${why}: give -r a readable pcap or pcapng file`);
  }
  const linkType = reader.linkType < 0 ? 1 : reader.linkType;
  let filter: BpfFilter | null = null;
  try {
    if (ethernetOnly && linkType !== 1) {
      throw new RingError(
        "EINVAL",
        `${f.read}: link type ${linkType} is not Ethernet (1); only Ethernet files are decoded`,
      );
    }
    if (f.filter) filter = await BpfFilter.compile(f.filter, reader.snaplen, linkType);
  } catch (e) {
    reader.close();
    throw e;
  }
  const src = new FileSource(reader, filter, f.sampling);
  return {
    src,
    reader,
    name: f.read === "-" ? "stdin" : f.read,
    live: false,
    linkType,
    snaplen: reader.snaplen,
    close: () => src.close(),
    [Symbol.dispose]: () => src.close(),
  };
}
