/*
 * ringcap_test.c — guest-side tests of the ringcap kernel module (PF_RING
 * sockets), built on the host, run inside the VM by test/vm/guest.sh.
 *
 *   ringcap_test TEST [TX_IF RX_IF]
 *
 * TX_IF/RX_IF (default rc0/rc1) are the two ends of a veth pair that
 * guest.sh creates fresh for each test; frames are written with AF_PACKET on
 * TX_IF and captured with PF_RING on RX_IF. Exit 0 pass, 1 fail, 77 skip;
 * the last line of output says why.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../kernel/include/uapi/ringcap.h"

#ifndef SO_ATTACH_FILTER
#define SO_ATTACH_FILTER 26
#endif

static int pf_ring = PF_RING_DEFAULT;
static const char *tx_if = "rc0", *rx_if = "rc1";

#define FAIL(...) do { printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); return 1; } while (0)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)
#define OK(...) do { printf("ok: "); printf(__VA_ARGS__); printf("\n"); return 0; } while (0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- capture side ---------------------------------------------------- */

struct cap {
	int fd;
	uint8_t *map;
	size_t len;
	struct ringcap_hdr *hdr;
	struct ringcap_ctl *ctl;
	uint32_t r;   /* slot index of the next packet */
	uint32_t seq; /* packets given back (ctl->consumed) */
};

static int rc_socket(void)
{
	int fd = socket(pf_ring, SOCK_RAW, htons(ETH_P_ALL));
	uint32_t v = RINGCAP_ABI_VERSION;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_RINGCAP, RINGCAP_OPT_VERSION, &v, sizeof(v)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int set32(int fd, int opt, uint32_t v)
{
	return setsockopt(fd, SOL_RINGCAP, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int set64(int fd, int opt, uint64_t v)
{
	return setsockopt(fd, SOL_RINGCAP, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int rc_bind(int fd, const char *ifname)
{
	struct sockaddr_ringcap sa = { .sr_family = pf_ring };

	snprintf(sa.sr_ifname, sizeof(sa.sr_ifname), "%s", ifname);
	return bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
}

static int rc_map(struct cap *c)
{
	uint64_t len = 0;
	socklen_t sl = sizeof(len);

	if (getsockopt(c->fd, SOL_RINGCAP, RINGCAP_OPT_MMAP_BYTES, &len, &sl) < 0)
		return -errno;
	c->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->map == MAP_FAILED)
		return -errno;
	c->len = len;
	c->hdr = (struct ringcap_hdr *)c->map;
	c->ctl = (struct ringcap_ctl *)(c->map + c->hdr->page_size);
	c->r = 0;
	c->seq = 0;
	return 0;
}

/* socket + options + bind + mmap; opts are (opt, value) pairs ending with 0. */
static int cap_open(struct cap *c, const char *ifname, uint64_t ring_bytes, uint32_t snaplen, ...)
{
	va_list ap;
	int err, opt;

	memset(c, 0, sizeof(*c));
	c->fd = rc_socket();
	if (c->fd < 0)
		return c->fd;
	if (ring_bytes && (err = set64(c->fd, RINGCAP_OPT_RING_BYTES, ring_bytes)))
		goto fail;
	if (snaplen && (err = set32(c->fd, RINGCAP_OPT_SNAPLEN, snaplen)))
		goto fail;
	va_start(ap, snaplen);
	while ((opt = va_arg(ap, int)) != 0) {
		uint32_t v = va_arg(ap, uint32_t);
		if ((err = set32(c->fd, opt, v))) {
			va_end(ap);
			goto fail;
		}
	}
	va_end(ap);
	if ((err = rc_bind(c->fd, ifname)))
		goto fail;
	if ((err = rc_map(c)))
		goto fail;
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return err;
}

static void cap_close(struct cap *c)
{
	if (c->map && c->map != MAP_FAILED)
		munmap(c->map, c->len);
	if (c->fd >= 0)
		close(c->fd);
	c->map = NULL;
	c->fd = -1;
}

static struct ringcap_slot *cap_slot(struct cap *c, uint32_t i)
{
	return (struct ringcap_slot *)(c->map + c->hdr->slots_offset + (size_t)i * c->hdr->slot_size);
}

/* The next published slot (ABI 2: the kernel's produced count is ahead of
 * ours), or NULL. */
static struct ringcap_slot *cap_peek(struct cap *c)
{
	return __atomic_load_n(&c->hdr->produced, __ATOMIC_ACQUIRE) != c->seq ? cap_slot(c, c->r) : NULL;
}

/* Give one slot back (this reader does it slot by slot; libring's TS reader
 * and scripts/bench/src/cdrain.c do it per batch). */
static void cap_release(struct cap *c, struct ringcap_slot *s)
{
	(void)s;
	c->r = c->r + 1 == c->hdr->slot_count ? 0 : c->r + 1;
	c->seq++;
	__atomic_store_n(&c->ctl->consumed, c->seq, __ATOMIC_RELEASE);
}

static const uint8_t *slot_data(struct cap *c, struct ringcap_slot *s)
{
	return (const uint8_t *)s + c->hdr->data_offset;
}

static struct ringcap_stats cap_stats(struct cap *c)
{
	struct ringcap_stats st;
	socklen_t sl = sizeof(st);

	memset(&st, 0, sizeof(st));
	getsockopt(c->fd, SOL_RINGCAP, RINGCAP_OPT_STATS, &st, &sl);
	return st;
}

/* Wait until the socket has been offered `n` packets (seen), up to 30 s (TCG under load). */
static int cap_wait_seen(struct cap *c, uint64_t n)
{
	double end = now_s() + 30;

	while (now_s() < end) {
		if (__atomic_load_n(&c->hdr->stats.seen, __ATOMIC_ACQUIRE) >= n)
			return 0;
		usleep(1000);
	}
	return -1;
}

/* ---- traffic side ---------------------------------------------------- */

static int tx_fd = -1;

static int tx_open(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };

	tx_fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (tx_fd < 0)
		return -errno;
	sll.sll_ifindex = if_nametoindex(ifname);
	sll.sll_protocol = 0;
	if (!sll.sll_ifindex || bind(tx_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

static uint32_t frame_len(uint32_t i)
{
	return 60 + (i * 37u) % 1455u; /* 60..1514 */
}

/* Frame i: foreign destination MAC, local-experimental ethertype, payload
 * starting with the big-endian sequence number, then a pattern. */
static uint32_t make_frame(uint8_t *f, uint32_t i, uint16_t type)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 0x99 };
	static const uint8_t src[6] = { 2, 0, 0, 0, 0, 0x01 };
	uint32_t len = frame_len(i), j, be = htonl(i);

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = type >> 8;
	f[13] = type & 0xff;
	memcpy(f + 14, &be, 4);
	for (j = 18; j < len; j++)
		f[j] = (uint8_t)(i * 7 + j);
	return len;
}

static int send_frames(uint32_t first, uint32_t n, uint16_t type)
{
	uint8_t f[1600];
	uint32_t i, len;

	for (i = first; i < first + n; i++) {
		len = make_frame(f, i, type);
		if (send(tx_fd, f, len, 0) != (ssize_t)len)
			return -errno;
	}
	return 0;
}

/* Is the captured frame exactly frame i (full length)? */
static int frame_ok(const uint8_t *data, uint32_t caplen, uint32_t i, uint16_t type)
{
	uint8_t f[1600];
	uint32_t len = make_frame(f, i, type);

	return caplen == len && memcmp(f, data, len) == 0;
}

static uint32_t frame_seq(const uint8_t *data)
{
	uint32_t be;

	memcpy(&be, data + 14, 4);
	return ntohl(be);
}

/* ---- tests ----------------------------------------------------------- */

static int t_exact(void)
{
	struct cap c;
	struct ringcap_slot *s;
	uint32_t n = 1000, i;
	int err;

	CHECK((err = cap_open(&c, rx_if, 8 << 20, 2048, 0)) == 0, "open: %s", strerror(-err));
	CHECK(c.hdr->magic == RINGCAP_MAGIC && c.hdr->abi_version == RINGCAP_ABI_VERSION, "bad header");
	CHECK(c.hdr->slot_count >= n, "ring too small: %u", c.hdr->slot_count);
	CHECK(send_frames(0, n, 0x88b5) == 0, "send: %s", strerror(errno));
	CHECK(cap_wait_seen(&c, n) == 0, "only %llu of %u seen", (unsigned long long)c.hdr->stats.seen, n);
	for (i = 0; i < n; i++) {
		s = cap_peek(&c);
		CHECK(s, "slot %u not ready", i);
		CHECK(s->seq == i, "slot %u seq %llu", i, (unsigned long long)s->seq);
		CHECK(frame_ok(slot_data(&c, s), s->caplen, i, 0x88b5), "frame %u differs (caplen %u)", i, s->caplen);
		CHECK(s->wirelen == frame_len(i), "frame %u wirelen %u", i, s->wirelen);
		CHECK(s->ifindex == if_nametoindex(rx_if), "ifindex %u", s->ifindex);
		CHECK(s->direction == RINGCAP_DIR_RX, "direction %u", s->direction);
		CHECK(!(s->flags & RINGCAP_SF_VLAN_VALID), "unexpected vlan flag");
		CHECK(s->ts_sec > 1000000000ull && s->ts_nsec < 1000000000u, "bad timestamp");
		cap_release(&c, s);
	}
	CHECK(cap_peek(&c) == NULL, "extra packet after %u", n);
	struct ringcap_stats st = cap_stats(&c);
	CHECK(st.packets == n && st.dropped == 0 && st.filtered == 0 && st.seen == n,
	      "stats packets=%llu dropped=%llu", (unsigned long long)st.packets, (unsigned long long)st.dropped);
	CHECK(c.hdr->stats.packets == n, "mapped header packets %llu", (unsigned long long)c.hdr->stats.packets);
	cap_close(&c);
	OK("%u distinct frames captured byte-identical", n);
}

static int t_ring_full(void)
{
	struct cap c;
	uint32_t n = 1000, slots;
	int err;

	/* 16 slots of 1600+64 rounded to 64 = 1664 bytes */
	CHECK((err = cap_open(&c, rx_if, 16 * 1664, 1600, 0)) == 0, "open: %s", strerror(-err));
	slots = c.hdr->slot_count;
	CHECK(slots == 16, "slot_count %u", slots);
	CHECK(send_frames(0, n, 0x88b5) == 0, "send");
	CHECK(cap_wait_seen(&c, n) == 0, "seen %llu", (unsigned long long)c.hdr->stats.seen);
	struct ringcap_stats st = cap_stats(&c);
	CHECK(st.packets + st.dropped == n, "packets %llu + dropped %llu != %u",
	      (unsigned long long)st.packets, (unsigned long long)st.dropped, n);
	CHECK(st.packets == slots, "packets %llu != slots %u", (unsigned long long)st.packets, slots);
	/* The ring holds the first `slots` frames, untouched by later ones. */
	for (uint32_t i = 0; i < slots; i++) {
		struct ringcap_slot *s = cap_peek(&c);
		CHECK(s && frame_ok(slot_data(&c, s), s->caplen, i, 0x88b5), "slot %u overwritten", i);
		cap_release(&c, s);
	}
	/* Freed slots are reused. */
	CHECK(send_frames(n, 5, 0x88b5) == 0, "send");
	CHECK(cap_wait_seen(&c, n + 5) == 0, "seen");
	for (uint32_t i = 0; i < 5; i++) {
		struct ringcap_slot *s = cap_peek(&c);
		CHECK(s && frame_ok(slot_data(&c, s), s->caplen, n + i, 0x88b5), "reuse: slot %u", i);
		cap_release(&c, s);
	}
	cap_close(&c);
	OK("packets %llu + dropped %llu == %u sent", (unsigned long long)st.packets,
	   (unsigned long long)st.dropped, n);
}

static int t_sampling(void)
{
	struct cap c;
	uint32_t n = 1000, rate = 10;
	int err;

	CHECK((err = cap_open(&c, rx_if, 8 << 20, 0, RINGCAP_OPT_SAMPLING, rate, 0)) == 0, "open: %s", strerror(-err));
	CHECK(send_frames(0, n, 0x88b5) == 0, "send");
	CHECK(cap_wait_seen(&c, n) == 0, "seen");
	struct ringcap_stats st = cap_stats(&c);
	CHECK(st.packets >= n / rate - 1 && st.packets <= n / rate + 1, "packets %llu, want %u",
	      (unsigned long long)st.packets, n / rate);
	CHECK(st.packets + st.filtered == n && st.dropped == 0, "filtered %llu", (unsigned long long)st.filtered);
	cap_close(&c);
	OK("1 in %u: packets %llu filtered %llu of %u", rate, (unsigned long long)st.packets,
	   (unsigned long long)st.filtered, n);
}

static int t_independent(void)
{
	struct cap big, small;
	uint32_t n = 1000, i;
	int err;

	CHECK((err = cap_open(&small, rx_if, 8 * 1664, 1600, 0)) == 0, "open small: %s", strerror(-err));
	CHECK((err = cap_open(&big, rx_if, 8 << 20, 2048, 0)) == 0, "open big: %s", strerror(-err));
	CHECK(send_frames(0, n, 0x88b5) == 0, "send");
	CHECK(cap_wait_seen(&big, n) == 0 && cap_wait_seen(&small, n) == 0, "seen");
	for (i = 0; i < n; i++) {
		struct ringcap_slot *s = cap_peek(&big);
		CHECK(s && frame_ok(slot_data(&big, s), s->caplen, i, 0x88b5), "big ring frame %u", i);
		cap_release(&big, s);
	}
	struct ringcap_stats sb = cap_stats(&big), ss = cap_stats(&small);
	CHECK(sb.packets == n && sb.dropped == 0, "big: packets %llu dropped %llu",
	      (unsigned long long)sb.packets, (unsigned long long)sb.dropped);
	CHECK(ss.packets == 8 && ss.dropped == n - 8, "small: packets %llu dropped %llu",
	      (unsigned long long)ss.packets, (unsigned long long)ss.dropped);
	cap_close(&small);
	cap_close(&big);
	OK("stalled ring dropped %llu, other captured all %u exactly", (unsigned long long)ss.dropped, n);
}

static int t_vlan(const char *vlan_if)
{
	struct cap c;
	uint32_t n = 50, i;
	int err;

	close(tx_fd);
	CHECK(tx_open(vlan_if) == 0, "tx on %s: %s", vlan_if, strerror(errno));
	CHECK((err = cap_open(&c, rx_if, 1 << 20, 0, 0)) == 0, "open: %s", strerror(-err));
	CHECK(send_frames(0, n, 0x88b5) == 0, "send");
	CHECK(cap_wait_seen(&c, n) == 0, "seen %llu", (unsigned long long)c.hdr->stats.seen);
	for (i = 0; i < n; i++) {
		struct ringcap_slot *s = cap_peek(&c);
		CHECK(s, "slot %u", i);
		CHECK(s->flags & RINGCAP_SF_VLAN_VALID, "frame %u: no VLAN flag", i);
		CHECK((s->vlan_tci & 0xfff) == 100, "frame %u: tci %#x", i, s->vlan_tci);
		CHECK(s->vlan_tpid == 0x8100, "frame %u: tpid %#x", i, s->vlan_tpid);
		/* The tag is stripped from the bytes; the rest is the frame. */
		CHECK(frame_ok(slot_data(&c, s), s->caplen, i, 0x88b5), "frame %u bytes", i);
		cap_release(&c, s);
	}
	cap_close(&c);
	OK("%u frames with VLAN 100 reported (tci, tpid 0x8100, valid flag)", n);
}

static int t_bpf(void)
{
	/* ldh [12]; jeq #0x88b5, accept, reject */
	struct sock_filter code[] = {
		{ 0x28, 0, 0, 12 },
		{ 0x15, 0, 1, 0x88b5 },
		{ 0x06, 0, 0, 0x40000 },
		{ 0x06, 0, 0, 0 },
	};
	struct sock_fprog prog = { .len = 4, .filter = code };
	struct cap c;
	uint32_t n = 500, i, got = 0;
	int err;

	CHECK((err = cap_open(&c, rx_if, 8 << 20, 2048, 0)) == 0, "open: %s", strerror(-err));
	CHECK(setsockopt(c.fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0,
	      "SO_ATTACH_FILTER: %s", strerror(errno));
	for (i = 0; i < n; i++)
		CHECK(send_frames(i, 1, (i & 1) ? 0x88b6 : 0x88b5) == 0, "send");
	CHECK(cap_wait_seen(&c, n) == 0, "seen");
	struct ringcap_slot *s;
	while ((s = cap_peek(&c))) {
		uint32_t seq = frame_seq(slot_data(&c, s));
		CHECK((seq & 1) == 0 && frame_ok(slot_data(&c, s), s->caplen, seq, 0x88b5), "frame %u should not pass", seq);
		got++;
		cap_release(&c, s);
	}
	struct ringcap_stats st = cap_stats(&c);
	CHECK(got == n / 2 && st.packets == n / 2 && st.filtered == n / 2,
	      "got %u packets %llu filtered %llu", got, (unsigned long long)st.packets, (unsigned long long)st.filtered);
	cap_close(&c);
	OK("filter passed %u, filtered %llu", got, (unsigned long long)st.filtered);
}

static int t_snaplen(void)
{
	struct cap c;
	uint32_t n = 100, i;
	int err;

	CHECK((err = cap_open(&c, rx_if, 1 << 20, 64, 0)) == 0, "open: %s", strerror(-err));
	CHECK(c.hdr->snaplen == 64 && c.hdr->slot_size == 128, "geometry snaplen %u slot %u", c.hdr->snaplen, c.hdr->slot_size);
	CHECK(send_frames(0, n, 0x88b5) == 0, "send");
	CHECK(cap_wait_seen(&c, n) == 0, "seen");
	for (i = 0; i < n; i++) {
		uint8_t f[1600];
		struct ringcap_slot *s = cap_peek(&c);
		uint32_t len = make_frame(f, i, 0x88b5);
		CHECK(s && s->caplen == (len < 64 ? len : 64) && s->wirelen == len, "frame %u caplen %u wirelen %u",
		      i, s ? s->caplen : 0, s ? s->wirelen : 0);
		CHECK(memcmp(slot_data(&c, s), f, s->caplen) == 0, "frame %u bytes", i);
		cap_release(&c, s);
	}
	struct ringcap_stats st = cap_stats(&c);
	uint64_t bytes = 0;
	for (i = 0; i < n; i++)
		bytes += frame_len(i);
	CHECK(st.bytes == bytes, "bytes %llu want %llu", (unsigned long long)st.bytes, (unsigned long long)bytes);
	cap_close(&c);
	OK("caplen = min(wirelen, 64), bytes counts wire lengths");
}

static int t_direction(void)
{
	struct cap tx, rx, both;
	uint32_t n = 20;
	int err;

	CHECK((err = cap_open(&tx, tx_if, 1 << 20, 0, RINGCAP_OPT_DIRECTION, RINGCAP_DIR_TX, 0)) == 0, "open: %s", strerror(-err));
	CHECK((err = cap_open(&rx, tx_if, 1 << 20, 0, RINGCAP_OPT_DIRECTION, RINGCAP_DIR_RX, 0)) == 0, "open: %s", strerror(-err));
	CHECK((err = cap_open(&both, tx_if, 1 << 20, 0, 0)) == 0, "open: %s", strerror(-err));
	CHECK(send_frames(0, n, 0x88b5) == 0, "send");
	CHECK(cap_wait_seen(&tx, n) == 0, "tx socket saw %llu", (unsigned long long)tx.hdr->stats.seen);
	CHECK(cap_wait_seen(&both, n) == 0, "both");
	usleep(100000);
	struct ringcap_slot *s = cap_peek(&tx);
	CHECK(s && s->direction == RINGCAP_DIR_TX && s->pkt_type == PACKET_OUTGOING, "tx slot direction");
	CHECK(frame_ok(slot_data(&tx, s), s->caplen, 0, 0x88b5), "tx frame bytes");
	CHECK(rx.hdr->stats.seen == 0, "rx-only socket saw %llu sent frames", (unsigned long long)rx.hdr->stats.seen);
	cap_close(&tx);
	cap_close(&rx);
	cap_close(&both);
	OK("tx-only sees %u sent frames, rx-only none", n);
}

struct reader_arg {
	struct cap *c;
	uint32_t n;
	uint32_t got;
	uint32_t last;
	int bad;
	char why[128];
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	struct cap *c = a->c;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	double end = now_s() + 60;
	int64_t prev = -1;

	while (now_s() < end) {
		struct ringcap_slot *s = cap_peek(c);
		if (!s) {
			if (__atomic_load_n(&c->hdr->stats.seen, __ATOMIC_ACQUIRE) >= a->n && !cap_peek(c))
				break;
			poll(&pfd, 1, 50);
			continue;
		}
		uint32_t seq = frame_seq(slot_data(c, s));
		if ((int64_t)seq <= prev || !frame_ok(slot_data(c, s), s->caplen, seq, 0x88b5)) {
			snprintf(a->why, sizeof(a->why), "bad frame seq %u after %lld", seq, (long long)prev);
			a->bad = 1;
			break;
		}
		prev = seq;
		a->got++;
		cap_release(c, s);
	}
	return NULL;
}

static int t_reader(void)
{
	struct cap c;
	struct reader_arg a = { .n = 20000 };
	pthread_t th;
	int err;

	CHECK((err = cap_open(&c, rx_if, 32 * 1664, 1600, 0)) == 0, "open: %s", strerror(-err));
	a.c = &c;
	pthread_create(&th, NULL, reader, &a);
	CHECK(send_frames(0, a.n, 0x88b5) == 0, "send");
	pthread_join(th, NULL);
	CHECK(!a.bad, "%s", a.why);
	struct ringcap_stats st = cap_stats(&c);
	CHECK(st.packets == a.got && st.packets + st.dropped == a.n, "got %u packets %llu dropped %llu of %u",
	      a.got, (unsigned long long)st.packets, (unsigned long long)st.dropped, a.n);
	CHECK(a.got > c.hdr->slot_count, "reader never wrapped (%u)", a.got);
	cap_close(&c);
	OK("concurrent reader on 32 slots: %u read in order, %llu dropped, sum == %u", a.got,
	   (unsigned long long)st.dropped, a.n);
}

static int t_watermark(void)
{
	struct cap c;
	struct pollfd pfd;
	int err, rc;
	double t0;

	CHECK((err = cap_open(&c, rx_if, 1 << 20, 0, RINGCAP_OPT_WATERMARK, 10, RINGCAP_OPT_POLL_TIMEOUT, 0, 0)) == 0,
	      "open: %s", strerror(-err));
	pfd = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	CHECK(poll(&pfd, 1, 100) == 0, "readable while empty");
	CHECK(send_frames(0, 5, 0x88b5) == 0 && cap_wait_seen(&c, 5) == 0, "send 5");
	CHECK(poll(&pfd, 1, 300) == 0, "readable below watermark (5 < 10)");
	CHECK(send_frames(5, 5, 0x88b5) == 0 && cap_wait_seen(&c, 10) == 0, "send 5 more");
	rc = poll(&pfd, 1, 1000);
	CHECK(rc == 1 && (pfd.revents & POLLIN), "not readable at watermark");
	cap_close(&c);

	/* Poll timeout: 1 packet, watermark 100, timeout 50 ms. */
	CHECK((err = cap_open(&c, rx_if, 1 << 20, 0, RINGCAP_OPT_WATERMARK, 100, RINGCAP_OPT_POLL_TIMEOUT, 50, 0)) == 0,
	      "open: %s", strerror(-err));
	pfd = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	t0 = now_s();
	CHECK(send_frames(0, 1, 0x88b5) == 0, "send 1");
	rc = poll(&pfd, 1, 3000);
	CHECK(rc == 1 && (pfd.revents & POLLIN), "poll timeout did not wake the reader");
	CHECK(now_s() - t0 < 2.9, "woke after %.2fs", now_s() - t0);
	cap_close(&c);
	OK("watermark 10 holds poll until 10 ready; poll timeout 50 ms wakes with 1 (%.0f ms)", (now_s() - t0) * 1000);
}

static int expect_err(int fd, int opt, const void *v, socklen_t len, int want, const char *what, char *log)
{
	int rc = setsockopt(fd, SOL_RINGCAP, opt, v, len);

	if (rc == 0 || errno != want) {
		sprintf(log, "%s: got %s, want %s", what, rc == 0 ? "success" : strerror(errno), strerror(want));
		return 1;
	}
	return 0;
}

static int t_bad_opts(void)
{
	char log[256] = "";
	int fd = rc_socket(), bad = 0;
	uint32_t v;
	uint64_t v64;

	CHECK(fd >= 0, "socket: %s", strerror(-fd));
#define E32(opt, val, want) (v = (val), bad |= expect_err(fd, opt, &v, 4, want, #opt "=" #val, log))
#define E64(opt, val, want) (v64 = (val), bad |= expect_err(fd, opt, &v64, 8, want, #opt "=" #val, log))
	E32(RINGCAP_OPT_SNAPLEN, 0, EINVAL);
	E32(RINGCAP_OPT_SNAPLEN, RINGCAP_MAX_SNAPLEN + 1, EINVAL);
	E64(RINGCAP_OPT_RING_BYTES, 0, EINVAL);
	E64(RINGCAP_OPT_RING_BYTES, 100, EINVAL);
	E64(RINGCAP_OPT_RING_BYTES, 1ull << 50, EINVAL);
	E32(RINGCAP_OPT_DIRECTION, 0, EINVAL);
	E32(RINGCAP_OPT_DIRECTION, 4, EINVAL);
	E32(RINGCAP_OPT_WATERMARK, 0, EINVAL);
	E32(RINGCAP_OPT_POLL_TIMEOUT, RINGCAP_MAX_POLL_TIMEOUT + 1, EINVAL);
	E32(RINGCAP_OPT_STEAL, 2, EINVAL);
	E32(RINGCAP_OPT_PROMISC, 7, EINVAL);
	E32(RINGCAP_OPT_VERSION, RINGCAP_ABI_VERSION + 1, EPROTO);
	E32(999, 1, ENOPROTOOPT);
	uint16_t shortv = 1;
	bad |= expect_err(fd, RINGCAP_OPT_SNAPLEN, &shortv, 2, EINVAL, "optlen 2", log);
	CHECK(!bad, "%s", log);

	/* Snaplen 262144 with a ring of 1 slot of it: EINVAL (< 2 slots). */
	v64 = 300000;
	CHECK(setsockopt(fd, SOL_RINGCAP, RINGCAP_OPT_RING_BYTES, &v64, 8) == 0, "ring 300000");
	E32(RINGCAP_OPT_SNAPLEN, RINGCAP_MAX_SNAPLEN, EINVAL);
	CHECK(!bad, "%s", log);

	/* bind: unknown name, unknown index, bad family, short address. */
	struct sockaddr_ringcap sa = { .sr_family = pf_ring };
	strcpy(sa.sr_ifname, "nosuchif0");
	CHECK(bind(fd, (void *)&sa, sizeof(sa)) < 0 && errno == ENODEV, "bind nosuchif0: %s", strerror(errno));
	sa.sr_ifindex = 99999;
	CHECK(bind(fd, (void *)&sa, sizeof(sa)) < 0 && errno == ENODEV, "bind ifindex 99999: %s", strerror(errno));
	sa.sr_family = AF_INET;
	CHECK(bind(fd, (void *)&sa, sizeof(sa)) < 0 && errno == EINVAL, "bind AF_INET: %s", strerror(errno));
	sa.sr_family = pf_ring;
	CHECK(bind(fd, (void *)&sa, 8) < 0 && errno == EINVAL, "bind short: %s", strerror(errno));

	/* A ring larger than half the RAM: ENOMEM at bind, not an oops. */
	v64 = 3ull << 30;
	CHECK(setsockopt(fd, SOL_RINGCAP, RINGCAP_OPT_RING_BYTES, &v64, 8) == 0, "ring 3 GiB setsockopt");
	CHECK(rc_bind(fd, rx_if) == -ENOMEM, "bind with 3 GiB ring: want ENOMEM");

	/* Geometry frozen once mapped; mmap of the wrong size refused. */
	v64 = 1 << 20;
	CHECK(setsockopt(fd, SOL_RINGCAP, RINGCAP_OPT_RING_BYTES, &v64, 8) == 0, "ring 1 MiB");
	CHECK(rc_bind(fd, rx_if) == 0, "bind %s", rx_if);
	uint64_t len = 0;
	socklen_t sl = 8;
	CHECK(getsockopt(fd, SOL_RINGCAP, RINGCAP_OPT_MMAP_BYTES, &len, &sl) == 0 && len, "MMAP_BYTES");
	CHECK(mmap(NULL, len + 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EINVAL, "oversized mmap");
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	E64(RINGCAP_OPT_RING_BYTES, 2 << 20, EBUSY);
	E32(RINGCAP_OPT_SNAPLEN, 128, EBUSY);
	CHECK(!bad, "%s", log);

	/* A corrupted read position in page 1 must not hurt the kernel. */
	struct ringcap_ctl *ctl = (void *)((uint8_t *)m + 4096);
	ctl->consumed = 0xffffffffu;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	poll(&pfd, 1, 10);
	munmap(m, len);
	close(fd);

	CHECK(socket(pf_ring, SOCK_DGRAM, 0) < 0 && errno == ESOCKTNOSUPPORT, "SOCK_DGRAM: %s", strerror(errno));
	CHECK(socket(pf_ring, SOCK_RAW, htons(ETH_P_IP)) < 0 && errno == EPROTONOSUPPORT, "ETH_P_IP: %s", strerror(errno));
	OK("bad values: EINVAL; ABI mismatch: EPROTO; after mmap: EBUSY; unknown interface: ENODEV; huge ring: ENOMEM");
}

static int t_eperm(void)
{
	int fd = socket(pf_ring, SOCK_RAW, htons(ETH_P_ALL));

	CHECK(fd < 0 && errno == EPERM, "socket without CAP_NET_RAW: %s", fd < 0 ? strerror(errno) : "succeeded");
	OK("socket() without CAP_NET_RAW: EPERM");
}

static int t_steal_eperm(void)
{
	int fd = socket(pf_ring, SOCK_RAW, htons(ETH_P_ALL)), one = 1, r;

	CHECK(fd >= 0, "socket with CAP_NET_RAW: %s", strerror(errno));
	r = setsockopt(fd, SOL_RINGCAP, RINGCAP_OPT_STEAL, &one, sizeof(one));
	CHECK(r < 0 && errno == EPERM, "steal without CAP_NET_ADMIN: %s", r < 0 ? strerror(errno) : "succeeded");
	close(fd);
	OK("steal mode without CAP_NET_ADMIN: EPERM (capture itself needs only CAP_NET_RAW)");
}

static int t_gone_bound(void)
{
	struct cap c;
	struct pollfd pfd;
	int err, soerr = 0;
	socklen_t sl = sizeof(soerr);
	char cmd[128];

	CHECK((err = cap_open(&c, rx_if, 1 << 20, 0, RINGCAP_OPT_STEAL, 1, RINGCAP_OPT_PROMISC, 1, 0)) == 0,
	      "open: %s", strerror(-err));
	CHECK(send_frames(0, 3, 0x88b5) == 0 && cap_wait_seen(&c, 3) == 0, "traffic before delete");
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip link del %s", tx_if);
	CHECK(system(cmd) == 0, "%s failed", cmd);
	pfd = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	CHECK(poll(&pfd, 1, 2000) == 1 && (pfd.revents & POLLERR), "no POLLERR (revents %#x)", pfd.revents);
	CHECK(c.hdr->flags & RINGCAP_HF_DEVICE_GONE, "header flag not set");
	CHECK(getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == ENODEV, "SO_ERROR %d", soerr);
	/* Packets still readable after the device left. */
	CHECK(cap_peek(&c) != NULL, "captured packets lost");
	CHECK(rc_bind(c.fd, rx_if) == -ENODEV, "rebind to deleted interface");
	cap_close(&c);
	OK("interface deleted while bound: POLLERR, SO_ERROR=ENODEV, ring still readable");
}

static void *poller(void *p)
{
	struct cap *c = p;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	static int result;

	result = poll(&pfd, 1, 10000) == 1 && (pfd.revents & POLLERR) ? 1 : 0;
	return &result;
}

static int t_gone_polling(void)
{
	struct cap c;
	pthread_t th;
	void *res;
	int err;
	double t0;
	char cmd[128];

	CHECK((err = cap_open(&c, rx_if, 1 << 20, 0, 0)) == 0, "open: %s", strerror(-err));
	pthread_create(&th, NULL, poller, &c);
	usleep(200000);
	t0 = now_s();
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip link del %s", rx_if);
	CHECK(system(cmd) == 0, "%s failed", cmd);
	pthread_join(th, &res);
	CHECK(*(int *)res == 1, "blocked poll() did not return POLLERR");
	CHECK(now_s() - t0 < 5, "poll woke after %.1fs", now_s() - t0);
	cap_close(&c);
	OK("interface deleted while polling: poll woke with POLLERR in %.0f ms", (now_s() - t0) * 1000);
}

static int t_proc(void)
{
	struct cap c;
	char line[512];
	int err, found = 0;
	FILE *f;

	CHECK((err = cap_open(&c, rx_if, 1 << 20, 0, RINGCAP_OPT_SAMPLING, 3, 0)) == 0, "open: %s", strerror(-err));
	CHECK(send_frames(0, 9, 0x88b5) == 0 && cap_wait_seen(&c, 9) == 0, "send");
	f = fopen("/proc/net/ringcap", "r");
	CHECK(f, "/proc/net/ringcap: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char name[32];
		unsigned long long packets, filtered, seen;
		unsigned slots, sampling;
		if (sscanf(line, "%31s %*d %*u %u %*u %llu %*u %llu %llu %*u %u", name, &slots, &packets, &filtered,
			   &seen, &sampling) == 6 && !strcmp(name, rx_if) && packets == 3 && filtered == 6 &&
		    seen == 9 && sampling == 3)
			found = 1;
	}
	fclose(f);
	CHECK(found, "no matching line for %s", rx_if);
	cap_close(&c);
	OK("/proc/net/ringcap lists the socket with its counters");
}

/* One echo from the namespace; `wait` seconds for the reply (short when
 * failure is expected, long when success is, for a loaded TCG guest). */
static int ping_wait(int wait)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/ip netns exec rcgen /usr/bin/ping -c1 -W%d -q 10.9.0.2 >/dev/null 2>&1", wait);
	return system(cmd) == 0;
}
#define ping_ok() ping_wait(5)
#define ping_fails() (!ping_wait(1))

static int t_steal(void)
{
	struct cap c;
	int err, found = 0;

	CHECK(ping_ok(), "ping before steal failed (setup)");
	CHECK((err = cap_open(&c, rx_if, 1 << 20, 0, RINGCAP_OPT_STEAL, 1, 0)) == 0, "open: %s", strerror(-err));
	CHECK(c.hdr->flags & RINGCAP_HF_STEAL, "steal flag not in header");
	CHECK(ping_fails(), "ping still works while stealing");
	struct ringcap_slot *s;
	while ((s = cap_peek(&c))) {
		const uint8_t *d = slot_data(&c, s);
		if (s->caplen >= 34 && d[12] == 0x08 && d[13] == 0x00 && d[23] == 1 && d[34] == 8)
			found++; /* IPv4 ICMP echo request */
		cap_release(&c, s);
	}
	CHECK(found, "stolen echo requests not captured (%llu packets)", (unsigned long long)c.hdr->stats.packets);
	/* A second steal socket shares the rx_handler; both capture. */
	struct cap c2;
	CHECK((err = cap_open(&c2, rx_if, 1 << 20, 0, RINGCAP_OPT_STEAL, 1, 0)) == 0, "second steal socket: %s", strerror(-err));
	CHECK(ping_fails(), "ping works with two steal sockets");
	CHECK(c2.hdr->stats.packets > 0, "second steal socket captured nothing");
	cap_close(&c);
	CHECK(ping_fails(), "ping works while the second steal socket is open");
	/* Steal off at runtime gives the traffic back. */
	CHECK(set32(c2.fd, RINGCAP_OPT_STEAL, 0) == 0, "steal off");
	CHECK(ping_ok(), "ping fails after steal off");
	cap_close(&c2);
	CHECK(ping_ok(), "ping fails after close");
	OK("while stealing ping fails and %d echo requests are captured; after close ping works", found);
}

static int t_steal_ebusy(void)
{
	int fd, err;

	CHECK(system("/usr/sbin/ip link add name rcbr0 type bridge && /usr/sbin/ip link set dev rc1 master rcbr0") == 0,
	      "bridge setup");
	fd = rc_socket();
	CHECK(fd >= 0, "socket");
	CHECK(rc_bind(fd, rx_if) == 0, "bind");
	err = set32(fd, RINGCAP_OPT_STEAL, 1);
	CHECK(err == -EBUSY, "steal on a bridge port: %s, want EBUSY", strerror(-err));
	close(fd);
	fd = rc_socket();
	CHECK(set32(fd, RINGCAP_OPT_STEAL, 1) == 0, "steal before bind");
	err = rc_bind(fd, rx_if);
	CHECK(err == -EBUSY, "bind in steal mode to a bridge port: %s, want EBUSY", strerror(-err));
	close(fd);
	system("/usr/sbin/ip link del rcbr0");
	OK("steal on a device with another rx_handler (bridge port): EBUSY");
}

struct churn_arg {
	int id;
	int err;
};

static void *churn(void *p)
{
	struct churn_arg *a = p;
	struct cap c;
	int rounds;

	for (rounds = 0; rounds < 3; rounds++) {
		int err = cap_open(&c, rx_if, 64 << 10, 256, RINGCAP_OPT_STEAL, a->id % 2,
				   RINGCAP_OPT_SAMPLING, 1 + a->id % 3, 0);
		if (err) {
			a->err = err;
			return NULL;
		}
		usleep(1000 * (a->id % 7));
		struct ringcap_slot *s;
		while ((s = cap_peek(&c)))
			cap_release(&c, s);
		cap_close(&c);
	}
	return NULL;
}

static int t_concurrent(void)
{
	enum { N = 100 };
	pthread_t th[N];
	struct churn_arg a[N];
	int i, failed = 0;
	double end;

	for (i = 0; i < N; i++) {
		a[i] = (struct churn_arg){ .id = i };
		pthread_create(&th[i], NULL, churn, &a[i]);
	}
	end = now_s() + 1;
	for (i = 0; now_s() < end; i++)
		send_frames(i, 1, 0x88b5);
	for (i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (a[i].err)
			failed = a[i].err;
	}
	CHECK(!failed, "a socket failed: %s", strerror(-failed));
	OK("100 sockets (half stealing) opened, bound, mapped and closed 3x each under traffic");
}


/* ---- clusters ---------------------------------------------------------- */

static int cl_join(int fd, uint32_t id, uint32_t mode, uint32_t members)
{
	struct ringcap_cluster_req req = { .id = id, .mode = mode, .members = members };

	return setsockopt(fd, SOL_RINGCAP, RINGCAP_OPT_CLUSTER, &req, sizeof(req)) < 0 ? -errno : 0;
}

static struct ringcap_cluster_info cl_info(int fd)
{
	struct ringcap_cluster_info ci;
	socklen_t sl = sizeof(ci);

	memset(&ci, 0xff, sizeof(ci));
	if (getsockopt(fd, SOL_RINGCAP, RINGCAP_OPT_CLUSTER, &ci, &sl) < 0)
		memset(&ci, 0xff, sizeof(ci));
	return ci;
}

/* Open `n` members of a new cluster (mode, size) on rx_if; caps[i] is index i. */
static int cl_open(struct cap *caps, int n, uint32_t mode, uint32_t size, uint32_t *id)
{
	int i, err;

	for (i = 0; i < n; i++) {
		if ((err = cap_open(&caps[i], rx_if, 4 << 20, 256, 0)))
			return err;
		if ((err = cl_join(caps[i].fd, i ? *id : 0, mode, i ? 0 : size)))
			return err;
		if (!i)
			*id = cl_info(caps[0].fd).id;
		if (cl_info(caps[i].fd).index != (uint32_t)i)
			return -EBADE;
	}
	return 0;
}

/* Flow traffic: kinds 0 IPv4/UDP, 1 IPv4/TCP, 2 IPv6/UDP, 3 IPv4/UDP in
 * VLAN 100+flow%3, 4 IPv6/TCP in VLAN 7; plus fragments: kind 5 IPv4, 6 IPv6
 * (3 fragments per datagram, the first with the ports). The sequence number
 * is in the last 4 bytes of every frame; tx_meta[seq] says what it was. */
enum { CL_KINDS = 7, CL_FLOWS = 48, CL_PER_DIR = 3, CL_FRAGS = 3, CL_MAX = 8192 };
struct txm { uint16_t kind, flow, frag; };
static struct txm tx_meta[CL_MAX];
static uint32_t tx_seq;

static uint32_t build_ip(uint8_t *f, uint32_t seq, int kind, int flow, int dir, int frag)
{
	uint8_t *p = f;
	uint32_t len, be = htonl(seq);
	uint16_t sport = 1000 + flow, dport = 2000 + (flow * 7) % 5000, t;
	int v6 = kind == 2 || kind == 4 || kind == 6, vlan = kind == 3 ? 100 + flow % 3 : kind == 4 ? 7 : -1;
	uint8_t proto = kind == 1 || kind == 4 ? 6 : 17;
	uint8_t a[16] = { 0 }, b[16] = { 0 };

	memset(f, 0, 200);
	/* MACs swap with the direction too */
	memcpy(p, dir ? "\x02\0\0\0\0\x99" : "\x02\0\0\0\0\x01", 6);
	memcpy(p + 6, dir ? "\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x99", 6);
	p += 12;
	if (vlan >= 0) {
		p[0] = 0x81; p[1] = 0; p[2] = vlan >> 8; p[3] = vlan & 0xff;
		p += 4;
	}
	p[0] = v6 ? 0x86 : 0x08; p[1] = v6 ? 0xdd : 0x00;
	p += 2;
	if (v6) {
		a[0] = 0x20; a[1] = 0x01; a[14] = flow >> 8; a[15] = flow; a[13] = 1;
		b[0] = 0x20; b[1] = 0x01; b[14] = flow >> 8; b[15] = flow; b[13] = 2;
	} else {
		a[0] = 10; a[1] = 0; a[2] = flow >> 8; a[3] = flow;
		b[0] = 10; b[1] = 1; b[2] = (flow * 3) >> 8; b[3] = flow * 3;
	}
	if (dir) {
		uint8_t tmp[16];
		memcpy(tmp, a, 16); memcpy(a, b, 16); memcpy(b, tmp, 16);
		t = sport; sport = dport; dport = t;
	}
	if (v6) {
		p[0] = 0x60; p[1] = dir ? 0x0a : 0x05; /* flow labels differ by direction */
		p[4] = 0; p[5] = 64;
		p[6] = kind == 6 ? 44 : proto; p[7] = 64;
		memcpy(p + 8, a, 16);
		memcpy(p + 24, b, 16);
		p += 40;
		if (kind == 6) {
			uint16_t off = (uint16_t)(frag * 8 << 3) | (frag < CL_FRAGS - 1 ? 1 : 0);
			p[0] = 17; p[1] = 0; p[2] = off >> 8; p[3] = off & 0xff;
			p[4] = 0; p[5] = 0; p[6] = flow >> 8; p[7] = flow; /* identification */
			p += 8;
		}
	} else {
		uint16_t fo = kind == 5 ? (uint16_t)((frag < CL_FRAGS - 1 ? 0x2000 : 0) | frag * 8) : 0x4000;
		p[0] = 0x45; p[3] = 60; p[4] = flow >> 8; p[5] = flow;
		p[6] = fo >> 8; p[7] = fo & 0xff; p[8] = 64; p[9] = proto;
		memcpy(p + 12, a, 4);
		memcpy(p + 16, b, 4);
		p += 20;
	}
	if ((kind != 5 && kind != 6) || frag == 0) { /* ports (fragments: only the first has them) */
		p[0] = sport >> 8; p[1] = sport; p[2] = dport >> 8; p[3] = dport;
	} else {
		p[0] = 0xee; p[1] = frag; p[2] = 0x55; p[3] = 0xaa; /* payload bytes */
	}
	len = (uint32_t)(p - f) + 40;
	if (len < 64)
		len = 64;
	memcpy(f + len - 4, &be, 4);
	return len;
}

static uint32_t frame_tail_seq(const uint8_t *d, uint32_t caplen)
{
	uint32_t be;

	memcpy(&be, d + caplen - 4, 4);
	return ntohl(be);
}

/* Send every flow both ways (CL_PER_DIR frames per direction, interleaved) and
 * the fragmented datagrams (2 per flow kind: one each way). Returns the number
 * sent or -errno. */
static int send_flows(void)
{
	uint8_t f[256];
	uint32_t len;
	int k, fl, r, dir, fr;

	for (r = 0; r < CL_PER_DIR; r++)
		for (k = 0; k < 5; k++)
			for (fl = 0; fl < CL_FLOWS; fl++)
				for (dir = 0; dir < 2; dir++) {
					if (tx_seq >= CL_MAX)
						return -ENOSPC;
					tx_meta[tx_seq] = (struct txm){ k, fl, 0 };
					len = build_ip(f, tx_seq++, k, fl, dir, 0);
					if (send(tx_fd, f, len, 0) != (ssize_t)len)
						return -errno;
				}
	for (k = 5; k < 7; k++)
		for (fl = 0; fl < CL_FLOWS / 2; fl++)
			for (fr = 0; fr < CL_FRAGS; fr++) {
				tx_meta[tx_seq] = (struct txm){ k, fl, fr };
				len = build_ip(f, tx_seq++, k, fl, fl & 1, fr);
				if (send(tx_fd, f, len, 0) != (ssize_t)len)
					return -errno;
			}
	return 0;
}

static int8_t owner[CL_MAX];

/* Drain every member; owner[seq] = member; checks each seq once. */
static int cl_drain(struct cap *caps, int n, uint32_t *got, char *why)
{
	int i;

	for (i = 0; i < n; i++) {
		struct ringcap_slot *s;
		got[i] = 0;
		while ((s = cap_peek(&caps[i]))) {
			uint32_t q = frame_tail_seq(slot_data(&caps[i], s), s->caplen);
			if (q >= tx_seq || owner[q] != -1) {
				sprintf(why, "member %d: frame seq %u %s", i, q, q >= tx_seq ? "unknown" : "seen twice");
				return -1;
			}
			owner[q] = (int8_t)i;
			got[i]++;
			cap_release(&caps[i], s);
		}
	}
	return 0;
}

/* Wait until the members (+ absent drops) were offered `total` frames. */
static int cl_wait(struct cap *caps, int n, uint64_t total)
{
	double end = now_s() + 30;

	while (now_s() < end) {
		uint64_t sum = cl_info(caps[0].fd).absent_total;
		for (int i = 0; i < n; i++)
			sum += __atomic_load_n(&caps[i].hdr->stats.seen, __ATOMIC_ACQUIRE);
		if (sum >= total)
			return 0;
		usleep(2000);
	}
	return -1;
}

/* Every flow (and every fragmented datagram) on one member, both ways. */
static int cl_affinity(char *why)
{
	static int8_t fm[CL_KINDS][CL_FLOWS];
	uint32_t q;

	memset(fm, -1, sizeof(fm));
	for (q = 0; q < tx_seq; q++) {
		struct txm m = tx_meta[q];
		if (owner[q] < 0)
			continue; /* absent drop */
		if (fm[m.kind][m.flow] == -1)
			fm[m.kind][m.flow] = owner[q];
		else if (fm[m.kind][m.flow] != owner[q]) {
			sprintf(why, "kind %u flow %u split over members %d and %d", m.kind, m.flow,
				fm[m.kind][m.flow], owner[q]);
			return -1;
		}
	}
	return 0;
}

static int t_cluster_hash(int n)
{
	struct cap caps[8];
	uint32_t id = 0, got[8], sum = 0;
	char why[160];
	int err, i;

	CHECK((err = cl_open(caps, n, RINGCAP_CLUSTER_HASH, n, &id)) == 0, "open %d members: %s", n, strerror(-err));
	memset(owner, -1, sizeof(owner));
	CHECK((err = send_flows()) == 0, "send: %s", strerror(-err));
	CHECK(cl_wait(caps, n, tx_seq) == 0, "not all %u frames offered", tx_seq);
	CHECK(cl_drain(caps, n, got, why) == 0, "%s", why);
	for (i = 0; i < n; i++) {
		struct ringcap_stats st = cap_stats(&caps[i]);
		CHECK(st.seen == st.packets + st.dropped + st.filtered && st.dropped == 0 && st.packets == got[i],
		      "member %d counters: seen %llu packets %llu dropped %llu, drained %u", i,
		      (unsigned long long)st.seen, (unsigned long long)st.packets, (unsigned long long)st.dropped, got[i]);
		CHECK(got[i] > 0, "member %d got nothing", i);
		sum += got[i];
	}
	CHECK(sum == tx_seq, "union %u frames, sent %u", sum, tx_seq);
	CHECK(cl_info(caps[0].fd).absent_total == 0, "absent drops with every member in");
	CHECK(cl_affinity(why) == 0, "%s", why);
	for (i = 0; i < n; i++)
		cap_close(&caps[i]);
	char buf[96];
	int o = 0;
	for (i = 0; i < n; i++)
		o += snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? "/" : "", got[i]);
	OK("%d members: %u frames (IPv4/IPv6/VLAN flows both ways + fragments) each once, split %s, every flow and datagram on one member",
	   n, tx_seq, buf);
}

static int t_cluster_lb(void)
{
	enum { M = 3, N = 3001 };
	struct cap caps[M];
	uint32_t id = 0, i, q, cnt[M] = { 0 }, lo = N, hi = 0;
	static uint8_t seen[N];
	int err, m;

	CHECK((err = cl_open(caps, M, RINGCAP_CLUSTER_LB, M, &id)) == 0, "open: %s", strerror(-err));
	CHECK(send_frames(0, N, 0x88b5) == 0, "send");
	for (m = 0; m < M; m++)
		CHECK(cap_wait_seen(&caps[m], N / M) == 0, "member %d: not offered %u", m, N / M);
	usleep(100000);
	for (m = 0; m < M; m++) {
		struct ringcap_slot *s;
		while ((s = cap_peek(&caps[m]))) {
			q = frame_seq(slot_data(&caps[m], s));
			CHECK(q < N && !seen[q], "member %d: seq %u %s", m, q, q < N ? "twice" : "unknown");
			seen[q] = 1;
			cnt[m]++;
			cap_release(&caps[m], s);
		}
		lo = cnt[m] < lo ? cnt[m] : lo;
		hi = cnt[m] > hi ? cnt[m] : hi;
	}
	for (i = 0; i < N; i++)
		CHECK(seen[i], "frame %u missing", i);
	CHECK(hi - lo <= 1, "round robin %u/%u/%u not within 1", cnt[0], cnt[1], cnt[2]);
	for (m = 0; m < M; m++)
		cap_close(&caps[m]);
	OK("lb, 3 members: %u frames each once, %u/%u/%u", N, cnt[0], cnt[1], cnt[2]);
}

static int t_cluster_absent(void)
{
	struct cap caps[2], c3;
	uint32_t id = 0, got[2], first, got0;
	struct ringcap_cluster_info ci;
	uint64_t absent;
	char why[160];
	int err;

	CHECK((err = cl_open(caps, 1, RINGCAP_CLUSTER_HASH, 2, &id)) == 0, "open: %s", strerror(-err));
	memset(owner, -1, sizeof(owner));
	CHECK((err = send_flows()) == 0, "send: %s", strerror(-err));
	CHECK(cl_wait(caps, 1, tx_seq) == 0, "not all frames offered");
	CHECK(cl_drain(caps, 1, got, why) == 0, "%s", why);
	ci = cl_info(caps[0].fd);
	absent = ci.absent_total;
	CHECK(ci.joined == 1 && ci.absent_dropped == 0, "member 0: joined %u, own absent %llu", ci.joined,
	      (unsigned long long)ci.absent_dropped);
	CHECK(got[0] > 0 && absent > 0 && got[0] + absent == tx_seq,
	      "member 0 got %u, absent drops %llu, sent %u", got[0], (unsigned long long)absent, tx_seq);
	CHECK(cap_stats(&caps[0]).packets == got[0] && cap_stats(&caps[0]).dropped == 0, "member 0 counters");
	CHECK(cl_affinity(why) == 0, "%s", why);
	first = tx_seq;
	got0 = got[0];
	/* The missing member joins: it takes index 1 and reports what it lost. */
	CHECK((err = cap_open(&caps[1], rx_if, 4 << 20, 256, 0)) == 0 && (err = cl_join(caps[1].fd, id, 0, 0)) == 0,
	      "second member: %s", strerror(-err));
	ci = cl_info(caps[1].fd);
	CHECK(ci.index == 1 && ci.absent_dropped == absent && ci.joined == 2, "second member: index %u absent %llu",
	      ci.index, (unsigned long long)ci.absent_dropped);
	CHECK((err = send_flows()) == 0, "send: %s", strerror(-err));
	CHECK(cl_wait(caps, 2, tx_seq) == 0, "second round not offered");
	CHECK(cl_drain(caps, 2, got, why) == 0, "%s", why);
	CHECK(got[0] + got[1] == tx_seq - first && cl_info(caps[0].fd).absent_total == absent,
	      "second round: %u + %u of %u, absent now %llu", got[0], got[1], tx_seq - first,
	      (unsigned long long)cl_info(caps[0].fd).absent_total);
	/* A member that leaves frees its index for the next joiner. */
	cap_close(&caps[0]);
	CHECK((err = cap_open(&c3, rx_if, 1 << 20, 256, 0)) == 0 && (err = cl_join(c3.fd, id, RINGCAP_CLUSTER_HASH, 2)) == 0,
	      "rejoin: %s", strerror(-err));
	CHECK(cl_info(c3.fd).index == 0, "the freed index 0 was not reused (%u)", cl_info(c3.fd).index);
	cap_close(&c3);
	cap_close(&caps[1]);
	OK("size 2, one member: it got %u frames exactly, the other index's %llu counted as its absent drops (reported to the joiner of index 1); then %u+%u exact",
	   got0, (unsigned long long)absent, got[0], got[1]);
}

static int proc_has(const char *file, const char *needle)
{
	char line[512];
	FILE *f = fopen(file, "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			found = 1;
	fclose(f);
	return found;
}

static int t_cluster_opts(void)
{
	struct cap a, b, c;
	uint32_t id, id2 = 0, m;
	int fd, err;
	char needle[96];

	fd = rc_socket();
	CHECK(cl_join(fd, 0, RINGCAP_CLUSTER_HASH, 2) == -ENXIO, "unbound join: want ENXIO");
	close(fd);
	CHECK(cap_open(&a, rx_if, 1 << 20, 256, 0) == 0, "open");
	for (m = 2; m <= 5; m++)
		CHECK((err = cl_join(a.fd, 0, m, 2)) == -EINVAL, "mode %u: %s, want EINVAL", m, strerror(-err));
	struct ringcap_cluster_req bad = { .mode = 0, .members = 2, .flags = 1 };
	CHECK(setsockopt(a.fd, SOL_RINGCAP, RINGCAP_OPT_CLUSTER, &bad, sizeof(bad)) < 0 && errno == EINVAL, "flags 1");
	CHECK(setsockopt(a.fd, SOL_RINGCAP, RINGCAP_OPT_CLUSTER, &bad, 8) < 0 && errno == EINVAL, "short optlen");
	CHECK(cl_join(a.fd, 65536, 0, 2) == -EINVAL, "id 65536");
	CHECK(cl_join(a.fd, 0, 0, 0) == -EINVAL, "create with size 0");
	CHECK(cl_join(a.fd, 0, 0, 65537) == -EINVAL, "size 65537");
	CHECK(cl_info(a.fd).id == 0, "not in a cluster yet");
	CHECK(cl_join(a.fd, 0, RINGCAP_CLUSTER_HASH, 2) == 0, "create");
	id = cl_info(a.fd).id;
	CHECK(id > 0 && id <= 65535, "allocated id %u", id);
	CHECK(cl_join(a.fd, id, 0, 0) == -EALREADY, "double join: want EALREADY");
	CHECK(set32(a.fd, RINGCAP_OPT_STEAL, 1) == -EBUSY, "steal while clustered: want EBUSY");
	CHECK(set32(a.fd, RINGCAP_OPT_DIRECTION, RINGCAP_DIR_RX) == -EBUSY, "direction while clustered: want EBUSY");
	CHECK(cap_open(&b, rx_if, 1 << 20, 256, 0) == 0, "open b");
	CHECK(cl_join(b.fd, id, RINGCAP_CLUSTER_LB, 0) == -EINVAL, "other mode: want EINVAL");
	CHECK(cl_join(b.fd, id, 0, 3) == -EINVAL, "other size: want EINVAL");
	CHECK(cl_join(b.fd, 0, 0, 4) == 0 && (id2 = cl_info(b.fd).id) != id, "second allocation: id %u", id2);
	cap_close(&b);
	CHECK(cap_open(&b, tx_if, 1 << 20, 256, 0) == 0, "open on tx_if");
	CHECK(cl_join(b.fd, id, 0, 0) == -EINVAL, "other interface: want EINVAL");
	cap_close(&b);
	CHECK(cap_open(&b, rx_if, 1 << 20, 256, RINGCAP_OPT_DIRECTION, RINGCAP_DIR_RX, 0) == 0, "open rx-only");
	CHECK(cl_join(b.fd, id, 0, 0) == -EINVAL, "other direction: want EINVAL");
	cap_close(&b);
	CHECK(cap_open(&b, rx_if, 1 << 20, 256, RINGCAP_OPT_STEAL, 1, 0) == 0, "open steal");
	CHECK(cl_join(b.fd, id, 0, 0) == -EINVAL, "steal socket: want EINVAL");
	cap_close(&b);
	CHECK(cap_open(&b, rx_if, 1 << 20, 256, 0) == 0 && cl_join(b.fd, id, 0, 0) == 0, "join");
	CHECK(cl_info(b.fd).index == 1 && cl_info(b.fd).joined == 2 && cl_info(b.fd).members == 2, "index/joined");
	CHECK(cap_open(&c, rx_if, 1 << 20, 256, 0) == 0, "open c");
	CHECK(cl_join(c.fd, id, 0, 2) == -ENOSPC, "full: want ENOSPC");
	snprintf(needle, sizeof(needle), " 3 %u 1 2\n", id); /* direction cluster member members */
	CHECK(proc_has("/proc/net/ringcap", needle), "/proc/net/ringcap lacks '%.*s'", (int)strlen(needle) - 1, needle);
	snprintf(needle, sizeof(needle), "%u %s hash 2 2 0 -\n", id, rx_if);
	CHECK(proc_has("/proc/net/ringcap_clusters", needle), "/proc/net/ringcap_clusters lacks '%s'", needle);
	/* rebinding leaves the cluster */
	CHECK(rc_bind(b.fd, rx_if) == 0 && cl_info(b.fd).id == 0 && cl_info(a.fd).joined == 1, "rebind leaves");
	CHECK(cl_join(c.fd, id, 0, 2) == 0 && cl_info(c.fd).index == 1, "join the freed index");
	cap_close(&a);
	cap_close(&b);
	cap_close(&c);
	snprintf(needle, sizeof(needle), "%u %s ", id, rx_if);
	CHECK(!proc_has("/proc/net/ringcap_clusters", needle), "cluster %u still listed after its last member left", id);
	OK("EINVAL for modes cpu/rollover/random/qm, flags, sizes, mismatches, steal; ENXIO unbound; EALREADY; ENOSPC; EBUSY; ids allocated; /proc shows clusters");
}

struct cl_poll_arg { int fd; short revents; };

static void *cl_poller(void *p)
{
	struct cl_poll_arg *a = p;
	struct pollfd pfd = { .fd = a->fd, .events = 0 }; /* POLLERR only */
	double end = now_s() + 20;

	while (now_s() < end) {
		if (poll(&pfd, 1, 100) > 0 && (pfd.revents & POLLERR)) {
			a->revents = pfd.revents;
			break;
		}
	}
	return NULL;
}

static volatile int sending;
static uint32_t sent_ok;

static void *cl_sender(void *p)
{
	(void)p;
	for (uint32_t i = 0; sending; i++) {
		if (send_frames(i, 1, 0x88b5) < 0)
			break;
		sent_ok++;
	}
	return NULL;
}

/* The interface goes away under a cluster whose members are being
 * delivered to: POLLERR/ENODEV, the cluster freed, counters consistent. */
static int t_cluster_gone(void)
{
	struct cap caps[2];
	struct cl_poll_arg pa;
	pthread_t pt, st;
	uint32_t id = 0, got = 0;
	char needle[64];
	int err, so = 0, i;
	socklen_t sl = sizeof(so);

	CHECK((err = cl_open(caps, 2, RINGCAP_CLUSTER_LB, 2, &id)) == 0, "open: %s", strerror(-err));
	pa = (struct cl_poll_arg){ .fd = caps[0].fd };
	pthread_create(&pt, NULL, cl_poller, &pa);
	sending = 1;
	pthread_create(&st, NULL, cl_sender, NULL);
	usleep(300000);
	CHECK(system("/usr/sbin/ip link del rc0") == 0, "ip link del");
	sending = 0;
	pthread_join(st, NULL);
	pthread_join(pt, NULL);
	CHECK(pa.revents & POLLERR, "no POLLERR on a member");
	CHECK(getsockopt(caps[1].fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == ENODEV, "SO_ERROR %d, want ENODEV", so);
	CHECK(caps[0].hdr->flags & RINGCAP_HF_DEVICE_GONE, "header flag DEVICE_GONE");
	CHECK(cl_info(caps[0].fd).id == 0, "still in a cluster after the interface went");
	snprintf(needle, sizeof(needle), "%u ", id);
	FILE *f = fopen("/proc/net/ringcap_clusters", "r");
	char line[256];
	int listed = 0;
	while (f && fgets(line, sizeof(line), f))
		listed |= !strncmp(line, needle, strlen(needle));
	if (f)
		fclose(f);
	CHECK(!listed, "cluster %u still listed", id);
	for (i = 0; i < 2; i++) {
		struct ringcap_stats s = cap_stats(&caps[i]);
		struct ringcap_slot *sl2;
		uint32_t n = 0;
		while ((sl2 = cap_peek(&caps[i]))) {
			n++;
			cap_release(&caps[i], sl2);
		}
		CHECK(s.seen == s.packets + s.dropped + s.filtered && n == s.packets,
		      "member %d: seen %llu packets %llu dropped %llu, drained %u", i, (unsigned long long)s.seen,
		      (unsigned long long)s.packets, (unsigned long long)s.dropped, n);
		got += n;
	}
	CHECK(got > 0 && got <= sent_ok, "captured %u of %u sent", got, sent_ok);
	for (i = 0; i < 2; i++)
		cap_close(&caps[i]);
	OK("interface deleted under a 2-member cluster in delivery: POLLERR, ENODEV, cluster freed, %u of %u frames captured, counters consistent",
	   got, sent_ok);
}

struct cl_churn { int id, err, joined; };

static void *cl_churn_fn(void *p)
{
	struct cl_churn *a = p;
	struct cap c;
	int rounds, err;

	for (rounds = 0; rounds < 3; rounds++) {
		if ((err = cap_open(&c, rx_if, 64 << 10, 256, RINGCAP_OPT_SAMPLING, 1 + a->id % 2, 0))) {
			a->err = err;
			return NULL;
		}
		if ((err = cl_join(c.fd, 100 + a->id % 4, (a->id % 4) % 2, 32))) {
			a->err = err;
			cap_close(&c);
			return NULL;
		}
		a->joined++;
		usleep(1000 * (a->id % 7));
		struct ringcap_slot *s;
		while ((s = cap_peek(&c)))
			cap_release(&c, s);
		cap_close(&c);
	}
	return NULL;
}

static int t_cluster_concurrent(void)
{
	enum { N = 100 };
	pthread_t th[N];
	struct cl_churn a[N];
	int i, failed = 0, joined = 0;
	double end;

	for (i = 0; i < N; i++) {
		a[i] = (struct cl_churn){ .id = i };
		pthread_create(&th[i], NULL, cl_churn_fn, &a[i]);
	}
	end = now_s() + 1;
	for (i = 0; now_s() < end; i++)
		send_frames(i, 1, 0x88b5);
	for (i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (a[i].err)
			failed = a[i].err;
		joined += a[i].joined;
	}
	CHECK(!failed, "a member failed: %s", strerror(-failed));
	CHECK(!proc_has("/proc/net/ringcap_clusters", " hash ") && !proc_has("/proc/net/ringcap_clusters", " lb "),
	      "clusters left after every member closed");
	OK("100 sockets joined 4 clusters (hash and lb) and closed, 3x each (%d joins) under traffic; no cluster left", joined);
}

static int t_hold(void)
{
	/* Keep one socket open, in a cluster, until stdin closes (for the
	 * rmmod refusal test). */
	struct cap c;
	char b;
	int err;

	CHECK((err = cap_open(&c, "lo", 1 << 20, 0, 0)) == 0, "open: %s", strerror(-err));
	CHECK((err = cl_join(c.fd, 0, RINGCAP_CLUSTER_HASH, 2)) == 0, "cluster: %s", strerror(-err));
	printf("holding\n");
	fflush(stdout);
	while (read(0, &b, 1) > 0)
		;
	cap_close(&c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *t = argc > 1 ? argv[1] : "";
	const char *fam = getenv("RINGCAP_FAMILY");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fam)
		pf_ring = atoi(fam);
	if (argc > 3) {
		tx_if = argv[2];
		rx_if = argv[3];
	}
	if (!strcmp(t, "eperm"))
		return t_eperm();
	if (!strcmp(t, "steal_eperm"))
		return t_steal_eperm();
	if (!strcmp(t, "hold"))
		return t_hold();
	if (strcmp(t, "steal") && strcmp(t, "bad_opts") && tx_open(tx_if)) {
		printf("FAIL: cannot send on %s: %s\n", tx_if, strerror(errno));
		return 1;
	}
	if (!strcmp(t, "exact")) return t_exact();
	if (!strcmp(t, "ring_full")) return t_ring_full();
	if (!strcmp(t, "sampling")) return t_sampling();
	if (!strcmp(t, "independent")) return t_independent();
	if (!strcmp(t, "vlan")) return t_vlan(argc > 4 ? argv[4] : "rc0.100");
	if (!strcmp(t, "bpf")) return t_bpf();
	if (!strcmp(t, "snaplen")) return t_snaplen();
	if (!strcmp(t, "direction")) return t_direction();
	if (!strcmp(t, "reader")) return t_reader();
	if (!strcmp(t, "watermark")) return t_watermark();
	if (!strcmp(t, "bad_opts")) return t_bad_opts();
	if (!strcmp(t, "gone_bound")) return t_gone_bound();
	if (!strcmp(t, "gone_polling")) return t_gone_polling();
	if (!strcmp(t, "proc")) return t_proc();
	if (!strcmp(t, "steal")) return t_steal();
	if (!strcmp(t, "steal_ebusy")) return t_steal_ebusy();
	if (!strcmp(t, "concurrent")) return t_concurrent();
	if (!strcmp(t, "cluster_hash2")) return t_cluster_hash(2);
	if (!strcmp(t, "cluster_hash4")) return t_cluster_hash(4);
	if (!strcmp(t, "cluster_lb")) return t_cluster_lb();
	if (!strcmp(t, "cluster_absent")) return t_cluster_absent();
	if (!strcmp(t, "cluster_opts")) return t_cluster_opts();
	if (!strcmp(t, "cluster_gone")) return t_cluster_gone();
	if (!strcmp(t, "cluster_concurrent")) return t_cluster_concurrent();
	printf("FAIL: unknown test '%s'\n", t);
	return 1;
}
