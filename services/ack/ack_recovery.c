// SPDX-License-Identifier: GPL-2.0
/*
 * ack_recovery.c: loss recovery with SACK, for either half of a flow (as
 * Linux keeps tcp_recovery.c apart from tcp_input.c).
 *
 *  - RACK (RFC 8985): a kept byte is deemed lost when something sent after
 *    it was delivered and it has been out for an RTT plus a reordering
 *    window.  The window starts at min_rtt / 4 and grows with each DSACK
 *    that shows a retransmission was not needed (reordering, not loss);
 *    where reordering was seen, it reaches at least the highest RTT of
 *    the last rounds (see reo_wnd()).
 *  - TLP: a probe (the last segment again) two RTTs after the sender last
 *    sent, so that a lost tail is repaired by RACK rather than by the RTO.
 *  - RFC 6675: only what is deemed lost is sent again, within cwnd minus
 *    what is in flight (cc=reno, cubic), also after an RTO: nothing SACKed and
 *    nothing still in flight goes out twice.
 *  - After an RTO (F-RTO, RFC 5682), an ACK for data the RTO did not resend
 *    shows the timeout was spurious (a delay spike): recovery stops, the
 *    congestion state and the backoff are undone.  Not after a receiver
 *    reported data above the hole: then the head was lost, not late.
 *
 * The times per byte come from the records of ack_recovery.h.  Without SACK
 * the flow keeps the NewReno recovery of ack_input.c.
 */
#include "ack_int.h"

#define RACK_COALESCE_NS	1000000ull	/* sends this close share a record */
#define RACK_REO_MULT_MAX	16
#define RACK_REO_PERSIST	16		/* recoveries a grown window lasts */
#define TLP_NO_RTT_NS		1000000000ull	/* RFC 8985: PTO without an RTT sample */

/*
 * rx keeps the dupack recovery for now: what it keeps went to the guest
 * before it was kept (held after a gap), and its guest path has an RTT near
 * zero, which RACK's times per record do not model yet.
 */
bool ack_rack_on(const struct ack_core *c, const struct ack_flow *f,
		 const struct ack_half *h)
{
	return c->cfg.recovery == ACK_REC_RACK && (f->flags & F_SACK) && is_tx(h);
}

/* ---- SACK scoreboard queries ---- */

/* The first bytes of [a, b) not SACKed: [*ps, *pe); false if none. */
static bool unsacked_piece(const struct ack_half *h, u32 a, u32 b, u32 *ps,
			   u32 *pe)
{
	u32 s = a, e = b, i;

	for (i = 0; i < h->nsacked; i++) {
		const struct ack_sack *k = &h->sacked[i];

		if (!seq_after(k->end, s))
			continue;
		if (!seq_after(k->start, s)) {
			s = k->end;
			continue;
		}
		e = seq_min(b, k->start);
		break;
	}
	if (!seq_before(s, b))
		return false;
	*ps = s;
	*pe = seq_min(e, b);
	return true;
}

static u32 unsacked_bytes(const struct ack_half *h, u32 a, u32 b)
{
	u32 n = 0, s, e;

	while (seq_before(a, b) && unsacked_piece(h, a, b, &s, &e)) {
		n += e - s;
		a = e;
	}
	return n;
}

static u32 sacked_bytes(const struct ack_half *h)
{
	u32 n = 0, i;

	for (i = 0; i < h->nsacked; i++)
		n += h->sacked[i].end - h->sacked[i].start;
	return n;
}

/* ---- send-time records ---- */

static u32 rec_start(const struct ack_half *h, u32 i)
{
	return i ? h->rack.rec[i - 1].end : h->una;
}

static void rec_merge_one(struct ack_txrec *r, u32 *n)
{
	u64 best = ~0ull, d;
	u32 i, at = 0;

	for (i = 0; i + 1 < *n; i++) {
		/*
		 * The span the merged record would have: the send times of
		 * the neighbours alone would let one record grow without end
		 * behind a sender that never pauses, its t_lo and with it
		 * every RTT sample from it ever older.
		 */
		u64 hi = r[i].t > r[i + 1].t ? r[i].t : r[i + 1].t;
		u64 lo = r[i].t_lo < r[i + 1].t_lo ? r[i].t_lo : r[i + 1].t_lo;

		d = 2 * (hi - lo) + (r[i].flags != r[i + 1].flags);	/* alike, if as close */
		if (d < best) {
			best = d;
			at = i;
		}
	}
	/* the later time (see ack_recovery.h); lost only if both were */
	r[at].t = r[at].t > r[at + 1].t ? r[at].t : r[at + 1].t;
	r[at].t_lo = r[at].t_lo < r[at + 1].t_lo ? r[at].t_lo : r[at + 1].t_lo;
	r[at].t_prev = r[at].t_prev < r[at + 1].t_prev ? r[at].t_prev : r[at + 1].t_prev;
	r[at].flags = (r[at].flags | r[at + 1].flags) & ~R_LOST;
	r[at].flags |= r[at].flags & r[at + 1].flags & R_LOST;
	r[at].end = r[at + 1].end;
	for (i = at + 1; i + 1 < *n; i++)
		r[i] = r[i + 1];
	(*n)--;
}

/* Records cover exactly [una, nxt). */
static void rec_trim(struct ack_core *c, struct ack_half *h)
{
	struct ack_rack *k = &h->rack;
	u32 i = 0, j;

	while (i < k->nrec && !seq_after(k->rec[i].end, h->una))
		i++;
	for (j = 0; i < k->nrec; i++) {
		if (j && !seq_before(k->rec[j - 1].end, h->nxt))
			break;
		k->rec[j] = k->rec[i];
		if (seq_after(k->rec[j].end, h->nxt))
			k->rec[j].end = h->nxt;
		j++;
	}
	k->nrec = j;
	if (h->nxt == h->una || (j && k->rec[j - 1].end == h->nxt))
		return;
	if (j && !k->rec[j - 1].flags && c->now - k->rec[j - 1].t < RACK_COALESCE_NS) {
		k->rec[j - 1].end = h->nxt;
		k->rec[j - 1].t = c->now;
		return;
	}
	if (k->nrec == RACK_RECS)
		rec_merge_one(k->rec, &k->nrec);
	k->rec[k->nrec].end = h->nxt;
	k->rec[k->nrec].t = k->rec[k->nrec].t_lo = k->rec[k->nrec].t_prev = c->now;
	k->rec[k->nrec].flags = 0;
	k->nrec++;
}

/* [a, b) (within [una, nxt)) was sent at t, or is now marked: one record. */
static void rec_set(struct ack_half *h, u32 a, u32 b, u64 t, u32 flags)
{
	struct ack_rack *k = &h->rack;
	struct ack_txrec r[RACK_RECS + 3];
	u32 n = 0, i, s, e;
	bool done = false;
	u64 prev = t;

	/*
	 * Sent again, the bytes keep when they were sent before; marked, when
	 * they were sent before that (see dsack_late()).
	 */
	for (i = 0; i < k->nrec; i++) {
		const struct ack_txrec *o = &k->rec[i];
		u64 p = flags & R_LOST ? o->t_prev : o->t_lo;

		if (seq_after(o->end, a) && seq_before(rec_start(h, i), b) && p < prev)
			prev = p;
	}
	for (i = 0; i < k->nrec; i++) {
		s = rec_start(h, i);
		e = k->rec[i].end;
		if (!seq_after(e, a) || !seq_before(s, b)) {
			if (!done && !seq_before(s, b)) {
				r[n++] = (struct ack_txrec){ b, flags, t, t, prev };
				done = true;
			}
			r[n++] = k->rec[i];
			continue;
		}
		if (seq_before(s, a)) {
			r[n] = k->rec[i];
			r[n++].end = a;
		}
		if (!done) {
			r[n++] = (struct ack_txrec){ b, flags, t, t, prev };
			done = true;
		}
		if (seq_after(e, b))
			r[n++] = k->rec[i];
	}
	if (!done)
		return;		/* outside what is kept */
	/* alike neighbours become one */
	for (i = 1, s = 1; i < n; i++) {
		if (r[i].t == r[s - 1].t && r[i].t_lo == r[s - 1].t_lo &&
		    r[i].t_prev == r[s - 1].t_prev && r[i].flags == r[s - 1].flags)
			r[s - 1].end = r[i].end;
		else
			r[s++] = r[i];
	}
	n = s;
	while (n > RACK_RECS)
		rec_merge_one(r, &n);
	memcpy(k->rec, r, n * sizeof(r[0]));
	k->nrec = n;
}

/* ---- RACK ---- */

static bool sent_after(u64 t1, u32 e1, u64 t2, u32 e2)
{
	return t1 > t2 || (t1 == t2 && seq_after(e1, e2));
}

static u64 umin64(u64 a, u64 b)
{
	return a < b ? a : b;
}

/* How long a segment may take where the path reorders (see reo_wnd()). */
static u64 hi_of(const struct ack_rack *k)
{
	u64 hi = 0;
	u32 i;

	for (i = 0; i < RACK_HI_ROUNDS; i++)
		if (k->hi[i] > hi)
			hi = k->hi[i];
	return hi;
}

static u64 reach_of(const struct ack_rack *k)
{
	u64 hi = hi_of(k);

	return hi + (hi - (k->min_rtt < hi ? k->min_rtt : hi)) / 4;
}

/*
 * The reordering window just grew: what it deemed lost but has not sent
 * again yet is judged anew (by detect_loss(), with the new window).
 */
static void unmark(struct ack_half *h)
{
	struct ack_rack *k = &h->rack;
	u32 i;

	for (i = 0; i < k->nrec; i++)
		k->rec[i].flags &= ~R_LOST;
}

/* Reordering was seen (again): the window keeps its reach a while longer. */
static void reordering(struct ack_half *h)
{
	struct ack_rack *k = &h->rack;

	if (!k->reordering_seen)
		unmark(h);
	k->reordering_seen = true;
	k->reo_persist = RACK_REO_PERSIST;
}

/*
 * A segment took @rtt to be delivered: the highest of the last
 * RACK_HI_ROUNDS rounds, each at least the reach long (a windowed max, so
 * that a sample made of more than one trip, or a queue long drained, ages
 * out, but not while a hole stalls una until the queue drains).
 */
static void rtt_seen(struct ack_half *h, u64 rtt)
{
	struct ack_rack *k = &h->rack;
	u64 hi = hi_of(k);

	/* what was deemed lost by a shorter reach: judged anew */
	if (k->reordering_seen && rtt > hi + hi / 4)
		unmark(h);
	if (rtt > k->hi[0])
		k->hi[0] = rtt;
}

static u64 reo_wnd(struct ack_core *c, struct ack_half *h)
{
	struct ack_rack *k = &h->rack;
	u64 w;

	if (!k->reordering_seen &&
	    ((h->flags & H_RECOVERY) ||
	     sacked_bytes(h) >= c->cfg.dupthresh * (u32)h->mss))
		w = 0;
	else
		w = k->min_rtt / 4 * (k->reo_mult ? k->reo_mult : 1);
	if ((h->flags & H_SRTT) && w > h->srtt)
		w = h->srtt;
	/*
	 * Where the path reorders, what RACK.rtt says of the segments sent
	 * before it may not hold: a path that lets some packets overtake the
	 * others by a whole queue (netem's reorder sends them at once, past
	 * the delay) delivers a segment sent later in no time, while those
	 * before it still have their RTT to go; a min_rtt near zero, of which
	 * no multiple would ever do.  Then nothing is deemed lost before it
	 * has been out for the highest RTT seen lately, and a quarter of the
	 * spread more.
	 */
	if (k->reordering_seen && reach_of(k) > k->rtt + w)
		w = reach_of(k) - k->rtt;
	k->reo_wnd = w;
	hstats(c, h)->reo_wnd_us = w / 1000;
	return w;
}

/*
 * When the byte before @end of record @i was sent, as far as the record
 * tells: data sent once went out in order over [t_lo, t], so in proportion.
 * An RTT sample from t_lo alone would be off by all of the record's span,
 * which merges make tens of ms: enough for HyStart to see a queue.
 */
static u64 sent_at(const struct ack_half *h, u32 i, u32 end)
{
	const struct ack_txrec *r = &h->rack.rec[i];
	u32 s = rec_start(h, i), n = r->end - s;

	if ((r->flags & R_RETX) || !n || r->t <= r->t_lo)
		return r->t_lo;
	return r->t_lo + (r->t - r->t_lo) * (u64)(end - s) / n;
}

static void rack_update(struct ack_half *h, u32 i, u32 end, u64 now, bool timed)
{
	struct ack_rack *k = &h->rack;
	const struct ack_txrec *r = &k->rec[i];
	u64 rtt = now > r->t_lo ? now - r->t_lo : 0;
	u64 sample = now > sent_at(h, i, end) ? now - sent_at(h, i, end) : 0;

	/*
	 * A retransmission acked sooner than any RTT: the original's ACK.
	 * Where the path reorders, also one that the original, still within
	 * its reach, may have brought.
	 */
	if ((r->flags & R_RETX) &&
	    ((k->min_rtt && now - r->t < k->min_rtt) ||
	     (k->reordering_seen && now - r->t_prev <= reach_of(k))))
		return;
	/* after a spurious RTO, whatever was resent arrives as the original */
	if ((r->flags & R_RETX) && k->ambig && seq_before(end, k->ambig_end))
		return;
	if (!(r->flags & R_RETX) && timed) {
		if (!k->min_rtt || rtt < k->min_rtt)
			k->min_rtt = rtt ? rtt : 1;
		rtt_seen(h, now - r->t);	/* as detect_loss() times it */
		/* the ACK's RTT sample: of the latest data sent once it delivers */
		if (sample && (!k->ack_rtt || sample < k->ack_rtt))
			k->ack_rtt = sample;
	}
	if (sent_after(r->t_lo, end, k->xmit_ts, k->end_seq)) {
		/*
		 * More of the record that already set RACK's clock: its bytes
		 * were sent in order, but all count as sent at t_lo, so that
		 * their RTTs would only grow and keep pushing back the loss
		 * of what is missing below them.  The first one stands.
		 */
		if (r->t_lo != k->xmit_ts || !k->xmit_ts)
			k->rtt = rtt;
		k->xmit_ts = r->t_lo;
		k->end_seq = end;
	}
}

/* [a, b) was just delivered (cum-acked or newly SACKed). */
static void delivered(struct ack_core *c, struct ack_half *h, u32 a, u32 b,
		      bool cum)
{
	struct ack_rack *k = &h->rack;
	u32 i, s, e, ps, pe;
	bool filled = false;

	for (i = 0; i < k->nrec; i++) {
		s = seq_max(rec_start(h, i), a);
		e = seq_min(k->rec[i].end, b);
		if (!seq_before(s, e) || !unsacked_piece(h, s, e, &ps, &pe))
			continue;
		k->ack_delivered += unsacked_bytes(h, s, e);
		/*
		 * A cumulative ACK that a copy sent again made move says
		 * nothing of when the originals above that copy arrived: the
		 * receiver may have held them behind the hole for seconds, and
		 * the SACK blocks that told of them need not have reached the
		 * scoreboard (three per ACK, MAX_SACKED in all).  Timed from
		 * now, they gave RTT samples of that whole wait, which grew
		 * the RTO and, through the highest RTT, the reordering window
		 * to tens of seconds.  No RTT from them (Karn's rule, as Linux
		 * keeps it for a cumulative ACK that covers retransmitted data).
		 */
		filled |= cum && (k->rec[i].flags & R_RETX);
		rack_update(h, i, e, c->now, !filled);
		/* delivered below what was already: reordering, if never resent */
		if (!(k->rec[i].flags & R_RETX) && seq_before(e, k->fack) &&
		    seq_after(k->fack, h->una))
			reordering(h);
		/*
		 * F-RTO: the RTO did not resend this, or resent it too
		 * recently for this ACK to answer the copy: the original
		 * arrived, the timeout was spurious.
		 */
		if (cum && k->frto &&
		    (!(k->rec[i].flags & R_RETX) || k->rec[i].t < k->frto_at ||
		     (k->min_rtt && c->now - k->rec[i].t < k->min_rtt)))
			k->frto_spurious = true;
	}
}

static bool is_dsack(const struct ack_seg *s)
{
	if (!s->nsack)
		return false;
	if (!seq_after(s->sack[0].end, s->ack))
		return true;
	return s->nsack > 1 && !seq_before(s->sack[0].start, s->sack[1].start) &&
	       !seq_after(s->sack[0].end, s->sack[1].end);
}

/*
 * The receiver got [a, b) twice: a copy was sent again too soon, and the
 * copy before it may have come only now, after the new one (a reordering
 * path lets the copy overtake it).  Its RTT, as far as the records still
 * tell it, is how long reordering may take: as for a segment delivered
 * late (rack_update()), from the segments R_RETX hides from it, which are
 * the ones the queue delays longest.  At most the RTO: a range sent three
 * times, or merged with an older one, would claim seconds.
 */
static void dsack_late(struct ack_core *c, struct ack_half *h, u32 a, u32 b)
{
	struct ack_rack *k = &h->rack;
	u32 i;

	for (i = 0; i < k->nrec; i++)
		if (seq_after(k->rec[i].end, a) && seq_before(rec_start(h, i), b) &&
		    (k->rec[i].flags & R_RETX))
			rtt_seen(h, umin64(c->now - k->rec[i].t_prev, h->rto));
}

/*
 * Before the receiver's ACK changes una and the SACK scoreboard: what it
 * delivers, for RACK's clock, reordering and F-RTO.
 */
void ack_rack_on_ack(struct ack_core *c, struct ack_half *h,
		     const struct ack_seg *s)
{
	struct ack_rack *k = &h->rack;
	u32 i, top = seq_min(s->ack, h->nxt);

	k->ack_rtt = 0;
	k->ack_delivered = 0;
	k->holes = s->nsack > (is_dsack(s) ? 1 : 0);
	if (h->una == h->nxt)
		return;
	rec_trim(c, h);
	if (seq_after(top, h->una))
		delivered(c, h, h->una, top, true);
	for (i = is_dsack(s) ? 1 : 0; i < s->nsack && i < ACK_MAX_SACK; i++) {
		u32 a = seq_max(s->sack[i].start, seq_max(top, h->una));
		u32 b = seq_min(s->sack[i].end, h->nxt);

		if (seq_before(a, b))
			delivered(c, h, a, b, false);
	}
	if (is_dsack(s)) {
		/* a copy was not needed: reordering (or a spurious RTO) */
		reordering(h);
		dsack_late(c, h, s->sack[0].start, s->sack[0].end);
		k->dsack_seen = true;
		hstats(c, h)->dsacks++;
		if (k->undo_retrans)
			k->undo_retrans--;
	}
	/*
	 * One RTT sample per ACK, for the RTO and HyStart alike: RACK times
	 * every ACK, where the timed segment of ack_input.c gives one per
	 * round and none in recovery, when a queue may build the fastest.
	 */
	if (k->ack_rtt) {
		ack_rtt_sample(c, h, k->ack_rtt);
		h->flags &= ~H_RTT;
	}
	for (i = 0; i < s->nsack && i < ACK_MAX_SACK; i++)
		if (seq_after(s->sack[i].end, k->fack) &&
		    !seq_after(s->sack[i].end, h->nxt))
			k->fack = s->sack[i].end;
	if (seq_after(top, k->fack))
		k->fack = top;
}

/* Mark what RACK deems lost; arm the reordering timer for the rest. */
static u32 detect_loss(struct ack_core *c, struct ack_half *h)
{
	struct ack_rack *k = &h->rack;
	struct { u32 a, b; u64 t; u32 flags; } m[RACK_RECS];
	u64 w = reo_wnd(c, h), due;
	u32 i, n = 0, s, e, marked = 0, top = h->nxt;

	k->reo_at = 0;
	if (!k->xmit_ts)
		return 0;
	/* a full scoreboard forgot the highest blocks: judge only below */
	if (h->nsacked == MAX_SACKED)
		top = h->sacked[MAX_SACKED - 1].end;
	for (i = 0; i < k->nrec; i++) {
		const struct ack_txrec *r = &k->rec[i];

		s = rec_start(h, i);
		e = seq_min(r->end, top);
		if (!seq_before(s, e))
			break;
		if (r->flags & R_LOST)
			continue;
		if (r->t_lo <= k->xmit_ts && r->t >= k->xmit_ts &&
		    !sent_after(k->xmit_ts, k->end_seq, r->t, e)) {
			/* the same record as the last delivered: only below it */
			if (!seq_before(s, k->end_seq))
				continue;
			e = seq_min(e, k->end_seq);
		} else if (!sent_after(k->xmit_ts, k->end_seq, r->t, e)) {
			continue;
		}
		if (!unsacked_bytes(h, s, e))
			continue;
		due = r->t + k->rtt + w;
		if (c->now >= due) {
			m[n].a = s;
			m[n].b = e;
			m[n].t = r->t;
			m[n++].flags = r->flags | R_LOST;
		} else if (!k->reo_at || due < k->reo_at) {
			k->reo_at = due;
		}
	}
	for (i = 0; i < n; i++) {
		rec_set(h, m[i].a, m[i].b, m[i].t, m[i].flags);
		marked++;
	}
	return marked;
}

/* Bytes in flight (RFC 6675 pipe): kept, not SACKed, not deemed lost. */
static u32 pipe(const struct ack_half *h)
{
	const struct ack_rack *k = &h->rack;
	u32 i, n = 0;

	for (i = 0; i < k->nrec; i++)
		if (!(k->rec[i].flags & R_LOST))
			n += unsacked_bytes(h, rec_start(h, i), k->rec[i].end);
	return n;
}

/* The next lost bytes to send again, at most one segment. */
static bool next_lost(const struct ack_half *h, u32 *ps, u32 *pe)
{
	const struct ack_rack *k = &h->rack;
	u32 i;

	for (i = 0; i < k->nrec; i++) {
		if (!(k->rec[i].flags & R_LOST))
			continue;
		if (unsacked_piece(h, rec_start(h, i), k->rec[i].end, ps, pe)) {
			*pe = seq_min(*pe, *ps + h->mss);
			return true;
		}
	}
	return false;
}

/* Send again what is deemed lost, within cwnd - pipe (reno, cubic) or the burst. */
static void rack_rexmit(struct ack_core *c, struct ack_flow *f,
			struct ack_half *h, u32 max)
{
	u32 n = 0, s, e;

	while (n < max && next_lost(h, &s, &e)) {
		if (ack_cc_on(c) && n &&
		    pipe(h) + (e - s) > h->cwnd)
			break;
		ack_xmit(c, f, h, s, e - s, (h->flags & H_LOSS) != 0);
		h->rack.undo_retrans++;
		n++;
		/*
		 * The head sent again has a whole RTO to be acknowledged (as
		 * Linux rearms it): behind a queue, its round trip alone may
		 * take longer than what remains of the timer.
		 */
		if (s == h->una && h->rto_at)
			h->rto_at = c->now + ack_rto_timeout(c, h);
	}
}

/*
 * @acked: the bytes the ACK being processed delivered; none from a timer.
 * Without cc, a segment for each one delivered (packet conservation, as
 * PRR keeps it), at most the burst: a retransmission that reordering
 * makes needless then costs no more than one segment of the path.
 */
static u32 rexmit_budget(struct ack_core *c, struct ack_half *h, u32 acked)
{
	u32 p;

	if (!ack_cc_on(c)) {
		p = (acked + h->mss - 1) / h->mss;
		return acked ? umin(p, c->cfg.rexmit_burst) : c->cfg.rexmit_burst;
	}
	p = pipe(h);
	if (p >= h->cwnd)
		return 0;
	return (h->cwnd - p + h->mss - 1) / h->mss;
}

static void enter_recovery(struct ack_core *c, struct ack_half *h)
{
	struct ack_rack *k = &h->rack;

	if (h->flags & H_RECOVERY)
		return;
	ack_cc_save(h);
	k->undo_ok = true;
	k->undo_retrans = 0;
	ack_cc_reduce(c, h, false);
	h->flags |= H_RECOVERY;
	h->recover = h->nxt;
	/* a grown window lasts RACK_REO_PERSIST recoveries without reordering */
	if (k->reo_persist && !--k->reo_persist)
		k->reo_mult = 1;
}

/* Back to the state before the last reduction: it answered no loss. */
static void undo(struct ack_core *c, struct ack_half *h)
{
	struct ack_rack *k = &h->rack;
	u32 i;

	if (k->undo_ok)
		ack_cc_undo(c, h);
	k->undo_ok = false;
	h->backoff = 0;
	h->flags &= ~(H_RECOVERY | H_LOSS);
	for (i = 0; i < k->nrec; i++)
		k->rec[i].flags &= ~R_LOST;
	hstats(c, h)->undos++;
}

static void arm_tlp(struct ack_core *c, struct ack_half *h)
{
	struct ack_rack *k = &h->rack;
	u64 pto;

	k->tlp_at = 0;
	if (h->una == h->nxt || k->tlp_out || (h->flags & H_RECOVERY))
		return;
	pto = h->flags & H_SRTT ? 2 * h->srtt : TLP_NO_RTT_NS;
	if (h->rto_at && c->now + pto >= h->rto_at)
		return;		/* the RTO comes first */
	k->tlp_at = c->now + pto;
}

/* After the receiver's ACK was applied to una and the scoreboard. */
void ack_rack_after_ack(struct ack_core *c, struct ack_flow *f,
			struct ack_half *h, bool newack)
{
	struct ack_rack *k = &h->rack;

	rec_trim(c, h);
	if (newack)
		k->tlp_out = false;
	if (k->ambig && !seq_before(h->una, k->ambig_end))
		k->ambig = false;
	if (!seq_before(h->una, k->hi_round_end) && c->now >= k->hi_round_at + reach_of(k)) {
		memmove(&k->hi[1], &k->hi[0], (RACK_HI_ROUNDS - 1) * sizeof(k->hi[0]));
		k->hi[0] = 0;
		k->hi_round_end = h->nxt;
		k->hi_round_at = c->now;
	}
	if (k->dsack_seen && k->reo_mult < RACK_REO_MULT_MAX &&
	    !seq_before(h->una, k->reo_round_end)) {
		/* RFC 8985 6.2: grow the window once per round with DSACK */
		k->reo_mult = (k->reo_mult ? k->reo_mult : 1) + 1;
		k->reo_persist = RACK_REO_PERSIST;
		k->reo_round_end = h->nxt;
	}
	k->dsack_seen = false;
	if (k->frto_spurious) {
		k->frto = k->frto_spurious = false;
		hstats(c, h)->spurious++;
		/* the clock restarts from the originals the spike delivered */
		k->ambig = true;
		k->ambig_end = h->recover;
		k->xmit_ts = 0;
		k->end_seq = h->una;
		undo(c, h);
	} else if ((h->flags & H_RECOVERY) && k->undo_ok && !k->undo_retrans &&
		   !(h->flags & H_LOSS) && k->reordering_seen &&
		   newack && !seq_before(h->una, h->recover)) {
		/* RFC 3708: every retransmission of the episode came back twice */
		hstats(c, h)->spurious++;
		undo(c, h);
	}
	if ((h->flags & H_RECOVERY) && !seq_before(h->una, h->recover)) {
		ack_cc_recovered(c, h);
		h->flags &= ~(H_RECOVERY | H_LOSS);
		k->frto = false;
	}
	if (h->una == h->nxt) {
		k->reo_at = k->tlp_at = 0;
		k->frto = false;
		return;
	}
	if (detect_loss(c, h)) {
		enter_recovery(c, h);
		k->frto = false;	/* losses beside the RTO: it was real */
	}
	rack_rexmit(c, f, h, rexmit_budget(c, h, k->ack_delivered));
	arm_tlp(c, h);
}

/* The sender sent new data, now kept: [old nxt, nxt). */
void ack_rack_kept(struct ack_core *c, struct ack_half *h)
{
	rec_trim(c, h);
	arm_tlp(c, h);
}

/* The core sent [seq, seq + len) again. */
void ack_rack_sent(struct ack_core *c, struct ack_half *h, u32 seq, u32 len)
{
	rec_trim(c, h);
	rec_set(h, seq, seq + len, c->now, R_RETX);
}

/* The retransmission timer fired (not reset): resend the head, keep the rest. */
void ack_rack_rto(struct ack_core *c, struct ack_flow *f, struct ack_half *h)
{
	struct ack_rack *k = &h->rack;
	u32 i, s, e;
	u64 w;

	rec_trim(c, h);
	if (!(h->flags & H_RECOVERY)) {
		ack_cc_save(h);
		k->undo_ok = true;
	}
	ack_cc_reduce(c, h, true);
	h->flags |= H_RECOVERY | H_LOSS;
	h->recover = h->nxt;
	h->dupacks = 0;
	k->reo_at = k->tlp_at = 0;
	k->tlp_out = false;
	k->undo_retrans = 0;
	/*
	 * Lost: the head, and what has been out for an RTT and the reordering
	 * window (RFC 8985 6.3), the RTT being the highest seen lately: behind
	 * a queue that outlasted the RTO, RACK.rtt may be the first of a burst
	 * all still on its way (and without cc nothing but the ACKs would pace
	 * sending it all again).
	 */
	w = k->rtt ? k->rtt : h->srtt;
	if (hi_of(k) > w)
		w = hi_of(k);
	w += reo_wnd(c, h);
	for (i = 0; i < k->nrec; i++)
		if (i == 0 || c->now > k->rec[i].t + w)
			k->rec[i].flags |= R_LOST;
	/*
	 * F-RTO tells a delay spike, which holds back everything, from a
	 * loss.  A receiver that reported data above its cumulative ACK got
	 * what was sent after the head: the head is lost, not late, and the
	 * ACK that the copy brings may cover originals that sat behind the
	 * hole all along (the scoreboard need not know them all: three blocks
	 * per ACK, MAX_SACKED in all).  Taken for the spike's originals, they
	 * made each RTO spurious and undone, RACK's clock restarted with
	 * nothing to set it, and a flow whose receiver lost a whole queue was
	 * repaired one segment per RTO.
	 */
	k->frto = !k->holes && !h->nsacked;
	k->frto_spurious = false;
	k->frto_at = c->now;
	if (next_lost(h, &s, &e)) {
		ack_xmit(c, f, h, s, e - s, true);
		k->undo_retrans++;
	}
}

u64 ack_rack_deadline(const struct ack_half *h)
{
	u64 a = h->rack.reo_at, b = h->rack.tlp_at;

	if (!a || (b && b < a))
		a = b;
	return a;
}

void ack_rack_timer(struct ack_core *c, struct ack_flow *f, struct ack_half *h)
{
	struct ack_rack *k = &h->rack;
	u32 s, e, a, b;

	rec_trim(c, h);
	if (k->reo_at && c->now >= k->reo_at) {
		k->reo_at = 0;
		if (detect_loss(c, h))
			enter_recovery(c, h);
		rack_rexmit(c, f, h, rexmit_budget(c, h, 0));
	}
	if (k->tlp_at && c->now >= k->tlp_at) {
		k->tlp_at = 0;
		if (h->una == h->nxt || (h->flags & H_RECOVERY))
			return;
		/* the probe: the highest segment not SACKed */
		a = h->una;
		s = e = 0;
		while (seq_before(a, h->nxt) && unsacked_piece(h, a, h->nxt, &b, &e)) {
			s = b;
			a = e;
		}
		if (!seq_after(e, s))
			return;
		if (e - s > h->mss)
			s = e - h->mss;
		k->tlp_out = true;
		hstats(c, h)->tlp_probes++;
		ack_xmit(c, f, h, s, e - s, false);
		h->rto_at = c->now + ack_rto_timeout(c, h);
	}
}
