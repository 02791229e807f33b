/**
 * Offline BPF filters for packets that do not come from the kernel (pcap and
 * pcapng files, `-r`): the tcpdump expression is compiled by libpcap's
 * pcap_compile and run by libpcap's bpf_filter inside libring — the same
 * program, the same semantics as the live kernel filter. One FFI call per
 * packet tested (a few ns), no copy: the reader's whole buffer is passed
 * with the packet's offset.
 *
 * @example
 * ```ts
 * import { BpfFilter } from "./filter.ts";
 * using f = await BpfFilter.compile("udp port 53");
 * // for (let p = reader.next(); p; p = reader.next()) if (f.matches(p)) ...
 * ```
 */
import { type Native, native } from "./ffi.ts";
import { unwrap } from "./errors.ts";
import type { Packet } from "../../packet.ts";

/** A compiled tcpdump filter run in user space. */
export class BpfFilter implements Disposable {
  #lib: Native;
  #fh: number;

  private constructor(lib: Native, fh: number) {
    this.#lib = lib;
    this.#fh = fh;
  }

  /** Compile `expr` for `linktype` (1 = Ethernet). Throws RingError EBADMSG with libpcap's message. */
  static async compile(expr: string, snaplen = 262144, linktype = 1): Promise<BpfFilter> {
    const lib = await native();
    const fh = unwrap(lib.bpfCompile(expr, snaplen, linktype), `filter '${expr}'`, lib);
    return new BpfFilter(lib, fh);
  }

  /** True when the packet passes the filter. */
  matches(p: Packet): boolean {
    return this.#lib.bpfMatch(this.#fh, p.data, p.offset, p.caplen, p.wirelen) > 0;
  }

  /** Test raw bytes data[offset, offset+caplen). */
  matchesBytes(data: Uint8Array, offset: number, caplen: number, wirelen = caplen): boolean {
    return this.#lib.bpfMatch(this.#fh, data, offset, caplen, wirelen) > 0;
  }

  close(): void {
    if (this.#fh >= 0) this.#lib.bpfFree(this.#fh);
    this.#fh = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
