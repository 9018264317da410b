// SPDX-License-Identifier: GPL-2.0
/*
 * police: a per-vif token-bucket policer for what a guest sends (and,
 * optionally, receives).  Packets over the rate are dropped and counted.
 *
 * One bucket per direction under its own spinlock: a vif's packets mostly
 * arrive on one CPU (netback's queue), so the lock is rarely contended, and
 * an exact shared bucket is what makes the rate a rate.
 */
#include <linux/module.h>
#include <linux/ktime.h>
#include <linux/spinlock.h>
#include <netsvc/service.h>

enum { DIR_RX, DIR_TX, NDIR };

struct police_config {
	u64 rate;	/* bytes per second */
	u32 burst;	/* bytes */
	bool both;	/* police packets to the guest too */
};

static const struct police_config police_defaults = {
	.rate = 125000000,	/* 1 Gbit/s */
	.burst = 262144,
	.both = false,
};

static const struct netsvc_param police_params[] = {
	NETSVC_PARAM_U64(struct police_config, rate, 1000, 100000000000ULL, true,
			 "bytes per second allowed"),
	NETSVC_PARAM_U32(struct police_config, burst, 1600, 1 << 30, true,
			 "bucket size in bytes"),
	NETSVC_PARAM_BOOL(struct police_config, both, false,
			  "also police packets sent to the guest"),
};

struct bucket {
	spinlock_t lock;
	u64 tokens;		/* bytes */
	u64 last_ns;
	u64 passed, dropped;
};

struct police_priv {
	struct bucket b[NDIR];
	u64 rate;
	u32 burst;
	bool both;
};

static unsigned int police(struct police_priv *p, struct bucket *b, unsigned int len)
{
	u64 now = ktime_get_ns(), rate = READ_ONCE(p->rate), burst = READ_ONCE(p->burst);
	unsigned int verdict;

	spin_lock(&b->lock);
	/* Credit the elapsed time, capped at one second to avoid overflow. */
	b->tokens += div_u64(min_t(u64, now - b->last_ns, NSEC_PER_SEC) * rate, NSEC_PER_SEC);
	b->tokens = min(b->tokens, burst);
	b->last_ns = now;
	if (b->tokens >= len) {
		b->tokens -= len;
		b->passed++;
		verdict = NF_ACCEPT;
	} else {
		b->dropped++;
		verdict = NF_DROP;
	}
	spin_unlock(&b->lock);
	return verdict;
}

static unsigned int police_ingress(struct netsvc_attachment *att, struct sk_buff *skb)
{
	struct police_priv *p = netsvc_priv(att);

	return police(p, &p->b[DIR_RX], skb->len + skb->mac_len);
}

static unsigned int police_egress(struct netsvc_attachment *att, struct sk_buff *skb)
{
	struct police_priv *p = netsvc_priv(att);

	if (!p->both)
		return NF_ACCEPT;
	return police(p, &p->b[DIR_TX], skb->len);
}

static void apply(struct police_priv *p, const struct police_config *cfg)
{
	WRITE_ONCE(p->rate, cfg->rate);
	WRITE_ONCE(p->burst, cfg->burst);
}

static int police_attach(struct netsvc_attachment *att, const void *config,
			 struct netlink_ext_ack *extack)
{
	const struct police_config *cfg = config;
	struct police_priv *p = netsvc_priv(att);
	int d;

	for (d = 0; d < NDIR; d++) {
		spin_lock_init(&p->b[d].lock);
		p->b[d].tokens = cfg->burst;
		p->b[d].last_ns = ktime_get_ns();
	}
	p->both = cfg->both;
	apply(p, cfg);
	return 0;
}

static int police_reconfigure(struct netsvc_attachment *att, const void *config,
			      struct netlink_ext_ack *extack)
{
	apply(netsvc_priv(att), config);
	return 0;
}

static void police_detach(struct netsvc_attachment *att)
{
}

static int police_fill_stats(struct netsvc_attachment *att, struct netsvc_stats *st)
{
	struct police_priv *p = netsvc_priv(att);
	u64 v[NDIR][2];
	int d;

	for (d = 0; d < NDIR; d++) {
		spin_lock_bh(&p->b[d].lock);
		v[d][0] = p->b[d].passed;
		v[d][1] = p->b[d].dropped;
		spin_unlock_bh(&p->b[d].lock);
	}
	return netsvc_stats_put(st, "rx_passed", v[DIR_RX][0]) ?:
	       netsvc_stats_put(st, "rx_policed", v[DIR_RX][1]) ?:
	       netsvc_stats_put(st, "tx_passed", v[DIR_TX][0]) ?:
	       netsvc_stats_put(st, "tx_policed", v[DIR_TX][1]);
}

static struct netsvc_service_ops police_ops = {
	.name = "police",
	.priv_size = sizeof(struct police_priv),
	.params = police_params,
	.n_params = ARRAY_SIZE(police_params),
	.config_size = sizeof(struct police_config),
	.config_default = &police_defaults,
	.attach = police_attach,
	.reconfigure = police_reconfigure,
	.detach = police_detach,
	.ingress = police_ingress,
	.egress = police_egress,
	.fill_stats = police_fill_stats,
};

static int __init police_init(void)
{
	return netsvc_service_register(&police_ops);
}

static void __exit police_exit(void)
{
	netsvc_service_unregister(&police_ops);
}

module_init(police_init);
module_exit(police_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netsvc service: per-vif token-bucket policer");
MODULE_ALIAS_NETSVC_SERVICE("police");
