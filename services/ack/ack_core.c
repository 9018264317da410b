// SPDX-License-Identifier: GPL-2.0
/*
 * ack_core: early acknowledgement of a guest's TCP data in Dom0, with the
 * acknowledged bytes kept until the real receiver has them.  See ack_core.h
 * for the sequence-space picture; this file is the state machine.
 *
 * The rule everything else follows: the core never acknowledges a byte to the
 * guest that it has not copied, and never drops a byte the guest sent.  When
 * it cannot keep a byte (budget, memory, a sequence number it cannot explain)
 * the flow falls back: it stops acknowledging, recovers what it already
 * acknowledged, and then forgets the flow so that it runs end to end.
 */
#include "ack_core.h"

#define CHUNK_ALLOC	4096		/* the largest chunk: one page */
#define CHUNK_MIN	1024		/* the smallest: what a quiet flow costs */
#define MAX_SACKED	8
#define MAX_HELD	16		/* early guest segments held per flow */
#define MAX_SEG_LEN	(1u << 20)	/* sanity: GSO segments are <= 64 KiB */
#define DEFAULT_MSS	536
#define TS_OPT_LEN	12
#define WS_NONE		0xff

/* Flow flags */
#define F_GSYN		0x0001	/* the guest's SYN (or SYN-ACK) was seen */
#define F_RSYN		0x0002	/* the remote's SYN (or SYN-ACK) was seen */
#define F_EST		0x0004	/* both: options known, data can be acked */
#define F_FALLBACK	0x0008	/* no more local ACKs; recover, then forget */
#define F_GFIN		0x0010	/* the guest sent its FIN */
#define F_GIVEN		0x0020	/* at least one local ACK was sent */
#define F_RTT		0x0040	/* timing rtt_seq since rtt_time */
#define F_RECOVERY	0x0080	/* fast recovery or loss recovery, until recover */
#define F_LOSS		0x0100	/* recovery after an RTO: all unsacked is lost */
#define F_RWIN		0x0200	/* r_ack/r_wnd describe the receiver's window */
#define F_SACK		0x0400	/* SACK negotiated */
#define F_TS		0x0800	/* timestamps negotiated */
#define F_SRTT		0x1000	/* srtt/rttvar hold a sample */
#define F_GTS		0x2000	/* g_tsval holds a value */
#define F_RTS		0x4000	/* r_tsval holds a value */

/* IP fields remembered per direction. */
struct ack_ip {
	u8 ttl, tos;
	u32 flowlabel;
};

struct chunk {
	struct chunk *next;
	u32 len, cap;
	u8 data[];
};

#define CHUNK_HDR	((u32)sizeof(struct chunk))

/*
 * A guest segment that arrived before an earlier one: the path from the guest
 * reordered them (a multi-queue or multi-CPU receive path does).  It is passed
 * on at once; its copy waits here, not acknowledged, until the bytes below it
 * arrive, and then joins the kept data and is acknowledged with them.
 */
struct held {
	struct held *next;		/* sorted by seq, disjoint */
	u32 seq, len;
	struct chunk *data, *last;
};

struct ack_flow {
	struct ack_flow *hnext;		/* hash chain */
	struct ack_flow *prev, *next;	/* all flows, for timers and drain */
	struct ack_key key;
	u32 flags;

	u32 g_isn, r_isn;
	u32 una, nxt, edge, adv_edge;	/* see ack_core.h */
	u32 g_hi;			/* highest guest seq seen, FIN counted */
	u32 fin_seq;			/* the guest's FIN's sequence number */
	u32 r_nxt;			/* highest remote seq seen, FIN counted */
	u32 r_ack, r_wnd;		/* receiver's latest ack and window (bytes) */
	u16 r_win_raw;			/* for duplicate ACK detection */
	u16 mss;			/* payload per segment toward the WAN */
	u16 g_mss, r_mss;
	u8 g_wsopt, r_wsopt, r_ws;
	u8 g_sack, r_sack, g_ts, r_ts;
	struct ack_ip g_ip, r_ip;

	/* the guest's latest header values, for retransmissions */
	u32 g_ack;
	u16 g_win_raw;
	u32 g_tsval, g_tsecr, g_ts_recent;
	u32 r_tsval;

	/* loss recovery and congestion control */
	u32 cwnd, ssthresh, recover, retx_hi;
	u32 dupacks, retries;
	u32 rtt_seq;
	u64 rtt_time;
	u64 srtt, rttvar, rto, rto_at;	/* rto: RFC 6298's, before backoff */
	u32 backoff;			/* RTOs since the last new ACK */
	u64 last_active;
	struct ack_sack sacked[MAX_SACKED];	/* sorted, disjoint, in (una, nxt] */
	u32 nsacked;

	/* accounting, so that the core's sums can be updated by difference */
	u32 kept, committed;

	/* kept bytes [una, nxt): head->data[head_off] is una */
	struct chunk *head, *tail;
	u32 head_off;
	struct held *held;		/* early segments, above nxt */
	u32 nheld;
};

struct ack_core {
	struct ack_env env;
	struct ack_config cfg;
	struct ack_flow **table;
	u32 mask;
	struct ack_flow *flows;		/* list of all flows */
	u64 kept, committed;
	bool draining;
	bool vif_tight;			/* some window was limited by the vif budget */
	struct ack_stats st;
};

static inline bool seq_before(u32 a, u32 b)
{
	return (int)(a - b) < 0;
}

static inline bool seq_after(u32 a, u32 b)
{
	return seq_before(b, a);
}

static inline u32 seq_max(u32 a, u32 b)
{
	return seq_after(a, b) ? a : b;
}

static inline u32 seq_min(u32 a, u32 b)
{
	return seq_before(a, b) ? a : b;
}

static inline u32 umin(u32 a, u32 b)
{
	return a < b ? a : b;
}

static void *core_alloc(struct ack_core *c, size_t size)
{
	void *p = c->env.alloc(c->env.ctx, size);

	if (!p)
		c->st.alloc_failures++;
	return p;
}

static void core_free(struct ack_core *c, void *p)
{
	c->env.free(c->env.ctx, p);
}

void ack_core_config_default(struct ack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->flow_budget = 4 << 20;
	cfg->vif_budget = 64 << 20;
	cfg->cc = ACK_CC_NONE;
	cfg->flow_limit = 4096;
	cfg->retry_limit = 8;
	cfg->dupthresh = 3;
	cfg->rexmit_burst = 4;
	cfg->init_cwnd = 10;
	cfg->rto_init_ns = 1000000000ull;
	cfg->rto_min_ns = 200000000ull;
	cfg->rto_max_ns = 60000000000ull;
	cfg->idle_ns = 300000000000ull;
	cfg->handshake_ns = 30000000000ull;
}

static void sanitize(struct ack_config *cfg)
{
	/* Keep every window computation far from 2^31 in sequence space. */
	if (cfg->flow_budget > (1u << 30))
		cfg->flow_budget = 1u << 30;
	if (cfg->dupthresh < 1)
		cfg->dupthresh = 1;
	if (cfg->rexmit_burst < 1)
		cfg->rexmit_burst = 1;
	if (cfg->init_cwnd < 1)
		cfg->init_cwnd = 1;
	if (cfg->rto_min_ns < 1)
		cfg->rto_min_ns = 1;
	if (cfg->rto_max_ns < cfg->rto_min_ns)
		cfg->rto_max_ns = cfg->rto_min_ns;
	if (cfg->rto_init_ns < cfg->rto_min_ns)
		cfg->rto_init_ns = cfg->rto_min_ns;
	if (cfg->rto_init_ns > cfg->rto_max_ns)
		cfg->rto_init_ns = cfg->rto_max_ns;
	if (cfg->cc != ACK_CC_RENO)
		cfg->cc = ACK_CC_NONE;
}

/* ---- flow table ---- */

static void key_from_seg(struct ack_key *k, const struct ack_seg *s)
{
	bool from_guest = s->dir == ACK_FROM_GUEST;

	memset(k, 0, sizeof(*k));
	k->family = s->family;
	memcpy(k->gaddr, from_guest ? s->saddr : s->daddr, 16);
	memcpy(k->raddr, from_guest ? s->daddr : s->saddr, 16);
	k->gport = from_guest ? s->sport : s->dport;
	k->rport = from_guest ? s->dport : s->sport;
}

static u32 key_hash(const struct ack_core *c, const struct ack_key *k)
{
	u32 h = 2166136261u ^ c->cfg.hash_seed;
	const u8 *p;
	size_t i;

	for (p = k->gaddr, i = 0; i < 16; i++)
		h = (h ^ p[i]) * 16777619u;
	for (p = k->raddr, i = 0; i < 16; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ k->family) * 16777619u;
	h = (h ^ ((u32)k->gport << 16 | k->rport)) * 16777619u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

static bool key_eq(const struct ack_key *a, const struct ack_key *b)
{
	return a->family == b->family && a->gport == b->gport &&
	       a->rport == b->rport && !memcmp(a->gaddr, b->gaddr, 16) &&
	       !memcmp(a->raddr, b->raddr, 16);
}

static struct ack_flow *lookup(struct ack_core *c, const struct ack_key *k)
{
	struct ack_flow *f;

	for (f = c->table[key_hash(c, k) & c->mask]; f; f = f->hnext)
		if (key_eq(&f->key, k))
			return f;
	return NULL;
}

/* Re-sum the flow's kept and committed bytes into the core's totals. */
static void account(struct ack_core *c, struct ack_flow *f)
{
	u32 top = f->nxt;

	if (!(f->flags & F_FALLBACK) && seq_after(f->edge, top))
		top = f->edge;
	c->kept = c->kept - f->kept + (f->nxt - f->una);
	c->committed = c->committed - f->committed + (top - f->una);
	f->kept = f->nxt - f->una;
	f->committed = top - f->una;
	if (c->kept > c->st.kept_peak)
		c->st.kept_peak = c->kept;
}

static void release(struct ack_core *c, struct ack_flow *f, u32 n)
{
	while (n && f->head) {
		struct chunk *h = f->head;
		u32 avail = h->len - f->head_off;

		if (n < avail) {
			f->head_off += n;
			return;
		}
		n -= avail;
		f->head = h->next;
		f->head_off = 0;
		if (!f->head)
			f->tail = NULL;
		core_free(c, h);
	}
}

static void drop_held(struct ack_core *c, struct ack_flow *f);

static void free_flow(struct ack_core *c, struct ack_flow *f)
{
	struct ack_flow **pp = &c->table[key_hash(c, &f->key) & c->mask];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	if (f->prev)
		f->prev->next = f->next;
	else
		c->flows = f->next;
	if (f->next)
		f->next->prev = f->prev;
	release(c, f, f->nxt - f->una);
	drop_held(c, f);
	f->una = f->nxt;
	f->flags |= F_FALLBACK;
	account(c, f);
	c->st.flows--;
	core_free(c, f);
}

static struct ack_flow *new_flow(struct ack_core *c, const struct ack_key *k,
				 u64 now)
{
	struct ack_flow *f;
	u32 b;

	if (c->st.flows >= c->cfg.flow_limit) {
		c->st.flows_untracked++;
		return NULL;
	}
	f = core_alloc(c, sizeof(*f));
	if (!f) {
		c->st.flows_untracked++;
		return NULL;
	}
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->g_wsopt = f->r_wsopt = WS_NONE;
	f->rto = c->cfg.rto_init_ns;
	f->last_active = now;
	b = key_hash(c, k) & c->mask;
	f->hnext = c->table[b];
	c->table[b] = f;
	f->next = c->flows;
	if (c->flows)
		c->flows->prev = f;
	c->flows = f;
	c->st.flows++;
	c->st.flows_created++;
	return f;
}

/* ---- kept data ---- */

/* Payload bytes [off, off+n) of @s, linear or through the glue's callback. */
static void copy_in(struct ack_core *c, const struct ack_seg *s, u32 off,
		    u8 *dst, u32 n)
{
	if (s->payload)
		memcpy(dst, s->payload + off, n);
	else
		c->env.copy_payload(c->env.ctx, s->payload_ctx, off, dst, n);
}

static void chain_free(struct ack_core *c, struct chunk *ch)
{
	while (ch) {
		struct chunk *next = ch->next;

		core_free(c, ch);
		ch = next;
	}
}

/*
 * Copy [off, off+len) of @s (len > 0) into a new chain of chunks; *last gets
 * its last chunk.  NULL, with nothing allocated, when memory runs out.
 */
static struct chunk *chain_new(struct ack_core *c, const struct ack_seg *s,
			       u32 off, u32 len, struct chunk **last)
{
	struct chunk *first = NULL, **pp = &first, *ch;
	u32 size;

	while (len) {
		/*
		 * Whole pages while there is much to keep; the last chunk only
		 * as large as a power of two needs to be, so that a flow with a
		 * few bytes kept does not hold a page (and slabs fit exactly).
		 */
		for (size = CHUNK_MIN; size < CHUNK_ALLOC && size - CHUNK_HDR < len; size <<= 1)
			;
		ch = core_alloc(c, size);
		if (!ch) {
			chain_free(c, first);
			return NULL;
		}
		ch->next = NULL;
		ch->cap = size - CHUNK_HDR;
		ch->len = umin(ch->cap, len);
		copy_in(c, s, off, ch->data, ch->len);
		off += ch->len;
		len -= ch->len;
		*pp = ch;
		pp = &ch->next;
		*last = ch;
	}
	return first;
}

/* Append a chain to the kept bytes. */
static void append(struct ack_flow *f, struct chunk *first, struct chunk *last)
{
	if (f->tail) {
		f->tail->next = first;
	} else {
		f->head = first;
		f->head_off = 0;
	}
	f->tail = last;
}

/* Keep [off, off+len) of the payload.  All or nothing: a failed allocation keeps nothing. */
static int keep(struct ack_core *c, struct ack_flow *f, const struct ack_seg *s,
		u32 off, u32 len)
{
	u32 room = f->tail ? umin(f->tail->cap - f->tail->len, len) : 0;
	struct chunk *first = NULL, *last = NULL;

	if (len > room) {
		first = chain_new(c, s, off + room, len - room, &last);
		if (!first)
			return -1;
	}
	if (room) {
		copy_in(c, s, off, f->tail->data + f->tail->len, room);
		f->tail->len += room;
	}
	if (first)
		append(f, first, last);
	return 0;
}

u32 ack_core_copy_kept(const struct ack_flow *f, u32 seq, void *dst, u32 len)
{
	u32 off = seq - f->una, kept = f->nxt - f->una, done = 0, n;
	const struct chunk *ch = f->head;
	u8 *d = dst;

	if (off >= kept)
		return 0;
	len = umin(len, kept - off);
	off += f->head_off;
	while (ch && off >= ch->len) {
		off -= ch->len;
		ch = ch->next;
	}
	while (ch && done < len) {
		n = umin(ch->len - off, len - done);
		memcpy(d + done, ch->data + off, n);
		done += n;
		off = 0;
		ch = ch->next;
	}
	return done;
}

const struct ack_flow *ack_core_lookup(struct ack_core *c,
				       const struct ack_key *key)
{
	return lookup(c, key);
}

void ack_core_flow_range(const struct ack_flow *f, u32 *una, u32 *nxt)
{
	*una = f->una;
	*nxt = f->nxt;
}

/* ---- segments that arrived early ---- */

static void drop_held(struct ack_core *c, struct ack_flow *f)
{
	while (f->held) {
		struct held *h = f->held;

		f->held = h->next;
		chain_free(c, h->data);
		core_free(c, h);
	}
	f->nheld = 0;
}

/* Hold a copy of @s, which starts above nxt; -1 if it cannot be held. */
static int hold(struct ack_core *c, struct ack_flow *f, const struct ack_seg *s)
{
	struct held **pp = &f->held, *h;
	u32 end = s->seq + s->len;

	if (f->nheld >= MAX_HELD)
		return -1;
	for (; *pp && !seq_after((*pp)->seq, s->seq); pp = &(*pp)->next)
		if (seq_after((*pp)->seq + (*pp)->len, s->seq))
			return -1;	/* overlaps: a resegmented retransmission */
	if (*pp && seq_after(end, (*pp)->seq))
		return -1;
	h = core_alloc(c, sizeof(*h));
	if (!h)
		return -1;
	h->data = chain_new(c, s, 0, s->len, &h->last);
	if (!h->data) {
		core_free(c, h);
		return -1;
	}
	h->seq = s->seq;
	h->len = s->len;
	h->next = *pp;
	*pp = h;
	f->nheld++;
	return 0;
}

/*
 * The bytes up to nxt are kept: the held segments that continue them join
 * the kept data; those below nxt are dropped (the guest resent them).  One
 * that overlaps nxt is dropped too: it is not acknowledged, so the guest
 * sends it again.
 */
static void merge_held(struct ack_core *c, struct ack_flow *f)
{
	struct held *h;

	while ((h = f->held) && !seq_after(h->seq, f->nxt)) {
		f->held = h->next;
		f->nheld--;
		if (h->seq == f->nxt) {
			append(f, h->data, h->last);	/* (g_hi covers it already) */
			f->nxt += h->len;
		} else {
			chain_free(c, h->data);
		}
		core_free(c, h);
	}
}

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

/* ---- RTT and RTO (RFC 6298) ---- */

static void rtt_sample(struct ack_core *c, struct ack_flow *f, u64 r)
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
static u64 rto_timeout(const struct ack_core *c, const struct ack_flow *f)
{
	u64 t = f->rto;
	u32 i;

	for (i = 0; i < f->backoff && t < c->cfg.rto_max_ns; i++)
		t *= 2;
	return t < c->cfg.rto_max_ns ? t : c->cfg.rto_max_ns;
}

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
static u16 guest_view_window(struct ack_flow *f)
{
	u32 edge = f->adv_edge, w;

	if ((f->flags & F_FALLBACK) && (f->flags & F_RWIN))
		edge = f->r_ack + f->r_wnd;
	w = seq_after(edge, f->nxt) ? edge - f->nxt : 0;
	w >>= f->r_ws;
	return w > 0xffff ? 0xffff : w;
}

/* ---- output ---- */

static void get_ip(struct ack_ip *ip, const struct ack_seg *s)
{
	ip->ttl = s->ttl;
	ip->tos = s->tos;
	ip->flowlabel = s->flowlabel;
}

static void set_ip(u8 *ttl, u8 *tos, u32 *flowlabel, const struct ack_ip *ip)
{
	*ttl = ip->ttl;
	*tos = ip->tos;
	*flowlabel = ip->flowlabel;
}

static void send_local_ack(struct ack_core *c, struct ack_flow *f)
{
	struct ack_action a;
	u32 raw;

	if (f->flags & F_FALLBACK) {
		raw = guest_view_window(f);
	} else {
		raw = (window_limit(c, f) - f->nxt) >> f->r_ws;
		if (raw > 0xffff)
			raw = 0xffff;
		f->adv_edge = f->nxt + (raw << f->r_ws);
		if (seq_after(f->adv_edge, f->edge))
			f->edge = f->adv_edge;
		account(c, f);
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
static void rexmit(struct ack_core *c, struct ack_flow *f, u32 max, bool force,
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
static u32 burst(const struct ack_core *c, const struct ack_flow *f)
{
	u32 n = c->cfg.rexmit_burst;

	if (c->cfg.cc == ACK_CC_RENO && f->cwnd / f->mss < n)
		n = f->cwnd / f->mss ? f->cwnd / f->mss : 1;
	return n;
}

static void reset_both(struct ack_core *c, struct ack_flow *f)
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
	free_flow(c, f);
}

/* ---- state changes ---- */

static void fallback(struct ack_core *c, struct ack_flow *f, bool count)
{
	if (f->flags & F_FALLBACK)
		return;
	f->flags |= F_FALLBACK;
	f->edge = f->nxt;
	drop_held(c, f);	/* never acknowledged: the guest still has them */
	account(c, f);
	if (count)
		c->st.fallbacks++;
}

/* Forget a flow once it has nothing left for the core to do. */
static bool maybe_finish(struct ack_core *c, struct ack_flow *f)
{
	if (f->una != f->nxt)
		return false;
	if ((f->flags & F_FALLBACK) ||
	    ((f->flags & F_GFIN) && (f->flags & F_RWIN) &&
	     seq_after(f->r_ack, f->fin_seq))) {
		free_flow(c, f);
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

static void rto_fire(struct ack_core *c, struct ack_flow *f, u64 now)
{
	u32 flight = f->nxt - f->una;

	if (++f->retries > c->cfg.retry_limit) {
		reset_both(c, f);
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
	rexmit(c, f, 1, true, true);
	if (f->backoff < 64)
		f->backoff++;
	f->rto_at = now + rto_timeout(c, f);
}

/* Give a blocked guest more window once the limits allow a segment more. */
static void maybe_window_update(struct ack_core *c, struct ack_flow *f)
{
	u32 lim;

	if ((f->flags & (F_EST | F_GIVEN | F_FALLBACK | F_GFIN)) != (F_EST | F_GIVEN))
		return;
	if (seq_after(f->adv_edge, f->nxt) && f->adv_edge - f->nxt >= f->mss)
		return;
	lim = window_limit(c, f);
	if (seq_after(lim, f->adv_edge) && lim - f->adv_edge >= f->mss)
		send_local_ack(c, f);
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
		rtt_sample(c, f, now - f->rtt_time);
		f->flags &= ~F_RTT;
	}
	if (seq_after(ra, f->una)) {
		u32 top = seq_min(ra, f->nxt), acked = top - f->una;

		newack = true;
		release(c, f, acked);
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
		f->rto_at = f->una == f->nxt ? 0 : now + rto_timeout(c, f);
		account(c, f);
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
			rexmit(c, f, burst(c, f), newack, (f->flags & F_LOSS) != 0);
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
		rexmit(c, f, burst(c, f), true, false);
		f->rto_at = now + rto_timeout(c, f);
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
				rtt_sample(c, f, now - f->rtt_time);
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
			rw->window = guest_view_window(f);
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

	if (maybe_finish(c, f))
		return v;
	maybe_window_update(c, f);
	if (freed && c->vif_tight) {
		struct ack_flow *o;

		c->vif_tight = false;
		for (o = c->flows; o; o = o->next)
			if (o != f)
				maybe_window_update(c, o);
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
		drop_held(c, f);
		if (!(f->flags & F_GFIN)) {
			f->fin_seq = end;
			f->flags |= F_GFIN;
		}
		f->g_hi = seq_max(f->g_hi, end + 1);
		maybe_finish(c, f);
		return ACK_PASS;
	}

	if (!s->len) {
		/* (a pure ACK may overtake data sent before it, within the window) */
		if (seq_after(s->seq, seq_max(f->g_hi, f->edge))) {
			fallback(c, f, true);
			maybe_finish(c, f);
		} else if (seq_before(s->seq, f->nxt) && (f->flags & F_GIVEN) &&
			   !(f->flags & (F_FALLBACK | F_GFIN))) {
			/* a window probe: the receiver's answer will be consumed */
			send_local_ack(c, f);
		}
		return ACK_PASS;
	}

	if (!seq_after(end, f->nxt)) {
		/* Data we acknowledged already: our ACK was lost. */
		if (f->flags & F_GIVEN)
			send_local_ack(c, f);
		return ACK_PASS;
	}
	if ((f->flags & F_GFIN) && !seq_after(end, f->fin_seq))
		return ACK_PASS;	/* sent before the FIN: late, or resent */
	early = seq_after(s->seq, f->nxt);
	if ((f->flags & (F_FALLBACK | F_GFIN)) || !fits(c, f, end) ||
	    (early && hold(c, f, s))) {
		fallback(c, f, true);
		f->g_hi = seq_max(f->g_hi, end);
		maybe_finish(c, f);
		return ACK_PASS;
	}
	if (early) {
		c->st.reordered++;
		f->g_hi = seq_max(f->g_hi, end);
		return ACK_PASS;
	}
	off = f->nxt - s->seq;
	if (keep(c, f, s, off, s->len - off)) {
		fallback(c, f, true);
		f->g_hi = seq_max(f->g_hi, end);
		maybe_finish(c, f);
		return ACK_PASS;
	}
	f->nxt = end;
	f->g_hi = seq_max(f->g_hi, end);
	merge_held(c, f);
	if (s->has_ts)
		f->g_ts_recent = s->tsval;
	if (!(f->flags & F_RTT) && !(f->flags & F_RECOVERY)) {
		f->rtt_seq = f->nxt;
		f->rtt_time = now;
		f->flags |= F_RTT;
	}
	if (!f->rto_at)
		f->rto_at = now + rto_timeout(c, f);
	account(c, f);
	send_local_ack(c, f);
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
		free_flow(c, f);
	}
	if (c->draining || s->len || !port_ok(c, s->dport))
		return NULL;
	f = new_flow(c, k, now);
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
	key_from_seg(&k, s);
	f = lookup(c, &k);
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
		free_flow(c, f);
		return ACK_PASS;
	}
	if (s->dir == ACK_FROM_GUEST)
		return from_guest(c, f, s, now);
	return to_guest(c, f, s, now, rw);
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
			free_flow(c, f);
		}
	}
}

/* ---- lifetime ---- */

struct ack_core *ack_core_create(const struct ack_env *env,
				 const struct ack_config *cfg)
{
	struct ack_core *c;
	u32 size = 16;

	c = env->alloc(env->ctx, sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->env = *env;
	c->cfg = *cfg;
	sanitize(&c->cfg);
	/* 4096 buckets at most: one kmalloc of 32 KiB */
	while (size < c->cfg.flow_limit && size < 4096)
		size <<= 1;
	c->table = env->alloc(env->ctx, size * sizeof(*c->table));
	if (!c->table) {
		env->free(env->ctx, c);
		return NULL;
	}
	memset(c->table, 0, size * sizeof(*c->table));
	c->mask = size - 1;
	return c;
}

void ack_core_destroy(struct ack_core *c)
{
	if (!c)
		return;
	while (c->flows)
		free_flow(c, c->flows);
	core_free(c, c->table);
	core_free(c, c);
}

void ack_core_reconfigure(struct ack_core *c, const struct ack_config *cfg)
{
	u32 seed = c->cfg.hash_seed;	/* the table is hashed with it */

	c->cfg = *cfg;
	c->cfg.hash_seed = seed;
	sanitize(&c->cfg);
}

void ack_core_drain(struct ack_core *c)
{
	struct ack_flow *f, *n;

	c->draining = true;
	for (f = c->flows; f; f = n) {
		n = f->next;
		fallback(c, f, false);
		maybe_finish(c, f);
	}
}

u64 ack_core_kept_total(const struct ack_core *c)
{
	return c->kept;
}

void ack_core_stats(const struct ack_core *c, struct ack_stats *st)
{
	*st = c->st;
	st->kept_bytes = c->kept;
}
