// SPDX-License-Identifier: GPL-2.0
/*
 * ack_input.c: every segment the glue hands in, both directions.  From the
 * guest: the handshake, data to keep and acknowledge at once, the FIN.  Toward
 * the guest: the receiver's ACKs and SACK blocks, which free kept data and
 * drive recovery, and which are consumed or rewritten so that the guest sees
 * one consistent receiver.
 */
#include "ack_int.h"

/* ---- SACK scoreboard ---- */

static void sack_prune(struct ack_half *h)
{
	u32 i, j = 0;

	for (i = 0; i < h->nsacked; i++) {
		struct ack_sack b = h->sacked[i];

		if (!seq_after(b.end, h->una))
			continue;
		if (seq_before(b.start, h->una))
			b.start = h->una;
		h->sacked[j++] = b;
	}
	h->nsacked = j;
}

static void sack_add(struct ack_half *h, u32 start, u32 end)
{
	struct ack_sack *b = h->sacked;
	u32 n = h->nsacked, i, j;

	/* Only what we keep and the receiver has not acked is interesting. */
	if (seq_before(start, h->una))
		start = h->una;
	if (seq_after(end, h->nxt))
		end = h->nxt;
	if (!seq_after(end, start))
		return;
	/* the blocks before i end before it, those from j on start after it */
	for (i = 0; i < n && seq_before(b[i].end, start); i++)
		;
	for (j = i; j < n && !seq_after(b[j].start, end); j++)
		;
	if (j > i) {
		/* it joins b[i..j) into one */
		b[i].start = seq_min(b[i].start, start);
		b[i].end = seq_max(b[j - 1].end, end);
		memmove(&b[i + 1], &b[j], (n - j) * sizeof(*b));
		h->nsacked = n - (j - i - 1);
		return;
	}
	/* a full board forgets its highest block (see detect_loss()) */
	if (i == MAX_SACKED)
		return;
	if (n == MAX_SACKED)
		n--;
	memmove(&b[i + 1], &b[i], (n - i) * sizeof(*b));
	b[i] = (struct ack_sack){ start, end };
	h->nsacked = n + 1;
}

/* IP fields for what the core sends in that segment's direction. */
static void get_ip(struct ack_ip *ip, const struct ack_seg *s)
{
	ip->ttl = s->ttl;
	ip->tos = s->tos;
	ip->flowlabel = s->flowlabel;
}

/* ---- state changes ---- */

/*
 * A flow that fell back is acknowledged locally again once its stream makes
 * sense (see reenter()).  One that keeps falling back soon after, a stream
 * the core cannot follow, waits longer each time (RTO << flaps) and after
 * REENTRY_FLAPS such fallbacks in a row runs end to end for good: it never
 * alternates faster than its own RTO, and only for so long.  A re-entry is
 * proven once the receiver has acknowledged REENTRY_PROVEN segments past it.
 */
#define REENTRY_FLAPS		6
#define REENTRY_PROVEN		64

static void probe_stop(struct ack_core *c, struct ack_half *h)
{
	if (!(h->flags & H_PROBE))
		return;
	ack_drop_held(c, h);
	ack_account(c, h);
}

/* No copies toward a re-entry for a while: RTO << flaps. */
static void reenter_later(struct ack_core *c, struct ack_half *h)
{
	h->reenter_at = c->now + (h->rto << umin(h->flaps, REENTRY_FLAPS));
}

void ack_fallback(struct ack_core *c, struct ack_half *h, bool count)
{
	if (h->flags & H_FALLBACK) {
		probe_stop(c, h);	/* (dir turned off, drain) */
		return;
	}
	h->flags |= H_FALLBACK;
	/*
	 * From now on edge is the largest the receiver gave the sender, which
	 * a re-entry must honour (no budget covers it while fallen back).
	 */
	h->edge = h->nxt;
	if (h->flags & H_RWIN)
		h->edge = seq_max(h->edge, h->r_ack + h->r_wnd);
	ack_drop_held(c, h);	/* never acknowledged: the sender still has them */
	ack_account(c, h);
	if (count) {
		hstats(c, h)->fallbacks++;
		if (h->reentered &&
		    seq_before(h->una, h->reenter_seq + REENTRY_PROVEN * h->mss))
			h->flaps++;
		else
			h->flaps = 0;
		reenter_later(c, h);
	}
}

/* A fallen-back half's receiver acknowledged @ra (<= hi) with @win: see ack_fallback(). */
static void fallback_edge(struct ack_half *h, u32 ra, u16 win)
{
	u32 edge = ra + ((u32)win << h->ws);

	if (seq_after(edge, h->edge))
		h->edge = edge;
}

/* Handed back (or never taken: dir) with nothing kept: segments pass as they are. */
static bool inert(const struct ack_half *h)
{
	return (h->flags & H_FALLBACK) && h->una == h->nxt;
}

/*
 * May a half that fell back be acknowledged locally again?  Not once its
 * sender is done (FIN), not while its direction is off (dir) or the core
 * drains, never if it was not taken at the start, and not after too many
 * flaps.
 */
static bool may_reenter(const struct ack_core *c, const struct ack_flow *f,
			const struct ack_half *h)
{
	u32 dir = is_tx(h) ? ACK_DIR_TX : ACK_DIR_RX;

	return (h->flags & (H_TAKEN | H_FIN)) == H_TAKEN && (f->flags & F_EST) &&
	       (c->cfg.dirs & dir) && !c->draining && h->flaps <= REENTRY_FLAPS;
}

/* Nothing left for the core to do in this direction. */
static bool half_done(const struct ack_core *c, const struct ack_flow *f,
		      const struct ack_half *h)
{
	if (h->una != h->nxt)
		return false;
	if (h->flags & H_FALLBACK)
		return !may_reenter(c, f, h);
	return (h->flags & H_FIN) && (h->flags & H_RWIN) &&
	       seq_after(h->r_ack, h->fin_seq);
}

/* Forget a flow once it has nothing left for the core to do. */
bool ack_maybe_finish(struct ack_core *c, struct ack_flow *f)
{
	if (half_done(c, f, &f->tx) && half_done(c, f, &f->rx)) {
		ack_free_flow(c, f);
		return true;
	}
	return false;
}

static void start_half(struct ack_core *c, struct ack_half *h, u32 isn,
		       u32 mss)
{
	h->mss = mss;
	h->una = h->nxt = h->edge = h->adv_edge = h->late_end = h->told = isn + 1;
	ack_cc_init(c, h);
}

static void maybe_establish(struct ack_core *c, struct ack_flow *f)
{
	u32 mss;

	if ((f->flags & (F_GSYN | F_RSYN | F_EST)) != (F_GSYN | F_RSYN))
		return;
	f->flags |= F_EST;
	if (f->g_wsopt != WS_NONE && f->r_wsopt != WS_NONE) {
		f->tx.ws = f->r_wsopt > 14 ? 14 : f->r_wsopt;
		f->rx.ws = f->g_wsopt > 14 ? 14 : f->g_wsopt;
	}
	if (f->g_sack && f->r_sack)
		f->flags |= F_SACK;
	if (f->g_ts && f->r_ts)
		f->flags |= F_TS;
	/* what each end accepts, within what the other's link carries */
	mss = f->r_mss ? f->r_mss : DEFAULT_MSS;
	if (f->g_mss && f->g_mss < mss)
		mss = f->g_mss;
	if (mss < 64 + TS_OPT_LEN)
		mss = 64 + TS_OPT_LEN;	/* a silly MSS option must not stall us */
	if (f->flags & F_TS)
		mss -= TS_OPT_LEN;
	start_half(c, &f->tx, f->g_isn, mss);
	start_half(c, &f->rx, f->r_isn, mss);
}

static bool port_ok(const struct ack_core *c, u16 dport)
{
	return !c->cfg.port || c->cfg.port == dport;
}

static void learn_guest_syn(struct ack_flow *f, const struct ack_seg *s, u64 now)
{
	f->g_isn = s->seq;
	f->tx.hi = s->seq + 1;
	f->tx.una = f->tx.nxt = f->tx.edge = f->tx.adv_edge = f->tx.told = s->seq + 1;
	f->g_mss = s->has_mss ? s->mss : 0;
	f->g_wsopt = s->has_wscale ? s->wscale : WS_NONE;
	f->g_sack = s->sack_ok;
	f->g_ts = s->has_ts;
	get_ip(&f->g_ip, s);
	f->flags |= F_GSYN;
	f->tx.flags |= H_RTT;
	f->tx.rtt_seq = s->seq + 1;
	f->tx.rtt_time = now;
}

static void learn_remote_syn(struct ack_flow *f, const struct ack_seg *s)
{
	f->r_isn = s->seq;
	f->rx.hi = s->seq + 1;
	f->rx.una = f->rx.nxt = f->rx.edge = f->rx.adv_edge = f->rx.told = s->seq + 1;
	f->r_mss = s->has_mss ? s->mss : 0;
	f->r_wsopt = s->has_wscale ? s->wscale : WS_NONE;
	f->r_sack = s->sack_ok;
	f->r_ts = s->has_ts;
	get_ip(&f->r_ip, s);
	f->flags |= F_RSYN;
}

/* ---- re-entry ---- */

/*
 * An inert half runs end to end: what the sender sent is in flight between
 * the two ends, uncopied, and a local ACK cannot cover it.  So the core
 * copies the sender's data again, in order from the edge (probe_seq = hi)
 * on, without acknowledging it; once the receiver's cumulative ACK reaches
 * probe_seq, everything before it is delivered and everything after it is
 * copied: the half starts afresh with [ack, hi) kept, and a local ACK for
 * hi.  A gap, a FIN, a budget or memory short of the copies ends the
 * attempt: the data went on, as it does end to end.
 *
 * The window: the sender may use whatever edge it was told, by the
 * receiver while end to end or by the core before the fallback, so that
 * edge must fit the budgets, and becomes the half's committed edge.
 */
static bool reenter(struct ack_core *c, struct ack_flow *f, struct ack_half *h,
		    u32 ra)
{
	u32 copies = h->hi - h->probe_seq, edge = seq_max(h->edge, h->hi);

	if (seq_before(ra, h->probe_seq) || seq_after(ra, h->hi))
		return false;
	if (seq_after(h->adv_edge, edge) && h->adv_edge - ra <= c->cfg.flow_budget)
		edge = h->adv_edge;
	if (edge - ra > c->cfg.flow_budget ||
	    c->committed - copies + (edge - ra) > c->cfg.vif_budget) {
		/* a window the budgets cannot cover: it would only fall back */
		probe_stop(c, h);
		h->flaps++;
		reenter_later(c, h);
		return false;
	}
	h->flags &= ~(H_FALLBACK | H_PROBE | H_RECOVERY | H_LOSS | H_RTT);
	h->una = h->nxt = h->probe_seq;
	ack_merge_held(c, h);		/* the copies: [probe_seq, hi) */
	ack_release(c, h, ra - h->una);
	h->una = ra;
	h->edge = edge;
	h->adv_edge = h->nxt;
	h->late_end = h->nxt;
	h->nsacked = 0;
	h->dupacks = 0;
	h->retries = 0;
	h->backoff = 0;
	h->recover = h->retx_hi = h->una;
	memset(&h->rack, 0, sizeof(h->rack));
	/* what the sender had in flight end to end is its window so far */
	ack_cc_init(c, h);
	if (h->nxt - h->una > h->cwnd)
		h->cwnd = h->ssthresh = h->nxt - h->una;
	h->rto_at = h->una == h->nxt ? 0 : c->now + ack_rto_timeout(c, h);
	h->reenter_seq = h->nxt;
	h->reentered = true;
	hstats(c, h)->reentries++;
	ack_account(c, h);
	if (ack_rack_on(c, f, h))
		ack_rack_kept(c, h);
	ack_send_local_ack(c, f, h);
	return true;
}

/* A segment from an inert half's sender. */
static void inert_sender_seg(struct ack_core *c, struct ack_flow *f,
			     struct ack_half *h, const struct ack_seg *s)
{
	u32 end = s->seq + s->len, off;

	if (s->flags & ACK_TCP_FIN) {
		probe_stop(c, h);
		if (!(h->flags & H_FIN)) {
			h->fin_seq = end;
			h->flags |= H_FIN;
		}
		h->hi = seq_max(h->hi, end + 1);
		return;
	}
	if (!seq_after(end, h->hi))
		return;		/* sent again by the sender itself */
	if (!s->len) {
		/*
		 * A pure ACK beyond anything sent: a stream that makes no
		 * sense (tests/vm/tcpkick.c sends one), as it would make a
		 * half that acknowledges fall back.  No copies for a while,
		 * and hi stays: taken for the edge of the data, it made all
		 * the sender sent afterwards look old, never copied.
		 */
		probe_stop(c, h);
		reenter_later(c, h);
		return;
	}
	if (seq_after(s->seq, h->hi) || !may_reenter(c, f, h) || c->now < h->reenter_at) {
		probe_stop(c, h);	/* a gap: the copies would not be in order */
		h->hi = end;
		return;
	}
	off = h->hi - s->seq;
	if (!(h->flags & H_PROBE))
		h->probe_seq = h->hi;
	if (end - h->probe_seq > c->cfg.flow_budget ||
	    c->committed + (end - h->hi) > c->cfg.vif_budget ||
	    ack_probe_copy(c, h, s, off, s->len - off)) {
		/* a flight the budgets cannot copy: try again later */
		if (h->held)
			ack_drop_held(c, h);
		ack_account(c, h);
		reenter_later(c, h);
		h->hi = end;
		return;
	}
	h->flags |= H_PROBE;
	h->hi = end;
	if (s->has_ts)
		h->ts_recent = s->tsval;
	ack_account(c, h);
	/* the receiver may have caught up already (nothing was in flight) */
	if (h->flags & H_RWIN)
		reenter(c, f, h, h->r_ack);
}

/* ---- segments ---- */

/* The receiver acknowledged or reported something about kept data. */
/*
 * rx with SACK: does the guest report kept data that Dom0 sent it after the
 * segment at una?  Segments held after a gap on the WAN went to the guest
 * before the one that filled the gap, so the guest's ACKs about them, sent
 * before that one arrived and met by Dom0 after, say nothing of a loss on
 * the guest's path (as RACK reasons, RFC 8985): only blocks beyond late_end
 * do.
 */
static bool sacked_late(const struct ack_half *h, const struct ack_seg *s)
{
	u32 i;

	for (i = 0; i < s->nsack && i < ACK_MAX_SACK; i++)
		if (seq_after(s->sack[i].end, h->late_end) &&
		    seq_after(s->sack[i].end, h->una) &&
		    !seq_after(s->sack[i].start, h->nxt))
			return true;
	return false;
}

/*
 * Returns true if the ACK must reach the sender as it is: rx caught up with
 * bytes the core never acknowledged itself.
 */
static bool on_receiver_ack(struct ack_core *c, struct ack_flow *f,
			    struct ack_half *h, const struct ack_seg *s, u64 now)
{
	bool pure = !s->len && !(s->flags & (ACK_TCP_SYN | ACK_TCP_FIN | ACK_TCP_RST));
	bool dup = false, newack = false, resync = false;
	u32 ra = s->ack, i;

	if (ack_rack_on(c, f, h))
		ack_rack_on_ack(c, h, s);

	/* (also the handshake's: rtt_seq == una until data flows) */
	if ((h->flags & H_RTT) && !seq_before(ra, h->rtt_seq) && now >= h->rtt_time) {
		ack_rtt_sample(c, h, now - h->rtt_time);
		h->flags &= ~H_RTT;
	}
	if (seq_after(ra, h->una)) {
		u32 top = seq_min(ra, h->nxt), acked = top - h->una;
		u32 flight = h->nxt - h->una;

		newack = true;
		ack_release(c, h, acked);
		h->una = top;
		if (seq_after(ra, h->nxt) && !is_tx(h) && !(h->flags & H_FALLBACK)) {
			/*
			 * rx: the guest has bytes the core passed on without
			 * keeping them (after a gap from the WAN, or beyond a
			 * budget).  Nothing below ra needs the core: start
			 * again from there, with what was held above it.
			 */
			h->una = h->nxt = ra;
			if (seq_after(ra, h->edge))
				h->edge = ra;
			if (seq_after(ra, h->adv_edge))
				h->adv_edge = ra;
			ack_merge_held(c, h);
			h->late_end = h->nxt;
			resync = true;
		}
		h->retries = 0;
		h->backoff = 0;
		h->dupacks = 0;
		sack_prune(h);
		/* no growth in fast recovery; slow start again after an RTO */
		if (acked && (!(h->flags & H_RECOVERY) || (h->flags & H_LOSS)))
			ack_cc_acked(c, h, acked, flight);
		h->rto_at = h->una == h->nxt ? 0 : now + ack_rto_timeout(c, h);
		ack_account(c, h);
	} else if (ra == h->una && pure && h->una != h->nxt &&
		   (is_tx(h) || !(f->flags & F_SACK) ?
		    s->window == h->r_win_raw || ((f->flags & F_SACK) && s->nsack) :
		    sacked_late(h, s))) {
		/* RFC 5681 wants the window unchanged; a SACK block is proof enough */
		dup = true;
		h->dupacks++;
	}
	if (f->flags & F_SACK)
		for (i = 0; i < s->nsack && i < ACK_MAX_SACK; i++)
			sack_add(h, s->sack[i].start, s->sack[i].end);
	if (!(h->flags & H_RWIN) || !seq_before(ra, h->r_ack)) {
		h->r_ack = ra;
		h->r_wnd = (u32)s->window << h->ws;
		h->flags |= H_RWIN;
	}
	h->r_win_raw = s->window;
	/*
	 * A receiver that answers with a zero window is reachable, just not
	 * reading: persist like a TCP sender, without counting toward reset.
	 */
	if (!h->r_wnd && ra == h->una)
		h->retries = 0;

	if (ack_rack_on(c, f, h)) {
		ack_rack_after_ack(c, f, h, newack);
	} else if (h->flags & H_RECOVERY) {
		if (!seq_before(h->una, h->recover)) {
			ack_cc_recovered(c, h);
			h->flags &= ~(H_RECOVERY | H_LOSS);
		} else if (newack || dup) {
			/* a partial ACK (force) or a dupack with SACK news */
			ack_rexmit(c, f, h, ack_burst(c, h), newack, (h->flags & H_LOSS) != 0);
		}
	} else if (dup && h->dupacks == c->cfg.dupthresh) {
		ack_cc_reduce(c, h, false);
		h->flags |= H_RECOVERY;
		h->recover = h->nxt;
		h->retx_hi = h->una;
		ack_rexmit(c, f, h, ack_burst(c, h), true, false);
		h->rto_at = now + ack_rto_timeout(c, h);
	}
	if (resync) {
		if (h->nxt == h->una)
			return true;
		/* the held bytes are kept now: acknowledge them */
		ack_send_local_ack(c, f, h);
	}
	return false;
}

/* The receiver's segment with its own ack and window, its SACK blocks stripped. */
static enum ack_verdict strip_sack(const struct ack_seg *s, struct ack_dir_stats *st,
				   struct ack_rewrite *rw)
{
	rw->ack = s->ack;
	rw->window = s->window;
	rw->strip_sack = true;
	st->acks_rewritten++;
	return ACK_REWRITE;
}

static bool sack_confuses(const struct ack_half *h, const struct ack_seg *s)
{
	u32 i;

	for (i = 0; i < s->nsack && i < ACK_MAX_SACK; i++)
		if (!seq_after(s->sack[i].start, h->nxt) ||
		    seq_before(s->sack[i].start, s->ack))
			return true;
	return false;
}

/*
 * rx: would the guest's ACK of @ra now give the remote at least a segment
 * more than it was offered, when it needs it?  A receiver's every ACK
 * carries its window; were the guest's consumed while they open it, the
 * remote would only learn of the room once nearly blocked, and run at half
 * the window.  But while the guest trails Dom0 (ra below nxt) the remote's
 * data is still arriving, and the local ACK each segment gets carries the
 * guest's latest window anyway.  Passing the guest's ACKs as well doubled
 * the ACKs on the WAN, to 3.5 times the guest's own without ack (it
 * acknowledges every segment once Dom0's work spaces them out): work for a
 * path bound by its CPUs, as the emulated one is (cutting it moved 10 MB into
 * the guest from 0.92 to 0.96 of the time without ack; most of that gap has
 * another cause).  So an ACK below nxt goes on
 * only when the remote has less than half of the window it could have (as
 * Linux sends a window update), and the guest's ACK of nxt, the last chance
 * before the remote may wait, whenever it opens a segment.
 */
static bool fresh_window(struct ack_core *c, struct ack_half *h, u32 ra)
{
	u32 lim, most;

	if (is_tx(h) || (h->flags & (H_FALLBACK | H_FIN)))
		return false;
	lim = ack_window_limit(c, h);
	most = h->nxt + (0xffffu << h->ws);	/* what the header can say */
	if (seq_after(lim, most))
		lim = most;
	if (!seq_after(lim, h->adv_edge) || lim - h->adv_edge < h->mss)
		return false;
	if (!seq_before(ra, h->nxt))
		return true;
	return !seq_after(h->adv_edge, h->hi) ||
	       2 * (h->adv_edge - h->hi) < lim - h->hi;
}

/* rx: the raw window for an ACK of nxt in the guest's name, now promised. */
static u16 advertise(struct ack_core *c, struct ack_half *h)
{
	u32 raw;

	if (h->flags & H_FALLBACK)
		return ack_sender_view_window(h);
	raw = (ack_window_limit(c, h) - h->nxt) >> h->ws;
	if (raw > 0xffff)
		raw = 0xffff;
	if (seq_after(h->nxt + (raw << h->ws), h->adv_edge)) {
		h->adv_edge = h->nxt + (raw << h->ws);
		if (seq_after(h->adv_edge, h->edge))
			h->edge = h->adv_edge;
		ack_account(c, h);
	}
	return ack_sender_view_window(h);
}

/*
 * rx: the guest's window passes on to the remote as the guest's promise, but
 * the core answers for every byte the remote sends once it acknowledges
 * locally, so the window never reaches beyond what the budgets hold.
 */
static enum ack_verdict clamp_window(struct ack_core *c, struct ack_half *h,
				     const struct ack_seg *s,
				     enum ack_verdict v, struct ack_rewrite *rw)
{
	u32 ra = v == ACK_REWRITE ? rw->ack : s->ack;
	u32 lim = seq_max(ack_window_limit(c, h), h->adv_edge);
	u32 edge = ra + ((u32)s->window << h->ws), raw;

	if (seq_after(edge, lim)) {
		raw = (lim - ra) >> h->ws;
		if (raw > 0xffff)
			raw = 0xffff;
		if (v == ACK_PASS) {
			rw->ack = ra;
			rw->strip_sack = false;
			hstats(c, h)->acks_rewritten++;
			v = ACK_REWRITE;
		}
		rw->window = raw;
		edge = ra + (raw << h->ws);
	}
	if (seq_after(edge, h->adv_edge)) {
		h->adv_edge = edge;
		if (seq_after(edge, h->edge))
			h->edge = edge;
		ack_account(c, h);
	}
	return v;
}

/*
 * A segment from @h's receiver (an ACK, maybe with data of the other
 * direction): free kept data, drive recovery, and decide whether the sender
 * may see it as it is.  *news: false if the segment was not ours to judge.
 */
static enum ack_verdict receiver_seg(struct ack_core *c, struct ack_flow *f,
				     struct ack_half *h, const struct ack_seg *s,
				     u64 now, struct ack_rewrite *rw,
				     bool *freed, bool *news)
{
	/* ECN echoes and urgent data are news for the sender: never consumed */
	bool pure = !s->len && !(s->flags & (ACK_TCP_SYN | ACK_TCP_FIN | ACK_TCP_RST |
					     ACK_TCP_URG | ACK_TCP_ECE));
	struct ack_dir_stats *st = hstats(c, h);
	enum ack_verdict v = ACK_PASS;
	bool passthrough;
	u32 ra = s->ack;

	*freed = *news = false;
	if (inert(h)) {
		/* only the receiver's window, for what is sent in its name */
		if (!(h->flags & H_RWIN) || !seq_before(ra, h->r_ack)) {
			h->r_ack = ra;
			h->r_wnd = (u32)s->window << h->ws;
			h->flags |= H_RWIN;
		}
		h->r_win_raw = s->window;
		if (seq_after(ra, h->hi))
			return ACK_PASS;
		fallback_edge(h, ra, s->window);
		if (!(h->flags & H_PROBE) || seq_before(ra, h->probe_seq) ||
		    !may_reenter(c, f, h))
			return ACK_PASS;
		*news = true;
		if (!reenter(c, f, h, ra))
			return ACK_PASS;
		/* the sender has our ACK now, beyond this one: as below */
		if (pure) {
			st->acks_consumed++;
			return ACK_DROP;
		}
		if (seq_before(ra, h->nxt)) {
			rw->ack = h->nxt;
			rw->window = is_tx(h) ? ack_sender_view_window(h) : advertise(c, h);
			rw->strip_sack = s->nsack > 0;
			st->acks_rewritten++;
			return ACK_REWRITE;
		}
		return ACK_PASS;
	}
	/* Acking what the sender never sent: not ours to judge. */
	if (seq_after(ra, h->hi))
		return ACK_PASS;
	*news = true;
	*freed = seq_after(ra, h->una) && h->una != h->nxt;
	passthrough = on_receiver_ack(c, f, h, s, now);
	if (h->flags & H_FALLBACK)
		fallback_edge(h, ra, s->window);
	/*
	 * rx: a guest that acknowledges more while Dom0 owes an ACK (within
	 * rx_grace of the data, or of the guest's own last ACK) is prompt: its
	 * ACK goes on as it is, so that the remote sees the guest's own ACK
	 * clock and windows, and what it has not acknowledged yet is owed from
	 * now on.  Its SACK blocks tell of losses on the guest's path, which
	 * are Dom0's to repair: stripped.  (A duplicate ACK goes below, to be
	 * consumed: H_GIVEN, the core answers for the remote's data.)
	 */
	if (h->ack_due && !(h->flags & H_FALLBACK) && seq_after(ra, h->told)) {
		h->flags |= H_GIVEN;
		h->told = ra;
		h->ack_due = seq_before(ra, h->nxt) ? now + c->cfg.rx_grace_ns : 0;
		st->acks_prompt++;
		if (s->nsack)
			v = strip_sack(s, st, rw);
		return clamp_window(c, h, s, v, rw);
	}

	if (h->flags & H_GIVEN) {
		/*
		 * The sender already has this ACK (or will get ours)?  Not
		 * the one for nxt that ends a fallback's repair: from there
		 * on the sender's window is the receiver's, and a sender the
		 * core left at a window of zero learns of it only so (else
		 * from its persist timer, backed off for as long as the
		 * repair took).
		 */
		bool had = pure && !passthrough && !seq_after(ra, h->nxt) &&
			   !(ra == h->nxt && (seq_after(h->hi, h->nxt) ||
					      (h->flags & H_FALLBACK)));

		if (had && !fresh_window(c, h, ra)) {
			st->acks_consumed++;
			v = ACK_DROP;
		} else if (had || seq_before(ra, h->nxt)) {
			rw->ack = h->nxt;
			rw->window = is_tx(h) ? ack_sender_view_window(h) :
						advertise(c, h);
			rw->strip_sack = s->nsack > 0;
			st->acks_rewritten++;
			v = ACK_REWRITE;
		} else if (s->nsack && sack_confuses(h, s)) {
			v = strip_sack(s, st, rw);
		}
		if (!is_tx(h) && v != ACK_DROP && !(h->flags & H_FALLBACK) &&
		    !seq_before(ra, h->nxt))
			v = clamp_window(c, h, s, v, rw);
	}
	if (v != ACK_DROP) {
		u32 a = v == ACK_REWRITE ? rw->ack : ra;

		if (seq_after(a, h->told))
			h->told = a;
		if (!seq_before(a, h->nxt))
			h->ack_due = 0;
	}
	return v;
}

/*
 * After a receiver's segment: forget the flow if it is done (true), else
 * reopen windows that the freed memory allows.
 */
static bool after_receiver_seg(struct ack_core *c, struct ack_flow *f,
			       struct ack_half *h, bool freed)
{
	if (ack_maybe_finish(c, f))
		return true;
	ack_maybe_window_update(c, f, h);
	if (freed)
		ack_offer_room(c);
	return false;
}

/* Can [nxt, end) be kept within the budgets? */
static bool fits(struct ack_core *c, struct ack_half *h, u32 end)
{
	u32 top = seq_max(h->edge, h->nxt);

	if (end - h->una > c->cfg.flow_budget)
		return false;
	if (seq_after(end, top) && c->committed + (end - top) > c->cfg.vif_budget)
		return false;
	return true;
}

/*
 * A segment from @h's sender: keep in-order data and acknowledge it at once.
 * The flow may be freed.
 */
static void sender_seg(struct ack_core *c, struct ack_flow *f,
		       struct ack_half *h, const struct ack_seg *s, u64 now)
{
	u32 end = s->seq + s->len, off;
	bool early;

	if (inert(h)) {
		inert_sender_seg(c, f, h, s);
		ack_maybe_finish(c, f);
		return;
	}
	/*
	 * The FIN and whatever the sender sends with it or after nxt from then
	 * on run end to end: not kept, not acknowledged locally.  Early
	 * segments held so far are not needed any more.
	 */
	if (s->flags & ACK_TCP_FIN) {
		ack_drop_held(c, h);
		if (!(h->flags & H_FIN)) {
			h->fin_seq = end;
			h->flags |= H_FIN;
		}
		h->hi = seq_max(h->hi, end + 1);
		ack_maybe_finish(c, f);
		return;
	}

	if (!s->len) {
		/* (a pure ACK may overtake data sent before it, within the window) */
		if (seq_after(s->seq, seq_max(h->hi, h->edge))) {
			ack_fallback(c, h, true);
			ack_maybe_finish(c, f);
		} else if (seq_before(s->seq, h->nxt) && (h->flags & H_GIVEN) &&
			   !(h->flags & (H_FALLBACK | H_FIN))) {
			/* a window probe: the receiver's answer will be consumed */
			ack_send_local_ack(c, f, h);
		}
		return;
	}

	if (!seq_after(end, h->nxt)) {
		/* Data we acknowledged already: our ACK was lost. */
		if (h->flags & H_GIVEN)
			ack_send_local_ack(c, f, h);
		return;
	}
	if ((h->flags & H_FIN) && !seq_after(end, h->fin_seq))
		return;	/* sent before the FIN: late, or resent */
	early = seq_after(s->seq, h->nxt);
	if (h->flags & (H_FALLBACK | H_FIN))
		goto fall_back;
	if (!fits(c, h, end))
		goto unkept;
	if (early) {
		if (ack_hold(c, h, s)) {
			hstats(c, h)->unheld++;
			goto unkept;
		}
		hstats(c, h)->reordered++;
		h->hi = seq_max(h->hi, end);
		return;
	}
	off = h->nxt - s->seq;
	if (ack_keep(c, h, s, off, s->len - off))
		goto fall_back;
	h->nxt = end;
	h->hi = seq_max(h->hi, end);
	ack_merge_held(c, h);
	if (h->nxt != end)
		h->late_end = h->nxt;	/* held segments joined: sent before this one */
	if (s->has_ts)
		h->ts_recent = s->tsval;
	if (!(h->flags & H_RTT) && !(h->flags & H_RECOVERY)) {
		h->rtt_seq = h->nxt;
		h->rtt_time = now;
		h->flags |= H_RTT;
	}
	if (!h->rto_at)
		h->rto_at = now + ack_rto_timeout(c, h);
	if (ack_rack_on(c, f, h))
		ack_rack_kept(c, h);
	ack_account(c, h);
	/*
	 * rx: a guest that answers within rx_grace gets its own ACKs through
	 * (receiver_seg()); one silent for longer, descheduled or busy, gets
	 * the core's.  Acknowledging every segment as it passed gave the
	 * remote the window the guest had before taking them, not the one its
	 * own ACKs would have shown after reading some, and clocked the
	 * remote's next flight as one burst: a 100 KB download took four round
	 * trips where the guest alone needed three (bench/ack.sh, row fct).
	 */
	if (is_tx(h) || !c->cfg.rx_grace_ns)
		ack_send_local_ack(c, f, h);
	else if (!h->ack_due)
		h->ack_due = now + c->cfg.rx_grace_ns;
	return;

unkept:
	if (!is_tx(h)) {
		/*
		 * rx: loss on the WAN leaves gaps, and a remote that sends
		 * into the guest's own window may pass a budget.  Such a
		 * segment goes on unkept and unacknowledged, which needs no
		 * fallback: the guest's own ACK for it ends the gap.
		 */
		h->hi = seq_max(h->hi, end);
		return;
	}
fall_back:
	ack_fallback(c, h, true);
	h->hi = seq_max(h->hi, end);
	ack_maybe_finish(c, f);
}

/* WAN -> guest: the remote's ACKs for tx, its data for rx. */
static enum ack_verdict to_guest(struct ack_core *c, struct ack_flow *f,
				 const struct ack_seg *s, u64 now,
				 struct ack_rewrite *rw)
{
	enum ack_verdict v;
	bool freed, news;
	u32 ra = s->ack, end;

	get_ip(&f->r_ip, s);
	if (s->has_ts && (!(f->flags & F_RTS) || !seq_before(s->tsval, f->r_tsval))) {
		f->r_tsval = s->tsval;
		f->flags |= F_RTS;
	}
	if (s->flags & ACK_TCP_ACK) {
		f->r_ack = ra;
		f->r_win_raw = s->window;
		if (s->has_ts)
			f->r_tsecr = s->tsecr;
	}
	/* (an inert rx half judges the segment against the edge before it) */
	end = s->seq + s->len + ((s->flags & ACK_TCP_FIN) ? 1 : 0);
	if ((f->flags & F_RSYN) && seq_after(end, f->rx.hi) && !inert(&f->rx))
		f->rx.hi = end;

	if (s->flags & ACK_TCP_SYN) {
		if ((s->flags & ACK_TCP_ACK) && (f->flags & F_GSYN) &&
		    !(f->flags & F_RSYN) && ra == f->g_isn + 1) {
			learn_remote_syn(f, s);
			if (s->has_ts)
				f->rx.ts_recent = s->tsval;
			maybe_establish(c, f);
			if ((f->tx.flags & H_RTT) && now >= f->tx.rtt_time) {
				ack_rtt_sample(c, &f->tx, now - f->tx.rtt_time);
				f->tx.flags &= ~H_RTT;
			}
			f->tx.r_ack = ra;
			f->tx.r_wnd = s->window;	/* never scaled in a SYN */
			f->tx.r_win_raw = s->window;
			f->tx.flags |= H_RWIN;
		}
		return ACK_PASS;
	}
	if (!(f->flags & F_EST) || !(s->flags & ACK_TCP_ACK))
		return ACK_PASS;

	v = receiver_seg(c, f, &f->tx, s, now, rw, &freed, &news);
	if (news && after_receiver_seg(c, f, &f->tx, freed))
		return v;
	sender_seg(c, f, &f->rx, s, now);
	return v;
}

/* guest -> WAN: the guest's data for tx, its ACKs for rx. */
static enum ack_verdict from_guest(struct ack_core *c, struct ack_flow *f,
				   const struct ack_seg *s, u64 now,
				   struct ack_rewrite *rw)
{
	enum ack_verdict v = ACK_PASS;
	bool freed, news;

	get_ip(&f->g_ip, s);
	if (s->flags & ACK_TCP_ACK) {
		f->g_ack = s->ack;
		f->g_win_raw = s->window;
	}
	if (s->has_ts && (!(f->flags & F_GTS) || !seq_before(s->tsval, f->g_tsval))) {
		f->g_tsval = s->tsval;
		f->g_tsecr = s->tsecr;
		f->flags |= F_GTS;
	}

	if (s->flags & ACK_TCP_SYN) {
		/* The guest's SYN-ACK, answering a remote SYN we saw. */
		if ((s->flags & ACK_TCP_ACK) && (f->flags & F_RSYN) &&
		    !(f->flags & F_GSYN) && s->ack == f->r_isn + 1 && !s->len) {
			learn_guest_syn(f, s, now);
			if (s->has_ts)
				f->tx.ts_recent = s->tsval;
			maybe_establish(c, f);
			f->rx.r_ack = s->ack;
			f->rx.r_wnd = s->window;	/* never scaled in a SYN */
			f->rx.r_win_raw = s->window;
			f->rx.flags |= H_RWIN;
		} else if (f->flags & F_GSYN && s->seq == f->g_isn) {
			f->tx.flags &= ~H_RTT;	/* retransmitted: Karn */
		}
		return ACK_PASS;
	}
	if (!(f->flags & F_EST))
		return ACK_PASS;

	if (s->flags & ACK_TCP_ACK) {
		v = receiver_seg(c, f, &f->rx, s, now, rw, &freed, &news);
		if (news && after_receiver_seg(c, f, &f->rx, freed))
			return v;
	}
	sender_seg(c, f, &f->tx, s, now);
	return v;
}

static struct ack_flow *syn_flow(struct ack_core *c, struct ack_flow *f,
				 const struct ack_key *k, const struct ack_seg *s,
				 u64 now)
{
	/* A SYN with a new ISN on a known tuple: the tuple was reused. */
	if (f) {
		bool same = s->dir == ACK_FROM_GUEST ?
			    (f->flags & F_GSYN) && f->g_isn == s->seq :
			    (f->flags & F_RSYN) && f->r_isn == s->seq;

		if (same && s->dir == ACK_FROM_GUEST)
			f->tx.flags &= ~H_RTT;	/* retransmitted: Karn */
		if (same || f->tx.una != f->tx.nxt || f->rx.una != f->rx.nxt)
			return f;
		ack_free_flow(c, f);
	}
	if (c->draining || s->len || !port_ok(c, s->dport))
		return NULL;
	f = ack_new_flow(c, k, now);
	if (!f)
		return NULL;
	if (s->dir == ACK_FROM_GUEST) {
		learn_guest_syn(f, s, now);
		if (s->has_ts) {
			f->tx.ts_recent = s->tsval;
			f->g_tsval = s->tsval;
			f->g_tsecr = s->tsecr;
			f->flags |= F_GTS;
		}
	} else {
		learn_remote_syn(f, s);
		if (s->has_ts) {
			f->rx.ts_recent = s->tsval;
			f->r_tsval = s->tsval;
			f->flags |= F_RTS;
		}
	}
	return f;
}

static enum ack_verdict segment(struct ack_core *c, const struct ack_seg *s,
				u64 now, struct ack_rewrite *rw, const struct ack_key *kp);

enum ack_verdict ack_core_segment(struct ack_core *c, const struct ack_seg *s,
				  u64 now, struct ack_rewrite *rw)
{
	enum ack_verdict v;
	struct ack_flow *f;
	struct ack_key k;

	ack_key_from_seg(&k, s);
	c->now = now;
	v = segment(c, s, now, rw, &k);
	/* room a flow left when it was forgotten; freeing ACKs offered theirs */
	ack_offer_room(c);
	/* the segment's flow, if it still exists, is the only one it re-timed */
	f = ack_lookup(c, &k);
	if (f)
		ack_timer_file(c, f);
	return v;
}

static enum ack_verdict segment(struct ack_core *c, const struct ack_seg *s,
				u64 now, struct ack_rewrite *rw, const struct ack_key *kp)
{
	struct ack_flow *f;
	struct ack_key k = *kp;

	/* A segment we could not keep is not ours to acknowledge: ignore it. */
	if (s->len > MAX_SEG_LEN ||
	    (s->len && !s->payload && !c->env.copy_payload))
		return ACK_PASS;
	f = ack_lookup(c, &k);
	if ((s->flags & (ACK_TCP_SYN | ACK_TCP_ACK | ACK_TCP_RST)) == ACK_TCP_SYN) {
		f = syn_flow(c, f, &k, s, now);
		if (f)
			f->last_active = now;
		return ACK_PASS;
	}
	if (!f)
		return ACK_PASS;
	f->last_active = now;
	if (s->flags & ACK_TCP_RST) {
		/*
		 * A blind RST from the WAN must not make us forget acknowledged
		 * data the guest would never resend: with data kept, only the
		 * exact next sequence number counts (RFC 5961); the guest judges
		 * the rest itself.
		 */
		if (s->dir == ACK_TO_GUEST && f->tx.una != f->tx.nxt &&
		    s->seq != f->rx.hi)
			return ACK_PASS;
		ack_free_flow(c, f);
		return ACK_PASS;
	}
	if (s->dir == ACK_FROM_GUEST)
		return from_guest(c, f, s, now, rw);
	return to_guest(c, f, s, now, rw);
}
