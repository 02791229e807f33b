/*
 * txframes — send N deterministic, distinct Ethernet frames on an interface.
 *
 * Test and benchmark helper (run inside a namespace the test made):
 *   txframes IFACE COUNT [--seed S] [--min LEN] [--max LEN] [--pps RATE] [--vlan ID]
 * Frame i (the TS tests rebuild the same bytes in test/frames.ts):
 *   dst 02:00:00:00:00:99 (foreign: the receiver's stack drops it at once)
 *   src 02:00:00:00:00:01, [802.1Q tag with VLAN ID], ethertype 0x88b5,
 *   4-byte big-endian i, 4-byte big-endian seed,
 *   then byte k (k counted from the frame start) = (i*131 + k*7 + seed) & 0xff;
 *   length = min + (i*7919 + seed) % (max - min + 1).
 * Prints "sent N" and exits 0; a send error exits 1 with the reason.
 *
 *   txframes IFACE --pcap FILE [--pps RATE] [--loop N]
 * sends every record of a classic little-endian pcap file instead (mixed
 * traffic built by a test), in order, N times over.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void build(uint8_t *f, uint32_t len, uint32_t i, uint32_t seed, int vlan)
{
	static const uint8_t dst[6] = {2, 0, 0, 0, 0, 0x99}, src[6] = {2, 0, 0, 0, 0, 1};
	uint32_t p = 12;
	for (uint32_t k = 0; k < len; k++)
		f[k] = (uint8_t)(i * 131u + k * 7u + seed);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (vlan >= 0) {
		f[p++] = 0x81, f[p++] = 0x00;
		f[p++] = (uint8_t)(vlan >> 8), f[p++] = (uint8_t)vlan;
	}
	f[p++] = 0x88, f[p++] = 0xb5;
	for (int b = 3; b >= 0; b--)
		f[p++] = (uint8_t)(i >> (8 * b));
	for (int b = 3; b >= 0; b--)
		f[p++] = (uint8_t)(seed >> (8 * b));
}

/* Wait until `due` seconds after t0: sleep while more than 2 ms remain (a
 * spinning sender would hold its CPU and delay a reader woken onto it),
 * then spin for precision. */
static void pace(const struct timespec *t0, double due)
{
	struct timespec t;
	double now;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		now = (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
		if (now >= due)
			return;
		if (due - now > 0.002) {
			struct timespec nap = {0, (long)((due - now - 0.001) * 1e9)};
			nanosleep(&nap, NULL);
		}
	}
}

/* Send the records of a little-endian classic pcap file. */
static int send_pcap(int fd, struct sockaddr_ll *sll, const char *path, double pps, uint32_t loops)
{
	FILE *f = fopen(path, "rb");
	uint32_t gh[6], rh[4], n = 0, loop = 0;
	uint8_t buf[65536];
	struct timespec t0;

	if (!f) {
		fprintf(stderr, "txframes: cannot open %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (fread(gh, 4, 6, f) != 6 || (gh[0] != 0xa1b2c3d4 && gh[0] != 0xa1b23c4d)) {
		fprintf(stderr, "txframes: %s is not a little-endian pcap file\n", path);
		fclose(f);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (fread(rh, 4, 4, f) != 4) {
			if (++loop >= loops)
				break;
			fseek(f, 24, SEEK_SET); /* again from the first record */
			continue;
		}
		if (rh[2] > sizeof(buf) || fread(buf, 1, rh[2], f) != rh[2]) {
			fprintf(stderr, "txframes: %s: truncated record %u\n", path, n);
			fclose(f);
			return 2;
		}
		if (pps > 0)
			pace(&t0, n / pps);
		while (sendto(fd, buf, rh[2], 0, (struct sockaddr *)sll, sizeof(*sll)) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN) {
				usleep(100);
				continue;
			}
			fprintf(stderr, "txframes: send of record %u failed: %s\n", n, strerror(errno));
			fclose(f);
			return 1;
		}
		n++;
	}
	fclose(f);
	printf("sent %u\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t seed = 1, min = 60, max = 1514, count;
	double pps = 0;
	uint32_t loops = 1;
	int vlan = -1, fd;
	struct sockaddr_ll sll = {0};
	static uint8_t frame[65536];

	if (argc < 3) {
		fprintf(stderr, "usage: txframes IFACE COUNT [--seed S] [--min LEN] [--max LEN] "
				"[--pps RATE] [--vlan ID]\n       txframes IFACE --pcap FILE [--pps RATE] [--loop N]\n");
		return 2;
	}
	const char *pcap = NULL;
	int first = 3;
	if (!strcmp(argv[2], "--pcap")) {
		pcap = argv[3];
		first = 4;
		count = 0;
	} else {
		count = (uint32_t)strtoul(argv[2], NULL, 10);
	}
	for (int a = first; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--seed"))
			seed = (uint32_t)strtoul(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "--min"))
			min = (uint32_t)strtoul(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "--max"))
			max = (uint32_t)strtoul(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "--pps"))
			pps = strtod(argv[a + 1], NULL);
		else if (!strcmp(argv[a], "--loop"))
			loops = (uint32_t)strtoul(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "--vlan"))
			vlan = atoi(argv[a + 1]);
		else {
			fprintf(stderr, "txframes: unknown option %s\n", argv[a]);
			return 2;
		}
	}
	if (min < 22 || max > 65535 || min > max) { /* above MTU + 14 the kernel refuses (EMSGSIZE) */
		fprintf(stderr, "txframes: lengths must satisfy 22 <= min <= max <= 65535\n");
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("txframes: socket");
		return 1;
	}
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	sll.sll_halen = 6;
	if (!sll.sll_ifindex) {
		fprintf(stderr, "txframes: no interface %s\n", argv[1]);
		return 2;
	}
	if (pcap)
		return send_pcap(fd, &sll, pcap, pps, loops ? loops : 1);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t len = min + (i * 7919u + seed) % (max - min + 1);
		build(frame, len, i, seed, vlan);
		if (pps > 0) /* pace: wait until i/pps seconds since start */
			pace(&t0, i / pps);
		while (sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			if (errno == ENOBUFS || errno == EAGAIN) {
				usleep(100);
				continue;
			}
			fprintf(stderr, "txframes: send of frame %u failed: %s\n", i, strerror(errno));
			return 1;
		}
	}
	printf("sent %u\n", count);
	return 0;
}
