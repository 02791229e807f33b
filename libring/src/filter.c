/*
 * filter.c — the classic BPF program libring attaches in the kernel.
 *
 * It does three jobs in one program, in this order (after, for rx-only
 * AF_PACKET captures, a guard that drops outgoing frames: pkttype ==
 * PACKET_OUTGOING; PACKET_IGNORE_OUTGOING stops applying once a socket joins
 * a fanout group, and the group's own flag works only on newer kernels):
 *   1. the user's tcpdump expression, compiled by libpcap's pcap_compile
 *      (no hand-written compiler) for Ethernet at the snap length;
 *   2. 1-in-N sampling with the kernel's random ancillary load
 *      (SKF_AD_RANDOM), applied to what the filter accepted;
 *   3. the accept return value is the snap length, which is how AF_PACKET
 *      cuts packets (the program's return value is the bytes kept).
 * The module backend attaches the same program with SO_ATTACH_FILTER.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct sock_filter stmt(uint16_t code, uint32_t k)
{
	return (struct sock_filter){.code = code, .jt = 0, .jf = 0, .k = k};
}

/*
 * The pcap handle to compile with. Linux strips 802.1Q tags into packet
 * metadata before any capture hook, so `vlan` must compile to the kernel's
 * VLAN ancillary loads — which libpcap emits only for a live Linux handle
 * (BPF_SPECIAL_VLAN_HANDLING). For expressions that mention vlan we activate
 * a small live handle on the device just to compile, as tcpdump would; every
 * other expression (and any failure) uses a dead Ethernet handle.
 */
static pcap_t *compile_handle(const char *dev, const char *expr, uint32_t snaplen)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;

	if (dev && strstr(expr, "vlan") && (p = pcap_create(dev, errbuf))) {
		pcap_set_snaplen(p, (int)snaplen);
		pcap_set_buffer_size(p, 1 << 16);
		pcap_set_timeout(p, 1);
		if (pcap_activate(p) >= 0 && pcap_datalink(p) == DLT_EN10MB)
			return p;
		pcap_close(p);
	}
	return pcap_open_dead(DLT_EN10MB, (int)snaplen);
}

int lri_filter_build(const char *dev, const char *expr, uint32_t snaplen, uint32_t sampling,
		     int rx_only, struct sock_fprog *out)
{
	struct bpf_program bp = {0};
	struct sock_filter *f;
	size_t n_user = 0, n = 0, sampler, guard = rx_only ? 3 : 0;
	const int sampled = sampling > 1;

	memset(out, 0, sizeof(*out));
	if (expr && *expr) {
		pcap_t *p = compile_handle(dev, expr, snaplen);
		if (!p)
			return -ENOMEM;
		if (pcap_compile(p, &bp, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			lri_set_error("bad filter '%s': %s", expr, pcap_geterr(p));
			pcap_close(p);
			return -EBADMSG;
		}
		pcap_close(p);
		n_user = bp.bf_len;
	}
	/* [guard,] user program, then the sampler (4 insns) or a final accept */
	f = calloc(guard + n_user + 5, sizeof(*f));
	if (!f) {
		pcap_freecode(&bp);
		return -ENOMEM;
	}
	if (guard) {
		f[n++] = stmt(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
		f[n] = stmt(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING);
		f[n++].jf = 1; /* not outgoing → skip the reject */
		f[n++] = stmt(BPF_RET | BPF_K, 0);
	}
	sampler = guard + n_user; /* jumps below are relative: only the target moves */
	for (size_t i = 0; i < n_user; i++) {
		const struct bpf_insn *in = &bp.bf_insns[i];
		f[n] = (struct sock_filter){in->code, in->jt, in->jf, in->k};
		/* an accepting return goes to the sampler, which keeps snaplen */
		if (BPF_CLASS(in->code) == BPF_RET && BPF_RVAL(in->code) == BPF_K &&
		    in->k != 0)
			f[n] = stmt(BPF_JMP | BPF_JA, (uint32_t)(sampler - n - 1));
		n++;
	}
	pcap_freecode(&bp);
	if (sampled) {
		f[n++] = stmt(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
		f[n++] = stmt(BPF_ALU | BPF_MOD | BPF_K, sampling);
		f[n] = stmt(BPF_JMP | BPF_JEQ | BPF_K, 0);
		f[n++].jf = 1; /* not 0 → skip the accept, reject */
		f[n++] = stmt(BPF_RET | BPF_K, snaplen);
		f[n++] = stmt(BPF_RET | BPF_K, 0);
	} else {
		f[n++] = stmt(BPF_RET | BPF_K, snaplen);
	}
	out->len = (unsigned short)n;
	out->filter = f;
	return 0;
}

void lri_filter_free(struct sock_fprog *p)
{
	free(p->filter);
	p->filter = NULL;
	p->len = 0;
}

/* ---- offline filters (files): libpcap's compiler and interpreter ---- */

#define LR_MAX_BPF 256
static struct bpf_program *offline[LR_MAX_BPF];
static pthread_mutex_t offline_lock = PTHREAD_MUTEX_INITIALIZER;

int lr_bpf_compile(const char *expr, uint32_t snaplen, int linktype)
{
	struct bpf_program *bp = calloc(1, sizeof(*bp));
	pcap_t *p;
	int slot = -1;

	if (!bp)
		return -ENOMEM;
	p = pcap_open_dead(linktype, snaplen ? (int)snaplen : 262144);
	if (!p) {
		free(bp);
		return -ENOMEM;
	}
	if (pcap_compile(p, bp, expr ? expr : "", 1, PCAP_NETMASK_UNKNOWN) < 0) {
		lri_set_error("bad filter '%s': %s", expr ? expr : "", pcap_geterr(p));
		pcap_close(p);
		free(bp);
		return -EBADMSG;
	}
	pcap_close(p);
	pthread_mutex_lock(&offline_lock);
	for (int i = 0; i < LR_MAX_BPF; i++)
		if (!offline[i]) {
			offline[i] = bp;
			slot = i;
			break;
		}
	pthread_mutex_unlock(&offline_lock);
	if (slot < 0) {
		pcap_freecode(bp);
		free(bp);
		return -EMFILE;
	}
	return slot;
}

int lr_bpf_match(int fh, const uint8_t *buf, uint32_t off, uint32_t caplen, uint32_t wirelen)
{
	const struct bpf_program *bp = fh >= 0 && fh < LR_MAX_BPF ? offline[fh] : NULL;
	if (!bp)
		return -EBADF;
	return (int)bpf_filter(bp->bf_insns, buf + off, wirelen, caplen);
}

int lr_bpf_free(int fh)
{
	struct bpf_program *bp;
	if (fh < 0 || fh >= LR_MAX_BPF)
		return -EBADF;
	pthread_mutex_lock(&offline_lock);
	bp = offline[fh];
	offline[fh] = NULL;
	pthread_mutex_unlock(&offline_lock);
	if (!bp)
		return -EBADF;
	pcap_freecode(bp);
	free(bp);
	return 0;
}
