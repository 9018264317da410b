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

static void sack_prune(struct ack_flow *f)
{
	u32 i, j = 0;

	for (i = 0; i < f->nsacked; i++) {
		struct ack_sack b = f->sacked[i];

		if (!seq_after(b.end, f->una))
			continue;
		if (seq_before(b.start, f->una))
			b.start = f->una;
		f->sacked[j++] = b;
	}
	f->nsacked = j;
}

static void sack_add(struct ack_flow *f, u32 start, u32 end)
{
	struct ack_sack t[MAX_SACKED + 1];
	u32 n = 0, i, j;

	/* Only what we keep and the receiver has not acked is interesting. */
	if (seq_before(start, f->una))
		start = f->una;
	if (seq_after(end, f->nxt))
		end = f->nxt;
	if (!seq_after(end, start))
		return;
	for (i = 0; i < f->nsacked; i++)
		t[n++] = f->sacked[i];
	t[n++] = (struct ack_sack){ start, end };
	for (i = 1; i < n; i++)	/* insertion sort by offset from una */
		for (j = i; j > 0 && t[j].start - f->una < t[j - 1].start - f->una; j--) {
			struct ack_sack x = t[j];

			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	f->nsacked = 0;
	for (i = 0; i < n; i++) {
		struct ack_sack *last = f->nsacked ? &f->sacked[f->nsacked - 1] : NULL;

		if (last && !seq_after(t[i].start, last->end)) {
			last->end = seq_max(last->end, t[i].end);
		} else if (f->nsacked < MAX_SACKED) {
			f->sacked[f->nsacked++] = t[i];
		}
	}
}

/* IP fields for what the core sends in that segment's direction. */
static void get_ip(struct ack_ip *ip, const struct ack_seg *s)
{
	ip->ttl = s->ttl;
	ip->tos = s->tos;
	ip->flowlabel = s->flowlabel;
}

/* ---- state changes ---- */

void ack_fallback(struct ack_core *c, struct ack_flow *f, bool count)
{
	if (f->flags & F_FALLBACK)
		return;
	f->flags |= F_FALLBACK;
	f->edge = f->nxt;
	ack_drop_held(c, f);	/* never acknowledged: the guest still has them */
	ack_account(c, f);
	if (count)
		c->st.fallbacks++;
}

/* Forget a flow once it has nothing left for the core to do. */
bool ack_maybe_finish(struct ack_core *c, struct ack_flow *f)
{
	if (f->una != f->nxt)
		return false;
	if ((f->flags & F_FALLBACK) ||
	    ((f->flags & F_GFIN) && (f->flags & F_RWIN) &&
	     seq_after(f->r_ack, f->fin_seq))) {
		ack_free_flow(c, f);
		return true;
	}
	return false;
}

static void maybe_establish(struct ack_core *c, struct ack_flow *f)
{
	u32 mss;

	if ((f->flags & (F_GSYN | F_RSYN | F_EST)) != (F_GSYN | F_RSYN))
		return;
	f->flags |= F_EST;
	if (f->g_wsopt != WS_NONE && f->r_wsopt != WS_NONE)
		f->r_ws = f->r_wsopt > 14 ? 14 : f->r_wsopt;
	if (f->g_sack && f->r_sack)
		f->flags |= F_SACK;
	if (f->g_ts && f->r_ts)
		f->flags |= F_TS;
	/* what the receiver accepts, within what the guest's own link carries */
	mss = f->r_mss ? f->r_mss : DEFAULT_MSS;
	if (f->g_mss && f->g_mss < mss)
		mss = f->g_mss;
	if (mss < 64 + TS_OPT_LEN)
		mss = 64 + TS_OPT_LEN;	/* a silly MSS option must not stall us */
	if (f->flags & F_TS)
		mss -= TS_OPT_LEN;
	f->mss = mss;
	f->cwnd = c->cfg.init_cwnd * f->mss;
	f->ssthresh = ~0u;
	f->una = f->nxt = f->edge = f->adv_edge = f->g_isn + 1;
}

static bool port_ok(const struct ack_core *c, u16 dport)
{
	return !c->cfg.port || c->cfg.port == dport;
}

static void learn_guest_syn(struct ack_flow *f, const struct ack_seg *s, u64 now)
{
	f->g_isn = s->seq;
	f->g_hi = s->seq + 1;
	f->una = f->nxt = f->edge = f->adv_edge = s->seq + 1;
	f->g_mss = s->has_mss ? s->mss : 0;
	f->g_wsopt = s->has_wscale ? s->wscale : WS_NONE;
	f->g_sack = s->sack_ok;
	f->g_ts = s->has_ts;
	get_ip(&f->g_ip, s);
	f->flags |= F_GSYN | F_RTT;
	f->rtt_seq = s->seq + 1;
	f->rtt_time = now;
}

static void learn_remote_syn(struct ack_flow *f, const struct ack_seg *s)
{
	f->r_isn = s->seq;
	f->r_nxt = s->seq + 1;
	f->r_mss = s->has_mss ? s->mss : 0;
	f->r_wsopt = s->has_wscale ? s->wscale : WS_NONE;
	f->r_sack = s->sack_ok;
	f->r_ts = s->has_ts;
	get_ip(&f->r_ip, s);
	f->flags |= F_RSYN;
}

/* ---- segments ---- */

/* The receiver acknowledged or reported something about kept data. */
static void on_receiver_ack(struct ack_core *c, struct ack_flow *f,
			    const struct ack_seg *s, u64 now)
{
	bool pure = !s->len && !(s->flags & (ACK_TCP_SYN | ACK_TCP_FIN | ACK_TCP_RST));
	bool dup = false, newack = false;
	u32 ra = s->ack, i;

	/* (also the handshake's: rtt_seq == una until data flows) */
	if ((f->flags & F_RTT) && !seq_before(ra, f->rtt_seq) && now >= f->rtt_time) {
		ack_rtt_sample(c, f, now - f->rtt_time);
		f->flags &= ~F_RTT;
	}
	if (seq_after(ra, f->una)) {
		u32 top = seq_min(ra, f->nxt), acked = top - f->una;

		newack = true;
		ack_release(c, f, acked);
		f->una = top;
		f->retries = 0;
		f->backoff = 0;
		f->dupacks = 0;
		sack_prune(f);
		/* no growth in fast recovery; slow start again after an RTO */
		if (c->cfg.cc == ACK_CC_RENO && acked &&
		    (!(f->flags & F_RECOVERY) || (f->flags & F_LOSS))) {
			u32 inc = umin(acked, f->mss);

			if (f->cwnd >= f->ssthresh)	/* about 1 MSS per RTT */
				inc = inc * f->mss / f->cwnd ? inc * f->mss / f->cwnd : 1;
			f->cwnd += inc;
			if (f->cwnd > (1u << 30))
				f->cwnd = 1u << 30;
		}
		f->rto_at = f->una == f->nxt ? 0 : now + ack_rto_timeout(c, f);
		ack_account(c, f);
	} else if (ra == f->una && pure && f->una != f->nxt &&
		   (s->window == f->r_win_raw || ((f->flags & F_SACK) && s->nsack))) {
		/* RFC 5681 wants the window unchanged; a SACK block is proof enough */
		dup = true;
		f->dupacks++;
	}
	if (f->flags & F_SACK)
		for (i = 0; i < s->nsack && i < ACK_MAX_SACK; i++)
			sack_add(f, s->sack[i].start, s->sack[i].end);
	if (!(f->flags & F_RWIN) || !seq_before(ra, f->r_ack)) {
		f->r_ack = ra;
		f->r_wnd = (u32)s->window << f->r_ws;
		f->flags |= F_RWIN;
	}
	f->r_win_raw = s->window;
	/*
	 * A receiver that answers with a zero window is reachable, just not
	 * reading: persist like a TCP sender, without counting toward reset.
	 */
	if (!f->r_wnd && ra == f->una)
		f->retries = 0;

	if (f->flags & F_RECOVERY) {
		if (!seq_before(f->una, f->recover)) {
			if (c->cfg.cc == ACK_CC_RENO && !(f->flags & F_LOSS))
				f->cwnd = f->ssthresh;
			f->flags &= ~(F_RECOVERY | F_LOSS);
		} else if (newack || dup) {
			/* a partial ACK (force) or a dupack with SACK news */
			ack_rexmit(c, f, ack_burst(c, f), newack, (f->flags & F_LOSS) != 0);
		}
	} else if (dup && f->dupacks == c->cfg.dupthresh) {
		u32 flight = f->nxt - f->una;

		if (c->cfg.cc == ACK_CC_RENO) {
			f->ssthresh = flight / 2 > 2u * f->mss ? flight / 2 : 2u * f->mss;
			f->cwnd = f->ssthresh;
		}
		f->flags |= F_RECOVERY;
		f->recover = f->nxt;
		f->retx_hi = f->una;
		ack_rexmit(c, f, ack_burst(c, f), true, false);
		f->rto_at = now + ack_rto_timeout(c, f);
	}
}

static bool sack_confuses(const struct ack_flow *f, const struct ack_seg *s)
{
	u32 i;

	for (i = 0; i < s->nsack && i < ACK_MAX_SACK; i++)
		if (!seq_after(s->sack[i].start, f->nxt) ||
		    seq_before(s->sack[i].start, s->ack))
			return true;
	return false;
}

static enum ack_verdict to_guest(struct ack_core *c, struct ack_flow *f,
				 const struct ack_seg *s, u64 now,
				 struct ack_rewrite *rw)
{
	/* ECN echoes and urgent data are news for the guest: never consumed */
	bool pure = !s->len && !(s->flags & (ACK_TCP_SYN | ACK_TCP_FIN | ACK_TCP_RST |
					     ACK_TCP_URG | ACK_TCP_ECE));
	enum ack_verdict v = ACK_PASS;
	u32 ra = s->ack, end;
	bool freed;

	get_ip(&f->r_ip, s);
	if (s->has_ts && (!(f->flags & F_RTS) || !seq_before(s->tsval, f->r_tsval))) {
		f->r_tsval = s->tsval;
		f->flags |= F_RTS;
	}
	end = s->seq + s->len + ((s->flags & ACK_TCP_FIN) ? 1 : 0);
	if ((f->flags & F_RSYN) && seq_after(end, f->r_nxt))
		f->r_nxt = end;

	if (s->flags & ACK_TCP_SYN) {
		if ((s->flags & ACK_TCP_ACK) && (f->flags & F_GSYN) &&
		    !(f->flags & F_RSYN) && ra == f->g_isn + 1) {
			learn_remote_syn(f, s);
			maybe_establish(c, f);
			if ((f->flags & F_RTT) && now >= f->rtt_time) {
				ack_rtt_sample(c, f, now - f->rtt_time);
				f->flags &= ~F_RTT;
			}
			f->r_ack = ra;
			f->r_wnd = s->window;	/* never scaled in a SYN */
			f->r_win_raw = s->window;
			f->flags |= F_RWIN;
		}
		return ACK_PASS;
	}
	if (!(f->flags & F_EST) || !(s->flags & ACK_TCP_ACK))
		return ACK_PASS;
	/* Acking what the guest never sent: not ours to judge. */
	if (seq_after(ra, f->g_hi))
		return ACK_PASS;

	freed = seq_after(ra, f->una) && f->una != f->nxt;
	on_receiver_ack(c, f, s, now);

	if (f->flags & F_GIVEN) {
		if (pure && !seq_after(ra, f->nxt) &&
		    !(ra == f->nxt && seq_after(f->g_hi, f->nxt))) {
			/* The guest already has this ACK (or will get ours). */
			c->st.acks_consumed++;
			v = ACK_DROP;
		} else if (seq_before(ra, f->nxt)) {
			rw->ack = f->nxt;
			rw->window = ack_guest_view_window(f);
			rw->strip_sack = s->nsack > 0;
			c->st.acks_rewritten++;
			v = ACK_REWRITE;
		} else if (s->nsack && sack_confuses(f, s)) {
			rw->ack = ra;
			rw->window = s->window;
			rw->strip_sack = true;
			c->st.acks_rewritten++;
			v = ACK_REWRITE;
		}
	}

	if (ack_maybe_finish(c, f))
		return v;
	ack_maybe_window_update(c, f);
	if (freed && c->vif_tight) {
		struct ack_flow *o;

		c->vif_tight = false;
		for (o = c->flows; o; o = o->next)
			if (o != f)
				ack_maybe_window_update(c, o);
	}
	return v;
}

/* Can [nxt, end) be kept within the budgets? */
static bool fits(struct ack_core *c, struct ack_flow *f, u32 end)
{
	u32 top = seq_max(f->edge, f->nxt);

	if (end - f->una > c->cfg.flow_budget)
		return false;
	if (seq_after(end, top) && c->committed + (end - top) > c->cfg.vif_budget)
		return false;
	return true;
}

static enum ack_verdict from_guest(struct ack_core *c, struct ack_flow *f,
				   const struct ack_seg *s, u64 now)
{
	u32 end = s->seq + s->len, off;
	bool early;

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
				f->g_ts_recent = s->tsval;
			maybe_establish(c, f);
		} else if (f->flags & F_GSYN && s->seq == f->g_isn) {
			f->flags &= ~F_RTT;	/* retransmitted: Karn */
		}
		return ACK_PASS;
	}
	if (!(f->flags & F_EST))
		return ACK_PASS;

	/*
	 * The FIN and whatever the guest sends with it or after nxt from then
	 * on run end to end: not kept, not acknowledged locally.  Early
	 * segments held so far are not needed any more.
	 */
	if (s->flags & ACK_TCP_FIN) {
		ack_drop_held(c, f);
		if (!(f->flags & F_GFIN)) {
			f->fin_seq = end;
			f->flags |= F_GFIN;
		}
		f->g_hi = seq_max(f->g_hi, end + 1);
		ack_maybe_finish(c, f);
		return ACK_PASS;
	}

	if (!s->len) {
		/* (a pure ACK may overtake data sent before it, within the window) */
		if (seq_after(s->seq, seq_max(f->g_hi, f->edge))) {
			ack_fallback(c, f, true);
			ack_maybe_finish(c, f);
		} else if (seq_before(s->seq, f->nxt) && (f->flags & F_GIVEN) &&
			   !(f->flags & (F_FALLBACK | F_GFIN))) {
			/* a window probe: the receiver's answer will be consumed */
			ack_send_local_ack(c, f);
		}
		return ACK_PASS;
	}

	if (!seq_after(end, f->nxt)) {
		/* Data we acknowledged already: our ACK was lost. */
		if (f->flags & F_GIVEN)
			ack_send_local_ack(c, f);
		return ACK_PASS;
	}
	if ((f->flags & F_GFIN) && !seq_after(end, f->fin_seq))
		return ACK_PASS;	/* sent before the FIN: late, or resent */
	early = seq_after(s->seq, f->nxt);
	if ((f->flags & (F_FALLBACK | F_GFIN)) || !fits(c, f, end) ||
	    (early && ack_hold(c, f, s))) {
		ack_fallback(c, f, true);
		f->g_hi = seq_max(f->g_hi, end);
		ack_maybe_finish(c, f);
		return ACK_PASS;
	}
	if (early) {
		c->st.reordered++;
		f->g_hi = seq_max(f->g_hi, end);
		return ACK_PASS;
	}
	off = f->nxt - s->seq;
	if (ack_keep(c, f, s, off, s->len - off)) {
		ack_fallback(c, f, true);
		f->g_hi = seq_max(f->g_hi, end);
		ack_maybe_finish(c, f);
		return ACK_PASS;
	}
	f->nxt = end;
	f->g_hi = seq_max(f->g_hi, end);
	ack_merge_held(c, f);
	if (s->has_ts)
		f->g_ts_recent = s->tsval;
	if (!(f->flags & F_RTT) && !(f->flags & F_RECOVERY)) {
		f->rtt_seq = f->nxt;
		f->rtt_time = now;
		f->flags |= F_RTT;
	}
	if (!f->rto_at)
		f->rto_at = now + ack_rto_timeout(c, f);
	ack_account(c, f);
	ack_send_local_ack(c, f);
	return ACK_PASS;
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
			f->flags &= ~F_RTT;	/* retransmitted: Karn */
		if (same || f->una != f->nxt)
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
			f->g_ts_recent = s->tsval;
			f->g_tsval = s->tsval;
			f->g_tsecr = s->tsecr;
			f->flags |= F_GTS;
		}
	} else {
		learn_remote_syn(f, s);
		if (s->has_ts) {
			f->r_tsval = s->tsval;
			f->flags |= F_RTS;
		}
	}
	return f;
}

enum ack_verdict ack_core_segment(struct ack_core *c, const struct ack_seg *s,
				  u64 now, struct ack_rewrite *rw)
{
	struct ack_flow *f;
	struct ack_key k;

	/* A segment we could not keep is not ours to acknowledge: ignore it. */
	if (s->len > MAX_SEG_LEN ||
	    (s->len && !s->payload && !c->env.copy_payload))
		return ACK_PASS;
	ack_key_from_seg(&k, s);
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
		if (s->dir == ACK_TO_GUEST && f->una != f->nxt && s->seq != f->r_nxt)
			return ACK_PASS;
		ack_free_flow(c, f);
		return ACK_PASS;
	}
	if (s->dir == ACK_FROM_GUEST)
		return from_guest(c, f, s, now);
	return to_guest(c, f, s, now, rw);
}
