/*
 * backend_packet.c — libring on AF_PACKET TPACKET_V3, or V2 for immediate
 * delivery (any Linux kernel).
 *
 * The ring is a run of blocks; the kernel fills a block with variable-length
 * packets (struct tpacket3_hdr + frame), then hands the whole block to the
 * reader by setting block_status to TP_STATUS_USER (after a write barrier).
 * The reader walks the block and gives it back with TP_STATUS_KERNEL.
 * Blocks retire when full or after timeout_ms, so the reader never sees a
 * half-written block. Same sequence as libpcap's pcap-linux.c:
 * socket(proto 0) → TPACKET_V3 → filter → RX ring → mmap → bind(ETH_P_ALL)
 * so no packet of another interface slips in before the bind.
 *
 * Immediate delivery (LR_F_IMMEDIATE): TPACKET_V2 instead — one fixed-size
 * frame per packet, handed to the reader (and poll() woken) as soon as the
 * kernel wrote it, where a V3 block reaches the reader only when full or
 * after its retire timer. As libpcap's immediate mode does, for the same
 * reason; frames sized as libpcap sizes them (see v2_geometry).
 *
 * Fanout groups (lr_fanout): PACKET_FANOUT after the bind. The kernel
 * cannot tell a joiner what the existing group looks like, so the groups
 * this process's handles are in are remembered here (id, mode, flags, size,
 * interface, per network namespace): a refused join then says exactly what
 * differs. Joins of other processes' groups get the general message.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "internal.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

/* An ethtool "get" flag of dev (0 when the driver does not say). */
static uint32_t ethtool_get(int fd, const char *dev, uint32_t cmd)
{
	struct ethtool_value ev = {.cmd = cmd};
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (void *)&ev;
	return ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? 0 : ev.data;
}

/*
 * The largest frame dev can hand the capture point, as libpcap's
 * create_ring() reckons it: the MTU, or 65535 when segmentation or receive
 * offloads (TSO, GSO, GRO, LRO) let packets bigger than the MTU reach it;
 * plus 18 (Ethernet header and one VLAN tag). 0 if the MTU is unknown.
 */
static uint32_t max_frame_len(int fd, const char *dev)
{
	struct ifreq ifr = {0};
	uint32_t mtu;
	int offload;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu <= 0)
		return 0;
	mtu = (uint32_t)ifr.ifr_mtu;
	offload = ethtool_get(fd, dev, ETHTOOL_GTSO) || ethtool_get(fd, dev, ETHTOOL_GGSO) ||
		  ethtool_get(fd, dev, ETHTOOL_GGRO) ||
		  (ethtool_get(fd, dev, ETHTOOL_GFLAGS) & ETH_FLAG_LRO);
	if (offload && mtu < 65535)
		mtu = 65535;
	return mtu + 18;
}

/* The most room the kernel leaves before the frame in a V2 frame (tp_mac):
 * tpacket_rcv puts the network header at TPACKET_ALIGN(TPACKET2_HDRLEN +
 * max(maclen, 16)), so tp_mac = that - maclen, at most 80 (maclen 0). */
#define V2_MACOFF_MAX TPACKET_ALIGN(TPACKET2_HDRLEN + 16)

/*
 * TPACKET_V2 geometry (immediate delivery). A frame holds the header and the
 * packet cut to the snap length, capped by the largest frame the interface
 * can deliver (max_frame_len): a 65535-byte snap length on a 1500-byte MTU
 * interface would otherwise make a 64 MiB ring hold ~1,000 packets instead
 * of ~40,000. A longer packet (an offload the probe did not see) is cut to
 * the frame by the kernel, its wire length intact. Blocks: the smallest power
 * of two of at least a page that holds a frame and wastes at most 1/16 of
 * itself at its end (frames do not cross blocks), at most 4 MiB and,
 * when the ring allows, an eighth of it.
 */
static int v2_geometry(int fd, const char *dev, const struct lr_opts *o, struct tpacket_req3 *req)
{
	uint32_t cap = o->snaplen, max = max_frame_len(fd, dev), frame, block, fpb;

	if (max && cap > max)
		cap = max;
	frame = TPACKET_ALIGN(V2_MACOFF_MAX + cap);
	block = o->block_bytes;
	if (!block || block < frame) {
		block = 4096;
		while (block < frame)
			block *= 2;
		while ((block % frame) * 16 > block && block < (4u << 20) &&
		       (uint64_t)block * 16 <= o->ring_bytes)
			block *= 2;
	}
	fpb = block / frame;
	req->tp_block_size = block;
	req->tp_block_nr = (unsigned)(o->ring_bytes / block);
	if (req->tp_block_nr < 1) {
		lri_set_error("ring of %llu bytes is smaller than one block of %u-byte frames (%u)",
			      (unsigned long long)o->ring_bytes, frame, block);
		return -EINVAL;
	}
	req->tp_frame_size = frame;
	req->tp_frame_nr = fpb * req->tp_block_nr;
	return 0;
}

static int packet_open(struct lr_handle *h, const char *dev, int ifindex,
		       const struct lr_opts *o, const struct sock_fprog *prog)
{
	struct tpacket_req3 req = {0};
	struct sockaddr_ll sll = {0};
	int immediate = (o->flags & LR_F_IMMEDIATE) != 0, err, one = 1;
	int ver = immediate ? TPACKET_V2 : TPACKET_V3;
	uint32_t block, frame;
	uint64_t *L = h->layout;
	void *map;

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
	if (immediate) {
		err = v2_geometry(h->fd, dev, o, &req);
		if (err)
			goto fail;
		goto ring;
	}

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

ring:
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

	L[LRK_base] = (uint64_t)(uintptr_t)map;
	L[LRK_size] = h->map_len;
	L[LRK_ifindex] = (uint64_t)ifindex;
	L[LRK_snaplen] = o->snaplen;
	L[LRK_block_size] = req.tp_block_size;
	L[LRK_block_count] = req.tp_block_nr;
	L[LRK_status_user] = TP_STATUS_USER;
	L[LRK_status_kernel] = TP_STATUS_KERNEL;
	L[LRK_vlan_valid_mask] = TP_STATUS_VLAN_VALID;
	L[LRK_vlan_tpid_valid_mask] = TP_STATUS_VLAN_TPID_VALID;
	if (immediate) {
		L[LRK_kind] = LR_KIND_TPACKET_V2;
		L[LRK_frame_size] = req.tp_frame_size;
		L[LRK_frame_count] = req.tp_frame_nr;
		L[LRK_frames_per_block] = req.tp_block_size / req.tp_frame_size;
		L[LRK_pkt_sec_off] = offsetof(struct tpacket2_hdr, tp_sec);
		L[LRK_pkt_nsec_off] = offsetof(struct tpacket2_hdr, tp_nsec);
		L[LRK_pkt_caplen_off] = offsetof(struct tpacket2_hdr, tp_snaplen);
		L[LRK_pkt_wirelen_off] = offsetof(struct tpacket2_hdr, tp_len);
		L[LRK_pkt_status_off] = offsetof(struct tpacket2_hdr, tp_status);
		L[LRK_pkt_mac_off] = offsetof(struct tpacket2_hdr, tp_mac);
		L[LRK_pkt_vlan_tci_off] = offsetof(struct tpacket2_hdr, tp_vlan_tci);
		L[LRK_pkt_vlan_tpid_off] = offsetof(struct tpacket2_hdr, tp_vlan_tpid);
		return 0;
	}
	L[LRK_kind] = LR_KIND_TPACKET_V3;
	L[LRK_blk_status_off] = offsetof(struct tpacket_block_desc, hdr.bh1.block_status);
	L[LRK_blk_num_pkts_off] = offsetof(struct tpacket_block_desc, hdr.bh1.num_pkts);
	L[LRK_blk_first_off] = offsetof(struct tpacket_block_desc, hdr.bh1.offset_to_first_pkt);
	L[LRK_pkt_next_off] = offsetof(struct tpacket3_hdr, tp_next_offset);
	L[LRK_pkt_sec_off] = offsetof(struct tpacket3_hdr, tp_sec);
	L[LRK_pkt_nsec_off] = offsetof(struct tpacket3_hdr, tp_nsec);
	L[LRK_pkt_caplen_off] = offsetof(struct tpacket3_hdr, tp_snaplen);
	L[LRK_pkt_wirelen_off] = offsetof(struct tpacket3_hdr, tp_len);
	L[LRK_pkt_status_off] = offsetof(struct tpacket3_hdr, tp_status);
	L[LRK_pkt_mac_off] = offsetof(struct tpacket3_hdr, tp_mac);
	L[LRK_pkt_vlan_tci_off] = offsetof(struct tpacket3_hdr, hv1.tp_vlan_tci);
	L[LRK_pkt_vlan_tpid_off] = offsetof(struct tpacket3_hdr, hv1.tp_vlan_tpid);
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
	const uint64_t *L = h->layout;
	const uint8_t *blk;
	if (L[LRK_kind] == LR_KIND_TPACKET_V2) { /* cursor: frame index */
		if (cursor >= L[LRK_frame_count])
			return 0;
		blk = (const uint8_t *)h->map + (size_t)(cursor / L[LRK_frames_per_block]) * L[LRK_block_size] +
		      (size_t)(cursor % L[LRK_frames_per_block]) * L[LRK_frame_size];
		return (__atomic_load_n((const uint32_t *)(blk + L[LRK_pkt_status_off]), __ATOMIC_ACQUIRE) &
			TP_STATUS_USER) != 0;
	}
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

/* lr_start: the real program replaces the drop-all one in one setsockopt. */
static int packet_start(struct lr_handle *h, const struct sock_fprog *prog)
{
	int err;
	if (setsockopt(h->fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog)) < 0) {
		err = -errno;
		lri_set_error("attaching the filter: %s", strerror(errno));
		return err;
	}
	return 0;
}

/* ---- fanout groups ---- */

/* struct fanout_args of Linux >= 5.9, spelled here so older headers build. */
struct lri_fanout_args {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint16_t id;
	uint16_t type_flags;
#else
	uint16_t type_flags;
	uint16_t id;
#endif
	uint32_t max_num_members;
};

#define LR_MAX_GROUPS 1024
#define LR_FANOUT_LEGACY_MAX 256u /* the group size before 5.9, and the default since */

/* A fanout group some handle of this process is in. */
struct group {
	uint64_t netns; /* inode of the network namespace: ids are per namespace */
	uint32_t id, mode, flags, rx_only, max_members;
	int ifindex;
	int refs; /* handles of this process in it; 0 = free entry */
};
static struct group groups[LR_MAX_GROUPS];
static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const mode_names[] = {"hash", "lb", "cpu", "rollover", "random", "qm"};

static uint64_t netns_ino(void)
{
	struct stat st;
	if (stat("/proc/thread-self/ns/net", &st) < 0 && stat("/proc/self/ns/net", &st) < 0)
		return 0;
	return (uint64_t)st.st_ino;
}

/* Linux >= 5.9 takes struct fanout_args (with the group size). */
static int kernel_has_fanout_args(void)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 1;
	return major > 5 || (major == 5 && minor >= 9);
}

static struct group *group_find(uint64_t netns, uint32_t id)
{
	for (int i = 0; i < LR_MAX_GROUPS; i++)
		if (groups[i].refs && groups[i].netns == netns && groups[i].id == id)
			return &groups[i];
	return NULL;
}

static const char *ifname(int ifindex, char *buf)
{
	if (!if_indextoname((unsigned)ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "ifindex %d", ifindex);
	return buf;
}

static int iface_up(int ifindex)
{
	struct ifreq ifr = {0};
	int fd, up = 1;
	if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		up = (ifr.ifr_flags & IFF_UP) != 0;
	close(fd);
	return up;
}

/* "lb+defrag+rx-only": a group's options in words. */
static void describe(char *buf, size_t n, uint32_t mode, uint32_t flags, uint32_t rx_only)
{
	snprintf(buf, n, "%s%s%s", mode_names[mode], flags & LR_FANOUT_DEFRAG ? "+defrag" : "",
		 rx_only ? "+rx-only" : "");
}

/* One clear line for a refused join. Returns the errno to report. */
static int fanout_explain(struct lr_handle *h, int err, const struct group *g, uint32_t id,
			  uint32_t mode, uint32_t flags, uint32_t rx_only, uint32_t max)
{
	char a[96], b[96], n1[IF_NAMESIZE], n2[IF_NAMESIZE];

	switch (err) {
	case -EINVAL:
		if (g && g->ifindex != h->ifindex) {
			lri_set_error("fanout group %u captures on %s, not %s: every member must open the "
				      "same interface", id, ifname(g->ifindex, n1), ifname(h->ifindex, n2));
			return err;
		}
		if (g && (g->mode != mode || g->flags != flags || g->rx_only != rx_only)) {
			describe(a, sizeof(a), g->mode, g->flags, g->rx_only);
			describe(b, sizeof(b), mode, flags, rx_only);
			lri_set_error("fanout group %u exists with another mode or flags (%s, not %s): "
				      "use the same --fanout on every member", id, a, b);
			return err;
		}
		if (g && max && max != g->max_members) {
			lri_set_error("fanout group %u was made for %u members, not %u: give every member "
				      "the same size (or 0)", id, g->max_members, max);
			return err;
		}
		if (!iface_up(h->ifindex)) { /* older kernels refuse a member that is down */
			lri_set_error("%s is down: a fanout member must capture on an interface that is up",
				      ifname(h->ifindex, n1));
			return -ENETDOWN;
		}
		if (!id) {
			lri_set_error("the kernel refused a new fanout group (%s, %u members): %s",
				      mode_names[mode], max, strerror(-err));
			return err;
		}
		lri_set_error("fanout group %u exists with another mode or flags (or another size or "
			      "interface): use the same --fanout on every member", id);
		return err;
	case -ENOSPC:
		if (g || max)
			lri_set_error("fanout group %u is full (%u members): create it with more "
				      "members, or start fewer", id, g ? g->max_members : max);
		else
			lri_set_error("fanout group %u is full: create it with more members, or "
				      "start fewer", id);
		return err;
	case -ENXIO:
	case -ENETDOWN:
		lri_set_error("%s: a fanout member must be bound to an interface that is up",
			      ifname(h->ifindex, n1));
		return err;
	case -ENOMEM:
		if (id)
			lri_set_error("no memory for fanout group %u", id);
		else
			lri_set_error("the kernel has no free fanout group id left");
		return err;
	default:
		lri_set_error("joining fanout group %u: %s", id, strerror(-err));
		return err;
	}
}

/* PACKET_FANOUT on fd: struct fanout_args where the kernel has it, else the
 * int form (no group size: groups hold up to 256). 0 or -1 with errno. */
static int fanout_join(int fd, uint32_t id, uint16_t type_flags, uint32_t max)
{
	int val = (int)(id | (uint32_t)type_flags << 16);
	if (kernel_has_fanout_args()) {
		struct lri_fanout_args a = {.id = (uint16_t)id, .type_flags = type_flags,
					    .max_num_members = max};
		return setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &a, sizeof(a));
	}
	return setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, sizeof(val));
}

/*
 * The kernel hands out unique ids from one counter that starts at 0 (the
 * first group after boot gets id 0) and wraps after 65535; but 0 means
 * "allocate" in lr_fanout. So a throwaway socket (bound to the same
 * interface, drop-all program, alone in its group) takes the allocation
 * first; while it lives the id it got is taken, and the handle's allocation
 * gets a later one. If it got 65535, the next would be 0: a second one takes
 * that. Returns the socket (close it after the handle joined) or -1.
 */
static int id_placeholder(int ifindex, uint32_t *id)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = ifindex};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), val = 0;
	socklen_t len = sizeof(val);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &lri_drop_all, sizeof(lri_drop_all)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    fanout_join(fd, 0, PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID, 1) < 0 ||
	    getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, &len) < 0) {
		close(fd);
		return -1;
	}
	*id = (uint32_t)val & 0xffff;
	return fd;
}

static int packet_fanout(struct lr_handle *h, uint32_t id, uint32_t mode, uint32_t flags,
			 uint32_t max)
{
	uint32_t rx_only = (h->flags & LR_F_RX_ONLY) != 0, got;
	uint16_t tf = (uint16_t)mode;
	uint64_t netns = netns_ino();
	struct group *g = NULL;
	socklen_t len = sizeof(int);
	int rc, err, val = 0, hold[2] = {-1, -1};
	uint32_t held_id = 0;

	if (flags & LR_FANOUT_DEFRAG)
		tf |= PACKET_FANOUT_FLAG_DEFRAG;
	if (rx_only) /* the socket's own PACKET_IGNORE_OUTGOING is off once in a group */
		tf |= PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
	if (!id)
		tf |= PACKET_FANOUT_FLAG_UNIQUEID;

	/* held across the join so lookups see this process's groups consistently */
	pthread_mutex_lock(&groups_lock);
	if (!id) {
		hold[0] = id_placeholder(h->ifindex, &held_id);
		if (hold[0] >= 0 && held_id == 65535)
			hold[1] = id_placeholder(h->ifindex, &held_id);
	}
	rc = fanout_join(h->fd, id, tf, max);
	if (rc < 0) {
		err = fanout_explain(h, -errno, id ? group_find(netns, id) : NULL, id, mode, flags,
				     rx_only, max);
		goto out;
	}
	if (getsockopt(h->fd, SOL_PACKET, PACKET_FANOUT, &val, &len) < 0) {
		err = -errno;
		lri_set_error("reading the fanout group id: %s", strerror(errno));
		goto out;
	}
	got = (uint32_t)val & 0xffff;
	if (!id && !got) { /* only if other allocations raced the placeholders */
		lri_set_error("the kernel gave this capture fanout group id 0, which members cannot "
			      "name: close it and open again");
		err = -EAGAIN;
		goto out;
	}
	g = group_find(netns, got);
	if (!g) {
		for (int i = 0; i < LR_MAX_GROUPS && !g; i++)
			if (!groups[i].refs)
				g = &groups[i];
		if (g) /* else: not remembered, errors of later joins are less precise */
			*g = (struct group){.netns = netns, .id = got, .mode = mode, .flags = flags,
					    .rx_only = rx_only, .ifindex = h->ifindex,
					    .max_members = max ? max : LR_FANOUT_LEGACY_MAX};
	}
	if (g) {
		g->refs++;
		h->priv = g;
	}
	err = (int)got;
out:
	pthread_mutex_unlock(&groups_lock);
	for (int i = 0; i < 2; i++)
		if (hold[i] >= 0)
			close(hold[i]);
	return err;
}

static void packet_close(struct lr_handle *h)
{
	struct group *g = h->priv;

	lri_unmap_close(h); /* leave the kernel's group first, then forget it */
	if (g) {
		pthread_mutex_lock(&groups_lock);
		g->refs--;
		pthread_mutex_unlock(&groups_lock);
		h->priv = NULL;
	}
}

const struct lr_backend_ops lri_packet_ops = {
	.name = "packet",
	.open = packet_open,
	.ready = packet_ready,
	.stats = packet_stats,
	.start = packet_start,
	.fanout = packet_fanout,
	.close = packet_close,
};
