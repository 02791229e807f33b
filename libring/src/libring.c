/*
 * libring.c — the core of libring: handle table, option defaults and
 * validation, backend choice, layout description, waits, counters, errors,
 * the start barrier (LR_F_PAUSED, lr_start) and fanout argument checks.
 * Backends (backend_packet.c, backend_ring.c) only open, describe, count,
 * attach programs and join groups.
 *
 * Threads: each thread may open and use its own handles (the table is
 * guarded by a mutex; lookups are atomic loads), and lr_error() is per
 * thread. A handle must not be closed while another thread still uses it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* The module backend is linked in when backend_ring.c is built. */
extern const struct lr_backend_ops lri_ring_ops __attribute__((weak));
extern int lri_ring_family(void) __attribute__((weak));

#define LR_MAX_HANDLES 1024
#define LR_DEFAULT_RING (64ull << 20)
#define LR_MAX_RING (4095ull << 20) /* readers use 32-bit offsets */
#define LR_DEFAULT_SNAPLEN 65535u
#define LR_MAX_SNAPLEN 262144u

static struct lr_handle *handles[LR_MAX_HANDLES];
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread char err_detail[512];

/* What a paused handle has attached until lr_start(): reject every frame. */
static struct sock_filter drop_all_insn[1] = {{BPF_RET | BPF_K, 0, 0, 0}};
const struct sock_fprog lri_drop_all = {.len = 1, .filter = drop_all_insn};

static const char *const layout_keys[] = {
#define LR_KEY_NAME(name) #name,
	LR_LAYOUT_KEYS(LR_KEY_NAME)
#undef LR_KEY_NAME
	NULL};

void lri_set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_detail, sizeof(err_detail), fmt, ap);
	va_end(ap);
}

const char *lr_error(void)
{
	return err_detail;
}

const char *lr_layout_key(int i)
{
	if (i < 0 || i >= LRK__COUNT)
		return NULL;
	return layout_keys[i];
}

static struct lr_handle *get(int h)
{
	if (h < 0 || h >= LR_MAX_HANDLES)
		return NULL;
	return __atomic_load_n(&handles[h], __ATOMIC_ACQUIRE);
}

int lr_layout_get(int h, uint64_t *out, int n)
{
	struct lr_handle *hd = get(h);
	if (!hd)
		return -EBADF;
	for (int i = 0; i < n && i < LRK__COUNT; i++)
		out[i] = hd->layout[i];
	return LRK__COUNT;
}

static int validate(const struct lr_opts *in, struct lr_opts *o)
{
	*o = *in;
	if (!o->ring_bytes)
		o->ring_bytes = LR_DEFAULT_RING;
	if (!o->snaplen)
		o->snaplen = LR_DEFAULT_SNAPLEN;
	if (!o->timeout_ms)
		o->timeout_ms = 10;
	if (!o->sampling)
		o->sampling = 1;
	if (o->snaplen > LR_MAX_SNAPLEN) {
		lri_set_error("snaplen %u is larger than %u", o->snaplen, LR_MAX_SNAPLEN);
		return -EINVAL;
	}
	if (o->ring_bytes < 4096 || o->ring_bytes > LR_MAX_RING) {
		lri_set_error("ring size %llu bytes is outside 4 KiB..4095 MiB",
			     (unsigned long long)o->ring_bytes);
		return -EINVAL;
	}
	if (o->block_bytes && (o->block_bytes < 4096 || (o->block_bytes & 4095))) {
		lri_set_error("block size %u is not a multiple of 4096", o->block_bytes);
		return -EINVAL;
	}
	if (o->wait_mode > LR_WAIT_ADAPTIVE) {
		lri_set_error("unknown wait mode %u", o->wait_mode);
		return -EINVAL;
	}
	if (o->backend > LR_BACKEND_XDP) {
		lri_set_error("unknown backend %u", o->backend);
		return -EINVAL;
	}
	if ((o->xdp & 0xff) > LR_XDP_NATIVE) {
		lri_set_error("unknown xdp mode %u", o->xdp & 0xff);
		return -EINVAL;
	}
	if ((o->flags & LR_F_RX_ONLY) && (o->flags & LR_F_TX_ONLY)) {
		lri_set_error("rx-only and tx-only exclude each other");
		return -EINVAL;
	}
	if (o->flags & ~(LR_F_NO_PROMISC | LR_F_STEAL | LR_F_RX_ONLY | LR_F_TX_ONLY | LR_F_PAUSED |
			 LR_F_IMMEDIATE)) {
		lri_set_error("unknown flags 0x%x", o->flags);
		return -EINVAL;
	}
	return 0;
}

/* Which backend: the option, else RINGCAP_BACKEND, else the module if its
 * socket family answers, else AF_PACKET. */
static int choose_backend(uint32_t want, const struct lr_backend_ops **ops)
{
	const char *env = getenv("RINGCAP_BACKEND");
	int have_ring = &lri_ring_ops != NULL && lri_ring_family && lri_ring_family() > 0;

	if (want == LR_BACKEND_AUTO && env && *env) {
		if (!strcmp(env, "ring"))
			want = LR_BACKEND_RING;
		else if (!strcmp(env, "packet"))
			want = LR_BACKEND_PACKET;
		else if (!strcmp(env, "xdp"))
			want = LR_BACKEND_XDP;
		else if (strcmp(env, "auto")) {
			lri_set_error("RINGCAP_BACKEND=%s: use ring, packet, xdp or auto", env);
			return -EINVAL;
		}
	}
	if (want == LR_BACKEND_RING && !have_ring) {
		lri_set_error("the ringcap kernel module is not loaded (modprobe ringcap), "
			     "or unset RINGCAP_BACKEND to use AF_PACKET");
		return -EPROTONOSUPPORT;
	}
	if (want == LR_BACKEND_AUTO)
		want = have_ring ? LR_BACKEND_RING : LR_BACKEND_PACKET;
	*ops = want == LR_BACKEND_RING ? &lri_ring_ops
	       : want == LR_BACKEND_XDP ? &lri_xdp_ops
					: &lri_packet_ops;
	return (int)want;
}

int lr_open(const char *dev, const struct lr_opts *opts, const char *filter)
{
	struct lr_opts o, zero = {0};
	struct sock_fprog prog = {0};
	const struct lr_backend_ops *ops;
	struct lr_handle *h = NULL;
	int ifindex, backend, err, slot = -1;

	err_detail[0] = 0;
	if (!dev || !*dev || strlen(dev) >= IF_NAMESIZE) {
		lri_set_error("interface name '%s' is not valid", dev ? dev : "");
		return -ENODEV;
	}
	err = validate(opts ? opts : &zero, &o);
	if (err)
		return err;
	ifindex = (int)if_nametoindex(dev);
	if (!ifindex) {
		lri_set_error("no interface named '%s'", dev);
		return -ENODEV;
	}
	backend = choose_backend(o.backend, &ops);
	if (backend < 0)
		return backend;
	if (o.flags & LR_F_STEAL && backend != LR_BACKEND_RING) {
		lri_set_error("steal mode needs the ringcap kernel module");
		return -EOPNOTSUPP;
	}
	if (backend == LR_BACKEND_XDP && (o.flags & LR_F_TX_ONLY)) {
		/* AF_XDP: receive only */
		lri_set_error("the xdp backend captures received frames only");
		return -EINVAL;
	}
	/* AF_PACKET samples (and, rx-only, drops outgoing frames) in the BPF
	 * program; the module and the xdp backend's XDP program sample themselves.
	 * On xdp the VLAN tag stays in the frame: "vlan" compiles to byte tests
	 * (no device handle, so no Linux ancillary loads) */
	err = lri_filter_build(backend == LR_BACKEND_XDP ? NULL : dev, filter, o.snaplen, backend == LR_BACKEND_PACKET ? o.sampling : 1,
			       backend == LR_BACKEND_PACKET && (o.flags & LR_F_RX_ONLY), &prog);
	if (err)
		return err;

	h = calloc(1, sizeof(*h));
	if (!h) {
		err = -ENOMEM;
		goto out;
	}
	h->fd = -1;
	h->ops = ops;
	h->ifindex = ifindex;
	h->backend = (uint32_t)backend;
	h->wait_mode = o.wait_mode;
	h->flags = o.flags;
	h->fanout_id = -1;
	/* paused: the drop-all program goes in now, the real one at lr_start */
	err = ops->open(h, dev, ifindex, &o, o.flags & LR_F_PAUSED ? &lri_drop_all : &prog);
	if (err)
		goto out_free;
	if (o.flags & LR_F_PAUSED) {
		h->paused = 1;
		h->held = prog; /* the handle owns it now */
		prog = (struct sock_fprog){0};
	}

	pthread_mutex_lock(&handles_lock);
	for (int i = 0; i < LR_MAX_HANDLES; i++) {
		if (!handles[i]) {
			slot = i;
			__atomic_store_n(&handles[i], h, __ATOMIC_RELEASE);
			break;
		}
	}
	pthread_mutex_unlock(&handles_lock);
	if (slot < 0) {
		lri_set_error("more than %d captures open in this process", LR_MAX_HANDLES);
		err = -EMFILE;
		ops->close(h);
		lri_filter_free(&h->held);
		goto out_free;
	}
	lri_filter_free(&prog);
	return slot;

out_free:
	free(h);
out:
	lri_filter_free(&prog);
	return err;
}

int lr_start(int hd)
{
	struct lr_handle *h = get(hd);
	int err;

	if (!h)
		return -EBADF;
	err_detail[0] = 0;
	if (!h->paused)
		return 0;
	err = h->ops->start(h, &h->held);
	if (err)
		return err;
	h->paused = 0;
	lri_filter_free(&h->held);
	return 0;
}

#define LR_FANOUT_MAX_ID 65535u     /* ids are 16 bits */
#define LR_FANOUT_MAX_MEMBERS 65536u /* PACKET_FANOUT_MAX since Linux 5.9 */

int lr_fanout(int hd, uint32_t group_id, uint32_t mode, uint32_t flags, uint32_t max_members)
{
	struct lr_handle *h = get(hd);
	int rc;

	if (!h)
		return -EBADF;
	err_detail[0] = 0;
	if (mode > LR_FANOUT_QM) {
		lri_set_error("unknown fanout mode %u: use hash, lb, cpu, qm, rollover or random", mode);
		return -EINVAL;
	}
	if (flags & ~LR_FANOUT_DEFRAG) {
		lri_set_error("unknown fanout flags 0x%x (only defrag, 0x%x, exists)", flags,
			      LR_FANOUT_DEFRAG);
		return -EINVAL;
	}
	if (group_id > LR_FANOUT_MAX_ID) {
		lri_set_error("fanout group id %u is outside 1..%u (0 = let the kernel choose)",
			      group_id, LR_FANOUT_MAX_ID);
		return -EINVAL;
	}
	if (max_members > LR_FANOUT_MAX_MEMBERS) {
		lri_set_error("a fanout group holds 1..%u members, not %u", LR_FANOUT_MAX_MEMBERS,
			      max_members);
		return -EINVAL;
	}
	if (h->backend == LR_BACKEND_XDP) {
		lri_set_error("fanout is refused on the xdp backend: the NIC's RSS, not a symmetric "
			      "hash, decides the queue; capture each queue with its own socket (--queue)");
		return -EOPNOTSUPP;
	}
	if (!h->ops->fanout) {
		lri_set_error("fanout groups need the AF_PACKET backend (ringcap module clusters "
			      "are not there yet): use RINGCAP_BACKEND=packet");
		return -EOPNOTSUPP;
	}
	if (h->fanout_id >= 0) {
		lri_set_error("this capture already joined fanout group %d", h->fanout_id);
		return -EALREADY;
	}
	rc = h->ops->fanout(h, group_id, mode, flags, max_members);
	if (rc >= 0)
		h->fanout_id = rc;
	return rc;
}

/* POLLERR on a capture socket: the interface went down or away. */
static int socket_error(struct lr_handle *h)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	char name[IF_NAMESIZE];

	getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (!if_indextoname((unsigned)h->ifindex, name)) {
		lri_set_error("the interface (index %d) was removed", h->ifindex);
		return -ENODEV;
	}
	if (soerr == ENETDOWN || soerr == 0) {
		lri_set_error("the interface %s went down", name);
		return -ENETDOWN;
	}
	return -soerr;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* poll() once for at most ms; 1 readable, 0 nothing, <0 error. */
static int poll_once(struct lr_handle *h, int ms)
{
	struct pollfd p = {.fd = h->fd, .events = POLLIN | POLLRDNORM};
	int rc = poll(&p, 1, ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	if (rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return socket_error(h);
	return rc > 0;
}

/* lr_wait's timeout: 0, or the backend's check of a vanished interface. */
static int timed_out(struct lr_handle *h)
{
	return h->ops->check ? h->ops->check(h) : 0;
}

int lr_wait(int hd, uint32_t cursor, int timeout_ms)
{
	struct lr_handle *h = get(hd);
	int64_t deadline, next_check;
	unsigned spins = 0;
	long sleep_ns = 1000;

	if (!h)
		return -EBADF;
	if (h->ops->ready(h, cursor))
		return 1;
	if (timeout_ms < 0)
		timeout_ms = 0;
	deadline = now_ns() + (int64_t)timeout_ms * 1000000;
	next_check = now_ns() + 1000000;

	for (;;) {
		int64_t t;
		if (h->ops->ready(h, cursor))
			return 1;
		if (h->wait_mode == LR_WAIT_POLL ||
		    (h->wait_mode == LR_WAIT_ADAPTIVE && sleep_ns > 256000)) {
			/* rounded up: a wait of 0.4 ms left is poll(1), not a poll(0) that
			 * returns at once and is called again until the deadline */
			int left = (int)((deadline - now_ns() + 999999) / 1000000);
			int rc = poll_once(h, left > 0 ? left : 0);
			if (rc < 0)
				return rc;
			if (h->ops->ready(h, cursor))
				return 1;
			if (left <= 0)
				return timed_out(h);
			continue;
		}
		if (++spins & 1023)
			continue;
		t = now_ns();
		if (t >= deadline)
			return timed_out(h);
		if (t >= next_check) { /* busy modes still notice a vanished interface */
			int rc = poll_once(h, 0);
			if (rc < 0)
				return rc;
			next_check = t + 1000000;
		}
		if (h->wait_mode == LR_WAIT_ADAPTIVE && spins >= 16 * 1024) {
			struct timespec ts = {0, sleep_ns};
			nanosleep(&ts, NULL);
			sleep_ns *= 2;
		}
	}
}

int lr_stats(int hd, uint64_t *out)
{
	struct lr_handle *h = get(hd);
	int err;
	if (!h)
		return -EBADF;
	err = h->ops->stats(h);
	if (err)
		return err;
	memcpy(out, h->totals, sizeof(h->totals));
	return 0;
}

int lr_backend(int hd)
{
	struct lr_handle *h = get(hd);
	return h ? (int)h->backend : -EBADF;
}

int lr_fd(int hd)
{
	struct lr_handle *h = get(hd);
	return h ? h->fd : -EBADF;
}

void lri_unmap_close(struct lr_handle *h)
{
	if (h->map)
		munmap(h->map, h->map_len);
	if (h->fd >= 0)
		close(h->fd);
	h->map = NULL;
	h->fd = -1;
}

int lr_close(int hd)
{
	struct lr_handle *h;
	pthread_mutex_lock(&handles_lock);
	h = get(hd);
	if (h)
		__atomic_store_n(&handles[hd], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&handles_lock);
	if (!h)
		return -EBADF;
	h->ops->close(h);
	lri_filter_free(&h->held);
	free(h);
	return 0;
}

const char *lr_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case EPERM:
	case EACCES:
		return "permission denied: capture needs CAP_NET_RAW (run as root or grant it: "
		       "setcap cap_net_raw+ep on the runtime, or AmbientCapabilities=CAP_NET_RAW)";
	case ENODEV:
		return "no such interface (see `ip link`), or it was removed";
	case ENETDOWN:
		return "the interface went down";
	case EINVAL:
		return "invalid option";
	case ENOMEM:
		return "not enough memory for the ring: use a smaller --ring-mb";
	case EPROTONOSUPPORT:
		return "the ringcap kernel module is not loaded: modprobe ringcap, "
		       "or use RINGCAP_BACKEND=packet";
	case EBADMSG:
		return "the filter expression does not compile";
	case EBUSY:
		return "the device already has an rx_handler (bridge, bond, macvlan): "
		       "steal mode is not possible there";
	case EOPNOTSUPP:
		return "not supported by this backend";
	case EEXIST:
		return "another XDP program is attached to the interface";
	case EBADF:
		return "the capture is closed";
	case EMFILE:
		return "too many captures open";
	case ENOSPC:
		return "the fanout group is full";
	case EALREADY:
		return "the capture is already in a fanout group";
	case ENXIO:
		return "the capture is not bound to a running interface";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
