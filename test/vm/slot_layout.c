/*
 * slot_layout.c — prints, as JSON, the module ring offsets libring's layout
 * keys must report, taken with offsetof from kernel/include/uapi/ringcap.h.
 * test/vm/ring_module.test.ts compares them with what lr_layout_get() says
 * through FFI, so a wrong slot layout never reaches the TypeScript reader.
 */
#include <stddef.h>
#include <stdio.h>

#include "../../kernel/include/uapi/ringcap.h"

#define P(key, val) printf("%s\"%s\": %lu", first ? "" : ", ", key, (unsigned long)(val)), first = 0

int main(void)
{
	int first = 1;

	printf("{");
	P("slot_status_off", offsetof(struct ringcap_slot, status));
	P("slot_caplen_off", offsetof(struct ringcap_slot, caplen));
	P("slot_wirelen_off", offsetof(struct ringcap_slot, wirelen));
	P("slot_ifindex_off", offsetof(struct ringcap_slot, ifindex));
	P("slot_sec_off", offsetof(struct ringcap_slot, ts_sec));
	P("slot_nsec_off", offsetof(struct ringcap_slot, ts_nsec));
	P("slot_vlan_tci_off", offsetof(struct ringcap_slot, vlan_tci));
	P("slot_vlan_tpid_off", offsetof(struct ringcap_slot, vlan_tpid));
	P("slot_flags_off", offsetof(struct ringcap_slot, flags));
	P("slot_direction_off", offsetof(struct ringcap_slot, direction));
	P("slot_data_off", RINGCAP_SLOT_DATA_OFFSET);
	P("slot_flag_vlan", RINGCAP_SF_VLAN_VALID);
	P("slot_ready", RINGCAP_SLOT_READY);
	P("slot_free", RINGCAP_SLOT_FREE);
	P("insert_idx_off", offsetof(struct ringcap_hdr, insert_slot));
	P("produced_off", offsetof(struct ringcap_hdr, produced));
	P("read_idx_in_page1", offsetof(struct ringcap_ctl, consumed));
	printf("}\n");
	return 0;
}
