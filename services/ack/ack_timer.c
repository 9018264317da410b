// SPDX-License-Identifier: GPL-2.0
/*
 * ack_timer.c: RTT measurement and the retransmission timer (RFC 6298), and
 * the idle timers that forget quiet flows.
 */
#include "ack_int.h"

/* ---- RTT and RTO (RFC 6298) ---- */

void ack_rtt_sample(struct ack_core *c, struct ack_half *h, u64 r)
{
	u64 rto, var;

	if (!(h->flags & H_SRTT)) {
		h->srtt = r;
		h->rttvar = r / 2;
		h->flags |= H_SRTT;
	} else {
		u64 d = h->srtt > r ? h->srtt - r : r - h->srtt;

		h->rttvar = (3 * h->rttvar + d) / 4;
		h->srtt = (7 * h->srtt + r) / 8;
	}
	/*
	 * rto_min bounds the variance term, not the sum (RFC 6298's G, as
	 * Linux keeps rttvar_us >= tcp_rto_min_us): the core takes a sample
	 * per ACK, not per round trip, and while the RTT only drifts (a queue
	 * filling behind a sender without cc) rttvar decays to next to nothing
	 * and the RTO to srtt.  A retransmission sent behind that queue then
	 * waits longer for its ACK than the timer, which sends it and all the
	 * rest again (tests/test_sim.c, netem_loss_1pct: 44 retransmissions
	 * queued 288 ms, acked after 338 ms, against an RTO of 274 ms).
	 */
	var = 4 * h->rttvar;
	if (var < c->cfg.rto_min_ns)
		var = c->cfg.rto_min_ns;
	rto = h->srtt + var;
	if (rto > c->cfg.rto_max_ns)
		rto = c->cfg.rto_max_ns;
	h->rto = rto;
	ack_cc_rtt(c, h, r);
}

/*
 * The timer's value: rto doubled per RTO since the receiver last acknowledged
 * new data.  RFC 6298 keeps a backed-off RTO until the next RTT sample, but
 * Karn's rule allows none while retransmissions are outstanding, and under
 * steady loss there is always one: the timer would creep up to rto_max and
 * a transfer take minutes per lost retransmission.  A cumulative ACK for new
 * data shows that the path delivers, so the backoff ends there (as in Linux,
 * which gets an RTT sample from every such ACK through timestamps).
 */
u64 ack_rto_timeout(const struct ack_core *c, const struct ack_half *h)
{
	u64 t = h->rto;
	u32 i;

	for (i = 0; i < h->backoff && t < c->cfg.rto_max_ns; i++)
		t *= 2;
	return t < c->cfg.rto_max_ns ? t : c->cfg.rto_max_ns;
}

/* Returns true if the flow was reset (and freed). */
static bool rto_fire(struct ack_core *c, struct ack_flow *f,
		     struct ack_half *h, u64 now)
{
	if (++h->retries > c->cfg.retry_limit) {
		ack_reset_both(c, f);
		return true;
	}
	if (ack_rack_on(c, f, h)) {
		ack_rack_rto(c, f, h);
	} else {
		ack_cc_reduce(c, h, true);
		h->flags |= H_RECOVERY | H_LOSS;
		h->recover = h->nxt;
		h->retx_hi = h->una;
		h->dupacks = 0;
		ack_rexmit(c, f, h, 1, true, true);
	}
	if (h->backoff < 64)
		h->backoff++;
	h->rto_at = now + ack_rto_timeout(c, h);
	return false;
}

/* ---- timers ---- */

static u64 idle_limit(const struct ack_core *c, const struct ack_flow *f)
{
	return f->flags & F_EST ? c->cfg.idle_ns : c->cfg.handshake_ns;
}

static u64 earlier(u64 t, u64 u)
{
	return u && (!t || u < t) ? u : t;
}

/* The earliest recovery timer of the flow's halves or owed ACK; 0 if none. */
static u64 rto_at(const struct ack_flow *f)
{
	u64 t = f->tx.rto_at;

	t = earlier(t, f->rx.rto_at);
	t = earlier(t, f->rx.ack_due);
	t = earlier(t, ack_rack_deadline(&f->tx));
	return earlier(t, ack_rack_deadline(&f->rx));
}

/* RACK's reordering timer and the tail loss probe. */
static void rack_timers(struct ack_core *c, struct ack_flow *f, u64 now)
{
	u64 t;

	t = ack_rack_deadline(&f->tx);
	if (t && now >= t)
		ack_rack_timer(c, f, &f->tx);
	t = ack_rack_deadline(&f->rx);
	if (t && now >= t)
		ack_rack_timer(c, f, &f->rx);
}

/* When the timer must next look at @f: a recovery timer, or its idle end. */
u64 ack_flow_deadline(const struct ack_core *c, const struct ack_flow *f)
{
	u64 t = rto_at(f);

	return t ? t : f->last_active + idle_limit(c, f);
}

/*
 * A linear walk: the tests' reference for the hint and the wheel (since the
 * wheel, reconfiguration and drain refile instead); nothing calls it per packet.
 */
u64 ack_core_next_deadline(const struct ack_core *c)
{
	u64 d = ACK_NO_DEADLINE, t;
	const struct ack_flow *f;

	for (f = c->flows; f; f = f->next) {
		t = ack_flow_deadline(c, f);
		if (t < d)
			d = t;
	}
	return d;
}

/*
 * The glue arms its timer after every packet.  Walking 9,000 flows for that
 * took 300 us a packet (services/ack/tests/bench_flows.c), so each segment
 * only refiles its own flow and lowers the hint to that flow's deadline (a
 * segment sets timers on its own flow only); a timer call sets it from the
 * wheel again.
 */
u64 ack_core_deadline_hint(const struct ack_core *c)
{
	return c->soonest;
}

void ack_timer_unfile(struct ack_flow *f)
{
	if (!f->tpprev)
		return;
	*f->tpprev = f->tnext;
	if (f->tnext)
		f->tnext->tpprev = f->tpprev;
	f->tnext = NULL;
	f->tpprev = NULL;
}

/*
 * (Re)file @f for its deadline.  A deadline in a tick the timer has run
 * already goes to the first one it has not: the next timer looks at it.
 */
void ack_timer_file(struct ack_core *c, struct ack_flow *f)
{
	u64 t = ack_flow_deadline(c, f), tick = t >> WHEEL_SHIFT;
	struct ack_flow **head;

	ack_timer_unfile(f);
	if (tick < c->wheel_tick) {
		tick = c->wheel_tick;
		if (t < c->late)
			c->late = t;
	}
	head = &c->wheel[tick & (WHEEL_SLOTS - 1)];
	f->tdue = t;
	f->tnext = *head;
	if (f->tnext)
		f->tnext->tpprev = &f->tnext;
	*head = f;
	f->tpprev = head;
	if (t < c->soonest)
		c->soonest = t;
}

/* After a change to every flow (reconfiguration, drain). */
void ack_timer_refile_all(struct ack_core *c)
{
	struct ack_flow *f;

	c->soonest = ACK_NO_DEADLINE;
	for (f = c->flows; f; f = f->next)
		ack_timer_file(c, f);
}

/*
 * At or before every filed deadline: the start of the first slot that holds
 * a flow, from the first tick not yet run (a flow filed a turn ahead makes it
 * early, never late), or a deadline filed late into that first slot.
 */
static u64 wheel_hint(const struct ack_core *c)
{
	u64 tick;

	for (tick = c->wheel_tick; tick < c->wheel_tick + WHEEL_SLOTS; tick++)
		if (c->wheel[tick & (WHEEL_SLOTS - 1)])
			return tick == c->wheel_tick && c->late < (tick << WHEEL_SHIFT) ?
			       c->late : tick << WHEEL_SHIFT;
	return ACK_NO_DEADLINE;
}

/* Run @f's timers that are due.  Returns true if the flow was freed. */
static bool run_flow(struct ack_core *c, struct ack_flow *f, u64 now)
{
	if (rto_at(f)) {
		if (f->rx.ack_due && now >= f->rx.ack_due)
			ack_send_local_ack(c, f, &f->rx);
		if (f->tx.rto_at && now >= f->tx.rto_at && rto_fire(c, f, &f->tx, now))
			return true;
		if (f->rx.rto_at && now >= f->rx.rto_at && rto_fire(c, f, &f->rx, now))
			return true;
		rack_timers(c, f, now);
	} else if (now >= f->last_active + idle_limit(c, f)) {
		ack_free_flow(c, f);
		return true;
	}
	return false;
}

/*
 * Runs the slots of the ticks up to @now's, at least the first one not run
 * yet (a deadline filed late waits there), each flow in them at most once:
 * what is still due after its turn, or falls due later in the current tick,
 * is filed for the next call.
 */
void ack_core_timer(struct ack_core *c, u64 now)
{
	u64 end = now >> WHEEL_SHIFT, tick = c->wheel_tick, last;
	struct ack_flow *list, *f;

	c->now = now;
	last = end > tick ? end : tick;
	if (last - tick >= WHEEL_SLOTS)
		tick = last - WHEEL_SLOTS + 1;
	if (end + 1 > c->wheel_tick) {
		c->wheel_tick = end + 1;
		c->late = ACK_NO_DEADLINE;
	}
	for (; tick <= last; tick++) {
		/* taken off the wheel as a list of its own, so refiling cannot loop */
		list = c->wheel[tick & (WHEEL_SLOTS - 1)];
		c->wheel[tick & (WHEEL_SLOTS - 1)] = NULL;
		if (list)
			list->tpprev = &list;
		while ((f = list)) {
			ack_timer_unfile(f);
			if (!run_flow(c, f, now))
				ack_timer_file(c, f);
		}
	}
	ack_offer_room(c);	/* flows forgotten leave room */
	c->soonest = wheel_hint(c);
}

#ifndef __KERNEL__
bool ack_core_timers_consistent(const struct ack_core *c)
{
	const struct ack_flow *f;
	u64 n = 0, tick;
	u32 i;

	for (i = 0; i < WHEEL_SLOTS; i++)
		for (f = c->wheel[i]; f; f = f->tnext) {
			tick = f->tdue >> WHEEL_SHIFT;
			if (tick < c->wheel_tick)
				tick = c->wheel_tick;
			if ((tick & (WHEEL_SLOTS - 1)) != i || f->tdue > ack_flow_deadline(c, f))
				return false;
			/* kept data the remote was not told of has an ACK owed */
			if (!(f->rx.flags & H_FALLBACK) && !f->rx.ack_due &&
			    seq_before(f->rx.told, f->rx.nxt))
				return false;
			n++;
		}
	return n == c->st.flows;
}
#endif
