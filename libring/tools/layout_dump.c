/*
 * layout_dump — print, as JSON, the ABI offsets libring must describe, taken
 * straight from the kernel headers with offsetof. test/layout.test.ts
 * compares them with what lr_layout_get() reports through FFI, so a wrong
 * layout can never reach the TypeScript reader unnoticed.
 */
#include <linux/if_packet.h>
#include <stddef.h>
#include <stdio.h>

#define P(key, val) printf("%s\"%s\": %lu", first ? "" : ", ", key, (unsigned long)(val)), first = 0

int main(void)
{
	int first = 1;
	printf("{");
	P("blk_status_off", offsetof(struct tpacket_block_desc, hdr.bh1.block_status));
	P("blk_num_pkts_off", offsetof(struct tpacket_block_desc, hdr.bh1.num_pkts));
	P("blk_first_off", offsetof(struct tpacket_block_desc, hdr.bh1.offset_to_first_pkt));
	P("status_user", TP_STATUS_USER);
	P("status_kernel", TP_STATUS_KERNEL);
	P("pkt_next_off", offsetof(struct tpacket3_hdr, tp_next_offset));
	P("pkt_sec_off", offsetof(struct tpacket3_hdr, tp_sec));
	P("pkt_nsec_off", offsetof(struct tpacket3_hdr, tp_nsec));
	P("pkt_caplen_off", offsetof(struct tpacket3_hdr, tp_snaplen));
	P("pkt_wirelen_off", offsetof(struct tpacket3_hdr, tp_len));
	P("pkt_status_off", offsetof(struct tpacket3_hdr, tp_status));
	P("pkt_mac_off", offsetof(struct tpacket3_hdr, tp_mac));
	P("pkt_vlan_tci_off", offsetof(struct tpacket3_hdr, hv1.tp_vlan_tci));
	P("pkt_vlan_tpid_off", offsetof(struct tpacket3_hdr, hv1.tp_vlan_tpid));
	P("vlan_valid_mask", TP_STATUS_VLAN_VALID);
	P("vlan_tpid_valid_mask", TP_STATUS_VLAN_TPID_VALID);
	/* TPACKET_V2 (immediate delivery): the same keys, prefixed "v2." */
	P("v2.pkt_sec_off", offsetof(struct tpacket2_hdr, tp_sec));
	P("v2.pkt_nsec_off", offsetof(struct tpacket2_hdr, tp_nsec));
	P("v2.pkt_caplen_off", offsetof(struct tpacket2_hdr, tp_snaplen));
	P("v2.pkt_wirelen_off", offsetof(struct tpacket2_hdr, tp_len));
	P("v2.pkt_status_off", offsetof(struct tpacket2_hdr, tp_status));
	P("v2.pkt_mac_off", offsetof(struct tpacket2_hdr, tp_mac));
	P("v2.pkt_vlan_tci_off", offsetof(struct tpacket2_hdr, tp_vlan_tci));
	P("v2.pkt_vlan_tpid_off", offsetof(struct tpacket2_hdr, tp_vlan_tpid));
	P("v2.status_user", TP_STATUS_USER);
	P("v2.status_kernel", TP_STATUS_KERNEL);
	P("v2.vlan_valid_mask", TP_STATUS_VLAN_VALID);
	P("v2.vlan_tpid_valid_mask", TP_STATUS_VLAN_TPID_VALID);
	P("v2.hdrlen", TPACKET2_HDRLEN);
	printf("}\n");
	return 0;
}
