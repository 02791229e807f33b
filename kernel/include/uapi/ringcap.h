/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * ringcap.h — THE ring ABI of ringcap: the PF_RING socket family of
 * kernel/ringcap.ko and the memory-mapped ring it shares with user space.
 * Included by the module and by libring (C); TypeScript learns the same
 * offsets from libring's layout keys (lr_layout_key/lr_layout_get), which a
 * test compares against offsetof().
 *
 * Ownership of every shared field is tagged like netmap does:
 *   (k) written by the kernel only, (u) written by user space only.
 * The kernel never trusts a value user space can write: it reads only the
 * consumed count in page 1, and a bad value there costs the reader its own
 * packets (dropped, or overwritten while it reads them), never the kernel:
 * the kernel writes only the slot its own insert position names. Its own
 * state (insert position, counters, geometry) lives in kernel memory and is
 * mirrored into page 0 for readers.
 *
 * Mapped area (one mmap of RINGCAP_OPT_MMAP_BYTES bytes at offset 0):
 *
 *   [0, page)            struct ringcap_hdr   (k)  geometry + counters + produced
 *   [page, 2*page)       struct ringcap_ctl   (u)  consumed
 *   [slots_offset, ...)  slot_count slots of slot_size bytes each:
 *                        struct ringcap_slot header, then caplen frame bytes
 *                        at data_offset within the slot.
 *
 * Reader protocol (ABI 2; a JS reader needs only memory reads and writes).
 * Two free-running u32 counts, as AF_XDP's rings and io_uring have:
 * hdr.produced (k), slots the kernel has published, and ctl.consumed (u),
 * slots the reader has given back. Slot k of the stream lives in slot
 * k % slot_count. The reader synchronizes once per batch, not per slot:
 *   c = ctl.consumed                      (0 on a new ring)
 *   loop:
 *     p = load_acquire(hdr.produced)      (pairs with the kernel's release)
 *     if p == c: wait (poll; ctl.consumed == c tells the kernel where we are)
 *     for k in c .. p-1 (any batch of them):
 *       read slot k % slot_count in place (header + frame)
 *     c = p; store_release(ctl.consumed, c)  (the kernel may reuse them now)
 * The kernel fills slot (produced % slot_count) only while produced -
 * consumed < slot_count; otherwise the packet is dropped and counted (ring
 * full). It writes the slot, then publishes it by a release store of
 * produced + 1, so a reader never sees a slot the kernel is still writing.
 * poll() is readable when produced - consumed reaches the watermark (or the
 * poll timeout passed with fewer), so publish consumed before waiting.
 * ABI 1 handed every slot over and back with its own status word (an
 * acquire load and a store per packet, where a TPACKET_V3 reader does both
 * once per block; README "Module vs AF_PACKET" has the numbers). ABI 2
 * keeps the status word as information only (READY once filled) and
 * synchronizes once per batch.
 *
 * All fields are fixed width and little-endian (the host's byte order);
 * no pointers, no `long`, no struct timeval.
 */
#ifndef _UAPI_RINGCAP_H
#define _UAPI_RINGCAP_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <linux/types.h>
#include <stddef.h>
#endif

/* Bumped on any incompatible change of this file. Checked by libring:
 * setsockopt(SOL_RINGCAP, RINGCAP_OPT_VERSION, &v) fails with EPROTO when v
 * differs, and the mapped header carries the version too. */
#define RINGCAP_ABI_VERSION 2

/* Default socket family number (module parameter `family`). 27 is unused
 * as an address family on Linux. */
#define PF_RING_DEFAULT 27
#define AF_RING_DEFAULT PF_RING_DEFAULT

/* setsockopt/getsockopt level of ringcap options. SOL_SOCKET options
 * (SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_ERROR...) work as usual. */
#define SOL_RINGCAP 274

#define RINGCAP_MAGIC 0x50414352u /* "RCAP" little-endian */

/* Limits and defaults. */
#define RINGCAP_MAX_SNAPLEN      262144u
#define RINGCAP_DEFAULT_SNAPLEN  1600u
#define RINGCAP_DEFAULT_RING     (4u << 20)           /* 4 MiB of slots */
#define RINGCAP_MIN_SLOTS        2u
#define RINGCAP_MAX_RING         (4ull << 30)         /* 4 GiB of slots */
#define RINGCAP_SLOT_ALIGN       64u                  /* slot_size multiple */
#define RINGCAP_MAX_POLL_TIMEOUT 60000u               /* ms */

/* Options (level SOL_RINGCAP). Values are __u32 unless said otherwise.
 * Geometry options (RING_BYTES, SNAPLEN) may change until the ring is
 * mapped; afterwards they fail with EBUSY. Bad values fail with EINVAL. */
enum ringcap_opt {
	RINGCAP_OPT_VERSION = 1,      /* set: must equal RINGCAP_ABI_VERSION (else EPROTO); get: it */
	RINGCAP_OPT_RING_BYTES = 2,   /* __u64 (or __u32): memory for slots, >= 2 slots, <= RINGCAP_MAX_RING */
	RINGCAP_OPT_SNAPLEN = 3,      /* 1..RINGCAP_MAX_SNAPLEN bytes kept per packet (= bucket size) */
	RINGCAP_OPT_SAMPLING = 4,     /* keep 1 packet in N (after the filter); 0 and 1 = all */
	RINGCAP_OPT_WATERMARK = 5,    /* poll() readable once this many slots are ready; >= 1 */
	RINGCAP_OPT_POLL_TIMEOUT = 6, /* ms: poll() also readable when fewer than watermark
				       * slots wait this long; 0 = never, <= RINGCAP_MAX_POLL_TIMEOUT */
	RINGCAP_OPT_DIRECTION = 7,    /* RINGCAP_DIR_* */
	RINGCAP_OPT_STEAL = 8,        /* 0/1: received packets are consumed (not passed to the stack);
				       * EBUSY if the device already has another rx_handler */
	RINGCAP_OPT_PROMISC = 9,      /* 0/1: hold the bound device in promiscuous mode */
	RINGCAP_OPT_STATS = 10,       /* get only: struct ringcap_stats */
	RINGCAP_OPT_MMAP_BYTES = 11,  /* get only: __u64 length to pass to mmap() */
	RINGCAP_OPT_CLUSTER = 12,     /* set: struct ringcap_cluster_req, join (or create) a
				       * cluster; the socket must be bound; get: struct
				       * ringcap_cluster_info (id 0 = in no cluster) */
};

/*
 * Clusters: several sockets bound to one interface share its traffic; each
 * frame goes to exactly one member (one hook per cluster hashes or counts,
 * then offers the frame to that member's filter, sampling and ring). The
 * size is fixed when the cluster is created, so frame -> member index never
 * changes during a capture. A joiner takes the lowest free index; a member
 * that leaves (close, rebind, its interface removed) frees its index.
 * Frames for an index no member holds are not delivered elsewhere: they
 * count as absent drops of that index (struct ringcap_cluster_info, and
 * /proc/net/ringcap_clusters). The cluster is freed when its last member
 * leaves. Ids are per network namespace.
 *
 * RINGCAP_CLUSTER_HASH: a symmetric flow hash (both directions of a flow go
 * to one member): the VLAN id (802.1Q/802.1ad, stripped or in the frame; the
 * outer one) plus, for IPv4 and IPv6, the two addresses, the L4 protocol
 * and, for TCP, UDP, UDP-Lite, SCTP and DCCP, the two ports; (address, port)
 * pairs are ordered before hashing. Fragments: every fragment of an IPv4 or
 * IPv6 datagram (first included: MF set or offset != 0, or an IPv6 fragment
 * header that is not atomic) hashes on VLAN id, addresses and protocol only,
 * so a datagram's fragments stay together (they may go to another member
 * than the flow's unfragmented packets, as with AF_PACKET's fanout hash).
 * IPv6 extension headers (hop-by-hop, routing, destination, AH) are walked;
 * the flow label is not used. Other frames hash on the VLAN id, the
 * ethertype and the two MAC addresses (ordered).
 * RINGCAP_CLUSTER_LB: round robin over the cluster's indices, frame by frame.
 * Other modes (AF_PACKET's cpu, rollover, random, qm): EINVAL.
 *
 * Errors of the join: EINVAL bad mode/flags/size/id, steal mode, or the
 * cluster exists with another interface, mode, size or direction; ENOSPC
 * every index is taken; EALREADY the socket is in a cluster; ENXIO not bound
 * (or its interface is gone); ENOMEM. A cluster member cannot change
 * RINGCAP_OPT_DIRECTION or RINGCAP_OPT_STEAL (EBUSY).
 */
enum ringcap_cluster_mode {
	RINGCAP_CLUSTER_HASH = 0, /* the numbers of lr_fanout / PACKET_FANOUT_HASH, _LB */
	RINGCAP_CLUSTER_LB = 1,
};
#define RINGCAP_CLUSTER_MAX_ID      65535u
#define RINGCAP_CLUSTER_MAX_MEMBERS 65536u

struct ringcap_cluster_req {
	__u32 id;      /* 1..RINGCAP_CLUSTER_MAX_ID: join it, or create it if no cluster has
			* that id; 0: create one with an unused id (read it back) */
	__u32 mode;    /* RINGCAP_CLUSTER_*, must match an existing cluster's */
	__u32 members; /* size, 1..RINGCAP_CLUSTER_MAX_MEMBERS, needed to create;
			* a joiner passes 0 or the same number */
	__u32 flags;   /* 0 */
};
_Static_assert(sizeof(struct ringcap_cluster_req) == 16, "ringcap_cluster_req size");

struct ringcap_cluster_info {
	__u32 id;             /* 0 = not in a cluster (the rest is 0) */
	__u32 mode;           /* RINGCAP_CLUSTER_* */
	__u32 members;        /* the fixed size */
	__u32 index;          /* this socket's member index, 0..members-1 */
	__u32 joined;         /* members in the cluster now */
	__u32 reserved;
	__u64 absent_dropped; /* frames for this index while no member held it
			       * (e.g. before this socket joined) */
	__u64 absent_total;   /* the same summed over every index */
};
_Static_assert(sizeof(struct ringcap_cluster_info) == 40, "ringcap_cluster_info size");

enum ringcap_dir {
	RINGCAP_DIR_RX = 1,
	RINGCAP_DIR_TX = 2,
	RINGCAP_DIR_BOTH = 3,
};

/* bind() address: by index (ifindex != 0) or else by name. */
struct sockaddr_ringcap {
	__u16 sr_family;   /* PF_RING */
	__u16 sr_reserved; /* 0 */
	__u32 sr_ifindex;  /* interface index, 0 = use sr_ifname */
	char sr_ifname[16];/* IFNAMSIZ, NUL-terminated */
};
_Static_assert(sizeof(struct sockaddr_ringcap) == 24, "sockaddr_ringcap size");

/* Counters, also in the mapped header. seen == packets + dropped + filtered. */
struct ringcap_stats {
	__u64 packets;  /* inserted into the ring */
	__u64 dropped;  /* not inserted: the next slot was not free (ring full) */
	__u64 filtered; /* rejected by the BPF filter or by sampling */
	__u64 seen;     /* offered to this socket (after the direction check) */
	__u64 bytes;    /* sum of wire lengths of inserted packets */
};
_Static_assert(sizeof(struct ringcap_stats) == 40, "ringcap_stats size");

/* Page 0: written by the kernel only. */
struct ringcap_hdr {
	__u32 magic;         /* (k) RINGCAP_MAGIC */
	__u32 abi_version;   /* (k) RINGCAP_ABI_VERSION */
	__u32 hdr_size;      /* (k) sizeof(struct ringcap_hdr) */
	__u32 page_size;     /* (k) bytes per page; page 1 (ctl) starts here */
	__u64 mmap_bytes;    /* (k) total mapped length */
	__u32 slots_offset;  /* (k) offset of slot 0 from the start of the mapping */
	__u32 slot_size;     /* (k) bytes per slot, multiple of RINGCAP_SLOT_ALIGN */
	__u32 slot_count;    /* (k) number of slots */
	__u32 data_offset;   /* (k) offset of the frame bytes within a slot */
	__u32 snaplen;       /* (k) max bytes copied per packet */
	__u32 ifindex;       /* (k) bound interface, 0 = not bound / gone */
	__u32 insert_slot;   /* (k) index of the next slot the kernel will fill */
	__u32 flags;         /* (k) RINGCAP_HF_* */
	struct ringcap_stats stats; /* (k) counters, updated after each packet */
	__u32 produced;      /* (k) slots published since the ring was allocated,
			      * free-running (wraps at 2^32); release store after
			      * the slot is written: the reader protocol above */
	__u32 reserved;      /* (k) 0 */
};
#define RINGCAP_HF_DEVICE_GONE 0x1u /* the bound interface was unregistered */
#define RINGCAP_HF_STEAL       0x2u /* steal mode active */

_Static_assert(offsetof(struct ringcap_hdr, magic) == 0, "hdr.magic");
_Static_assert(offsetof(struct ringcap_hdr, abi_version) == 4, "hdr.abi_version");
_Static_assert(offsetof(struct ringcap_hdr, mmap_bytes) == 16, "hdr.mmap_bytes");
_Static_assert(offsetof(struct ringcap_hdr, slots_offset) == 24, "hdr.slots_offset");
_Static_assert(offsetof(struct ringcap_hdr, slot_size) == 28, "hdr.slot_size");
_Static_assert(offsetof(struct ringcap_hdr, slot_count) == 32, "hdr.slot_count");
_Static_assert(offsetof(struct ringcap_hdr, data_offset) == 36, "hdr.data_offset");
_Static_assert(offsetof(struct ringcap_hdr, snaplen) == 40, "hdr.snaplen");
_Static_assert(offsetof(struct ringcap_hdr, ifindex) == 44, "hdr.ifindex");
_Static_assert(offsetof(struct ringcap_hdr, insert_slot) == 48, "hdr.insert_slot");
_Static_assert(offsetof(struct ringcap_hdr, flags) == 52, "hdr.flags");
_Static_assert(offsetof(struct ringcap_hdr, stats) == 56, "hdr.stats");
_Static_assert(offsetof(struct ringcap_hdr, produced) == 96, "hdr.produced");
_Static_assert(sizeof(struct ringcap_hdr) == 104, "ringcap_hdr size");

/* Page 1: written by user space only. */
struct ringcap_ctl {
	__u32 consumed;      /* (u) slots given back, free-running: the reader
			      * protocol above (release store after reading them) */
	__u32 reserved;      /* (u) 0 */
};
_Static_assert(sizeof(struct ringcap_ctl) == 8, "ringcap_ctl size");

/* Slot status word values (ABI 2: information only, see the reader protocol). */
#define RINGCAP_SLOT_FREE  0u /* never written yet */
#define RINGCAP_SLOT_READY 1u /* (k) filled at least once */

/* Slot flags. */
#define RINGCAP_SF_VLAN_VALID 0x1u /* vlan_tci/vlan_tpid hold a tag the kernel stripped */

/* Header of every slot; the frame follows at hdr.data_offset. */
struct ringcap_slot {
	__u32 status;    /* (k) READY once filled; readers synchronize on hdr.produced */
	__u32 caplen;    /* (k) bytes of the frame in this slot (<= snaplen) */
	__u64 ts_sec;    /* (k) arrival time, seconds since the epoch (low word at +8) */
	__u32 ts_nsec;   /* (k) nanoseconds within the second */
	__u32 wirelen;   /* (k) length of the frame on the wire */
	__u32 ifindex;   /* (k) interface the packet was seen on */
	__u16 vlan_tci;  /* (k) stripped 802.1Q TCI when RINGCAP_SF_VLAN_VALID */
	__u16 vlan_tpid; /* (k) its TPID (0x8100 or 0x88a8) when RINGCAP_SF_VLAN_VALID */
	__u16 flags;     /* (k) RINGCAP_SF_* */
	__u8 direction;  /* (k) RINGCAP_DIR_RX or RINGCAP_DIR_TX */
	__u8 pkt_type;   /* (k) PACKET_HOST, PACKET_BROADCAST, ... (linux/if_packet.h) */
	__u32 reserved;  /* (k) 0 */
	__u64 seq;       /* (k) insertion sequence number (== packets before this one) */
};
_Static_assert(offsetof(struct ringcap_slot, status) == 0, "slot.status");
_Static_assert(offsetof(struct ringcap_slot, caplen) == 4, "slot.caplen");
_Static_assert(offsetof(struct ringcap_slot, ts_sec) == 8, "slot.ts_sec");
_Static_assert(offsetof(struct ringcap_slot, ts_nsec) == 16, "slot.ts_nsec");
_Static_assert(offsetof(struct ringcap_slot, wirelen) == 20, "slot.wirelen");
_Static_assert(offsetof(struct ringcap_slot, ifindex) == 24, "slot.ifindex");
_Static_assert(offsetof(struct ringcap_slot, vlan_tci) == 28, "slot.vlan_tci");
_Static_assert(offsetof(struct ringcap_slot, vlan_tpid) == 30, "slot.vlan_tpid");
_Static_assert(offsetof(struct ringcap_slot, flags) == 32, "slot.flags");
_Static_assert(offsetof(struct ringcap_slot, direction) == 34, "slot.direction");
_Static_assert(offsetof(struct ringcap_slot, pkt_type) == 35, "slot.pkt_type");
_Static_assert(offsetof(struct ringcap_slot, seq) == 40, "slot.seq");
_Static_assert(sizeof(struct ringcap_slot) == 48, "ringcap_slot size");

/* Frame bytes start here within a slot (hdr.data_offset says the same). */
#define RINGCAP_SLOT_DATA_OFFSET 64u

#endif /* _UAPI_RINGCAP_H */
