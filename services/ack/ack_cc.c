// SPDX-License-Identifier: GPL-2.0
/*
 * ack_cc.c: congestion control toward the receiver, for either half of a
 * flow (as Linux keeps tcp_cong.c and tcp_cubic.c apart from tcp_input.c).
 * The core never sends new data itself: cwnd bounds the window it offers
 * the sender (ack_window_limit()), and recovery's retransmissions.
 *
 *  - none: the receiver's window and the budgets only.
 *  - reno (RFC 5681): slow start, one segment per RTT, halve on loss.
 *  - cubic (RFC 9438): after a loss the window grows along
 *    W(t) = C (t - K)^3 + W_max, concave up to the window of the loss and
 *    convex beyond; a reduction keeps beta = 0.7 of the window; never below
 *    what Reno would reach (W_est).  Slow start ends on a delay increase
 *    (HyStart, ack_cc.h) rather than on the first loss.
 *
 * What goes into a reduction is what was in flight (nxt - una), for W_max
 * too: a guest limited by its own pace or by the receiver's window may keep
 * well below cwnd, and a plateau it never used would only make the curve
 * probe from too high.
 */
#include "ack_int.h"

#define CWND_MAX		(1u << 30)
#define MS_NS			1000000ull

/* RFC 9438: beta_cubic = 0.7, C = 0.4 segments / s^3 */
#define CUBIC_BETA_NUM		7
#define CUBIC_BETA_DEN		10
#define CUBIC_D_MAX_MS		60000ull	/* |t - K| beyond: the cap rules anyway */

/* Linux's HyStart delay detector (tcp_cubic.c) */
#define HYSTART_LOW_WINDOW	16		/* segments: no exit below */
#define HYSTART_SAMPLES		8
#define HYSTART_DELAY_MIN_NS	(4 * MS_NS)
#define HYSTART_DELAY_MAX_NS	(16 * MS_NS)

bool ack_cc_on(const struct ack_core *c)
{
	return c->cfg.cc != ACK_CC_NONE;
}

void ack_cc_init(struct ack_core *c, struct ack_half *h)
{
	memset(&h->cc, 0, sizeof(h->cc));
	h->cwnd = c->cfg.init_cwnd * h->mss;
	h->ssthresh = ~0u;
	h->cc.hy.round_end = h->una;
}

/* The integer cube root, bit by bit (as Linux's cubic_root() does by table). */
static u32 icbrt(u64 x)
{
	u64 y = 0, b;
	int s;

	for (s = 63; s >= 0; s -= 3) {
		y *= 2;
		b = 3 * y * (y + 1) + 1;
		if ((x >> s) >= b) {
			x -= b << s;
			y++;
		}
	}
	return (u32)y;
}

/* K, in ns: the time the curve takes from cwnd back up to w_max. */
static u64 cubic_k(u32 gap, u32 mss)
{
	/* K^3 = gap / mss / C seconds^3 = gap * 2.5e9 / mss ms^3 */
	return (u64)icbrt((u64)gap * 2500000000ull / mss) * MS_NS;
}

/* W_cubic(t), t in ns since the epoch; in bytes. */
static u32 w_cubic(const struct ack_cubic *q, u64 t, u32 mss)
{
	bool below = t < q->k;
	u64 d = (below ? q->k - t : t - q->k) / MS_NS, off;

	if (d > CUBIC_D_MAX_MS)
		d = CUBIC_D_MAX_MS;
	/* C d^3 segments, d in s: 0.4 * d^3 / 1e9 with d in ms, times mss */
	off = d * d * d / 10000 * 4 * mss / 1000000;
	if (below)
		return off >= q->origin ? 0 : q->origin - (u32)off;
	return off >= CWND_MAX - q->origin ? CWND_MAX : q->origin + (u32)off;
}

static void cubic_avoid(struct ack_core *c, struct ack_half *h, u32 acked)
{
	struct ack_cubic *q = &h->cc.cubic;
	u64 t, target, inc;

	if (!q->epoch) {
		q->epoch = c->now ? c->now : 1;
		q->w_est = h->cwnd;
		q->w_est_acc = q->cnt_acc = 0;
		if (q->w_max > h->cwnd) {
			q->k = cubic_k(q->w_max - h->cwnd, h->mss);
			q->origin = q->w_max;
		} else {
			q->k = 0;
			q->origin = h->cwnd;
		}
	}
	/* RFC 9438 4.2: aim at where the curve is one RTT from now */
	t = c->now - q->epoch + (h->flags & H_SRTT ? h->srtt : 0);
	target = w_cubic(q, t, h->mss);
	if (target < h->cwnd)
		target = h->cwnd;
	if (target > h->cwnd + h->cwnd / 2)
		target = h->cwnd + h->cwnd / 2;

	/*
	 * RFC 9438 4.3: W_est grows by alpha segments per window acked,
	 * alpha = 3 (1 - beta) / (1 + beta) = 9/17, and by 1 once it has
	 * passed W_max.
	 */
	q->w_est_acc += (u64)acked * h->mss * (q->w_est >= q->w_max ? 17 : 9);
	inc = q->w_est_acc / (17ull * h->cwnd);
	q->w_est_acc %= 17ull * h->cwnd;
	q->w_est = inc >= CWND_MAX - q->w_est ? CWND_MAX : q->w_est + (u32)inc;
	if (q->w_est > target)
		target = q->w_est;

	/* (target - cwnd) / cwnd per byte acked, remainders carried */
	q->cnt_acc += (target - h->cwnd) * acked;
	inc = q->cnt_acc / h->cwnd;
	q->cnt_acc %= h->cwnd;
	h->cwnd = inc >= CWND_MAX - h->cwnd ? CWND_MAX : h->cwnd + (u32)inc;
}

/*
 * @acked new bytes were acknowledged, with @flight in flight before; not
 * called in fast recovery (the window holds until it ends).
 */
void ack_cc_acked(struct ack_core *c, struct ack_half *h, u32 acked, u32 flight)
{
	struct ack_hystart *y = &h->cc.hy;
	u32 inc = umin(acked, h->mss);

	if (c->cfg.cc == ACK_CC_RENO) {
		if (h->cwnd >= h->ssthresh)	/* about 1 MSS per RTT */
			inc = inc * h->mss / h->cwnd ? inc * h->mss / h->cwnd : 1;
		h->cwnd += inc;
		if (h->cwnd > CWND_MAX)
			h->cwnd = CWND_MAX;
		return;
	}
	if (c->cfg.cc != ACK_CC_CUBIC)
		return;
	if (!seq_before(h->una, y->round_end)) {
		y->round_end = h->nxt;
		y->samples = 0;
	}
	/* a window the sender does not fill says nothing of a larger one */
	if (2ull * flight < h->cwnd)
		return;
	if (h->cwnd < h->ssthresh) {
		/* RFC 3465: up to two segments per ACK, as a delayed ACK covers */
		inc = umin(acked, 2u * h->mss);
		h->cwnd = inc >= CWND_MAX - h->cwnd ? CWND_MAX : h->cwnd + inc;
		return;
	}
	cubic_avoid(c, h, acked);
}

/* An RTT sample of data sent once; HyStart's input. */
void ack_cc_rtt(struct ack_core *c, struct ack_half *h, u64 rtt)
{
	struct ack_hystart *y = &h->cc.hy;
	u64 thresh;

	if (c->cfg.cc != ACK_CC_CUBIC || !rtt)
		return;
	if (!y->min_rtt || rtt < y->min_rtt)
		y->min_rtt = rtt;
	if (h->cwnd >= h->ssthresh || (h->flags & H_RECOVERY) ||
	    h->cwnd < HYSTART_LOW_WINDOW * (u32)h->mss ||
	    y->samples >= HYSTART_SAMPLES)
		return;
	if (!y->samples || rtt < y->round_min)
		y->round_min = rtt;
	if (++y->samples < HYSTART_SAMPLES)
		return;
	thresh = y->min_rtt / 8;
	if (thresh < HYSTART_DELAY_MIN_NS)
		thresh = HYSTART_DELAY_MIN_NS;
	if (thresh > HYSTART_DELAY_MAX_NS)
		thresh = HYSTART_DELAY_MAX_NS;
	if (y->round_min >= y->min_rtt + thresh) {
		h->ssthresh = h->cwnd;
		hstats(c, h)->ss_exits++;
	}
}

/* A loss (or an RTO, @rto): reduce, and remember where for undo's sake. */
void ack_cc_reduce(struct ack_core *c, struct ack_half *h, bool rto)
{
	struct ack_cubic *q = &h->cc.cubic;
	u32 flight = h->nxt - h->una, min = 2u * h->mss, w;

	if (c->cfg.cc == ACK_CC_RENO) {
		h->ssthresh = flight / 2 > min ? flight / 2 : min;
		h->cwnd = rto ? h->mss : h->ssthresh;
		return;
	}
	if (c->cfg.cc != ACK_CC_CUBIC)
		return;
	/* an RTO again, before any recovery: the window it used is gone */
	if (!(rto && (h->flags & H_LOSS))) {
		/* RFC 9438 4.7, fast convergence: release room to newer flows */
		if (flight < q->w_max)
			q->w_max = (u32)((u64)flight * (CUBIC_BETA_DEN + CUBIC_BETA_NUM) /
					 (2 * CUBIC_BETA_DEN));
		else
			q->w_max = flight;
		w = (u32)((u64)flight * CUBIC_BETA_NUM / CUBIC_BETA_DEN);
		h->ssthresh = w > min ? w : min;
	}
	h->cwnd = rto ? h->mss : h->ssthresh;
	q->epoch = 0;
}

/* Recovery ended: a fast recovery leaves the window at ssthresh. */
void ack_cc_recovered(struct ack_core *c, struct ack_half *h)
{
	if (ack_cc_on(c) && !(h->flags & H_LOSS))
		h->cwnd = h->ssthresh;
}

void ack_cc_save(struct ack_half *h)
{
	h->cc.prior_cwnd = h->cwnd;
	h->cc.prior_ssthresh = h->ssthresh;
	h->cc.prior = h->cc.cubic;
}

/* The last reduction answered no loss: back to the state before it. */
void ack_cc_undo(struct ack_core *c, struct ack_half *h)
{
	if (!ack_cc_on(c))
		return;
	h->cwnd = h->cc.prior_cwnd > h->cwnd ? h->cc.prior_cwnd : h->cwnd;
	h->ssthresh = h->cc.prior_ssthresh;
	h->cc.cubic = h->cc.prior;
}
