/*
 * internal.h — what libring's core (libring.c) and its backends share.
 *
 * A backend opens a capture into a `struct lr_handle`, describes its ring
 * layout as (key, value) pairs, tells whether the reader's cursor position is
 * ready, reports counters and closes. The core does the rest: the handle
 * table, option defaults and validation, filters, waits, error strings.
 * Internal symbols are named lri_* so the symbol map (lr_* only) keeps them
 * private. Backends: backend_packet.c (AF_PACKET TPACKET_V3), backend_ring.c (the
 * ringcap kernel module).
 */
#ifndef LIBRING_INTERNAL_H
#define LIBRING_INTERNAL_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "../libring.h"

/* Layout keys: one list, in this order, shared by every backend. A backend
 * sets the ones that apply to it; the others stay 0. Append new keys at the
 * end (TS looks keys up by name, so order is not ABI, but keep it stable). */
#define LR_LAYOUT_KEYS(X)                                                     \
	X(kind)              /* 1 = TPACKET_V3 blocks, 2 = ringcap slots, 3 = TPACKET_V2 frames */ \
	X(base)              /* address of the mapping */                      \
	X(size)              /* bytes mapped */                                \
	X(ifindex)           /* interface the capture is bound to */           \
	X(snaplen)                                                            \
	/* TPACKET_V3 */                                                      \
	X(block_size)        X(block_count)                                   \
	X(blk_status_off)    /* u32 block_status in tpacket_block_desc */      \
	X(blk_num_pkts_off)  X(blk_first_off)                                  \
	X(status_user)       /* TP_STATUS_USER: block handed to the reader */  \
	X(status_kernel)     /* TP_STATUS_KERNEL: reader gives it back */      \
	X(pkt_next_off)      X(pkt_sec_off)     X(pkt_nsec_off)                \
	X(pkt_caplen_off)    X(pkt_wirelen_off) X(pkt_status_off)              \
	X(pkt_mac_off)       /* u16 tp_mac: frame start relative to header */   \
	X(pkt_vlan_tci_off)  X(pkt_vlan_tpid_off)                              \
	X(vlan_valid_mask)   /* in pkt_status: the TCI field is valid */        \
	X(vlan_tpid_valid_mask)                                               \
	/* ringcap module slots (see kernel/include/uapi/ringcap.h) */          \
	X(slot_base_off)     /* offset of slot 0 from base */                  \
	X(slot_size)         X(slot_count)                                    \
	X(slot_status_off)   X(slot_caplen_off)  X(slot_wirelen_off)           \
	X(slot_ifindex_off)  X(slot_sec_off)     X(slot_nsec_off)              \
	X(slot_vlan_tci_off) X(slot_vlan_tpid_off) X(slot_flags_off)           \
	X(slot_direction_off) X(slot_data_off)                                 \
	X(slot_flag_vlan)    /* in slot flags: the TCI field is valid */        \
	X(slot_ready)        /* status value: written by the kernel (ABI 2: information only) */ \
	X(slot_free)         /* status value: never filled yet */               \
	X(read_idx_off)      /* u32 consumed count (free-running), user page */ \
	X(insert_idx_off)    /* u32 slot index the kernel writes next, kernel page */ \
	/* TPACKET_V2 frames (immediate delivery; also block_size, block_count,  \
	 * status_*, pkt_*_off except pkt_next_off, vlan_*_mask) */            \
	X(frame_size)        /* bytes per frame (tpacket2_hdr + frame) */      \
	X(frame_count)                                                        \
	X(frames_per_block)  /* frame i: (i / fpb) * block_size + (i % fpb) * frame_size */ \
	/* AF_XDP (backend_xdp.c): base/size = the UMEM; the RX and fill rings \
	 * are mapped apart (their addresses and sizes here) */                \
	X(xdp_mode)          /* 1 generic (skb), 2 native (driver) */          \
	X(xdp_zerocopy)      /* 1 when the kernel bound in zero-copy mode */    \
	X(xdp_chunk)         X(xdp_chunks)       X(xdp_queue)  X(xdp_queues)   \
	X(xdp_ts)            /* 1: each frame's CLOCK_MONOTONIC ns at addr - 8 */ \
	X(xdp_t0_hi)         X(xdp_t0_lo)  /* CLOCK_MONOTONIC ns at open */      \
	X(xdp_t0_sec)        X(xdp_t0_nsec) /* CLOCK_REALTIME at the same moment */ \
	X(xdp_rx_map)        X(xdp_rx_map_size)                               \
	X(xdp_rx_prod_off)   X(xdp_rx_cons_off)  X(xdp_rx_desc_off)            \
	X(xdp_desc_size)     X(xdp_desc_addr_off) X(xdp_desc_len_off)          \
	X(xdp_fill_map)      X(xdp_fill_map_size)                             \
	X(xdp_fill_prod_off) X(xdp_fill_cons_off) X(xdp_fill_desc_off)         \
	X(xdp_ring_entries)  /* RX and fill ring entries (= chunks) */ \
	X(produced_off)      /* module: u32 produced count (free-running), kernel page */

enum lr_layout_key_id {
#define LR_KEY_ENUM(name) LRK_##name,
	LR_LAYOUT_KEYS(LR_KEY_ENUM)
#undef LR_KEY_ENUM
	LRK__COUNT
};

#define LR_KIND_TPACKET_V3 1
#define LR_KIND_SLOTS 2
#define LR_KIND_TPACKET_V2 3 /* immediate delivery on AF_PACKET */
#define LR_KIND_XDP 4        /* AF_XDP UMEM + RX/fill rings (backend_xdp.c) */

struct lr_handle;

struct lr_backend_ops {
	const char *name;
	/* Open: fill h->fd, h->map, h->map_len, h->layout. The core has
	 * validated opts and compiled the filter into prog (may be NULL). */
	int (*open)(struct lr_handle *h, const char *dev, int ifindex,
		    const struct lr_opts *o, const struct sock_fprog *prog);
	/* Is the cursor's block/slot ready for the reader? (memory read only) */
	int (*ready)(struct lr_handle *h, uint32_t cursor);
	/* Add the counters since the last call into h->totals. */
	int (*stats)(struct lr_handle *h);
	/* Replace the drop-all program of a paused handle with prog. */
	int (*start)(struct lr_handle *h, const struct sock_fprog *prog);
	/* Join a fanout group (lr_fanout, arguments validated); NULL = none. */
	int (*fanout)(struct lr_handle *h, uint32_t group_id, uint32_t mode, uint32_t flags,
		      uint32_t max_members);
	void (*close)(struct lr_handle *h);
	/* Optional: is the capture still alive? Called by lr_wait when it times
	 * out, for sockets whose poll() does not report a vanished interface
	 * (AF_XDP): 0, or -ENODEV/-ENETDOWN with lri_set_error. */
	int (*check)(struct lr_handle *h);
};

struct lr_handle {
	const struct lr_backend_ops *ops;
	int fd;
	int ifindex;
	uint32_t backend;   /* enum lr_backend */
	uint32_t wait_mode; /* enum lr_wait_mode */
	uint32_t flags;     /* LR_F_* given to lr_open */
	int paused;         /* opened with LR_F_PAUSED and not started yet */
	struct sock_fprog held; /* a paused handle's real program, for lr_start */
	int fanout_id;      /* fanout group joined, or -1 */
	void *map;
	size_t map_len;
	uint64_t layout[LRK__COUNT];
	/* cumulative: packets, dropped, filtered, seen, bytes */
	uint64_t totals[5];
	void *priv;
};

extern const struct lr_backend_ops lri_packet_ops;
extern const struct lr_backend_ops lri_ring_ops; /* backend_ring.c */
extern const struct lr_backend_ops lri_xdp_ops;  /* backend_xdp.c */

/* Unmap the ring and close the socket: the close op of both backends. */
void lri_unmap_close(struct lr_handle *h);

/* The module's socket family (0 when not probed / not available). */
int lri_ring_family(void);

/* The one-instruction program a paused handle starts with: drop everything. */
extern const struct sock_fprog lri_drop_all;

/* Set the thread's detail message for lr_error(). */
void lri_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* filter.c: build the program attached in the kernel: with rx_only, a guard
 * that drops outgoing frames; the user's filter (compiled by libpcap for
 * Ethernet at snaplen; for `vlan` expressions against a live handle on dev,
 * so stripped tags match), then 1-in-N sampling with the random ancillary
 * load; accepted packets are cut to snaplen.
 * Returns 0 and a malloc'ed prog (free with lri_filter_free) or -errno. */
int lri_filter_build(const char *dev, const char *expr, uint32_t snaplen, uint32_t sampling,
		     int rx_only, struct sock_fprog *out);
void lri_filter_free(struct sock_fprog *p);

#endif
