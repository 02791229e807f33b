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

#include "xsk_ts.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, RC_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

/* Per queue: what its capture asked for (filter, sampling, paused) and its counters. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RC_MAX_QUEUES);
	__type(key, __u32);
	__type(value, struct rc_queue);
} rc_queues SEC(".maps");

/* Per queue: its classic BPF filter (libpcap's), RC_MAX_INSNS instructions from q * RC_MAX_INSNS. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RC_MAX_QUEUES * RC_MAX_INSNS);
	__type(key, __u32);
	__type(value, struct rc_insn);
} rc_insns SEC(".maps");

/* The classic BPF machine of one frame (per CPU: no stack limits on its memory). */
struct rc_vm {
	__u32 A, X, pc, base, len, ret, nins;
	__u32 M[16];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rc_vm);
} rc_vm SEC(".maps");

struct rc_run {
	struct xdp_md *ctx;
	struct rc_vm *v;
};

/* Load size bytes at off, big-endian, as classic BPF does; -1 past the frame. */
static __always_inline int rc_load(struct rc_run *r, __u32 off, __u32 size, __u32 *out)
{
	__u8 b[4] = {0, 0, 0, 0};
	struct rc_vm *v = r->v;

	if (off >= v->len || size > v->len - off)
		return -1;
	if (size == 4) {
		if (bpf_xdp_load_bytes(r->ctx, off, b, 4))
			return -1;
		*out = (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
	} else if (size == 2) {
		if (bpf_xdp_load_bytes(r->ctx, off, b, 2))
			return -1;
		*out = (__u32)b[0] << 8 | b[1];
	} else {
		if (bpf_xdp_load_bytes(r->ctx, off, b, 1))
			return -1;
		*out = b[0];
	}
	return 0;
}

/* One classic BPF instruction (the kernel's sk_run_filter semantics); 1 ends the run. */
static long rc_step(__u32 i, void *arg)
{
	struct rc_run *r = arg;
	struct rc_vm *v = r->v;
	struct rc_insn *f;
	__u32 key, k, val = 0, src;

	(void)i;
	if (v->pc >= v->nins || v->pc >= RC_MAX_INSNS)
		goto reject;
	key = v->base + v->pc;
	f = bpf_map_lookup_elem(&rc_insns, &key);
	if (!f)
		goto reject;
	v->pc++;
	k = f->k;
	switch (f->code & 0x07) {
	case RC_LD:
	case RC_LDX: {
		__u32 mode = f->code & 0xe0, size = f->code & 0x18;
		__u32 n = size == RC_W ? 4 : size == RC_H ? 2 : 1;
		if (mode == RC_IMM) {
			val = k;
		} else if (mode == RC_LEN) {
			val = v->len;
		} else if (mode == RC_MEM) {
			val = v->M[k & 15];
		} else if (mode == RC_ABS) {
			if (rc_load(r, k, n, &val))
				goto reject;
		} else if (mode == RC_IND) {
			if (rc_load(r, v->X + k, n, &val))
				goto reject;
		} else if (mode == RC_MSH) {
			if (rc_load(r, k, 1, &val))
				goto reject;
			val = (val & 0xf) << 2;
		} else {
			goto reject;
		}
		if ((f->code & 0x07) == RC_LD)
			v->A = val;
		else
			v->X = val;
		return 0;
	}
	case RC_ST:
		v->M[k & 15] = v->A;
		return 0;
	case RC_STX:
		v->M[k & 15] = v->X;
		return 0;
	case RC_ALU:
		src = f->code & RC_X ? v->X : k;
		switch (f->code & 0xf0) {
		case 0x00: v->A += src; break;
		case 0x10: v->A -= src; break;
		case 0x20: v->A *= src; break;
		case 0x30:
			if (!src)
				goto reject;
			v->A /= src;
			break;
		case 0x40: v->A |= src; break;
		case 0x50: v->A &= src; break;
		case 0x60: v->A = src >= 32 ? 0 : v->A << src; break;
		case 0x70: v->A = src >= 32 ? 0 : v->A >> src; break;
		case 0x80: v->A = -v->A; break;
		case 0x90:
			if (!src)
				goto reject;
			v->A %= src;
			break;
		case 0xa0: v->A ^= src; break;
		default: goto reject;
		}
		return 0;
	case RC_JMP: {
		__u32 op = f->code & 0xf0, t;
		src = f->code & RC_X ? v->X : k;
		if (op == 0x00) {
			v->pc += k;
			return 0;
		}
		t = op == 0x10 ? v->A == src : op == 0x20 ? v->A > src : op == 0x30 ? v->A >= src
		  : op == 0x40 ? (v->A & src) != 0 : 2;
		if (t == 2)
			goto reject;
		v->pc += t ? f->jt : f->jf;
		return 0;
	}
	case RC_RET:
		v->ret = (f->code & 0x18) == RC_RET_A ? v->A : k;
		return 1;
	case RC_MISC:
		if (f->code & 0x80)
			v->A = v->X; /* TXA */
		else
			v->X = v->A; /* TAX */
		return 0;
	}
reject:
	v->ret = 0;
	return 1;
}

SEC("xdp")
int ringcap_xsk(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index, zero = 0;
	__u64 now = bpf_ktime_get_ns(); /* at arrival, before the filter runs */
	struct rc_queue *c;

	if (!bpf_map_lookup_elem(&xsks_map, &q))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&rc_queues, &q);
	if (c && c->state == RC_PAUSED)
		return XDP_PASS; /* the capture has not started: the stack keeps the frame, uncounted */
	if (c && c->flen) {
		struct rc_vm *v = bpf_map_lookup_elem(&rc_vm, &zero);
		struct rc_run r = {.ctx = ctx, .v = v};
		if (!v)
			return XDP_PASS;
		v->A = v->X = v->pc = 0;
		v->ret = 0;
		v->nins = c->flen;
		v->base = q * RC_MAX_INSNS;
		v->len = (__u32)(ctx->data_end - ctx->data);
		bpf_loop(RC_MAX_INSNS, rc_step, &r, 0);
		if (!v->ret) {
			__sync_fetch_and_add(&c->filtered, 1);
			return XDP_PASS; /* not captured: the stack keeps it */
		}
	}
	if (c && c->sampling > 1 && __sync_fetch_and_add(&c->seen, 1) % c->sampling) {
		__sync_fetch_and_add(&c->filtered, 1);
		return XDP_PASS;
	}
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u64)) == 0) {
		void *data = (void *)(long)ctx->data;
		__u64 *meta = (void *)(long)ctx->data_meta;
		if ((void *)(meta + 1) <= data)
			*meta = now;
	}
	return bpf_redirect_map(&xsks_map, q, XDP_PASS);
}
char _license[] SEC("license") = "GPL";
