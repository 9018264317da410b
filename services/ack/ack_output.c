// SPDX-License-Identifier: GPL-2.0
/*
 * ack_output.c: what the core emits through the glue: local ACKs to a
 * sender, retransmissions toward its receiver from the kept copy, resets;
 * and the window it may advertise to a sender within the budgets.
 *
 * tx (the guest sends): local ACKs go to the guest as if from the remote,
 * retransmissions to the WAN as if from the guest.  rx (the remote sends):
 * local ACKs go to the WAN as if from the guest, retransmissions to the
 * guest as if from the remote.  Whatever the core sends as one side carries
 * that side's latest header values, with the ack and window the other side
 * was given by the core.
 */
#include "ack_int.h"

/* ---- windows ---- */

/*
 * What the vif budget lets @h promise beyond what it has committed: the
 * unused part of its floor, and of the rest of the budget what the other
 * halves' excess leaves; never more than is free at all.  The floors are
 * set aside for as many flows as may be tracked, not as are: a flow that
 * comes last finds its floor as free as the first one did (ack_flow.c).
 */
static u64 vif_room(const struct ack_core *c, const struct ack_half *h)
{
	u64 b = c->cfg.vif_budget;
	u64 free = c->committed < b ? b - c->committed : 0;
	u64 shared = c->reserve + c->excess < b ? b - c->reserve - c->excess : 0;
	u64 own = h->committed < c->floor ? c->floor - h->committed : 0;

	return own + shared < free ? own + shared : free;
}

/* The right edge the sender may be given now (>= nxt). */
u32 ack_window_limit(struct ack_core *c, struct ack_half *h)
{
	u32 base = seq_max(h->edge, h->nxt);
	u32 lim = h->una + c->cfg.flow_budget, v;
	u64 vfree = vif_room(c, h);
	bool vif;

	if (vfree > (1u << 30))
		vfree = 1u << 30;
	v = base + (u32)vfree;
	vif = seq_before(v, lim);
	if (vif)
		lim = v;
	if (h->flags & H_RWIN)
		lim = seq_min(lim, h->r_ack + h->r_wnd);
	if (ack_cc_on(c))
		lim = seq_min(lim, h->una + h->cwnd);
	/*
	 * Held to less than two segments by the vif budget and nothing else:
	 * nothing of this flow's own may reopen it, so it waits for memory
	 * to be freed.  (A receiver's window or cwnd reopens with the flow's
	 * own ACKs.)
	 */
	if (vif && lim == v && v - h->nxt < 2u * h->mss)
		ack_wait_for_room(c, half_flow(h));
	return seq_max(lim, h->nxt);
}

void ack_wait_for_room(struct ack_core *c, struct ack_flow *f)
{
	if (f->wpprev)
		return;
	f->wnext = NULL;
	f->wpprev = c->waiting_tail;
	*c->waiting_tail = f;
	c->waiting_tail = &f->wnext;
	c->nwaiting++;
}

void ack_stop_waiting(struct ack_core *c, struct ack_flow *f)
{
	if (!f->wpprev)
		return;
	*f->wpprev = f->wnext;
	if (f->wnext)
		f->wnext->wpprev = f->wpprev;
	else
		c->waiting_tail = f->wpprev;
	f->wnext = NULL;
	f->wpprev = NULL;
	c->nwaiting--;
}

/* The smaller segment size of @f's halves: the least room worth offering it. */
static u32 least_mss(const struct ack_flow *f)
{
	u32 a = f->tx.mss, b = f->rx.mss;

	if (!a || (b && b < a))
		a = b;
	return a ? a : 1;
}

/*
 * Would the vif budget give a half of @o a segment more?  One that acks
 * nothing locally any more leaves the queue whatever the answer.
 */
static bool may_open(const struct ack_core *c, const struct ack_flow *o)
{
	u32 need = least_mss(o);
	bool tx = !(o->tx.flags & H_FALLBACK), rx = !(o->rx.flags & H_FALLBACK);

	return (!tx && !rx) || (tx && vif_room(c, &o->tx) >= need) ||
	       (rx && vif_room(c, &o->rx) >= need);
}

/*
 * Memory was freed, or a flow forgotten: the flows the vif budget held back
 * get their windows again, oldest first, while the room the next one would
 * get holds a segment more.  A flow that has room already or is no longer
 * held back by the budget leaves the queue; one still held back joins it
 * again at the end, and is not looked at twice in one call.  The cost is the
 * flows offered room, not the flows tracked.
 */
void ack_offer_room(struct ack_core *c)
{
	u32 n = c->nwaiting;
	struct ack_flow *o;

	while (n-- && (o = c->waiting)) {
		if (!may_open(c, o))
			break;
		ack_stop_waiting(c, o);
		ack_maybe_window_update(c, o, &o->tx);
		ack_maybe_window_update(c, o, &o->rx);
	}
}

/* The raw window for a segment acking nxt, without promising anything new. */
u16 ack_sender_view_window(const struct ack_half *h)
{
	u32 edge = h->adv_edge, w;

	if ((h->flags & H_FALLBACK) && (h->flags & H_RWIN))
		edge = h->r_ack + h->r_wnd;
	w = seq_after(edge, h->nxt) ? edge - h->nxt : 0;
	w >>= h->ws;
	return w > 0xffff ? 0xffff : w;
}

/*
 * The ack and raw window a packet the core sends as the receiver of @h
 * carries: what the sender was acknowledged (locally or not), given the
 * receiver's latest values @ack and @win.
 */
static void receiver_view(const struct ack_half *h, u32 ack, u16 win,
			  u32 *a, u16 *w)
{
	*a = ack;
	*w = win;
	if ((h->flags & H_GIVEN) && seq_before(ack, h->nxt)) {
		*a = h->nxt;
		*w = ack_sender_view_window(h);
	}
}

/* ---- output ---- */

static void set_ip(u8 *ttl, u8 *tos, u32 *flowlabel, const struct ack_ip *ip)
{
	*ttl = ip->ttl;
	*tos = ip->tos;
	*flowlabel = ip->flowlabel;
}

void ack_send_local_ack(struct ack_core *c, struct ack_flow *f,
			struct ack_half *h)
{
	struct ack_action a;
	u32 raw;

	h->ack_due = 0;
	h->told = h->nxt;
	if (h->flags & H_FALLBACK) {
		raw = ack_sender_view_window(h);
	} else {
		raw = (ack_window_limit(c, h) - h->nxt) >> h->ws;
		if (raw > 0xffff)
			raw = 0xffff;
		h->adv_edge = h->nxt + (raw << h->ws);
		if (seq_after(h->adv_edge, h->edge))
			h->edge = h->adv_edge;
		ack_account(c, h);
	}
	memset(&a, 0, sizeof(a));
	a.flags = ACK_TCP_ACK;
	a.key = &f->key;
	a.flow = f;
	a.ack = h->nxt;
	a.window = raw;
	if (is_tx(h)) {
		a.type = ACK_ACT_ACK_TO_GUEST;
		set_ip(&a.ttl, &a.tos, &a.flowlabel, &f->r_ip);
		a.seq = f->rx.hi;
	} else {
		a.type = ACK_ACT_ACK_TO_WAN;
		set_ip(&a.ttl, &a.tos, &a.flowlabel, &f->g_ip);
		a.seq = f->tx.hi;
	}
	if (f->flags & F_TS) {
		a.has_ts = true;
		a.tsval = is_tx(h) ? f->r_tsval : f->g_tsval;
		a.tsecr = h->ts_recent;
	}
	h->flags |= H_GIVEN;
	hstats(c, h)->local_acks++;
	c->env.emit(c->env.ctx, &a);
}

static void xmit(struct ack_core *c, struct ack_flow *f, struct ack_half *h,
		 u32 seq, u32 len, bool rto)
{
	struct ack_action a;

	memset(&a, 0, sizeof(a));
	a.flags = ACK_TCP_ACK | (seq + len == h->nxt ? ACK_TCP_PSH : 0);
	a.key = &f->key;
	a.flow = f;
	a.seq = seq;
	a.len = len;
	if (is_tx(h)) {
		a.type = ACK_ACT_XMIT_TO_WAN;
		set_ip(&a.ttl, &a.tos, &a.flowlabel, &f->g_ip);
		receiver_view(&f->rx, f->g_ack, f->g_win_raw, &a.ack, &a.window);
		a.tsval = f->g_tsval;
		a.tsecr = f->g_tsecr;
	} else {
		a.type = ACK_ACT_XMIT_TO_GUEST;
		set_ip(&a.ttl, &a.tos, &a.flowlabel, &f->r_ip);
		receiver_view(&f->tx, f->r_ack, f->r_win_raw, &a.ack, &a.window);
		a.tsval = f->r_tsval;
		a.tsecr = f->r_tsecr;
	}
	a.has_ts = (f->flags & F_TS) != 0;
	if (!a.has_ts)
		a.tsval = a.tsecr = 0;
	if (rto)
		hstats(c, h)->rexmit_rto++;
	else
		hstats(c, h)->rexmit_fast++;
	/* Karn: no RTT sample from anything retransmitted. */
	h->flags &= ~H_RTT;
	ack_rack_sent(c, h, seq, len);
	c->env.emit(c->env.ctx, &a);
}

void ack_xmit(struct ack_core *c, struct ack_flow *f, struct ack_half *h,
	      u32 seq, u32 len, bool rto)
{
	xmit(c, f, h, seq, len, rto);
}

/*
 * Retransmit at most @max segments of what is presumed lost, from
 * max(una, retx_hi): holes below the highest SACKed byte, everything up to
 * recover after an RTO, and with @force one segment at una even without SACK
 * evidence (fast retransmit, NewReno partial ACK, RTO).
 */
void ack_rexmit(struct ack_core *c, struct ack_flow *f, struct ack_half *h,
		u32 max, bool force, bool rto)
{
	u32 seq = seq_max(h->una, h->retx_hi), lost_end, end, i, n = 0;

	lost_end = h->nsacked ? h->sacked[h->nsacked - 1].end : h->una;
	if (h->flags & H_LOSS)
		lost_end = seq_max(lost_end, h->recover);
	while (n < max) {
		end = h->nxt;
		for (i = 0; i < h->nsacked; i++) {
			if (!seq_before(seq, h->sacked[i].start) &&
			    seq_before(seq, h->sacked[i].end))
				seq = h->sacked[i].end;
			if (seq_before(seq, h->sacked[i].start)) {
				end = h->sacked[i].start;
				break;
			}
		}
		if (!seq_before(seq, h->nxt))
			break;
		if (!seq_before(seq, lost_end)) {
			if (!(force && n == 0 && seq == h->una))
				break;
		} else {
			end = seq_min(end, lost_end);
		}
		end = seq_min(end, seq + h->mss);
		xmit(c, f, h, seq, end - seq, rto);
		n++;
		seq = end;
		h->retx_hi = seq;
	}
}

/* Segments one event may retransmit: reno and cubic keep them within cwnd. */
u32 ack_burst(const struct ack_core *c, const struct ack_half *h)
{
	u32 n = c->cfg.rexmit_burst;

	if (ack_cc_on(c) && h->cwnd / h->mss < n)
		n = h->cwnd / h->mss ? h->cwnd / h->mss : 1;
	return n;
}

/*
 * Give up on the flow: each side gets a RST at the sequence number it
 * expects next (what it acknowledged last, or the other side's highest), with
 * the ack the core made it believe in.
 */
void ack_reset_both(struct ack_core *c, struct ack_flow *f)
{
	struct ack_action a;
	u16 w;

	memset(&a, 0, sizeof(a));
	a.type = ACK_ACT_RESET_BOTH;
	a.flags = ACK_TCP_RST | ACK_TCP_ACK;
	set_ip(&a.ttl, &a.tos, &a.flowlabel, &f->r_ip);
	set_ip(&a.wan_ttl, &a.wan_tos, &a.wan_flowlabel, &f->g_ip);
	a.key = &f->key;
	a.flow = f;
	a.seq = f->rx.flags & H_GIVEN ? seq_max(f->rx.r_ack, f->rx.una) : f->rx.hi;
	a.ack = f->tx.flags & H_GIVEN ? f->tx.nxt : f->r_ack;
	a.wan_seq = seq_max(f->tx.r_ack, f->tx.una);
	receiver_view(&f->rx, f->g_ack, 0, &a.wan_ack, &w);
	c->st.resets++;
	c->env.emit(c->env.ctx, &a);
	ack_free_flow(c, f);
}

/* Give a blocked sender more window once the limits allow a segment more. */
void ack_maybe_window_update(struct ack_core *c, struct ack_flow *f,
			     struct ack_half *h)
{
	u32 lim;

	if (!(f->flags & F_EST) ||
	    (h->flags & (H_GIVEN | H_FALLBACK | H_FIN)) != H_GIVEN)
		return;
	if (seq_after(h->adv_edge, h->nxt) && h->adv_edge - h->nxt >= h->mss)
		return;
	lim = ack_window_limit(c, h);
	if (seq_after(lim, h->adv_edge) && lim - h->adv_edge >= h->mss)
		ack_send_local_ack(c, f, h);
}
