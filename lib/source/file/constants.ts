/**
 * pcap and pcapng on-disk constants: magic numbers, header sizes, block types,
 * link types, and the caps that keep a hostile file from causing huge allocations.
 * @module
 */

/** Classic pcap magic, microsecond timestamps (as read in the writer's byte order). */
export const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
/** Classic pcap magic, nanosecond timestamps. */
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
/** Classic pcap file header length. */
export const PCAP_FILE_HEADER_LENGTH = 24;
/** Classic pcap record header length. */
export const PCAP_RECORD_HEADER_LENGTH = 16;
/** libpcap's default and largest usual snap length. */
export const DEFAULT_SNAPLEN = 262144;
/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1;

/** pcapng Section Header Block type (also the file's first 4 bytes, a palindrome). */
export const PCAPNG_SHB = 0x0a0d0d0a;
/** pcapng byte-order magic inside the SHB. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** pcapng Interface Description Block. */
export const PCAPNG_IDB = 0x00000001;
/** pcapng (obsolete) Packet Block, as written by old Wireshark versions. */
export const PCAPNG_PB = 0x00000002;
/** pcapng Simple Packet Block. */
export const PCAPNG_SPB = 0x00000003;
/** pcapng Enhanced Packet Block. */
export const PCAPNG_EPB = 0x00000006;
/** IDB option: timestamp resolution. */
export const PCAPNG_OPT_IF_TSRESOL = 9;
/** IDB option: timestamp offset (seconds). */
export const PCAPNG_OPT_IF_TSOFFSET = 14;

/** Default largest captured length accepted in one record (a bigger one is an error, never an allocation). */
export const DEFAULT_MAX_RECORD = 262144;
/** Largest pcapng block accepted at all (skipped blocks included), as libpcap. */
export const MAX_PCAPNG_BLOCK = 16 * 1024 * 1024;
