/*
 * UNFINISHED prototype (issue 19 slice d), not built by the Makefile: loads
 * xsk_ts.bpf.o with libxdp (xdp_program__open_file/attach), creates the socket
 * with XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, puts it in the program s xsks_map
 * (xsk_socket__update_xskmap), and prints each frame s metadata timestamp.
 * Build: gcc -O2 -o t proto_xsk_ts.c -lxdp -lbpf (libxdp-dev, libbpf-dev).
 * Run: ./t VETH 2 (native) | ./t VETH 1 (generic), from the directory of the .o
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <net/if.h>
#include <sys/mman.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
int main(int argc, char **argv) {
	const char *dev = argv[1]; int mode = atoi(argv[2]); /* 1 skb 2 drv */
	(void)argc;
	int ifindex = if_nametoindex(dev);
	struct xdp_program *prog = xdp_program__open_file("xsk_ts.bpf.o", "xdp", NULL);
	if (libxdp_get_error(prog)) { printf("open fail\n"); return 1; }
	int err = xdp_program__attach(prog, ifindex, mode == 1 ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	if (err) { printf("attach %d\n", err); return 1; }
	int mapfd = bpf_object__find_map_fd_by_name(xdp_program__bpf_obj(prog), "xsks_map");
	size_t n = 4096, sz = n * 4096;
	void *area = mmap(NULL, sz, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	struct xsk_ring_prod fq; struct xsk_ring_cons cq, rx; struct xsk_umem *umem; struct xsk_socket *xsk;
	struct xsk_umem_config uc = {.fill_size = n, .comp_size = 64, .frame_size = 4096, .frame_headroom = 0};
	err = xsk_umem__create(&umem, area, sz, &fq, &cq, &uc); if (err) { printf("umem %d\n", err); goto out; }
	__u32 idx; xsk_ring_prod__reserve(&fq, n, &idx); for (size_t i = 0; i < n; i++) *xsk_ring_prod__fill_addr(&fq, idx + i) = i * 4096; xsk_ring_prod__submit(&fq, n);
	struct xsk_socket_config sc = {.rx_size = n, .tx_size = 0, .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, .xdp_flags = 0, .bind_flags = 0};
	err = xsk_socket__create(&xsk, dev, 0, umem, &rx, NULL, &sc); if (err) { printf("xsk %d\n", err); goto out; }
	err = xsk_socket__update_xskmap(xsk, mapfd); if (err) { printf("map %d\n", err); goto out; }
	printf("ready\n"); fflush(stdout);
	struct pollfd p = {.fd = xsk_socket__fd(xsk), .events = POLLIN};
	int got = 0;
	while (got < 5 && poll(&p, 1, 5000) > 0) {
		__u32 i; int k = xsk_ring_cons__peek(&rx, 64, &i);
		struct timespec now; clock_gettime(CLOCK_MONOTONIC, &now);
		for (int j = 0; j < k; j++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, i + j);
			__u64 ts = *(__u64 *)((char *)area + d->addr - 8);
			long long age = (long long)now.tv_sec * 1000000000 + now.tv_nsec - (long long)ts;
			printf("addr %llu len %u ts %llu age %lld ns\n", (unsigned long long)d->addr, d->len, (unsigned long long)ts, age);
			got++;
		}
		xsk_ring_cons__release(&rx, k);
	}
out:
	xdp_program__detach(prog, ifindex, mode == 1 ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	return 0;
}
