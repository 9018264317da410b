// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of ack_core: scripted segment sequences with exact expected
 * actions, verdicts and counters.  Every test also ends with the core
 * destroyed and the allocator back to zero live allocations.
 *
 * Flow under test: guest 10.0.0.2:40000 <-> remote 192.0.2.1:80, guest ISN G,
 * remote ISN R.  S(i) is the start of the guest's i-th full data segment.
 */
#include <stdarg.h>
#include "harness.h"
#include "../ack_int.h"	/* the tx half's RTO (tx_rto()) */

#define MS		1000000ull
#define G		1000u
#define R		5000u

static struct harness H;
static struct ack_core *C;
static struct ack_config CFG;
static enum ack_verdict V;
static struct ack_rewrite RW;
static u64 NOW;
static u16 GPORT = 40000;
static u32 G_ISN = G;
static u32 GTS;			/* the guest's next tsval */
static u32 MSS = 1448;		/* payload per segment after handshake() */
static u8 FAMILY = 2;		/* 10: IPv6 addresses */
static u16 GWIN = 502;		/* the guest's window in its third ACK (raw) */
static u32 GACK = R + 1;	/* what the guest's data segments acknowledge */
static u32 RTS;			/* the remote's next tsval after the handshake */
static bool failed;
static char why[256];

#define CHECK(cond, ...) do {						\
	if (!(cond) && !failed) {					\
		failed = true;						\
		snprintf(why, sizeof(why), __VA_ARGS__);		\
	}								\
} while (0)

#define S(i)	(G_ISN + 1 + (u32)(i) * MSS)
/* The start of the remote's i-th full data segment (rx). */
#define T(i)	(R + 1 + (u32)(i) * MSS)

static void setup(void)
{
	struct ack_env env = harness_env(&H);

	C = ack_core_create(&env, &CFG);
	CHECK(C, "create failed");
}

static struct ack_seg seg(int dir, u8 flags, u32 seq, u32 ack, u16 win, u32 len)
{
	static const u8 gaddr4[16] = { 10, 0, 0, 2 }, raddr4[16] = { 192, 0, 2, 1 };
	static const u8 gaddr6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	static const u8 raddr6[16] = { 0x20, 0x01, 0x0d, 0xb8, 1, [15] = 1 };
	struct ack_key key = { .family = FAMILY, .gport = GPORT, .rport = 80 };
	struct ack_seg s;

	memcpy(key.gaddr, FAMILY == 10 ? gaddr6 : gaddr4, 16);
	memcpy(key.raddr, FAMILY == 10 ? raddr6 : raddr4, 16);
	s = harness_seg(&key, dir, flags, seq, ack, win, len);
	if (dir == ACK_FROM_GUEST)
		s.tos = 0x02;	/* ECT(0) */
	else
		s.flowlabel = 0x12345;
	return s;
}

static void go(const struct ack_seg *s)
{
	H.nout = 0;
	memset(&RW, 0, sizeof(RW));
	V = ack_core_segment(C, s, NOW, &RW);
}

static void tick(u64 t)
{
	NOW = t;
	H.nout = 0;
	ack_core_timer(C, NOW);
}

struct hs_opts {
	int gws, rws;		/* -1: no option */
	bool sack, ts;
	u16 rmss;		/* 0: no option */
	u16 synack_win;
};

static const struct hs_opts full = { 7, 8, true, true, 1460, 65535 };
static const struct hs_opts plain = { -1, -1, false, false, 1460, 65535 };

/* Guest SYN at NOW, remote SYN-ACK 10 ms later, guest's ACK. */
static void handshake(const struct hs_opts *o)
{
	struct ack_seg s = seg(ACK_FROM_GUEST, ACK_TCP_SYN, G_ISN, 0, 64240, 0);

	GTS = 100;
	s.has_mss = 1;
	s.mss = 1460;
	s.has_wscale = o->gws >= 0;
	s.wscale = o->gws;
	s.sack_ok = o->sack;
	s.has_ts = o->ts;
	s.tsval = GTS++;
	go(&s);
	NOW += 10 * MS;
	s = seg(ACK_TO_GUEST, ACK_TCP_SYN | ACK_TCP_ACK, R, G_ISN + 1, o->synack_win, 0);
	s.has_mss = o->rmss != 0;
	s.mss = o->rmss;
	s.has_wscale = o->rws >= 0;
	s.wscale = o->rws;
	s.sack_ok = o->sack;
	s.has_ts = o->ts;
	s.tsval = 7000;
	s.tsecr = 100;
	go(&s);
	s = seg(ACK_FROM_GUEST, ACK_TCP_ACK, G_ISN + 1, R + 1, GWIN, 0);
	s.has_ts = o->ts;
	s.tsval = GTS++;
	s.tsecr = 7000;
	go(&s);
	MSS = (o->rmss ? o->rmss : 536) - (o->ts ? 12 : 0);
	RTS = 7001;
}

/* The guest sends [seq, seq+len). */
static void gdata(u32 seq, u32 len)
{
	struct ack_seg s = seg(ACK_FROM_GUEST, ACK_TCP_ACK | ACK_TCP_PSH, seq, GACK, 502, len);

	s.has_ts = 1;
	s.tsval = GTS++;
	s.tsecr = 7000;
	go(&s);
}

/* The receiver acks, optionally with SACK blocks (pairs of start, end). */
static void rack(u32 ack, u16 win, int nsack, const u32 *sk)
{
	struct ack_seg s = seg(ACK_TO_GUEST, ACK_TCP_ACK, R + 1, ack, win, 0);
	int i;

	s.has_ts = 1;
	s.tsval = 7001;
	s.nsack = nsack;
	for (i = 0; i < nsack; i++) {
		s.sack[i].start = sk[2 * i];
		s.sack[i].end = sk[2 * i + 1];
	}
	go(&s);
}

/* rx: the remote sends [seq, seq+len), acknowledging the guest's @ack. */
static void rdata_ack(u32 seq, u32 len, u32 ack)
{
	struct ack_seg s = seg(ACK_TO_GUEST, ACK_TCP_ACK | ACK_TCP_PSH, seq, ack, 256, len);

	s.has_ts = 1;
	s.tsval = RTS++;
	s.tsecr = GTS - 1;
	go(&s);
}

static void rdata(u32 seq, u32 len)
{
	rdata_ack(seq, len, G_ISN + 1);
}

/* rx: the guest acknowledges, from seq G+1, optionally with SACK blocks. */
static void gack(u32 ack, u16 win, int nsack, const u32 *sk)
{
	struct ack_seg s = seg(ACK_FROM_GUEST, ACK_TCP_ACK, G_ISN + 1, ack, win, 0);
	int i;

	s.has_ts = 1;
	s.tsval = GTS++;
	s.tsecr = RTS - 1;
	s.nsack = nsack;
	for (i = 0; i < nsack; i++) {
		s.sack[i].start = sk[2 * i];
		s.sack[i].end = sk[2 * i + 1];
	}
	go(&s);
}

static struct ack_stats stats(void)
{
	struct ack_stats st;

	ack_core_stats(C, &st);
	return st;
}

/* The RTO of the flow's tx half, before backoff: what re-entries wait for. */
static u64 tx_rto(void)
{
	struct ack_seg s = seg(ACK_FROM_GUEST, ACK_TCP_ACK, G_ISN + 1, R + 1, 502, 0);
	const struct ack_flow *f;
	struct ack_key k;

	ack_key_from_seg(&k, &s);
	f = ack_core_lookup(C, &k);
	CHECK(f, "no flow");
	return f ? f->tx.rto : 0;
}

/* Exactly one action, of this type. */
static const struct ack_action *one(int type)
{
	CHECK(H.nout == 1, "expected 1 action, got %d", H.nout);
	CHECK(H.nout < 1 || H.out[0].a.type == type, "action type %d, want %d",
	      H.out[0].a.type, type);
	return &H.out[0].a;
}

static void expect_ack(u32 ack, u16 win)
{
	const struct ack_action *a = one(ACK_ACT_ACK_TO_GUEST);

	CHECK(H.nout != 1 || (a->ack == ack && a->window == win),
	      "local ACK %u win %u, want %u win %u", a->ack - G_ISN,
	      a->window, ack - G_ISN, win);
}

static void expect_xmit(int i, u32 seq, u32 len)
{
	const struct rec *r = &H.out[i];

	CHECK(i < H.nout && r->a.type == ACK_ACT_XMIT_TO_WAN &&
	      r->a.seq == seq && r->a.len == len && r->data_ok,
	      "action %d: type %d seq +%u len %u ok %d, want xmit +%u len %u",
	      i, r->a.type, r->a.seq - G_ISN, r->a.len, r->data_ok,
	      seq - G_ISN, len);
}

/* rx: exactly one local ACK to the remote. */
static void expect_wack(u32 ack, u16 win)
{
	const struct ack_action *a = one(ACK_ACT_ACK_TO_WAN);

	CHECK(H.nout != 1 || (a->ack == ack && a->window == win),
	      "local ACK to the WAN %u win %u, want %u win %u", a->ack - R,
	      a->window, ack - R, win);
}

/* rx: action @i retransmits [seq, seq+len) to the guest, content checked. */
static void expect_gxmit(int i, u32 seq, u32 len)
{
	const struct rec *r = &H.out[i];

	CHECK(i < H.nout && r->a.type == ACK_ACT_XMIT_TO_GUEST &&
	      r->a.seq == seq && r->a.len == len && r->data_ok,
	      "action %d: type %d seq +%u len %u ok %d, want xmit to guest +%u len %u",
	      i, r->a.type, r->a.seq - R, r->a.len, r->data_ok, seq - R, len);
}

/* ---- tests ---- */

static void t_handshake_learning(void)
{
	const struct ack_action *a;

	setup();
	handshake(&full);
	CHECK(stats().flows == 1, "flows %llu", (unsigned long long)stats().flows);
	gdata(S(0), MSS);
	CHECK(V == ACK_PASS, "verdict %d", V);
	a = one(ACK_ACT_ACK_TO_GUEST);
	/* window: SYN-ACK's 65535 (unscaled) - 1448, in units of 2^8 */
	CHECK(a->seq == R + 1 && a->ack == S(1) && a->window == (65535 - 1448) >> 8,
	      "ack seq %u ack +%u win %u", a->seq, a->ack - G, a->window);
	CHECK(a->has_ts && a->tsval == 7000 && a->tsecr == GTS - 1,
	      "ts %d %u %u", a->has_ts, a->tsval, a->tsecr);
	CHECK(a->flags == ACK_TCP_ACK && a->ttl == 50 &&
	      a->flowlabel == 0x12345, "flags %x ttl %u", a->flags, a->ttl);
	CHECK(H.out[0].key.gport == 40000 && H.out[0].key.rport == 80 &&
	      H.out[0].key.gaddr[0] == 10 && H.out[0].key.raddr[0] == 192 &&
	      H.out[0].key.family == 2, "key");
	/* mss 1460 - 12 (timestamps): the RTO retransmits one 1448-byte segment */
	gdata(S(1), 2 * MSS);
	tick(NOW + 1000 * MS);
	expect_xmit(0, S(0), 1448);
	CHECK(H.out[0].a.ttl == 64 && H.out[0].a.tos == 2 && H.out[0].a.ack == R + 1 &&
	      H.out[0].a.window == 502 && H.out[0].a.has_ts &&
	      H.out[0].a.tsval == GTS - 1 && H.out[0].a.tsecr == 7000,
	      "xmit header fields");
}

static void t_handshake_plain(void)
{
	const struct ack_action *a;

	setup();
	handshake(&plain);
	gdata(S(0), 1000);
	a = one(ACK_ACT_ACK_TO_GUEST);
	CHECK(a->ack == S(0) + 1000 && a->window == 65535 - 1000 && !a->has_ts,
	      "ack +%u win %u ts %d", a->ack - G, a->window, a->has_ts);
	tick(NOW + 1000 * MS);
	expect_xmit(0, S(0), 1000);
	CHECK(!H.out[0].a.has_ts, "xmit has ts");
}

static void t_server_side(void)
{
	struct ack_seg s;

	setup();
	s = seg(ACK_TO_GUEST, ACK_TCP_SYN, R, 0, 65535, 0);
	s.has_mss = 1;
	s.mss = 1400;
	go(&s);
	s = seg(ACK_FROM_GUEST, ACK_TCP_SYN | ACK_TCP_ACK, G, R + 1, 64240, 0);
	go(&s);
	NOW += 20 * MS;
	s = seg(ACK_TO_GUEST, ACK_TCP_ACK, R + 1, G + 1, 4000, 0);
	go(&s);
	CHECK(V == ACK_PASS && H.nout == 0, "third ACK must pass: %d", V);
	MSS = 1400;
	gdata(S(0), 1400);
	expect_ack(S(1), 2600);
	CHECK(stats().tx.local_acks == 1, "local acks");
}

static void t_inorder_local_ack(void)
{
	int i;

	setup();
	handshake(&plain);
	for (i = 0; i < 3; i++) {
		gdata(S(i), MSS);
		CHECK(V == ACK_PASS, "verdict %d", V);
		expect_ack(S(i + 1), 65535 - (i + 1) * MSS);
	}
	CHECK(stats().tx.local_acks == 3 && stats().tx.kept_bytes == 3 * MSS,
	      "acks %llu kept %llu", (unsigned long long)stats().tx.local_acks,
	      (unsigned long long)stats().tx.kept_bytes);
}

/* ack_core_dump: what a person reads for a stalled flow */
static char dump_buf[4096];
static size_t dump_len;

static void dump_out(void *ctx, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	dump_len += vsnprintf(dump_buf + dump_len, sizeof(dump_buf) - dump_len, fmt, ap);
	va_end(ap);
	if (dump_len >= sizeof(dump_buf))
		dump_len = sizeof(dump_buf) - 1;
}

static void t_dump(void)
{
	char want[64], kept[32];
	u32 n;
	int i;

	setup();
	handshake(&plain);
	for (i = 0; i < 3; i++)
		gdata(S(i), MSS);
	dump_len = 0;
	n = ack_core_dump(C, NOW, 64, dump_out, NULL);
	CHECK(n == 1, "flows %u", n);
	CHECK(strstr(dump_buf, "flow 0 guest port 40000 "), "no flow line: %.120s", dump_buf);
	snprintf(want, sizeof(want), " una 1 nxt %u hi %u ", 1 + 3 * MSS, 1 + 3 * MSS);
	snprintf(kept, sizeof(kept), " kept %u ", 3 * MSS);
	CHECK(strstr(dump_buf, "  tx flags ") && strstr(dump_buf, want) && strstr(dump_buf, kept),
	      "tx line: %.200s", strstr(dump_buf, "  tx") ?: dump_buf);
	CHECK(strstr(dump_buf, "  rx flags "), "no rx line: %.120s", dump_buf);
	dump_len = 0;
	n = ack_core_dump(C, NOW, 0, dump_out, NULL);
	CHECK(n == 0 && dump_len == 0, "max 0: %u flows, %zu bytes", n, dump_len);
}

static void t_receiver_ack_consumed(void)
{
	setup();
	handshake(&full);
	gdata(S(0), MSS);
	gdata(S(1), MSS);
	rack(S(1), 256, 0, NULL);
	CHECK(V == ACK_DROP && H.nout == 0, "verdict %d actions %d", V, H.nout);
	CHECK(stats().tx.kept_bytes == MSS && stats().tx.acks_consumed == 1, "kept %llu",
	      (unsigned long long)stats().tx.kept_bytes);
	rack(S(2), 256, 0, NULL);
	CHECK(V == ACK_DROP && stats().tx.kept_bytes == 0, "second ack");
}

static void t_fast_retransmit(void)
{
	int i;

	setup();
	handshake(&plain);
	for (i = 0; i < 5; i++)
		gdata(S(i), MSS);
	rack(S(1), 65535, 0, NULL);
	for (i = 0; i < 3; i++) {
		rack(S(1), 65535, 0, NULL);
		CHECK(V == ACK_DROP, "dupack %d verdict %d", i, V);
		CHECK(i == 2 || H.nout == 0, "early retransmit after %d dupacks", i + 1);
	}
	CHECK(H.nout == 1, "actions %d", H.nout);
	expect_xmit(0, S(1), MSS);
	CHECK(H.out[0].a.flags == ACK_TCP_ACK, "flags %x", H.out[0].a.flags);
	CHECK(stats().tx.rexmit_fast == 1 && stats().tx.rexmit_rto == 0, "counters");
	rack(S(1), 65535, 0, NULL);
	CHECK(H.nout == 0, "4th dupack retransmitted");
	rack(S(5), 65535, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0 && H.nout == 0, "all acked");
}

static void t_sack_holes(void)
{
	u32 sk[4];
	int i;

	CFG.recovery = ACK_REC_DUPACK;	/* the dupack path, as without SACK */
	setup();
	handshake(&full);
	MSS = 1448;
	for (i = 0; i < 6; i++)
		gdata(S(i), MSS);
	/* segments 1 and 3 are lost */
	rack(S(1), 256, 0, NULL);
	sk[0] = S(2), sk[1] = S(3);
	rack(S(1), 256, 1, sk);
	sk[2] = S(4), sk[3] = S(5);
	rack(S(1), 256, 2, sk);
	CHECK(H.nout == 0 && V == ACK_DROP, "early");
	sk[3] = S(6);
	rack(S(1), 256, 2, sk);
	CHECK(H.nout == 2, "actions %d", H.nout);
	expect_xmit(0, S(1), MSS);
	expect_xmit(1, S(3), MSS);
	rack(S(1), 256, 2, sk);
	CHECK(H.nout == 0, "holes retransmitted twice");
	rack(S(3), 256, 1, sk + 2);
	CHECK(H.nout == 0 && V == ACK_DROP, "partial ack: %d actions", H.nout);
	rack(S(6), 256, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0 && stats().tx.rexmit_fast == 2, "end");
}

/*
 * RACK-TLP (recovery=rack): handshake RTT 10 ms, four segments at 100 ms, the
 * first three acknowledged at 120 ms (sample 20 ms: srtt 11.25 ms).  The
 * tail is probed 2 * srtt later, long before the 200 ms RTO.
 */
static void t_rack_tail_probe(void)
{
	int i;

	setup();
	handshake(&full);
	NOW = 100 * MS;
	for (i = 0; i < 4; i++)
		gdata(S(i), MSS);
	NOW = 120 * MS;
	rack(S(3), 256, 0, NULL);
	CHECK(H.nout == 0, "retransmitted at once");
	CHECK(ack_core_next_deadline(C) == 142500000ull, "probe at %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	tick(142500000ull - 1);
	CHECK(H.nout == 0, "probe too early");
	tick(142500000ull);
	CHECK(H.nout == 1, "probe: %d actions", H.nout);
	expect_xmit(0, S(3), MSS);
	CHECK(stats().tx.tlp_probes == 1 && stats().tx.rexmit_rto == 0, "counters");
	NOW = 165 * MS;
	rack(S(4), 256, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0 && stats().tx.rexmit_fast == 1, "end");
}

/*
 * Six segments at 100 ms; at 120 ms the receiver SACKs the second: the first
 * is deemed lost only after RTT 20 ms + min_rtt / 4 = 125 ms.  @late: it
 * arrives at 122 ms (reordering, nothing resent); else it is resent at 125.
 */
static void rack_reorder(bool late)
{
	u32 sk[2] = { S(1), S(2) };
	int i;

	setup();
	handshake(&full);
	NOW = 100 * MS;
	for (i = 0; i < 6; i++)
		gdata(S(i), MSS);
	NOW = 120 * MS;
	rack(S(0), 256, 1, sk);
	CHECK(H.nout == 0, "retransmitted at once");
	CHECK(ack_core_next_deadline(C) == 125 * MS, "reordering timer at %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	if (late) {
		NOW = 122 * MS;
		rack(S(6), 256, 0, NULL);
		CHECK(H.nout == 0 && stats().tx.rexmit_fast == 0, "resent");
		CHECK(stats().tx.kept_bytes == 0, "kept");
		return;
	}
	tick(125 * MS - 1);
	CHECK(H.nout == 0, "resent too early");
	tick(125 * MS);
	CHECK(H.nout == 1, "%d actions", H.nout);
	expect_xmit(0, S(0), MSS);
	NOW = 146 * MS;
	rack(S(6), 256, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0 && stats().tx.rexmit_fast == 1 &&
	      stats().tx.rexmit_rto == 0, "end");
}

static void t_rack_reorder(void)
{
	rack_reorder(true);
}

static void t_rack_lost_after_window(void)
{
	rack_reorder(false);
}

static void t_rto_rtt_backoff(void)
{
	CFG.rto_min_ns = 1 * MS;
	setup();
	/* handshake RTT 10 ms: srtt 10, rttvar 5, rto 30 ms */
	handshake(&plain);
	NOW = 100 * MS;
	gdata(S(0), MSS);
	CHECK(ack_core_next_deadline(C) == 130 * MS, "deadline %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	NOW = 140 * MS;
	/* sample 40: rttvar 11.25, srtt 13.75, rto 58.75 ms */
	rack(S(1), 65535, 0, NULL);
	CHECK(ack_core_next_deadline(C) == 140 * MS + CFG.idle_ns, "idle deadline");
	NOW = 200 * MS;
	gdata(S(1), MSS);
	gdata(S(2), MSS);
	CHECK(ack_core_next_deadline(C) == 258750000ull, "deadline %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	tick(258749999ull);
	CHECK(H.nout == 0, "early RTO");
	tick(258750000ull);
	expect_xmit(0, S(1), MSS);
	CHECK(ack_core_next_deadline(C) == 258750000ull + 117500000ull, "backoff 1: %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	tick(376250000ull);
	expect_xmit(0, S(1), MSS);
	CHECK(ack_core_next_deadline(C) == 376250000ull + 235000000ull, "backoff 2: %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	CHECK(stats().tx.rexmit_rto == 2, "rto count");
	/* new data acknowledged: the path works, the backoff ends (no sample: Karn) */
	NOW = 700 * MS;
	rack(S(2), 65535, 0, NULL);
	expect_xmit(0, S(2), MSS);
	CHECK(ack_core_next_deadline(C) == 758750000ull, "after the new ACK: %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	NOW = 720 * MS;
	rack(S(3), 65535, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0 && H.nout == 0, "acked");
}

static void t_retry_limit_reset(void)
{
	const struct ack_action *a;

	CFG.retry_limit = 2;
	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	gdata(S(1), MSS);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	tick(ack_core_next_deadline(C));
	a = one(ACK_ACT_RESET_BOTH);
	CHECK(H.nout != 1 || (a->seq == R + 1 && a->ack == S(2) &&
			      a->wan_seq == S(0) && a->wan_ack == R + 1 &&
			      a->flags == (ACK_TCP_RST | ACK_TCP_ACK) &&
			      a->ttl == 50 && a->wan_ttl == 64),
	      "reset fields seq %u ack +%u wan_seq +%u wan_ack %u", a->seq,
	      a->ack - G, a->wan_seq - G, a->wan_ack);
	CHECK(stats().resets == 1 && stats().flows == 0 && stats().tx.kept_bytes == 0,
	      "after reset");
	CHECK(ack_core_next_deadline(C) == ACK_NO_DEADLINE, "deadline left");
	CHECK(H.live == 2, "live %ld (core and table only)", H.live);
}

/*
 * The receiver lacks S(2) up to S(@last) of what the guest sent around a
 * late S(1): the core resends them from its copies, one per partial ACK,
 * content checked, until the receiver has @end; then nothing is kept and
 * the core's memory is back to @live.
 */
static void expect_resent_from_copies(int last, u32 end, long live)
{
	int i;

	for (i = 0; i < 4; i++)
		rack(S(2), 65535, 0, NULL);
	expect_xmit(0, S(2), MSS);
	for (i = 3; i <= last; i++) {
		rack(S(i), 65535, 0, NULL);
		expect_xmit(0, S(i), end - S(i) < MSS ? end - S(i) : MSS);
	}
	rack(end, 65535, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0 && H.live == live, "live %ld, want %ld",
	      H.live, live);
}

/* The path from the guest swapped segments: the early ones wait, unacknowledged. */
static void t_guest_reorder_held(void)
{
	long live;

	setup();
	handshake(&plain);
	live = H.live;
	gdata(S(0), MSS);
	expect_ack(S(1), 65535 - MSS);
	gdata(S(2), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "an early segment was acked");
	gdata(S(3), 2 * MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "an early segment was acked");
	CHECK(stats().tx.reordered == 2 && stats().tx.kept_bytes == MSS &&
	      stats().tx.fallbacks == 0, "held: reordered %llu kept %llu",
	      (unsigned long long)stats().tx.reordered,
	      (unsigned long long)stats().tx.kept_bytes);
	/* the late one arrives: everything up to S(5) is kept and acknowledged */
	gdata(S(1), MSS);
	expect_ack(S(5), 65535 - 5 * MSS);
	CHECK(stats().tx.kept_bytes == 5 * MSS, "kept %llu",
	      (unsigned long long)stats().tx.kept_bytes);
	/* and recovered from the copies that were held */
	expect_resent_from_copies(3, S(5), live);
}

/* Reordering the core cannot explain: it falls back, the held copies go. */
static void t_guest_reorder_fallback(void)
{
	struct ack_seg a;
	long live;
	int i;

	setup();
	handshake(&plain);
	live = H.live;
	gdata(S(0), MSS);
	/* more runs of early segments than are held (64), each after a hole */
	for (i = 0; i < 64; i++)
		gdata(S(2 + 2 * i), MSS);
	CHECK(stats().tx.reordered == 64 && stats().tx.fallbacks == 0, "reordered %llu",
	      (unsigned long long)stats().tx.reordered);
	gdata(S(130), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "acked beyond the gap");
	CHECK(stats().tx.fallbacks == 1 && stats().tx.unheld == 1, "fallbacks %llu unheld %llu",
	      (unsigned long long)stats().tx.fallbacks,
	      (unsigned long long)stats().tx.unheld);
	gdata(S(1), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "acked after fallback");
	CHECK(stats().tx.kept_bytes == MSS && H.live == live + 1, "kept %llu live +%ld",
	      (unsigned long long)stats().tx.kept_bytes, H.live - live);
	/* what was acked locally is still recovered */
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	/* the guest has S(1) already; beyond it is its own business */
	rack(S(1), 65535, 0, NULL);
	CHECK(V == ACK_PASS, "ack of the fallback edge: %d", V);
	/* handed back; the flow stays known, to be acknowledged locally again */
	CHECK(stats().flows == 1 && stats().tx.kept_bytes == 0, "handed back");
	rack(S(3), 65535, 0, NULL);
	CHECK(V == ACK_PASS, "end to end");

	/* a pure ACK beyond anything seen but inside the window is no reason */
	GPORT++;
	handshake(&plain);
	gdata(S(0), MSS);
	a = seg(ACK_FROM_GUEST, ACK_TCP_ACK, S(3), R + 1, 502, 0);
	go(&a);
	CHECK(stats().tx.fallbacks == 1, "pure ACK overtaking data");
	a = seg(ACK_FROM_GUEST, ACK_TCP_ACK, S(0) + 65535 + 1, R + 1, 502, 0);
	go(&a);
	CHECK(stats().tx.fallbacks == 2, "pure ACK beyond the window");
}

/*
 * A long run of early segments is one entry whatever its length; the late
 * one, resent with the start of the run, joins what follows it.
 */
static void t_guest_reorder_runs(void)
{
	const struct ack_action *a;
	long live;
	int i;

	setup();
	handshake(&plain);
	live = H.live;
	gdata(S(0), MSS);
	expect_ack(S(1), 65535 - MSS);
	for (i = 2; i < 82; i++)
		gdata(S(i), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "an early segment was acked");
	CHECK(stats().tx.reordered == 80 && stats().tx.unheld == 0 &&
	      stats().tx.fallbacks == 0, "reordered %llu unheld %llu fallbacks %llu",
	      (unsigned long long)stats().tx.reordered, (unsigned long long)stats().tx.unheld,
	      (unsigned long long)stats().tx.fallbacks);
	gdata(S(1), 2 * MSS - 100);		/* resegmented into the run */
	a = one(ACK_ACT_ACK_TO_GUEST);
	CHECK(H.nout != 1 || a->ack == S(82), "local ACK +%u, want +%u", a->ack - G_ISN,
	      S(82) - G_ISN);
	CHECK(stats().tx.kept_bytes == 82 * MSS, "kept %llu",
	      (unsigned long long)stats().tx.kept_bytes);
	/* resent from the run's copies across the trimmed chunk */
	expect_resent_from_copies(3, S(82), live);
}

/*
 * While a segment from the guest is late, the guest's tail loss probe resends
 * the last MSS of what it sent, which may be held already or arrive before
 * the rest of its segment: the core holds the bytes it lacks and follows.
 */
static void t_guest_reorder_probe(void)
{
	long live;

	setup();
	handshake(&plain);
	live = H.live;
	gdata(S(0), MSS);
	expect_ack(S(1), 65535 - MSS);
	gdata(S(2), 2 * MSS);			/* S(1) is late */
	gdata(S(3), MSS);			/* the probe: held already */
	CHECK(V == ACK_PASS && H.nout == 0, "a duplicate was acked");
	gdata(S(6), MSS);			/* a probe ahead of its segment */
	gdata(S(4), 3 * MSS);			/* that segment, overlapping it */
	CHECK(V == ACK_PASS && H.nout == 0, "an early segment was acked");
	CHECK(stats().tx.fallbacks == 0 && stats().tx.kept_bytes == MSS,
	      "fallbacks %llu kept %llu", (unsigned long long)stats().tx.fallbacks,
	      (unsigned long long)stats().tx.kept_bytes);
	gdata(S(7) - 100, 200);			/* partly held, partly new */
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.fallbacks == 0, "partly new");
	gdata(S(1), MSS);
	expect_ack(S(7) + 100, 65535 - 7 * MSS - 100);
	CHECK(stats().tx.kept_bytes == 7 * MSS + 100, "kept %llu",
	      (unsigned long long)stats().tx.kept_bytes);
	/* the copies are the guest's bytes: resent from them */
	expect_resent_from_copies(7, S(7) + 100, live);
	CHECK(stats().tx.fallbacks == 0, "fallbacks %llu",
	      (unsigned long long)stats().tx.fallbacks);
}

static void t_guest_retransmit_reack(void)
{
	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	gdata(S(1), MSS);
	gdata(S(0), MSS);
	expect_ack(S(2), 65535 - 2 * MSS);
	CHECK(V == ACK_PASS, "verdict");
	/* overlapping repacketization keeps only the new part */
	gdata(S(1), 2 * MSS);
	expect_ack(S(3), 65535 - 3 * MSS);
	CHECK(stats().tx.kept_bytes == 3 * MSS && stats().tx.local_acks == 4 &&
	      stats().tx.fallbacks == 0, "kept %llu",
	      (unsigned long long)stats().tx.kept_bytes);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
}

static void t_fin_end_to_end(void)
{
	struct ack_seg s;

	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	s = seg(ACK_FROM_GUEST, ACK_TCP_FIN | ACK_TCP_ACK, S(1), R + 1, 502, 100);
	go(&s);
	CHECK(V == ACK_PASS && H.nout == 0, "FIN acked locally");
	rack(S(1), 65535, 0, NULL);
	CHECK(V == ACK_PASS && stats().tx.kept_bytes == 0, "receiver ack must reach the guest");
	rack(S(1) + 100, 65535, 0, NULL);
	CHECK(V == ACK_PASS && stats().flows == 1, "FIN not yet acked");
	rack(S(1) + 101, 65535, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0, "ack of FIN: %d", V);
	CHECK(stats().flows == 0, "flow not freed after FIN ack");

	/* the FIN overtakes data; data resent before it stays end to end too */
	GPORT++;
	handshake(&plain);
	gdata(S(0), MSS);
	gdata(S(2), MSS);
	s = seg(ACK_FROM_GUEST, ACK_TCP_FIN | ACK_TCP_ACK, S(3), R + 1, 502, 0);
	go(&s);
	CHECK(V == ACK_PASS && H.nout == 0, "FIN acked locally");
	gdata(S(1), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "late data acked locally after the FIN");
	gdata(S(1), 2 * MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "resent data acked locally after the FIN");
	CHECK(stats().tx.fallbacks == 0 && stats().tx.kept_bytes == MSS, "fallbacks %llu kept %llu",
	      (unsigned long long)stats().tx.fallbacks,
	      (unsigned long long)stats().tx.kept_bytes);
	gdata(S(3), MSS);
	CHECK(stats().tx.fallbacks == 1, "data beyond the FIN: no fallback");
	rack(S(3) + 1, 65535, 0, NULL);
	CHECK(stats().flows == 0 && stats().tx.kept_bytes == 0, "flow left after its FIN");
}

static void t_rst_frees(void)
{
	struct ack_seg s;

	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	s = seg(ACK_FROM_GUEST, ACK_TCP_RST, S(1), 0, 0, 0);
	go(&s);
	CHECK(V == ACK_PASS && stats().flows == 0 && stats().tx.kept_bytes == 0, "guest RST");
	GPORT = 40001;
	handshake(&plain);
	gdata(S(0), MSS);
	/* a blind RST that is only in the window does not lose kept data */
	s = seg(ACK_TO_GUEST, ACK_TCP_RST | ACK_TCP_ACK, R + 1000, S(1), 0, 0);
	go(&s);
	CHECK(V == ACK_PASS && stats().flows == 1 && stats().tx.kept_bytes == MSS,
	      "inexact remote RST");
	s = seg(ACK_TO_GUEST, ACK_TCP_RST | ACK_TCP_ACK, R + 1, S(1), 0, 0);
	go(&s);
	CHECK(V == ACK_PASS && stats().flows == 0 && stats().tx.kept_bytes == 0, "remote RST");
	CHECK(H.live == 2, "live %ld", H.live);
	CHECK(ack_core_next_deadline(C) == ACK_NO_DEADLINE, "deadline left");
}

static void t_window_scaling(void)
{
	struct hs_opts o = { 7, 2, false, false, 1460, 65535 };

	setup();
	handshake(&o);
	gdata(S(0), 1000);
	expect_ack(S(0) + 1000, (65535 - 1000) >> 2);
	/* now the receiver's window is scaled: 65535 << 2 */
	rack(S(0) + 1000, 65535, 0, NULL);
	CHECK(V == ACK_DROP && H.nout == 0, "verdict %d actions %d", V, H.nout);
	gdata(S(0) + 1000, 1000);
	expect_ack(S(0) + 2000, (262140 - 1000) >> 2);
}

static void t_window_scaling_cap(void)
{
	struct hs_opts o = { 7, 1, false, false, 1460, 65535 };

	setup();
	handshake(&o);
	/* 131070 bytes: wider than 16 bits after scaling, capped */
	rack(S(0), 65535, 0, NULL);
	gdata(S(0), 1000);
	expect_ack(S(0) + 1000, 65035);
	/* 14 is the largest shift (RFC 7323) */
	ack_core_destroy(C);
	CHECK(H.live == 0, "leak");
	o.rws = 20;
	setup();
	handshake(&o);
	rack(S(0), 4, 0, NULL);		/* 4 << 14 = 65536 */
	gdata(S(0), 1000);
	expect_ack(S(0) + 1000, (65536 - 1000) >> 14);
}

static void t_flow_budget(void)
{
	struct ack_seg s;

	CFG.flow_budget = 4000;
	setup();
	handshake(&plain);
	MSS = 1460;
	gdata(S(0), 1460);
	expect_ack(S(0) + 1460, 2540);
	gdata(S(0) + 1460, 1460);
	expect_ack(S(0) + 2920, 1080);
	gdata(S(0) + 2920, 1080);
	expect_ack(S(0) + 4000, 0);
	CHECK(stats().tx.kept_bytes == 4000, "kept");
	/* a zero-window probe (Linux: seq una-1, no data) gets the ACK again */
	s = seg(ACK_FROM_GUEST, ACK_TCP_ACK, S(0) + 3999, R + 1, 502, 0);
	go(&s);
	expect_ack(S(0) + 4000, 0);
	/* the receiver frees 1460: the blocked guest gets a window update */
	rack(S(0) + 1460, 65535, 0, NULL);
	CHECK(V == ACK_DROP, "verdict %d", V);
	expect_ack(S(0) + 4000, 1460);
	gdata(S(0) + 4000, 1460);
	expect_ack(S(0) + 5460, 0);
	CHECK(stats().tx.kept_bytes == 4000 && stats().tx.fallbacks == 0, "no loss");
	rack(S(0) + 5460, 65535, 0, NULL);
	expect_ack(S(0) + 5460, 4000);
	CHECK(stats().tx.kept_bytes == 0, "kept");
}

static void t_vif_budget(void)
{
	CFG.flow_budget = 4000;
	CFG.vif_budget = 6000;
	setup();
	GPORT = 40000;
	handshake(&plain);
	GPORT = 40001;
	handshake(&plain);
	MSS = 1460;
	GPORT = 40000;
	gdata(S(0), 1460);
	expect_ack(S(0) + 1460, 2540);	/* A: 4000 committed */
	GPORT = 40001;
	gdata(S(0), 1460);
	expect_ack(S(0) + 1460, 540);	/* B: what is left of 6000 */
	gdata(S(0) + 1460, 540);
	expect_ack(S(0) + 2000, 0);
	CHECK(stats().tx.kept_bytes == 3460, "kept %llu",
	      (unsigned long long)stats().tx.kept_bytes);
	/* A's receiver acks: the vif budget frees and B is reopened */
	GPORT = 40000;
	rack(S(0) + 1460, 65535, 0, NULL);
	CHECK(V == ACK_DROP, "verdict");
	GPORT = 40001;
	expect_ack(S(0) + 2000, 1460);
	CHECK(H.nout != 1 || H.out[0].key.gport == 40001, "update went to port %u",
	      H.out[0].key.gport);
	CHECK(stats().tx.fallbacks == 0, "fallback");
}

/*
 * Only the flows the vif budget held back are offered freed room, and only
 * as much as makes a segment; a held-back flow that ends leaves the queue.
 */
static void t_vif_budget_queue(void)
{
	struct ack_seg s;

	CFG.flow_budget = 6000;
	CFG.vif_budget = 10000;
	CFG.flow_limit = 2;	/* floors of 2500: the queue, not the floors, decides */
	setup();
	for (GPORT = 40000; GPORT < 40002; GPORT++)
		handshake(&plain);
	MSS = 1460;
	GPORT = 40000;
	gdata(S(0), 1460);
	expect_ack(S(1), 4540);		/* A: its flow budget, 6000 */
	GPORT = 40001;
	gdata(S(0), 1460);
	expect_ack(S(1), 2540);		/* B: the rest of the vif's 10000 */
	gdata(S(1), 1460);
	expect_ack(S(2), 1080);		/* held back by the vif budget */
	/* A's receiver frees less than a segment: B is not offered it */
	GPORT = 40000;
	rack(S(0) + 1000, 65535, 0, NULL);
	CHECK(H.nout == 0, "%d actions for 1000 bytes freed", H.nout);
	/* a segment's worth: B's window opens */
	rack(S(1), 65535, 0, NULL);
	GPORT = 40001;
	expect_ack(S(2), 2540);
	CHECK(stats().tx.fallbacks == 0, "fallback");

	/* B, held back again, is reset while it waits: room A frees finds no one */
	s = seg(ACK_TO_GUEST, ACK_TCP_RST, R + 1, 0, 0, 0);
	go(&s);
	CHECK(stats().flows == 1, "flows %llu", (unsigned long long)stats().flows);
	GPORT = 40000;
	gdata(S(1), 1460);
	rack(S(2), 65535, 0, NULL);
	CHECK(H.nout == 0 || H.out[0].key.gport == 40000, "an update for the reset flow");
}

/*
 * Flows that come first and idle with large windows do not starve later
 * ones: each may promise its floor (vif budget / 2 / flow_limit halves)
 * whatever the others hold, the rest of the budget goes first come first
 * served, and a flow forgotten leaves its room to the ones held back.
 */
static void t_vif_budget_floor(void)
{
	struct ack_seg s;

	CFG.vif_budget = 40000;
	CFG.flow_limit = 4;	/* floors of 5000, 20000 shared */
	setup();
	for (GPORT = 40000; GPORT < 40004; GPORT++)
		handshake(&plain);
	MSS = 1460;
	GPORT = 40000;
	gdata(S(0), 1460);
	expect_ack(S(1), 23540);	/* A: its floor and all that is shared */
	for (GPORT = 40001; GPORT < 40004; GPORT++) {
		gdata(S(0), 1460);
		expect_ack(S(1), 3540);	/* B, C, D: their floors (none without them) */
	}
	GPORT = 40001;
	gdata(S(1), 1460);
	expect_ack(S(2), 2080);		/* B, held back by the budget, waits */
	gdata(S(2), 1460);
	expect_ack(S(3), 620);
	/* A is forgotten: B is offered what A held, in the same call */
	GPORT = 40000;
	s = seg(ACK_TO_GUEST, ACK_TCP_RST, R + 1, 0, 0, 0);
	go(&s);
	CHECK(stats().flows == 3, "flows %llu", (unsigned long long)stats().flows);
	CHECK(H.nout == 1 && H.out[0].a.type == ACK_ACT_ACK_TO_GUEST &&
	      H.out[0].key.gport == 40001 && H.out[0].a.window == 20620,
	      "%d actions, first to port %u window %u; want B's update to 20620",
	      H.nout, H.nout ? H.out[0].key.gport : 0, H.nout ? H.out[0].a.window : 0);
	CHECK(stats().tx.fallbacks == 0, "fallback");
}

static void t_wraparound(void)
{
	int i;
	u32 sk[2];

	G_ISN = 0xfffff000u;
	setup();
	handshake(&full);
	for (i = 0; i < 5; i++) {
		gdata(S(i), MSS);
		expect_ack(S(i + 1), (65535 - (i + 1) * MSS) >> 8);
	}
	CHECK(S(3) < S(2), "did not wrap");
	rack(S(1), 256, 0, NULL);
	sk[0] = S(3), sk[1] = S(5);
	for (i = 0; i < 3; i++)
		rack(S(1), 256, 1, sk);
	/* both segments below the SACKed block, across 2^32 */
	CHECK(H.nout == 2, "actions %d", H.nout);
	expect_xmit(0, S(1), MSS);
	expect_xmit(1, S(2), MSS);
	rack(S(3), 256, 1, sk);
	CHECK(H.nout == 0 && V == ACK_DROP, "partial ack");
	rack(S(5), 256, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0, "kept %llu",
	      (unsigned long long)stats().tx.kept_bytes);
}

static void t_gso_64k(void)
{
	struct hs_opts o = full;
	long chunks;

	CFG.recovery = ACK_REC_DUPACK;	/* the dupack path, as without SACK */
	o.synack_win = 65535;
	CFG.flow_budget = 1 << 20;
	setup();
	handshake(&o);
	rack(S(0), 1024, 0, NULL);	/* 256 KiB */
	chunks = H.live;
	{
		/* as the glue would pass a GSO skb: not linear */
		struct ack_seg s = seg(ACK_FROM_GUEST, ACK_TCP_ACK, S(0), R + 1, 502, 65536);

		s.payload = NULL;
		s.payload_ctx = &s.seq;
		go(&s);
	}
	expect_ack(S(0) + 65536, (262144 - 65536) >> 8);
	CHECK(stats().tx.kept_bytes == 65536, "kept");
	chunks = H.live - chunks;
	CHECK(chunks == (65536 + 4095 - 16) / (4096 - 16), "chunks %ld", chunks);
	rack(S(0) + 30000, 1024, 0, NULL);
	CHECK(stats().tx.kept_bytes == 35536, "partial");
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0) + 30000, MSS);
	rack(S(0) + 65536, 1024, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0 && H.live == 3, "live %ld", H.live);
}

static void t_to_guest_rewrite(void)
{
	struct ack_seg s;

	CFG.recovery = ACK_REC_DUPACK;	/* the dupack path, as without SACK */
	setup();
	handshake(&full);
	gdata(S(0), MSS);
	gdata(S(1), MSS);
	/* receiver data acking only S(1), with a SACK block: rewritten */
	s = seg(ACK_TO_GUEST, ACK_TCP_ACK | ACK_TCP_PSH, R + 1, S(1), 256, 100);
	s.nsack = 1;
	s.sack[0].start = S(1) + 500;
	s.sack[0].end = S(2);
	go(&s);
	CHECK(V == ACK_REWRITE && RW.ack == S(2) && RW.strip_sack &&
	      RW.window == (65535 - 2 * MSS) >> 8,
	      "verdict %d ack +%u strip %d win %u", V, RW.ack - G, RW.strip_sack,
	      RW.window);
	CHECK(H.nout == 0, "actions");
	/* acking everything: unchanged */
	s = seg(ACK_TO_GUEST, ACK_TCP_ACK | ACK_TCP_PSH, R + 101, S(2), 256, 100);
	go(&s);
	CHECK(V == ACK_PASS, "verdict %d", V);
	/* a receiver FIN is never consumed */
	s = seg(ACK_TO_GUEST, ACK_TCP_ACK | ACK_TCP_FIN, R + 201, S(2), 256, 0);
	go(&s);
	CHECK(V == ACK_PASS, "FIN verdict %d", V);
	gdata(S(2), MSS);
	CHECK(H.nout == 1 && H.out[0].a.seq == R + 202, "local ACK seq %u after remote FIN",
	      H.out[0].a.seq);
	CHECK(stats().tx.acks_rewritten == 1, "rewritten");
}

static void t_preopen_untouched(void)
{
	setup();
	gdata(S(0), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "data");
	rack(S(1), 256, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0, "ack");
	CHECK(stats().flows == 0 && H.live == 2, "state created");
	/* a SYN-ACK from the guest with no SYN seen: opened before attach */
	{
		struct ack_seg s = seg(ACK_FROM_GUEST, ACK_TCP_SYN | ACK_TCP_ACK, G, R + 1, 100, 0);

		go(&s);
		CHECK(V == ACK_PASS && stats().flows == 0, "synack tracked");
	}
}

static void t_flow_limit(void)
{
	CFG.flow_limit = 2;
	setup();
	for (GPORT = 40000; GPORT < 40003; GPORT++)
		handshake(&plain);
	CHECK(stats().flows == 2 && stats().flows_untracked == 1, "flows %llu untracked %llu",
	      (unsigned long long)stats().flows,
	      (unsigned long long)stats().flows_untracked);
	GPORT = 40002;
	gdata(S(0), MSS);
	CHECK(H.nout == 0 && V == ACK_PASS, "untracked flow acked");
	GPORT = 40001;
	gdata(S(0), MSS);
	CHECK(H.nout == 1, "tracked flow not acked");
}

static void t_port_filter(void)
{
	struct ack_seg s;

	CFG.port = 443;
	setup();
	handshake(&plain);
	CHECK(stats().flows == 0, "port 80 tracked");
	s = seg(ACK_TO_GUEST, ACK_TCP_SYN, R, 0, 65535, 0);
	s.dport = 443;
	go(&s);
	CHECK(stats().flows == 1, "SYN to port 443 not tracked");
}

static void t_reno(void)
{
	CFG.cc = ACK_CC_RENO;
	CFG.init_cwnd = 4;
	setup();
	handshake(&plain);
	MSS = 1460;
	gdata(S(0), MSS);
	expect_ack(S(1), 4380);		/* cwnd 5840 - 1460 in flight */
	gdata(S(1), MSS);
	gdata(S(2), MSS);
	gdata(S(3), MSS);
	expect_ack(S(4), 0);
	/* slow start: +1 MSS per ACK; the blocked guest is told */
	rack(S(1), 65535, 0, NULL);
	expect_ack(S(4), 2920);
	/* loss of S(1): three dupacks halve cwnd (flight 4380: ssthresh 2920) */
	rack(S(1), 65535, 0, NULL);
	rack(S(1), 65535, 0, NULL);
	rack(S(1), 65535, 0, NULL);
	expect_xmit(0, S(1), MSS);
	gdata(S(3), MSS);		/* the guest retransmits: window 0 now */
	expect_ack(S(4), 0);
	/* recovery ends: cwnd = ssthresh = 2920 */
	rack(S(4), 65535, 0, NULL);
	expect_ack(S(4), 2920);
	/* RTO: cwnd 1 MSS */
	gdata(S(4), MSS);
	gdata(S(5), MSS);
	expect_ack(S(6), 0);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(4), MSS);
	rack(S(5), 65535, 0, NULL);
	/*
	 * partial ack in loss recovery: slow start (cwnd 2920), the next lost
	 * segment is resent and the guest may send one more
	 */
	CHECK(H.nout == 2, "actions %d", H.nout);
	expect_xmit(0, S(5), MSS);
	CHECK(H.out[1].a.type == ACK_ACT_ACK_TO_GUEST && H.out[1].a.ack == S(6) &&
	      H.out[1].a.window == 1460, "window update %u", H.out[1].a.window);
	rack(S(6), 65535, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0, "kept");
}

static void t_drain(void)
{
	struct ack_seg s;

	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	gdata(S(1), MSS);
	ack_core_drain(C);
	CHECK(ack_core_kept_total(C) == 2 * MSS, "kept");
	gdata(S(2), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "acked while draining");
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	rack(S(1), 65535, 0, NULL);
	CHECK(V == ACK_DROP, "guest has this ack");
	rack(S(2), 65535, 0, NULL);
	CHECK(V == ACK_PASS, "beyond the drain edge: %d", V);
	CHECK(ack_core_kept_total(C) == 0 && stats().flows == 0, "drained");
	CHECK(stats().tx.fallbacks == 0, "drain counted as fallback");
	GPORT = 40001;
	s = seg(ACK_FROM_GUEST, ACK_TCP_SYN, G, 0, 100, 0);
	go(&s);
	CHECK(stats().flows == 0, "tracked while draining");
}

static void t_destroy_frees(void)
{
	int i;

	setup();
	for (GPORT = 40000; GPORT < 40010; GPORT++) {
		handshake(&full);
		for (i = 0; i < 10; i++)
			gdata(S(i), MSS);
	}
	CHECK(stats().tx.kept_bytes == 100 * MSS && H.live > 12, "kept");
	/* the runner destroys and counts */
}

static void t_alloc_failure(void)
{
	setup();
	handshake(&plain);
	H.fail_in = 1;
	gdata(S(0), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "acked without memory");
	CHECK(stats().tx.fallbacks == 1 && stats().alloc_failures == 1 &&
	      stats().flows == 1, "fallback %llu", (unsigned long long)stats().tx.fallbacks);

	/* with kept data: it is still recovered */
	GPORT = 40001;
	handshake(&plain);
	gdata(S(0), 3000);
	H.fail_in = 1;
	gdata(S(0) + 3000, 3000);	/* needs a new chunk */
	CHECK(H.nout == 0, "acked without memory");
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	rack(S(0) + 3000, 65535, 0, NULL);
	CHECK(stats().flows == 2 && stats().tx.kept_bytes == 0, "handed back");

	/* no memory for a flow: untracked */
	GPORT = 40002;
	H.fail_in = 1;
	handshake(&plain);
	CHECK(stats().flows_untracked == 1, "untracked");
}

static void t_syn_reuse(void)
{
	setup();
	handshake(&plain);
	G_ISN = 77777;
	handshake(&plain);
	gdata(S(0), 100);
	expect_ack(S(0) + 100, 65435);
	CHECK(stats().flows == 1, "flows");
}

static void t_ece_not_consumed(void)
{
	struct ack_seg s;

	setup();
	handshake(&full);
	gdata(S(0), MSS);
	gdata(S(1), MSS);
	s = seg(ACK_TO_GUEST, ACK_TCP_ACK | ACK_TCP_ECE, R + 1, S(1), 256, 0);
	go(&s);
	CHECK(V == ACK_REWRITE && RW.ack == S(2) && !RW.strip_sack &&
	      RW.window == (65535 - 2 * MSS) >> 8, "verdict %d ack +%u", V, RW.ack - G);
	CHECK(stats().tx.acks_consumed == 0 && stats().tx.kept_bytes == MSS, "consumed");
}

static void t_zero_window_persist(void)
{
	CFG.retry_limit = 1;
	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	/* the receiver answers, but takes nothing: window 0 */
	rack(S(0), 0, 0, NULL);
	CHECK(V == ACK_DROP, "verdict %d", V);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	rack(S(0), 0, 0, NULL);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	CHECK(stats().resets == 0, "reset a reachable receiver");
	rack(S(1), 65535, 0, NULL);
	CHECK(stats().tx.kept_bytes == 0 && stats().flows == 1, "window opened");
	/* silence: reset after retry_limit RTOs */
	gdata(S(1), MSS);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(1), MSS);
	tick(ack_core_next_deadline(C));
	one(ACK_ACT_RESET_BOTH);
}

static void t_guest_overruns_window(void)
{
	CFG.flow_budget = 4000;
	setup();
	handshake(&plain);
	MSS = 1460;
	gdata(S(0), MSS);
	gdata(S(1), MSS);
	expect_ack(S(2), 1080);
	gdata(S(2), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "over the window: verdict %d, %d actions", V, H.nout);
	CHECK(stats().tx.fallbacks == 1 && stats().tx.kept_bytes == 2 * MSS, "fallback");
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	rack(S(3), 65535, 0, NULL);
	CHECK(V == ACK_PASS && stats().flows == 1 && stats().tx.kept_bytes == 0,
	      "ack beyond the kept data reaches the guest");
}

static void t_ipv6(void)
{
	const struct rec *r;

	FAMILY = 10;
	setup();
	handshake(&full);
	FAMILY = 2;
	gdata(S(0), MSS);
	CHECK(H.nout == 0, "the IPv4 twin was acked");
	FAMILY = 10;
	gdata(S(0), MSS);
	r = &H.out[0];
	expect_ack(S(1), (65535 - MSS) >> 8);
	CHECK(r->key.family == 10 && r->key.gaddr[0] == 0x20 && r->key.gaddr[15] == 2 &&
	      r->key.raddr[4] == 1 && r->key.raddr[15] == 1, "addresses");
}

static void t_stats(void)
{
	struct ack_stats st;
	int i;

	CFG.retry_limit = 0;
	setup();
	handshake(&plain);
	for (i = 0; i < 5; i++)
		gdata(S(i), MSS);
	rack(S(2), 65535, 0, NULL);
	for (i = 0; i < 3; i++)
		rack(S(2), 65535, 0, NULL);
	GPORT = 40001;
	handshake(&plain);
	gdata(S(1), MSS);	/* early: held */
	gdata(S(0) + CFG.flow_budget, MSS);	/* beyond the budget: fall back */
	GPORT = 40002;
	handshake(&plain);
	gdata(S(0), MSS);
	tick(ack_core_next_deadline(C));	/* 40000's RTO: reset */
	st = stats();
	CHECK(st.flows == 2 && st.flows_created == 3 && st.flows_untracked == 0 &&
	      st.tx.local_acks == 6 && st.tx.kept_bytes == MSS && st.tx.kept_peak == 5 * MSS &&
	      st.tx.rexmit_fast == 1 && st.tx.rexmit_rto == 0 && st.tx.acks_consumed == 4 &&
	      st.tx.reordered == 1 && st.tx.fallbacks == 1 && st.resets == 1 &&
	      st.alloc_failures == 0,
	      "flows %llu/%llu acks %llu kept %llu/%llu fast %llu consumed %llu fb %llu resets %llu",
	      (unsigned long long)st.flows, (unsigned long long)st.flows_created,
	      (unsigned long long)st.tx.local_acks, (unsigned long long)st.tx.kept_bytes,
	      (unsigned long long)st.tx.kept_peak, (unsigned long long)st.tx.rexmit_fast,
	      (unsigned long long)st.tx.acks_consumed, (unsigned long long)st.tx.fallbacks,
	      (unsigned long long)st.resets);
}

static void t_idle_timeouts(void)
{
	struct ack_seg s;

	CFG.idle_ns = 5000 * MS;
	CFG.handshake_ns = 1000 * MS;
	setup();
	s = seg(ACK_FROM_GUEST, ACK_TCP_SYN, G, 0, 100, 0);
	go(&s);
	CHECK(ack_core_next_deadline(C) == 1000 * MS, "handshake deadline %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	tick(1000 * MS);
	CHECK(stats().flows == 0 && H.nout == 0, "half-open flow kept");
	GPORT = 40001;
	NOW = 2000 * MS;
	handshake(&plain);
	gdata(S(0), MSS);
	rack(S(1), 65535, 0, NULL);
	CHECK(ack_core_next_deadline(C) == NOW + 5000 * MS, "idle deadline");
	tick(NOW + 4999 * MS);
	CHECK(stats().flows == 1, "freed early");
	tick(NOW + 1 * MS);
	CHECK(stats().flows == 0 && H.nout == 0, "idle flow kept");
	CHECK(ack_core_next_deadline(C) == ACK_NO_DEADLINE, "deadline left");
}

static void t_sack_dupack_window(void)
{
	u32 sk[2];
	int i;

	CFG.recovery = ACK_REC_DUPACK;	/* the dupack path, as without SACK */
	setup();
	handshake(&full);
	for (i = 0; i < 4; i++)
		gdata(S(i), MSS);
	rack(S(1), 256, 0, NULL);
	sk[0] = S(2);
	for (i = 0; i < 3; i++) {
		/* the receiver's window moves while it queues out of order */
		sk[1] = S(3 + (i ? 1 : 0));
		rack(S(1), 250 - i, 1, sk);
		CHECK(i == 2 || H.nout == 0, "early retransmit");
	}
	CHECK(H.nout == 1, "actions %d", H.nout);
	expect_xmit(0, S(1), MSS);
}

static void t_mss_min(void)
{
	struct hs_opts o = full;

	CFG.recovery = ACK_REC_DUPACK;	/* the dupack path, as without SACK */
	o.rmss = 8960;		/* the guest's 1460 is the limit */
	setup();
	handshake(&o);
	gdata(S(0), 3000);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), 1448);
}

/* ---- rx: data from the remote, acknowledged in Dom0 for the guest ---- */

/* Window the guest offers in test_ack's full handshake: 502 << 7. */
#define GWND	64256u

static void t_rx_inorder_local_ack(void)
{
	const struct ack_action *a;

	CFG.dirs = ACK_DIR_RX;
	setup();
	handshake(&full);
	rdata(T(0), MSS);
	CHECK(V == ACK_PASS, "verdict %d", V);
	a = one(ACK_ACT_ACK_TO_WAN);
	/* in the guest's name: its window 64256 minus what is kept, >> 7 */
	CHECK(H.nout != 1 || (a->seq == G + 1 && a->ack == T(1) &&
			      a->window == (GWND - MSS) >> 7 && a->flags == ACK_TCP_ACK),
	      "seq +%u ack +%u win %u", a->seq - G, a->ack - R, a->window);
	CHECK(H.nout != 1 || (a->has_ts && a->tsval == 101 && a->tsecr == 7001 &&
			      a->ttl == 64 && a->tos == 2 && a->flowlabel == 0),
	      "ts %u/%u ttl %u tos %u", a->tsval, a->tsecr, a->ttl, a->tos);
	rdata(T(1), MSS);
	expect_wack(T(2), (GWND - 2 * MSS) >> 7);
	CHECK(stats().rx.local_acks == 2 && stats().rx.kept_bytes == 2 * MSS &&
	      stats().tx.local_acks == 0, "rx acks %llu kept %llu",
	      (unsigned long long)stats().rx.local_acks,
	      (unsigned long long)stats().rx.kept_bytes);
	/*
	 * the guest's own ACK: the remote had it from Dom0, but it opens the
	 * window by a segment or more: it goes on as Dom0's window update
	 */
	gack(T(2), 502, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.ack == T(2) && RW.window == 502 && H.nout == 0,
	      "guest ACK verdict %d ack +%u win %u, %d actions", V, RW.ack - R, RW.window,
	      H.nout);
	CHECK(stats().rx.kept_bytes == 0 && stats().rx.acks_rewritten == 1, "kept %llu",
	      (unsigned long long)stats().rx.kept_bytes);
	/* one that does not: consumed */
	rdata(T(2), MSS);
	expect_wack(T(3), (GWND - MSS) >> 7);
	gack(T(3), 502, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.ack == T(3) && RW.window == 502, "verdict %d", V);
	gack(T(3), 502, 0, NULL);
	CHECK(V == ACK_DROP && H.nout == 0, "guest ACK verdict %d", V);
	CHECK(stats().rx.acks_consumed == 1 && stats().rx.kept_bytes == 0, "consumed");
	/* dir=rx leaves the guest's data alone */
	GACK = T(3);
	gdata(S(0), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "tx acked with dir=rx");
}

/*
 * rx_grace: a guest that acknowledges within it has its own ACKs passed on
 * as they are (its ACK clock, its windows); the core's ACK comes only when
 * the guest has been silent for the grace with data kept.
 */
static u64 grace_setup(void)
{
	CFG.dirs = ACK_DIR_RX;
	CFG.rx_grace_ns = 1 * MS;
	setup();
	handshake(&full);
	return NOW;
}

static void expect_grace_end(u64 local, u64 prompt)
{
	CHECK(stats().rx.local_acks == local && stats().rx.acks_prompt == prompt &&
	      stats().rx.kept_bytes == 0, "rx local acks %llu prompt %llu kept %llu",
	      (unsigned long long)stats().rx.local_acks,
	      (unsigned long long)stats().rx.acks_prompt,
	      (unsigned long long)stats().rx.kept_bytes);
}

static void t_rx_grace_guest_prompt(void)
{
	u64 t0 = grace_setup();
	u32 sk[2] = { T(2), T(3) };

	rdata(T(0), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "verdict %d, %d actions", V, H.nout);
	rdata(T(1), MSS);
	rdata(T(2), MSS);
	CHECK(H.nout == 0 && stats().rx.kept_bytes == 3 * MSS, "%d actions kept %llu",
	      H.nout, (unsigned long long)stats().rx.kept_bytes);
	CHECK(ack_core_next_deadline(C) == t0 + 1 * MS, "deadline +%llu us",
	      (unsigned long long)(ack_core_next_deadline(C) - t0) / 1000);
	/* the guest's ACK of the first goes on as it is; the rest is owed from now */
	NOW += MS / 2;
	gack(T(1), 500, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0, "verdict %d, %d actions", V, H.nout);
	CHECK(ack_core_next_deadline(C) == NOW + 1 * MS, "deadline +%llu us",
	      (unsigned long long)(ack_core_next_deadline(C) - NOW) / 1000);
	/* the guest's SACK blocks are news of its path, Dom0's to act on: stripped */
	NOW += MS / 2;
	gack(T(2), 500, 1, sk);
	CHECK(V == ACK_REWRITE && RW.ack == T(2) && RW.window == 500 && RW.strip_sack &&
	      H.nout == 0, "verdict %d ack +%u win %u strip %d, %d actions", V, RW.ack - R,
	      RW.window, RW.strip_sack, H.nout);
	/* its duplicate: consumed, Dom0 resends on the guest's path as it does */
	gack(T(2), 500, 1, sk);
	CHECK(V == ACK_DROP, "duplicate ACK verdict %d", V);
	NOW += MS / 2;
	gack(T(3), 502, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0, "verdict %d, %d actions", V, H.nout);
	tick(NOW + 5 * MS);
	CHECK(H.nout == 0, "%d actions after the guest answered all", H.nout);
	expect_grace_end(0, 3);
}

static void t_rx_grace_guest_late(void)
{
	u64 t0 = grace_setup();

	rdata(T(0), MSS);
	NOW += MS / 4;
	rdata(T(1), MSS);
	CHECK(H.nout == 0, "%d actions", H.nout);
	/* the grace runs from the first segment not acknowledged */
	tick(t0 + 1 * MS - 1);
	CHECK(H.nout == 0, "%d actions before the grace ended", H.nout);
	tick(t0 + 1 * MS);
	expect_wack(T(2), (GWND - 2 * MSS) >> 7);
	CHECK(stats().rx.local_acks == 1, "rx local acks %llu",
	      (unsigned long long)stats().rx.local_acks);
	/* the guest's ACK of what the remote has from Dom0: consumed */
	gack(T(2), 478, 0, NULL);
	CHECK(V == ACK_DROP && H.nout == 0, "verdict %d, %d actions", V, H.nout);
	/* more, and the guest's ACK of it in time: passed on as it is */
	rdata(T(2), MSS);
	CHECK(H.nout == 0, "%d actions", H.nout);
	gack(T(3), 478, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0, "verdict %d, %d actions", V, H.nout);
	tick(NOW + 5 * MS);
	CHECK(H.nout == 0, "%d actions: nothing was owed", H.nout);
	expect_grace_end(1, 1);
}

static void t_rx_guest_drop_rexmit(void)
{
	const struct ack_action *a;
	u32 sk[2];
	int i;

	CFG.dirs = ACK_DIR_RX;
	CFG.retry_limit = 2;
	setup();
	handshake(&full);
	for (i = 0; i < 5; i++) {
		rdata(T(i), MSS);
		expect_wack(T(i + 1), (GWND - (i + 1) * MSS) >> 7);
	}
	/*
	 * the guest lost T(1) (full ring, netback drop): three dupacks.  Its
	 * ACK of T(1) opens a segment, but the remote has 39 more: consumed.
	 */
	sk[0] = T(2), sk[1] = T(5);
	gack(T(1), 502, 0, NULL);
	CHECK(V == ACK_DROP && H.nout == 0, "first ack: verdict %d", V);
	for (i = 0; i < 3; i++) {
		gack(T(1), 502, 1, sk);
		CHECK(V == ACK_DROP, "dupack %d verdict %d", i, V);
		CHECK(i == 2 || H.nout == 0, "early retransmit after %d dupacks", i + 1);
	}
	CHECK(H.nout == 1, "actions %d", H.nout);
	expect_gxmit(0, T(1), MSS);
	a = &H.out[0].a;
	/* in the remote's name: its latest ack, window and timestamps */
	CHECK(a->flags == ACK_TCP_ACK && a->ack == G + 1 && a->window == 256 &&
	      a->ttl == 50 && a->flowlabel == 0x12345 && a->has_ts &&
	      a->tsval == 7005 && a->tsecr == 101,
	      "flags %x ack +%u win %u ttl %u ts %u/%u", a->flags, a->ack - G,
	      a->window, a->ttl, a->tsval, a->tsecr);
	CHECK(stats().rx.rexmit_fast == 1 && stats().tx.rexmit_fast == 0, "counters");
	gack(T(5), 502, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.ack == T(5) && RW.window == 502 &&
	      stats().rx.kept_bytes == 0, "all acked: verdict %d", V);

	/* a guest that stops answering: RTOs, then both sides are reset */
	rdata(T(5), MSS);
	tick(ack_core_next_deadline(C));
	expect_gxmit(0, T(5), MSS);
	CHECK(H.out[0].a.flags == (ACK_TCP_ACK | ACK_TCP_PSH), "flags %x", H.out[0].a.flags);
	tick(ack_core_next_deadline(C));
	expect_gxmit(0, T(5), MSS);
	tick(ack_core_next_deadline(C));
	a = one(ACK_ACT_RESET_BOTH);
	CHECK(H.nout != 1 || (a->seq == T(5) && a->ack == G + 1 &&
			      a->wan_seq == G + 1 && a->wan_ack == T(6) &&
			      a->ttl == 50 && a->wan_ttl == 64),
	      "reset seq +%u ack +%u wan_seq +%u wan_ack +%u", a->seq - R,
	      a->ack - G, a->wan_seq - G, a->wan_ack - R);
	CHECK(stats().resets == 1 && stats().rx.rexmit_rto == 2 && stats().flows == 0 &&
	      stats().rx.kept_bytes == 0 && H.live == 2, "after reset: live %ld", H.live);
}

/*
 * Issue 12: the guest's ACKs that trail Dom0's go on only when the remote is
 * short of window; the local ACKs carry the window the guest opens.
 */
static void t_rx_trailing_window_updates(void)
{
	int i;

	CFG.dirs = ACK_DIR_RX;
	setup();
	handshake(&full);
	for (i = 0; i < 4; i++)
		rdata(T(i), MSS);
	expect_wack(T(4), (GWND - 4 * MSS) >> 7);
	/* the guest acknowledges T(1) and opens 10 segments: the remote has 40 */
	gack(T(1), (GWND + 9 * MSS) >> 7, 0, NULL);
	CHECK(V == ACK_DROP && H.nout == 0 && stats().rx.acks_consumed == 1,
	      "trailing ACK: verdict %d", V);
	/* the next local ACK gives the remote that window */
	rdata(T(4), MSS);
	expect_wack(T(5), (T(1) + ((GWND + 9 * MSS) >> 7 << 7) - T(5)) >> 7);
	/* the guest's ACK of all Dom0 acknowledged, a segment more: passed */
	gack(T(5), (GWND + 11 * MSS) >> 7, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.ack == T(5) && RW.window == (GWND + 11 * MSS) >> 7,
	      "caught up: verdict %d win %u", V, RW.window);
	/* a remote that used most of its window hears of more at once */
	for (i = 5; i < 50; i++)
		rdata(T(i), MSS);
	gack(T(6), (GWND + 60 * MSS) >> 7, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.ack == T(50) &&
	      RW.window == (T(6) + ((GWND + 60 * MSS) >> 7 << 7) - T(50)) >> 7,
	      "short of window: verdict %d win %u", V, RW.window);
	CHECK(stats().rx.acks_consumed == 1 && stats().rx.acks_rewritten == 2, "counters");
}

static void t_rx_sack_holes(void)
{
	u32 sk[4];
	int i;

	CFG.dirs = ACK_DIR_RX;
	setup();
	handshake(&full);
	for (i = 0; i < 6; i++)
		rdata(T(i), MSS);
	/* the guest lost T(1) and T(3) */
	gack(T(1), 502, 0, NULL);
	sk[0] = T(2), sk[1] = T(3);
	gack(T(1), 502, 1, sk);
	sk[2] = T(4), sk[3] = T(5);
	gack(T(1), 502, 2, sk);
	CHECK(H.nout == 0 && V == ACK_DROP, "early");
	sk[3] = T(6);
	gack(T(1), 502, 2, sk);
	CHECK(V == ACK_DROP && H.nout == 2, "verdict %d actions %d", V, H.nout);
	expect_gxmit(0, T(1), MSS);
	expect_gxmit(1, T(3), MSS);
	/* (the partial ACK opens the window, not by half: consumed) */
	gack(T(3), 502, 1, sk + 2);
	CHECK(H.nout == 0 && V == ACK_DROP, "partial ack: %d actions, verdict %d", H.nout, V);
	gack(T(6), 502, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.window == 502 && stats().rx.kept_bytes == 0 &&
	      stats().rx.rexmit_fast == 2, "end");
}

static void t_rx_window_limits(void)
{
	CFG.dirs = ACK_DIR_RX;
	CFG.flow_budget = 4000;
	GWIN = 65535;
	setup();
	handshake(&plain);
	MSS = 1460;
	rdata(T(0), MSS);
	expect_wack(T(1), 4000 - MSS);
	rdata(T(1), MSS);
	expect_wack(T(2), 4000 - 2 * MSS);
	/* beyond the budget: passed on unkept, not acknowledged, no fallback */
	rdata(T(2), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "verdict %d, %d actions", V, H.nout);
	CHECK(stats().rx.fallbacks == 0 && stats().rx.kept_bytes == 2 * MSS, "fallback");
	/*
	 * the guest acks all of it: the remote needs that ACK (Dom0 never
	 * acknowledged T(2)), with the window cut to the budget
	 */
	gack(T(3), 65535, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.ack == T(3) && RW.window == 4000 && !RW.strip_sack,
	      "verdict %d ack +%u win %u", V, RW.ack - R, RW.window);
	CHECK(H.nout == 0 && stats().rx.kept_bytes == 0 && stats().rx.acks_rewritten == 1,
	      "kept %llu", (unsigned long long)stats().rx.kept_bytes);
	rdata(T(3), MSS);
	expect_wack(T(4), 4000 - MSS);
	/* a guest that closes its window: Dom0 promises nothing more */
	gack(T(4), 0, 0, NULL);
	CHECK(V == ACK_DROP, "verdict %d", V);
	rdata(T(4), 1000);	/* within what Dom0 promised before */
	expect_wack(T(4) + 1000, 0);
	/* it opens again: the remote is told at once, by the guest's ACK */
	gack(T(4) + 1000, 65535, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.ack == T(4) + 1000 && RW.window == 4000 && H.nout == 0,
	      "verdict %d win %u, %d actions", V, RW.window, H.nout);
}

static void t_rx_fin_rst(void)
{
	struct ack_seg s;

	CFG.dirs = ACK_DIR_RX;
	GWIN = 65535;
	setup();
	handshake(&plain);
	MSS = 1460;
	rdata(T(0), MSS);
	expect_wack(T(1), 65535 - MSS);
	/* the remote's FIN runs end to end */
	s = seg(ACK_TO_GUEST, ACK_TCP_ACK | ACK_TCP_FIN, T(1), G + 1, 256, 0);
	go(&s);
	CHECK(V == ACK_PASS && H.nout == 0, "FIN: verdict %d, %d actions", V, H.nout);
	CHECK(stats().rx.kept_bytes == MSS, "kept");
	/* the guest's ACK of the FIN reaches the remote, and the flow ends */
	gack(T(1) + 1, 65535, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0, "FIN ack: verdict %d", V);
	CHECK(stats().flows == 0 && stats().rx.kept_bytes == 0, "flows %llu",
	      (unsigned long long)stats().flows);

	/* a RST from the guest frees what was kept for it */
	GPORT++;
	handshake(&plain);
	rdata(T(0), MSS);
	rdata(T(1), MSS);
	CHECK(stats().rx.kept_bytes == 2 * MSS, "kept");
	s = seg(ACK_FROM_GUEST, ACK_TCP_RST, G + 1, 0, 0, 0);
	go(&s);
	CHECK(V == ACK_PASS && stats().flows == 0 && stats().rx.kept_bytes == 0,
	      "after RST");
	CHECK(stats().resets == 0 && stats().rx.fallbacks == 0, "counted");
}

static void t_rx_both_one_flow(void)
{
	struct ack_seg s;

	CFG.recovery = ACK_REC_DUPACK;	/* the dupack path, as without SACK */
	CFG.dirs = ACK_DIR_TX | ACK_DIR_RX;
	setup();
	handshake(&full);
	gdata(S(0), MSS);
	expect_ack(S(1), (65535 - MSS) >> 8);
	CHECK(H.out[0].a.seq == R + 1, "seq");
	/* the remote's data acks none of the guest's: rewritten, and kept */
	rdata(T(0), MSS);
	CHECK(V == ACK_REWRITE && RW.ack == S(1) && RW.window == (65535 - MSS) >> 8,
	      "verdict %d ack +%u win %u", V, RW.ack - G, RW.window);
	expect_wack(T(1), (GWND - MSS) >> 7);
	CHECK(H.out[0].a.seq == S(1), "local ACK to the WAN seq +%u", H.out[0].a.seq - G);
	/* the guest's data acks none of the remote's: rewritten, and kept */
	gdata(S(1), MSS);
	CHECK(V == ACK_REWRITE && RW.ack == T(1) && RW.window == (GWND - MSS) >> 7,
	      "verdict %d ack +%u win %u", V, RW.ack - R, RW.window);
	expect_ack(S(2), (65535 - 2 * MSS) >> 8);
	/* retransmissions carry what each side was made to believe */
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	CHECK(H.out[0].a.ack == T(1) && H.out[0].a.window == (GWND - MSS) >> 7,
	      "xmit to WAN ack +%u win %u", H.out[0].a.ack - R, H.out[0].a.window);
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(0), MSS);
	tick(ack_core_next_deadline(C));
	expect_gxmit(0, T(0), MSS);
	CHECK(H.out[0].a.ack == S(2) && H.out[0].a.window == (65535 - 2 * MSS) >> 8,
	      "xmit to guest ack +%u win %u", H.out[0].a.ack - G, H.out[0].a.window);
	CHECK(stats().tx.rexmit_rto == 2 && stats().rx.rexmit_rto == 1, "rto counters");
	/* both receivers ack: both consumed, nothing kept, the flow lives on */
	s = seg(ACK_TO_GUEST, ACK_TCP_ACK, T(1), S(2), 256, 0);
	go(&s);
	CHECK(V == ACK_DROP && H.nout == 0, "remote ACK: verdict %d, %d actions", V, H.nout);
	s = seg(ACK_FROM_GUEST, ACK_TCP_ACK, S(2), T(1), 502, 0);
	go(&s);
	CHECK(V == ACK_REWRITE && RW.ack == T(1) && RW.window == 502 && H.nout == 0,
	      "guest ACK: verdict %d, %d actions", V, H.nout);
	CHECK(stats().tx.kept_bytes == 0 && stats().rx.kept_bytes == 0 &&
	      stats().flows == 1 && stats().rx.acks_rewritten == 2 &&
	      stats().tx.acks_rewritten == 1, "end");
}

/* Loss on the WAN: early segments are held, and never cause a fallback. */
static void t_rx_wan_gap(void)
{
	u32 sk[2];
	int i;

	CFG.dirs = ACK_DIR_RX;
	setup();
	handshake(&full);
	rdata(T(0), MSS);
	expect_wack(T(1), (GWND - MSS) >> 7);
	/* T(1) is lost on the WAN */
	rdata(T(2), MSS);
	rdata(T(3), MSS);
	CHECK(V == ACK_PASS && H.nout == 0 && stats().rx.reordered == 2, "held");
	/* the guest's dupack with SACK goes to the remote: it must recover */
	sk[0] = T(2), sk[1] = T(4);
	gack(T(1), 502, 1, sk);
	CHECK(V == ACK_PASS && H.nout == 0, "guest dupack: verdict %d", V);
	rdata(T(1), MSS);
	expect_wack(T(4), (GWND - 3 * MSS) >> 7);
	CHECK(stats().rx.kept_bytes == 3 * MSS, "kept %llu",
	      (unsigned long long)stats().rx.kept_bytes);
	/*
	 * the guest's ACKs sent before T(1) reached it (about T(2) and T(3),
	 * which it got first) say nothing of a loss on its path
	 */
	for (i = 0; i < 3; i++)
		gack(T(1), 502, 1, sk);
	CHECK(V == ACK_DROP && H.nout == 0 && stats().rx.rexmit_fast == 0,
	      "spurious retransmit: %d actions", H.nout);
	gack(T(4), 502, 0, NULL);
	CHECK(V == ACK_REWRITE && RW.ack == T(4) && RW.window == 502, "verdict %d", V);
	/* more runs of early segments than are held (64): the rest pass unkept */
	for (i = 0; i < 65; i++) {
		rdata(T(5) + 200 * i, 100);
		CHECK(H.nout == 0, "early segment %d acked", i);
	}
	CHECK(stats().rx.reordered == 66 && stats().rx.unheld == 1 &&
	      stats().rx.fallbacks == 0, "reordered %llu unheld %llu",
	      (unsigned long long)stats().rx.reordered,
	      (unsigned long long)stats().rx.unheld);
	rdata(T(4), MSS);
	expect_wack(T(5) + 100, (GWND - MSS - 100) >> 7);
	/* the guest has it all: its ACK goes through, the core catches up */
	gack(T(5) + 12900, 502, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0, "catch up: verdict %d", V);
	CHECK(stats().rx.kept_bytes == 0 && stats().rx.fallbacks == 0, "kept");
	rdata(T(5) + 12900, MSS);
	expect_wack(T(5) + 12900 + MSS, (GWND - MSS) >> 7);
}

static void t_rx_dir_reconfigure(void)
{
	struct ack_config cfg;

	setup();
	handshake(&full);
	rdata(T(0), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "dir=tx acked rx");
	cfg = CFG;
	cfg.dirs = ACK_DIR_RX;
	ack_core_reconfigure(C, &cfg);
	CHECK(stats().flows == 0, "a flow with no direction left stayed");
	GPORT++;
	handshake(&full);
	rdata(T(0), MSS);
	expect_wack(T(1), (GWND - MSS) >> 7);
	/* rx off again: what was acknowledged is still delivered, then end to end */
	cfg.dirs = 0;		/* (tx) */
	ack_core_reconfigure(C, &cfg);
	CHECK(stats().flows == 1 && stats().rx.kept_bytes == MSS, "kept");
	rdata(T(1), MSS);
	CHECK(H.nout == 0, "acked after dir=tx");
	tick(ack_core_next_deadline(C));
	expect_gxmit(0, T(0), MSS);
	gack(T(1), 502, 0, NULL);
	CHECK(V == ACK_PASS, "ack of the fallback edge: %d", V);
	CHECK(stats().flows == 0 && stats().rx.kept_bytes == 0 &&
	      stats().rx.fallbacks == 0, "handed back");
}

/* ---- re-entry after a fallback ---- */

/* The guest's pure ACK beyond any window: the stream makes no sense. */
static void nonsense(u32 p)
{
	struct ack_seg a = seg(ACK_FROM_GUEST, ACK_TCP_ACK, p + 10000000, R + 1, 502, 0);

	go(&a);
}

/*
 * Memory runs out mid-flow: the flow falls back, delivers what it kept, and
 * once the guest's stream is consistent again (in order from the edge, the
 * receiver caught up with everything before the copies) it is acknowledged
 * locally again, and recovered from the copies.
 */
static void t_reenter_after_fallback(void)
{
	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	expect_ack(S(1), 65535 - MSS);
	H.fail_in = 1;
	gdata(S(1), MSS);		/* needs a new chunk */
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.fallbacks == 1,
	      "fallback %llu", (unsigned long long)stats().tx.fallbacks);
	/* something is still unacknowledged: nothing copied, nothing acked */
	NOW += 1000 * MS;
	gdata(S(2), MSS);
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.reentries == 0, "acked with S(0) kept");
	rack(S(1), 65535, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.kept_bytes == 0 &&
	      stats().flows == 1, "handed back: verdict %d", V);
	/* copied in order from the edge, not acknowledged: S(1), S(2) are in flight */
	gdata(S(3), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "copy acked before the receiver caught up");
	gdata(S(4), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "copy acked before the receiver caught up");
	CHECK(stats().tx.kept_bytes == 0 && stats().tx.reentries == 0, "kept %llu",
	      (unsigned long long)stats().tx.kept_bytes);
	/* the receiver has everything before the copies: acknowledged locally again */
	rack(S(3), 65535, 0, NULL);
	expect_ack(S(5), 65535 - 2 * MSS);
	CHECK(V == ACK_DROP && stats().tx.reentries == 1 && stats().tx.fallbacks == 1 &&
	      stats().tx.kept_bytes == 2 * MSS, "verdict %d reentries %llu kept %llu", V,
	      (unsigned long long)stats().tx.reentries,
	      (unsigned long long)stats().tx.kept_bytes);
	gdata(S(5), MSS);
	expect_ack(S(6), 65535 - 3 * MSS);
	/* recovered from the copies */
	tick(ack_core_next_deadline(C));
	expect_xmit(0, S(3), MSS);
	rack(S(6), 65535, 0, NULL);
	CHECK(V == ACK_DROP && stats().tx.kept_bytes == 0 && stats().tx.local_acks == 3 &&
	      stats().tx.rexmit_rto == 1, "verdict %d local acks %llu", V,
	      (unsigned long long)stats().tx.local_acks);
	/* the FIN ends it: no copies, forgotten once the other side is done */
	GACK = R + 1;
	{
		struct ack_seg s = seg(ACK_FROM_GUEST, ACK_TCP_FIN | ACK_TCP_ACK, S(6), R + 1, 502, 0);

		go(&s);
	}
	rack(S(6) + 1, 65535, 0, NULL);
	CHECK(stats().flows == 0 && H.live == 2, "flows %llu live %ld",
	      (unsigned long long)stats().flows, H.live);
}

/* A direction turned off does not come back by itself, and comes back with dir. */
static void t_reenter_not_while_dir_off(void)
{
	struct ack_config cfg;

	CFG.dirs = ACK_DIR_TX | ACK_DIR_RX;
	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	expect_ack(S(1), 65535 - MSS);
	cfg = CFG;
	cfg.dirs = ACK_DIR_RX;
	ack_core_reconfigure(C, &cfg);
	/* (the ACK that ends the repair reaches the guest: see t_fallback_zero_window) */
	rack(S(1), 65535, 0, NULL);
	CHECK(V == ACK_PASS && stats().flows == 1 && stats().tx.kept_bytes == 0,
	      "handed back: verdict %d flows %llu", V, (unsigned long long)stats().flows);
	NOW += 1000 * MS;
	gdata(S(1), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "acked with dir=rx");
	rack(S(2), 65535, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0, "re-entered with dir=rx");
	gdata(S(2), MSS);
	rack(S(3), 65535, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.reentries == 0 &&
	      stats().tx.local_acks == 1 && stats().tx.fallbacks == 0 && H.live == 3,
	      "reentries %llu live %ld", (unsigned long long)stats().tx.reentries, H.live);
	/* tx on again: from the next in-order segment on */
	cfg.dirs = ACK_DIR_TX | ACK_DIR_RX;
	ack_core_reconfigure(C, &cfg);
	gdata(S(3), MSS);
	expect_ack(S(4), 65535 - MSS);
	CHECK(V == ACK_PASS && stats().tx.reentries == 1 && stats().tx.kept_bytes == MSS,
	      "reentries %llu", (unsigned long long)stats().tx.reentries);
	rack(S(4), 65535, 0, NULL);
	CHECK(V == ACK_DROP && stats().tx.kept_bytes == 0, "verdict %d", V);
	/* copies pending when tx goes off again: dropped, no re-entry */
	nonsense(S(4));
	gdata(S(4), MSS);		/* too soon after the fallback */
	NOW += 1000 * MS;
	gdata(S(5), MSS);
	CHECK(V == ACK_PASS && H.nout == 0 && H.live == 5, "copies: live %ld", H.live);
	cfg.dirs = ACK_DIR_RX;
	ack_core_reconfigure(C, &cfg);
	CHECK(H.live == 3 && stats().flows == 1, "live %ld", H.live);
	rack(S(6), 65535, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.reentries == 1 &&
	      stats().tx.fallbacks == 1, "re-entered with dir=rx");
}

/*
 * After a fallback at NOW that waits @delay: a segment at @p just before
 * is not copied, the next one is, and the receiver's ACK for what went
 * before brings the flow back.  Returns the next sequence number.
 */
static u32 come_back(u32 p, u64 delay, u64 reentries)
{
	u64 t = NOW;

	NOW = t + delay - 1;
	gdata(p, MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "copied %llu ns early", (unsigned long long)delay);
	NOW = t + delay;
	gdata(p + MSS, MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "acked before the receiver caught up");
	rack(p + MSS, 65535, 0, NULL);
	expect_ack(p + 2 * MSS, 65535 - MSS);
	CHECK(V == ACK_DROP && stats().tx.reentries == reentries, "verdict %d reentries %llu",
	      V, (unsigned long long)stats().tx.reentries);
	rack(p + 2 * MSS, 65535, 0, NULL);
	CHECK(V == ACK_DROP && stats().tx.kept_bytes == 0, "verdict %d", V);
	return p + 2 * MSS;
}

/*
 * A flow that falls back soon after each re-entry waits RTO << flaps (RTO
 * 210 ms here, srtt + rto_min) and stays end to end after the seventh such fallback in a
 * row; one that proves itself (64 segments acknowledged) starts over.
 */
static void t_reenter_flaps(void)
{
	u32 p;
	int i;

	setup();
	handshake(&plain);
	p = S(0);
	for (i = 0; i <= 7; i++) {
		nonsense(p);
		CHECK(stats().tx.fallbacks == (u64)i + 1, "fallbacks %llu",
		      (unsigned long long)stats().tx.fallbacks);
		if (i == 7)
			break;
		CHECK(stats().flows == 1, "forgotten after %d", i);
		p = come_back(p, tx_rto() << i, i + 1);
	}
	CHECK(stats().flows == 0 && stats().tx.reentries == 7, "flows %llu reentries %llu",
	      (unsigned long long)stats().flows, (unsigned long long)stats().tx.reentries);
	gdata(p, MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "acked after giving up");

	GPORT++;
	handshake(&plain);
	p = S(0);
	nonsense(p);
	p = come_back(p, tx_rto(), 8);
	nonsense(p);
	p = come_back(p, tx_rto() << 1, 9);
	for (i = 0; i < 64; i++) {
		gdata(p, MSS);
		expect_ack(p + MSS, 65535 - MSS);
		rack(p + MSS, 65535, 0, NULL);
		p += MSS;
	}
	nonsense(p);
	p = come_back(p, tx_rto(), 10);
	CHECK(stats().tx.fallbacks == 11, "fallbacks %llu",
	      (unsigned long long)stats().tx.fallbacks);
}

/* rx: the guest's ACK for what went before the copies brings the flow back. */
static void t_reenter_rx(void)
{
	CFG.dirs = ACK_DIR_RX;
	setup();
	handshake(&full);
	rdata(T(0), MSS);
	expect_wack(T(1), (GWND - MSS) >> 7);
	H.fail_in = 1;
	rdata(T(1), MSS);		/* needs a new chunk */
	CHECK(V == ACK_PASS && H.nout == 0 && stats().rx.fallbacks == 1, "fallback");
	gack(T(2), 502, 0, NULL);
	CHECK(V == ACK_PASS && stats().rx.kept_bytes == 0 && stats().flows == 1,
	      "handed back: verdict %d", V);
	rdata(T(2), MSS);		/* too soon: RTO 200 ms after the fallback */
	CHECK(V == ACK_PASS && H.nout == 0, "copied too soon");
	NOW += 1000 * MS;
	rdata(T(3), MSS);
	CHECK(V == ACK_PASS && H.nout == 0, "acked before the guest caught up");
	gack(T(3), 502, 0, NULL);
	expect_wack(T(4), (GWND - MSS) >> 7);
	CHECK(V == ACK_DROP && stats().rx.reentries == 1 && stats().rx.kept_bytes == MSS &&
	      stats().tx.reentries == 0, "verdict %d reentries %llu", V,
	      (unsigned long long)stats().rx.reentries);
	rdata(T(4), MSS);
	expect_wack(T(5), (GWND - 2 * MSS) >> 7);
	gack(T(5), 502, 0, NULL);
	CHECK(stats().rx.kept_bytes == 0 && stats().rx.local_acks == 3, "kept %llu acks %llu",
	      (unsigned long long)stats().rx.kept_bytes,
	      (unsigned long long)stats().rx.local_acks);
}

/*
 * The guest may fill the largest edge the receiver gave it while end to
 * end: no re-entry until that edge fits the budget (a refusal waits RTO <<
 * flaps), and the budget then covers it even where the receiver's window
 * has shrunk since.
 */
static void t_reenter_window(void)
{
	u64 t;
	int i;

	CFG.flow_budget = 16384;
	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	expect_ack(S(1), 16384 - MSS);
	H.fail_in = 1;
	gdata(S(1), MSS);
	rack(S(2), 65535, 0, NULL);	/* the guest may send up to S(2) + 65535 */
	CHECK(stats().tx.fallbacks == 1 && stats().tx.kept_bytes == 0, "fallback");
	NOW += 300 * MS;
	t = NOW;
	gdata(S(2), MSS);		/* copied, the receiver is there: too wide */
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.reentries == 0, "re-entered");
	/* RTO << 1 without copies, while the receiver's window shrinks */
	for (i = 3; i < 41; i++) {
		rack(S(i), 4000, 0, NULL);
		gdata(S(i), MSS);
		CHECK(V == ACK_PASS && H.nout == 0, "acked at %d", i);
	}
	rack(S(41), 4000, 0, NULL);
	NOW = t + (tx_rto() << 1);
	/* S(2) + 65535 - S(41) = 8595 fits: acknowledged within 4000 of S(41) */
	gdata(S(41), MSS);
	expect_ack(S(42), 4000 - MSS);
	CHECK(stats().tx.reentries == 1, "reentries %llu",
	      (unsigned long long)stats().tx.reentries);
	/* beyond that window, within the old edge: kept, no fallback */
	gdata(S(42), 7000);
	expect_ack(S(42) + 7000, 0);
	CHECK(stats().tx.fallbacks == 1 && stats().tx.kept_bytes == MSS + 7000, "fallbacks %llu",
	      (unsigned long long)stats().tx.fallbacks);
}

/*
 * The guest's stream makes no sense again (tcpkick's pure ACK far ahead)
 * while the flow runs end to end after a fallback: no copies for an RTO,
 * and the data after it is still the edge of the stream, copied and
 * acknowledged once the receiver is there.  (hi once took the ACK's
 * sequence number: everything after looked sent before, never copied.)
 */
static void t_reenter_after_nonsense_while_inert(void)
{
	u64 t;

	setup();
	handshake(&plain);
	gdata(S(0), MSS);
	expect_ack(S(1), 65535 - MSS);
	nonsense(S(1));
	rack(S(1), 65535, 0, NULL);
	CHECK(V == ACK_PASS && stats().tx.fallbacks == 1 && stats().tx.kept_bytes == 0,
	      "handed back: verdict %d", V);
	NOW += 1000 * MS;
	nonsense(S(1));
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.fallbacks == 1, "fell back again");
	t = NOW;
	NOW += 100 * MS;
	gdata(S(1), MSS);		/* within the RTO (210 ms) after it: not copied */
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.reentries == 0, "copied too soon");
	rack(S(2), 65535, 0, NULL);
	NOW = t + tx_rto();
	gdata(S(2), MSS);
	expect_ack(S(3), 65535 - MSS);
	CHECK(V == ACK_PASS && stats().tx.reentries == 1 && stats().tx.kept_bytes == MSS,
	      "reentries %llu kept %llu", (unsigned long long)stats().tx.reentries,
	      (unsigned long long)stats().tx.kept_bytes);
}

/*
 * A guest that used all the window the local ACKs gave it when the flow
 * falls back: the receiver's ACKs for what the core repairs are consumed
 * (the guest has them), but the one for nxt, which ends the repair, goes
 * on as it is: from there the guest's window is the receiver's, and it
 * has no other way to learn of it than its persist timer.
 */
static void t_fallback_zero_window(void)
{
	u32 end;

	CFG.flow_budget = 16384;
	setup();
	handshake(&plain);
	gdata(S(0), 16384);
	expect_ack(S(0) + 16384, 0);
	end = S(0) + 16384;
	nonsense(end);
	CHECK(stats().tx.fallbacks == 1 && H.nout == 0, "fallback");
	rack(S(0) + 8192, 8192, 0, NULL);
	CHECK(V == ACK_DROP && stats().tx.kept_bytes == 8192, "below nxt: verdict %d", V);
	rack(end, 8192, 0, NULL);
	CHECK(V == ACK_PASS && H.nout == 0 && stats().tx.kept_bytes == 0 &&
	      stats().tx.acks_consumed == 1, "the end of the repair: verdict %d consumed %llu",
	      V, (unsigned long long)stats().tx.acks_consumed);
}

/*
 * RACK, then an RTO, on a receiver that reported data above the hole:
 * ten segments at 100 ms, the first lost; at 120 ms the receiver SACKs
 * only [S(1), S(3)) of the nine it has (three blocks per ACK: the
 * scoreboard need not hear of all).  RACK resends S(0) at 125 ms, that is
 * lost too, the RTO resends it at 336.25 ms, and its ACK covers all ten.
 * The originals [S(3), S(10)) it also covers sat at the receiver since
 * 110 ms: not the sign of a delay spike that F-RTO looks for (the RTO is
 * real, not undone), where before every such RTO was called spurious,
 * undone and RACK's clock reset; nor is their wait an RTT.
 */
static void t_rack_rto_after_sack_not_spurious(void)
{
	u32 sk[2] = { S(1), S(3) };
	int i;

	setup();
	handshake(&full);
	NOW = 100 * MS;
	for (i = 0; i < 10; i++)
		gdata(S(i), MSS);
	NOW = 120 * MS;
	rack(S(0), 256, 1, sk);
	CHECK(H.nout == 0, "retransmitted at once");
	tick(125 * MS);
	CHECK(H.nout == 1, "RACK: %d actions", H.nout);
	expect_xmit(0, S(0), MSS);
	tick(ack_core_next_deadline(C));	/* the probe, not sent in recovery */
	/* srtt 11.25 ms + rto_min after the head was resent at 125 ms */
	CHECK(H.nout == 0 && ack_core_next_deadline(C) == 336250000ull, "RTO at %llu",
	      (unsigned long long)ack_core_next_deadline(C));
	tick(336250000ull);
	CHECK(H.nout == 1, "RTO: %d actions", H.nout);
	expect_xmit(0, S(0), MSS);
	NOW = 345 * MS;
	rack(S(10), 256, 0, NULL);
	CHECK(V == ACK_DROP && H.nout == 0 && stats().tx.kept_bytes == 0, "verdict %d kept %llu",
	      V, (unsigned long long)stats().tx.kept_bytes);
	CHECK(stats().tx.rexmit_fast == 1 && stats().tx.rexmit_rto == 1 &&
	      stats().tx.spurious == 0 && stats().tx.undos == 0,
	      "fast %llu rto %llu spurious %llu undos %llu",
	      (unsigned long long)stats().tx.rexmit_fast, (unsigned long long)stats().tx.rexmit_rto,
	      (unsigned long long)stats().tx.spurious, (unsigned long long)stats().tx.undos);
	/*
	 * Nor is 345 ms minus 100 an RTT of the originals: srtt stays the
	 * 11.25 ms of the handshake and the 120 ms ACK, and the next tail
	 * probe comes 2 * srtt after the next segment (a 245 ms sample made
	 * it 40 ms, the probe 81 ms).
	 */
	NOW = 400 * MS;
	gdata(S(10), MSS);
	CHECK(ack_core_next_deadline(C) == 422500000ull, "probe at %llu",
	      (unsigned long long)ack_core_next_deadline(C));
}

/*
 * One RTT sample per ACK while the RTT holds still (or only drifts, as a
 * queue fills behind a sender without cc) wears rttvar down to nothing:
 * forty samples of 270 ms leave srtt at 268.75 ms and rttvar at 2.5, and
 * RFC 6298's srtt + 4 rttvar, floored at rto_min, was an RTO of 279 ms.  The head
 * that RACK resends then queues behind what was sent before it and is
 * acknowledged 338 ms later (tests/test_sim.c, netem_loss_1pct): the RTO
 * fired 68 ms before that and resent it, and everything else, again.  As
 * in Linux, rto_min bounds the variance term: srtt + 200 ms.
 */
static void t_rto_floor_above_srtt(void)
{
	u32 sk[2] = { S(41), S(44) };
	u64 t;
	int i;

	setup();
	handshake(&full);
	NOW = 100 * MS;
	for (i = 0; i < 40; i++) {
		gdata(S(i), MSS);
		NOW += 270 * MS;
		rack(S(i + 1), 256, 0, NULL);
		CHECK(V == ACK_DROP && stats().tx.kept_bytes == 0, "round %d: verdict %d", i, V);
		NOW += 10 * MS;
	}
	/* srtt 268.75 ms + rto_min, not + 4 rttvar (10 ms) */
	CHECK(tx_rto() == 468754635ull, "rto %llu", (unsigned long long)tx_rto());
	for (i = 40; i < 44; i++)
		gdata(S(i), MSS);
	/* S(40) is lost: the receiver reports the three after it */
	NOW += 270 * MS;
	rack(S(40), 256, 1, sk);
	CHECK(H.nout == 1, "RACK: %d actions", H.nout);
	expect_xmit(0, S(40), MSS);
	t = NOW;
	CHECK(ack_core_next_deadline(C) > t + 338 * MS, "RTO at +%llu ms",
	      (unsigned long long)((ack_core_next_deadline(C) - t) / MS));
	tick(t + 338 * MS - 1);
	CHECK(H.nout == 0, "%d actions before the copy's ACK", H.nout);
	NOW = t + 338 * MS;
	rack(S(44), 256, 0, NULL);
	CHECK(V == ACK_DROP && H.nout == 0 && stats().tx.kept_bytes == 0, "verdict %d kept %llu",
	      V, (unsigned long long)stats().tx.kept_bytes);
	CHECK(stats().tx.rexmit_fast == 1 && stats().tx.rexmit_rto == 0,
	      "fast %llu rto %llu", (unsigned long long)stats().tx.rexmit_fast,
	      (unsigned long long)stats().tx.rexmit_rto);
}

/* ---- runner ---- */

static int passed, nfailed;

static void run(const char *name, void (*fn)(void))
{
	memset(&H, 0, sizeof(H));
	ack_core_config_default(&CFG);
	CFG.hash_seed = 0x1234;
	/* rx: the exact outputs below are the core's ACKs, at once; the
	 * rx_grace tests give the guest its own chance first */
	CFG.rx_grace_ns = 0;
	C = NULL;
	NOW = 0;
	GPORT = 40000;
	G_ISN = G;
	MSS = 1448;
	FAMILY = 2;
	GWIN = 502;
	GACK = R + 1;
	failed = false;
	fn();
	if (C) {
		ack_core_destroy(C);
		CHECK(H.live == 0, "%ld allocations leaked", H.live);
	}
	if (failed) {
		printf("FAIL %s: %s\n", name, why);
		nfailed++;
	} else {
		printf("PASS %s\n", name);
		passed++;
	}
}

int main(void)
{
	run("ack_handshake_learning", t_handshake_learning);
	run("ack_handshake_plain", t_handshake_plain);
	run("ack_server_side", t_server_side);
	run("ack_inorder_local_ack", t_inorder_local_ack);
	run("ack_dump", t_dump);
	run("ack_receiver_ack_consumed", t_receiver_ack_consumed);
	run("ack_fast_retransmit", t_fast_retransmit);
	run("ack_sack_holes", t_sack_holes);
	run("ack_rack_tail_probe", t_rack_tail_probe);
	run("ack_rack_reorder", t_rack_reorder);
	run("ack_rack_lost_after_window", t_rack_lost_after_window);
	run("ack_rto_rtt_backoff", t_rto_rtt_backoff);
	run("ack_retry_limit_reset", t_retry_limit_reset);
	run("ack_guest_reorder_held", t_guest_reorder_held);
	run("ack_guest_reorder_fallback", t_guest_reorder_fallback);
	run("ack_guest_reorder_probe", t_guest_reorder_probe);
	run("ack_guest_reorder_runs", t_guest_reorder_runs);
	run("ack_guest_retransmit_reack", t_guest_retransmit_reack);
	run("ack_fin_end_to_end", t_fin_end_to_end);
	run("ack_rst_frees", t_rst_frees);
	run("ack_window_scaling", t_window_scaling);
	run("ack_window_scaling_cap", t_window_scaling_cap);
	run("ack_flow_budget", t_flow_budget);
	run("ack_vif_budget", t_vif_budget);
	run("ack_vif_budget_queue", t_vif_budget_queue);
	run("ack_vif_budget_floor", t_vif_budget_floor);
	run("ack_wraparound", t_wraparound);
	run("ack_gso_64k", t_gso_64k);
	run("ack_to_guest_rewrite", t_to_guest_rewrite);
	run("ack_preopen_untouched", t_preopen_untouched);
	run("ack_flow_limit", t_flow_limit);
	run("ack_port_filter", t_port_filter);
	run("ack_reno", t_reno);
	run("ack_drain", t_drain);
	run("ack_destroy_frees", t_destroy_frees);
	run("ack_alloc_failure", t_alloc_failure);
	run("ack_syn_reuse", t_syn_reuse);
	run("ack_ece_not_consumed", t_ece_not_consumed);
	run("ack_zero_window_persist", t_zero_window_persist);
	run("ack_guest_overruns_window", t_guest_overruns_window);
	run("ack_ipv6", t_ipv6);
	run("ack_stats", t_stats);
	run("ack_idle_timeouts", t_idle_timeouts);
	run("ack_sack_dupack_window", t_sack_dupack_window);
	run("ack_mss_min", t_mss_min);
	run("ack_rx_inorder_local_ack", t_rx_inorder_local_ack);
	run("ack_rx_grace_guest_prompt", t_rx_grace_guest_prompt);
	run("ack_rx_grace_guest_late", t_rx_grace_guest_late);
	run("ack_rx_guest_drop_rexmit", t_rx_guest_drop_rexmit);
	run("ack_rx_trailing_window_updates", t_rx_trailing_window_updates);
	run("ack_rx_sack_holes", t_rx_sack_holes);
	run("ack_rx_window_limits", t_rx_window_limits);
	run("ack_rx_fin_rst", t_rx_fin_rst);
	run("ack_rx_both_one_flow", t_rx_both_one_flow);
	run("ack_rx_wan_gap", t_rx_wan_gap);
	run("ack_rx_dir_reconfigure", t_rx_dir_reconfigure);
	run("ack_reenter_after_fallback", t_reenter_after_fallback);
	run("ack_reenter_not_while_dir_off", t_reenter_not_while_dir_off);
	run("ack_reenter_flaps", t_reenter_flaps);
	run("ack_reenter_rx", t_reenter_rx);
	run("ack_reenter_window", t_reenter_window);
	run("ack_reenter_after_nonsense_while_inert", t_reenter_after_nonsense_while_inert);
	run("ack_fallback_zero_window", t_fallback_zero_window);
	run("ack_rack_rto_after_sack_not_spurious", t_rack_rto_after_sack_not_spurious);
	run("ack_rto_floor_above_srtt", t_rto_floor_above_srtt);
	printf("%d passed, %d failed\n", passed, nfailed);
	return nfailed ? 1 : 0;
}
