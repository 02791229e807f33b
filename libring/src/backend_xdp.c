/*
 * backend_xdp.c — AF_XDP capture (libring backend "xdp", LR_BACKEND_XDP).
 *
 * One AF_XDP socket bound to one receive queue of the interface, with a UMEM
 * of fixed 4096-byte chunks, a fill ring and an RX ring, each mapped once.
 * libxdp (Debian libxdp1) creates the UMEM and socket; it is loaded with
 * dlopen at the first xdp open, so libring builds and runs without it and
 * the backend then says, in one line, what to install. The XDP program is
 * libring's own (build/xsk_ts.bpf.o from bpf/xsk_ts.bpf.c: per-packet
 * timestamps in the metadata, the queue's filter and sampling, see "The
 * timestamp program" below), attached by libxdp through its dispatcher
 * where the kernel allows; without that object, libxdp's default redirect
 * program (no timestamps, filter or sampling).
 *
 * Mode: native (XDP_FLAGS_DRV_MODE) where the driver has it, else generic
 * (XDP_FLAGS_SKB_MODE); lr_opts.xdp (or, when it is 0, the environment
 * RINGCAP_XDP_MODE=native|generic) forces one. The
 * kernel binds zero-copy where the driver supports it, else copy mode. The
 * mode obtained is in the layout (xdp_mode: 1 generic, 2 native; xdp_zerocopy).
 *
 * The reader (lib/source/live/ring_xdp.ts) reads RX descriptors in place,
 * hands chunks back to the fill ring in batches, and moves the consumer and
 * producer words itself: no FFI call per packet. At open every chunk is put
 * on the fill ring, whose size equals the chunk count, so it never overflows.
 *
 * Counters: packets = descriptors the kernel produced on the RX ring (its
 * producer word, a free-running u32, followed across calls); dropped =
 * XDP_STATISTICS rx_dropped + rx_ring_full (fill-ring-empty events are inside
 * rx_dropped in copy mode: not added again); filtered = frames the program
 * left to the stack (filter or sampling; its per-queue counter).
 *
 * Semantics: a frame redirected to the socket is taken from the kernel's
 * stack (the paper's steal mode), so this backend is for dedicated capture
 * interfaces; receive only. A frame the filter rejects is not: it goes on
 * to the stack.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/bpf.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../bpf/xsk_ts.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define XDP_CHUNK 4096u

/* libxdp 1.x xsk.h (DEFINE_XSK_RING, xsk_umem_config, xsk_socket_config):
 * mirrored here so libring builds without libxdp-dev. */
struct lri_xsk_ring {
	uint32_t cached_prod, cached_cons, mask, size;
	uint32_t *producer, *consumer;
	void *ring;
	uint32_t *flags;
};
struct lri_xsk_umem_config {
	uint32_t fill_size, comp_size, frame_size, frame_headroom, flags;
};
struct lri_xsk_socket_config {
	uint32_t rx_size, tx_size, libxdp_flags, xdp_flags;
	uint16_t bind_flags;
};

static struct {
	int loaded; /* 0 not tried, 1 ok, -1 missing */
	char why[256];
	int (*umem_create)(void **umem, void *area, uint64_t size, struct lri_xsk_ring *fill,
			   struct lri_xsk_ring *comp, const struct lri_xsk_umem_config *cfg);
	int (*umem_delete)(void *umem);
	int (*socket_create)(void **xsk, const char *ifname, uint32_t queue, void *umem,
			     struct lri_xsk_ring *rx, struct lri_xsk_ring *tx,
			     const struct lri_xsk_socket_config *cfg);
	void (*socket_delete)(void *xsk);
	int (*socket_fd)(const void *xsk);
	void *(*set_print)(void *fn);
	/* libbpf (libxdp's dependency): stale program cleanup */
	int (*query_id)(int ifindex, int flags, uint32_t *id);
	int (*detach)(int ifindex, uint32_t flags, const void *opts);
	int (*prog_fd_by_id)(uint32_t id);
	int (*obj_info)(int fd, void *info, uint32_t *len);
	/* the timestamp program (libring/bpf/xsk_ts.bpf.c): libxdp loads and attaches it */
	void *(*prog_open_file)(const char *path, const char *section, void *opts);
	int (*prog_attach)(void *prog, int ifindex, int mode, unsigned flags);
	int (*prog_detach)(void *prog, int ifindex, int mode, unsigned flags);
	void (*prog_close)(void *prog);
	void *(*prog_bpf_obj)(const void *prog);
	long (*get_error)(const void *ptr);
	int (*update_xskmap)(void *xsk, int fd);
	int (*find_map_fd)(const void *obj, const char *name);
	int (*map_fd_by_id)(uint32_t id);
	int (*map_update)(int fd, const void *key, const void *value, uint64_t flags);
	int (*map_lookup)(int fd, const void *key, void *value);
} X;

static int quiet_print(int level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int load_libxdp(void)
{
	void *dl;
	if (X.loaded)
		return X.loaded;
	dl = dlopen("libxdp.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		snprintf(X.why, sizeof(X.why),
			 "the xdp backend needs libxdp at run time (apt-get install libxdp1 libbpf1): %s",
			 dlerror());
		X.loaded = -1;
		return -1;
	}
	*(void **)&X.umem_create = dlsym(dl, "xsk_umem__create");
	*(void **)&X.umem_delete = dlsym(dl, "xsk_umem__delete");
	*(void **)&X.socket_create = dlsym(dl, "xsk_socket__create");
	*(void **)&X.socket_delete = dlsym(dl, "xsk_socket__delete");
	*(void **)&X.socket_fd = dlsym(dl, "xsk_socket__fd");
	*(void **)&X.set_print = dlsym(dl, "libxdp_set_print");
	*(void **)&X.prog_open_file = dlsym(dl, "xdp_program__open_file");
	*(void **)&X.prog_attach = dlsym(dl, "xdp_program__attach");
	*(void **)&X.prog_detach = dlsym(dl, "xdp_program__detach");
	*(void **)&X.prog_close = dlsym(dl, "xdp_program__close");
	*(void **)&X.prog_bpf_obj = dlsym(dl, "xdp_program__bpf_obj");
	*(void **)&X.get_error = dlsym(dl, "libxdp_get_error");
	*(void **)&X.update_xskmap = dlsym(dl, "xsk_socket__update_xskmap");
	if (!X.umem_create || !X.umem_delete || !X.socket_create || !X.socket_delete ||
	    !X.socket_fd) {
		snprintf(X.why, sizeof(X.why),
			 "the xdp backend needs libxdp >= 1.2 (this libxdp.so.1 lacks the xsk_* API)");
		X.loaded = -1;
		return -1;
	}
	if (X.set_print)
		X.set_print((void *)quiet_print); /* errors are reported as one line, by us */
	{
		/* libxdp's libbpf (loaded with it): silence its stderr messages too */
		void *bpf = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
		void *(*bpf_print)(void *) = NULL;
		if (bpf)
			*(void **)&bpf_print = dlsym(bpf, "libbpf_set_print");
		if (bpf_print)
			bpf_print((void *)quiet_print);
		if (bpf) {
			*(void **)&X.query_id = dlsym(bpf, "bpf_xdp_query_id");
			*(void **)&X.detach = dlsym(bpf, "bpf_xdp_detach");
			*(void **)&X.prog_fd_by_id = dlsym(bpf, "bpf_prog_get_fd_by_id");
			*(void **)&X.obj_info = dlsym(bpf, "bpf_obj_get_info_by_fd");
			*(void **)&X.find_map_fd = dlsym(bpf, "bpf_object__find_map_fd_by_name");
			*(void **)&X.map_fd_by_id = dlsym(bpf, "bpf_map_get_fd_by_id");
			*(void **)&X.map_update = dlsym(bpf, "bpf_map_update_elem");
			*(void **)&X.map_lookup = dlsym(bpf, "bpf_map_lookup_elem");
		}
	}
	X.loaded = 1;
	return 1;
}

struct ts_prog;
static void ts_put(struct ts_prog *t, int last);
struct xdp_priv;
static void ts_reset(struct xdp_priv *p);

struct xdp_priv {
	void *umem, *xsk;
	struct ts_prog *ts; /* the timestamp program this socket's frames go through, or NULL */
	uint32_t queue, sampling;
	int lock_fd; /* shared flock on the interface's lock file while capturing */
	struct lri_xsk_ring fill, comp, rx;
	void *area;
	size_t area_len;
	int promisc_fd;
	uint32_t last_prod; /* RX producer at the last stats call */
	struct xdp_mmap_offsets off;
};

static int has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

/* Name every capability the xdp backend lacks, before anything is loaded;
 * and the memlock limit the UMEM must fit (without CAP_IPC_LOCK). */
static int check_privileges(size_t umem_bytes)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {{0}};
	char missing[256] = "";
	struct rlimit rl;

	if (syscall(SYS_capget, &hdr, d))
		return 0; /* unknown: let the kernel say */
	if (!has_cap(d, CAP_NET_RAW))
		strcat(missing, ", CAP_NET_RAW (the AF_XDP socket)");
	if (!has_cap(d, CAP_NET_ADMIN))
		strcat(missing, ", CAP_NET_ADMIN (attaching the XDP program)");
	if (!has_cap(d, CAP_BPF) && !has_cap(d, CAP_SYS_ADMIN))
		strcat(missing, ", CAP_BPF (loading the XDP program and its map)");
	if (!has_cap(d, CAP_PERFMON) && !has_cap(d, CAP_SYS_ADMIN))
		strcat(missing, ", CAP_PERFMON (libxdp's dispatcher program type)");
	if (missing[0]) {
		lri_set_error("the xdp backend needs %s: run as root or grant them "
			      "(AmbientCapabilities=, setcap)",
			      missing + 2);
		return -EPERM;
	}
	if (!has_cap(d, CAP_IPC_LOCK) && !getrlimit(RLIMIT_MEMLOCK, &rl) &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < umem_bytes) {
		lri_set_error("the %zu-byte UMEM exceeds the memlock limit of %llu bytes: raise it "
			      "(ulimit -l, LimitMEMLOCK=), grant CAP_IPC_LOCK, or use a smaller --ring-mb",
			      umem_bytes, (unsigned long long)rl.rlim_cur);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Stale programs. Without libxdp's dispatcher (where the kernel refuses its
 * freplace programs, as on these machines) libxdp attaches its redirect
 * program xsk_def_prog alone, pins nothing, and a capture killed by SIGKILL
 * leaves it attached. Every xdp capture holds a shared flock on a lock file
 * of its interface (network namespace inode + ifindex) for its lifetime; a
 * capture that gets the lock exclusively at open or close is the only one
 * on the interface, so an xsk_def_prog still attached then is stale (or
 * ours, at close) and is detached.
 */
static int lock_open(int ifindex)
{
	char path[128];
	struct stat ns;
	int fd;

	if (stat("/proc/self/ns/net", &ns))
		ns.st_ino = 0;
	mkdir("/run/ringcap", 0755);
	snprintf(path, sizeof(path), "/run/ringcap/xdp-%llu-%d.lock", (unsigned long long)ns.st_ino,
		 ifindex);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/tmp/ringcap-xdp-%llu-%d.lock",
			 (unsigned long long)ns.st_ino, ifindex);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	return fd;
}

#define TS_PROG_NAME "ringcap_xsk"

/* Detach libxdp's xsk_def_prog or our ringcap_xsk from ifindex (both modes) if attached. */
static void detach_xsk_prog(int ifindex)
{
	static const uint32_t modes[2] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE};
	if (!X.query_id || !X.detach || !X.prog_fd_by_id || !X.obj_info)
		return;
	for (int m = 0; m < 2; m++) {
		struct bpf_prog_info info = {0};
		uint32_t id = 0, len = sizeof(info);
		int fd;
		if (X.query_id(ifindex, (int)modes[m], &id) || !id)
			continue;
		fd = X.prog_fd_by_id(id);
		if (fd < 0)
			continue;
		if (!X.obj_info(fd, &info, &len) &&
		    (!strcmp(info.name, "xsk_def_prog") || !strcmp(info.name, TS_PROG_NAME)))
			X.detach(ifindex, modes[m], NULL);
		close(fd);
	}
}

/* Receive queues of dev (ETHTOOL_GCHANNELS rx + combined), 1 if unknown. */
static unsigned rx_queues(const char *dev)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned n = 1;
	if (fd < 0)
		return 1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (void *)&ch;
	if (!ioctl(fd, SIOCETHTOOL, &ifr) && ch.rx_count + ch.combined_count > 0)
		n = ch.rx_count + ch.combined_count;
	close(fd);
	return n;
}

/* The mapping of a ring: libxdp keeps pointers into it; we need its start. */
static uint64_t ring_map(const struct lri_xsk_ring *r, uint64_t desc_off)
{
	return (uint64_t)(uintptr_t)r->ring - desc_off;
}

static void xdp_close(struct lr_handle *h)
{
	struct xdp_priv *p = h->priv;
	if (!p)
		return;
	if (p->xsk)
		X.socket_delete(p->xsk); /* detaches libxdp's program with its last socket */
	if (p->lock_fd >= 0) {
		/* the last capture on the interface: nothing may stay attached. Our
		 * shared lock goes first, then a fresh descriptor tries for the
		 * exclusive one: of several sockets closing at once (one per queue,
		 * in several threads) the last to let go always gets it. */
		int fd, last;
		close(p->lock_fd);
		if (p->ts)
			ts_reset(p);
		fd = p->xsk || p->ts ? lock_open(h->ifindex) : -1;
		last = fd >= 0 && !flock(fd, LOCK_EX | LOCK_NB);
		if (p->ts)
			ts_put(p->ts, last); /* through libxdp: also out of its dispatcher */
		p->ts = NULL;
		if (last && p->xsk)
			detach_xsk_prog(h->ifindex);
		if (fd >= 0)
			close(fd);
	}
	if (p->ts)
		ts_put(p->ts, 0);
	if (p->umem)
		X.umem_delete(p->umem);
	if (p->area)
		munmap(p->area, p->area_len);
	if (p->promisc_fd >= 0)
		close(p->promisc_fd);
	free(p);
	h->priv = NULL;
	h->map = NULL;
	h->fd = -1;
}

/* Is any XDP program attached to ifindex (either mode)? */
static int xdp_attached(int ifindex)
{
	uint32_t id = 0;
	if (!X.query_id)
		return 1; /* cannot tell: assume so */
	if (!X.query_id(ifindex, XDP_FLAGS_DRV_MODE, &id) && id)
		return 1;
	id = 0;
	return !X.query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) && id;
}

static int open_error(int err, const char *dev, const char *mode)
{
	if ((err == EBUSY || err == EEXIST) && !xdp_attached((int)if_nametoindex(dev)))
		err = EOPNOTSUPP; /* libxdp reports a refused attach (veth: peer MTU too large) so */
	switch (err) {
	case EPERM:
	case EACCES:
		lri_set_error("AF_XDP needs CAP_NET_ADMIN, CAP_BPF and CAP_PERFMON (loading and "
			      "attaching the XDP program) and CAP_NET_RAW (the socket): run as root");
		return -EPERM;
	case ENOMEM:
	case ENOBUFS:
		lri_set_error("cannot pin the UMEM: raise the memlock limit (ulimit -l, "
			      "LimitMEMLOCK=) or grant CAP_IPC_LOCK, or use a smaller --ring-mb");
		return -ENOMEM;
	case EBUSY:
	case EEXIST:
		lri_set_error("it was not loaded through libxdp's dispatcher, so the capture's "
			      "program cannot join it: see `xdp-loader status %s`, detach it first",
			      dev);
		return -EEXIST;
	case EOPNOTSUPP:
	case ERANGE: /* veth: the peer's MTU is too large for native XDP */
		lri_set_error("the driver refused %s XDP (no support, or e.g. an MTU too large for "
			      "it: see dmesg; generic mode, xdpMode/RINGCAP_XDP_MODE=generic, works on "
			      "any interface)",
			      mode);
		return -EOPNOTSUPP;
	default:
		lri_set_error("AF_XDP socket in %s mode: %s", mode, strerror(err));
		return -err;
	}
}

/*
 * The timestamp program (libring/bpf/xsk_ts.bpf.c, built by scripts/build.sh
 * with clang into build/xsk_ts.bpf.o beside libring.so; RINGCAP_XDP_PROG
 * names another object, RINGCAP_XDP_PROG=default keeps libxdp's program and
 * no timestamps). It writes bpf_ktime_get_ns() into 8 bytes of XDP metadata,
 * which AF_XDP puts just before the frame (desc.addr - 8), and redirects to
 * the socket of the receiving queue in its xsks_map. libxdp loads and
 * attaches it (through its dispatcher where the kernel allows); the sockets
 * are created with XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD and put into the map
 * here. One program per interface and process, shared by the sockets of
 * every queue (a table under a mutex: a cluster's Workers open and close
 * queues in several threads); a capture in another process finds the
 * attached program and its map by id.
 */
#define LRI_XDP_MODE_NATIVE 1 /* enum xdp_attach_mode */
#define LRI_XDP_MODE_SKB 2
#define LRI_XSK_INHIBIT_PROG_LOAD 1u /* XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD */

struct ts_prog {
	struct ts_prog *next;
	unsigned long long ns;
	int ifindex, refs;
	int mapfd;  /* xsks_map */
	int qfd;    /* rc_queues: each queue's filter length, sampling, paused, counters */
	int ifd;    /* rc_insns: each queue's filter */
	int mode;   /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
	void *prog; /* libxdp's handle when this process attached it (owns the map fds), else NULL */
};
static struct ts_prog *ts_list;
static pthread_mutex_t ts_lock = PTHREAD_MUTEX_INITIALIZER;

static void ts_fds_close(struct ts_prog *t)
{
	if (t->mapfd >= 0)
		close(t->mapfd);
	if (t->qfd >= 0)
		close(t->qfd);
	if (t->ifd >= 0)
		close(t->ifd);
	t->mapfd = t->qfd = t->ifd = -1;
}

static unsigned long long netns_ino(void)
{
	struct stat st;
	return stat("/proc/self/ns/net", &st) ? 0 : (unsigned long long)st.st_ino;
}

/* The program's object file, or "" for libxdp's own program (no timestamps). */
static const char *ts_path(char *buf, size_t n)
{
	const char *env = getenv("RINGCAP_XDP_PROG");
	Dl_info di;
	char *slash;

	if (env)
		return strcmp(env, "default") ? env : "";
	if (!dladdr((void *)ts_path, &di) || !di.dli_fname)
		return "";
	snprintf(buf, n, "%s", di.dli_fname);
	slash = strrchr(buf, '/');
	if (!slash)
		return "";
	snprintf(slash + 1, n - (size_t)(slash + 1 - buf), "xsk_ts.bpf.o");
	return access(buf, R_OK) ? "" : buf;
}

static int ts_available(void)
{
	return X.prog_open_file && X.prog_attach && X.prog_detach && X.prog_close && X.prog_bpf_obj &&
	       X.get_error && X.update_xskmap && X.find_map_fd && X.map_fd_by_id && X.map_update &&
	       X.map_lookup && X.query_id &&
	       X.prog_fd_by_id && X.obj_info;
}

/* The maps of a ringcap_xsk another process attached to ifindex into t (t->mapfd -1: none). */
static void attached_ts_maps(int ifindex, struct ts_prog *t)
{
	static const uint32_t modes[2] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE};
	t->mapfd = t->qfd = t->ifd = -1;
	for (int m = 0; m < 2 && t->mapfd < 0; m++) {
		struct bpf_prog_info info = {0};
		uint32_t id = 0, len = sizeof(info), ids[8] = {0};
		int fd;
		if (X.query_id(ifindex, (int)modes[m], &id) || !id)
			continue;
		fd = X.prog_fd_by_id(id);
		if (fd < 0)
			continue;
		info.nr_map_ids = 8;
		info.map_ids = (uint64_t)(uintptr_t)ids;
		if (!X.obj_info(fd, &info, &len) && !strcmp(info.name, TS_PROG_NAME)) {
			for (uint32_t i = 0; i < info.nr_map_ids && i < 8; i++) {
				struct bpf_map_info mi = {0};
				uint32_t mlen = sizeof(mi);
				int f = X.map_fd_by_id(ids[i]), *slot = NULL;
				if (f < 0)
					continue;
				if (!X.obj_info(f, &mi, &mlen)) {
					if (!strcmp(mi.name, "xsks_map"))
						slot = &t->mapfd;
					else if (!strcmp(mi.name, "rc_queues"))
						slot = &t->qfd;
					else if (!strcmp(mi.name, "rc_insns"))
						slot = &t->ifd;
				}
				if (slot && *slot < 0)
					*slot = f;
				else
					close(f);
			}
			if (t->mapfd < 0 || t->qfd < 0 || t->ifd < 0) {
				ts_fds_close(t); /* an older build's program: treated as foreign */
			} else {
				t->mode = (int)modes[m];
			}
		}
		close(fd);
	}
}

/* This process's program on ifindex, attached now if nobody has it; NULL with the error set. */
static struct ts_prog *ts_get(const char *dev, int ifindex, const int *modes, int nmodes,
			      const char *path, int *err)
{
	unsigned long long ns = netns_ino();
	struct ts_prog *t;

	pthread_mutex_lock(&ts_lock);
	for (t = ts_list; t; t = t->next) {
		if (t->ifindex == ifindex && t->ns == ns) {
			t->refs++;
			goto out;
		}
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		*err = -ENOMEM;
		goto out;
	}
	t->ns = ns;
	t->ifindex = ifindex;
	t->refs = 1;
	attached_ts_maps(ifindex, t);
	if (t->mapfd >= 0 && nmodes == 1 && t->mode != modes[0]) {
		lri_set_error("%s: another capture attached the timestamp program in %s mode: use that "
			      "mode (xdpMode, RINGCAP_XDP_MODE)",
			      dev, t->mode == XDP_FLAGS_DRV_MODE ? "native" : "generic");
		ts_fds_close(t);
		free(t);
		t = NULL;
		*err = -EBUSY;
		goto out;
	}
	for (int m = 0; t->mapfd < 0 && m < nmodes; m++) {
		void *prog = X.prog_open_file(path, "xdp", NULL);
		long e = prog ? X.get_error(prog) : -ENOENT;
		if (e) {
			lri_set_error("cannot load the XDP timestamp program %s (%s): rebuild it "
				      "(scripts/build.sh, needs clang and libbpf-dev), or set "
				      "RINGCAP_XDP_PROG=default for libxdp's program (no timestamps)",
				      path, strerror((int)-e));
			free(t);
			t = NULL;
			*err = -ENOEXEC;
			goto out;
		}
		e = X.prog_attach(prog, ifindex,
				  modes[m] == XDP_FLAGS_DRV_MODE ? LRI_XDP_MODE_NATIVE : LRI_XDP_MODE_SKB, 0);
		if (e) {
			X.prog_close(prog);
			if (m + 1 < nmodes)
				continue;
			*err = open_error((int)-e, dev, modes[m] == XDP_FLAGS_DRV_MODE ? "native" : "generic");
			free(t);
			t = NULL;
			goto out;
		}
		t->prog = prog;
		t->mode = modes[m];
		t->mapfd = X.find_map_fd(X.prog_bpf_obj(prog), "xsks_map");
		t->qfd = X.find_map_fd(X.prog_bpf_obj(prog), "rc_queues");
		t->ifd = X.find_map_fd(X.prog_bpf_obj(prog), "rc_insns");
		if (t->mapfd < 0 || t->qfd < 0 || t->ifd < 0) {
			lri_set_error("%s lacks xsks_map, rc_queues or rc_insns: not libring's XDP program "
				      "(rebuild it: scripts/build.sh)",
				      path);
			X.prog_detach(prog, ifindex, 0, 0);
			X.prog_close(prog);
			free(t);
			t = NULL;
			*err = -EINVAL;
			goto out;
		}
	}
	t->next = ts_list;
	ts_list = t;
out:
	pthread_mutex_unlock(&ts_lock);
	return t;
}

/* A socket is done with the program; the last of this process drops it, detaching it when `last`
 * (no other capture on the interface). */
static void ts_put(struct ts_prog *t, int last)
{
	pthread_mutex_lock(&ts_lock);
	if (--t->refs == 0) {
		for (struct ts_prog **pp = &ts_list; *pp; pp = &(*pp)->next) {
			if (*pp == t) {
				*pp = t->next;
				break;
			}
		}
		if (t->prog) {
			if (last)
				X.prog_detach(t->prog, t->ifindex,
					      t->mode == XDP_FLAGS_DRV_MODE ? LRI_XDP_MODE_NATIVE
									 : LRI_XDP_MODE_SKB,
					      0);
			X.prog_close(t->prog); /* closes the map's descriptor with the object */
		} else {
			ts_fds_close(t);
		}
		free(t);
	}
	pthread_mutex_unlock(&ts_lock);
}

/*
 * This socket's queue in the program's rc_queues: paused (the drop-all
 * program of a paused open: frames go to the stack, uncounted), or active
 * with the filter (libpcap's classic BPF, run by the program; a frame it
 * rejects goes to the stack, counted in `filtered`) and 1-in-N sampling
 * after it (in order, as the module). The instructions go in first, then
 * the queue's entry with their count; the counters start at 0.
 */
static int ts_configure(struct xdp_priv *p, const struct sock_fprog *prog)
{
	struct rc_queue c = {0};
	uint32_t q = p->queue;

	if (prog == &lri_drop_all) {
		c.state = RC_PAUSED;
	} else {
		c.state = RC_ACTIVE;
		c.sampling = p->sampling;
		/* one accepting return alone is "no filter" */
		if (prog && prog->len > 1) {
			if (prog->len > RC_MAX_INSNS) {
				lri_set_error("the filter compiles to %u BPF instructions; libring's XDP program "
					      "runs at most %u: simplify it, or use RINGCAP_BACKEND=packet",
					      prog->len, RC_MAX_INSNS);
				return -EINVAL;
			}
			for (uint32_t i = 0; i < prog->len; i++) {
				uint32_t key = q * RC_MAX_INSNS + i;
				struct rc_insn in = {prog->filter[i].code, prog->filter[i].jt,
						     prog->filter[i].jf, prog->filter[i].k};
				if (X.map_update(p->ts->ifd, &key, &in, 0)) {
					lri_set_error("the XDP program's filter map: %s", strerror(errno));
					return -errno;
				}
			}
			c.flen = prog->len;
		}
	}
	if (X.map_update(p->ts->qfd, &q, &c, 0)) {
		lri_set_error("the XDP program's queue map: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The queue back to "every frame" for the next socket bound to it. */
static void ts_reset(struct xdp_priv *p)
{
	struct rc_queue c = {0};
	X.map_update(p->ts->qfd, &p->queue, &c, 0);
}

/* Is dev the interface of this namespace's IPv4 default route? */
static int default_route_dev(const char *dev)
{
	char line[256], name[IF_NAMESIZE + 1];
	unsigned long dst, mask;
	int found = 0;
	FILE *f = fopen("/proc/net/route", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%16s %lx %*x %*x %*d %*d %*d %lx", name, &dst, &mask) == 3 && !dst &&
		    !mask && !strcmp(name, dev))
			found = 1;
	}
	fclose(f);
	return found;
}

static int xdp_open_once(struct lr_handle *h, const char *dev, int ifindex,
			 const struct lr_opts *o, const struct sock_fprog *prog);

/* Open; a queue still bound by a socket just closed is tried again for up to a second. */
static int xdp_open(struct lr_handle *h, const char *dev, int ifindex, const struct lr_opts *o,
		    const struct sock_fprog *prog)
{
	int err;
	for (int i = 0;; i++) {
		err = xdp_open_once(h, dev, ifindex, o, prog);
		if (err != -EAGAIN)
			return err;
		if (i == 100)
			return -EBUSY; /* the error says which queue */
		usleep(10000);
	}
}

static int xdp_open_once(struct lr_handle *h, const char *dev, int ifindex,
			 const struct lr_opts *o, const struct sock_fprog *prog)
{
	struct lri_xsk_umem_config ucfg = {0};
	struct lri_xsk_socket_config scfg = {0};
	struct xdp_options xo = {0};
	struct xdp_priv *p;
	const char *env = getenv("RINGCAP_XDP_MODE"), *qenv, *path;
	char pbuf[4096];
	int modes[2] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE}, nmodes = 2, err = 0;
	uint64_t frames;
	unsigned nq, queue = 0;
	socklen_t len;
	uint32_t *fq;

	(void)ifindex;
	/* the frames an AF_XDP socket receives never reach the stack: on the
	 * default route's interface that cuts the machine off */
	if (default_route_dev(dev) && !getenv("RINGCAP_XDP_ALLOW_DEFAULT_ROUTE")) {
		lri_set_error("%s carries the default route and the xdp backend takes the frames it "
			      "captures away from the stack: capture on a dedicated interface, or set "
			      "RINGCAP_XDP_ALLOW_DEFAULT_ROUTE=1",
			      dev);
		return -EOPNOTSUPP;
	}
	if (load_libxdp() < 0) {
		lri_set_error("%s", X.why);
		return -EPROTONOSUPPORT;
	}
	if ((o->xdp & 0xff) == LR_XDP_NATIVE) {
		nmodes = 1;
	} else if ((o->xdp & 0xff) == LR_XDP_GENERIC) {
		modes[0] = XDP_FLAGS_SKB_MODE;
		nmodes = 1;
	} else if (env && *env) {
		if (!strcmp(env, "native")) {
			nmodes = 1;
		} else if (!strcmp(env, "generic")) {
			modes[0] = XDP_FLAGS_SKB_MODE;
			nmodes = 1;
		} else {
			lri_set_error("RINGCAP_XDP_MODE=%s: use native or generic (or unset it)", env);
			return -EINVAL;
		}
	}
	nq = rx_queues(dev);
	qenv = getenv("RINGCAP_XDP_QUEUE");
	if (!(o->xdp >> 8) && qenv && *qenv) {
		char *end;
		unsigned long q = strtoul(qenv, &end, 10);
		if (*end || q > 65535) {
			lri_set_error("RINGCAP_XDP_QUEUE=%s: give a queue number", qenv);
			return -EINVAL;
		}
		queue = (unsigned)q;
		if (queue >= nq) {
			lri_set_error("queue %u is out of range: %s has %u receive queue%s (0..%u)", queue,
				      dev, nq, nq == 1 ? "" : "s", nq - 1);
			return -EINVAL;
		}
	} else if (o->xdp >> 8) {
		queue = (o->xdp >> 8) - 1;
		if (queue >= nq) {
			lri_set_error("queue %u is out of range: %s has %u receive queue%s (0..%u)", queue,
				      dev, nq, nq == 1 ? "" : "s", nq - 1);
			return -EINVAL;
		}
	} else if (nq > 1) {
		lri_set_error("%s has %u receive queues and an AF_XDP socket sees only the queue it is "
			      "bound to (the others' frames go to the stack unseen): pick one with "
			      "--queue Q (xdpQueue), set one queue (ethtool -L %s combined 1), or use "
			      "RINGCAP_BACKEND=packet",
			      dev, nq, dev);
		return -EOPNOTSUPP;
	}
	frames = o->ring_bytes / XDP_CHUNK;
	if (frames < 64) {
		lri_set_error("the xdp backend needs at least 64 chunks of %u bytes (--ring-mb >= 0.25)",
			      XDP_CHUNK);
		return -EINVAL;
	}
	while (frames & (frames - 1))
		frames &= frames - 1; /* ring sizes are powers of two */
	err = check_privileges(frames * XDP_CHUNK);
	if (err)
		return err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->promisc_fd = -1;
	h->priv = p;
	h->ifindex = ifindex;
	p->lock_fd = lock_open(ifindex);
	if (p->lock_fd >= 0) {
		if (!flock(p->lock_fd, LOCK_EX | LOCK_NB))
			detach_xsk_prog(ifindex); /* nobody else captures here: stale */
		flock(p->lock_fd, LOCK_SH);
	}
	p->area_len = frames * XDP_CHUNK;
	p->area = mmap(NULL, p->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->area == MAP_FAILED) {
		p->area = NULL;
		lri_set_error("cannot allocate a %zu-byte UMEM: use a smaller --ring-mb", p->area_len);
		err = -ENOMEM;
		goto fail;
	}
	ucfg.fill_size = (uint32_t)frames;
	ucfg.comp_size = 64;
	ucfg.frame_size = XDP_CHUNK;
	ucfg.frame_headroom = 0;
	err = X.umem_create(&p->umem, p->area, p->area_len, &p->fill, &p->comp, &ucfg);
	if (err) {
		p->umem = NULL;
		err = open_error(-err, dev, "any");
		goto fail;
	}
	/* every chunk goes to the kernel now; the reader returns them as it reads */
	fq = p->fill.ring;
	for (uint64_t i = 0; i < frames; i++)
		((uint64_t *)(void *)fq)[i] = i * XDP_CHUNK;
	__atomic_store_n(p->fill.producer, (uint32_t)frames, __ATOMIC_RELEASE);

	if (!getenv("LIBXDP_BPFFS_AUTOMOUNT"))
		setenv("LIBXDP_BPFFS_AUTOMOUNT", "1", 0); /* these machines have no bpffs mounted */
	scfg.rx_size = (uint32_t)frames;
	scfg.tx_size = 0;
	path = ts_available() ? ts_path(pbuf, sizeof(pbuf)) : "";
	p->queue = queue;
	p->sampling = o->sampling;
	if (!*path && ((prog && prog != &lri_drop_all && prog->len > 1) || o->sampling > 1)) {
		lri_set_error("the xdp backend filters and samples in libring's XDP program, which is not "
			      "%s: build it (scripts/build.sh, needs clang and libbpf-dev), or use "
			      "RINGCAP_BACKEND=packet",
			      getenv("RINGCAP_XDP_PROG") ? "used (RINGCAP_XDP_PROG=default)" : "built");
		err = -EOPNOTSUPP;
		goto fail;
	}
	if (*path && queue >= RC_MAX_QUEUES) {
		lri_set_error("queue %u: libring's XDP program serves queues 0..%u (RINGCAP_XDP_PROG=default "
			      "for libxdp's, without timestamps, filter or sampling)",
			      queue, RC_MAX_QUEUES - 1);
		err = -EINVAL;
		goto fail;
	}
	if (*path) {
		/* our program: per-packet timestamps in the metadata */
		p->ts = ts_get(dev, ifindex, modes, nmodes, path, &err);
		if (!p->ts)
			goto fail;
		scfg.libxdp_flags = LRI_XSK_INHIBIT_PROG_LOAD;
		scfg.xdp_flags = (uint32_t)p->ts->mode;
		err = X.socket_create(&p->xsk, dev, queue, p->umem, &p->rx, NULL, &scfg);
		if (err == -EBUSY) {
			/* the queue is still bound: a socket closed just before is released
			 * by the kernel a little later (xdp_open tries again) */
			p->xsk = NULL;
			lri_set_error("queue %u of %s is in use by another AF_XDP socket", queue, dev);
			err = -EAGAIN;
			goto fail;
		}
		if (err) {
			p->xsk = NULL;
			err = open_error(-err, dev, p->ts->mode == XDP_FLAGS_DRV_MODE ? "native" : "generic");
			goto fail;
		}
		/* the queue's filter and sampling first, then the socket into the map */
		err = ts_configure(p, prog);
		if (err)
			goto fail;
		err = X.update_xskmap(p->xsk, p->ts->mapfd);
		if (err) {
			lri_set_error("the XDP timestamp program's xsks_map: %s", strerror(-err));
			goto fail;
		}
		h->layout[LRK_xdp_mode] = p->ts->mode == XDP_FLAGS_DRV_MODE ? 2 : 1;
	}
	for (int m = 0; !p->ts && m < nmodes; m++) {
		scfg.xdp_flags = (uint32_t)modes[m];
		scfg.bind_flags = 0; /* the kernel picks zero-copy where the driver has it */
		err = X.socket_create(&p->xsk, dev, queue, p->umem, &p->rx, NULL, &scfg);
		if (!err) {
			h->layout[LRK_xdp_mode] = modes[m] == XDP_FLAGS_DRV_MODE ? 2 : 1;
			break;
		}
		p->xsk = NULL;
		if (m + 1 == nmodes) {
			err = open_error(-err, dev, modes[m] == XDP_FLAGS_DRV_MODE ? "native" : "generic");
			goto fail;
		}
	}
	h->fd = X.socket_fd(p->xsk);
	len = sizeof(p->off);
	if (getsockopt(h->fd, SOL_XDP, XDP_MMAP_OFFSETS, &p->off, &len)) {
		err = -errno;
		lri_set_error("XDP_MMAP_OFFSETS: %s", strerror(errno));
		goto fail;
	}
	len = sizeof(xo);
	if (!getsockopt(h->fd, SOL_XDP, XDP_OPTIONS, &xo, &len))
		h->layout[LRK_xdp_zerocopy] = !!(xo.flags & XDP_OPTIONS_ZEROCOPY);

	if (!(o->flags & LR_F_NO_PROMISC)) {
		struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};
		/* protocol 0: this socket receives nothing; its membership holds
		 * promiscuous mode until close, as on the other backends */
		p->promisc_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (p->promisc_fd < 0 ||
		    setsockopt(p->promisc_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
			err = -errno;
			lri_set_error("promiscuous mode: %s", strerror(errno));
			goto fail;
		}
	}

	h->map = p->area;
	h->map_len = p->area_len;
	h->layout[LRK_kind] = LR_KIND_XDP;
	h->layout[LRK_base] = (uint64_t)(uintptr_t)p->area;
	h->layout[LRK_size] = p->area_len;
	h->layout[LRK_ifindex] = (uint64_t)ifindex;
	h->layout[LRK_snaplen] = o->snaplen;
	h->layout[LRK_xdp_chunk] = XDP_CHUNK;
	h->layout[LRK_xdp_chunks] = frames;
	h->layout[LRK_xdp_queue] = queue;
	h->layout[LRK_xdp_queues] = nq;
	h->layout[LRK_xdp_rx_map] = ring_map(&p->rx, p->off.rx.desc);
	h->layout[LRK_xdp_rx_map_size] = p->off.rx.desc + frames * sizeof(struct xdp_desc);
	h->layout[LRK_xdp_rx_prod_off] = p->off.rx.producer;
	h->layout[LRK_xdp_rx_cons_off] = p->off.rx.consumer;
	h->layout[LRK_xdp_rx_desc_off] = p->off.rx.desc;
	h->layout[LRK_xdp_desc_size] = sizeof(struct xdp_desc);
	h->layout[LRK_xdp_desc_addr_off] = offsetof(struct xdp_desc, addr);
	h->layout[LRK_xdp_desc_len_off] = offsetof(struct xdp_desc, len);
	h->layout[LRK_xdp_fill_map] = ring_map(&p->fill, p->off.fr.desc);
	h->layout[LRK_xdp_fill_map_size] = p->off.fr.desc + frames * sizeof(uint64_t);
	h->layout[LRK_xdp_fill_prod_off] = p->off.fr.producer;
	h->layout[LRK_xdp_fill_cons_off] = p->off.fr.consumer;
	h->layout[LRK_xdp_fill_desc_off] = p->off.fr.desc;
	h->layout[LRK_xdp_ring_entries] = frames;
	if (p->ts) {
		/* the clocks now: the reader turns each frame's CLOCK_MONOTONIC stamp
		 * into real time with this one offset (taken once, at open) */
		struct timespec mono, real;
		uint64_t m;
		clock_gettime(CLOCK_MONOTONIC, &mono);
		clock_gettime(CLOCK_REALTIME, &real);
		m = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
		h->layout[LRK_xdp_ts] = 1;
		h->layout[LRK_xdp_t0_hi] = m >> 32;
		h->layout[LRK_xdp_t0_lo] = m & 0xffffffffu;
		h->layout[LRK_xdp_t0_sec] = (uint64_t)real.tv_sec;
		h->layout[LRK_xdp_t0_nsec] = (uint64_t)real.tv_nsec;
	}
	p->last_prod = 0;
	return 0;
fail:
	xdp_close(h);
	return err;
}

static int xdp_ready(struct lr_handle *h, uint32_t cursor)
{
	struct xdp_priv *p = h->priv;
	return __atomic_load_n(p->rx.producer, __ATOMIC_ACQUIRE) != cursor;
}

static int xdp_stats(struct lr_handle *h)
{
	struct xdp_priv *p = h->priv;
	struct xdp_statistics st = {0};
	socklen_t len = sizeof(st);
	uint32_t prod = __atomic_load_n(p->rx.producer, __ATOMIC_ACQUIRE);

	h->totals[0] += (uint32_t)(prod - p->last_prod);
	p->last_prod = prod;
	if (getsockopt(h->fd, SOL_XDP, XDP_STATISTICS, &st, &len))
		return -errno;
	h->totals[1] = st.rx_dropped + st.rx_ring_full;
	if (p->ts) {
		struct rc_queue c = {0};
		if (!X.map_lookup(p->ts->qfd, &p->queue, &c))
			h->totals[2] = c.filtered; /* left to the stack by the filter or the sampler */
	}
	h->totals[3] = h->totals[0] + h->totals[1];
	return 0;
}

/* poll() on an AF_XDP socket does not report a vanished interface: look. */
static int xdp_check(struct lr_handle *h)
{
	char name[IF_NAMESIZE];
	unsigned flags;
	struct ifreq ifr = {0};
	int fd;

	if (!if_indextoname((unsigned)h->ifindex, name)) {
		lri_set_error("the interface (index %d) was removed", h->ifindex);
		return -ENODEV;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	flags = ioctl(fd, SIOCGIFFLAGS, &ifr) ? IFF_UP : (unsigned)ifr.ifr_flags;
	close(fd);
	if (!(flags & IFF_UP)) {
		lri_set_error("the interface %s went down", name);
		return -ENETDOWN;
	}
	return 0;
}

/* The end of a paused open: the queue's filter and sampling go in (libring's program); else nothing
 * to do (libxdp's program cannot pause: frames were captured from the open). */
static int xdp_start(struct lr_handle *h, const struct sock_fprog *prog)
{
	struct xdp_priv *p = h->priv;
	return p && p->ts ? ts_configure(p, prog) : 0;
}

const struct lr_backend_ops lri_xdp_ops = {
	.name = "xdp",
	.open = xdp_open,
	.ready = xdp_ready,
	.stats = xdp_stats,
	.start = xdp_start,
	.fanout = NULL,
	.close = xdp_close,
	.check = xdp_check,
};
