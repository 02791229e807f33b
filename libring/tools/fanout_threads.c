/*
 * fanout_threads — one fanout group read by N threads of one process: the C
 * model of a Worker cluster, and the check that libring can be used from
 * several threads at once (handle table, per-thread lr_error()).
 *   fanout_threads IFACE THREADS COUNT [--mode hash|lb|cpu|rollover|random|qm]
 *                  [--timeout MS]
 * All threads open IFACE paused at the same moment; thread 0 creates the
 * group (the kernel allocates its id), the others join it at the same moment;
 * each thread then provokes an error with its own number and checks, after
 * every thread did, that lr_error() still shows its own (messages are per
 * thread); then all start. It prints "ready GROUP" once every member
 * listens, reads until the members together read COUNT frames (then 200 ms
 * more, so a duplicate would show) or --timeout (default 10000) ms pass, and
 * prints one JSON line:
 *   {"group":G,"read":[n0,n1,...],"dropped":D,"errors_per_thread":true}
 * Exit 0, or 1 with the reason on stderr.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../libring.h"

#define MAX_THREADS 64
#define NKEYS 128

static const char *dev;
static int nthreads, mode = LR_FANOUT_HASH, group = -1, failed, errors_ok = 1;
static uint64_t want, total, dropped, timeout_ms = 10000;
static pthread_barrier_t barrier;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct member {
	int k, h;
	uint64_t read;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(int k, const char *what, int rc)
{
	pthread_mutex_lock(&lock);
	fprintf(stderr, "fanout_threads: thread %d: %s: %s (%s)\n", k, what, lr_strerror(rc), lr_error());
	failed = 1;
	pthread_mutex_unlock(&lock);
}

static uint64_t key(const uint64_t *L, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(lr_layout_key(i), name))
			return L[i];
	return 0;
}

#define U32(p) (*(volatile uint32_t *)(p))

static void *run(void *arg)
{
	struct member *m = arg;
	struct lr_opts o = {.ring_bytes = 4u << 20, .flags = LR_F_PAUSED, .backend = LR_BACKEND_PACKET};
	uint64_t L[NKEYS], st[5];
	char mine[64];
	int rc, n;

	pthread_barrier_wait(&barrier); /* open all at once */
	m->h = lr_open(dev, &o, "");
	if (m->h < 0)
		fail(m->k, "open", m->h);
	if (m->k == 0 && m->h >= 0) {
		group = lr_fanout(m->h, 0, (uint32_t)mode, 0, (uint32_t)nthreads);
		if (group < 0)
			fail(0, "creating the group", group);
	}
	pthread_barrier_wait(&barrier); /* the group exists */
	if (m->k && m->h >= 0 && group > 0 &&
	    (rc = lr_fanout(m->h, (uint32_t)group, (uint32_t)mode, 0, (uint32_t)nthreads)) != group)
		fail(m->k, "joining the group", rc);
	/* an error of our own; every thread's is set before any is checked */
	lr_fanout(m->h, 0, 100u + (uint32_t)m->k, 0, 0);
	snprintf(mine, sizeof(mine), "unknown fanout mode %d:", 100 + m->k);
	pthread_barrier_wait(&barrier);
	if (!strstr(lr_error(), mine)) {
		pthread_mutex_lock(&lock);
		fprintf(stderr, "fanout_threads: thread %d sees another thread's error: %s\n", m->k, lr_error());
		errors_ok = 0;
		pthread_mutex_unlock(&lock);
	}
	pthread_barrier_wait(&barrier); /* all members joined: start together */
	if (failed)
		return NULL;
	if ((rc = lr_start(m->h)) < 0)
		fail(m->k, "start", rc);
	pthread_barrier_wait(&barrier);
	if (m->k == 0 && !failed) {
		printf("ready %d\n", group);
		fflush(stdout);
	}

	n = lr_layout_get(m->h, L, NKEYS);
	uint8_t *base = (uint8_t *)(uintptr_t)key(L, n, "base");
	uint64_t bsize = key(L, n, "block_size"), bcount = key(L, n, "block_count");
	uint64_t o_st = key(L, n, "blk_status_off"), o_num = key(L, n, "blk_num_pkts_off");
	uint32_t blk = 0;
	double t_end = now() + (double)timeout_ms / 1000, t_done = 0;

	while (!failed) {
		double t = now();
		if (t >= t_end || (t_done && t >= t_done + 0.2))
			break;
		if (!t_done && __atomic_load_n(&total, __ATOMIC_RELAXED) >= want)
			t_done = t;
		uint8_t *b = base + blk * bsize;
		if (!(__atomic_load_n((uint32_t *)(b + o_st), __ATOMIC_ACQUIRE) & 1)) {
			if ((rc = lr_wait(m->h, blk, 20)) < 0)
				fail(m->k, "wait", rc);
			continue;
		}
		uint32_t got = U32(b + o_num);
		m->read += got;
		__atomic_add_fetch(&total, got, __ATOMIC_RELAXED);
		__atomic_store_n((uint32_t *)(b + o_st), 0, __ATOMIC_RELEASE);
		blk = (uint32_t)((blk + 1) % bcount);
	}
	if (lr_stats(m->h, st) == 0)
		__atomic_add_fetch(&dropped, st[1], __ATOMIC_RELAXED);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"hash", "lb", "cpu", "rollover", "random", "qm"};
	struct member ms[MAX_THREADS] = {0};
	pthread_t th[MAX_THREADS];

	if (argc < 4) {
		fprintf(stderr, "usage: fanout_threads IFACE THREADS COUNT [--mode M] [--timeout MS]\n");
		return 2;
	}
	dev = argv[1];
	nthreads = atoi(argv[2]);
	want = strtoull(argv[3], NULL, 10);
	for (int a = 4; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--timeout")) {
			timeout_ms = strtoull(argv[a + 1], NULL, 10);
		} else if (!strcmp(argv[a], "--mode")) {
			mode = -1;
			for (int i = 0; i < 6; i++)
				if (!strcmp(argv[a + 1], modes[i]))
					mode = i;
			if (mode < 0) {
				fprintf(stderr, "fanout_threads: unknown mode %s\n", argv[a + 1]);
				return 2;
			}
		} else {
			fprintf(stderr, "fanout_threads: unknown option %s\n", argv[a]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS) {
		fprintf(stderr, "fanout_threads: THREADS must be 1..%d\n", MAX_THREADS);
		return 2;
	}
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	for (int k = 0; k < nthreads; k++) {
		ms[k].k = k;
		ms[k].h = -1;
		pthread_create(&th[k], NULL, run, &ms[k]);
	}
	for (int k = 0; k < nthreads; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k < nthreads; k++)
		if (ms[k].h >= 0)
			lr_close(ms[k].h);
	if (failed)
		return 1;
	printf("{\"group\":%d,\"read\":[", group);
	for (int k = 0; k < nthreads; k++)
		printf("%s%llu", k ? "," : "", (unsigned long long)ms[k].read);
	printf("],\"dropped\":%llu,\"errors_per_thread\":%s}\n", (unsigned long long)dropped,
	       errors_ok ? "true" : "false");
	return errors_ok ? 0 : 1;
}
