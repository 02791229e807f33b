/*
 * libring.h — the public API of libring, ringcap's small C capture library.
 *
 * One API, two backends: the ringcap kernel module (socket family PF_RING,
 * see kernel/include/uapi/ringcap.h) when it is loaded, else AF_PACKET
 * TPACKET_V3 (TPACKET_V2 with LR_F_IMMEDIATE). The library opens, maps, waits and counts; it never touches
 * packets. Readers (TypeScript through FFI, or C) walk the mapped ring
 * themselves using the layout that lr_layout_get() describes.
 *
 * Conventions (liburing/af_packet habits):
 *   - every call returns >= 0 on success or -errno on failure;
 *   - a capture is an int handle (>= 0), not a pointer, so FFI callers get
 *     success and error in one integer;
 *   - only lr_* symbols are exported (libring.map).
 *
 * Counters (same names in the module ABI, TS, JSON and /proc):
 *   packets  inserted into the ring
 *   dropped  not inserted because the ring was full
 *   filtered rejected by the filter or by sampling (where the kernel says so)
 *   seen     offered to the capture point (module only; else packets+dropped)
 *   bytes    sum of wire lengths of inserted packets (module only; readers
 *            on AF_PACKET count it themselves)
 */
#ifndef LIBRING_H
#define LIBRING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LR_API_VERSION 1

/* How lr_wait() waits when nothing is ready (the paper's three modes). */
enum lr_wait_mode {
	LR_WAIT_POLL = 0,     /* sleep in poll() */
	LR_WAIT_BUSY = 1,     /* spin on the status word until timeout */
	LR_WAIT_ADAPTIVE = 2, /* spin briefly, then short growing sleeps, then poll() */
};

enum lr_backend {
	LR_BACKEND_AUTO = 0,   /* module if socket(PF_RING) works, else AF_PACKET;
				  the environment RINGCAP_BACKEND=ring|packet forces */
	LR_BACKEND_RING = 1,   /* the ringcap kernel module */
	LR_BACKEND_PACKET = 2, /* AF_PACKET TPACKET_V3 */
	LR_BACKEND_XDP = 3,    /* AF_XDP through libxdp (dlopen'ed); never chosen by
				  auto: it steals the frames it captures */
};

/* struct lr_opts.xdp: the XDP attach mode */
#define LR_XDP_AUTO    0u /* native where the driver has it, else generic */
#define LR_XDP_GENERIC 1u /* XDP_FLAGS_SKB_MODE: any interface */
#define LR_XDP_NATIVE  2u /* XDP_FLAGS_DRV_MODE only */
#define LR_XDP_QUEUE(q) (((uint32_t)(q) + 1u) << 8) /* bind receive queue q */

/* lr_open() flags */
#define LR_F_NO_PROMISC  0x1u /* do not put the interface in promiscuous mode */
#define LR_F_STEAL       0x2u /* module only: captured packets do not reach the stack */
#define LR_F_RX_ONLY     0x4u /* only packets received by the interface */
#define LR_F_TX_ONLY     0x8u /* only packets sent by the interface */
#define LR_F_PAUSED     0x10u /* open with a drop-all program attached: nothing
				 is captured until lr_start() (a start barrier
				 for fanout groups). The filter, sampling and
				 snaplen program is still compiled at open (its
				 errors surface there) and kept in the handle.
				 Module backend: frames refused while paused
				 count as filtered (and seen). */
#define LR_F_IMMEDIATE  0x20u /* immediate delivery: each packet visible to the
				 reader (and poll() woken) as soon as the kernel
				 wrote it. AF_PACKET: TPACKET_V2 frames (layout
				 kind 3) instead of TPACKET_V3 blocks, which reach
				 the reader only when full or timed out; frames
				 sized from snaplen capped by the interface MTU
				 (65535 with offloads), as libpcap does. The
				 module's slots are immediate already. */

/* Options for lr_open(). Zero means "default" for every field. Fixed-width
 * fields only (no pointers), so FFI callers fill it as 40 bytes. */
struct lr_opts {
	uint64_t ring_bytes;  /* ring memory; default 64 MiB */
	uint32_t snaplen;     /* bytes kept per packet; default 65535, max 262144 */
	uint32_t block_bytes; /* TPACKET_V3 block size; default chosen from ring_bytes */
	uint32_t timeout_ms;  /* TPACKET_V3 block retire timeout; default 10 */
	uint32_t sampling;    /* keep 1 packet in N (in the kernel); 0/1 = all */
	uint32_t flags;       /* LR_F_* */
	uint32_t wait_mode;   /* enum lr_wait_mode */
	uint32_t backend;     /* enum lr_backend */
	uint32_t xdp;         /* backend xdp: LR_XDP_* mode in bits 0-7 (0 = native,
				 else generic; RINGCAP_XDP_MODE=native|generic when
				 0), LR_XDP_QUEUE(q) in bits 8-31 (0 = queue 0, and
				 only on a one-queue interface) */
};
_Static_assert(sizeof(struct lr_opts) == 40, "lr_opts is ABI: lib/source/live/ffi.ts fills it by offset");

/* Open a capture on interface dev, keeping what the tcpdump expression
 * filter accepts (NULL or "" = everything). Returns a handle >= 0 or -errno:
 * -ENODEV no such interface, -EPERM no CAP_NET_RAW, -EINVAL bad option,
 * -ENOMEM ring too large, -EPROTONOSUPPORT forced backend missing,
 * -EBADMSG the filter did not compile (lr_error() has libpcap's message). */
int lr_open(const char *dev, const struct lr_opts *opts, const char *filter);

/* End the pause of a handle opened with LR_F_PAUSED: attach its real
 * program (SO_ATTACH_FILTER replaces the drop-all one atomically: no frame
 * is missed or seen twice by the switch). 0, or -errno; a no-op returning 0
 * if the handle is not paused (or was started already). */
int lr_start(int h);

/*
 * Fanout groups (AF_PACKET PACKET_FANOUT): several captures on the same
 * interface share its traffic, each frame goes to exactly one member.
 * Modes (same numbers as the kernel's PACKET_FANOUT_*):
 */
enum lr_fanout_mode {
	LR_FANOUT_HASH = 0,     /* the kernel's symmetric flow hash: both directions
				   of a flow go to one member (IPv4 fragments hash
				   without ports, so a datagram's fragments stay
				   together but may part from its flow) */
	LR_FANOUT_LB = 1,       /* round robin */
	LR_FANOUT_CPU = 2,      /* by the CPU that received the frame */
	LR_FANOUT_ROLLOVER = 3, /* fill one member, move on when its ring is full */
	LR_FANOUT_RANDOM = 4,   /* random member */
	LR_FANOUT_QM = 5,       /* by the NIC's receive queue (skb queue mapping) */
};
/* lr_fanout() flags */
#define LR_FANOUT_DEFRAG 0x1u /* reassemble IPv4 fragments before choosing the
				 member (PACKET_FANOUT_FLAG_DEFRAG): members then
				 receive reassembled datagrams, not the wire
				 frames, so packets/bytes count datagrams. Off by
				 default. */

/* Join handle h (after lr_open; best opened with LR_F_PAUSED and
 * started once every member joined, so no member sees a frame alone) to a
 * fanout group of its network namespace.
 *   group_id 0: the kernel allocates a unique id (PACKET_FANOUT_FLAG_UNIQUEID);
 *   group_id 1..65535: join that group, or create it if no group has that id.
 *   mode: enum lr_fanout_mode; flags: LR_FANOUT_*.
 *   max_members: group size, fixed when the group is created (1..65536;
 *     0 = the kernel's default, 256). Joiners pass 0 or the same number.
 *     Needs Linux >= 5.9 (struct fanout_args); on older kernels it is
 *     ignored and every group holds up to 256 members.
 * Every member must use the same interface, mode, flags and direction (a
 * handle opened with LR_F_RX_ONLY makes an rx-only group:
 * PACKET_FANOUT_FLAG_IGNORE_OUTGOING, and its program drops outgoing frames
 * itself, since that flag does nothing on some kernels, e.g. Debian's 6.1).
 * Returns the group id (>= 0) or -errno,
 * with lr_error() saying what to change:
 *   -EINVAL unknown mode/flags, group id or size out of range, or the group
 *           exists with another mode, flags, size or interface;
 *   -ENOSPC the group is full; -EALREADY h already joined a group;
 *   -ENXIO / -ENETDOWN h is not bound to a running interface.
 * On the ringcap module backend this joins a module cluster (kernel/include/
 * uapi/ringcap.h): modes hash and lb only (others -EINVAL), no defrag
 * (-EINVAL; fragments hash on addresses and protocol), and a new cluster
 * needs max_members (fixed; frames for an index no member holds are counted
 * as that index's drops, never delivered to another member). -EOPNOTSUPP if
 * the loaded module predates clusters. */
int lr_fanout(int h, uint32_t group_id, uint32_t mode, uint32_t flags, uint32_t max_members);

/* Layout: a self-describing list of (key, value) pairs the reader needs
 * (base address, sizes, geometry, field offsets from offsetof). Keys are
 * stable names; lr_layout_key(i) returns NULL past the last one. */
const char *lr_layout_key(int i);
/* Fill out[0..n) with the values for keys 0..n-1. Returns the key count. */
int lr_layout_get(int h, uint64_t *out, int n);

/* Wait until the slot/block the reader is at (cursor: block index for
 * TPACKET_V3, frame index for TPACKET_V2, the consumed count for the module: ready once
 * the kernel's produced count differs) is ready, or timeout_ms passes.
 * Returns 1 ready, 0 timeout, -ENODEV if the interface went away,
 * -errno otherwise. Honours the handle's wait mode. */
int lr_wait(int h, uint32_t cursor, int timeout_ms);

/* Counters, cumulative since open: out[0..4] = packets, dropped, filtered,
 * seen, bytes. Returns 0 or -errno. */
int lr_stats(int h, uint64_t *out);

/* Which backend the handle uses (enum lr_backend). */
int lr_backend(int h);

/* The file descriptor (for callers that poll themselves). */
int lr_fd(int h);

/* Close and unmap. Any view over the ring is invalid afterwards. */
int lr_close(int h);

/* Message for a -errno from this library, with what to do. */
const char *lr_strerror(int err);

/* Detail of the last error in this thread (e.g. libpcap's filter message),
 * or "" if none. */
const char *lr_error(void);

/* Offline filtering (pcap files): the same libpcap-compiled program run in
 * user space with libpcap's bpf_filter. lr_bpf_compile returns a filter
 * handle >= 0 (or -EBADMSG with lr_error() set); lr_bpf_match runs it on
 * buf[off, off+caplen) of a packet whose wire length is wirelen and returns
 * the bytes to keep (0 = rejected). */
int lr_bpf_compile(const char *expr, uint32_t snaplen, int linktype);
int lr_bpf_match(int fh, const uint8_t *buf, uint32_t off, uint32_t caplen, uint32_t wirelen);
int lr_bpf_free(int fh);

#ifdef __cplusplus
}
#endif
#endif /* LIBRING_H */
