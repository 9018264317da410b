// SPDX-License-Identifier: GPL-2.0
/*
 * netsvc_front's data path.
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
#include <linux/if_vlan.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/busy_poll.h>
#include <xen/events.h>
#include "front.h"

/*
 * Test mode: make this guest a hostile peer.  1: publish a producer index that
 * is not a multiple of 8; 2: publish a frame header with an impossible length.
 * Applied once, to the next frame sent into any tunnel, then reset.
 */
static int corrupt;
module_param(corrupt, int, 0644);
MODULE_PARM_DESC(corrupt, "test only: corrupt the next frame's ring (1: index, 2: length)");

/* Called from the data path: stop steering now, tear down in process context. */
void ntun_fail(struct ntun *t, const char *why, bool peer_error)
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

	if (skb->len > t->max_eth)
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
	atomic64_inc(&ntun_stats.tx_frames);
	atomic64_add(skb->len, &ntun_stats.tx_bytes);
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
			atomic64_inc(&ntun_stats.tx_dropped);
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
		atomic64_inc(&ntun_stats.tx_dropped);
		kfree_skb(skb);
		return;
	}
	atomic64_inc(&ntun_stats.backlogged);
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
		atomic64_inc(&ntun_stats.tx_dropped);
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
	if (skb->len > t->max_eth && skb_is_gso(skb)) {
		segs = skb_gso_segment(skb, NETIF_F_SG | NETIF_F_HW_CSUM);
		if (IS_ERR_OR_NULL(segs)) {
			spin_unlock(&t->tx_lock);
			return NF_ACCEPT;	/* netfront copes */
		}
		atomic64_inc(&ntun_stats.segmented);
		consume_skb(skb);
		skb_list_walk_safe(segs, seg, next) {
			skb_mark_not_on_list(seg);
			ntun_send(t, seg);
		}
	} else if (skb->len > t->max_eth) {
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

unsigned int ntun_egress(void *priv, struct sk_buff *skb,
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
	atomic64_inc(&ntun_stats.fb_tx_frames);
	atomic64_add(skb->len, &ntun_stats.fb_tx_bytes);
	return NF_ACCEPT;
}

/* Counts frames from peers that still come through netfront. */
unsigned int ntun_ingress(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct ntun *t;

	if (this_cpu_read(ntun_injecting) || !skb_mac_header_was_set(skb))
		return NF_ACCEPT;
	t = ntun_find(eth_hdr(skb)->h_source);
	if (t) {
		atomic64_inc(&t->fb_rx_frames);
		atomic64_inc(&ntun_stats.fb_rx_frames);
		atomic64_add(skb->len + ETH_HLEN, &ntun_stats.fb_rx_bytes);
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

	/* The ring's frame limit (at most NTUN_ETH_MAX) bounds len: frags fit. */
	BUILD_BUG_ON(DIV_ROUND_UP(NTUN_ETH_MAX - NTUN_RX_HEAD, PAGE_SIZE) > MAX_SKB_FRAGS);
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
		atomic64_inc(&ntun_stats.rx_dropped);
		return 0;
	}
	skb->protocol = eth_type_trans(skb, dev);
	if (!ether_addr_equal(eth_hdr(skb)->h_source, t->mac)) {
		kfree_skb(skb);
		why = "source MAC is not the peer's";
		goto bad;
	}
	if (skb->pkt_type != PACKET_HOST) {
		atomic64_inc(&ntun_stats.rx_dropped);
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
	atomic64_inc(&ntun_stats.rx_frames);
	atomic64_add(len, &ntun_stats.rx_bytes);
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
int ntun_poll(struct napi_struct *napi, int budget)
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
			atomic64_add(done, &ntun_stats.rx_busy_polled);
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

irqreturn_t ntun_interrupt(int irq, void *dev_id)
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
