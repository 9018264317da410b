// SPDX-License-Identifier: GPL-2.0
/*
 * ack_flow.c: the flow table (hashed by the guest's and the remote's address
 * and port), configuration, and the core's lifetime.
 */
#include "ack_int.h"

void *ack_alloc(struct ack_core *c, size_t size)
{
	void *p = c->env.alloc(c->env.ctx, size);

	if (!p)
		c->st.alloc_failures++;
	return p;
}

void ack_free(struct ack_core *c, void *p)
{
	c->env.free(c->env.ctx, p);
}

void ack_core_config_default(struct ack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dirs = ACK_DIR_TX;
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
	cfg->rx_grace_ns = 1000000ull;
}

static void sanitize(struct ack_config *cfg)
{
	cfg->dirs &= ACK_DIR_TX | ACK_DIR_RX;
	if (!cfg->dirs)
		cfg->dirs = ACK_DIR_TX;
	/* Keep every window computation far from 2^31 in sequence space. */
	if (cfg->flow_budget > (1u << 30))
		cfg->flow_budget = 1u << 30;
	if (cfg->recovery > ACK_REC_DUPACK)
		cfg->recovery = ACK_REC_RACK;
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
	if (cfg->cc > ACK_CC_CUBIC)
		cfg->cc = ACK_CC_NONE;
}

/*
 * Every half may fill up to this much of the vif budget whatever the others
 * hold: at most half the budget is set aside this way, for as many flows as
 * may be tracked, in each direction acknowledged (flow_limit 10,000 on 64
 * MiB: 3.3 KiB each, more than two segments), and never more than a receive
 * window's worth a half.
 */
#define FLOOR_MAX	65536u

static void set_floor(struct ack_core *c)
{
	u64 halves = (u64)c->cfg.flow_limit * (((c->cfg.dirs & ACK_DIR_TX) != 0) +
					       ((c->cfg.dirs & ACK_DIR_RX) != 0));
	u64 f = c->cfg.vif_budget / (2 * (halves ? halves : 1));

	c->floor = f < FLOOR_MAX ? (u32)f : FLOOR_MAX;
	c->reserve = c->floor * halves;
}

/* ---- flow table ---- */

void ack_key_from_seg(struct ack_key *k, const struct ack_seg *s)
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

struct ack_flow *ack_lookup(struct ack_core *c, const struct ack_key *k)
{
	struct ack_flow *f;

	for (f = c->table[key_hash(c, k) & c->mask]; f; f = f->hnext)
		if (key_eq(&f->key, k))
			return f;
	return NULL;
}

static u32 excess_of(const struct ack_core *c, const struct ack_half *h)
{
	return h->committed > c->floor ? h->committed - c->floor : 0;
}

/* What @h commits beyond its floor, into the core's sum. */
static void set_excess(struct ack_core *c, struct ack_half *h)
{
	u32 e = excess_of(c, h);

	c->excess = c->excess - h->excess + e;
	h->excess = e;
}

/* Re-sum a half's kept and committed bytes into the core's totals. */
void ack_account(struct ack_core *c, struct ack_half *h)
{
	struct ack_dir_stats *st = hstats(c, h);
	u32 top = h->nxt, copies = 0;

	if (!(h->flags & H_FALLBACK) && seq_after(h->edge, top))
		top = h->edge;
	/* copies toward a re-entry are memory too, though not acknowledged */
	if (h->flags & H_PROBE)
		copies = h->hi - h->probe_seq;
	c->kept = c->kept - h->kept + (h->nxt - h->una);
	c->dkept[h->dir] = c->dkept[h->dir] - h->kept + (h->nxt - h->una);
	c->committed = c->committed - h->committed + (top - h->una) + copies;
	h->kept = h->nxt - h->una;
	h->committed = top - h->una + copies;
	set_excess(c, h);
	if (c->dkept[h->dir] > st->kept_peak)
		st->kept_peak = c->dkept[h->dir];
}

static void free_half(struct ack_core *c, struct ack_half *h)
{
	ack_release(c, h, h->nxt - h->una);
	ack_drop_held(c, h);
	h->una = h->nxt;
	h->flags |= H_FALLBACK;
	ack_account(c, h);
}

void ack_free_flow(struct ack_core *c, struct ack_flow *f)
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
	free_half(c, &f->tx);
	free_half(c, &f->rx);
	ack_stop_waiting(c, f);
	ack_timer_unfile(f);
	c->st.flows--;
	ack_free(c, f);
}

static void init_half(struct ack_core *c, struct ack_half *h, u8 dir,
		      bool enabled)
{
	h->dir = dir;
	h->rto = c->cfg.rto_init_ns;
	h->flags |= enabled ? H_TAKEN : H_FALLBACK;
}

struct ack_flow *ack_new_flow(struct ack_core *c, const struct ack_key *k,
			      u64 now)
{
	struct ack_flow *f;
	u32 b;

	if (c->st.flows >= c->cfg.flow_limit) {
		c->st.flows_untracked++;
		return NULL;
	}
	f = ack_alloc(c, sizeof(*f));
	if (!f) {
		c->st.flows_untracked++;
		return NULL;
	}
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->g_wsopt = f->r_wsopt = WS_NONE;
	init_half(c, &f->tx, ACK_FROM_GUEST, c->cfg.dirs & ACK_DIR_TX);
	init_half(c, &f->rx, ACK_TO_GUEST, c->cfg.dirs & ACK_DIR_RX);
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

const struct ack_flow *ack_core_lookup(struct ack_core *c,
				       const struct ack_key *key)
{
	return ack_lookup(c, key);
}

void ack_core_flow_range(const struct ack_flow *f, u8 dir, u32 *una, u32 *nxt)
{
	const struct ack_half *h = dir == ACK_FROM_GUEST ? &f->tx : &f->rx;

	*una = h->una;
	*nxt = h->nxt;
}

/* ---- the flows, for a person ---- */

/* @t relative to @now in ms; 0 (no deadline) stays 0 */
static long long ms_from(u64 t, u64 now)
{
	return t ? ((long long)(t - now)) / 1000000 : 0;
}

static void dump_half(const struct ack_half *h, const char *name, u32 isn,
		      u64 now, ack_out_fn out, void *ctx)
{
	out(ctx, "  %s flags %#x una %u nxt %u hi %u edge %u kept %u held %u r_ack %u r_wnd %u\n",
	    name, h->flags, h->una - isn, h->nxt - isn, h->hi - isn, h->edge - isn,
	    h->kept, h->nheld, h->r_ack - isn, h->r_wnd);
	out(ctx, "    sacked %u", h->nsacked);
	if (h->nsacked)
		out(ctx, " first [%u,%u) last [%u,%u)", h->sacked[0].start - isn,
		    h->sacked[0].end - isn, h->sacked[h->nsacked - 1].start - isn,
		    h->sacked[h->nsacked - 1].end - isn);
	out(ctx, " recover %u retx_hi %u cwnd %u ssthresh %u dupacks %u\n",
	    h->recover - isn, h->retx_hi - isn, h->cwnd, h->ssthresh, h->dupacks);
	out(ctx, "    srtt_us %llu rto_us %llu backoff %u retries %u rto_in_ms %lld ack_in_us %lld rack_in_ms %lld reo_wnd_us %llu tlp_out %u frto %u holes %u\n",
	    (unsigned long long)(h->srtt / 1000), (unsigned long long)(h->rto / 1000),
	    h->backoff, h->retries, ms_from(h->rto_at, now),
	    h->ack_due ? ((long long)(h->ack_due - now)) / 1000 : 0,
	    ms_from(ack_rack_deadline(h), now),
	    (unsigned long long)(h->rack.reo_wnd / 1000), h->rack.tlp_out,
	    h->rack.frto, h->rack.holes);
}

u32 ack_core_dump(const struct ack_core *c, u64 now, u32 max, ack_out_fn out,
		  void *ctx)
{
	const struct ack_flow *f;
	u32 n = 0;

	for (f = c->flows; f && n < max; f = f->next, n++) {
		out(ctx, "flow %u guest port %u remote port %u flags %#x idle_ms %lld\n",
		    n, f->key.gport, f->key.rport, f->flags,
		    (long long)(now - f->last_active) / 1000000);
		dump_half(&f->tx, "tx", f->g_isn, now, out, ctx);
		dump_half(&f->rx, "rx", f->r_isn, now, out, ctx);
	}
	return n;
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
	set_floor(c);
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
	c->soonest = ACK_NO_DEADLINE;
	c->waiting_tail = &c->waiting;
	c->late = ACK_NO_DEADLINE;
	return c;
}

void ack_core_destroy(struct ack_core *c)
{
	if (!c)
		return;
	while (c->flows)
		ack_free_flow(c, c->flows);
	ack_free(c, c->table);
	ack_free(c, c);
}

#ifndef __KERNEL__
/* Held segments and SACKed ranges: sorted, disjoint, counted. */
static bool lists_consistent(const struct ack_half *h)
{
	const struct held *e;
	u32 n = 0, i;

	for (e = h->held; e; e = e->next, n++)
		if (!e->len || (e->next && !seq_before(e->seq + e->len - 1, e->next->seq)))
			return false;
	if (n != h->nheld || n > MAX_HELD || h->nsacked > MAX_SACKED)
		return false;
	for (i = 0; i < h->nsacked; i++)
		if (!seq_before(h->sacked[i].start, h->sacked[i].end) ||
		    (i && !seq_before(h->sacked[i - 1].end, h->sacked[i].start)))
			return false;
	return true;
}

bool ack_core_budget_consistent(const struct ack_core *c, u64 budget)
{
	const struct ack_flow *f;
	u64 committed = 0, excess = 0;
	int i;

	for (f = c->flows; f; f = f->next)
		for (i = 0; i < 2; i++) {
			const struct ack_half *h = i ? &f->rx : &f->tx;

			if (h->excess != excess_of(c, h) || !lists_consistent(h))
				return false;
			committed += h->committed;
			excess += h->excess;
		}
	return committed == c->committed && excess == c->excess && committed <= budget;
}
#endif

void ack_core_reconfigure(struct ack_core *c, const struct ack_config *cfg)
{
	u32 seed = c->cfg.hash_seed;	/* the table is hashed with it */
	struct ack_flow *f, *n;

	c->cfg = *cfg;
	c->cfg.hash_seed = seed;
	sanitize(&c->cfg);
	set_floor(c);
	/*
	 * A direction turned off: its flows recover what they kept, then end
	 * to end; those that had fallen back already stop copying toward a
	 * re-entry, and are forgotten if nothing else is left.
	 */
	for (f = c->flows; f; f = n) {
		bool off_tx = !(c->cfg.dirs & ACK_DIR_TX);
		bool off_rx = !(c->cfg.dirs & ACK_DIR_RX);

		n = f->next;
		set_excess(c, &f->tx);	/* the floor may have changed */
		set_excess(c, &f->rx);
		if (off_tx)
			ack_fallback(c, &f->tx, false);
		if (off_rx)
			ack_fallback(c, &f->rx, false);
		if (off_tx || off_rx)
			ack_maybe_finish(c, f);
	}
	ack_timer_refile_all(c);	/* every flow may have changed */
}

void ack_core_drain(struct ack_core *c)
{
	struct ack_flow *f, *n;

	c->draining = true;
	for (f = c->flows; f; f = n) {
		n = f->next;
		ack_fallback(c, &f->tx, false);
		ack_fallback(c, &f->rx, false);
		ack_maybe_finish(c, f);
	}
	ack_timer_refile_all(c);	/* every flow may have changed */
}

u64 ack_core_kept_total(const struct ack_core *c)
{
	return c->kept;
}

void ack_core_stats(const struct ack_core *c, struct ack_stats *st)
{
	*st = c->st;
	st->tx.kept_bytes = c->dkept[ACK_FROM_GUEST];
	st->rx.kept_bytes = c->dkept[ACK_TO_GUEST];
}
