/*
 * drainwrap — time how fast a capture process empties a full ring.
 *   drainwrap [--settle MS] [--no-mmap] [--timeout S] -- CMD [ARGS...]
 * Runs CMD (in the current network namespace), waits until it has a packet
 * socket bound (/proc/PID/net/packet) and, unless --no-mmap, a mapped ring
 * (/proc/PID/maps: "socket:["), lets it settle, SIGSTOPs it and prints
 * "STOPPED". The caller fills the ring, then writes one line to our stdin:
 * we SIGCONT the process and time it until it exits. CMD's stdout and stderr
 * lines are relayed as "OUT <line>" / "ERR <line>"; the last line is
 *   DRAIN {"exit":S,"first_out":S,"drained":S,"status":N}
 * exit = SIGCONT to process exit (its ring close included), first_out =
 * SIGCONT to its first stdout line (-1 if none).
 * --watch BLOCK_BYTES: the reader's ring is TPACKET_V3 with blocks of that
 * size; we read its block status words (process_vm_readv) and report
 * drained = SIGCONT until the last full block is handed back to the kernel
 * (the reader's own speed, without its close and exit; -1 if not seen).
 * --warm: print "READY" first and wait for a line before stopping, so the
 * caller can send warm-up traffic that the reader reads live (every ring
 * page touched once before the timed drain).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/prctl.h>
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

/* The reader's mapped ring: the "socket:[" line of /proc/PID/maps. */
static int ring_range(pid_t pid, uint64_t *start, uint64_t *len)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	int ok = 0;
	if (!f) return 0;
	while (!ok && fgets(line, sizeof line, f)) {
		unsigned long long a, b;
		if (strstr(line, "socket:[") && sscanf(line, "%llx-%llx", &a, &b) == 2)
			*start = a, *len = b - a, ok = 1;
	}
	fclose(f);
	return ok;
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
	int settle_ms = 300, mmap_check = 1, warm = 0, a = 1;
	uint64_t watch = 0;
	double timeout = 60;
	for (; a < argc && strcmp(argv[a], "--"); a++) {
		if (!strcmp(argv[a], "--settle") && a + 1 < argc) settle_ms = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--no-mmap")) mmap_check = 0;
		else if (!strcmp(argv[a], "--warm")) warm = 1;
		else if (!strcmp(argv[a], "--watch") && a + 1 < argc) watch = strtoull(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "--timeout") && a + 1 < argc) timeout = atof(argv[++a]);
		else { fprintf(stderr, "drainwrap: unknown option %s\n", argv[a]); return 2; }
	}
	if (a + 1 >= argc) { fprintf(stderr, "usage: drainwrap [--settle MS] [--no-mmap] -- CMD...\n"); return 2; }
	int po[2], pe[2];
	if (pipe(po) || pipe(pe)) { perror("pipe"); return 1; }
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the wrapper */
		dup2(po[1], 1), dup2(pe[1], 2);
		close(po[0]), close(pe[0]), close(po[1]), close(pe[1]);
		execvp(argv[a + 1], argv + a + 1);
		perror("exec");
		_exit(127);
	}
	close(po[1]), close(pe[1]);
	struct relay out = {.fd = po[0], .tag = "OUT"}, err = {.fd = pe[0], .tag = "ERR"};
	char path[64], mpath[64];
	snprintf(path, sizeof path, "/proc/%d/net/packet", pid);
	snprintf(mpath, sizeof mpath, "/proc/%d/maps", pid);
	double t0 = now();
	struct pollfd pf[2] = {{.fd = out.fd, .events = POLLIN}, {.fd = err.fd, .events = POLLIN}};
	int out_open = 1, err_open = 1;
	for (;;) {
		if (file_has(path, NULL, 1) && (!mmap_check || file_has(mpath, "socket:[", 0))) break;
		if (now() - t0 > timeout) { fprintf(stderr, "drainwrap: no capture socket after %.0f s\n", timeout); kill(pid, SIGKILL); return 1; }
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			while (out_open && pump(&out) >= 0) {}
			while (err_open && pump(&err) >= 0) {}
			fprintf(stderr, "drainwrap: %s exited before capturing (status %d)\n", argv[a + 1], st);
			return 1;
		}
		if (poll(pf, 2, 10) > 0) {
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
	/* the last block the kernel handed to the reader: the end of the run of
	 * TP_STATUS_USER blocks (block_status is at offset 8 of each block) */
	uint64_t rs = 0, rl = 0, last = UINT64_MAX;
	double drained = -1;
	if (watch && ring_range(pid, &rs, &rl)) {
		uint64_t nb = rl / watch;
		for (uint64_t b = 0; b < nb; b++) {
			uint32_t s1 = 0, s2 = 0;
			peek32(pid, rs + b * watch + 8, &s1);
			peek32(pid, rs + ((b + 1) % nb) * watch + 8, &s2);
			if ((s1 & 1) && !(s2 & 1)) { last = b; break; }
		}
	}
	double tc = now(), first = -1;
	int interrupted = 0;
	kill(pid, SIGCONT);
	if (last != UINT64_MAX) {
		uint32_t v = 1;
		while (now() - tc < timeout) {
			if (peek32(pid, rs + last * watch + 8, &v) < 0) break; /* unmapped: closed */
			if (!(v & 1)) { drained = now() - tc; break; }
			if (out_open && poll(pf, 1, 0) > 0) { /* timestamp the first output line meanwhile */
				int k = pump(&out);
				if (k > 0 && first < 0) first = now() - tc;
				if (k < 0) { pf[0].fd = -1, out_open = 0; break; }
			}
			struct timespec ts = {0, 20000};
			nanosleep(&ts, NULL);
		}
	}
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
	printf("DRAIN {\"exit\":%.6f,\"first_out\":%.6f,\"drained\":%.6f,\"status\":%d}\n", te, first, drained,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
