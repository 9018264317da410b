// SPDX-License-Identifier: GPL-2.0
/*
 * ack_timer.c: RTT measurement and the retransmission timer (RFC 6298), and
 * the idle timers that forget quiet flows.
 */
#include "ack_int.h"

/* ---- RTT and RTO (RFC 6298) ---- */

void ack_rtt_sample(struct ack_core *c, struct ack_flow *f, u64 r)
{
	u64 rto;

	if (!(f->flags & F_SRTT)) {
		f->srtt = r;
		f->rttvar = r / 2;
		f->flags |= F_SRTT;
	} else {
		u64 d = f->srtt > r ? f->srtt - r : r - f->srtt;

		f->rttvar = (3 * f->rttvar + d) / 4;
		f->srtt = (7 * f->srtt + r) / 8;
	}
	rto = f->srtt + 4 * f->rttvar;
	if (rto < c->cfg.rto_min_ns)
		rto = c->cfg.rto_min_ns;
	if (rto > c->cfg.rto_max_ns)
		rto = c->cfg.rto_max_ns;
	f->rto = rto;
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
u64 ack_rto_timeout(const struct ack_core *c, const struct ack_flow *f)
{
	u64 t = f->rto;
	u32 i;

	for (i = 0; i < f->backoff && t < c->cfg.rto_max_ns; i++)
		t *= 2;
	return t < c->cfg.rto_max_ns ? t : c->cfg.rto_max_ns;
}

static void rto_fire(struct ack_core *c, struct ack_flow *f, u64 now)
{
	u32 flight = f->nxt - f->una;

	if (++f->retries > c->cfg.retry_limit) {
		ack_reset_both(c, f);
		return;
	}
	if (c->cfg.cc == ACK_CC_RENO) {
		f->ssthresh = flight / 2 > 2u * f->mss ? flight / 2 : 2u * f->mss;
		f->cwnd = f->mss;
	}
	f->flags |= F_RECOVERY | F_LOSS;
	f->recover = f->nxt;
	f->retx_hi = f->una;
	f->dupacks = 0;
	ack_rexmit(c, f, 1, true, true);
	if (f->backoff < 64)
		f->backoff++;
	f->rto_at = now + ack_rto_timeout(c, f);
}

/* ---- timers ---- */

static u64 idle_limit(const struct ack_core *c, const struct ack_flow *f)
{
	return f->flags & F_EST ? c->cfg.idle_ns : c->cfg.handshake_ns;
}

/* A linear walk: the flow table is bounded by flow_limit. */
u64 ack_core_next_deadline(const struct ack_core *c)
{
	u64 d = ACK_NO_DEADLINE, t;
	const struct ack_flow *f;

	for (f = c->flows; f; f = f->next) {
		t = f->rto_at ? f->rto_at : f->last_active + idle_limit(c, f);
		if (t < d)
			d = t;
	}
	return d;
}

void ack_core_timer(struct ack_core *c, u64 now)
{
	struct ack_flow *f, *n;

	for (f = c->flows; f; f = n) {
		n = f->next;
		if (f->rto_at) {
			if (now >= f->rto_at)
				rto_fire(c, f, now);
		} else if (now >= f->last_active + idle_limit(c, f)) {
			ack_free_flow(c, f);
		}
	}
}
