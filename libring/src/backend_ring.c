/*
 * backend_ring.c — libring on the ringcap kernel module (socket family
 * PF_RING, kernel/ringcap.ko; ABI in kernel/include/uapi/ringcap.h).
 *
 * The ring is slot_count fixed-size slots after two header pages. The kernel
 * fills slots in order and publishes them with a free-running produced count
 * in page 0 (release store after the slot); the reader reads up to it and
 * gives slots back with a free-running consumed count in page 1 (one release
 * store per batch; also what poll() compares against). A slot not given
 * back is never overwritten: the packet is dropped and counted. lr_wait's
 * cursor on this backend is the reader's consumed count.
 *
 * Sequence: socket → ABI version check → geometry, direction, sampling,
 * filter, steal, promisc → bind (the ring starts filling) → mmap.
 * Sampling runs in the module (deterministic 1-in-N after the filter, as in
 * the paper); the core builds this backend's program without the random
 * sampler it uses on AF_PACKET. A paused handle (LR_F_PAUSED) has a drop-all
 * program until lr_start() swaps in the real one (or detaches it).
 *
 * lr_fanout joins a module cluster (RINGCAP_OPT_CLUSTER): modes hash and lb
 * only; the size is needed to create one (it is fixed); group id 0 lets the
 * module allocate an id, read back with getsockopt.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "../../kernel/include/uapi/ringcap.h"

/* The family the loaded module registered (its `family` parameter), or 0. */
int lri_ring_family(void)
{
	const char *env = getenv("RINGCAP_FAMILY");
	FILE *f;
	int fam = 0;

	if (env && *env)
		return atoi(env);
	f = fopen("/sys/module/ringcap/parameters/family", "r");
	if (f) {
		if (fscanf(f, "%d", &fam) != 1)
			fam = 0;
		fclose(f);
		return fam > 0 ? fam : 0;
	}
	/* No sysfs: the module's /proc file tells whether it is loaded. */
	return access("/proc/net/ringcap", R_OK) == 0 ? PF_RING_DEFAULT : 0;
}

static int set_u32(int fd, int opt, uint32_t v)
{
	return setsockopt(fd, SOL_RINGCAP, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

/*
 * The program to attach in the module: the caller's filter, which the core
 * built without the random sampler (the module samples itself, 1 in N in
 * order, as the paper does). "Accept everything" is not attached.
 * Returns 1 to attach *out (borrowed from in), 0 for none.
 */
static int module_prog(const struct sock_fprog *in, uint32_t snaplen, struct sock_fprog *out)
{
	memset(out, 0, sizeof(*out));
	if (!in || !in->len)
		return 0;
	if (in->len == 1 && in->filter[0].code == (BPF_RET | BPF_K) && in->filter[0].k >= snaplen)
		return 0;
	*out = *in;
	return 1;
}

static int ring_open(struct lr_handle *h, const char *dev, int ifindex,
		     const struct lr_opts *o, const struct sock_fprog *prog)
{
	struct sockaddr_ringcap sa = {0};
	struct sock_fprog mine = {0};
	const struct ringcap_hdr *hdr;
	uint64_t *L = h->layout, mmap_bytes = 0, ring = o->ring_bytes;
	uint32_t version = RINGCAP_ABI_VERSION, sampling = o->sampling, dir;
	socklen_t sl = sizeof(mmap_bytes);
	int fam = lri_ring_family(), err, attach;
	void *map;

	if (fam <= 0) {
		lri_set_error("the ringcap kernel module is not loaded");
		return -EPROTONOSUPPORT;
	}
	h->fd = socket(fam, SOCK_RAW, htons(ETH_P_ALL));
	if (h->fd < 0) {
		err = -errno;
		lri_set_error("socket(PF_RING=%d): %s", fam, strerror(errno));
		return err == -EAFNOSUPPORT ? -EPROTONOSUPPORT : err;
	}
	if (setsockopt(h->fd, SOL_RINGCAP, RINGCAP_OPT_VERSION, &version, sizeof(version)) < 0) {
		err = -errno;
		lri_set_error("the loaded ringcap module does not speak ring ABI %u (this libring's): "
			      "rebuild and reload the module and libring from the same tree", version);
		goto fail;
	}
	if (ring > RINGCAP_MAX_RING) {
		lri_set_error("the ringcap module rings are at most %llu bytes",
			      (unsigned long long)RINGCAP_MAX_RING);
		err = -EINVAL;
		goto fail;
	}
	if (setsockopt(h->fd, SOL_RINGCAP, RINGCAP_OPT_RING_BYTES, &ring, sizeof(ring)) < 0 ||
	    set_u32(h->fd, RINGCAP_OPT_SNAPLEN, o->snaplen) < 0) {
		err = -errno;
		lri_set_error("ring of %llu bytes with snaplen %u: %s (at least 2 slots of %u bytes)",
			      (unsigned long long)ring, o->snaplen, strerror(errno),
			      (unsigned)((RINGCAP_SLOT_DATA_OFFSET + o->snaplen + RINGCAP_SLOT_ALIGN - 1) &
					 ~(RINGCAP_SLOT_ALIGN - 1)));
		goto fail;
	}
	dir = o->flags & LR_F_RX_ONLY ? RINGCAP_DIR_RX : o->flags & LR_F_TX_ONLY ? RINGCAP_DIR_TX : RINGCAP_DIR_BOTH;
	attach = module_prog(prog, o->snaplen, &mine);
	if ((err = set_u32(h->fd, RINGCAP_OPT_DIRECTION, dir)) ||
	    (err = set_u32(h->fd, RINGCAP_OPT_SAMPLING, sampling)) ||
	    (err = set_u32(h->fd, RINGCAP_OPT_POLL_TIMEOUT, o->timeout_ms < RINGCAP_MAX_POLL_TIMEOUT ? o->timeout_ms : RINGCAP_MAX_POLL_TIMEOUT))) {
		lri_set_error("ringcap options: %s", strerror(-err));
		goto fail;
	}
	if (attach && setsockopt(h->fd, SOL_SOCKET, SO_ATTACH_FILTER, &mine, sizeof(mine)) < 0) {
		err = -errno;
		lri_set_error("attaching the filter: %s", strerror(errno));
		goto fail;
	}
	if ((o->flags & LR_F_STEAL) && (err = set_u32(h->fd, RINGCAP_OPT_STEAL, 1))) {
		if (err == -EPERM)
			lri_set_error("steal mode needs CAP_NET_ADMIN (run as root or grant it: "
				      "setcap/AmbientCapabilities)");
		else
			lri_set_error("steal mode: %s", strerror(-err));
		goto fail;
	}
	if (!(o->flags & LR_F_NO_PROMISC) && (err = set_u32(h->fd, RINGCAP_OPT_PROMISC, 1))) {
		lri_set_error("promiscuous mode: %s", strerror(-err));
		goto fail;
	}

	sa.sr_family = (uint16_t)fam;
	sa.sr_ifindex = (uint32_t)ifindex;
	snprintf(sa.sr_ifname, sizeof(sa.sr_ifname), "%s", dev);
	if (bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		if (err == -EBUSY)
			lri_set_error("%s already has an rx_handler (bridge, bond, macvlan): steal mode is not possible there", dev);
		else if (err == -ENOMEM)
			lri_set_error("the module could not allocate a %llu-byte ring", (unsigned long long)ring);
		else
			lri_set_error("bind to %s: %s", dev, strerror(errno));
		goto fail;
	}
	if (getsockopt(h->fd, SOL_RINGCAP, RINGCAP_OPT_MMAP_BYTES, &mmap_bytes, &sl) < 0 || !mmap_bytes) {
		err = errno ? -errno : -EINVAL;
		lri_set_error("ringcap ring size: %s", strerror(-err));
		goto fail;
	}
	map = mmap(NULL, mmap_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, h->fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		lri_set_error("mmap of the ringcap ring: %s", strerror(errno));
		goto fail;
	}
	h->map = map;
	h->map_len = mmap_bytes;
	hdr = map;
	if (hdr->magic != RINGCAP_MAGIC || hdr->abi_version != RINGCAP_ABI_VERSION ||
	    hdr->hdr_size != sizeof(*hdr)) {
		lri_set_error("the ring header says ABI %u (libring has %u): rebuild module and libring together",
			      hdr->abi_version, RINGCAP_ABI_VERSION);
		err = -EPROTO;
		goto fail;
	}

	L[LRK_kind] = LR_KIND_SLOTS;
	L[LRK_base] = (uint64_t)(uintptr_t)map;
	L[LRK_size] = mmap_bytes;
	L[LRK_ifindex] = (uint64_t)ifindex;
	L[LRK_snaplen] = hdr->snaplen;
	L[LRK_slot_base_off] = hdr->slots_offset;
	L[LRK_slot_size] = hdr->slot_size;
	L[LRK_slot_count] = hdr->slot_count;
	L[LRK_slot_status_off] = offsetof(struct ringcap_slot, status);
	L[LRK_slot_caplen_off] = offsetof(struct ringcap_slot, caplen);
	L[LRK_slot_wirelen_off] = offsetof(struct ringcap_slot, wirelen);
	L[LRK_slot_ifindex_off] = offsetof(struct ringcap_slot, ifindex);
	L[LRK_slot_sec_off] = offsetof(struct ringcap_slot, ts_sec); /* u64, low word first */
	L[LRK_slot_nsec_off] = offsetof(struct ringcap_slot, ts_nsec);
	L[LRK_slot_vlan_tci_off] = offsetof(struct ringcap_slot, vlan_tci);   /* u16 */
	L[LRK_slot_vlan_tpid_off] = offsetof(struct ringcap_slot, vlan_tpid); /* u16 */
	L[LRK_slot_flags_off] = offsetof(struct ringcap_slot, flags);         /* u16 */
	L[LRK_slot_direction_off] = offsetof(struct ringcap_slot, direction); /* u8 */
	L[LRK_slot_data_off] = hdr->data_offset;
	L[LRK_slot_flag_vlan] = RINGCAP_SF_VLAN_VALID;
	L[LRK_slot_ready] = RINGCAP_SLOT_READY;
	L[LRK_slot_free] = RINGCAP_SLOT_FREE;
	/* u32 free-running counts: consumed (user page), produced (kernel page) */
	L[LRK_read_idx_off] = hdr->page_size + offsetof(struct ringcap_ctl, consumed);
	L[LRK_produced_off] = offsetof(struct ringcap_hdr, produced);
	L[LRK_insert_idx_off] = offsetof(struct ringcap_hdr, insert_slot);
	return 0;

fail:
	lri_unmap_close(h);
	return err;
}

/* cursor: the reader's consumed count. Ready when the kernel published more. */
static int ring_ready(struct lr_handle *h, uint32_t cursor)
{
	const uint32_t *produced = (const uint32_t *)((const uint8_t *)h->map + h->layout[LRK_produced_off]);

	return __atomic_load_n(produced, __ATOMIC_ACQUIRE) != cursor;
}

static int ring_stats(struct lr_handle *h)
{
	struct ringcap_stats st;
	socklen_t len = sizeof(st);

	/* the module's counters are cumulative */
	if (getsockopt(h->fd, SOL_RINGCAP, RINGCAP_OPT_STATS, &st, &len) < 0)
		return -errno;
	h->totals[0] = st.packets;
	h->totals[1] = st.dropped;
	h->totals[2] = st.filtered;
	h->totals[3] = st.seen;
	h->totals[4] = st.bytes;
	return 0;
}

/* lr_start: replace the drop-all program with the filter, or remove it when
 * the module needs none (snaplen and sampling are its own options). */
static int ring_start(struct lr_handle *h, const struct sock_fprog *prog)
{
	struct sock_fprog mine;
	int rc, err, unused = 0;

	if (module_prog(prog, (uint32_t)h->layout[LRK_snaplen], &mine))
		rc = setsockopt(h->fd, SOL_SOCKET, SO_ATTACH_FILTER, &mine, sizeof(mine));
	else /* the kernel wants an int-sized value even here */
		rc = setsockopt(h->fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused));
	if (rc < 0) {
		err = -errno;
		lri_set_error("attaching the filter: %s", strerror(errno));
		return err;
	}
	return 0;
}

/* lr_fanout on the module: join (or create) a cluster. */
static int ring_fanout(struct lr_handle *h, uint32_t id, uint32_t mode, uint32_t flags,
		       uint32_t max)
{
	struct ringcap_cluster_req req = {.id = id, .mode = mode, .members = max};
	struct ringcap_cluster_info ci;
	socklen_t len = sizeof(ci);
	int err;

	if (mode != LR_FANOUT_HASH && mode != LR_FANOUT_LB) {
		lri_set_error("ringcap module clusters balance by hash or lb only (cpu, rollover, "
			      "random and qm are AF_PACKET fanout modes: use RINGCAP_BACKEND=packet)");
		return -EINVAL;
	}
	if (flags & LR_FANOUT_DEFRAG) {
		lri_set_error("ringcap module clusters do not reassemble fragments (defrag): every "
			      "fragment hashes on addresses and protocol, so a datagram's fragments "
			      "stay together; drop defrag, or use RINGCAP_BACKEND=packet");
		return -EINVAL;
	}
	if (!id && !max) {
		lri_set_error("a new ringcap module cluster needs its size (members): it is fixed "
			      "when the cluster is created");
		return -EINVAL;
	}
	if (setsockopt(h->fd, SOL_RINGCAP, RINGCAP_OPT_CLUSTER, &req, sizeof(req)) < 0) {
		err = -errno;
		switch (err) {
		case -ENOPROTOOPT:
			lri_set_error("the loaded ringcap module has no clusters: load the module "
				      "built from this tree");
			return -EOPNOTSUPP;
		case -EINVAL:
			if (max > RINGCAP_CLUSTER_MAX_MEMBERS)
				lri_set_error("a ringcap module cluster holds 1..%u members, not %u",
					      RINGCAP_CLUSTER_MAX_MEMBERS, max);
			else
				lri_set_error("ringcap cluster %u exists with another interface, mode, "
					      "size or direction: give every member the same interface, "
					      "--fanout, size and direction", id);
			break;
		case -ENOSPC:
			lri_set_error("ringcap cluster %u is full: create it with more members, or "
				      "start fewer", id);
			break;
		case -ENXIO:
			lri_set_error("the capture's interface is gone: a cluster member must be bound");
			break;
		case -ENOMEM:
			lri_set_error("no memory (or no free id) for a ringcap cluster");
			break;
		default:
			lri_set_error("joining ringcap cluster %u: %s", id, strerror(-err));
		}
		return err;
	}
	if (getsockopt(h->fd, SOL_RINGCAP, RINGCAP_OPT_CLUSTER, &ci, &len) < 0) {
		err = -errno;
		lri_set_error("reading the ringcap cluster id: %s", strerror(errno));
		return err;
	}
	return (int)ci.id;
}

const struct lr_backend_ops lri_ring_ops = {
	.name = "ring",
	.open = ring_open,
	.ready = ring_ready,
	.stats = ring_stats,
	.start = ring_start,
	.fanout = ring_fanout,
	.close = lri_unmap_close,
};
