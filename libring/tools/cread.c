/*
 * cread — a minimal C reader on libring: the ceiling of ringcap's design,
 * used by the benchmarks next to pcount (same ring, same waits, no JS).
 *   cread IFACE [-c COUNT] [--duration S] [-s SNAPLEN] [--ring-mb N]
 *         [--wait busy|poll|adaptive] [--idle-exit MS] [--filter EXPR] [--immediate]
 * Prints one JSON line: packets, dropped, filtered, bytes, seconds
 * (first to last packet read), wall (open to exit).
 * --idle-exit MS: stop once MS pass with nothing to read after the first
 * packet (drain measurements).
 * --immediate: TPACKET_V2 frames (LR_F_IMMEDIATE), as pcount --immediate; frames
 * are given back in batches of up to 64, and at once when the ring is empty.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../libring.h"

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

#define TOOL_NAME "cread"
#include "layout_keys.h"

int main(int argc, char **argv)
{
	struct lr_opts o = {0};
	uint64_t limit = 0, packets = 0, bytes = 0, st[5];
	double duration = 0, idle_exit = 0, t_open = now(), t_first = 0, t_last = 0, t_idle = 0;
	const char *dev = NULL, *filter = NULL;
	int h;

	for (int a = 1; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : "";
		if (!strcmp(argv[a], "-c")) limit = strtoull(v, NULL, 10), a++;
		else if (!strcmp(argv[a], "--duration")) duration = atof(v), a++;
		else if (!strcmp(argv[a], "-s")) o.snaplen = (uint32_t)atoi(v), a++;
		else if (!strcmp(argv[a], "--ring-mb")) o.ring_bytes = (uint64_t)atof(v) << 20, a++;
		else if (!strcmp(argv[a], "--idle-exit")) idle_exit = atof(v) / 1000, a++;
		else if (!strcmp(argv[a], "--immediate")) o.flags |= LR_F_IMMEDIATE;
		else if (!strcmp(argv[a], "--wait")) {
			o.wait_mode = !strcmp(v, "busy") ? LR_WAIT_BUSY
				      : !strcmp(v, "adaptive") ? LR_WAIT_ADAPTIVE : LR_WAIT_POLL;
			a++;
		} else if (!dev) dev = argv[a];
		else { fprintf(stderr, "cread: unexpected argument %s\n", argv[a]); return 2; }
	}
	if (!dev) { fprintf(stderr, "usage: cread IFACE [options]\n"); return 2; }
	h = lr_open(dev, &o, filter);
	if (h < 0) {
		fprintf(stderr, "cread: %s: %s %s\n", dev, lr_strerror(h), lr_error());
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	nkeys = lr_layout_get(h, L, 128);
	uint8_t *base = (uint8_t *)(uintptr_t)key("base");
	double t_end = duration > 0 ? t_open + duration : 0;
	if (key("kind") == 3) { /* TPACKET_V2 frames */
		uint64_t fsize = key("frame_size"), fcount = key("frame_count"), fpb = key("frames_per_block"),
			 bs = key("block_size"), o_pst = key("pkt_status_off"), o_wl = key("pkt_wirelen_off");
		uint32_t i = 0, held = 0, first = 0;
		uint64_t seen = 0;
		while (!stop && (!limit || packets < limit)) {
			uint8_t *f = base + (i / fpb) * bs + (i % fpb) * fsize;
			if (!(__atomic_load_n((uint32_t *)(f + o_pst), __ATOMIC_ACQUIRE) & 1)) {
				for (; held; held--, first = (uint32_t)((first + 1) % fcount)) /* caught up */
					__atomic_store_n((uint32_t *)(base + (first / fpb) * bs + (first % fpb) * fsize + o_pst),
							 0, __ATOMIC_RELEASE);
				if (packets != seen) {
					seen = packets;
					t_last = t_idle = now();
				}
				int rc = lr_wait(h, i, 100);
				if (rc < 0) { fprintf(stderr, "cread: %s %s\n", lr_strerror(rc), lr_error()); return 1; }
				double t = now();
				if (t_end && t >= t_end) break;
				if (rc == 0 && idle_exit > 0 && packets && t - t_idle >= idle_exit) break;
				continue;
			}
			if (!t_first) t_first = now();
			bytes += U32(f + o_wl);
			packets++;
			if (!held++) first = i;
			i = (uint32_t)((i + 1) % fcount);
			if (held == 64) /* batch hand-back */
				for (; held; held--, first = (uint32_t)((first + 1) % fcount))
					__atomic_store_n((uint32_t *)(base + (first / fpb) * bs + (first % fpb) * fsize + o_pst),
							 0, __ATOMIC_RELEASE);
			if (!(packets & 1023)) {
				t_last = t_idle = now();
				if (t_end && t_last >= t_end) break;
			}
		}
		if (packets != seen)
			t_last = now();
		goto out;
	}
	if (key("kind") != 1) { fprintf(stderr, "cread: only TPACKET_V3 or V2 layouts\n"); return 2; }
	uint64_t bsize = key("block_size"), bcount = key("block_count");
	uint64_t o_st = key("blk_status_off"), o_num = key("blk_num_pkts_off"),
		 o_first = key("blk_first_off"), o_next = key("pkt_next_off"),
		 o_len = key("pkt_wirelen_off");
	uint32_t blk = 0;

	while (!stop && (!limit || packets < limit)) {
		uint8_t *b = base + blk * bsize;
		if (!(__atomic_load_n((uint32_t *)(b + o_st), __ATOMIC_ACQUIRE) & 1)) {
			int rc = lr_wait(h, blk, 100);
			if (rc < 0) { fprintf(stderr, "cread: %s %s\n", lr_strerror(rc), lr_error()); return 1; }
			double t = now();
			if (t_end && t >= t_end) break;
			if (rc == 0 && idle_exit > 0 && packets && t - t_idle >= idle_exit) break;
			continue;
		}
		if (!t_first) t_first = now();
		uint32_t n = U32(b + o_num);
		uint8_t *p = b + U32(b + o_first);
		for (uint32_t i = 0; i < n; i++) {
			bytes += U32(p + o_len);
			p += U32(p + o_next);
		}
		packets += n;
		__atomic_store_n((uint32_t *)(b + o_st), 0, __ATOMIC_RELEASE);
		blk = (uint32_t)((blk + 1) % bcount);
		t_last = t_idle = now();
		if (t_end && t_last >= t_end) break;
	}
out:
	lr_stats(h, st);
	lr_close(h);
	printf("{\"packets\":%llu,\"dropped\":%llu,\"filtered\":%llu,\"bytes\":%llu,"
	       "\"read\":%llu,\"seconds\":%.6f,\"wall\":%.6f}\n",
	       (unsigned long long)st[0], (unsigned long long)st[1], (unsigned long long)st[2],
	       (unsigned long long)bytes, (unsigned long long)packets,
	       t_first ? t_last - t_first : 0.0, now() - t_open);
	return 0;
}
