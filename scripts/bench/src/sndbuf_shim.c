/*
 * sndbuf_shim.so — LD_PRELOAD for trafgen in the RPS setup: every AF_PACKET
 * socket gets SO_SNDBUFFORCE $SHIM_SNDBUF bytes (default 64 MiB), and the
 * program's own SO_SNDBUF calls are ignored. Without it trafgen's TX_RING
 * flush fails with EAGAIN once its 208 KiB send buffer fills (net.core.wmem_max
 * cannot be raised inside a namespace).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);
	if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	int fd = real(domain, type, protocol);
	if (fd >= 0 && domain == AF_PACKET) {
		const char *e = getenv("SHIM_SNDBUF");
		int v = e ? atoi(e) : 64 << 20;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v);
	}
	return fd;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);
	if (!real) real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
	if (level == SOL_SOCKET && name == SO_SNDBUF) return 0;
	return real(fd, level, name, val, len);
}
