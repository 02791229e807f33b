// SPDX-License-Identifier: GPL-2.0
/*
 * ringcap.c — the PF_RING socket family: passive packet capture into a
 * per-socket memory-mapped ring (L. Deri, "Improving Passive Packet Capture:
 * Beyond Device Polling", 2004), for the ringcap project.
 *
 * Each socket owns one vmalloc_user() area (header page, control page,
 * slots) that user space maps with mmap(). A dev_add_pack(ETH_P_ALL) hook on
 * the bound device (or, in steal mode, an rx_handler shared by every steal
 * socket on that device) runs the socket's classic BPF filter and sampling,
 * copies up to snaplen bytes into the next slot if the reader has given it
 * back (the consumed count in page 1, cached), publishes it by a release
 * store of the produced count in page 0, and counts. No free slot means the
 * ring is full: the packet is dropped and counted, so a stalled reader never
 * slows another socket. The ABI is
 * include/uapi/ringcap.h.
 *
 * Locking, outermost first:
 *   rtnl_lock          bind/unbind, steal and promisc changes, the notifier
 *   ringcap_mutex      the global socket list and every change of rs->dev
 *                      (bind, release, notifier; read by /proc, getname)
 *   rs->cfg_lock       ring geometry, allocation and mapping
 *   rs->lock (spin)    ring pointer, insert position, counters (RX path)
 *
 * Clusters (RINGCAP_OPT_CLUSTER): one packet_type hook per cluster on its
 * device picks the member (flow hash or round robin) and hands the frame to
 * ringcap_capture() of that member only; members' own hooks are off. The
 * member array is read under RCU in the hook; joins, leaves and the cluster
 * list change under RTNL + ringcap_mutex. A cluster holds its device and a
 * module reference and is freed (after synchronize_net) by its last leave.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/net.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_vlan.h>
#include <linux/skbuff.h>
#include <linux/filter.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/rtnetlink.h>
#include <linux/capability.h>
#include <linux/sockptr.h>
#include <linux/timekeeping.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/refcount.h>
#include <linux/overflow.h>
#include <linux/if_arp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "include/uapi/ringcap.h"

static int family = PF_RING_DEFAULT;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "socket family number of PF_RING (default 27)");

/* Per-device state shared by all steal sockets on one device; it is the
 * device's rx_handler_data while at least one steal socket is bound. */
struct ringcap_dev {
	struct list_head socks; /* ringcap_sock.steal_node, RCU for the RX path */
	struct rcu_head rcu;
};

struct ringcap_sock;

/* A cluster: see the UAPI header. Lives in ringcap_clusters. */
struct ringcap_cluster {
	struct list_head node;     /* ringcap_clusters, under ringcap_mutex */
	possible_net_t net;
	u32 id;
	u32 mode;                  /* RINGCAP_CLUSTER_* */
	u32 size;                  /* fixed */
	u32 direction;             /* RINGCAP_DIR_* of the creator; members agree */
	u32 joined;                /* members now, under ringcap_mutex */
	u32 seed;                  /* of the flow hash */
	atomic_t rr;               /* round-robin position */
	struct net_device *dev;    /* held */
	struct packet_type hook;
	atomic64_t *absent;        /* [size]: frames for an index nobody held */
	struct ringcap_sock __rcu *member[]; /* [size] */
};

struct ringcap_sock {
	struct sock sk; /* must be first */

	/* RX-path state, under lock. */
	spinlock_t lock;
	void *ring;               /* vmalloc_user area, NULL until allocated */
	struct ringcap_hdr *hdr;  /* page 0 of ring */
	struct ringcap_ctl *ctl;  /* page 1 of ring */
	u32 slot_count;
	u32 slot_size;
	u32 slots_offset;
	u32 snaplen;              /* of the allocated ring */
	u32 insert;               /* next slot to fill (produced % slot_count) */
	u32 produced;             /* slots published, free-running (hdr->produced) */
	u32 cons_cache;           /* ctl->consumed as last read (it only grows) */
	u32 sample_ctr;
	bool flush;               /* poll timeout expired with slots pending */
	struct ringcap_stats st;  /* kernel copy of the counters */

	/* Options, read locklessly by the RX path. */
	u32 sampling;
	u32 watermark;
	u32 poll_timeout_ms;
	u32 direction;
	bool steal_active;        /* rx packets come through the rx_handler */

	/* Configuration, under cfg_lock. */
	struct mutex cfg_lock;
	u64 opt_ring_bytes;
	u32 opt_snaplen;
	u64 mmap_bytes;           /* of the allocated ring */
	bool mapped;              /* geometry frozen once mapped */

	/* Binding, under RTNL. */
	struct net_device *dev;
	int ifindex;
	bool hook_on;
	bool gone;                /* the bound device was unregistered */
	bool opt_steal;
	bool opt_promisc;
	bool promisc_on;
	struct ringcap_dev *rdev;
	struct list_head steal_node;
	struct packet_type prot_hook;
	struct ringcap_cluster *cluster; /* under RTNL + ringcap_mutex */
	u32 cluster_idx;

	struct timer_list timer;  /* poll timeout */
	struct list_head node;    /* ringcap_socks, under ringcap_mutex */
};

static LIST_HEAD(ringcap_socks);
static LIST_HEAD(ringcap_clusters);
static u32 ringcap_cluster_next_id = 1; /* under ringcap_mutex */
static DEFINE_MUTEX(ringcap_mutex);
static struct proto_ops ringcap_ops;

static inline struct ringcap_sock *rc_sk(struct sock *sk)
{
	return container_of(sk, struct ringcap_sock, sk);
}

static u32 ringcap_slot_size(u32 snaplen)
{
	return ALIGN(RINGCAP_SLOT_DATA_OFFSET + snaplen, RINGCAP_SLOT_ALIGN);
}

/* Geometry for ring_bytes of slots with this snaplen; -EINVAL if < 2 slots. */
static int ringcap_geometry(u64 ring_bytes, u32 snaplen, u32 *count, u64 *mmap_bytes)
{
	u32 size = ringcap_slot_size(snaplen);
	u64 n = div_u64(ring_bytes, size);

	if (n < RINGCAP_MIN_SLOTS || n > U32_MAX)
		return -EINVAL;
	*count = n;
	*mmap_bytes = 2 * PAGE_SIZE + PAGE_ALIGN(n * size);
	return 0;
}

/* Allocate the ring for the current options if there is none. cfg_lock held. */
static int ringcap_ensure_ring(struct ringcap_sock *rs)
{
	struct ringcap_hdr *hdr;
	u64 mmap_bytes;
	u32 count;
	void *ring;
	int err;

	lockdep_assert_held(&rs->cfg_lock);
	if (rs->ring)
		return 0;
	err = ringcap_geometry(rs->opt_ring_bytes, rs->opt_snaplen, &count, &mmap_bytes);
	if (err)
		return err;
	/* Never ask vmalloc for more than half of RAM: fail cleanly instead. */
	if (mmap_bytes > ((u64)totalram_pages() << PAGE_SHIFT) / 2)
		return -ENOMEM;
	ring = vmalloc_user(mmap_bytes); /* zeroed: every slot starts FREE */
	if (!ring)
		return -ENOMEM;

	hdr = ring;
	hdr->magic = RINGCAP_MAGIC;
	hdr->abi_version = RINGCAP_ABI_VERSION;
	hdr->hdr_size = sizeof(*hdr);
	hdr->page_size = PAGE_SIZE;
	hdr->mmap_bytes = mmap_bytes;
	hdr->slots_offset = 2 * PAGE_SIZE;
	hdr->slot_size = ringcap_slot_size(rs->opt_snaplen);
	hdr->slot_count = count;
	hdr->data_offset = RINGCAP_SLOT_DATA_OFFSET;
	hdr->snaplen = rs->opt_snaplen;

	spin_lock_bh(&rs->lock);
	rs->ring = ring;
	rs->hdr = hdr;
	rs->ctl = ring + PAGE_SIZE;
	rs->slot_count = count;
	rs->slot_size = hdr->slot_size;
	rs->slots_offset = hdr->slots_offset;
	rs->snaplen = rs->opt_snaplen;
	rs->insert = 0;
	rs->produced = 0;
	rs->cons_cache = 0;
	rs->sample_ctr = 0;
	rs->flush = false;
	hdr->ifindex = rs->gone ? 0 : rs->ifindex;
	hdr->stats = rs->st;
	spin_unlock_bh(&rs->lock);
	rs->mmap_bytes = mmap_bytes;
	return 0;
}

/* Drop the ring (geometry changed before mapping). cfg_lock held. */
static void ringcap_free_ring(struct ringcap_sock *rs)
{
	void *ring;

	spin_lock_bh(&rs->lock);
	ring = rs->ring;
	rs->ring = NULL;
	rs->hdr = NULL;
	rs->ctl = NULL;
	spin_unlock_bh(&rs->lock);
	vfree(ring);
}

/* Slots published and not yet given back. rs->lock held, ring present. A
 * consumed count from user space that makes no sense (ahead of produced, or
 * more than a ring behind) reads as a full ring: it costs only that reader. */
static u32 ringcap_pending(struct ringcap_sock *rs)
{
	u32 p = rs->produced - READ_ONCE(rs->ctl->consumed); /* (u): never trusted */

	return p > rs->slot_count ? rs->slot_count : p;
}

static void ringcap_publish_stats(struct ringcap_sock *rs)
{
	struct ringcap_hdr *hdr = rs->hdr;

	WRITE_ONCE(hdr->insert_slot, rs->insert);
	WRITE_ONCE(hdr->stats.packets, rs->st.packets);
	WRITE_ONCE(hdr->stats.dropped, rs->st.dropped);
	WRITE_ONCE(hdr->stats.filtered, rs->st.filtered);
	WRITE_ONCE(hdr->stats.seen, rs->st.seen);
	WRITE_ONCE(hdr->stats.bytes, rs->st.bytes);
}

/*
 * Offer one packet to one socket: filter, sample, copy into the next slot
 * if free, publish, count, wake. Called from the packet_type hook and from
 * the steal rx_handler, in softirq (or BH-disabled) context under RCU.
 */
static void ringcap_capture(struct ringcap_sock *rs, struct sk_buff *skb, u8 dir)
{
	u8 *skb_head = skb->data;
	unsigned int skb_len = skb->len;
	struct sk_filter *filter;
	struct ringcap_slot *slot;
	struct timespec64 ts;
	unsigned int res = UINT_MAX, caplen;
	bool inserted = false, wake = false, arm = false;
	u32 wm;

	/* Make skb->data point at the link-layer header, as af_packet does for
	 * SOCK_RAW, so BPF offsets and the copy start at the frame. */
	if (skb_mac_header_was_set(skb) && dev_has_header(skb->dev) &&
	    skb->data > skb_mac_header(skb))
		skb_push(skb, skb->data - skb_mac_header(skb));

	rcu_read_lock();
	filter = rcu_dereference(rs->sk.sk_filter);
	if (filter)
		res = bpf_prog_run_clear_cb(filter->prog, skb);
	rcu_read_unlock();

	spin_lock(&rs->lock);
	if (unlikely(!rs->ring))
		goto unlock;
	rs->st.seen++;
	if (res == 0)
		goto filtered;
	if (rs->sampling > 1) {
		if (++rs->sample_ctr < rs->sampling)
			goto filtered;
		rs->sample_ctr = 0;
	}

	/* A free slot: the reader gave back all but fewer than slot_count of
	 * the slots published. The cached consumed count only lags; reload it
	 * when it says full. The acquire pairs with the reader's release store:
	 * its reads of the slots it gave back are done before we overwrite one. */
	if (unlikely(rs->produced - rs->cons_cache >= rs->slot_count)) {
		rs->cons_cache = smp_load_acquire(&rs->ctl->consumed);
		if (rs->produced - rs->cons_cache >= rs->slot_count) {
			rs->st.dropped++;
			goto publish;
		}
	}
	slot = rs->ring + rs->slots_offset + (size_t)rs->insert * rs->slot_size;
	caplen = min3(skb->len, rs->snaplen, res);
	ktime_get_real_ts64(&ts);
	slot->status = RINGCAP_SLOT_READY; /* information only (ABI 2) */
	slot->caplen = caplen;
	slot->ts_sec = ts.tv_sec;
	slot->ts_nsec = ts.tv_nsec;
	slot->wirelen = skb->len;
	slot->ifindex = skb->dev ? skb->dev->ifindex : 0;
	if (skb_vlan_tag_present(skb)) {
		slot->vlan_tci = skb_vlan_tag_get(skb);
		slot->vlan_tpid = ntohs(skb->vlan_proto);
		slot->flags = RINGCAP_SF_VLAN_VALID;
	} else {
		slot->vlan_tci = 0;
		slot->vlan_tpid = 0;
		slot->flags = 0;
	}
	slot->direction = dir;
	slot->pkt_type = skb->pkt_type;
	slot->reserved = 0;
	slot->seq = rs->st.packets;
	if (skb_copy_bits(skb, 0, (u8 *)slot + RINGCAP_SLOT_DATA_OFFSET, caplen))
		slot->caplen = 0; /* cannot happen: caplen <= skb->len */
	/* Publish last: everything above is visible before the new count. */
	rs->produced++;
	smp_store_release(&rs->hdr->produced, rs->produced);

	rs->insert = rs->insert + 1 == rs->slot_count ? 0 : rs->insert + 1;
	rs->st.packets++;
	rs->st.bytes += skb->len;
	inserted = true;
	goto publish;

filtered:
	rs->st.filtered++;
publish:
	ringcap_publish_stats(rs);
	if (inserted) {
		wm = READ_ONCE(rs->watermark);
		if (wm <= 1 || ringcap_pending(rs) >= wm)
			wake = true;
		else if (READ_ONCE(rs->poll_timeout_ms))
			arm = true;
	}
unlock:
	spin_unlock(&rs->lock);

	if (wake)
		rs->sk.sk_data_ready(&rs->sk);
	else if (arm && !timer_pending(&rs->timer))
		mod_timer(&rs->timer, jiffies + msecs_to_jiffies(READ_ONCE(rs->poll_timeout_ms)));

	skb->data = skb_head;
	skb->len = skb_len;
}

/* dev_add_pack(ETH_P_ALL) hook of one socket (rx and tx of its device). */
static int ringcap_rcv(struct sk_buff *skb, struct net_device *dev,
		       struct packet_type *pt, struct net_device *orig_dev)
{
	struct ringcap_sock *rs = rc_sk(pt->af_packet_priv);
	u8 dir = skb->pkt_type == PACKET_OUTGOING ? RINGCAP_DIR_TX : RINGCAP_DIR_RX;

	if (skb->pkt_type == PACKET_LOOPBACK)
		goto out;
	if (!(READ_ONCE(rs->direction) & dir))
		goto out;
	/* In steal mode received packets arrive through the rx_handler. */
	if (dir == RINGCAP_DIR_RX && READ_ONCE(rs->steal_active))
		goto out;
	ringcap_capture(rs, skb, dir);
out:
	consume_skb(skb);
	return 0;
}

/* Flow hash of a cluster (see the UAPI header for the definition). The
 * frame starts at skb->data (link-layer header pushed by the caller). */
static u32 ringcap_flow_hash(const struct sk_buff *skb, u32 seed)
{
	struct {
		__be32 a[4], b[4];
		__be16 pa, pb;
		u16 vid;
		u16 proto;
		u32 kind;
	} k;
	u8 buf[40];
	const u8 *p;
	unsigned int off = 0;
	__be16 type = skb->protocol;
	bool vid_set = false, frag = false;
	u8 l4 = 0;
	int i;

	memset(&k, 0, sizeof(k));
	if (skb_vlan_tag_present(skb)) {
		k.vid = skb_vlan_tag_get_id(skb);
		vid_set = true;
	}
	if (skb->dev && skb->dev->type == ARPHRD_ETHER && dev_has_header(skb->dev)) {
		p = skb_header_pointer(skb, 0, ETH_HLEN, buf);
		if (!p)
			goto done;
		/* MACs ordered: the fallback key for non-IP frames */
		if (memcmp(p, p + 6, 6) < 0) {
			memcpy(k.a, p, 6);
			memcpy(k.b, p + 6, 6);
		} else {
			memcpy(k.a, p + 6, 6);
			memcpy(k.b, p, 6);
		}
		type = *(__be16 *)(p + 12);
		off = ETH_HLEN;
		for (i = 0; i < 2 && (type == htons(ETH_P_8021Q) || type == htons(ETH_P_8021AD)); i++) {
			p = skb_header_pointer(skb, off, 4, buf);
			if (!p)
				goto done;
			if (!vid_set) {
				k.vid = ntohs(*(__be16 *)p) & VLAN_VID_MASK;
				vid_set = true;
			}
			type = *(__be16 *)(p + 2);
			off += 4;
		}
	}
	k.proto = ntohs(type);
	k.kind = 0;
	if (type == htons(ETH_P_IP)) {
		const struct iphdr *iph = skb_header_pointer(skb, off, sizeof(*iph), buf);

		if (!iph || iph->version != 4 || iph->ihl < 5)
			goto done;
		memset(k.a, 0, sizeof(k.a));
		memset(k.b, 0, sizeof(k.b));
		k.a[0] = iph->saddr;
		k.b[0] = iph->daddr;
		l4 = iph->protocol;
		frag = iph->frag_off & htons(IP_MF | IP_OFFSET);
		off += iph->ihl * 4;
		k.kind = 4;
	} else if (type == htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = skb_header_pointer(skb, off, sizeof(*ip6), buf);

		if (!ip6 || ip6->version != 6)
			goto done;
		memcpy(k.a, &ip6->saddr, 16);
		memcpy(k.b, &ip6->daddr, 16);
		l4 = ip6->nexthdr;
		off += sizeof(*ip6);
		k.kind = 6;
		for (i = 0; i < 8; i++) {
			if (l4 == NEXTHDR_HOP || l4 == NEXTHDR_ROUTING || l4 == NEXTHDR_DEST ||
			    l4 == NEXTHDR_AUTH) {
				p = skb_header_pointer(skb, off, 2, buf);
				if (!p)
					goto ordered;
				off += l4 == NEXTHDR_AUTH ? (p[1] + 2) * 4 : (p[1] + 1) * 8;
				l4 = p[0];
			} else if (l4 == NEXTHDR_FRAGMENT) {
				const struct frag_hdr *fh = skb_header_pointer(skb, off, sizeof(*fh), buf);

				if (!fh)
					goto ordered;
				l4 = fh->nexthdr;
				off += sizeof(*fh);
				if (fh->frag_off & htons(IP6_OFFSET | IP6_MF)) {
					frag = true;
					break;
				}
			} else {
				break;
			}
		}
	} else {
		goto done;
	}
	if (!frag && (l4 == IPPROTO_TCP || l4 == IPPROTO_UDP || l4 == IPPROTO_UDPLITE ||
		      l4 == IPPROTO_SCTP || l4 == IPPROTO_DCCP)) {
		p = skb_header_pointer(skb, off, 4, buf);
		if (p) {
			k.pa = *(__be16 *)p;
			k.pb = *(__be16 *)(p + 2);
		}
	}
	k.proto = l4;
ordered:
	/* symmetric: the smaller (address, port) first */
	i = memcmp(k.a, k.b, sizeof(k.a));
	if (i > 0 || (i == 0 && ntohs(k.pa) > ntohs(k.pb))) {
		__be32 t[4];
		__be16 tp = k.pa;

		memcpy(t, k.a, sizeof(t));
		memcpy(k.a, k.b, sizeof(t));
		memcpy(k.b, t, sizeof(t));
		k.pa = k.pb;
		k.pb = tp;
	}
done:
	BUILD_BUG_ON(sizeof(k) % 4);
	return jhash2((const u32 *)&k, sizeof(k) / 4, seed);
}

/* The hook of a cluster: choose the member, capture there or count the
 * frame as an absent drop of that index. Under RCU (packet_type). */
static int ringcap_cluster_rcv(struct sk_buff *skb, struct net_device *dev,
			       struct packet_type *pt, struct net_device *orig_dev)
{
	struct ringcap_cluster *c = pt->af_packet_priv;
	u8 dir = skb->pkt_type == PACKET_OUTGOING ? RINGCAP_DIR_TX : RINGCAP_DIR_RX;
	u8 *skb_head = skb->data;
	unsigned int skb_len = skb->len;
	struct ringcap_sock *rs;
	u32 idx;

	if (skb->pkt_type == PACKET_LOOPBACK || !(c->direction & dir))
		goto out;
	if (c->mode == RINGCAP_CLUSTER_LB) {
		idx = ((u32)atomic_inc_return(&c->rr) - 1) % c->size;
	} else {
		if (skb_mac_header_was_set(skb) && dev_has_header(skb->dev) &&
		    skb->data > skb_mac_header(skb))
			skb_push(skb, skb->data - skb_mac_header(skb));
		idx = reciprocal_scale(ringcap_flow_hash(skb, c->seed), c->size);
	}
	rs = rcu_dereference(c->member[idx]);
	if (rs)
		ringcap_capture(rs, skb, dir);
	else
		atomic64_inc(&c->absent[idx]);
	skb->data = skb_head;
	skb->len = skb_len;
out:
	consume_skb(skb);
	return 0;
}

/* Steal mode: capture for every steal socket, then consume the packet so
 * the stack never sees it (the paper's "not forwarded to upper layers"). */
static rx_handler_result_t ringcap_rx_handler(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	struct ringcap_dev *rd = rcu_dereference(skb->dev->rx_handler_data);
	struct ringcap_sock *rs;

	if (unlikely(skb->pkt_type == PACKET_LOOPBACK))
		return RX_HANDLER_PASS;
	list_for_each_entry_rcu(rs, &rd->socks, steal_node)
		if (READ_ONCE(rs->direction) & RINGCAP_DIR_RX)
			ringcap_capture(rs, skb, RINGCAP_DIR_RX);
	consume_skb(skb);
	return RX_HANDLER_CONSUMED;
}

/* Join the device's shared rx_handler. RTNL held, bound. */
static int ringcap_steal_attach(struct ringcap_sock *rs)
{
	struct net_device *dev = rs->dev;
	rx_handler_func_t *handler = rtnl_dereference(dev->rx_handler);
	struct ringcap_dev *rd;
	int err;

	ASSERT_RTNL();
	if (rs->rdev)
		return 0;
	if (handler == ringcap_rx_handler) {
		rd = rtnl_dereference(dev->rx_handler_data);
	} else if (handler) {
		pr_info_ratelimited("%s already has an rx_handler (bridge, bond, macvlan...): steal mode needs the device to itself\n",
				    dev->name);
		return -EBUSY;
	} else {
		rd = kzalloc(sizeof(*rd), GFP_KERNEL);
		if (!rd)
			return -ENOMEM;
		INIT_LIST_HEAD(&rd->socks);
		err = netdev_rx_handler_register(dev, ringcap_rx_handler, rd);
		if (err) {
			kfree(rd);
			return err;
		}
	}
	list_add_rcu(&rs->steal_node, &rd->socks);
	rs->rdev = rd;
	WRITE_ONCE(rs->steal_active, true);
	return 0;
}

/* Leave the shared rx_handler; the last socket unregisters it. RTNL held. */
static void ringcap_steal_detach(struct ringcap_sock *rs)
{
	struct ringcap_dev *rd = rs->rdev;

	ASSERT_RTNL();
	if (!rd)
		return;
	list_del_rcu(&rs->steal_node);
	rs->rdev = NULL;
	WRITE_ONCE(rs->steal_active, false);
	if (list_empty(&rd->socks)) {
		netdev_rx_handler_unregister(rs->dev); /* synchronizes */
		kfree_rcu(rd, rcu);
	}
}

/* Leave rs's cluster; the last member unhooks and frees it. RTNL and
 * ringcap_mutex held. In-flight hooks may still deliver to rs until the
 * caller's synchronize_net (release) or for as long as rs lives (notifier,
 * rebind): rs is valid then, its ring or its absence handled under rs->lock. */
static void ringcap_cluster_leave(struct ringcap_sock *rs)
{
	struct ringcap_cluster *c = rs->cluster;

	ASSERT_RTNL();
	lockdep_assert_held(&ringcap_mutex);
	if (!c)
		return;
	RCU_INIT_POINTER(c->member[rs->cluster_idx], NULL);
	rs->cluster = NULL;
	rs->cluster_idx = 0;
	if (--c->joined)
		return;
	list_del(&c->node);
	__dev_remove_pack(&c->hook);
	synchronize_net(); /* no hook still reads c */
	dev_put(c->dev);
	kvfree(c->absent);
	kvfree(c);
	module_put(THIS_MODULE);
}

static struct ringcap_cluster *ringcap_cluster_find(struct net *net, u32 id)
{
	struct ringcap_cluster *c;

	list_for_each_entry(c, &ringcap_clusters, node)
		if (c->id == id && net_eq(read_pnet(&c->net), net))
			return c;
	return NULL;
}

/* RINGCAP_OPT_CLUSTER (set): join or create. */
static int ringcap_cluster_join(struct ringcap_sock *rs, const struct ringcap_cluster_req *req)
{
	struct net *net = sock_net(&rs->sk);
	struct ringcap_cluster *c = NULL;
	u32 id = req->id, idx, n;
	int err = 0;

	if (req->mode != RINGCAP_CLUSTER_HASH && req->mode != RINGCAP_CLUSTER_LB) {
		pr_info_ratelimited("cluster mode %u: the module balances by hash (0) or lb (1) only; cpu, rollover, random and qm are AF_PACKET fanout modes\n",
				    req->mode);
		return -EINVAL;
	}
	if (req->flags || id > RINGCAP_CLUSTER_MAX_ID || req->members > RINGCAP_CLUSTER_MAX_MEMBERS)
		return -EINVAL;

	rtnl_lock();
	mutex_lock(&ringcap_mutex);
	if (rs->cluster) {
		err = -EALREADY;
		goto out;
	}
	if (!rs->dev) {
		err = -ENXIO;
		goto out;
	}
	if (rs->opt_steal) {
		pr_info_ratelimited("a steal-mode socket cannot join a cluster\n");
		err = -EINVAL;
		goto out;
	}
	if (id)
		c = ringcap_cluster_find(net, id);
	if (c) {
		if (c->dev != rs->dev || c->mode != req->mode ||
		    (req->members && req->members != c->size) ||
		    c->direction != READ_ONCE(rs->direction)) {
			err = -EINVAL;
			goto out;
		}
	} else {
		if (!req->members) {
			err = -EINVAL;
			goto out;
		}
		if (!id) { /* an unused id, 1..MAX */
			for (n = 0; n < RINGCAP_CLUSTER_MAX_ID; n++) {
				id = ringcap_cluster_next_id;
				ringcap_cluster_next_id = id == RINGCAP_CLUSTER_MAX_ID ? 1 : id + 1;
				if (!ringcap_cluster_find(net, id))
					break;
			}
			if (n == RINGCAP_CLUSTER_MAX_ID) {
				err = -ENOMEM;
				goto out;
			}
		}
		c = kvzalloc(struct_size(c, member, req->members), GFP_KERNEL);
		if (!c) {
			err = -ENOMEM;
			goto out;
		}
		c->absent = kvcalloc(req->members, sizeof(*c->absent), GFP_KERNEL);
		if (!c->absent) {
			kvfree(c);
			err = -ENOMEM;
			goto out;
		}
		write_pnet(&c->net, net);
		c->id = id;
		c->mode = req->mode;
		c->size = req->members;
		c->direction = READ_ONCE(rs->direction);
		c->seed = get_random_u32();
		atomic_set(&c->rr, 0);
		c->dev = rs->dev;
		dev_hold(c->dev);
		__module_get(THIS_MODULE);
		c->hook.type = htons(ETH_P_ALL);
		c->hook.dev = c->dev;
		c->hook.func = ringcap_cluster_rcv;
		c->hook.af_packet_priv = c;
		list_add_tail(&c->node, &ringcap_clusters);
		dev_add_pack(&c->hook);
	}
	for (idx = 0; idx < c->size; idx++)
		if (!rcu_access_pointer(c->member[idx]))
			break;
	if (idx == c->size) {
		err = -ENOSPC;
		goto out;
	}
	/* The socket's own hook goes first, and no frame may still be on
	 * its way through it once the cluster's delivers to rs. */
	if (rs->hook_on) {
		__dev_remove_pack(&rs->prot_hook);
		rs->hook_on = false;
		synchronize_net();
	}
	rs->cluster = c;
	rs->cluster_idx = idx;
	c->joined++;
	rcu_assign_pointer(c->member[idx], rs);
out:
	mutex_unlock(&ringcap_mutex);
	rtnl_unlock();
	return err;
}

static void ringcap_cluster_info(struct ringcap_sock *rs, struct ringcap_cluster_info *ci)
{
	struct ringcap_cluster *c;
	u32 i;

	memset(ci, 0, sizeof(*ci));
	mutex_lock(&ringcap_mutex);
	c = rs->cluster;
	if (c) {
		ci->id = c->id;
		ci->mode = c->mode;
		ci->members = c->size;
		ci->index = rs->cluster_idx;
		ci->joined = c->joined;
		ci->absent_dropped = atomic64_read(&c->absent[rs->cluster_idx]);
		for (i = 0; i < c->size; i++)
			ci->absent_total += atomic64_read(&c->absent[i]);
	}
	mutex_unlock(&ringcap_mutex);
}

/* Undo a bind. RTNL held. gone: the device is being unregistered. The
 * caller waits for in-flight RX (synchronize_net) before freeing rs. */
static void ringcap_unbind(struct ringcap_sock *rs, bool gone)
{
	ASSERT_RTNL();
	if (!rs->dev)
		return;
	if (rs->hook_on) {
		__dev_remove_pack(&rs->prot_hook);
		rs->hook_on = false;
	}
	ringcap_steal_detach(rs);
	ringcap_cluster_leave(rs);
	if (rs->promisc_on) {
		if (!gone)
			dev_set_promiscuity(rs->dev, -1);
		rs->promisc_on = false;
	}
	dev_put(rs->dev);
	rs->dev = NULL;
	rs->gone = gone;
	spin_lock_bh(&rs->lock);
	if (rs->hdr) {
		WRITE_ONCE(rs->hdr->ifindex, 0);
		WRITE_ONCE(rs->hdr->flags, gone ? RINGCAP_HF_DEVICE_GONE : 0);
	}
	spin_unlock_bh(&rs->lock);
}

static int ringcap_bind(struct socket *sock, struct sockaddr *uaddr, int addr_len)
{
	struct ringcap_sock *rs = rc_sk(sock->sk);
	struct sockaddr_ringcap *sa = (struct sockaddr_ringcap *)uaddr;
	struct net *net = sock_net(sock->sk);
	char name[IFNAMSIZ];
	struct net_device *dev;
	int err;

	if (addr_len < (int)sizeof(*sa) || sa->sr_family != family)
		return -EINVAL;
	strscpy(name, sa->sr_ifname, sizeof(name));

	rtnl_lock();
	dev = sa->sr_ifindex ? __dev_get_by_index(net, sa->sr_ifindex) :
			       __dev_get_by_name(net, name);
	if (!dev || dev->reg_state != NETREG_REGISTERED) {
		err = -ENODEV;
		goto out_rtnl;
	}
	mutex_lock(&ringcap_mutex); /* /proc and getname read rs->dev under it */
	mutex_lock(&rs->cfg_lock);
	err = ringcap_ensure_ring(rs);
	if (err)
		goto out_cfg;
	if (rs->dev) {
		ringcap_unbind(rs, false);
		synchronize_net(); /* old hook and steal list quiescent */
	}
	dev_hold(dev);
	rs->dev = dev;
	rs->ifindex = dev->ifindex;
	rs->gone = false;
	if (rs->opt_steal) {
		err = ringcap_steal_attach(rs);
		if (err)
			goto out_unbind;
	}
	if (rs->opt_promisc) {
		err = dev_set_promiscuity(dev, 1);
		if (err)
			goto out_unbind;
		rs->promisc_on = true;
	}
	rs->prot_hook.dev = dev;
	dev_add_pack(&rs->prot_hook);
	rs->hook_on = true;
	sock->sk->sk_err = 0;
	spin_lock_bh(&rs->lock);
	WRITE_ONCE(rs->hdr->ifindex, dev->ifindex);
	WRITE_ONCE(rs->hdr->flags, rs->steal_active ? RINGCAP_HF_STEAL : 0);
	spin_unlock_bh(&rs->lock);
	mutex_unlock(&rs->cfg_lock);
	mutex_unlock(&ringcap_mutex);
	rtnl_unlock();
	return 0;

out_unbind:
	ringcap_unbind(rs, false);
out_cfg:
	mutex_unlock(&rs->cfg_lock);
	mutex_unlock(&ringcap_mutex);
out_rtnl:
	rtnl_unlock();
	return err;
}

static int ringcap_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct ringcap_sock *rs = rc_sk(sock->sk);
	struct sockaddr_ringcap *sa = (struct sockaddr_ringcap *)uaddr;
	struct net_device *dev;

	if (peer)
		return -EOPNOTSUPP;
	memset(sa, 0, sizeof(*sa));
	sa->sr_family = family;
	mutex_lock(&ringcap_mutex);
	dev = rs->dev;
	if (dev) {
		sa->sr_ifindex = dev->ifindex;
		strscpy(sa->sr_ifname, dev->name, sizeof(sa->sr_ifname));
	}
	mutex_unlock(&ringcap_mutex);
	return sizeof(*sa);
}

static __poll_t ringcap_poll(struct file *file, struct socket *sock, poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct ringcap_sock *rs = rc_sk(sk);
	__poll_t mask = 0;
	u32 pending, wm;

	sock_poll_wait(file, sock, wait);
	spin_lock_bh(&rs->lock);
	if (rs->ring) {
		pending = ringcap_pending(rs);
		wm = min(READ_ONCE(rs->watermark), rs->slot_count);
		if (pending && (pending >= wm || rs->flush))
			mask |= EPOLLIN | EPOLLRDNORM;
		if (!pending)
			rs->flush = false;
	}
	spin_unlock_bh(&rs->lock);
	if (READ_ONCE(sk->sk_err) || READ_ONCE(rs->gone))
		mask |= EPOLLERR;
	return mask;
}

static void ringcap_timer_fn(struct timer_list *t)
{
	struct ringcap_sock *rs = from_timer(rs, t, timer);

	spin_lock_bh(&rs->lock);
	rs->flush = true;
	spin_unlock_bh(&rs->lock);
	rs->sk.sk_data_ready(&rs->sk);
}

static int ringcap_mmap(struct file *file, struct socket *sock, struct vm_area_struct *vma)
{
	struct ringcap_sock *rs = rc_sk(sock->sk);
	unsigned long size = vma->vm_end - vma->vm_start;
	int err;

	/* Offset 0, shared: a private (copy-on-write) mapping would never
	 * hand slots back to the kernel. */
	if (vma->vm_pgoff || !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&rs->cfg_lock);
	err = ringcap_ensure_ring(rs);
	if (err)
		goto out;
	if (size != rs->mmap_bytes) {
		err = -EINVAL;
		goto out;
	}
	err = remap_vmalloc_range(vma, rs->ring, 0);
	if (!err)
		rs->mapped = true;
out:
	mutex_unlock(&rs->cfg_lock);
	return err;
}

/* Change the ring geometry (before mapping). cfg_lock held. */
static int ringcap_set_geometry(struct ringcap_sock *rs, u64 ring_bytes, u32 snaplen)
{
	u64 mmap_bytes;
	u32 count;
	int err;

	if (ring_bytes > RINGCAP_MAX_RING || snaplen < 1 || snaplen > RINGCAP_MAX_SNAPLEN)
		return -EINVAL;
	err = ringcap_geometry(ring_bytes, snaplen, &count, &mmap_bytes);
	if (err)
		return err;
	if (rs->mapped)
		return -EBUSY;
	rs->opt_ring_bytes = ring_bytes;
	rs->opt_snaplen = snaplen;
	if (rs->ring) {
		ringcap_free_ring(rs);
		/* A bound socket keeps capturing: allocate the new ring now. */
		if (rs->dev)
			return ringcap_ensure_ring(rs);
	}
	return 0;
}

static int ringcap_setsockopt(struct socket *sock, int level, int optname,
			      sockptr_t optval, unsigned int optlen)
{
	struct ringcap_sock *rs = rc_sk(sock->sk);
	u64 v64 = 0;
	u32 val;
	int err = 0;

	if (level != SOL_RINGCAP)
		return -ENOPROTOOPT;
	if (optname == RINGCAP_OPT_CLUSTER) {
		struct ringcap_cluster_req req;

		if (optlen < sizeof(req))
			return -EINVAL;
		if (copy_from_sockptr(&req, optval, sizeof(req)))
			return -EFAULT;
		return ringcap_cluster_join(rs, &req);
	}
	if (optname == RINGCAP_OPT_RING_BYTES && optlen >= sizeof(u64)) {
		if (copy_from_sockptr(&v64, optval, sizeof(u64)))
			return -EFAULT;
		val = 0;
	} else {
		if (optlen < sizeof(u32))
			return -EINVAL;
		if (copy_from_sockptr(&val, optval, sizeof(u32)))
			return -EFAULT;
		v64 = val;
	}

	switch (optname) {
	case RINGCAP_OPT_VERSION:
		if (val != RINGCAP_ABI_VERSION) {
			pr_info_ratelimited("ABI version %u requested, module has %u: rebuild libring or the module\n",
					    val, RINGCAP_ABI_VERSION);
			return -EPROTO;
		}
		return 0;
	case RINGCAP_OPT_RING_BYTES:
		mutex_lock(&rs->cfg_lock);
		err = ringcap_set_geometry(rs, v64, rs->opt_snaplen);
		mutex_unlock(&rs->cfg_lock);
		return err;
	case RINGCAP_OPT_SNAPLEN:
		mutex_lock(&rs->cfg_lock);
		err = ringcap_set_geometry(rs, rs->opt_ring_bytes, val);
		mutex_unlock(&rs->cfg_lock);
		return err;
	case RINGCAP_OPT_SAMPLING:
		spin_lock_bh(&rs->lock);
		rs->sampling = val ? val : 1;
		rs->sample_ctr = 0;
		spin_unlock_bh(&rs->lock);
		return 0;
	case RINGCAP_OPT_WATERMARK:
		if (val < 1)
			return -EINVAL;
		WRITE_ONCE(rs->watermark, val);
		return 0;
	case RINGCAP_OPT_POLL_TIMEOUT:
		if (val > RINGCAP_MAX_POLL_TIMEOUT)
			return -EINVAL;
		WRITE_ONCE(rs->poll_timeout_ms, val);
		return 0;
	case RINGCAP_OPT_DIRECTION:
		if (val < RINGCAP_DIR_RX || val > RINGCAP_DIR_BOTH)
			return -EINVAL;
		mutex_lock(&ringcap_mutex); /* the cluster's direction is fixed */
		if (rs->cluster && val != rs->direction)
			err = -EBUSY;
		else
			WRITE_ONCE(rs->direction, val);
		mutex_unlock(&ringcap_mutex);
		return err;
	case RINGCAP_OPT_STEAL:
		if (val > 1)
			return -EINVAL;
		/* taking received packets away from the stack is an administrator's act */
		if (val && !ns_capable(sock_net(sock->sk)->user_ns, CAP_NET_ADMIN))
			return -EPERM;
		rtnl_lock();
		if (val && READ_ONCE(rs->cluster))
			err = -EBUSY; /* cluster members capture through the cluster's hook */
		else if (rs->dev && val && !rs->rdev)
			err = ringcap_steal_attach(rs);
		else if (rs->dev && !val && rs->rdev)
			ringcap_steal_detach(rs);
		if (!err) {
			rs->opt_steal = val;
			if (rs->dev) {
				spin_lock_bh(&rs->lock);
				if (rs->hdr)
					WRITE_ONCE(rs->hdr->flags, val ? RINGCAP_HF_STEAL : 0);
				spin_unlock_bh(&rs->lock);
			}
		}
		rtnl_unlock();
		return err;
	case RINGCAP_OPT_PROMISC:
		if (val > 1)
			return -EINVAL;
		rtnl_lock();
		if (rs->dev && val && !rs->promisc_on) {
			err = dev_set_promiscuity(rs->dev, 1);
			if (!err)
				rs->promisc_on = true;
		} else if (rs->dev && !val && rs->promisc_on) {
			dev_set_promiscuity(rs->dev, -1);
			rs->promisc_on = false;
		}
		if (!err)
			rs->opt_promisc = val;
		rtnl_unlock();
		return err;
	default:
		return -ENOPROTOOPT;
	}
}

static int ringcap_getsockopt(struct socket *sock, int level, int optname,
			      char __user *optval, int __user *optlen)
{
	struct ringcap_sock *rs = rc_sk(sock->sk);
	struct ringcap_stats st;
	struct ringcap_cluster_info ci;
	u64 v64, mmap_bytes;
	u32 val, count;
	void *data = &val;
	int len, size = sizeof(val);

	if (level != SOL_RINGCAP)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;

	switch (optname) {
	case RINGCAP_OPT_VERSION:
		val = RINGCAP_ABI_VERSION;
		break;
	case RINGCAP_OPT_RING_BYTES:
		v64 = READ_ONCE(rs->opt_ring_bytes);
		data = &v64;
		size = sizeof(v64);
		break;
	case RINGCAP_OPT_SNAPLEN:
		val = READ_ONCE(rs->opt_snaplen);
		break;
	case RINGCAP_OPT_SAMPLING:
		val = READ_ONCE(rs->sampling);
		break;
	case RINGCAP_OPT_WATERMARK:
		val = READ_ONCE(rs->watermark);
		break;
	case RINGCAP_OPT_POLL_TIMEOUT:
		val = READ_ONCE(rs->poll_timeout_ms);
		break;
	case RINGCAP_OPT_DIRECTION:
		val = READ_ONCE(rs->direction);
		break;
	case RINGCAP_OPT_STEAL:
		val = READ_ONCE(rs->opt_steal);
		break;
	case RINGCAP_OPT_PROMISC:
		val = READ_ONCE(rs->opt_promisc);
		break;
	case RINGCAP_OPT_STATS:
		spin_lock_bh(&rs->lock);
		st = rs->st;
		spin_unlock_bh(&rs->lock);
		data = &st;
		size = sizeof(st);
		break;
	case RINGCAP_OPT_MMAP_BYTES:
		mutex_lock(&rs->cfg_lock);
		if (rs->ring)
			v64 = rs->mmap_bytes;
		else if (ringcap_geometry(rs->opt_ring_bytes, rs->opt_snaplen, &count, &mmap_bytes))
			v64 = 0;
		else
			v64 = mmap_bytes;
		mutex_unlock(&rs->cfg_lock);
		data = &v64;
		size = sizeof(v64);
		break;
	case RINGCAP_OPT_CLUSTER:
		ringcap_cluster_info(rs, &ci);
		data = &ci;
		size = sizeof(ci);
		break;
	default:
		return -ENOPROTOOPT;
	}
	/* A 4-byte buffer for a 64-bit value gets the low word (little-endian). */
	len = min(len, size);
	if (put_user(len, optlen) || copy_to_user(optval, data, len))
		return -EFAULT;
	return 0;
}

static int ringcap_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	return -ENOIOCTLCMD;
}

static void ringcap_destruct(struct sock *sk)
{
	struct ringcap_sock *rs = rc_sk(sk);

	vfree(rs->ring);
	rs->ring = NULL;
}

static int ringcap_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct ringcap_sock *rs;

	if (!sk)
		return 0;
	rs = rc_sk(sk);

	rtnl_lock();
	mutex_lock(&ringcap_mutex);
	list_del(&rs->node);
	ringcap_unbind(rs, false);
	mutex_unlock(&ringcap_mutex);
	rtnl_unlock();
	synchronize_net(); /* no RX path is still inside ringcap_capture(rs) */
	del_timer_sync(&rs->timer);

	sock_orphan(sk);
	sock->sk = NULL;
	sock_put(sk); /* ringcap_destruct frees the ring */
	return 0;
}

static struct proto ringcap_proto = {
	.name = "RINGCAP",
	.owner = THIS_MODULE,
	.obj_size = sizeof(struct ringcap_sock),
};

static int ringcap_create(struct net *net, struct socket *sock, int protocol, int kern)
{
	struct ringcap_sock *rs;
	struct sock *sk;

	if (!ns_capable(net->user_ns, CAP_NET_RAW))
		return -EPERM;
	if (sock->type != SOCK_RAW)
		return -ESOCKTNOSUPPORT;
	if (protocol && protocol != htons(ETH_P_ALL))
		return -EPROTONOSUPPORT;

	sk = sk_alloc(net, family, GFP_KERNEL, &ringcap_proto, kern);
	if (!sk)
		return -ENOBUFS;
	sock->state = SS_UNCONNECTED;
	sock->ops = &ringcap_ops;
	sock_init_data(sock, sk);
	sk->sk_family = family;
	sk->sk_destruct = ringcap_destruct;

	rs = rc_sk(sk);
	spin_lock_init(&rs->lock);
	mutex_init(&rs->cfg_lock);
	rs->ring = NULL;
	memset(&rs->st, 0, sizeof(rs->st));
	rs->opt_ring_bytes = RINGCAP_DEFAULT_RING;
	rs->opt_snaplen = RINGCAP_DEFAULT_SNAPLEN;
	rs->sampling = 1;
	rs->watermark = 1;
	rs->poll_timeout_ms = 10;
	rs->direction = RINGCAP_DIR_BOTH;
	rs->dev = NULL;
	rs->rdev = NULL;
	INIT_LIST_HEAD(&rs->steal_node);
	rs->prot_hook.type = htons(ETH_P_ALL);
	rs->prot_hook.func = ringcap_rcv;
	rs->prot_hook.af_packet_priv = sk;
	timer_setup(&rs->timer, ringcap_timer_fn, 0);

	mutex_lock(&ringcap_mutex);
	list_add_tail(&rs->node, &ringcap_socks);
	mutex_unlock(&ringcap_mutex);
	return 0;
}

static struct net_proto_family ringcap_family_ops = {
	.create = ringcap_create,
	.owner = THIS_MODULE,
};

static struct proto_ops ringcap_ops = {
	.owner = THIS_MODULE,
	.release = ringcap_release,
	.bind = ringcap_bind,
	.connect = sock_no_connect,
	.socketpair = sock_no_socketpair,
	.accept = sock_no_accept,
	.getname = ringcap_getname,
	.poll = ringcap_poll,
	.ioctl = ringcap_ioctl,
	.listen = sock_no_listen,
	.shutdown = sock_no_shutdown,
	.setsockopt = ringcap_setsockopt,
	.getsockopt = ringcap_getsockopt,
	.sendmsg = sock_no_sendmsg,
	.recvmsg = sock_no_recvmsg,
	.mmap = ringcap_mmap,
	.sendpage = sock_no_sendpage,
};

/* Interface removal: unhook every socket bound to it; readers get POLLERR
 * and SO_ERROR/ENODEV, the device loses our references. RTNL held. */
static int ringcap_notifier(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct ringcap_sock *rs;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	mutex_lock(&ringcap_mutex);
	list_for_each_entry(rs, &ringcap_socks, node) {
		if (rs->dev != dev)
			continue;
		ringcap_unbind(rs, true);
		rs->sk.sk_err = ENODEV;
		sk_error_report(&rs->sk);
	}
	mutex_unlock(&ringcap_mutex);
	return NOTIFY_DONE;
}

static struct notifier_block ringcap_nb = {
	.notifier_call = ringcap_notifier,
};

/* /proc/net/ringcap: one line per socket of this network namespace. */
static void *ringcap_seq_start(struct seq_file *seq, loff_t *pos)
{
	mutex_lock(&ringcap_mutex);
	return seq_list_start_head(&ringcap_socks, *pos);
}

static void *ringcap_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	return seq_list_next(v, &ringcap_socks, pos);
}

static void ringcap_seq_stop(struct seq_file *seq, void *v)
{
	mutex_unlock(&ringcap_mutex);
}

static int ringcap_seq_show(struct seq_file *seq, void *v)
{
	struct ringcap_sock *rs;
	struct ringcap_stats st;
	struct net_device *dev;
	const char *name;
	u32 slots, snaplen;

	if (v == &ringcap_socks) {
		seq_puts(seq, "iface ifindex ring_bytes slots snaplen packets dropped filtered seen bytes sampling steal direction cluster member members\n");
		return 0;
	}
	rs = list_entry(v, struct ringcap_sock, node);
	if (!net_eq(sock_net(&rs->sk), seq_file_net(seq)))
		return 0;
	spin_lock_bh(&rs->lock);
	st = rs->st;
	slots = rs->ring ? rs->slot_count : 0;
	snaplen = rs->ring ? rs->snaplen : rs->opt_snaplen;
	spin_unlock_bh(&rs->lock);
	dev = rs->dev; /* stable: bind, unbind and the notifier hold ringcap_mutex */
	name = dev ? dev->name : rs->gone ? "(gone)" : "-";
	/* cluster id (0 = none), member index (-1 = none), cluster size */
	seq_printf(seq, "%s %d %llu %u %u %llu %llu %llu %llu %llu %u %d %u %u %d %u\n",
		   name, dev ? dev->ifindex : 0, rs->ring ? rs->mmap_bytes : 0,
		   slots, snaplen, st.packets, st.dropped, st.filtered, st.seen,
		   st.bytes, READ_ONCE(rs->sampling), READ_ONCE(rs->steal_active),
		   READ_ONCE(rs->direction), rs->cluster ? rs->cluster->id : 0,
		   rs->cluster ? (int)rs->cluster_idx : -1, rs->cluster ? rs->cluster->size : 0);
	return 0;
}

static const struct seq_operations ringcap_seq_ops = {
	.start = ringcap_seq_start,
	.next = ringcap_seq_next,
	.stop = ringcap_seq_stop,
	.show = ringcap_seq_show,
};

/* /proc/net/ringcap_clusters: one line per cluster of this namespace. */
static void *ringcap_cl_seq_start(struct seq_file *seq, loff_t *pos)
{
	mutex_lock(&ringcap_mutex);
	return seq_list_start_head(&ringcap_clusters, *pos);
}

static void *ringcap_cl_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	return seq_list_next(v, &ringcap_clusters, pos);
}

static int ringcap_cl_seq_show(struct seq_file *seq, void *v)
{
	struct ringcap_cluster *c;
	u64 total = 0, n;
	u32 i;

	if (v == &ringcap_clusters) {
		seq_puts(seq, "id iface mode members joined absent_dropped absent_by_index\n");
		return 0;
	}
	c = list_entry(v, struct ringcap_cluster, node);
	if (!net_eq(read_pnet(&c->net), seq_file_net(seq)))
		return 0;
	for (i = 0; i < c->size; i++)
		total += atomic64_read(&c->absent[i]);
	seq_printf(seq, "%u %s %s %u %u %llu ", c->id, c->dev->name,
		   c->mode == RINGCAP_CLUSTER_LB ? "lb" : "hash", c->size, c->joined, total);
	/* index:frames for every index that lost some, "-" if none did */
	if (!total)
		seq_puts(seq, "-");
	for (i = 0, n = 0; i < c->size && n < total; i++) {
		u64 a = atomic64_read(&c->absent[i]);

		if (a) {
			seq_printf(seq, "%s%u:%llu", n ? "," : "", i, a);
			n += a;
		}
	}
	seq_putc(seq, '\n');
	return 0;
}

static const struct seq_operations ringcap_cl_seq_ops = {
	.start = ringcap_cl_seq_start,
	.next = ringcap_cl_seq_next,
	.stop = ringcap_seq_stop,
	.show = ringcap_cl_seq_show,
};

static int __net_init ringcap_net_init(struct net *net)
{
	if (!proc_create_net("ringcap", 0444, net->proc_net, &ringcap_seq_ops,
			     sizeof(struct seq_net_private)))
		return -ENOMEM;
	if (!proc_create_net("ringcap_clusters", 0444, net->proc_net, &ringcap_cl_seq_ops,
			     sizeof(struct seq_net_private))) {
		remove_proc_entry("ringcap", net->proc_net);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit ringcap_net_exit(struct net *net)
{
	remove_proc_entry("ringcap_clusters", net->proc_net);
	remove_proc_entry("ringcap", net->proc_net);
}

static struct pernet_operations ringcap_net_ops = {
	.init = ringcap_net_init,
	.exit = ringcap_net_exit,
};

static int __init ringcap_init(void)
{
	int err;

	if (family <= 0 || family >= NPROTO) {
		pr_err("family=%d out of range 1..%d\n", family, NPROTO - 1);
		return -EINVAL;
	}
	ringcap_family_ops.family = family;
	ringcap_ops.family = family;

	err = proto_register(&ringcap_proto, 0);
	if (err)
		return err;
	err = sock_register(&ringcap_family_ops);
	if (err) {
		pr_err("socket family %d is taken (%d): load with family=N\n", family, err);
		goto out_proto;
	}
	err = register_pernet_subsys(&ringcap_net_ops);
	if (err)
		goto out_sock;
	err = register_netdevice_notifier(&ringcap_nb);
	if (err)
		goto out_pernet;
	pr_info("PF_RING family %d, ABI %u\n", family, RINGCAP_ABI_VERSION);
	return 0;

out_pernet:
	unregister_pernet_subsys(&ringcap_net_ops);
out_sock:
	sock_unregister(family);
out_proto:
	proto_unregister(&ringcap_proto);
	return err;
}

static void __exit ringcap_exit(void)
{
	unregister_netdevice_notifier(&ringcap_nb);
	unregister_pernet_subsys(&ringcap_net_ops);
	sock_unregister(family);
	proto_unregister(&ringcap_proto);
	rcu_barrier(); /* kfree_rcu of ringcap_dev */
}

module_init(ringcap_init);
module_exit(ringcap_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ringcap: PF_RING-style passive packet capture into a mapped ring");
MODULE_VERSION("1");
MODULE_ALIAS_NETPROTO(PF_RING_DEFAULT);
