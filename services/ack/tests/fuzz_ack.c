// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for ack_core, both directions at once.  The input is a
 * configuration (dir=tx, rx or both) followed by a stream of operations on
 * four flows (same hosts, guest ports 40000..40003): handshakes from either
 * side, guest data and remote data (in order, old, with a gap, or anywhere;
 * linear or through copy_payload), guest pure ACKs and probes, ACKs with SACK
 * blocks from either side, RSTs, timer advances, allocation failures, live
 * reconfiguration (dir included), drain, and steady in-order exchanges (the
 * sender's next segment and the receiver's ACK for it, time passing), which
 * bring flows that fell back to a re-entry.
 *
 * Payload bytes are a function of their sequence number, so every byte the
 * core keeps or retransmits can be checked.  After every operation, for each
 * direction:
 *   - a local ACK never covers a byte the core does not hold: at the time of
 *     the ACK, [una, ack) is kept and has the sender's content;
 *   - kept data only leaves when a receiver ACK in this step covers it, or
 *     the flow was reset (RST from the harness, RESET_BOTH from the core);
 *   - kept bytes <= the per-vif budget (the largest one configured), and per
 *     flow and direction <= the largest flow budget;
 *   - segments with data or flags are never consumed; with dir=tx only, the
 *     guest's segments pass unchanged; a rewrite never lowers an ack;
 *   - retransmissions carry the kept content;
 *   - a half re-enters only while its direction is on and the core is not
 *     draining, and with a local ACK in the same step (checked as above).
 * At the end the core is destroyed and every allocation must be freed.
 */
#include "harness.h"

#define NFLOWS 4

static struct harness H;

struct reader {
	const u8 *p;
	size_t n;
};

static u8 rd8(struct reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static u16 rd16(struct reader *r)
{
	return rd8(r) | (u16)rd8(r) << 8;
}

static u32 rd32(struct reader *r)
{
	return rd16(r) | (u32)rd16(r) << 16;
}

struct shadow {
	u32 g_isn, r_isn, gnext, rnext, ts;
};

static struct shadow sh[NFLOWS];
static struct ack_core *C;
static struct ack_config CFG;
static u64 NOW, VIF_MAX;	/* the largest per-vif budget configured */
static u32 FLOW_MAX;		/* the largest per-flow budget configured */
static bool EVER_RX;		/* dir included rx at some point */
static bool DRAINED;
static u8 kept_buf[1 << 20];

static void die(const char *what, int k)
{
	fprintf(stderr, "invariant broken: %s (flow %d)\n", what, k);
	abort();
}

static void key_of(int k, struct ack_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = 2;
	key->gaddr[0] = 10;
	key->gaddr[3] = 2;
	key->raddr[0] = 192;
	key->raddr[3] = 1;
	key->gport = 40000 + k;
	key->rport = 80;
}

static struct ack_seg mkseg(int k, int dir, u8 flags, u32 seq, u32 ack, u16 win, u32 len)
{
	struct ack_key key;

	key_of(k, &key);
	return harness_seg(&key, dir, flags, seq, ack, win, len);
}

static void options(struct reader *r, struct ack_seg *s)
{
	u8 o = rd8(r);

	s->has_mss = o & 1;
	s->mss = 64 + rd16(r) % 9000;
	s->has_wscale = (o >> 1) & 1;
	s->wscale = (o >> 2) & 15;
	s->sack_ok = (o >> 6) & 1;
	s->has_ts = o >> 7;
}

static bool seq_lt(u32 a, u32 b)
{
	return (int)(a - b) < 0;
}

static void check_kept(const struct ack_flow *f, u8 dir, int k)
{
	u32 una, nxt, n, i;

	ack_core_flow_range(f, dir, &una, &nxt);
	n = nxt - una;
	if (n > sizeof(kept_buf) || n > FLOW_MAX)
		die("kept range larger than any budget", k);
	if (ack_core_copy_kept(f, dir, una, kept_buf, n) != n)
		die("kept range not copyable", k);
	for (i = 0; i < n; i++)
		if (kept_buf[i] != pat(una + i))
			die("kept byte differs from what the sender sent", k);
}

/* Wraps h_emit: checks each action against the core's state right then. */
static void emit(void *ctx, const struct ack_action *a)
{
	u32 una, nxt;
	int k = a->key->gport - 40000;

	h_emit(ctx, a);
	if (a->type == ACK_ACT_ACK_TO_GUEST || a->type == ACK_ACT_ACK_TO_WAN) {
		u8 dir = a->type == ACK_ACT_ACK_TO_GUEST ? ACK_FROM_GUEST : ACK_TO_GUEST;

		ack_core_flow_range(a->flow, dir, &una, &nxt);
		if (seq_lt(nxt, a->ack) || seq_lt(a->ack, una))
			die("local ACK beyond what is kept", k);
		check_kept(a->flow, dir, k);
	} else if (a->type == ACK_ACT_XMIT_TO_WAN || a->type == ACK_ACT_XMIT_TO_GUEST) {
		if (!a->len || !H.out[H.nout - 1].data_ok)
			die("retransmission without the kept content", k);
	}
}

/* Data is never dropped; only pure ACKs are, in either direction. */
static void segment(const struct ack_seg *s)
{
	int k = (s->dir == ACK_FROM_GUEST ? s->sport : s->dport) - 40000;
	struct ack_rewrite rw;
	enum ack_verdict v = ack_core_segment(C, s, NOW, &rw);

	if (s->dir == ACK_FROM_GUEST && v != ACK_PASS && !EVER_RX)
		die("a guest segment was not passed unchanged with dir=tx", k);
	if (v == ACK_DROP && (s->len || (s->flags & (ACK_TCP_SYN | ACK_TCP_FIN | ACK_TCP_RST))))
		die("a segment with data or flags was consumed", k);
	if (v == ACK_REWRITE && seq_lt(rw.ack, s->ack))
		die("a rewrite lowered an ack", k);
}

/*
 * 1 + (m & 7) rounds of flow k's sender sending its next segment in order
 * and the receiver acknowledging everything, tx or (m & 8) rx, with time
 * passing between rounds.
 */
static void stream(struct reader *r, int k, u8 m)
{
	struct shadow *w = &sh[k];
	u32 len, i, n = 1 + (m & 7);
	struct ack_seg s;

	for (i = 0; i < n; i++) {
		NOW += (u64)rd8(r) * 4000000;
		len = 1 + rd16(r) % 3000;
		if (m & 8) {
			s = mkseg(k, ACK_TO_GUEST, ACK_TCP_ACK, w->rnext, w->gnext, 256, len);
			s.has_ts = 1;
			s.tsval = w->ts++;
			w->rnext += len;
			segment(&s);
			s = mkseg(k, ACK_FROM_GUEST, ACK_TCP_ACK, w->gnext, w->rnext, 502, 0);
		} else {
			s = mkseg(k, ACK_FROM_GUEST, ACK_TCP_ACK, w->gnext, w->rnext, 502, len);
			s.has_ts = 1;
			s.tsval = w->ts++;
			w->gnext += len;
			segment(&s);
			s = mkseg(k, ACK_TO_GUEST, ACK_TCP_ACK, w->rnext, w->gnext, 256, 0);
		}
		s.has_ts = 1;
		s.tsval = w->ts++;
		segment(&s);
	}
}

static void step(struct reader *r)
{
	const struct ack_flow *pre[NFLOWS];
	u32 pre_una[2][NFLOWS], pre_nxt[2][NFLOWS];
	int op = rd8(r) % 14, k = rd8(r) % NFLOWS, i, d;
	struct shadow *w = &sh[k];
	bool reset[NFLOWS] = { false };
	int rack_k[2] = { -1, -1 };	/* by enum ack_dir of the data acked */
	u32 rack_ack[2] = { 0, 0 }, len, x, y;
	u16 win;
	struct ack_stats st0, st1;
	struct ack_key key;
	struct ack_seg s;
	u8 m;

	ack_core_stats(C, &st0);
	for (i = 0; i < NFLOWS; i++) {
		key_of(i, &key);
		pre[i] = ack_core_lookup(C, &key);
		for (d = 0; d < 2 && pre[i]; d++)
			ack_core_flow_range(pre[i], d, &pre_una[d][i], &pre_nxt[d][i]);
	}
	H.nout = 0;
	switch (op) {
	case 0:		/* guest SYN */
		if (rd8(r) & 1)
			w->g_isn = rd32(r);
		s = mkseg(k, ACK_FROM_GUEST, ACK_TCP_SYN, w->g_isn, 0, rd16(r), 0);
		options(r, &s);
		s.tsval = w->ts++;
		w->gnext = w->g_isn + 1;
		segment(&s);
		break;
	case 1:		/* remote SYN-ACK */
		if (rd8(r) & 1)
			w->r_isn = rd32(r);
		x = rd8(r) & 1 ? rd32(r) : w->g_isn + 1;
		s = mkseg(k, ACK_TO_GUEST, ACK_TCP_SYN | ACK_TCP_ACK, w->r_isn, x, rd16(r), 0);
		options(r, &s);
		s.tsval = rd32(r);
		w->rnext = w->r_isn + 1;
		segment(&s);
		break;
	case 2:		/* remote SYN: the guest is the server */
		if (rd8(r) & 1)
			w->r_isn = rd32(r);
		s = mkseg(k, ACK_TO_GUEST, ACK_TCP_SYN, w->r_isn, 0, rd16(r), 0);
		options(r, &s);
		w->rnext = w->r_isn + 1;
		segment(&s);
		break;
	case 3:		/* guest SYN-ACK */
		if (rd8(r) & 1)
			w->g_isn = rd32(r);
		s = mkseg(k, ACK_FROM_GUEST, ACK_TCP_SYN | ACK_TCP_ACK, w->g_isn,
			  rd8(r) & 1 ? rd32(r) : w->r_isn + 1, rd16(r), 0);
		options(r, &s);
		s.tsval = w->ts++;
		w->gnext = w->g_isn + 1;
		segment(&s);
		break;
	case 4:		/* guest data */
		m = rd8(r);
		len = m & 0x80 ? rd16(r) + (m & 1) : rd8(r) * 11u;
		if (!len)
			len = 1;
		switch ((m >> 1) & 3) {
		case 0: x = w->gnext; break;
		case 1: x = w->gnext - rd16(r); break;
		case 2: x = w->gnext + rd16(r); break;
		default: x = rd32(r); break;
		}
		s = mkseg(k, ACK_FROM_GUEST, ACK_TCP_ACK | ((m & 0x18) == 0x18 ? ACK_TCP_FIN : 0),
			  x, w->rnext, rd16(r), len);
		s.has_ts = 1;
		s.tsval = w->ts++;
		if (m & 0x20) {		/* the non-linear path */
			s.payload = NULL;
			s.payload_ctx = &s.seq;
		}
		if (!seq_lt(x + len, w->gnext) && !seq_lt(w->gnext, x))
			w->gnext = x + len;
		rack_k[ACK_TO_GUEST] = k;
		rack_ack[ACK_TO_GUEST] = s.ack;
		segment(&s);
		break;
	case 5:		/* guest pure ACK or probe */
		m = rd8(r);
		x = m & 1 ? w->gnext - 1 : m & 2 ? rd32(r) : w->gnext;
		s = mkseg(k, ACK_FROM_GUEST, ACK_TCP_ACK, x, w->rnext, rd16(r), 0);
		rack_k[ACK_TO_GUEST] = k;
		rack_ack[ACK_TO_GUEST] = s.ack;
		segment(&s);
		break;
	case 6:		/* receiver ACK, maybe with SACK and data */
		m = rd8(r);
		x = m & 1 ? rd32(r) : w->gnext - (m & 2 ? rd16(r) : 0);
		len = m & 4 ? rd8(r) : 0;
		s = mkseg(k, ACK_TO_GUEST, ACK_TCP_ACK | (m & 8 ? ACK_TCP_FIN : 0),
			  w->rnext, x, rd16(r), len);
		s.nsack = (m >> 4) % 5;
		for (i = 0; i < s.nsack; i++) {
			s.sack[i].start = x + rd16(r) - 1000;
			s.sack[i].end = s.sack[i].start + rd16(r);
		}
		s.has_ts = 1;
		s.tsval = rd32(r);
		w->rnext += len + (m & 8 ? 1 : 0);
		rack_k[ACK_FROM_GUEST] = k;
		rack_ack[ACK_FROM_GUEST] = x;
		segment(&s);
		break;
	case 12:	/* remote data (rx), acking the guest's */
		m = rd8(r);
		len = m & 0x80 ? rd16(r) + (m & 1) : rd8(r) * 11u;
		if (!len)
			len = 1;
		switch ((m >> 1) & 3) {
		case 0: x = w->rnext; break;
		case 1: x = w->rnext - rd16(r); break;
		case 2: x = w->rnext + rd16(r); break;
		default: x = rd32(r); break;
		}
		y = m & 0x40 ? w->gnext - rd16(r) : w->gnext;
		win = rd16(r);
		s = mkseg(k, ACK_TO_GUEST, ACK_TCP_ACK | ((m & 0x18) == 0x18 ? ACK_TCP_FIN : 0),
			  x, y, win, len);
		s.has_ts = 1;
		s.tsval = rd32(r);
		if (m & 0x20) {		/* the non-linear path */
			s.payload = NULL;
			s.payload_ctx = &s.seq;
		}
		if (!seq_lt(x + len, w->rnext) && !seq_lt(w->rnext, x))
			w->rnext = x + len;
		rack_k[ACK_FROM_GUEST] = k;
		rack_ack[ACK_FROM_GUEST] = s.ack;
		segment(&s);
		break;
	case 13:	/* guest ACK (rx), maybe with SACK blocks or FIN */
		m = rd8(r);
		x = m & 1 ? rd32(r) : w->rnext - (m & 2 ? rd16(r) : 0);
		win = rd16(r);
		s = mkseg(k, ACK_FROM_GUEST, ACK_TCP_ACK | (m & 8 ? ACK_TCP_FIN : 0) |
			  (m & 4 ? ACK_TCP_ECE : 0), w->gnext, x, win, 0);
		s.nsack = (m >> 4) % 5;
		for (i = 0; i < s.nsack; i++) {
			s.sack[i].start = x + rd16(r) - 1000;
			s.sack[i].end = s.sack[i].start + rd16(r);
		}
		s.has_ts = 1;
		s.tsval = w->ts++;
		if (m & 8)
			w->gnext++;
		rack_k[ACK_TO_GUEST] = k;
		rack_ack[ACK_TO_GUEST] = x;
		segment(&s);
		break;
	case 7:		/* time passes */
		m = rd8(r);
		if (m & 1 && ack_core_next_deadline(C) != ACK_NO_DEADLINE &&
		    ack_core_next_deadline(C) > NOW)
			NOW = ack_core_next_deadline(C);
		else
			NOW += (u64)rd16(r) * 1000 * (m & 2 ? 1000 : 1);
		ack_core_timer(C, NOW);
		/* else the glue's timer would fire again at once, and again */
		if (ack_core_next_deadline(C) <= NOW)
			die("a timer call left a deadline due", -1);
		break;
	case 8:		/* memory */
		m = rd8(r);
		if (m & 1)
			H.fail_all = !H.fail_all;
		else
			H.fail_in = m % 9;
		break;
	case 9:
		m = rd8(r);
		if (m == 0x5a) {
			ack_core_drain(C);
			DRAINED = true;
		} else if ((m & 0xf0) == 0xa0) {
			stream(r, k, m);
			/* each side acknowledged what the other sent */
			rack_k[ACK_FROM_GUEST] = rack_k[ACK_TO_GUEST] = k;
			rack_ack[ACK_FROM_GUEST] = w->gnext;
			rack_ack[ACK_TO_GUEST] = w->rnext;
		}
		break;
	case 10:	/* RST from either side */
		m = rd8(r);
		s = mkseg(k, m & 1 ? ACK_TO_GUEST : ACK_FROM_GUEST, ACK_TCP_RST,
			  m & 1 ? w->rnext : w->gnext, 0, 0, 0);
		reset[k] = true;
		segment(&s);
		break;
	default:	/* live reconfiguration */
		m = rd8(r);
		if (m & 1) {
			CFG.flow_budget = 2048 + (u32)rd16(r) * 2;
			CFG.vif_budget = 4096 + (u64)rd16(r) * 4;
			if (CFG.vif_budget > VIF_MAX)
				VIF_MAX = CFG.vif_budget;
			if (CFG.flow_budget > FLOW_MAX)
				FLOW_MAX = CFG.flow_budget;
		}
		/* (bit 5 is retry_limit's too: cubic's share of the bits) */
		CFG.cc = m & 2 ? (m & 0x20 ? ACK_CC_CUBIC : ACK_CC_RENO) : ACK_CC_NONE;
		CFG.port = m & 4 ? 80 : 0;
		if ((m >> 3) & 3)
			CFG.dirs = (m >> 3) & 3;
		if (CFG.dirs & ACK_DIR_RX)
			EVER_RX = true;
		CFG.retry_limit = m >> 5;
		ack_core_reconfigure(C, &CFG);
		break;
	}

	for (i = 0; i < H.nout; i++)
		if (H.out[i].a.type == ACK_ACT_RESET_BOTH)
			reset[(H.out[i].key.gport - 40000) % NFLOWS] = true;
	for (i = 0; i < NFLOWS; i++) {
		const struct ack_flow *f;
		u32 una, nxt;

		key_of(i, &key);
		f = ack_core_lookup(C, &key);
		for (d = 0; d < 2; d++) {
			if (pre[i] && f != pre[i] && pre_una[d][i] != pre_nxt[d][i] &&
			    !reset[i] &&
			    !(rack_k[d] == i && !seq_lt(rack_ack[d], pre_nxt[d][i])))
				die("flow with kept data vanished", i);
			if (!f)
				continue;
			check_kept(f, d, i);
			/* an empty range may be rebased by the handshake */
			if (f != pre[i] || pre_una[d][i] == pre_nxt[d][i])
				continue;
			ack_core_flow_range(f, d, &una, &nxt);
			if (seq_lt(nxt, pre_nxt[d][i]))
				die("kept end moved back", i);
			if (una != pre_una[d][i] &&
			    (rack_k[d] != i || seq_lt(rack_ack[d], una) ||
			     seq_lt(una, pre_una[d][i])))
				die("kept data released without a receiver ACK", i);
		}
	}
	if (ack_core_kept_total(C) > VIF_MAX)
		die("per-vif budget exceeded", k);
	/* a timer armed at the hint after every call never fires late */
	if (ack_core_deadline_hint(C) > ack_core_next_deadline(C))
		die("deadline hint later than a flow's deadline", k);
	if (!ack_core_timers_consistent(C))
		die("a flow misfiled in the timer wheel", k);
	if (!ack_core_budget_consistent(C, VIF_MAX))
		die("memory sums wrong or over the per-vif budget", k);
	ack_core_stats(C, &st1);
	for (d = 0; d < 2; d++) {
		u64 before = d ? st0.rx.reentries : st0.tx.reentries;
		u64 after = d ? st1.rx.reentries : st1.tx.reentries;
		int type = d ? ACK_ACT_ACK_TO_WAN : ACK_ACT_ACK_TO_GUEST;
		bool acked = false;

		if (after == before)
			continue;
		if (DRAINED || !(CFG.dirs & (d ? ACK_DIR_RX : ACK_DIR_TX)))
			die("re-entry while the direction is off or the core drains", k);
		for (i = 0; i < H.nout; i++)
			acked |= H.out[i].a.type == type;
		if (!acked && H.nout < MAX_REC)
			die("re-entry without a local ACK", k);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct reader r = { data, size };
	struct ack_env env = harness_env(&H);
	u8 m;
	int i;

	memset(&H, 0, sizeof(H));
	memset(sh, 0, sizeof(sh));
	DRAINED = false;
	for (i = 0; i < NFLOWS; i++) {
		sh[i].g_isn = 1000 + i * 0x40000000u;
		sh[i].r_isn = 5000;
		sh[i].gnext = sh[i].g_isn + 1;
		sh[i].rnext = sh[i].r_isn + 1;
	}
	NOW = 0;
	env.emit = emit;
	ack_core_config_default(&CFG);
	m = rd8(&r);
	CFG.flow_budget = 2048 + (u32)rd16(&r) * 2;
	CFG.vif_budget = 4096 + (u64)rd16(&r) * 4;
	CFG.cc = m & 1 ? (m & 0x20 ? ACK_CC_CUBIC : ACK_CC_RENO) : ACK_CC_NONE;
	CFG.port = m & 2 ? 80 : 0;
	CFG.flow_limit = 1 + ((m >> 2) & 3);
	CFG.retry_limit = m >> 5;
	CFG.dupthresh = 1 + rd8(&r) % 4;
	CFG.rexmit_burst = 1 + rd8(&r) % 8;
	CFG.init_cwnd = 1 + rd8(&r) % 16;
	CFG.rto_min_ns = 1000000;
	CFG.idle_ns = 1000000000ull * (1 + rd8(&r) % 64);
	CFG.hash_seed = rd32(&r);
	/* (from the seed, so that the corpus keeps its layout) */
	CFG.dirs = 1 + CFG.hash_seed % 3;
	/* rx: the core's ACK at once, or after a grace of 1 to 4 ms */
	CFG.rx_grace_ns = (CFG.hash_seed >> 2) & 1 ? 0 : 1000000ull * (1 + (CFG.hash_seed >> 3) % 4);
	EVER_RX = CFG.dirs & ACK_DIR_RX;
	VIF_MAX = CFG.vif_budget;
	FLOW_MAX = CFG.flow_budget;
	C = ack_core_create(&env, &CFG);
	if (!C)
		return 0;
	while (r.n)
		step(&r);
	if (getenv("ACK_FUZZ_VERBOSE")) {
		struct ack_stats st;
		int d;

		ack_core_stats(C, &st);
		fprintf(stderr, "dirs %u flows %llu created %llu resets %llu\n", CFG.dirs,
			(unsigned long long)st.flows, (unsigned long long)st.flows_created,
			(unsigned long long)st.resets);
		for (d = 0; d < 2; d++) {
			const struct ack_dir_stats *t = d ? &st.rx : &st.tx;

			fprintf(stderr, "  %s acks %llu peak %llu fast %llu rto %llu consumed %llu "
				"rewritten %llu reordered %llu fallbacks %llu reentries %llu\n",
				d ? "rx" : "tx",
				(unsigned long long)t->local_acks, (unsigned long long)t->kept_peak,
				(unsigned long long)t->rexmit_fast, (unsigned long long)t->rexmit_rto,
				(unsigned long long)t->acks_consumed,
				(unsigned long long)t->acks_rewritten,
				(unsigned long long)t->reordered, (unsigned long long)t->fallbacks,
				(unsigned long long)t->reentries);
		}
	}
	H.fail_all = false;
	H.fail_in = 0;
	ack_core_destroy(C);
	if (H.live)
		die("allocations left after destroy", -1);
	return 0;
}
