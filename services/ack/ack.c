// SPDX-License-Identifier: GPL-2.0
/*
 * ack: local TCP acknowledgement for what a guest sends (dir=tx: its data is
 * seen at the vif's ingress, the remote's ACKs at its egress) and receives
 * (dir=rx: the remote's data at the egress, the guest's ACKs at the ingress).
 * The TCP logic is ack_*.c (ack_int.h); this file parses skbs into struct
 * ack_seg, applies the core's verdicts, builds the packets it asks for, and
 * runs its timer.
 *
 * Locking: one spinlock per vif around every core call.  The packets the
 * core asks for are built under the lock into queues and sent after it is
 * dropped, because sending re-enters the netdev hooks of this very vif.
 */
#include <linux/module.h>
#include <linux/etherdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/random.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp.h>
#include <net/checksum.h>
#include <net/ip6_checksum.h>
#include <netsvc/service.h>
#include "ack_core.h"

#define ACK_PEERS	64		/* remote addresses whose MAC we remember */
#define ACK_TIMER_SLACK_NS	(50 * NSEC_PER_USEC)

/* enum ack_cc */
static const char *const cc_names[] = { "none", "reno", "cubic", NULL };
/* enum ack_recovery */
static const char *const recovery_names[] = { "rack", "dupack", NULL };
/* index + 1 is the core's ACK_DIR_* mask */
static const char *const dir_names[] = { "tx", "rx", "both", NULL };

struct ack_params {
	u32 dir;
	u32 flow_budget;
	u64 vif_budget;
	u32 cc;
	u32 port;
	u32 flow_limit;
	u32 retry_limit;
	u32 drain_ms;
	u32 recovery;
	u32 rx_grace_us;
};

static const struct ack_params ack_defaults = {
	.dir = 0,		/* tx */
	.flow_budget = 4 << 20,
	.vif_budget = 64 << 20,
	.cc = ACK_CC_NONE,
	.port = 0,
	.flow_limit = 4096,
	.retry_limit = 8,
	.drain_ms = 10000,
	.recovery = ACK_REC_RACK,
	.rx_grace_us = 1000,
};

static const struct netsvc_param ack_params_tbl[] = {
	NETSVC_PARAM_ENUM(struct ack_params, dir, dir_names, true,
			  "what is acknowledged locally: the guest's data (tx), the data it receives (rx), both; new connections"),
	NETSVC_PARAM_U32(struct ack_params, flow_budget, 65536, 1 << 30, true,
			 "bytes kept (acknowledged locally, not yet by the receiver) per flow and direction"),
	NETSVC_PARAM_U64(struct ack_params, vif_budget, 65536, 1ULL << 34, true,
			 "bytes kept for all flows of the vif; each flow's direction may have vif_budget / 2 / (flow_limit x directions), 64 KiB at most, whatever the others hold"),
	NETSVC_PARAM_ENUM(struct ack_params, cc, cc_names, true,
			  "congestion control toward the receiver"),
	NETSVC_PARAM_U32(struct ack_params, port, 0, 65535, true,
			 "only connections to this port (0: all)"),
	NETSVC_PARAM_U32(struct ack_params, flow_limit, 1, 1 << 20, true,
			 "flows tracked at once; more pass end-to-end"),
	NETSVC_PARAM_U32(struct ack_params, retry_limit, 1, 64, true,
			 "timeouts in a row before the connection is reset on both sides"),
	NETSVC_PARAM_U32(struct ack_params, drain_ms, 0, 600000, true,
			 "how long a detach waits for kept data to be acknowledged"),
	NETSVC_PARAM_ENUM(struct ack_params, recovery, recovery_names, true,
			  "loss recovery with SACK: RACK-TLP with spurious-RTO undo, or fast retransmit on dupacks"),
	NETSVC_PARAM_U32(struct ack_params, rx_grace_us, 0, 1000000, true,
			 "rx: how long a guest may stay silent with data kept before Dom0 acknowledges in its name (0: every segment at once)"),
};

struct ack_peer {
	u8 addr[16];
	u8 mac[ETH_ALEN];
	bool used;
};

struct ack_priv {
	struct netsvc_attachment *att;
	spinlock_t lock;
	struct ack_core *core;
	struct ack_env env;
	struct hrtimer timer;
	bool dead;
	u32 drain_ms;
	struct sk_buff_head to_guest, to_wan;	/* built under lock, sent after */
	u8 guest_mac[ETH_ALEN], gw_mac[ETH_ALEN];
	bool have_macs;
	struct ack_peer peers[ACK_PEERS];
	u64 build_failures;
	atomic64_t mem_bytes;
	struct list_head all;		/* ack_all */
};

/* Every attachment, for debugfs's netsvc_ack/flows. */
static LIST_HEAD(ack_all);
static DEFINE_MUTEX(ack_all_lock);
static struct dentry *ack_debugfs;

/* Where a segment's payload is, for env->copy_payload. */
struct ack_payload {
	const struct sk_buff *skb;
	int off;
};

/* The core's memory, counted so that tests can see it all come back. */
static void *env_alloc(void *ctx, size_t size)
{
	struct ack_priv *p = ctx;
	void *m = kmalloc(size, GFP_ATOMIC | __GFP_NOWARN);

	if (m)
		atomic64_add(ksize(m), &p->mem_bytes);
	return m;
}

static void env_free(void *ctx, void *m)
{
	struct ack_priv *p = ctx;

	if (m)
		atomic64_sub(ksize(m), &p->mem_bytes);
	kfree(m);
}

/* The core copies what it keeps straight out of the skb, frags and all. */
static void env_copy_payload(void *ctx, const void *payload_ctx, u32 off, void *dst, u32 n)
{
	const struct ack_payload *pl = payload_ctx;

	/* parse() checked that the payload is inside the skb. */
	if (skb_copy_bits(pl->skb, pl->off + off, dst, n)) {
		pr_err_ratelimited("payload copy beyond the segment (%d+%u+%u)\n", pl->off, off, n);
		memset(dst, 0, n);
	}
}

static struct ack_peer *peer_slot(struct ack_priv *p, const u8 *addr)
{
	return &p->peers[jhash(addr, 16, 0) % ACK_PEERS];
}

/* Learn the MACs: the guest's, and the one it uses to reach @raddr. */
static void learn(struct ack_priv *p, const struct ethhdr *eth, const u8 *raddr, bool from_guest)
{
	const u8 *gmac = from_guest ? eth->h_source : eth->h_dest;
	const u8 *rmac = from_guest ? eth->h_dest : eth->h_source;
	struct ack_peer *peer = peer_slot(p, raddr);

	ether_addr_copy(p->guest_mac, gmac);
	ether_addr_copy(p->gw_mac, rmac);
	p->have_macs = true;
	memcpy(peer->addr, raddr, 16);
	ether_addr_copy(peer->mac, rmac);
	peer->used = true;
}

static const u8 *peer_mac(struct ack_priv *p, const u8 *raddr)
{
	struct ack_peer *peer = peer_slot(p, raddr);

	return peer->used && !memcmp(peer->addr, raddr, 16) ? peer->mac : p->gw_mac;
}

/*
 * Build one TCP segment, Ethernet header included, from @src to @dst.
 * @payload_flow: where to copy @len payload bytes from (retransmissions).
 */
static struct sk_buff *build(struct ack_priv *p, const struct ack_action *a, bool to_guest,
			     u32 seq, u32 ack, u8 flags, u8 ttl, u8 tos, u32 flowlabel, u32 len)
{
	const struct ack_key *k = a->key;
	const u8 *saddr = to_guest ? k->raddr : k->gaddr, *daddr = to_guest ? k->gaddr : k->raddr;
	bool v6 = k->family == AF_INET6, ts = a->has_ts && !(flags & ACK_TCP_RST);
	unsigned int iplen = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	unsigned int thlen = sizeof(struct tcphdr) + (ts ? TCPOLEN_TSTAMP_ALIGNED : 0);
	struct net_device *dev = netsvc_dev(p->att);
	struct sk_buff *skb;
	struct ethhdr *eth;
	struct tcphdr *th;
	__wsum csum;

	skb = alloc_skb(LL_MAX_HEADER + iplen + thlen + len, GFP_ATOMIC | __GFP_NOWARN);
	if (!skb)
		return NULL;
	/* LL_MAX_HEADER is the link layer's room only (32 bytes on a kernel
	 * without Wi-Fi or tunnels): the IP header is pushed in front too. */
	skb_reserve(skb, LL_MAX_HEADER + iplen);
	skb_reset_transport_header(skb);
	th = skb_put_zero(skb, thlen);
	th->source = htons(to_guest ? k->rport : k->gport);
	th->dest = htons(to_guest ? k->gport : k->rport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = thlen / 4;
	((u8 *)th)[13] = flags;
	th->window = htons(a->window);
	if (ts) {
		__be32 *opt = (__be32 *)(th + 1);

		*opt++ = htonl((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) |
			       (TCPOPT_TIMESTAMP << 8) | TCPOLEN_TIMESTAMP);
		*opt++ = htonl(a->tsval);
		*opt = htonl(a->tsecr);
	}
	if (len && ack_core_copy_kept(a->flow, to_guest ? ACK_TO_GUEST : ACK_FROM_GUEST, seq,
				      skb_put(skb, len), len) != len) {
		kfree_skb(skb);
		return NULL;
	}
	csum = csum_partial(th, thlen + len, 0);

	if (v6) {
		struct ipv6hdr *ip6 = skb_push(skb, sizeof(*ip6));

		skb_reset_network_header(skb);
		/* Never ECN-capable: pure ACKs, RSTs and retransmissions. */
		ip6_flow_hdr(ip6, tos & ~INET_ECN_MASK, htonl(flowlabel & 0xfffff));
		ip6->payload_len = htons(thlen + len);
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = ttl ?: 64;
		memcpy(&ip6->saddr, saddr, 16);
		memcpy(&ip6->daddr, daddr, 16);
		th->check = csum_ipv6_magic(&ip6->saddr, &ip6->daddr, thlen + len,
					    IPPROTO_TCP, csum);
		skb->protocol = htons(ETH_P_IPV6);
	} else {
		struct iphdr *iph = skb_push(skb, sizeof(*iph));

		skb_reset_network_header(skb);
		iph->version = 4;
		iph->ihl = 5;
		iph->tos = tos & ~INET_ECN_MASK;
		iph->tot_len = htons(iplen + thlen + len);
		iph->id = htons(get_random_u16());
		iph->frag_off = htons(IP_DF);
		iph->ttl = ttl ?: 64;
		iph->protocol = IPPROTO_TCP;
		memcpy(&iph->saddr, saddr, 4);
		memcpy(&iph->daddr, daddr, 4);
		/* The header holds what the allocation held: ip_send_check()
		 * clears the check field before it sums. */
		ip_send_check(iph);
		th->check = csum_tcpudp_magic(iph->saddr, iph->daddr, thlen + len,
					      IPPROTO_TCP, csum);
		skb->protocol = htons(ETH_P_IP);
	}
	skb->ip_summed = CHECKSUM_NONE;
	eth = skb_push(skb, ETH_HLEN);
	skb_reset_mac_header(skb);
	eth->h_proto = skb->protocol;
	if (to_guest) {
		ether_addr_copy(eth->h_dest, p->guest_mac);
		ether_addr_copy(eth->h_source, peer_mac(p, k->raddr));
	} else {
		ether_addr_copy(eth->h_dest, peer_mac(p, k->raddr));
		ether_addr_copy(eth->h_source, p->guest_mac);
	}
	skb->dev = dev;
	return skb;
}

static void queue(struct ack_priv *p, struct sk_buff *skb, struct sk_buff_head *q)
{
	if (skb)
		__skb_queue_tail(q, skb);
	else
		p->build_failures++;
}

/* Called by the core with p->lock held. */
static void env_emit(void *ctx, const struct ack_action *a)
{
	struct ack_priv *p = ctx;

	if (!p->have_macs)
		return;
	switch (a->type) {
	case ACK_ACT_ACK_TO_GUEST:
		queue(p, build(p, a, true, a->seq, a->ack, a->flags, a->ttl, a->tos,
			       a->flowlabel, 0), &p->to_guest);
		break;
	case ACK_ACT_XMIT_TO_WAN:
		queue(p, build(p, a, false, a->seq, a->ack, a->flags, a->ttl, a->tos,
			       a->flowlabel, a->len), &p->to_wan);
		break;
	case ACK_ACT_ACK_TO_WAN:
		queue(p, build(p, a, false, a->seq, a->ack, a->flags, a->ttl, a->tos,
			       a->flowlabel, 0), &p->to_wan);
		break;
	case ACK_ACT_XMIT_TO_GUEST:
		queue(p, build(p, a, true, a->seq, a->ack, a->flags, a->ttl, a->tos,
			       a->flowlabel, a->len), &p->to_guest);
		break;
	case ACK_ACT_RESET_BOTH:
		queue(p, build(p, a, true, a->seq, a->ack, ACK_TCP_RST | ACK_TCP_ACK, a->ttl,
			       a->tos, a->flowlabel, 0), &p->to_guest);
		queue(p, build(p, a, false, a->wan_seq, a->wan_ack, ACK_TCP_RST | ACK_TCP_ACK,
			       a->wan_ttl, a->wan_tos, a->wan_flowlabel, 0), &p->to_wan);
		break;
	}
}

/* After a core call, with p->lock held: arm the timer, take the packets. */
static void after_core(struct ack_priv *p, u64 now, struct sk_buff_head *g, struct sk_buff_head *w)
{
	u64 deadline = ack_core_deadline_hint(p->core);

	/*
	 * An hrtimer: rx_grace is a millisecond or so, and a jiffy (4 ms at
	 * Debian's HZ=250) would make the guest's grace that long or longer.
	 */
	if (deadline != ACK_NO_DEADLINE && !p->dead) {
		/* (a deadline the core left due would fire it again at once) */
		ktime_t t = ns_to_ktime(max(deadline, now + ACK_TIMER_SLACK_NS));

		if (!hrtimer_is_queued(&p->timer) ||
		    ktime_before(t, hrtimer_get_expires(&p->timer)))
			hrtimer_start_range_ns(&p->timer, t, ACK_TIMER_SLACK_NS,
					       HRTIMER_MODE_ABS_SOFT);
	}
	skb_queue_splice_tail_init(&p->to_guest, g);
	skb_queue_splice_tail_init(&p->to_wan, w);
}

static void send_all(struct ack_priv *p, struct sk_buff_head *g, struct sk_buff_head *w)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(g)))
		netsvc_xmit_to_guest(p->att, skb);
	while ((skb = __skb_dequeue(w)))
		netsvc_inject_from_guest(p->att, skb);
}

static enum hrtimer_restart ack_timer_fn(struct hrtimer *t)
{
	struct ack_priv *p = container_of(t, struct ack_priv, timer);
	struct sk_buff_head g, w;
	u64 now = ktime_get_ns();

	__skb_queue_head_init(&g);
	__skb_queue_head_init(&w);
	spin_lock_bh(&p->lock);
	if (!p->dead) {
		ack_core_timer(p->core, now);
		after_core(p, now, &g, &w);
	}
	spin_unlock_bh(&p->lock);
	local_bh_disable();
	send_all(p, &g, &w);
	local_bh_enable();
	return HRTIMER_NORESTART;	/* after_core() armed it again if needed */
}

/*
 * Parse a TCP segment; the network header is at skb_network_offset() both at
 * ingress (data at L3) and at egress (data at L2).  Returns the TCP header's
 * offset from skb->data, or -1 for anything that is not plain TCP.
 */
static int parse(struct sk_buff *skb, struct ack_seg *s, u8 *opts, unsigned int *optlen)
{
	int noff = skb_network_offset(skb), thoff;
	struct tcphdr _th;
	const struct tcphdr *th;
	unsigned int iplen, thlen, i;

	memset(s, 0, sizeof(*s));
	if (skb->protocol == htons(ETH_P_IP)) {
		struct iphdr _iph;
		const struct iphdr *iph = skb_header_pointer(skb, noff, sizeof(_iph), &_iph);

		if (!iph || iph->version != 4 || iph->ihl < 5 || iph->protocol != IPPROTO_TCP ||
		    ip_is_fragment(iph))
			return -1;
		s->family = AF_INET;
		s->ttl = iph->ttl;
		s->tos = iph->tos;
		memcpy(s->saddr, &iph->saddr, 4);
		memcpy(s->daddr, &iph->daddr, 4);
		thoff = noff + iph->ihl * 4;
		iplen = ntohs(iph->tot_len);
		if (iplen < iph->ihl * 4)
			return -1;
		iplen -= iph->ihl * 4;
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		struct ipv6hdr _ip6;
		const struct ipv6hdr *ip6 = skb_header_pointer(skb, noff, sizeof(_ip6), &_ip6);

		/* Extension headers: left end-to-end. */
		if (!ip6 || ip6->nexthdr != IPPROTO_TCP)
			return -1;
		s->family = AF_INET6;
		s->ttl = ip6->hop_limit;
		s->tos = ipv6_get_dsfield(ip6);
		s->flowlabel = ntohl(ip6_flowlabel(ip6));
		memcpy(s->saddr, &ip6->saddr, 16);
		memcpy(s->daddr, &ip6->daddr, 16);
		thoff = noff + sizeof(*ip6);
		iplen = ntohs(ip6->payload_len);
	} else {
		return -1;
	}
	th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
	if (!th)
		return -1;
	thlen = th->doff * 4;
	if (thlen < sizeof(*th) || thlen > iplen || thoff + iplen > skb->len)
		return -1;
	s->sport = ntohs(th->source);
	s->dport = ntohs(th->dest);
	s->seq = ntohl(th->seq);
	s->ack = ntohl(th->ack_seq);
	s->flags = ((const u8 *)th)[13] & 0x1f;
	s->window = ntohs(th->window);
	s->len = iplen - thlen;

	*optlen = thlen - sizeof(*th);
	if (*optlen && skb_copy_bits(skb, thoff + sizeof(*th), opts, *optlen))
		return -1;
	for (i = 0; i < *optlen;) {
		u8 kind = opts[i], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= *optlen)
			break;
		olen = opts[i + 1];
		if (olen < 2 || i + olen > *optlen)
			break;
		switch (kind) {
		case TCPOPT_MSS:
			if (olen == TCPOLEN_MSS) {
				s->has_mss = 1;
				s->mss = get_unaligned_be16(opts + i + 2);
			}
			break;
		case TCPOPT_WINDOW:
			if (olen == TCPOLEN_WINDOW) {
				s->has_wscale = 1;
				s->wscale = opts[i + 2];
			}
			break;
		case TCPOPT_SACK_PERM:
			s->sack_ok = 1;
			break;
		case TCPOPT_TIMESTAMP:
			if (olen == TCPOLEN_TIMESTAMP) {
				s->has_ts = 1;
				s->tsval = get_unaligned_be32(opts + i + 2);
				s->tsecr = get_unaligned_be32(opts + i + 6);
			}
			break;
		case TCPOPT_SACK: {
			unsigned int n = (olen - 2) / 8, j;

			for (j = 0; j < n && s->nsack < ACK_MAX_SACK; j++, s->nsack++) {
				s->sack[s->nsack].start = get_unaligned_be32(opts + i + 2 + 8 * j);
				s->sack[s->nsack].end = get_unaligned_be32(opts + i + 6 + 8 * j);
			}
			break;
		}
		}
		i += olen;
	}
	return thoff;
}

/* ACK_REWRITE on a segment to the guest: ack, window, SACK blocks out. */
static bool rewrite(struct sk_buff *skb, int thoff, const struct ack_rewrite *rw)
{
	struct tcphdr *th;
	unsigned int optlen, i;
	u8 *opts;

	if (skb_ensure_writable(skb, thoff + sizeof(*th)))
		return false;
	th = (struct tcphdr *)(skb->data + thoff);
	optlen = th->doff * 4 - sizeof(*th);
	if (optlen && skb_ensure_writable(skb, thoff + sizeof(*th) + optlen))
		return false;
	th = (struct tcphdr *)(skb->data + thoff);
	inet_proto_csum_replace4(&th->check, skb, th->ack_seq, htonl(rw->ack), false);
	th->ack_seq = htonl(rw->ack);
	inet_proto_csum_replace2(&th->check, skb, th->window, htons(rw->window), false);
	th->window = htons(rw->window);
	if (!rw->strip_sack || !optlen)
		return true;
	opts = (u8 *)(th + 1);
	for (i = 0; i < optlen;) {
		u8 kind = opts[i], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= optlen)
			break;
		olen = opts[i + 1];
		if (olen < 2 || i + olen > optlen)
			break;
		if (kind == TCPOPT_SACK) {
			/* The options area starts 4-aligned: replace whole words. */
			unsigned int w0 = i & ~3u, w1 = (i + olen + 3) & ~3u, j;
			__be32 old[10];

			w1 = min(w1, optlen);
			memcpy(old, opts + w0, w1 - w0);
			memset(opts + i, TCPOPT_NOP, olen);
			for (j = w0; j < w1; j += 4)
				inet_proto_csum_replace4(&th->check, skb, old[(j - w0) / 4],
							 get_unaligned((__be32 *)(opts + j)), false);
		}
		i += olen;
	}
	return true;
}

static unsigned int handle(struct netsvc_attachment *att, struct sk_buff *skb, u8 dir)
{
	struct ack_priv *p = netsvc_priv(att);
	struct sk_buff_head g, w;
	enum ack_verdict v;
	struct ack_rewrite rw;
	struct ack_payload pl;
	struct ack_seg s;
	u8 opts[40];
	unsigned int optlen;
	int thoff;
	u64 now;

	thoff = parse(skb, &s, opts, &optlen);
	if (thoff < 0)
		return NF_ACCEPT;
	s.dir = dir;
	pl.skb = skb;
	pl.off = thoff + sizeof(struct tcphdr) + optlen;
	s.payload_ctx = &pl;
	__skb_queue_head_init(&g);
	__skb_queue_head_init(&w);
	now = ktime_get_ns();

	spin_lock(&p->lock);
	if (skb_mac_header_was_set(skb) && skb_mac_header_len(skb) >= ETH_HLEN)
		learn(p, eth_hdr(skb), dir == ACK_FROM_GUEST ? s.daddr : s.saddr,
		      dir == ACK_FROM_GUEST);
	v = ack_core_segment(p->core, &s, now, &rw);
	after_core(p, now, &g, &w);
	spin_unlock(&p->lock);

	send_all(p, &g, &w);
	switch (v) {
	case ACK_DROP:
		return NF_DROP;
	case ACK_REWRITE:
		/* Cannot rewrite: the guest would see an ACK it cannot place. */
		return rewrite(skb, thoff, &rw) ? NF_ACCEPT : NF_DROP;
	default:
		return NF_ACCEPT;
	}
}

static unsigned int ack_ingress(struct netsvc_attachment *att, struct sk_buff *skb)
{
	return handle(att, skb, ACK_FROM_GUEST);
}

static unsigned int ack_egress(struct netsvc_attachment *att, struct sk_buff *skb)
{
	return handle(att, skb, ACK_TO_GUEST);
}

static void to_core_config(const struct ack_params *a, struct ack_config *c)
{
	c->dirs = a->dir + 1;
	c->flow_budget = a->flow_budget;
	c->vif_budget = a->vif_budget;
	c->cc = a->cc;
	c->port = a->port;
	c->flow_limit = a->flow_limit;
	c->retry_limit = a->retry_limit;
	c->recovery = a->recovery;
	c->rx_grace_ns = (u64)a->rx_grace_us * 1000;
}

static int ack_attach(struct netsvc_attachment *att, const void *config,
		      struct netlink_ext_ack *extack)
{
	const struct ack_params *a = config;
	struct ack_priv *p = netsvc_priv(att);
	struct ack_config c;

	if (netsvc_dev(att)->type != ARPHRD_ETHER) {
		NL_SET_ERR_MSG(extack, "ack needs an Ethernet device (a vif)");
		return -EOPNOTSUPP;
	}
	p->att = att;
	spin_lock_init(&p->lock);
	__skb_queue_head_init(&p->to_guest);
	__skb_queue_head_init(&p->to_wan);
	hrtimer_init(&p->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	p->timer.function = ack_timer_fn;
	p->env = (struct ack_env){
		.alloc = env_alloc, .free = env_free, .emit = env_emit,
		.copy_payload = env_copy_payload, .ctx = p,
	};
	ack_core_config_default(&c);
	to_core_config(a, &c);
	c.hash_seed = get_random_u32();
	p->core = ack_core_create(&p->env, &c);
	if (!p->core) {
		NL_SET_ERR_MSG(extack, "ack: out of memory for the flow table");
		return -ENOMEM;
	}
	p->drain_ms = a->drain_ms;
	mutex_lock(&ack_all_lock);
	list_add_tail(&p->all, &ack_all);
	mutex_unlock(&ack_all_lock);
	return 0;
}

static int ack_reconfigure(struct netsvc_attachment *att, const void *config,
			   struct netlink_ext_ack *extack)
{
	const struct ack_params *a = config;
	struct ack_priv *p = netsvc_priv(att);
	struct ack_config c;

	ack_core_config_default(&c);
	to_core_config(a, &c);
	spin_lock_bh(&p->lock);
	ack_core_reconfigure(p->core, &c);
	p->drain_ms = a->drain_ms;
	spin_unlock_bh(&p->lock);
	return 0;
}

static u64 kept(struct ack_priv *p)
{
	u64 n;

	spin_lock_bh(&p->lock);
	n = ack_core_kept_total(p->core);
	spin_unlock_bh(&p->lock);
	return n;
}

/*
 * Before a detach: stop acknowledging locally and wait until every byte the
 * guest was told about has reached its receiver; the hooks still run, so
 * retransmissions and the receivers' ACKs keep flowing meanwhile.
 */
static int ack_quiesce(struct netsvc_attachment *att, struct netlink_ext_ack *extack)
{
	struct ack_priv *p = netsvc_priv(att);
	unsigned long end;
	u64 left;

	spin_lock_bh(&p->lock);
	ack_core_drain(p->core);
	spin_unlock_bh(&p->lock);
	end = jiffies + msecs_to_jiffies(READ_ONCE(p->drain_ms));
	while ((left = kept(p)) && time_before(jiffies, end))
		msleep(20);
	if (left) {
		NL_SET_ERR_MSG(extack,
			       "ack: data acknowledged locally is not yet acknowledged by its receiver (the remote, or the guest); the vif is draining (no new local ACKs), detach again later");
		return -EBUSY;
	}
	return 0;
}

static void ack_detach(struct netsvc_attachment *att)
{
	struct ack_priv *p = netsvc_priv(att);
	u64 left;

	mutex_lock(&ack_all_lock);
	list_del(&p->all);
	mutex_unlock(&ack_all_lock);
	spin_lock_bh(&p->lock);
	p->dead = true;
	spin_unlock_bh(&p->lock);
	hrtimer_cancel(&p->timer);
	left = ack_core_kept_total(p->core);
	/* Only when the vif itself disappeared: the guest is gone too. */
	if (left)
		pr_warn("%s: vif removed with %llu bytes not yet acknowledged by their receivers\n",
			netdev_name(netsvc_dev(att)), left);
	ack_core_destroy(p->core);
	__skb_queue_purge(&p->to_guest);
	__skb_queue_purge(&p->to_wan);
}

static int ack_fill_stats(struct netsvc_attachment *att, struct netsvc_stats *st)
{
	struct ack_priv *p = netsvc_priv(att);
	struct ack_stats s;
	u64 bf;

	spin_lock_bh(&p->lock);
	ack_core_stats(p->core, &s);
	bf = p->build_failures;
	spin_unlock_bh(&p->lock);
	return netsvc_stats_put(st, "flows", s.flows) ?:
	       netsvc_stats_put(st, "flows_created", s.flows_created) ?:
	       netsvc_stats_put(st, "flows_untracked", s.flows_untracked) ?:
	       netsvc_stats_put(st, "local_acks", s.tx.local_acks) ?:
	       netsvc_stats_put(st, "kept_bytes", s.tx.kept_bytes) ?:
	       netsvc_stats_put(st, "kept_peak", s.tx.kept_peak) ?:
	       netsvc_stats_put(st, "rexmit_fast", s.tx.rexmit_fast) ?:
	       netsvc_stats_put(st, "rexmit_rto", s.tx.rexmit_rto) ?:
	       netsvc_stats_put(st, "acks_consumed", s.tx.acks_consumed) ?:
	       netsvc_stats_put(st, "acks_rewritten", s.tx.acks_rewritten) ?:
	       netsvc_stats_put(st, "reordered", s.tx.reordered) ?:
	       netsvc_stats_put(st, "unheld", s.tx.unheld) ?:
	       netsvc_stats_put(st, "fallbacks", s.tx.fallbacks) ?:
	       netsvc_stats_put(st, "reentries", s.tx.reentries) ?:
	       netsvc_stats_put(st, "tlp_probes", s.tx.tlp_probes) ?:
	       netsvc_stats_put(st, "dsacks", s.tx.dsacks) ?:
	       netsvc_stats_put(st, "spurious", s.tx.spurious) ?:
	       netsvc_stats_put(st, "undos", s.tx.undos) ?:
	       netsvc_stats_put(st, "reo_wnd_us", s.tx.reo_wnd_us) ?:
	       netsvc_stats_put(st, "ss_exits", s.tx.ss_exits) ?:
	       netsvc_stats_put(st, "rx_local_acks", s.rx.local_acks) ?:
	       netsvc_stats_put(st, "rx_kept_bytes", s.rx.kept_bytes) ?:
	       netsvc_stats_put(st, "rx_kept_peak", s.rx.kept_peak) ?:
	       netsvc_stats_put(st, "rx_rexmit_fast", s.rx.rexmit_fast) ?:
	       netsvc_stats_put(st, "rx_rexmit_rto", s.rx.rexmit_rto) ?:
	       netsvc_stats_put(st, "rx_acks_consumed", s.rx.acks_consumed) ?:
	       netsvc_stats_put(st, "rx_acks_rewritten", s.rx.acks_rewritten) ?:
	       netsvc_stats_put(st, "rx_acks_prompt", s.rx.acks_prompt) ?:
	       netsvc_stats_put(st, "rx_reordered", s.rx.reordered) ?:
	       netsvc_stats_put(st, "rx_unheld", s.rx.unheld) ?:
	       netsvc_stats_put(st, "rx_fallbacks", s.rx.fallbacks) ?:
	       netsvc_stats_put(st, "rx_reentries", s.rx.reentries) ?:
	       netsvc_stats_put(st, "resets", s.resets) ?:
	       netsvc_stats_put(st, "alloc_failures", s.alloc_failures) ?:
	       netsvc_stats_put(st, "build_failures", bf) ?:
	       netsvc_stats_put(st, "mem_bytes", atomic64_read(&p->mem_bytes));
}

static void seq_out(void *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	seq_vprintf(ctx, fmt, ap);
	va_end(ap);
}

/*
 * debugfs netsvc_ack/flows: each vif's flows as the core sees them, for
 * whoever has to find out why a transfer stalls; not an interface.
 */
static int flows_show(struct seq_file *m, void *v)
{
	struct ack_priv *p;
	u32 n;

	mutex_lock(&ack_all_lock);
	list_for_each_entry(p, &ack_all, all) {
		seq_printf(m, "%s\n", netdev_name(netsvc_dev(p->att)));
		spin_lock_bh(&p->lock);
		n = ack_core_dump(p->core, ktime_get_ns(), 64, seq_out, m);
		spin_unlock_bh(&p->lock);
		if (n == 64)
			seq_puts(m, "(the first 64 flows)\n");
	}
	mutex_unlock(&ack_all_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(flows);

static struct netsvc_service_ops ack_ops = {
	.name = "ack",
	.priv_size = sizeof(struct ack_priv),
	.params = ack_params_tbl,
	.n_params = ARRAY_SIZE(ack_params_tbl),
	.config_size = sizeof(struct ack_params),
	.config_default = &ack_defaults,
	.attach = ack_attach,
	.reconfigure = ack_reconfigure,
	.quiesce = ack_quiesce,
	.detach = ack_detach,
	.ingress = ack_ingress,
	.egress = ack_egress,
	.fill_stats = ack_fill_stats,
};

static int __init ack_init(void)
{
	int err;

	ack_debugfs = debugfs_create_dir("netsvc_ack", NULL);
	debugfs_create_file("flows", 0400, ack_debugfs, NULL, &flows_fops);
	err = netsvc_service_register(&ack_ops);
	if (err)
		debugfs_remove(ack_debugfs);
	return err;
}

static void __exit ack_exit(void)
{
	netsvc_service_unregister(&ack_ops);
	debugfs_remove(ack_debugfs);
}

module_init(ack_init);
module_exit(ack_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netsvc service: local TCP acknowledgement for what a guest sends and receives");
MODULE_ALIAS_NETSVC_SERVICE("ack");
