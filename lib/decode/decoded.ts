/**
 * `Decoded`: the one reused object every decoder fills.
 *
 * Decoding a frame writes into an existing `Decoded` (no allocation per
 * packet). Addresses stay in the packet bytes: IPv4 addresses are also given
 * as unsigned 32-bit numbers, IPv6 addresses as offsets into `Packet.data`.
 * Formatting helpers (which allocate) live in lib/decode/format.ts.
 * Every field is reset by the decoder on each call.
 */
export class Decoded {
  // --- link layer ---
  /** Outer VLAN id (from the stripped-tag metadata first, else the first tag in the frame), -1 if none. */
  vlanId = -1;
  /** Inner VLAN id (QinQ), -1 if none. */
  innerVlanId = -1;
  /** Number of VLAN tags (metadata + in frame). */
  vlanCount = 0;
  /**
   * EtherType after the VLAN tags (0x0800, 0x86dd, 0x0806...); 0 when unknown: the capture
   * ends inside the Ethernet header or a VLAN tag, more than MAX_VLAN_TAGS tags, or an
   * IEEE 802.3 length frame (no EtherType). Never a VLAN TPID; 0 is not an EtherType.
   */
  etherType = 0;
  /** Offset (in Packet.data) of the network header, -1 if none. */
  l3Offset = -1;

  // --- network layer ---
  /** 4 or 6 for IP, 0 otherwise (ARP sets etherType only). */
  ipVersion = 0;
  /** IPv4 source/destination as uint32 (0 when not IPv4). */
  src4 = 0;
  dst4 = 0;
  /** Offsets in Packet.data of the 16-byte IPv6 source/destination, -1 when not IPv6. */
  src6Offset = -1;
  dst6Offset = -1;
  /** IP protocol of the upper layer (after IPv6 extension headers), -1 if unknown. */
  protocol = -1;
  /** IPv4 ToS / IPv6 traffic class. */
  tos = 0;
  /** TTL / hop limit. */
  ttl = 0;
  /** IP length as NetFlow counts it: IPv4 total length; IPv6 40 + payload length. */
  ipLength = 0;
  /** A fragment other than the first (no L4 header in it). */
  fragment = false;
  /** The first fragment of a fragmented datagram (MF set, offset 0). */
  firstFragment = false;

  // --- transport layer ---
  /** Offset in Packet.data of the L4 header, -1 if none was reached. */
  l4Offset = -1;
  /** TCP/UDP ports (0 if none). */
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128). */
  tcpFlags = 0;
  /** ICMP / ICMPv6 type and code, -1 if not ICMP. */
  icmpType = -1;
  icmpCode = -1;
  /** Offset in Packet.data of the L4 payload, -1 if none. */
  payloadOffset = -1;
  /** TCP header length in bytes (data offset × 4), 0 if not TCP. */
  tcpHeaderLength = 0;
  /** Offset in Packet.data just past the IP datagram by its length field (may exceed the capture), -1 if not IP. */
  l3End = -1;

  // --- ARP (etherType 0x0806, Ethernet/IPv4 ARP only) ---
  /** ARP opcode (1 request, 2 reply), -1 if not ARP. */
  arpOp = -1;
  /** ARP sender / target protocol (IPv4) addresses as uint32, 0 if not ARP. */
  arpSenderIp = 0;
  arpTargetIp = 0;

  // --- health ---
  /** The capture ended inside a header (decoding stopped at the last complete layer). */
  truncated = false;
  /** A header is inconsistent (bad IHL, length fields, looping IPv6 chain...). */
  malformed = false;
}
