/*
 * recvread — the paper's no-ring baseline: one recvfrom() per packet on an
 * AF_PACKET SOCK_RAW socket (what libpcap did without PACKET_MMAP).
 *   recvread IFACE [-c COUNT] [-s SNAPLEN] [--rcvbuf BYTES]
 * Stops on SIGINT/SIGTERM or after COUNT packets; prints one JSON line like
 * cread: packets, dropped (kernel counters), filtered, bytes, read, seconds
 * (first to last packet), wall.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *dev = NULL;
	unsigned long long limit = 0, read_n = 0, bytes = 0, packets = 0, drops = 0;
	int snap = 65535, rcvbuf = 0;
	double t_open = now(), t_first = 0, t_last = 0;
	for (int a = 1; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : "0";
		if (!strcmp(argv[a], "-c")) limit = strtoull(v, NULL, 10), a++;
		else if (!strcmp(argv[a], "-s")) snap = atoi(v), a++;
		else if (!strcmp(argv[a], "--rcvbuf")) rcvbuf = atoi(v), a++;
		else if (!dev) dev = argv[a];
		else { fprintf(stderr, "recvread: unexpected argument %s\n", argv[a]); return 2; }
	}
	if (!dev) { fprintf(stderr, "usage: recvread IFACE [-c N] [-s SNAP] [--rcvbuf B]\n"); return 2; }
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0) { perror("recvread: socket"); return 2; }
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
		perror("recvread: SO_RCVBUFFORCE");
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex(dev)};
	if (!sll.sll_ifindex) { fprintf(stderr, "recvread: no interface %s\n", dev); return 2; }
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("recvread: bind"); return 2; }
	struct packet_mreq mr = {.mr_ifindex = sll.sll_ifindex, .mr_type = PACKET_MR_PROMISC};
	setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: recvfrom returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	unsigned char *buf = malloc((size_t)snap);
	while (!stop && (!limit || read_n < limit)) {
		ssize_t n = recvfrom(fd, buf, (size_t)snap, MSG_TRUNC, NULL, NULL);
		if (n < 0) {
			if (errno == EINTR) continue;
			perror("recvread: recvfrom");
			return 1;
		}
		if (!t_first) t_first = now();
		read_n++, bytes += (unsigned long long)n;
		t_last = now();
	}
	struct tpacket_stats st;
	socklen_t sl = sizeof st;
	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
		packets = st.tp_packets - st.tp_drops, drops = st.tp_drops;
	close(fd);
	/* tp_packets counts what was queued since the last read of the counters;
	 * what we read plus what is still queued is at least that. */
	if (packets < read_n) packets = read_n;
	printf("{\"packets\":%llu,\"dropped\":%llu,\"filtered\":0,\"bytes\":%llu,\"read\":%llu,"
	       "\"seconds\":%.6f,\"wall\":%.6f}\n",
	       packets, drops, bytes, read_n, t_first ? t_last - t_first : 0.0, now() - t_open);
	return 0;
}
