// SPDX-License-Identifier: GPL-2.0
/*
 * netsvc_front: the guest end of netsvc tunnels.  Loaded inside a guest, it
 * waits for Dom0's broker to offer peers (see proto.h), sets up one tunnel per
 * peer on grant-shared pages, and steers the guest's unicast frames for that
 * peer's MAC into it instead of netfront.
 *
 *   guest A (lower domid: grants)            guest B (maps)
 *   eth0 egress hook --> ring[0] ---------> napi poll --> netif_receive_skb
 *   netif_receive_skb <-- napi poll <------- ring[1] <-- eth0 egress hook
 *            \____________ one event channel, both ways _____________/
 *   everything else (broadcast, multicast, other hosts, a channel that is
 *   not up) goes through netfront as before.
 *
 * Set-up.  The granter allocates NTUN_NR_PAGES pages one by one (so that each
 * can be handed to gnttab_end_foreign_access() alone), grants them to the
 * peer, allocates an unbound event channel for it and replies with the refs.
 * The broker relays them to the mapper, which maps them (xenbus_map_ring_valloc
 * is the only exported way to map grants virtually contiguously in a PV
 * guest), binds the port and sends one event.  The granter treats that first
 * event as "the peer is there": only then does it steer frames into the ring,
 * so an absent mapper never swallows traffic.
 *
 * Data path.  The egress hook copies a frame whole into the ring, GSO
 * super-frames included with their metadata (the receiver rebuilds a GSO skb,
 * as netfront does for netback's), so a 32 KiB TCP burst costs one frame and
 * no segmentation.  eth0's gso_max_size is lowered so that bursts fit half a
 * ring; a larger skb (from a connection opened before the module came) is
 * segmented in software.  Frames are published one by one but the peer is
 * notified only when it asked (event indices in ring.c): a busy peer takes a
 * whole batch per event.  When the ring is full the skb waits in a bounded
 * backlog, like a NIC queue; holding the skb keeps TCP small queues honest,
 * so TCP slows down instead of losing packets.  Never falling back to netfront
 * for one frame while later ones sit in the ring keeps streams in order.
 *
 * Receiving runs in NAPI on a dummy device, with late EOI: the event channel
 * stays masked until the poll has caught up, so a peer that sends events in a
 * loop gets at most one poll per batch.  Frames are copied out of shared
 * memory once, into a fresh skb, before anything parses them.  Sockets may
 * busy-poll the NAPI context (SO_BUSY_POLL, net.core.busy_read): a reader
 * waiting for its peer spins on the ring instead of blocking its vCPU until
 * an event wakes it, and the peer need not notify meanwhile.
 *
 * Trust.  The peer may write anything into the shared pages at any time.  The
 * ring core validates indices and frame headers; here the metadata is checked
 * (known flags, GSO only for TCP with a partial checksum, length within the
 * MTU otherwise) and the frame must come from the peer's MAC.  Any nonsense
 * marks the tunnel dead: frames fall back to netfront at once, a worker tears
 * the tunnel down, counts a peer error and reports "error" to the broker,
 * which revokes the pair.  Teardown also happens when the broker removes the
 * offer (detach, policy, the peer's vif went away) or when the peer closes its
 * ring.  Grants still mapped by a dead or stubborn peer are retried quietly
 * until the peer lets go.
 */
#include <linux/module.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/platform_device.h>
#include <linux/proc_fs.h>
#include <linux/rtnetlink.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/vmalloc.h>
#include <net/busy_poll.h>
#include <xen/xen.h>
#include <xen/xenbus.h>
#include <xen/grant_table.h>
#include <xen/events.h>
#include <xen/page.h>
#include <xen/interface/event_channel.h>
#include <asm/xen/hypercall.h>
#include "proto.h"
#include "ring.h"

static char *ifname = "eth0";
module_param(ifname, charp, 0444);
MODULE_PARM_DESC(ifname, "the netfront interface whose frames are steered");

/*
 * Test mode: make this guest a hostile peer.  1: publish a producer index that
 * is not a multiple of 8; 2: publish a frame header with an impossible length.
 * Applied once, to the next frame sent into any tunnel, then reset.
 */
static int corrupt;
module_param(corrupt, int, 0644);
MODULE_PARM_DESC(corrupt, "test only: corrupt the next frame's ring (1: index, 2: length)");

#define NTUN_MAX_FRAME		(ntr_max_frame_limit(NTUN_RING_ORDER))
#define NTUN_MAX_ETH		(NTUN_MAX_FRAME - sizeof(struct ntun_meta))
/* TCP bursts below this fit a frame with room for the largest headers. */
#define NTUN_GSO_MAX		32000u
#define NTUN_BACKLOG		512
#define NTUN_RX_COPYBREAK	2048u
#define NTUN_RX_HEAD		256u
#define NTUN_SPENT_MAX		32

enum { T_WAIT, T_UP, T_DEAD };

struct ntun {
	struct list_head node;		/* ntun_list; RCU for the hooks */
	domid_t peer;
	u8 mac[ETH_ALEN];
	bool granter;
	bool reported;			/* "connected" written to XenStore */
	bool peer_error;
	bool setup_error;
	bool corrupted;			/* test mode: we broke our own tx ring */
	int state;			/* T_*, READ_ONCE on the data path */
	u32 gen;
	const char *why;
	char xsdir[40];

	struct page *pages[NTUN_NR_PAGES];	/* granter */
	grant_ref_t refs[NTUN_NR_PAGES];
	void *vmapped[2];
	struct xenbus_device xdev;		/* mapper: see map_rings() */
	void *mapped[3];
	struct ntr_ctl *ctl;			/* in pages[0] or mapped[0] */
	void *data[2];				/* vmapped[] or mapped[1..2] */
	evtchn_port_t port;
	int irq;

	spinlock_t tx_lock;		/* tx ring, backlog, tx counters */
	struct ntr_ring tx;
	struct sk_buff_head backlog;
	struct ntr_ring rx;		/* NAPI only */
	struct napi_struct napi;
	bool did_work;			/* NAPI: moved something since the last EOI */
	int eoi_owed;			/* an event was delivered, not yet EOI'd */

	u64 tx_frames, tx_bytes, rx_frames, rx_bytes;
	u64 events, polls;		/* frames / events shows the batching */
	atomic64_t fb_tx_frames, fb_rx_frames;
};

/* A page the peer still maps: freed once it lets go. */
struct ntun_gref {
	struct list_head node;
	grant_ref_t ref;
	struct page *page;
};

/* The interface (changed under rtnl and ntun_mutex; NULL while it is gone). */
static struct net_device *ntun_dev;
static unsigned int ntun_saved_gso;
static struct net_device ntun_napi_dev;
static LIST_HEAD(ntun_list);
static DEFINE_MUTEX(ntun_mutex);	/* ntun_list changes, set-up, teardown */
static DEFINE_SPINLOCK(ntun_gref_lock);
static LIST_HEAD(ntun_grefs);
static DEFINE_PER_CPU(bool, ntun_injecting);
/* Offers that had their tunnel: one generation is one channel's life. */
static struct { domid_t peer; u32 gen; } ntun_spent[NTUN_SPENT_MAX];
static unsigned int ntun_spent_next;
static bool ntun_stopping;		/* module exit: no new tunnels */
static bool ntun_frozen;		/* Xen suspends us: no new tunnels */

static struct {
	atomic64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	atomic64_t fb_tx_frames, fb_tx_bytes, fb_rx_frames, fb_rx_bytes;
	atomic64_t setups, teardowns, peer_errors, setup_errors;
	atomic64_t backlogged, tx_dropped, rx_dropped, segmented;
	atomic64_t rx_busy_polled;
} st;

static void ntun_reconcile(struct work_struct *w);
static DECLARE_WORK(ntun_work, ntun_reconcile);
static void ntun_gref_retry(struct work_struct *w);
static DECLARE_DELAYED_WORK(ntun_gref_work, ntun_gref_retry);

/* Called from the data path: stop steering now, tear down in process context. */
static void ntun_fail(struct ntun *t, const char *why, bool peer_error)
{
	if (xchg(&t->state, T_DEAD) == T_DEAD)
		return;
	t->why = why;
	t->peer_error = peer_error;
	if (peer_error)
		net_warn_ratelimited("%s: peer %u misbehaves: %s; channel dropped\n",
				     KBUILD_MODNAME, t->peer, why);
	schedule_work(&ntun_work);
}

static struct ntun *ntun_find(const u8 *mac)
{
	struct ntun *t, *found = NULL;

	/* Two tunnels to one MAC while a peer migrates: its old and new domain. */
	list_for_each_entry_rcu(t, &ntun_list, node) {
		if (!ether_addr_equal(t->mac, mac))
			continue;
		if (READ_ONCE(t->state) == T_UP)
			return t;
		found = found ?: t;
	}
	return found;
}

static void ntun_kick(struct ntun *t)
{
	if (!t->corrupted && ntr_push(&t->tx))
		notify_remote_via_irq(t->irq);
}

/* Test mode, see the corrupt parameter.  tx_lock held. */
static void ntun_corrupt(struct ntun *t, int how)
{
	struct ntr_ring *r = &t->tx;
	struct ntr_frame_hdr *h = (void *)(r->data + (r->head & r->mask));

	if (how == 1) {
		virt_store_release(&r->sh->prod, r->published + 4);
	} else {
		WRITE_ONCE(h->len, r->max_frame + 8);
		WRITE_ONCE(h->flags, 0);
		virt_store_release(&r->sh->prod, r->head + 16);
	}
	/* From now on leave the ring alone: the peer must find the damage. */
	t->corrupted = true;
	pr_info("test mode: corrupted the ring to peer %u (%d)\n", t->peer, how);
	notify_remote_via_irq(t->irq);
}

/*
 * One frame into the ring: -EAGAIN when full, -EMSGSIZE when it must be
 * segmented first, -EPROTO when the ring is broken.  tx_lock held.
 */
static int ntun_put(struct ntun *t, struct sk_buff *skb)
{
	struct skb_shared_info *sh = skb_shinfo(skb);
	struct ntun_meta m = {};
	void *p;
	int err;

	if (skb->len > NTUN_MAX_ETH)
		return -EMSGSIZE;
	if (skb_is_gso(skb)) {
		if (sh->gso_type & SKB_GSO_TCPV4)
			m.flags |= NTUN_F_GSO_TCPV4;
		else if (sh->gso_type & SKB_GSO_TCPV6)
			m.flags |= NTUN_F_GSO_TCPV6;
		else
			return -EMSGSIZE;
		if (sh->gso_type & SKB_GSO_TCP_ECN)
			m.flags |= NTUN_F_GSO_ECN;
		if (skb->ip_summed != CHECKSUM_PARTIAL)
			return -EMSGSIZE;
		m.gso_size = cpu_to_le16(sh->gso_size);
	}
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		/* The receiver can only redo TCP/UDP offsets over IP. */
		if (!skb_is_gso(skb) &&
		    (skb->csum_not_inet ||
		     (skb->csum_offset != offsetof(struct tcphdr, check) &&
		      skb->csum_offset != offsetof(struct udphdr, check)))) {
			if (skb_checksum_help(skb))
				return -EMSGSIZE;
		} else {
			m.flags |= NTUN_F_CSUM_PARTIAL;
		}
	}
	err = ntr_reserve(&t->tx, sizeof(m) + skb->len, &p);
	if (err)
		return err;
	memcpy(p, &m, sizeof(m));
	if (skb_copy_bits(skb, 0, p + sizeof(m), skb->len))
		return -EMSGSIZE;	/* reservation simply not committed */
	ntr_commit(&t->tx, sizeof(m) + skb->len);
	t->tx_frames++;
	t->tx_bytes += skb->len;
	atomic64_inc(&st.tx_frames);
	atomic64_add(skb->len, &st.tx_bytes);
	if (unlikely(READ_ONCE(corrupt))) {
		ntun_corrupt(t, xchg(&corrupt, 0));
		return 0;
	}
	return 0;
}

/*
 * Send what waits, in order; stop at the first frame that does not fit after
 * asking the peer for a wake-up.  tx_lock held.
 */
static void ntun_drain(struct ntun *t)
{
	struct sk_buff *skb;
	int err;

	while ((skb = skb_peek(&t->backlog))) {
		err = ntun_put(t, skb);
		if (err == -EAGAIN) {
			ntun_kick(t);
			if (ntr_prod_prepare_wait(&t->tx, sizeof(struct ntun_meta) + skb->len))
				return;
			continue;
		}
		__skb_unlink(skb, &t->backlog);
		if (err == -EPROTO) {
			kfree_skb(skb);
			ntun_fail(t, ntr_why(&t->tx), true);
			return;
		}
		if (err) {
			atomic64_inc(&st.tx_dropped);
			kfree_skb(skb);
		} else {
			consume_skb(skb);
		}
		t->did_work = true;
	}
}

static void ntun_enqueue(struct ntun *t, struct sk_buff *skb)
{
	if (skb_queue_len(&t->backlog) >= NTUN_BACKLOG) {
		atomic64_inc(&st.tx_dropped);
		kfree_skb(skb);
		return;
	}
	atomic64_inc(&st.backlogged);
	__skb_queue_tail(&t->backlog, skb);
	ntun_drain(t);
}

/* tx_lock held; consumes skb. */
static void ntun_send(struct ntun *t, struct sk_buff *skb)
{
	int err;

	if (!skb_queue_empty(&t->backlog)) {
		ntun_enqueue(t, skb);
		return;
	}
	err = ntun_put(t, skb);
	switch (err) {
	case 0:
		consume_skb(skb);
		break;
	case -EAGAIN:
		ntun_enqueue(t, skb);
		break;
	case -EPROTO:
		kfree_skb(skb);
		ntun_fail(t, ntr_why(&t->tx), true);
		break;
	default:
		atomic64_inc(&st.tx_dropped);
		kfree_skb(skb);
		break;
	}
}

static unsigned int ntun_xmit(struct ntun *t, struct sk_buff *skb)
{
	struct sk_buff *segs, *seg, *next;

	spin_lock(&t->tx_lock);
	/* Re-checked under the lock: teardown empties the backlog under it. */
	if (READ_ONCE(t->state) != T_UP || t->corrupted) {
		spin_unlock(&t->tx_lock);
		return NF_ACCEPT;
	}
	if (skb->len > NTUN_MAX_ETH && skb_is_gso(skb)) {
		segs = skb_gso_segment(skb, NETIF_F_SG | NETIF_F_HW_CSUM);
		if (IS_ERR_OR_NULL(segs)) {
			spin_unlock(&t->tx_lock);
			return NF_ACCEPT;	/* netfront copes */
		}
		atomic64_inc(&st.segmented);
		consume_skb(skb);
		skb_list_walk_safe(segs, seg, next) {
			skb_mark_not_on_list(seg);
			ntun_send(t, seg);
		}
	} else if (skb->len > NTUN_MAX_ETH) {
		spin_unlock(&t->tx_lock);
		return NF_ACCEPT;
	} else {
		ntun_send(t, skb);
	}
	if (READ_ONCE(t->state) == T_UP)
		ntun_kick(t);
	spin_unlock(&t->tx_lock);
	return NF_STOLEN;
}

static unsigned int ntun_egress(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	const struct ethhdr *eth;
	struct ntun *t;

	/* On egress the MAC header is where data starts. */
	if (!skb_mac_header_was_set(skb) || skb_mac_header(skb) != skb->data ||
	    skb_headlen(skb) < ETH_HLEN)
		return NF_ACCEPT;
	eth = (const struct ethhdr *)skb->data;
	if (is_multicast_ether_addr(eth->h_dest))
		return NF_ACCEPT;
	t = ntun_find(eth->h_dest);
	if (!t)
		return NF_ACCEPT;
	if (READ_ONCE(t->state) == T_UP &&
	    ntun_xmit(t, skb) == NF_STOLEN)
		return NF_STOLEN;
	atomic64_inc(&t->fb_tx_frames);
	atomic64_inc(&st.fb_tx_frames);
	atomic64_add(skb->len, &st.fb_tx_bytes);
	return NF_ACCEPT;
}

/* Counts frames from peers that still come through netfront. */
static unsigned int ntun_ingress(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct ntun *t;

	if (this_cpu_read(ntun_injecting) || !skb_mac_header_was_set(skb))
		return NF_ACCEPT;
	t = ntun_find(eth_hdr(skb)->h_source);
	if (t) {
		atomic64_inc(&t->fb_rx_frames);
		atomic64_inc(&st.fb_rx_frames);
		atomic64_add(skb->len + ETH_HLEN, &st.fb_rx_bytes);
	}
	return NF_ACCEPT;
}

/* A private copy of a frame still in shared memory. */
static struct sk_buff *ntun_copy(struct ntun *t, const u8 *src, u32 len)
{
	u32 head = len <= NTUN_RX_COPYBREAK ? len : NTUN_RX_HEAD, off, n;
	struct sk_buff *skb;
	struct page *page;
	int i = 0;

	skb = napi_alloc_skb(&t->napi, head);
	if (!skb)
		return NULL;
	skb_put_data(skb, src, head);
	for (off = head; off < len; off += n, i++) {
		n = min_t(u32, len - off, PAGE_SIZE);
		page = alloc_page(GFP_ATOMIC);
		if (!page) {
			kfree_skb(skb);
			return NULL;
		}
		memcpy(page_address(page), src + off, n);
		skb_add_rx_frag(skb, i, page, 0, n, PAGE_SIZE);
	}
	return skb;
}

/* 0, or -EPROTO with the tunnel failed. */
static int ntun_deliver(struct ntun *t, const void *p, u32 len)
{
	u32 gso = NTUN_F_GSO_TCPV4 | NTUN_F_GSO_TCPV6;
	struct net_device *dev = ntun_dev;
	struct ntun_meta m;
	struct sk_buff *skb;
	const char *why;
	u16 gso_size;

	if (len < sizeof(m) + ETH_HLEN) {
		why = "frame shorter than an Ethernet header";
		goto bad;
	}
	memcpy(&m, p, sizeof(m));
	len -= sizeof(m);
	gso_size = le16_to_cpu(m.gso_size);
	if (m.flags & ~NTUN_F_ALL) {
		why = "unknown frame flags";
		goto bad;
	}
	if (m.flags & gso) {
		if ((m.flags & gso) == gso || !(m.flags & NTUN_F_CSUM_PARTIAL) ||
		    !gso_size || gso_size >= len) {
			why = "inconsistent GSO metadata";
			goto bad;
		}
	} else if (len > dev->mtu + ETH_HLEN + VLAN_HLEN) {
		why = "frame longer than the MTU";
		goto bad;
	}

	skb = ntun_copy(t, (const u8 *)p + sizeof(m), len);
	if (!skb) {
		atomic64_inc(&st.rx_dropped);
		return 0;
	}
	skb->protocol = eth_type_trans(skb, dev);
	if (!ether_addr_equal(eth_hdr(skb)->h_source, t->mac)) {
		kfree_skb(skb);
		why = "source MAC is not the peer's";
		goto bad;
	}
	if (skb->pkt_type != PACKET_HOST) {
		atomic64_inc(&st.rx_dropped);
		kfree_skb(skb);
		return 0;
	}
	skb_reset_network_header(skb);
	if (m.flags & NTUN_F_CSUM_PARTIAL) {
		skb->ip_summed = CHECKSUM_PARTIAL;
		if (skb_checksum_setup(skb, false)) {
			kfree_skb(skb);
			why = "checksum offload on something that is not TCP/UDP over IP";
			goto bad;
		}
	} else {
		/* Memory does not flip bits; a lying peer can lie in the data too. */
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	}
	if (m.flags & gso) {
		bool v4 = m.flags & NTUN_F_GSO_TCPV4;

		if (skb->protocol != htons(v4 ? ETH_P_IP : ETH_P_IPV6) ||
		    skb->csum_offset != offsetof(struct tcphdr, check)) {
			kfree_skb(skb);
			why = "GSO frame is not TCP";
			goto bad;
		}
		skb_shinfo(skb)->gso_size = gso_size;
		skb_shinfo(skb)->gso_type = (v4 ? SKB_GSO_TCPV4 : SKB_GSO_TCPV6) |
			(m.flags & NTUN_F_GSO_ECN ? SKB_GSO_TCP_ECN : 0) | SKB_GSO_DODGY;
		skb_shinfo(skb)->gso_segs = 0;
	}
	t->rx_frames++;
	t->rx_bytes += len;
	atomic64_inc(&st.rx_frames);
	atomic64_add(len, &st.rx_bytes);
	/* Its socket learns which context to busy-poll (SO_BUSY_POLL). */
	skb_mark_napi_id(skb, &t->napi);
	__this_cpu_write(ntun_injecting, true);
	netif_receive_skb(skb);
	__this_cpu_write(ntun_injecting, false);
	return 0;

bad:
	ntun_fail(t, why, true);
	return -EPROTO;
}

/*
 * Also called in a loop by a socket that busy-polls (SO_BUSY_POLL or
 * net.core.busy_read/busy_poll) while it waits for data from the peer: then
 * the vCPU spins instead of blocking, and a frame costs no wake-up.
 */
static int ntun_poll(struct napi_struct *napi, int budget)
{
	struct ntun *t = container_of(napi, struct ntun, napi);
	bool busy = test_bit(NAPI_STATE_IN_BUSY_POLL, &napi->state);
	const void *p;
	int done = 0, err;
	u32 len;

	t->polls++;
	if (READ_ONCE(t->state) == T_WAIT) {
		/* The mapper's first event: it has mapped and bound. */
		cmpxchg(&t->state, T_WAIT, T_UP);
		schedule_work(&ntun_work);
	}
	while (done < budget && READ_ONCE(t->state) == T_UP) {
		err = ntr_peek(&t->rx, &p, &len);
		if (err == -EAGAIN)
			break;
		if (err == -EPIPE) {
			ntun_fail(t, "peer closed its ring", false);
			break;
		}
		if (err) {
			ntun_fail(t, ntr_why(&t->rx), true);
			break;
		}
		if (ntun_deliver(t, p, len))
			break;
		ntr_release(&t->rx);
		done++;
	}
	if (done) {
		t->did_work = true;
		if (busy)
			atomic64_add(done, &st.rx_busy_polled);
	}
	if (ntr_pull(&t->rx))
		notify_remote_via_irq(t->irq);

	spin_lock(&t->tx_lock);
	if (!skb_queue_empty(&t->backlog) && READ_ONCE(t->state) == T_UP && !t->corrupted) {
		ntun_drain(t);
		ntun_kick(t);
	}
	spin_unlock(&t->tx_lock);

	if (done >= budget)
		return budget;
	/*
	 * A busy poller comes back at once: the peer need not notify (a
	 * hypercall for it, an interrupt for us).  Its last poll runs without
	 * IN_BUSY_POLL, asks for an event and completes.
	 */
	if (busy)
		return done;
	if (READ_ONCE(t->state) == T_UP && !ntr_cons_prepare_wait(&t->rx) &&
	    !ntr_broken(&t->rx))
		return budget;	/* something came meanwhile: poll again */
	if (napi_complete_done(napi, done)) {
		/*
		 * One EOI per event.  An EOI without one would count as
		 * spurious and make Xen hold back the next real event.
		 */
		if (xchg(&t->eoi_owed, 0))
			xen_irq_lateeoi(t->irq, t->did_work ? 0 : XEN_EOI_FLAG_SPURIOUS);
		t->did_work = false;
	}
	return done;
}

static irqreturn_t ntun_interrupt(int irq, void *dev_id)
{
	struct ntun *t = dev_id;

	t->events++;
	/*
	 * Binding unmasks a port that Xen has already marked pending, so this
	 * runs (and the poll after it) before the binder has stored the irq.
	 */
	WRITE_ONCE(t->irq, irq);
	/*
	 * The event stays masked until a poll has caught up (late EOI).  When
	 * the context is taken (a poll runs, or a socket's busy loop owns it),
	 * NAPI notes the miss and its owner's next completion EOIs; only a
	 * context being disabled for teardown never completes again.
	 */
	WRITE_ONCE(t->eoi_owed, 1);
	if (napi_schedule_prep(&t->napi))
		__napi_schedule(&t->napi);
	else if (test_bit(NAPI_STATE_DISABLE, &t->napi.state) && xchg(&t->eoi_owed, 0))
		xen_irq_lateeoi(irq, XEN_EOI_FLAG_SPURIOUS);
	return IRQ_HANDLED;
}

static void ntun_gref_retry(struct work_struct *w)
{
	struct ntun_gref *g, *tmp;
	bool left;

	spin_lock(&ntun_gref_lock);
	list_for_each_entry_safe(g, tmp, &ntun_grefs, node) {
		if (!gnttab_try_end_foreign_access(g->ref))
			continue;
		__free_page(g->page);
		list_del(&g->node);
		kfree(g);
	}
	left = !list_empty(&ntun_grefs);
	spin_unlock(&ntun_gref_lock);
	if (left)
		schedule_delayed_work(&ntun_gref_work, HZ);
}

/* End a grant; if the peer still maps the page, keep it until it lets go. */
static void ntun_ungrant(grant_ref_t ref, struct page *page)
{
	struct ntun_gref *g;

	if (gnttab_try_end_foreign_access(ref)) {
		__free_page(page);
		return;
	}
	g = kmalloc(sizeof(*g), GFP_KERNEL);
	if (!g) {
		gnttab_end_foreign_access(ref, page);	/* the kernel's own deferral */
		return;
	}
	g->ref = ref;
	g->page = page;
	spin_lock(&ntun_gref_lock);
	list_add_tail(&g->node, &ntun_grefs);
	spin_unlock(&ntun_gref_lock);
	schedule_delayed_work(&ntun_gref_work, HZ);
}

static void ntun_free_rings(struct ntun *t)
{
	int i;

	for (i = 0; i < 2; i++)
		if (t->vmapped[i])
			vunmap(t->vmapped[i]);
	for (i = 0; i < NTUN_NR_PAGES; i++) {
		if (!t->pages[i])
			continue;
		if (t->refs[i] != INVALID_GRANT_REF)
			ntun_ungrant(t->refs[i], t->pages[i]);
		else
			__free_page(t->pages[i]);
	}
	for (i = 0; i < 3; i++)
		if (t->mapped[i])
			xenbus_unmap_ring_vfree(&t->xdev, t->mapped[i]);
}

static int ntun_grant_rings(struct ntun *t)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = t->peer,
	};
	int i, ref, err;

	for (i = 0; i < NTUN_NR_PAGES; i++) {
		t->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!t->pages[i])
			return -ENOMEM;
		ref = gnttab_grant_foreign_access(t->peer, xen_page_to_gfn(t->pages[i]), 0);
		if (ref < 0)
			return ref;
		t->refs[i] = ref;
	}
	for (i = 0; i < 2; i++) {
		t->vmapped[i] = vmap(&t->pages[1 + i * NTUN_RING_PAGES], NTUN_RING_PAGES,
				     VM_MAP, PAGE_KERNEL);
		if (!t->vmapped[i])
			return -ENOMEM;
		t->data[i] = t->vmapped[i];
	}
	t->ctl = page_address(t->pages[0]);
	err = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (err)
		return err;
	t->port = alloc.port;
	return 0;
}

/*
 * xenbus_map_ring_valloc() wants a xenbus_device for the peer's domid and for
 * error reports only.  Ours is a private stub whose state is already Closing,
 * so that an error report cannot switch any real device's state.
 */
static int ntun_map_rings(struct ntun *t, grant_ref_t *refs, evtchn_port_t rport)
{
	struct evtchn_bind_interdomain bind = {
		.remote_dom = t->peer,
		.remote_port = rport,
	};
	int err;

	t->xdev.otherend_id = t->peer;
	t->xdev.nodename = t->xsdir;
	t->xdev.state = XenbusStateClosing;
	err = xenbus_map_ring_valloc(&t->xdev, refs, 1, &t->mapped[0]);
	err = err ?: xenbus_map_ring_valloc(&t->xdev, refs + 1, NTUN_RING_PAGES,
					    &t->mapped[1]);
	err = err ?: xenbus_map_ring_valloc(&t->xdev, refs + 1 + NTUN_RING_PAGES,
					    NTUN_RING_PAGES, &t->mapped[2]);
	if (err)
		return err;
	t->ctl = t->mapped[0];
	t->data[0] = t->mapped[1];
	t->data[1] = t->mapped[2];
	err = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bind);
	if (err)
		return err;
	t->port = bind.local_port;
	return 0;
}

static void ntun_spend(domid_t peer, u32 gen)
{
	ntun_spent[ntun_spent_next].peer = peer;
	ntun_spent[ntun_spent_next].gen = gen;
	ntun_spent_next = (ntun_spent_next + 1) % NTUN_SPENT_MAX;
}

static bool ntun_is_spent(domid_t peer, u32 gen)
{
	int i;

	for (i = 0; i < NTUN_SPENT_MAX; i++)
		if (ntun_spent[i].peer == peer && ntun_spent[i].gen == gen && gen)
			return true;
	return false;
}

/* Write our reply iff the offer is still the one we answer. */
static int ntun_reply(struct ntun *t, const char *state, bool refs)
{
	struct xenbus_transaction xbt;
	char *buf = NULL;
	int err, i, n = 0;
	unsigned int gen;

	if (refs) {
		buf = kmalloc(NTUN_NR_PAGES * 11 + 1, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		for (i = 0; i < NTUN_NR_PAGES; i++)
			n += sprintf(buf + n, "%s%u", i ? " " : "", t->refs[i]);
	}
again:
	err = xenbus_transaction_start(&xbt);
	if (err)
		goto out;
	if (xenbus_scanf(xbt, t->xsdir, "gen", "%u", &gen) != 1 || gen != t->gen) {
		xenbus_transaction_end(xbt, 1);
		err = -ESTALE;
		goto out;
	}
	if (refs) {
		err = xenbus_write(xbt, t->xsdir, "refs", buf);
		err = err ?: xenbus_printf(xbt, t->xsdir, "evtchn", "%u", t->port);
	}
	err = err ?: xenbus_printf(xbt, t->xsdir, "reply-gen", "%u", t->gen);
	err = err ?: xenbus_write(xbt, t->xsdir, "state", state);
	if (ntun_xs_retry(xbt, &err))
		goto again;
out:
	kfree(buf);
	return err;
}

/* Strictly "n n n ...", NTUN_NR_PAGES numbers: the broker relays, not checks. */
static int ntun_parse_refs(const char *s, grant_ref_t *refs)
{
	int i, n;
	unsigned int v;

	for (i = 0; i < NTUN_NR_PAGES; i++) {
		if (sscanf(s, "%u%n", &v, &n) != 1)
			return -EINVAL;
		refs[i] = v;
		s += n;
		if (*s == ' ')
			s++;
		else if (*s || i != NTUN_NR_PAGES - 1)
			return -EINVAL;
	}
	return 0;
}

static void ntun_teardown(struct ntun *t)
{
	struct sk_buff_head q;
	struct sk_buff *skb;

	/*
	 * The offer is spent either way.  If the broker still stands by it (we
	 * close for our own reasons: suspend, the peer closed its ring, the
	 * interface or the module goes), "closed" asks it for a fresh one;
	 * "error" makes it revoke the pair.  Said before the peer can see the
	 * ring close, so that the broker never hears its "closed" alone.
	 */
	ntun_spend(t->peer, t->gen);
	ntun_reply(t, t->peer_error || t->setup_error ? "error" : "closed", false);

	WRITE_ONCE(t->state, T_DEAD);
	list_del_rcu(&t->node);
	synchronize_rcu();		/* no hook holds t any more */
	if (t->irq > 0) {
		napi_disable(&t->napi);
		/* Tell the peer at once, whatever the broker says later. */
		if (!ntr_broken(&t->tx) && t->tx.sh)
			ntr_close(&t->tx);
		notify_remote_via_irq(t->irq);
		unbind_from_irqhandler(t->irq, t);
	} else if (t->port) {
		struct evtchn_close close = { .port = t->port };

		HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
	}
	netif_napi_del(&t->napi);

	/* Frames that waited for room go out through netfront instead. */
	__skb_queue_head_init(&q);
	spin_lock_bh(&t->tx_lock);
	skb_queue_splice_init(&t->backlog, &q);
	spin_unlock_bh(&t->tx_lock);
	while ((skb = __skb_dequeue(&q)))
		dev_queue_xmit(skb);

	ntun_free_rings(t);
	if (t->peer_error)
		atomic64_inc(&st.peer_errors);
	atomic64_inc(&st.teardowns);
	pr_info("tunnel to %u (%pM) down%s%s\n", t->peer, t->mac,
		t->why ? ": " : "", t->why ? t->why : "");
	kfree(t);
}

/* Set up a tunnel for one offer.  ntun_mutex held. */
static void ntun_setup(domid_t peer)
{
	char dir[40], *s = NULL;
	grant_ref_t refs[NTUN_NR_PAGES];
	unsigned int gen, rport = 0;
	struct ntun *t;
	bool granter;
	u8 mac[ETH_ALEN];
	int i, err;

	snprintf(dir, sizeof(dir), "%s/%u", NTUN_XS_DIR, peer);
	if (xenbus_scanf(XBT_NIL, dir, "gen", "%u", &gen) != 1 || ntun_is_spent(peer, gen))
		return;
	s = xenbus_read(XBT_NIL, dir, "mac", NULL);
	if (IS_ERR(s))
		return;
	err = mac_pton(s, mac) && strlen(s) == 17 && is_valid_ether_addr(mac) ? 0 : -EINVAL;
	kfree(s);
	if (err)
		return;
	s = xenbus_read(XBT_NIL, dir, "role", NULL);
	if (IS_ERR(s))
		return;
	granter = !strcmp(s, "grant");
	err = granter || !strcmp(s, "map") ? 0 : -EINVAL;
	kfree(s);
	if (err)
		return;
	if (!granter) {
		/* Until the broker relays the granter's reply, nothing to do. */
		if (xenbus_scanf(XBT_NIL, dir, "peer-evtchn", "%u", &rport) != 1)
			return;
		s = xenbus_read(XBT_NIL, dir, "peer-refs", NULL);
		if (IS_ERR(s))
			return;
		err = ntun_parse_refs(s, refs);
		kfree(s);
		if (err) {
			pr_warn("offer for peer %u: malformed refs\n", peer);
			return;
		}
	}

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return;
	t->peer = peer;
	t->gen = gen;
	t->granter = granter;
	ether_addr_copy(t->mac, mac);
	strscpy(t->xsdir, dir, sizeof(t->xsdir));
	spin_lock_init(&t->tx_lock);
	__skb_queue_head_init(&t->backlog);
	for (i = 0; i < NTUN_NR_PAGES; i++)
		t->refs[i] = INVALID_GRANT_REF;
	netif_napi_add(&ntun_napi_dev, &t->napi, ntun_poll);

	err = granter ? ntun_grant_rings(t) : ntun_map_rings(t, refs, rport);
	if (err)
		goto err;
	err = ntr_init(&t->tx, &t->ctl->ring[granter ? 0 : 1], t->data[granter ? 0 : 1],
		       NTUN_RING_ORDER, NTUN_MAX_FRAME);
	err = err ?: ntr_init(&t->rx, &t->ctl->ring[granter ? 1 : 0], t->data[granter ? 1 : 0],
			      NTUN_RING_ORDER, NTUN_MAX_FRAME);
	if (err)
		goto err;
	/*
	 * Ask for a wake-up at the first frame: until the first poll, nobody
	 * has told the peer that we sleep, and it would never notify.
	 */
	ntr_cons_prepare_wait(&t->rx);
	t->state = granter ? T_WAIT : T_UP;
	napi_enable(&t->napi);
	err = bind_evtchn_to_irqhandler_lateeoi(t->port, ntun_interrupt, 0,
						KBUILD_MODNAME, t);
	if (err < 0) {
		napi_disable(&t->napi);
		goto err;
	}
	t->irq = err;
	list_add_tail_rcu(&t->node, &ntun_list);

	if (granter) {
		err = ntun_reply(t, "granted", true);
	} else {
		notify_remote_via_irq(t->irq);	/* "mapped": see ntun_poll() */
		err = ntun_reply(t, "connected", false);
		t->reported = true;
		atomic64_inc(&st.setups);
	}
	pr_info("tunnel to %u (%pM): %s, %s\n", peer, mac, granter ? "granted" : "mapped",
		err ? "offer withdrawn meanwhile" : "replied");
	if (err)
		ntun_fail(t, "offer withdrawn", false);
	return;

err:
	pr_warn("tunnel to %u: set-up failed (%d)\n", peer, err);
	atomic64_inc(&st.setup_errors);
	/* Not on the list yet: a plain teardown of what exists. */
	INIT_LIST_HEAD(&t->node);
	list_add_rcu(&t->node, &ntun_list);
	/* Reported as an error: the broker does not offer it again and again. */
	t->setup_error = true;
	t->why = "set-up failed";
	ntun_teardown(t);
}

static bool ntun_offer_is(const char *dir, domid_t peer, u32 gen)
{
	char path[40];
	unsigned int g;

	snprintf(path, sizeof(path), "%s/%u", dir, peer);
	return xenbus_scanf(XBT_NIL, path, "gen", "%u", &g) == 1 && g == gen;
}

/*
 * Make the tunnels match the offers: runs after every change under our
 * directory, after a failure, and when a granter's peer showed up.
 */
static void ntun_reconcile(struct work_struct *w)
{
	struct ntun *t, *tmp;
	unsigned int n = 0, i;
	char **names;
	bool have;
	u16 peer;

	mutex_lock(&ntun_mutex);
	if (ntun_stopping || ntun_frozen || !ntun_dev)
		goto out;
	list_for_each_entry_safe(t, tmp, &ntun_list, node) {
		if (READ_ONCE(t->state) != T_DEAD && ntun_offer_is(NTUN_XS_DIR, t->peer, t->gen))
			continue;
		ntun_teardown(t);
	}
	list_for_each_entry(t, &ntun_list, node) {
		if (READ_ONCE(t->state) == T_UP && !t->reported) {
			t->reported = true;
			atomic64_inc(&st.setups);
			ntun_reply(t, "connected", false);
			pr_info("tunnel to %u (%pM) up\n", t->peer, t->mac);
		}
	}
	names = xenbus_directory(XBT_NIL, NTUN_XS_DIR, "", &n);
	if (IS_ERR(names))
		goto out;
	for (i = 0; i < n; i++) {
		if (kstrtou16(names[i], 10, &peer) || peer >= DOMID_FIRST_RESERVED)
			continue;
		have = false;
		list_for_each_entry(t, &ntun_list, node)
			have |= t->peer == peer;
		if (!have)
			ntun_setup(peer);
	}
	kfree(names);
out:
	mutex_unlock(&ntun_mutex);
}

static void ntun_watch_cb(struct xenbus_watch *w, const char *path, const char *token)
{
	schedule_work(&ntun_work);
}

static struct xenbus_watch ntun_watch = {
	.node = NTUN_XS_DIR,
	.callback = ntun_watch_cb,
};

static int ntun_show(struct seq_file *m, void *v)
{
	struct ntun_gref *g;
	unsigned int held = 0;
	struct ntun *t;

#define S(x) seq_printf(m, "%s %llu\n", #x, (u64)atomic64_read(&st.x))
	S(tx_frames); S(tx_bytes); S(rx_frames); S(rx_bytes);
	S(fb_tx_frames); S(fb_tx_bytes); S(fb_rx_frames); S(fb_rx_bytes);
	S(setups); S(teardowns); S(peer_errors); S(setup_errors);
	S(backlogged); S(tx_dropped); S(rx_dropped); S(segmented);
	S(rx_busy_polled);
#undef S
	spin_lock(&ntun_gref_lock);
	list_for_each_entry(g, &ntun_grefs, node)
		held++;
	spin_unlock(&ntun_gref_lock);
	/* Pages granted to a peer that has not let go of them yet. */
	seq_printf(m, "grants_held %u\n", held);
	mutex_lock(&ntun_mutex);
	list_for_each_entry(t, &ntun_list, node) {
		seq_printf(m, "peer %u mac %pM role %s state %s tx_frames %llu tx_bytes %llu rx_frames %llu rx_bytes %llu fb_tx_frames %llu fb_rx_frames %llu events %llu polls %llu\n",
			   t->peer, t->mac, t->granter ? "grant" : "map",
			   t->state == T_UP ? "up" : t->state == T_WAIT ? "wait" : "dead",
			   t->tx_frames, t->tx_bytes, t->rx_frames, t->rx_bytes,
			   (u64)atomic64_read(&t->fb_tx_frames), (u64)atomic64_read(&t->fb_rx_frames),
			   t->events, t->polls);
		/* Indices, ours and as the shared page says: for debugging a peer. */
		if (t->tx.sh && t->rx.sh)
			seq_printf(m, "  ring tx head %u pub %u cons %u | shared prod %u cons %u prod_event %u cons_event %u; rx head %u | shared prod %u cons %u prod_event %u\n",
				   t->tx.head, t->tx.published, t->tx.peer,
				   READ_ONCE(t->tx.sh->prod), READ_ONCE(t->tx.sh->cons),
				   READ_ONCE(t->tx.sh->prod_event), READ_ONCE(t->tx.sh->cons_event),
				   t->rx.head, READ_ONCE(t->rx.sh->prod), READ_ONCE(t->rx.sh->cons),
				   READ_ONCE(t->rx.sh->prod_event));
	}
	mutex_unlock(&ntun_mutex);
	return 0;
}

static struct nf_hook_ops ntun_hooks[] = {
	{
		.hook = ntun_egress,
		.pf = NFPROTO_NETDEV,
		.hooknum = NF_NETDEV_EGRESS,
		.priority = 0,
	}, {
		.hook = ntun_ingress,
		.pf = NFPROTO_NETDEV,
		.hooknum = NF_NETDEV_INGRESS,
		.priority = 0,
	},
};

/*
 * Follow the interface: hooks on it while it exists.  When it goes away
 * (xl network-detach, netfront's backend gone) every tunnel is torn down and
 * the reference dropped, so that its unregistration completes; an interface
 * of the same name that appears later is taken up again.  rtnl held.
 */
static void ntun_attach_dev(struct net_device *dev)
{
	int err;

	ntun_hooks[0].dev = dev;
	ntun_hooks[1].dev = dev;
	err = nf_register_net_hooks(&init_net, ntun_hooks, ARRAY_SIZE(ntun_hooks));
	if (err) {
		pr_err("cannot hook %s: %d\n", dev->name, err);
		return;
	}
	ntun_saved_gso = READ_ONCE(dev->gso_max_size);
	if (ntun_saved_gso > NTUN_GSO_MAX)
		WRITE_ONCE(dev->gso_max_size, NTUN_GSO_MAX);
	dev_hold(dev);
	mutex_lock(&ntun_mutex);
	ntun_dev = dev;
	mutex_unlock(&ntun_mutex);
	schedule_work(&ntun_work);
	pr_info("steering frames of %s to tunnel peers\n", dev->name);
}

static void ntun_detach_dev(void)
{
	struct net_device *dev = ntun_dev;
	struct ntun *t, *tmp;

	mutex_lock(&ntun_mutex);
	list_for_each_entry_safe(t, tmp, &ntun_list, node) {
		t->why = "the interface went away";
		ntun_teardown(t);
	}
	ntun_dev = NULL;
	mutex_unlock(&ntun_mutex);
	WRITE_ONCE(dev->gso_max_size, ntun_saved_gso);
	nf_unregister_net_hooks(&init_net, ntun_hooks, ARRAY_SIZE(ntun_hooks));
	dev_put(dev);
}

static int ntun_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (!net_eq(dev_net(dev), &init_net))
		return NOTIFY_DONE;
	if (event == NETDEV_REGISTER && !ntun_dev && !strcmp(dev->name, ifname))
		ntun_attach_dev(dev);
	else if (event == NETDEV_UNREGISTER && dev == ntun_dev)
		ntun_detach_dev();
	return NOTIFY_DONE;
}

static struct notifier_block ntun_netdev_nb = {
	.notifier_call = ntun_netdev_event,
};

/*
 * Save, restore, checkpoint and live migration all suspend the guest through
 * Xen (drivers/xen/manage.c), which freezes devices first.  Nothing of a
 * tunnel survives the trip: event channels are closed, the peer's pages that
 * we map would be foreign frames in a saved page table (the toolstack refuses
 * to save those), and a restored guest is a new domain that the peer's grants
 * do not name.  So every tunnel closes before the guest suspends, frames take
 * netfront meanwhile, and the broker offers new ones once the guest runs
 * again: to its new domid after a restore or a migration (the vif is new),
 * to the same one after a checkpoint or a cancelled suspend.
 */
static int ntun_freeze(struct device *dev)
{
	struct ntun *t, *tmp;

	mutex_lock(&ntun_mutex);
	ntun_frozen = true;
	list_for_each_entry_safe(t, tmp, &ntun_list, node) {
		t->why = "suspending";
		ntun_teardown(t);
	}
	mutex_unlock(&ntun_mutex);
	return 0;
}

static int ntun_thaw(struct device *dev)
{
	mutex_lock(&ntun_mutex);
	ntun_frozen = false;
	mutex_unlock(&ntun_mutex);
	schedule_work(&ntun_work);
	return 0;
}

static const struct dev_pm_ops ntun_pm_ops = {
	.freeze = ntun_freeze,
	.thaw = ntun_thaw,
	.restore = ntun_thaw,
};

static struct platform_driver ntun_driver = {
	.driver = {
		.name = KBUILD_MODNAME,
		.pm = &ntun_pm_ops,
	},
};

static struct platform_device *ntun_pdev;

static int __init ntun_init(void)
{
	int err;

	if (!xen_domain() || xen_initial_domain())
		return -ENODEV;
	init_dummy_netdev(&ntun_napi_dev);
	if (!proc_create_single(KBUILD_MODNAME, 0444, NULL, ntun_show))
		return -ENOMEM;
	err = platform_driver_register(&ntun_driver);
	if (err)
		goto err_driver;
	ntun_pdev = platform_device_register_simple(KBUILD_MODNAME, PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(ntun_pdev)) {
		err = PTR_ERR(ntun_pdev);
		goto err_pdev;
	}
	err = register_xenbus_watch(&ntun_watch);
	if (err)
		goto err_watch;
	/* Replays NETDEV_REGISTER for the interfaces there already are. */
	err = register_netdevice_notifier(&ntun_netdev_nb);
	if (err)
		goto err_notifier;
	if (!ntun_dev) {
		pr_err("no interface %s\n", ifname);
		err = -ENODEV;
		goto err_nodev;
	}
	return 0;

err_nodev:
	unregister_netdevice_notifier(&ntun_netdev_nb);
err_notifier:
	unregister_xenbus_watch(&ntun_watch);
	cancel_work_sync(&ntun_work);
err_watch:
	platform_device_unregister(ntun_pdev);
err_pdev:
	platform_driver_unregister(&ntun_driver);
err_driver:
	remove_proc_entry(KBUILD_MODNAME, NULL);
	return err;
}

static void __exit ntun_exit(void)
{
	struct ntun *t, *tmp;
	struct ntun_gref *g, *gtmp;

	unregister_xenbus_watch(&ntun_watch);
	mutex_lock(&ntun_mutex);
	ntun_stopping = true;
	list_for_each_entry_safe(t, tmp, &ntun_list, node) {
		t->why = "module unloaded";
		ntun_teardown(t);
	}
	mutex_unlock(&ntun_mutex);
	cancel_work_sync(&ntun_work);
	/* Replays NETDEV_UNREGISTER: the hooks go, the reference is dropped. */
	unregister_netdevice_notifier(&ntun_netdev_nb);
	platform_device_unregister(ntun_pdev);
	platform_driver_unregister(&ntun_driver);
	remove_proc_entry(KBUILD_MODNAME, NULL);
	cancel_delayed_work_sync(&ntun_gref_work);
	/* Pages a peer still maps: the kernel's deferral takes them over. */
	list_for_each_entry_safe(g, gtmp, &ntun_grefs, node) {
		gnttab_end_foreign_access(g->ref, g->page);
		kfree(g);
	}
}

module_init(ntun_init);
module_exit(ntun_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netsvc tunnel: guest end of shared-memory tunnels to co-resident guests");
