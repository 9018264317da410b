// SPDX-License-Identifier: GPL-2.0
/*
 * ack_output.c: what the core emits through the glue: local ACKs to the
 * guest, retransmissions toward the WAN from the kept copy, resets; and the
 * window it may advertise to the guest within the budgets.
 */
#include "ack_int.h"

/* ---- windows ---- */

/* The right edge the guest may be given now (>= nxt). */
static u32 window_limit(struct ack_core *c, struct ack_flow *f)
{
	u32 base = seq_max(f->edge, f->nxt);
	u32 lim = f->una + c->cfg.flow_budget, v;
	u64 vfree = 0;

	if (c->committed < c->cfg.vif_budget)
		vfree = c->cfg.vif_budget - c->committed;
	if (vfree > (1u << 30))
		vfree = 1u << 30;
	v = base + (u32)vfree;
	if (seq_before(v, lim)) {
		lim = v;
		if (v - f->nxt < 2u * f->mss)
			c->vif_tight = true;
	}
	if (f->flags & F_RWIN)
		lim = seq_min(lim, f->r_ack + f->r_wnd);
	if (c->cfg.cc == ACK_CC_RENO)
		lim = seq_min(lim, f->una + f->cwnd);
	return seq_max(lim, f->nxt);
}

/* The raw window for a segment acking nxt, without promising anything new. */
u16 ack_guest_view_window(struct ack_flow *f)
{
	u32 edge = f->adv_edge, w;

	if ((f->flags & F_FALLBACK) && (f->flags & F_RWIN))
		edge = f->r_ack + f->r_wnd;
	w = seq_after(edge, f->nxt) ? edge - f->nxt : 0;
	w >>= f->r_ws;
	return w > 0xffff ? 0xffff : w;
}

/* ---- output ---- */

static void set_ip(u8 *ttl, u8 *tos, u32 *flowlabel, const struct ack_ip *ip)
{
	*ttl = ip->ttl;
	*tos = ip->tos;
	*flowlabel = ip->flowlabel;
}

void ack_send_local_ack(struct ack_core *c, struct ack_flow *f)
{
	struct ack_action a;
	u32 raw;

	if (f->flags & F_FALLBACK) {
		raw = ack_guest_view_window(f);
	} else {
		raw = (window_limit(c, f) - f->nxt) >> f->r_ws;
		if (raw > 0xffff)
			raw = 0xffff;
		f->adv_edge = f->nxt + (raw << f->r_ws);
		if (seq_after(f->adv_edge, f->edge))
			f->edge = f->adv_edge;
		ack_account(c, f);
	}
	memset(&a, 0, sizeof(a));
	a.type = ACK_ACT_ACK_TO_GUEST;
	a.flags = ACK_TCP_ACK;
	set_ip(&a.ttl, &a.tos, &a.flowlabel, &f->r_ip);
	a.key = &f->key;
	a.flow = f;
	a.seq = f->r_nxt;
	a.ack = f->nxt;
	a.window = raw;
	if (f->flags & F_TS) {
		a.has_ts = true;
		a.tsval = f->r_tsval;
		a.tsecr = f->g_ts_recent;
	}
	f->flags |= F_GIVEN;
	c->st.local_acks++;
	c->env.emit(c->env.ctx, &a);
}

static void xmit(struct ack_core *c, struct ack_flow *f, u32 seq, u32 len,
		 bool rto)
{
	struct ack_action a;

	memset(&a, 0, sizeof(a));
	a.type = ACK_ACT_XMIT_TO_WAN;
	a.flags = ACK_TCP_ACK | (seq + len == f->nxt ? ACK_TCP_PSH : 0);
	set_ip(&a.ttl, &a.tos, &a.flowlabel, &f->g_ip);
	a.key = &f->key;
	a.flow = f;
	a.seq = seq;
	a.len = len;
	a.ack = f->g_ack;
	a.window = f->g_win_raw;
	if (f->flags & F_TS) {
		a.has_ts = true;
		a.tsval = f->g_tsval;
		a.tsecr = f->g_tsecr;
	}
	if (rto)
		c->st.rexmit_rto++;
	else
		c->st.rexmit_fast++;
	/* Karn: no RTT sample from anything retransmitted. */
	f->flags &= ~F_RTT;
	c->env.emit(c->env.ctx, &a);
}

/*
 * Retransmit at most @max segments of what is presumed lost, from
 * max(una, retx_hi): holes below the highest SACKed byte, everything up to
 * recover after an RTO, and with @force one segment at una even without SACK
 * evidence (fast retransmit, NewReno partial ACK, RTO).
 */
void ack_rexmit(struct ack_core *c, struct ack_flow *f, u32 max, bool force,
		bool rto)
{
	u32 seq = seq_max(f->una, f->retx_hi), lost_end, end, i, n = 0;

	lost_end = f->nsacked ? f->sacked[f->nsacked - 1].end : f->una;
	if (f->flags & F_LOSS)
		lost_end = seq_max(lost_end, f->recover);
	while (n < max) {
		end = f->nxt;
		for (i = 0; i < f->nsacked; i++) {
			if (!seq_before(seq, f->sacked[i].start) &&
			    seq_before(seq, f->sacked[i].end))
				seq = f->sacked[i].end;
			if (seq_before(seq, f->sacked[i].start)) {
				end = f->sacked[i].start;
				break;
			}
		}
		if (!seq_before(seq, f->nxt))
			break;
		if (!seq_before(seq, lost_end)) {
			if (!(force && n == 0 && seq == f->una))
				break;
		} else {
			end = seq_min(end, lost_end);
		}
		end = seq_min(end, seq + f->mss);
		xmit(c, f, seq, end - seq, rto);
		n++;
		seq = end;
		f->retx_hi = seq;
	}
}

/* Segments one event may retransmit: cc=reno keeps them within cwnd. */
u32 ack_burst(const struct ack_core *c, const struct ack_flow *f)
{
	u32 n = c->cfg.rexmit_burst;

	if (c->cfg.cc == ACK_CC_RENO && f->cwnd / f->mss < n)
		n = f->cwnd / f->mss ? f->cwnd / f->mss : 1;
	return n;
}

void ack_reset_both(struct ack_core *c, struct ack_flow *f)
{
	struct ack_action a;

	memset(&a, 0, sizeof(a));
	a.type = ACK_ACT_RESET_BOTH;
	a.flags = ACK_TCP_RST | ACK_TCP_ACK;
	set_ip(&a.ttl, &a.tos, &a.flowlabel, &f->r_ip);
	set_ip(&a.wan_ttl, &a.wan_tos, &a.wan_flowlabel, &f->g_ip);
	a.key = &f->key;
	a.flow = f;
	a.seq = f->r_nxt;
	a.ack = f->nxt;
	a.wan_seq = seq_max(f->r_ack, f->una);
	a.wan_ack = f->g_ack;
	c->st.resets++;
	c->env.emit(c->env.ctx, &a);
	ack_free_flow(c, f);
}

/* Give a blocked guest more window once the limits allow a segment more. */
void ack_maybe_window_update(struct ack_core *c, struct ack_flow *f)
{
	u32 lim;

	if ((f->flags & (F_EST | F_GIVEN | F_FALLBACK | F_GFIN)) != (F_EST | F_GIVEN))
		return;
	if (seq_after(f->adv_edge, f->nxt) && f->adv_edge - f->nxt >= f->mss)
		return;
	lim = window_limit(c, f);
	if (seq_after(lim, f->adv_edge) && lim - f->adv_edge >= f->mss)
		ack_send_local_ack(c, f);
}
