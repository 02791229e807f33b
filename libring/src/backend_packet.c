/*
 * backend_packet.c — libring on AF_PACKET TPACKET_V3 (any Linux kernel).
 *
 * The ring is a run of blocks; the kernel fills a block with variable-length
 * packets (struct tpacket3_hdr + frame), then hands the whole block to the
 * reader by setting block_status to TP_STATUS_USER (after a write barrier).
 * The reader walks the block and gives it back with TP_STATUS_KERNEL.
 * Blocks retire when full or after timeout_ms, so the reader never sees a
 * half-written block. Same sequence as libpcap's pcap-linux.c:
 * socket(proto 0) → TPACKET_V3 → filter → RX ring → mmap → bind(ETH_P_ALL)
 * so no packet of another interface slips in before the bind.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static int packet_open(struct lr_handle *h, const char *dev, int ifindex,
		       const struct lr_opts *o, const struct sock_fprog *prog)
{
	struct tpacket_req3 req = {0};
	struct sockaddr_ll sll = {0};
	int ver = TPACKET_V3, err, one = 1;
	uint32_t block, frame;
	uint64_t *L = h->layout;
	void *map;

	(void)dev;
	if (o->flags & LR_F_TX_ONLY) {
		lri_set_error("tx-only capture needs the ringcap module");
		return -EOPNOTSUPP;
	}
	h->fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (h->fd < 0) {
		err = -errno;
		lri_set_error("socket(AF_PACKET): %s", strerror(errno));
		return err;
	}
	if (setsockopt(h->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0)
		goto fail_errno;

	/* Blocks: small enough that many of them make the ring (a block retires
	 * after timeout_ms even when nearly empty, so at moderate rates the ring
	 * holds block_count × timeout of traffic — like libpcap, prefer many
	 * blocks), big enough for one frame at the snap length: the smallest
	 * power of two >= max(64 KiB, frame), at most ring/4, at least a page. */
	frame = TPACKET_ALIGN(TPACKET3_HDRLEN + 16 + o->snaplen);
	block = o->block_bytes;
	if (!block) {
		block = 64u << 10;
		while (block < frame && block < (1u << 30))
			block *= 2;
		while (block > 4096 && (uint64_t)block * 4 > o->ring_bytes)
			block /= 2;
	}
	if (frame > block)
		frame = block & ~(TPACKET_ALIGNMENT - 1);
	req.tp_block_size = block;
	req.tp_block_nr = (unsigned)(o->ring_bytes / block);
	if (req.tp_block_nr < 1) {
		lri_set_error("ring of %llu bytes is smaller than one block (%u)",
			     (unsigned long long)o->ring_bytes, block);
		err = -EINVAL;
		goto fail;
	}
	req.tp_frame_size = frame;
	req.tp_frame_nr = (block / frame) * req.tp_block_nr;
	req.tp_retire_blk_tov = o->timeout_ms;

	if (setsockopt(h->fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog)) < 0)
		goto fail_errno;
	if (setsockopt(h->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		err = errno == EINVAL || errno == ENOMEM ? -ENOMEM : -errno;
		lri_set_error("could not allocate a %llu-byte ring: %s",
			     (unsigned long long)o->ring_bytes, strerror(errno));
		goto fail;
	}
	h->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	map = mmap(NULL, h->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		   h->fd, 0);
	if (map == MAP_FAILED)
		goto fail_errno;
	h->map = map;
	if ((o->flags & LR_F_RX_ONLY) &&
	    setsockopt(h->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		goto fail_errno;

	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(h->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail_errno;
	if (!(o->flags & LR_F_NO_PROMISC)) {
		struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};
		if (setsockopt(h->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
			goto fail_errno;
	}

	L[LRK_kind] = LR_KIND_TPACKET_V3;
	L[LRK_base] = (uint64_t)(uintptr_t)map;
	L[LRK_size] = h->map_len;
	L[LRK_ifindex] = (uint64_t)ifindex;
	L[LRK_snaplen] = o->snaplen;
	L[LRK_block_size] = req.tp_block_size;
	L[LRK_block_count] = req.tp_block_nr;
	L[LRK_blk_status_off] = offsetof(struct tpacket_block_desc, hdr.bh1.block_status);
	L[LRK_blk_num_pkts_off] = offsetof(struct tpacket_block_desc, hdr.bh1.num_pkts);
	L[LRK_blk_first_off] = offsetof(struct tpacket_block_desc, hdr.bh1.offset_to_first_pkt);
	L[LRK_status_user] = TP_STATUS_USER;
	L[LRK_status_kernel] = TP_STATUS_KERNEL;
	L[LRK_pkt_next_off] = offsetof(struct tpacket3_hdr, tp_next_offset);
	L[LRK_pkt_sec_off] = offsetof(struct tpacket3_hdr, tp_sec);
	L[LRK_pkt_nsec_off] = offsetof(struct tpacket3_hdr, tp_nsec);
	L[LRK_pkt_caplen_off] = offsetof(struct tpacket3_hdr, tp_snaplen);
	L[LRK_pkt_wirelen_off] = offsetof(struct tpacket3_hdr, tp_len);
	L[LRK_pkt_status_off] = offsetof(struct tpacket3_hdr, tp_status);
	L[LRK_pkt_mac_off] = offsetof(struct tpacket3_hdr, tp_mac);
	L[LRK_pkt_vlan_tci_off] = offsetof(struct tpacket3_hdr, hv1.tp_vlan_tci);
	L[LRK_pkt_vlan_tpid_off] = offsetof(struct tpacket3_hdr, hv1.tp_vlan_tpid);
	L[LRK_vlan_valid_mask] = TP_STATUS_VLAN_VALID;
	L[LRK_vlan_tpid_valid_mask] = TP_STATUS_VLAN_TPID_VALID;
	return 0;

fail_errno:
	err = -errno;
	lri_set_error("AF_PACKET setup: %s", strerror(errno));
fail:
	lri_unmap_close(h);
	return err;
}

static int packet_ready(struct lr_handle *h, uint32_t cursor)
{
	const uint8_t *blk;
	if (cursor >= h->layout[LRK_block_count])
		return 0;
	blk = (const uint8_t *)h->map + (size_t)cursor * h->layout[LRK_block_size];
	return (__atomic_load_n((const uint32_t *)(blk + h->layout[LRK_blk_status_off]),
				__ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

static int packet_stats(struct lr_handle *h)
{
	struct tpacket_stats_v3 st = {0};
	socklen_t len = sizeof(st);
	/* reading resets the kernel's counters: accumulate */
	if (getsockopt(h->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return -errno;
	h->totals[0] += st.tp_packets - st.tp_drops; /* tp_packets includes drops */
	h->totals[1] += st.tp_drops;
	h->totals[3] = h->totals[0] + h->totals[1];
	return 0;
}

const struct lr_backend_ops lri_packet_ops = {
	.name = "packet",
	.open = packet_open,
	.ready = packet_ready,
	.stats = packet_stats,
	.close = lri_unmap_close,
};
