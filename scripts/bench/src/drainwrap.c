/*
 * drainwrap — time how fast a capture process empties a full ring.
 *   drainwrap [--settle MS] [--no-mmap] [--timeout S] -- CMD [ARGS...]
 * Runs CMD (in the current network namespace), waits until it has a packet
 * socket bound (/proc/PID/net/packet) and, unless --no-mmap, a mapped ring
 * (/proc/PID/maps: "socket:["), lets it settle, SIGSTOPs it and prints
 * "STOPPED". The caller fills the ring, then writes one line to our stdin:
 * we SIGCONT the process and time it until it exits. CMD's stdout and stderr
 * lines are relayed as "OUT <line>" / "ERR <line>"; the last line is
 *   DRAIN {"exit":S,"first_out":S,"status":N}
 * exit = SIGCONT to process exit (its ring close included), first_out =
 * SIGCONT to its first stdout line (-1 if none).
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
#include <sys/prctl.h>
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
	double timeout = 60;
	for (; a < argc && strcmp(argv[a], "--"); a++) {
		if (!strcmp(argv[a], "--settle") && a + 1 < argc) settle_ms = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--no-mmap")) mmap_check = 0;
		else if (!strcmp(argv[a], "--warm")) warm = 1;
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
	double tc = now(), first = -1;
	int interrupted = 0;
	kill(pid, SIGCONT);
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
	printf("DRAIN {\"exit\":%.6f,\"first_out\":%.6f,\"status\":%d}\n", te, first,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
