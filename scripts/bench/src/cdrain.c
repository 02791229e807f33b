/*
 * cdrain — the C twin of test/vm/bench_drain.ts's TypeScript drain: opens one
 * libring ring on either backend, lets the caller fill it, then times how
 * fast plain C empties what the ring already holds (no waiting, no
 * generator running). Used in the VM (scripts/bench/vm_drain.sh) beside the
 * TS readers, so the C rows show what is the emulator's (TCG) and what is
 * the runtime's.
 *   cdrain IFACE ring|packet [--ring-mb N] [-s SNAPLEN] [--timeout-ms MS]
 * Prints "READY" once the ring is open, waits for SIGUSR1, drains,
 * prints one JSON line {"read","seconds","packets","dropped","bytes"} and exits.
 * Reads each packet's wire length (as the TS loop reads one header word and
 * one frame byte). Module slots: the reader protocol of
 * kernel/include/uapi/ringcap.h (producer count read once per batch, slots
 * given back by one release store of the consumer count); TPACKET_V3: the
 * block walk of libring/tools/cread.c.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../libring/libring.h"

#define TOOL_NAME "cdrain"
#include "../../../libring/tools/layout_keys.h"

/* TPACKET_V3: every block the kernel handed over, packet by packet. */
static uint64_t drain_v3(uint8_t *base, uint64_t *sum)
{
	uint64_t bsize = key("block_size"), bcount = key("block_count");
	uint64_t o_st = key("blk_status_off"), o_num = key("blk_num_pkts_off"),
		 o_first = key("blk_first_off"), o_next = key("pkt_next_off"), o_len = key("pkt_wirelen_off");
	uint64_t packets = 0;
	uint32_t blk = 0;

	for (;;) {
		uint8_t *b = base + blk * bsize;
		if (!(__atomic_load_n((uint32_t *)(b + o_st), __ATOMIC_ACQUIRE) & 1))
			return packets;
		uint32_t n = U32(b + o_num);
		uint8_t *p = b + U32(b + o_first);
		for (uint32_t i = 0; i < n; i++) {
			*sum += U32(p + o_len);
			p += U32(p + o_next);
		}
		packets += n;
		__atomic_store_n((uint32_t *)(b + o_st), 0, __ATOMIC_RELEASE);
		blk = (uint32_t)((blk + 1) % bcount);
	}
}

/* Module slots: read the producer count, walk up to it, give the batch back
 * with one store of the consumer count (batches of at most 256 slots, as
 * lib/source/live/ring_slots.ts does). */
static uint64_t drain_slots(uint8_t *base, uint64_t *sum)
{
	uint64_t sbase = key("slot_base_off"), ssize = key("slot_size"), count = key("slot_count"),
		 o_wl = key("slot_wirelen_off");
	uint32_t *prod = (uint32_t *)(base + key("produced_off"));
	uint32_t *cons = (uint32_t *)(base + key("read_idx_off"));
	uint32_t seq = *cons;
	uint8_t *s = base + sbase + (seq % count) * ssize, *end = base + sbase + count * ssize;
	uint64_t packets = 0;

	for (;;) {
		uint32_t avail = __atomic_load_n(prod, __ATOMIC_ACQUIRE) - seq;
		if (!avail)
			return packets;
		if (avail > 256)
			avail = 256;
		for (uint32_t i = 0; i < avail; i++) {
			*sum += U32(s + o_wl);
			s += ssize;
			if (s == end)
				s = base + sbase;
		}
		seq += avail;
		packets += avail;
		__atomic_store_n(cons, seq, __ATOMIC_RELEASE);
	}
}

int main(int argc, char **argv)
{
	struct lr_opts o = {.ring_bytes = 64ull << 20, .snaplen = 128};
	const char *dev = NULL, *backend = NULL;
	uint64_t st[5], sum = 0, n;
	sigset_t go;
	int h, sig;

	for (int a = 1; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : "";
		if (!strcmp(argv[a], "-s")) o.snaplen = (uint32_t)atoi(v), a++;
		else if (!strcmp(argv[a], "--ring-mb")) o.ring_bytes = (uint64_t)atof(v) << 20, a++;
		else if (!strcmp(argv[a], "--timeout-ms")) o.timeout_ms = (uint32_t)atoi(v), a++;
		else if (!dev) dev = argv[a];
		else if (!backend) backend = argv[a];
		else { fprintf(stderr, "cdrain: unexpected argument %s\n", argv[a]); return 2; }
	}
	if (!dev || !backend || (strcmp(backend, "ring") && strcmp(backend, "packet"))) {
		fprintf(stderr, "usage: cdrain IFACE ring|packet [--ring-mb N] [-s SNAPLEN] [--timeout-ms MS]\n");
		return 2;
	}
	o.backend = !strcmp(backend, "ring") ? LR_BACKEND_RING : LR_BACKEND_PACKET;
	sigemptyset(&go);
	sigaddset(&go, SIGUSR1);
	sigprocmask(SIG_BLOCK, &go, NULL);
	h = lr_open(dev, &o, NULL);
	if (h < 0) {
		fprintf(stderr, "cdrain: %s: %s %s\n", dev, lr_strerror(h), lr_error());
		return 1;
	}
	nkeys = lr_layout_get(h, L, 128);
	uint8_t *base = (uint8_t *)(uintptr_t)key("base");
	uint64_t kind = key("kind");
	if (kind != 1 && kind != 2) {
		fprintf(stderr, "cdrain: layout kind %llu is neither TPACKET_V3 (1) nor module slots (2)\n",
			(unsigned long long)kind);
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	if (sigwait(&go, &sig))
		return 1;
	double t0 = now();
	n = kind == 1 ? drain_v3(base, &sum) : drain_slots(base, &sum);
	double t = now() - t0;
	lr_stats(h, st);
	lr_close(h);
	printf("{\"read\":%llu,\"seconds\":%.6f,\"packets\":%llu,\"dropped\":%llu,\"bytes\":%llu}\n",
	       (unsigned long long)n, t, (unsigned long long)st[0], (unsigned long long)st[1],
	       (unsigned long long)sum);
	return 0;
}
