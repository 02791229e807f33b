/*
 * drainwrap — time how fast a capture process empties a full ring.
 *   drainwrap [--settle MS] [--no-mmap] [--timeout S] -- CMD [ARGS...]
 * Runs CMD (in the current network namespace), waits until it has a packet
 * socket bound (/proc/PID/net/packet) and, unless --no-mmap, a mapped ring
 * (/proc/PID/maps: "socket:["), lets it settle, SIGSTOPs it and prints
 * "STOPPED". The caller fills the ring, then writes one line to our stdin:
 * we SIGCONT the process and time it until it exits. CMD's stdout and stderr
 * lines are relayed as "OUT <line>" / "ERR <line>"; the last line is
 *   DRAIN {"exit":S,"first_out":S,"drained":S,"drain_cpu":S,"start":S,"rings":N,"ring_drained":[S,...],"status":N}
 * exit = SIGCONT to process exit (its ring close included), first_out =
 * SIGCONT to its first stdout line (-1 if none).
 * --watch BLOCK_BYTES: the reader's ring is TPACKET_V3 with blocks of that
 * size; we read its block status words (process_vm_readv) and report
 * drained = SIGCONT until the last full block is handed back to the kernel
 * (the reader's own speed, without its close and exit; -1 if not seen).
 * --warm: print "READY" first and wait for a line before stopping, so the
 * caller can send warm-up traffic that the reader reads live (every ring
 * page touched once before the timed drain).
 * --rings N: the reader maps N rings (one per fanout-group member, e.g.
 * `--workers N`): ready once N ring sockets are mapped and none of them still
 * has the start barrier's drop-all filter (libring opens group members
 * paused with a one-instruction "ret #0" program until every member joined;
 * read with sock_diag PACKET_SHOW_FILTER). --watch then watches every ring;
 * drained = SIGCONT until the last of them handed its last full block back
 * (ring_drained: each ring's; -1 for a ring that got no frame; drain_cpu:
 * CPU seconds all the reader's threads used meanwhile, from schedstat).
 * The DRAIN line also gives start = the reader's fork to that ready moment
 * (its start-up: runtime, module loading, Workers, rings opened and started),
 * polled every millisecond.
 * --watch-us US: pause between two looks at the watched blocks (default 20;
 * each look wakes this process, which competes for the CPUs with a reader
 * that runs several threads).
 * --autogroup-nice N: the reader gets a session of its own (setsid) whose
 * autogroup has nice N (/proc/self/autogroup). With autogroups on (Linux's
 * default), CPU time is shared between sessions first: one busy thread of
 * another session keeps a two-thread reader to one of two CPUs, whatever
 * the reader's own nice; a negative N lets it take both.
 * --sigint-drained: SIGINT the reader once every watched ring is drained
 * (for readers run without -c: the timed part ends at the drain, the reader
 * then prints its counters and exits).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int file_has(const char *path, const char *needle, int packet_table)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int found = 0;
	if (!f) return 0;
	if (packet_table) { /* header line, then one line per socket */
		found = fgets(line, sizeof line, f) && fgets(line, sizeof line, f);
	} else {
		while (!found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
	}
	fclose(f);
	return found;
}

#define MAX_RINGS 64

/* One mapped ring of the reader: its socket's inode and address range. */
struct ring { unsigned long ino; uint64_t start, len, last; double drained; };

/* The reader's mapped rings: the "socket:[INODE]" lines of /proc/PID/maps,
 * one per inode (consecutive mappings of one socket merged). */
static int rings_of(pid_t pid, struct ring *r, int max)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	int n = 0;
	if (!f) return 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long a, b;
		unsigned long ino;
		char *s = strstr(line, "socket:[");
		if (!s || sscanf(line, "%llx-%llx", &a, &b) != 2 || sscanf(s, "socket:[%lu]", &ino) != 1) continue;
		int i = 0;
		while (i < n && r[i].ino != ino) i++;
		if (i < n) {
			if (a < r[i].start) r[i].len += r[i].start - a, r[i].start = a;
			if (b > r[i].start + r[i].len) r[i].len = b - r[i].start;
		} else if (n < max) {
			r[n].ino = ino, r[n].start = a, r[n].len = b - a, r[n].last = UINT64_MAX, r[n].drained = -1, n++;
		}
	}
	fclose(f);
	return n;
}

/* CPU time of every thread of pid so far (ns, /proc/PID/task/TID/schedstat). */
static uint64_t cpu_ns(pid_t pid)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	DIR *d = opendir(path);
	uint64_t sum = 0;
	struct dirent *e;
	if (!d) return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		snprintf(path, sizeof path, "/proc/%d/task/%.20s/schedstat", pid, e->d_name);
		FILE *f = fopen(path, "r");
		unsigned long long ns = 0;
		if (f && fscanf(f, "%llu", &ns) == 1) sum += ns;
		if (f) fclose(f);
	}
	closedir(d);
	return sum;
}

/* How many of the n ring sockets in r still have the start barrier's
 * drop-all program (one instruction, "ret #0") attached, from sock_diag
 * (PACKET_SHOW_FILTER: root only); -1 if the dump failed. */
static int paused_rings(const struct ring *r, int n)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) return -1;
	struct {
		struct nlmsghdr nlh;
		struct packet_diag_req req;
	} q = {
		.nlh = {.nlmsg_len = sizeof q, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
		.req = {.sdiag_family = AF_PACKET, .pdiag_show = PACKET_SHOW_FILTER},
	};
	int paused = 0, done = 0;
	if (send(fd, &q, sizeof q, 0) < 0) { close(fd); return -1; }
	static char buf[65536] __attribute__((aligned(8)));
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof buf, 0);
		if (len <= 0) { paused = -1; break; }
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE) { done = 1; break; }
			if (h->nlmsg_type == NLMSG_ERROR) { paused = -1, done = 1; break; }
			struct packet_diag_msg *m = NLMSG_DATA(h);
			int mine = 0;
			for (int i = 0; i < n; i++) mine |= r[i].ino == m->pdiag_ino;
			if (!mine) continue;
			int alen = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof *m);
			for (struct nlattr *a = (struct nlattr *)(m + 1); alen >= (int)sizeof *a && a->nla_len >= sizeof *a &&
			     a->nla_len <= alen; alen -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
				if (a->nla_type != PACKET_DIAG_FILTER) continue;
				struct sock_filter *ins = (struct sock_filter *)((char *)a + NLA_HDRLEN);
				if (a->nla_len - NLA_HDRLEN == sizeof *ins && ins->code == (BPF_RET | BPF_K) && ins->k == 0) paused++;
			}
		}
	}
	close(fd);
	return paused;
}

/* The reader is capturing: a packet socket bound and, for ring readers,
 * `want` rings mapped, none of them paused at the start barrier. */
static int reader_ready(pid_t pid, const char *packet_path, int mmap_check, int want)
{
	struct ring r[MAX_RINGS];
	if (!file_has(packet_path, NULL, 1)) return 0;
	if (!mmap_check) return 1;
	int n = rings_of(pid, r, MAX_RINGS);
	return n >= want && paused_rings(r, n) == 0;
}

static int peek32(pid_t pid, uint64_t addr, uint32_t *v)
{
	struct iovec l = {v, 4}, r = {(void *)(uintptr_t)addr, 4};
	return process_vm_readv(pid, &l, 1, &r, 1, 0) == 4 ? 0 : -1;
}

struct relay { int fd; const char *tag; char buf[65536]; size_t len; };

/* Relay complete lines; returns 1 if a line was seen, -1 on EOF. */
static int pump(struct relay *r)
{
	ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
	int lines = 0;
	if (n <= 0) {
		if (n < 0 && errno == EINTR) return 0;
		if (r->len) printf("%s %.*s\n", r->tag, (int)r->len, r->buf), r->len = 0, lines = 1;
		fflush(stdout);
		return lines ? 1 : -1;
	}
	r->len += (size_t)n;
	char *s = r->buf, *e;
	while ((e = memchr(s, '\n', r->len - (size_t)(s - r->buf)))) {
		printf("%s %.*s\n", r->tag, (int)(e - s), s);
		s = e + 1, lines = 1;
	}
	r->len -= (size_t)(s - r->buf);
	memmove(r->buf, s, r->len);
	if (r->len == sizeof r->buf - 1) r->len = 0;
	fflush(stdout);
	return lines;
}

int main(int argc, char **argv)
{
	int settle_ms = 300, mmap_check = 1, warm = 0, want_rings = 1, sigint_drained = 0, a = 1;
	const char *ag_nice = NULL;
	uint64_t watch = 0;
	long watch_us = 20;
	double timeout = 60;
	for (; a < argc && strcmp(argv[a], "--"); a++) {
		if (!strcmp(argv[a], "--settle") && a + 1 < argc) settle_ms = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--no-mmap")) mmap_check = 0;
		else if (!strcmp(argv[a], "--warm")) warm = 1;
		else if (!strcmp(argv[a], "--watch") && a + 1 < argc) watch = strtoull(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "--timeout") && a + 1 < argc) timeout = atof(argv[++a]);
		else if (!strcmp(argv[a], "--rings") && a + 1 < argc) want_rings = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--sigint-drained")) sigint_drained = 1;
		else if (!strcmp(argv[a], "--watch-us") && a + 1 < argc) watch_us = atol(argv[++a]);
		else if (!strcmp(argv[a], "--autogroup-nice") && a + 1 < argc) ag_nice = argv[++a];
		else { fprintf(stderr, "drainwrap: unknown option %s\n", argv[a]); return 2; }
	}
	if (a + 1 >= argc) { fprintf(stderr, "usage: drainwrap [--settle MS] [--no-mmap] [--warm] [--watch BLOCK_BYTES] [--rings N] [--watch-us US] [--autogroup-nice N] [--sigint-drained] [--timeout S] -- CMD...\n"); return 2; }
	if (want_rings < 1 || want_rings > MAX_RINGS) { fprintf(stderr, "drainwrap: --rings 1..%d\n", MAX_RINGS); return 2; }
	int po[2], pe[2];
	if (pipe(po) || pipe(pe)) { perror("pipe"); return 1; }
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the wrapper */
		if (ag_nice) {
			FILE *f;
			if (setsid() < 0 || !(f = fopen("/proc/self/autogroup", "w")) || fprintf(f, "%s\n", ag_nice) < 0 ||
			    fclose(f) != 0)
				fprintf(stderr, "drainwrap: autogroup nice %s: %s\n", ag_nice, strerror(errno));
		}
		dup2(po[1], 1), dup2(pe[1], 2);
		close(po[0]), close(pe[0]), close(po[1]), close(pe[1]);
		execvp(argv[a + 1], argv + a + 1);
		perror("exec");
		_exit(127);
	}
	close(po[1]), close(pe[1]);
	struct relay out = {.fd = po[0], .tag = "OUT"}, err = {.fd = pe[0], .tag = "ERR"};
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/net/packet", pid);
	struct pollfd pf[2] = {{.fd = out.fd, .events = POLLIN}, {.fd = err.fd, .events = POLLIN}};
	int out_open = 1, err_open = 1;
	double started = -1;
	for (;;) {
		if (reader_ready(pid, path, mmap_check, want_rings)) { started = now() - t0; break; }
		if (now() - t0 > timeout) { fprintf(stderr, "drainwrap: no capture socket after %.0f s\n", timeout); kill(pid, SIGKILL); return 1; }
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			while (out_open && pump(&out) >= 0) {}
			while (err_open && pump(&err) >= 0) {}
			fprintf(stderr, "drainwrap: %s exited before capturing (status %d)\n", argv[a + 1], st);
			return 1;
		}
		if (poll(pf, 2, 1) > 0) { /* 1 ms: the start-up time's resolution */
			if (pf[0].revents && pump(&out) < 0) pf[0].fd = -1, out_open = 0;
			if (pf[1].revents && pump(&err) < 0) pf[1].fd = -1, err_open = 0;
		}
	}
	double ts = now();
	while (now() - ts < settle_ms / 1000.0) {
		if (poll(pf, 2, 10) > 0) {
			if (pf[0].revents && pump(&out) < 0) pf[0].fd = -1, out_open = 0;
			if (pf[1].revents && pump(&err) < 0) pf[1].fd = -1, err_open = 0;
		}
	}
	int st;
	char line[256];
	if (warm) { /* the caller sends warm-up traffic the reader reads live */
		printf("READY\n");
		fflush(stdout);
		if (!fgets(line, sizeof line, stdin)) { kill(pid, SIGKILL); return 1; }
	}
	kill(pid, SIGSTOP);
	if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st)) { fprintf(stderr, "drainwrap: could not stop\n"); return 1; }
	printf("STOPPED\n");
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin)) { kill(pid, SIGKILL); kill(pid, SIGCONT); return 1; }
	/* in each ring, the last block the kernel handed to the reader: the end
	 * of the run of TP_STATUS_USER blocks (block_status is at offset 8 of
	 * each block); a ring that got no frame has none */
	struct ring rg[MAX_RINGS];
	int nr = watch ? rings_of(pid, rg, MAX_RINGS) : 0, pending = 0;
	for (int i = 0; i < nr; i++) {
		uint64_t nb = rg[i].len / watch;
		for (uint64_t b = 0; b < nb; b++) {
			uint32_t s1 = 0, s2 = 0;
			peek32(pid, rg[i].start + b * watch + 8, &s1);
			peek32(pid, rg[i].start + ((b + 1) % nb) * watch + 8, &s2);
			if ((s1 & 1) && !(s2 & 1)) { rg[i].last = b; pending++; break; }
		}
	}
	uint64_t cpu0 = cpu_ns(pid), cpu1 = 0;
	double tc = now(), first = -1, drained = -1;
	int interrupted = 0;
	kill(pid, SIGCONT);
	if (pending) {
		while (now() - tc < timeout) {
			int gone = 0;
			for (int i = 0; i < nr; i++) {
				uint32_t v = 1;
				if (rg[i].last == UINT64_MAX) continue;
				if (peek32(pid, rg[i].start + rg[i].last * watch + 8, &v) < 0) { gone = 1; break; } /* unmapped: closed */
				if (!(v & 1)) rg[i].last = UINT64_MAX, rg[i].drained = now() - tc, pending--;
			}
			if (gone) break;
			if (!pending) { drained = now() - tc, cpu1 = cpu_ns(pid); break; }
			if (out_open && poll(pf, 1, 0) > 0) { /* timestamp the first output line meanwhile */
				int k = pump(&out);
				if (k > 0 && first < 0) first = now() - tc;
				if (k < 0) { pf[0].fd = -1, out_open = 0; break; }
			}
			struct timespec ts = {watch_us / 1000000, watch_us % 1000000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (sigint_drained) kill(pid, SIGINT); /* drained (or the watch gave up): counters, then exit */
	while (out_open || err_open) {
		int r = poll(pf, 2, (int)(timeout * 1000));
		if (r == 0) {
			if (!interrupted) { fprintf(stderr, "drainwrap: timeout after SIGCONT: SIGINT\n"); kill(pid, SIGINT); interrupted = 1; timeout = 5; continue; }
			fprintf(stderr, "drainwrap: no exit after SIGINT: SIGKILL\n"); kill(pid, SIGKILL); break;
		}
		if (r < 0) continue;
		if (pf[0].revents) {
			int k = pump(&out);
			if (k > 0 && first < 0) first = now() - tc;
			if (k < 0) pf[0].fd = -1, out_open = 0;
		}
		if (pf[1].revents && pump(&err) < 0) pf[1].fd = -1, err_open = 0;
	}
	waitpid(pid, &st, 0);
	double te = now() - tc;
	printf("DRAIN {\"exit\":%.6f,\"first_out\":%.6f,\"drained\":%.6f,\"drain_cpu\":%.6f,\"start\":%.6f,\"rings\":%d,"
	       "\"ring_drained\":[", te, first, drained, cpu1 ? (cpu1 - cpu0) / 1e9 : -1.0, started, nr);
	for (int i = 0; i < nr; i++) printf("%s%.6f", i ? "," : "", rg[i].drained);
	printf("],\"status\":%d}\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
