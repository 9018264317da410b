// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for ack_core.  The input is a configuration followed by a
 * stream of operations on four flows (same hosts, guest ports 40000..40003):
 * handshakes from either side, guest data (in order, old, with a gap, or
 * anywhere; linear or through copy_payload), guest pure ACKs and probes,
 * receiver ACKs with SACK blocks and data, RSTs, timer advances, allocation
 * failures, live reconfiguration and drain.
 *
 * Payload bytes are a function of their sequence number, so every byte the
 * core keeps or retransmits can be checked.  After every operation:
 *   - a local ACK never covers a byte the core does not hold: at the time of
 *     the ACK, [una, ack) is kept and has the guest's content;
 *   - kept data only leaves when a receiver ACK in this step covers it, or
 *     the flow was reset (RST from the harness, RESET_BOTH from the core);
 *   - kept bytes <= the per-vif budget (the largest one configured);
 *   - guest segments always pass unchanged, only pure ACKs are consumed;
 *   - retransmissions carry the kept content.
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
	struct ack_seg s;

	key_of(k, &key);
	memset(&s, 0, sizeof(s));
	s.dir = dir;
	s.family = 2;
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.window = win;
	s.len = len;
	s.payload = len ? payload(seq, len) : NULL;
	s.ttl = dir == ACK_FROM_GUEST ? 64 : 50;
	memcpy(dir == ACK_FROM_GUEST ? s.saddr : s.daddr, key.gaddr, 16);
	memcpy(dir == ACK_FROM_GUEST ? s.daddr : s.saddr, key.raddr, 16);
	s.sport = dir == ACK_FROM_GUEST ? key.gport : key.rport;
	s.dport = dir == ACK_FROM_GUEST ? key.rport : key.gport;
	return s;
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

static void check_kept(const struct ack_flow *f, int k)
{
	u32 una, nxt, n, i;

	ack_core_flow_range(f, ACK_FROM_GUEST, &una, &nxt);
	n = nxt - una;
	if (n > sizeof(kept_buf))
		die("kept range larger than any budget", k);
	if (ack_core_copy_kept(f, ACK_FROM_GUEST, una, kept_buf, n) != n)
		die("kept range not copyable", k);
	for (i = 0; i < n; i++)
		if (kept_buf[i] != pat(una + i))
			die("kept byte differs from what the guest sent", k);
}

/* Wraps h_emit: checks each action against the core's state right then. */
static void emit(void *ctx, const struct ack_action *a)
{
	u32 una, nxt;
	int k = a->key->gport - 40000;

	h_emit(ctx, a);
	if (a->type == ACK_ACT_ACK_TO_GUEST) {
		ack_core_flow_range(a->flow, ACK_FROM_GUEST, &una, &nxt);
		if (seq_lt(nxt, a->ack) || seq_lt(a->ack, una))
			die("local ACK beyond what is kept", k);
		check_kept(a->flow, k);
	} else if (a->type == ACK_ACT_XMIT_TO_WAN) {
		if (!a->len || !H.out[H.nout - 1].data_ok)
			die("retransmission without the kept content", k);
	}
}

/* The guest's data is never dropped; only pure ACKs toward it are. */
static void segment(const struct ack_seg *s)
{
	struct ack_rewrite rw;
	enum ack_verdict v = ack_core_segment(C, s, NOW, &rw);

	if (s->dir == ACK_FROM_GUEST && v != ACK_PASS)
		die("a guest segment was not passed unchanged", s->sport - 40000);
	if (v == ACK_DROP && (s->len || (s->flags & (ACK_TCP_SYN | ACK_TCP_FIN | ACK_TCP_RST))))
		die("a segment with data or flags was consumed", s->dport - 40000);
}

static void step(struct reader *r)
{
	const struct ack_flow *pre[NFLOWS];
	u32 pre_una[NFLOWS], pre_nxt[NFLOWS];
	int op = rd8(r) % 12, k = rd8(r) % NFLOWS, i;
	struct shadow *w = &sh[k];
	bool reset[NFLOWS] = { false };
	int rack_k = -1;
	u32 rack_ack = 0, len, x;
	struct ack_key key;
	struct ack_seg s;
	u8 m;

	for (i = 0; i < NFLOWS; i++) {
		key_of(i, &key);
		pre[i] = ack_core_lookup(C, &key);
		if (pre[i])
			ack_core_flow_range(pre[i], ACK_FROM_GUEST, &pre_una[i], &pre_nxt[i]);
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
		segment(&s);
		break;
	case 5:		/* guest pure ACK or probe */
		m = rd8(r);
		x = m & 1 ? w->gnext - 1 : m & 2 ? rd32(r) : w->gnext;
		s = mkseg(k, ACK_FROM_GUEST, ACK_TCP_ACK, x, w->rnext, rd16(r), 0);
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
		rack_k = k;
		rack_ack = x;
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
		break;
	case 8:		/* memory */
		m = rd8(r);
		if (m & 1)
			H.fail_all = !H.fail_all;
		else
			H.fail_in = m % 9;
		break;
	case 9:
		if (rd8(r) == 0x5a)
			ack_core_drain(C);
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
		}
		CFG.cc = m & 2 ? ACK_CC_RENO : ACK_CC_NONE;
		CFG.port = m & 4 ? 80 : 0;
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
		if (pre[i] && f != pre[i] && pre_una[i] != pre_nxt[i] && !reset[i] &&
		    !(rack_k == i && !seq_lt(rack_ack, pre_nxt[i])))
			die("flow with kept data vanished", i);
		if (!f)
			continue;
		check_kept(f, i);
		/* an empty range may be rebased by the handshake */
		if (f != pre[i] || pre_una[i] == pre_nxt[i])
			continue;
		ack_core_flow_range(f, ACK_FROM_GUEST, &una, &nxt);
		if (seq_lt(nxt, pre_nxt[i]))
			die("kept end moved back", i);
		if (una != pre_una[i] &&
		    (rack_k != i || seq_lt(rack_ack, una) || seq_lt(una, pre_una[i])))
			die("kept data released without a receiver ACK", i);
	}
	if (ack_core_kept_total(C) > VIF_MAX)
		die("per-vif budget exceeded", k);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct reader r = { data, size };
	struct ack_env env = harness_env(&H);
	u8 m;
	int i;

	memset(&H, 0, sizeof(H));
	memset(sh, 0, sizeof(sh));
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
	CFG.cc = m & 1 ? ACK_CC_RENO : ACK_CC_NONE;
	CFG.port = m & 2 ? 80 : 0;
	CFG.flow_limit = 1 + ((m >> 2) & 3);
	CFG.retry_limit = m >> 5;
	CFG.dupthresh = 1 + rd8(&r) % 4;
	CFG.rexmit_burst = 1 + rd8(&r) % 8;
	CFG.init_cwnd = 1 + rd8(&r) % 16;
	CFG.rto_min_ns = 1000000;
	CFG.idle_ns = 1000000000ull * (1 + rd8(&r) % 64);
	CFG.hash_seed = rd32(&r);
	VIF_MAX = CFG.vif_budget;
	C = ack_core_create(&env, &CFG);
	if (!C)
		return 0;
	while (r.n)
		step(&r);
	if (getenv("ACK_FUZZ_VERBOSE")) {
		struct ack_stats st;

		ack_core_stats(C, &st);
		fprintf(stderr, "flows %llu created %llu acks %llu peak %llu fast %llu "
			"rto %llu consumed %llu rewritten %llu fallbacks %llu resets %llu\n",
			(unsigned long long)st.flows, (unsigned long long)st.flows_created,
			(unsigned long long)st.tx.local_acks, (unsigned long long)st.tx.kept_peak,
			(unsigned long long)st.tx.rexmit_fast, (unsigned long long)st.tx.rexmit_rto,
			(unsigned long long)st.tx.acks_consumed, (unsigned long long)st.tx.acks_rewritten,
			(unsigned long long)st.tx.fallbacks, (unsigned long long)st.resets);
	}
	H.fail_all = false;
	H.fail_in = 0;
	ack_core_destroy(C);
	if (H.live)
		die("allocations left after destroy", -1);
	return 0;
}
