/**
 * The datagram builder NetFlow v9 and IPFIX share: a header, then sets
 * (flowsets) of templates, options and data records, each padded to 4 bytes.
 * Templates go out in the first datagram and again every
 * `templateRefreshPackets` datagrams or `templateRefreshSeconds` seconds of
 * export time; with sampling, an options template and one options record
 * describing it travel with them (fields chosen by v9.ts / ipfix.ts).
 * v9.ts and ipfix.ts supply the header and the numbering.
 *
 * @module
 */
import type { FlowRecord } from "../../analysis/flow/record.ts";
import {
  type EncoderOptions,
  type EncoderStats,
  type FlowEncoder,
  putUint,
  samplingInterval,
} from "./encoder.ts";
import {
  type Field,
  IE,
  recordLength,
  TEMPLATE_SAMPLING,
  TEMPLATE_V4,
  TEMPLATE_V6,
  writeRecord,
  writeTemplate,
} from "./templates.ts";

/** What differs between v9 and IPFIX. */
export interface TemplateFormat {
  version: 9 | 10;
  headerLength: number;
  templateSetId: number;
  optionsTemplateSetId: number;
  fields: { readonly v4: readonly Field[]; readonly v6: readonly Field[] };
  /** Scope of the sampling options record: [element id, length]. */
  samplingScope: Field;
  /** Fields of the sampling options record (34, 35, 305, 306 are understood). */
  samplingFields: readonly Field[];
}

/**
 * Base of `V9Encoder` and `IpfixEncoder` (not used directly).
 *
 * @example
 * ```ts
 * import { V9Encoder } from "./v9.ts"; // a TemplateEncoder
 * const enc = new V9Encoder({ emit: () => {}, sampling: { interval: 10 } });
 * ```
 */
export abstract class TemplateEncoder implements FlowEncoder {
  readonly version: 9 | 10;
  readonly stats: EncoderStats = { datagrams: 0, records: 0, skipped: 0 };
  /** Observation domain (IPFIX) / source id (v9). */
  readonly sourceId: number;
  protected readonly buf: Uint8Array;
  protected readonly view: DataView;
  /** Records in the datagram being built (v9 counts templates and options records too). */
  protected count = 0;
  /** Data records (including options data) in the datagram being built. */
  protected dataCount = 0;
  protected closed = false;
  private readonly emitFn: (d: Uint8Array) => void;
  private readonly fmt: TemplateFormat;
  private readonly len4: number;
  private readonly len6: number;
  private readonly sampling: number;
  private readonly samplingAlgorithm: number;
  private readonly refreshPackets: number;
  private readonly refreshMs: number;
  private off = 0; // 0: no datagram started
  private setStart = -1;
  private setId = -1;
  private sinceTemplates = Infinity;
  private templatesAtMs = -Infinity;
  private boot = NaN;

  /** The sysUptime base; v9 keeps it on a whole second so `unix_secs*1000 - sysUptime` restores it exactly. */
  get bootMs(): number {
    return this.boot;
  }
  set bootMs(ms: number) {
    this.boot = this.version === 9 ? Math.floor(ms / 1000) * 1000 : Math.floor(ms);
  }

  protected constructor(opts: EncoderOptions, fmt: TemplateFormat) {
    this.version = fmt.version;
    this.fmt = fmt;
    this.emitFn = opts.emit;
    if (opts.bootMs !== undefined) this.bootMs = opts.bootMs;
    this.sourceId = (opts.sourceId ?? 0) >>> 0;
    const max = opts.maxDatagram ?? 1400;
    if (!(max >= 512 && max <= 65507)) throw new RangeError(`maxDatagram must be 512..65507, got ${max}`);
    this.buf = new Uint8Array(max);
    this.view = new DataView(this.buf.buffer);
    this.len4 = recordLength(fmt.fields.v4);
    this.len6 = recordLength(fmt.fields.v6);
    this.sampling = samplingInterval(opts.sampling, 0xffffffff);
    this.samplingAlgorithm = opts.sampling?.algorithm === "random" ? 2 : 1;
    this.refreshPackets = opts.templateRefreshPackets ?? 20;
    this.refreshMs = (opts.templateRefreshSeconds ?? 60) * 1000;
  }

  /** Write the message header for a datagram of `length` bytes (the set area is already written). */
  protected abstract writeHeader(length: number, nowMs: number): void;

  add(r: FlowRecord, nowMs: number): void {
    if (this.closed) throw new Error(`NetFlow v${this.version} encoder is closed`);
    if (Number.isNaN(this.bootMs)) this.bootMs = Math.min(r.firstMs, nowMs);
    const v6 = r.ipVersion === 6;
    const tid = v6 ? TEMPLATE_V6 : TEMPLATE_V4;
    const len = v6 ? this.len6 : this.len4;
    if (this.off === 0) this.begin(nowMs);
    const need = (this.setId === tid ? len : 4 + len) + 3; // + room for padding
    if (this.off + need > this.buf.length) {
      this.flush(nowMs);
      this.begin(nowMs);
    }
    if (this.setId !== tid) this.openSet(tid);
    this.off = writeRecord(this.view, this.off, v6 ? this.fmt.fields.v6 : this.fmt.fields.v4, r, this.bootMs);
    this.count++;
    this.dataCount++;
    this.stats.records++;
  }

  flush(nowMs: number): void {
    if (this.off === 0) return;
    if (Number.isNaN(this.bootMs)) this.bootMs = nowMs;
    this.closeSet();
    this.writeHeader(this.off, nowMs);
    this.emitFn(this.buf.slice(0, this.off));
    this.afterEmit();
    this.stats.datagrams++;
    this.sinceTemplates++;
    this.off = 0;
    this.count = 0;
    this.dataCount = 0;
  }

  close(nowMs: number): void {
    if (this.closed) return;
    this.flush(nowMs);
    this.closed = true;
  }

  /** Numbering after a datagram went out (sequence numbers). */
  protected abstract afterEmit(): void;

  /** Start a new datagram: header room, then templates when a refresh is due. */
  protected begin(nowMs: number): void {
    this.off = this.fmt.headerLength;
    this.setId = -1;
    this.setStart = -1;
    if (this.sinceTemplates >= this.refreshPackets || nowMs - this.templatesAtMs >= this.refreshMs) {
      this.writeTemplates();
      this.sinceTemplates = 0;
      this.templatesAtMs = nowMs;
    }
  }

  /** Emit a datagram holding only the sets `write` puts after the header (IPFIX withdrawal). */
  protected emitSpecial(nowMs: number, write: () => void): void {
    this.off = this.fmt.headerLength;
    this.setId = -1;
    write();
    this.flush(nowMs);
  }

  /** Start a set with id `id` at the current offset. */
  protected openSet(id: number): void {
    this.closeSet();
    this.setStart = this.off;
    this.setId = id;
    this.off += 4;
  }

  /** Pad the open set to 4 bytes and write its header. */
  protected closeSet(): void {
    if (this.setStart < 0) return;
    while ((this.off - this.setStart) & 3) this.buf[this.off++] = 0;
    this.view.setUint16(this.setStart, this.setId);
    this.view.setUint16(this.setStart + 2, this.off - this.setStart);
    this.setStart = -1;
    this.setId = -1;
  }

  /** Append raw 16-bit words to the open set. */
  protected put16(...words: number[]): void {
    for (const w of words) {
      this.view.setUint16(this.off, w);
      this.off += 2;
    }
  }

  private writeTemplates(): void {
    const f = this.fmt;
    this.openSet(f.templateSetId);
    this.off = writeTemplate(this.view, this.off, TEMPLATE_V4, f.fields.v4);
    this.off = writeTemplate(this.view, this.off, TEMPLATE_V6, f.fields.v6);
    this.count += 2;
    if (this.sampling === 1) return;
    const options = f.samplingFields;
    this.openSet(f.optionsTemplateSetId);
    if (f.version === 9) {
      // v9: template id, scope length (bytes), option length (bytes), then the fields
      this.put16(TEMPLATE_SAMPLING, 4, options.length * 4, f.samplingScope[0], f.samplingScope[1]);
    } else {
      // IPFIX: template id, field count (scope included), scope field count, then the fields
      this.put16(TEMPLATE_SAMPLING, options.length + 1, 1, f.samplingScope[0], f.samplingScope[1]);
    }
    for (const [ie, len] of options) this.put16(ie, len);
    this.count++;
    this.openSet(TEMPLATE_SAMPLING);
    putUint(this.view, this.off, f.samplingScope[1], this.sourceId);
    this.off += f.samplingScope[1];
    for (const [ie, len] of options) {
      const value = ie === IE.samplingInterval
        ? this.sampling
        : ie === IE.samplingAlgorithm
        ? this.samplingAlgorithm
        : ie === IE.samplingPacketInterval
        ? 1
        : ie === IE.samplingPacketSpace
        ? this.sampling - 1
        : 0;
      putUint(this.view, this.off, len, value);
      this.off += len;
    }
    this.count++;
    this.dataCount++;
  }
}
