/*
 * xsk_ts.h — what libring and its XDP program (xsk_ts.bpf.c) share: the
 * per-queue configuration and counters (map rc_queues) and the classic BPF
 * instructions of each queue's filter (map rc_insns).
 */
#ifndef RINGCAP_XSK_TS_H
#define RINGCAP_XSK_TS_H

#define RC_MAX_QUEUES 64 /* receive queues an interface's captures may use */
#define RC_MAX_INSNS 512 /* classic BPF instructions per queue's filter */

/* rc_queue.state */
#define RC_ALL 0    /* no configuration: capture every frame */
#define RC_PAUSED 1 /* opened paused: frames go to the stack, uncounted */
#define RC_ACTIVE 2 /* filter (flen) and sampling apply */

struct rc_queue {
	__u32 state;
	__u32 sampling; /* 1 in N of the frames the filter accepts, in order; 0 or 1: all */
	__u32 flen;     /* filter instructions (0: none) */
	__u32 pad;
	__u64 seen;     /* frames the filter accepted (the sampler's count) */
	__u64 filtered; /* frames left to the stack: rejected by the filter or the sampler */
};

/* struct sock_filter */
struct rc_insn {
	__u16 code;
	__u8 jt, jf;
	__u32 k;
};

/* classic BPF opcode fields (linux/filter.h, linux/bpf_common.h) */
#define RC_LD 0x00
#define RC_LDX 0x01
#define RC_ST 0x02
#define RC_STX 0x03
#define RC_ALU 0x04
#define RC_JMP 0x05
#define RC_RET 0x06
#define RC_MISC 0x07
#define RC_W 0x00
#define RC_H 0x08
#define RC_B 0x10
#define RC_IMM 0x00
#define RC_ABS 0x20
#define RC_IND 0x40
#define RC_MEM 0x60
#define RC_LEN 0x80
#define RC_MSH 0xa0
#define RC_X 0x08
#define RC_RET_A 0x10

#endif
