/*
 * latread — lone-packet latency of a C reader on libring (the ceiling for
 * scripts/bench/latency.ts): for each packet, CLOCK_REALTIME when the reader
 * gets it minus the packet's kernel timestamp (taken at AF_PACKET receive).
 *   latread IFACE -c COUNT [--wait busy|poll|adaptive] [--timeout-ms MS] [-s SNAP] [--immediate]
 * --immediate: TPACKET_V2 frames (LR_F_IMMEDIATE), each given back as soon as read.
 * Prints one JSON line: {"lat_us":[...], "packets":N, "dropped":N}.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../libring/libring.h"

static uint64_t L[128];
static int nkeys;
static uint64_t key(const char *k)
{
	for (int i = 0; i < nkeys; i++)
		if (!strcmp(lr_layout_key(i), k)) return L[i];
	fprintf(stderr, "latread: layout has no key %s\n", k);
	exit(1);
}
static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

int main(int argc, char **argv)
{
	struct lr_opts o = {0};
	const char *dev = NULL;
	unsigned limit = 100, n = 0;
	o.snaplen = 128;
	for (int a = 1; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : "";
		if (!strcmp(argv[a], "-c")) limit = (unsigned)atoi(v), a++;
		else if (!strcmp(argv[a], "-s")) o.snaplen = (uint32_t)atoi(v), a++;
		else if (!strcmp(argv[a], "--timeout-ms")) o.timeout_ms = (uint32_t)atoi(v), a++;
		else if (!strcmp(argv[a], "--immediate")) o.flags |= LR_F_IMMEDIATE;
		else if (!strcmp(argv[a], "--wait")) {
			o.wait_mode = !strcmp(v, "busy") ? LR_WAIT_BUSY
				      : !strcmp(v, "adaptive") ? LR_WAIT_ADAPTIVE : LR_WAIT_POLL;
			a++;
		} else dev = argv[a];
	}
	if (!dev) { fprintf(stderr, "usage: latread IFACE -c N [--wait MODE]\n"); return 2; }
	int h = lr_open(dev, &o, NULL);
	if (h < 0) { fprintf(stderr, "latread: %s %s\n", lr_strerror(h), lr_error()); return 2; }
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	nkeys = lr_layout_get(h, L, 128);
	uint8_t *base = (uint8_t *)(uintptr_t)key("base");
	uint64_t bsize = key("block_size"), bcount = key("block_count"), o_st = key("blk_status_off"),
		 o_num = key("blk_num_pkts_off"), o_first = key("blk_first_off"),
		 o_next = key("pkt_next_off"), o_sec = key("pkt_sec_off"), o_nsec = key("pkt_nsec_off");
	double *lat = calloc(limit, sizeof *lat);
	uint32_t blk = 0;
	if (key("kind") == 3) { /* TPACKET_V2 frames: one packet each, published as written */
		uint64_t fsize = key("frame_size"), fcount = key("frame_count"), fpb = key("frames_per_block"),
			 o_pst = key("pkt_status_off");
		uint32_t i = 0;
		while (!stop && n < limit) {
			uint8_t *f = base + (i / fpb) * bsize + (i % fpb) * fsize;
			if (!(__atomic_load_n((uint32_t *)(f + o_pst), __ATOMIC_ACQUIRE) & 1)) {
				if (lr_wait(h, i, 100) < 0) return 1;
				continue;
			}
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			lat[n++] = (double)(t.tv_sec - *(uint32_t *)(f + o_sec)) * 1e6 +
				   ((double)t.tv_nsec - *(uint32_t *)(f + o_nsec)) / 1e3;
			__atomic_store_n((uint32_t *)(f + o_pst), 0, __ATOMIC_RELEASE);
			i = (uint32_t)((i + 1) % fcount);
		}
	}
	while (!stop && n < limit) {
		uint8_t *b = base + blk * bsize;
		if (!(__atomic_load_n((uint32_t *)(b + o_st), __ATOMIC_ACQUIRE) & 1)) {
			if (lr_wait(h, blk, 100) < 0) return 1;
			continue;
		}
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		uint32_t k = *(uint32_t *)(b + o_num);
		uint8_t *p = b + *(uint32_t *)(b + o_first);
		for (uint32_t i = 0; i < k; i++) {
			double d = (double)(t.tv_sec - *(uint32_t *)(p + o_sec)) * 1e6 +
				   ((double)t.tv_nsec - *(uint32_t *)(p + o_nsec)) / 1e3;
			if (n < limit) lat[n++] = d;
			p += *(uint32_t *)(p + o_next);
		}
		__atomic_store_n((uint32_t *)(b + o_st), 0, __ATOMIC_RELEASE);
		blk = (uint32_t)((blk + 1) % bcount);
	}
	uint64_t st[5];
	lr_stats(h, st);
	lr_close(h);
	printf("{\"packets\":%llu,\"dropped\":%llu,\"lat_us\":[", (unsigned long long)st[0],
	       (unsigned long long)st[1]);
	for (unsigned i = 0; i < n; i++) printf("%s%.1f", i ? "," : "", lat[i]);
	printf("]}\n");
	return 0;
}
