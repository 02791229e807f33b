/*
 * layout_keys.h — what libring's C readers (cread, scripts/bench/src/cdrain.c)
 * share: the ring layout's values looked up by key (lr_layout_get() fills L,
 * key() finds one or exits naming TOOL_NAME), a monotonic clock in seconds,
 * and U32() for a volatile 32-bit load from the mapped ring.
 * Define TOOL_NAME before including it.
 */
#ifndef RINGCAP_LAYOUT_KEYS_H
#define RINGCAP_LAYOUT_KEYS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t L[128];
static int nkeys;
static uint64_t key(const char *k)
{
	for (int i = 0; i < nkeys; i++)
		if (!strcmp(lr_layout_key(i), k))
			return L[i];
	fprintf(stderr, TOOL_NAME ": layout has no key %s\n", k);
	exit(1);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

#define U32(p) (*(volatile uint32_t *)(p))
#endif
