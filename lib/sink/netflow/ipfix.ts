/**
 * IPFIX encoder (RFC 7011): 16-byte message header (version 10, length,
 * export time, sequence number = data records sent before this message in
 * this observation domain, domain id), template set 2, options template set 3
 * (sampling: samplingPacketInterval/Space, RFC 7014), data sets 256/257 with IANA elements and absolute millisecond
 * times. `close()` withdraws the two data templates (records with field count
 * 0) before the exporter goes away. Over UDP a collector cannot rely on that
 * message (it may be lost; some collectors ignore withdrawals on UDP and age
 * templates out instead), so `withdrawOnClose: false` turns it off.
 *
 * @module
 */
import type { EncoderOptions } from "./encoder.ts";
import { TemplateEncoder } from "./template_encoder.ts";
import { IE, IPFIX_FIELDS, TEMPLATE_V4, TEMPLATE_V6 } from "./templates.ts";

/** IPFIX options beyond the common encoder options. */
export interface IpfixOptions extends EncoderOptions {
  /** Send a template withdrawal on close (default true). */
  withdrawOnClose?: boolean;
}

/**
 * IPFIX encoder; `sourceId` is the observation domain id.
 *
 * @example
 * ```ts
 * import { IpfixEncoder } from "./ipfix.ts";
 * import { FlowRecord } from "../../analysis/flow/record.ts";
 * const sent: Uint8Array[] = [];
 * const enc = new IpfixEncoder({ emit: (d) => sent.push(d), sourceId: 7 });
 * enc.add(FlowRecord.v4("10.0.0.1", "10.0.0.2", 6, 40000, 443, { packets: 10, bytes: 4000, firstMs: 1e12, lastMs: 1e12 + 5 }), 1e12 + 5);
 * enc.close(1e12 + 5); // data, then the withdrawal
 * ```
 */
export class IpfixEncoder extends TemplateEncoder {
  private sequence = 0;
  private readonly withdraw: boolean;

  constructor(opts: IpfixOptions) {
    super(opts, {
      version: 10,
      headerLength: 16,
      templateSetId: 2,
      optionsTemplateSetId: 3,
      fields: IPFIX_FIELDS,
      samplingScope: [IE.observationDomainId, 4],
      // RFC 7014 systematic/random 1-in-N: 1 packet selected per N (interval 1, space N-1), plus the
      // algorithm as samplingAlgorithm (35); no selectorId, so collectors apply it to the whole domain
      samplingFields: [[IE.samplingPacketInterval, 4], [IE.samplingPacketSpace, 4], [
        IE.samplingAlgorithm,
        1,
      ]],
    });
    this.withdraw = opts.withdrawOnClose ?? true;
  }

  override close(nowMs: number): void {
    if (this.closed) return;
    this.flush(nowMs);
    if (this.withdraw && this.stats.datagrams > 0) {
      this.emitSpecial(nowMs, () => {
        this.openSet(2);
        this.put16(TEMPLATE_V4, 0, TEMPLATE_V6, 0);
        this.count += 2;
        // The sampling options template is not withdrawn: Wireshark 4.0 and nfdump 1.7 both reject an
        // options template withdrawal record; collectors age it out like any UDP template.
      });
    }
    this.closed = true;
  }

  protected writeHeader(length: number, nowMs: number): void {
    const v = this.view;
    v.setUint16(0, 10);
    v.setUint16(2, length);
    v.setUint32(4, Math.floor(nowMs / 1000));
    v.setUint32(8, this.sequence >>> 0);
    v.setUint32(12, this.sourceId);
  }

  protected afterEmit(): void {
    this.sequence += this.dataCount;
  }
}
