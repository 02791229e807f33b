/*
 * xsk_ts.bpf.c — the xdp backend's XDP program: per-packet kernel timestamps.
 * It writes bpf_ktime_get_ns() (CLOCK_MONOTONIC) into 8 bytes of XDP
 * metadata and redirects the frame to the AF_XDP socket of its receive queue
 * (xsks_map, filled by libring); AF_XDP copies the metadata into the UMEM
 * just before the frame (desc.addr - 8), where lib/source/live/ring_xdp.ts
 * reads it. A queue without a socket passes its frames to the stack; a driver
 * without metadata support (adjust_meta fails) gets a 0 stamp, which the
 * reader reports as "no timestamp".
 * Built by scripts/build.sh (clang -O2 -g -target bpf; -g gives the BTF that
 * libxdp's dispatcher needs) into libring/build/xsk_ts.bpf.o; loaded and
 * attached through libxdp by libring/src/backend_xdp.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int ringcap_xsk(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	if (!bpf_map_lookup_elem(&xsks_map, &q))
		return XDP_PASS;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u64)) == 0) {
		void *data = (void *)(long)ctx->data;
		__u64 *meta = (void *)(long)ctx->data_meta;
		if ((void *)(meta + 1) <= data)
			*meta = bpf_ktime_get_ns();
	}
	return bpf_redirect_map(&xsks_map, q, XDP_PASS);
}
char _license[] SEC("license") = "GPL";
