// SPDX-License-Identifier: GPL-2.0
/*
 * acct: per-vif traffic accounting.  Counts packets and bytes per direction
 * and protocol class, and keeps the heaviest flows so an operator can see who
 * a guest talks to.  It only observes: every packet is accepted.
 *
 * Every counter is per-CPU, the flow's too, so a packet of a known flow
 * writes nothing another CPU writes: it finds its flow under RCU and adds to
 * this CPU's counters, with no lock and no atomic.  Only a new flow takes its
 * bucket's lock.  When the table is full a new flow replaces the lightest flow
 * of its own bucket (or is counted as untracked when that bucket is empty): a
 * global minimum would need a global lock.  The replaced flow is freed after
 * a grace period, since a packet on another CPU may still be counting on it.
 *
 * Per packet the flow key is built in place as 64-bit words, so that hashing
 * (IPv4: three words and a seed, no byte loop) and comparing (five XORs) stay
 * a handful of instructions.  The seed is random per attachment: a guest that
 * chooses its ports cannot pile its flows into one bucket and make every
 * packet walk a long chain.
 */
#include <linux/module.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <netsvc/service.h>

#define ACCT_BUCKETS	256
#define ACCT_TOP_MAX	32

enum { DIR_RX, DIR_TX, NDIR };
enum {
	C_IPV4_TCP, C_IPV4_UDP, C_IPV4_ICMP, C_IPV6_TCP, C_IPV6_UDP,
	C_IPV6_ICMP, C_ARP, C_OTHER, NCLASS
};
static const char *const class_names[NCLASS] = {
	"ipv4_tcp", "ipv4_udp", "ipv4_icmp", "ipv6_tcp", "ipv6_udp",
	"ipv6_icmp", "arp", "other",
};
static const char *const dir_names[NDIR] = { "rx", "tx" };

struct acct_config {
	u32 top;
	u32 max_flows;
	bool count_only;
};

static const struct acct_config acct_defaults = {
	.top = 5,
	.max_flows = 1024,
	.count_only = false,
};

static const struct netsvc_param acct_params[] = {
	NETSVC_PARAM_U32(struct acct_config, top, 0, ACCT_TOP_MAX, true,
			 "number of heaviest flows reported by show"),
	NETSVC_PARAM_U32(struct acct_config, max_flows, 16, 65536, false,
			 "flows tracked at most; beyond, the lightest of a bucket is replaced"),
	NETSVC_PARAM_BOOL(struct acct_config, count_only, false,
			  "count protocol classes only, track no flows"),
};

struct acct_key {
	union {
		struct {
			union {
				__be32 v4;
				struct in6_addr v6;
			} src, dst;
			__be16 sport, dport;
			u8 family;	/* AF_INET or AF_INET6 */
			u8 proto;
			u8 dir;
			u8 zero;
		};
		u32 w32[10];
		u64 w64[5];
	};
};

static_assert(sizeof(struct acct_key) == 40);

struct acct_flow {
	struct hlist_node node;
	struct acct_key key;
	u64 __percpu *bytes;	/* the flow's bytes counted on each CPU */
	struct rcu_head rcu;
};

/* A flow as show reports it: the per-CPU counts summed. */
struct acct_flow_snap {
	struct acct_key key;
	u64 bytes;
};

struct acct_bucket {
	spinlock_t lock;
	struct hlist_head flows;
};

struct acct_pcpu {
	u64 packets[NDIR][NCLASS];
	u64 bytes[NDIR][NCLASS];
	struct u64_stats_sync syncp;
};

struct acct_priv {
	struct acct_pcpu __percpu *pcpu;
	struct acct_bucket *buckets;
	atomic_t n_flows;
	atomic64_t evictions, untracked;
	u32 seed;		/* of the bucket hash */
	u32 top;		/* live: READ_ONCE */
	u32 max_flows;
	bool count_only;
};

/*
 * Fills the class and, for TCP/UDP, the flow key, which the caller has zeroed
 * (once, for both address families).  Returns the class.
 */
static __always_inline int classify(struct sk_buff *skb, int dir, struct acct_key *k,
				    bool *has_key)
{
	int noff = skb_network_offset(skb);
	u8 proto;

	*has_key = false;
	switch (skb->protocol) {
	case htons(ETH_P_IP): {
		struct iphdr _iph;
		const struct iphdr *iph = skb_header_pointer(skb, noff, sizeof(_iph), &_iph);

		if (!iph || iph->ihl < 5)
			return C_OTHER;
		proto = iph->protocol;
		if (ntohs(iph->frag_off) & IP_OFFSET)
			proto = 0;	/* no transport header in later fragments */
		if (proto == IPPROTO_ICMP)
			return C_IPV4_ICMP;
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			return C_OTHER;
		k->family = AF_INET;
		k->src.v4 = iph->saddr;
		k->dst.v4 = iph->daddr;
		noff += iph->ihl * 4;
		break;
	}
	case htons(ETH_P_IPV6): {
		struct ipv6hdr _ip6h;
		const struct ipv6hdr *ip6h = skb_header_pointer(skb, noff, sizeof(_ip6h), &_ip6h);
		__be16 frag_off;

		if (!ip6h)
			return C_OTHER;
		proto = ip6h->nexthdr;
		noff = ipv6_skip_exthdr(skb, noff + sizeof(*ip6h), &proto, &frag_off);
		if (noff < 0)
			return C_OTHER;
		if (proto == IPPROTO_ICMPV6)
			return C_IPV6_ICMP;
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			return C_OTHER;
		if (frag_off & htons(~0x7))
			return proto == IPPROTO_TCP ? C_IPV6_TCP : C_IPV6_UDP;
		k->family = AF_INET6;
		k->src.v6 = ip6h->saddr;
		k->dst.v6 = ip6h->daddr;
		break;
	}
	case htons(ETH_P_ARP):
		return C_ARP;
	default:
		return C_OTHER;
	}

	k->proto = proto;
	k->dir = dir;
	{
		__be16 _ports[2];
		const __be16 *ports = skb_header_pointer(skb, noff, sizeof(_ports), _ports);

		if (ports) {
			k->sport = ports[0];
			k->dport = ports[1];
			*has_key = true;
		}
	}
	if (k->family == AF_INET)
		return proto == IPPROTO_TCP ? C_IPV4_TCP : C_IPV4_UDP;
	return proto == IPPROTO_TCP ? C_IPV6_TCP : C_IPV6_UDP;
}

static __always_inline u32 key_hash(const struct acct_key *k, u32 seed)
{
	/* An IPv4 key is zero between its first and its ninth word. */
	if (k->family == AF_INET)
		return jhash_3words(k->w32[0], k->w32[4], k->w32[8], seed ^ k->w32[9]);
	return jhash2(k->w32, ARRAY_SIZE(k->w32), seed);
}

static __always_inline bool key_equal(const struct acct_key *a, const struct acct_key *b)
{
	return !((a->w64[0] ^ b->w64[0]) | (a->w64[1] ^ b->w64[1]) |
		 (a->w64[2] ^ b->w64[2]) | (a->w64[3] ^ b->w64[3]) |
		 (a->w64[4] ^ b->w64[4]));
}

/*
 * Sum of a flow's per-CPU counts.  A count read while another CPU adds to it
 * may miss that packet: show reports what was counted by about then.
 */
static u64 flow_bytes(const struct acct_flow *f)
{
	u64 n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += READ_ONCE(*per_cpu_ptr(f->bytes, cpu));
	return n;
}

static void free_flow(struct acct_flow *f)
{
	free_percpu(f->bytes);
	kfree(f);
}

static void free_flow_rcu(struct rcu_head *head)
{
	free_flow(container_of(head, struct acct_flow, rcu));
}

static __always_inline struct acct_flow *find_flow(struct acct_bucket *b,
						   const struct acct_key *k)
{
	struct acct_flow *f;

	hlist_for_each_entry_rcu(f, &b->flows, node)
		if (key_equal(&f->key, k))
			return f;
	return NULL;
}

/* A flow for @k in @b: new, or the bucket's lightest replaced.  b->lock held. */
static struct acct_flow *add_flow(struct acct_priv *p, struct acct_bucket *b,
				  const struct acct_key *k)
{
	struct acct_flow *f, *lightest = NULL;
	u64 least = 0, n;

	if (atomic_inc_return(&p->n_flows) > p->max_flows) {
		atomic_dec(&p->n_flows);
		hlist_for_each_entry(f, &b->flows, node) {
			n = flow_bytes(f);
			if (!lightest || n < least) {
				lightest = f;
				least = n;
			}
		}
		if (!lightest)
			return NULL;
	}
	f = kmalloc(sizeof(*f), GFP_ATOMIC | __GFP_NOWARN);
	if (f)
		f->bytes = alloc_percpu_gfp(u64, GFP_ATOMIC | __GFP_NOWARN);
	if (!f || !f->bytes) {
		kfree(f);
		if (!lightest)
			atomic_dec(&p->n_flows);
		return NULL;
	}
	f->key = *k;
	if (lightest) {
		atomic64_inc(&p->evictions);
		hlist_replace_rcu(&lightest->node, &f->node);
		call_rcu(&lightest->rcu, free_flow_rcu);
	} else {
		hlist_add_head_rcu(&f->node, &b->flows);
	}
	return f;
}

/* A flow not found under RCU: look again under the bucket's lock, or add it. */
static noinline struct acct_flow *track_new_flow(struct acct_priv *p, struct acct_bucket *b,
						 const struct acct_key *k)
{
	struct acct_flow *f;

	spin_lock(&b->lock);
	f = find_flow(b, k);	/* another CPU may have added it */
	if (!f)
		f = add_flow(p, b, k);
	spin_unlock(&b->lock);
	if (!f)
		atomic64_inc(&p->untracked);
	return f;
}

/* Called under RCU (the hook's), BHs off. */
static __always_inline void track_flow(struct acct_priv *p, const struct acct_key *k,
				       unsigned int len)
{
	struct acct_bucket *b = &p->buckets[key_hash(k, p->seed) % ACCT_BUCKETS];
	struct acct_flow *f = find_flow(b, k);

	if (unlikely(!f)) {
		f = track_new_flow(p, b, k);
		if (!f)
			return;
	}
	__this_cpu_add(*f->bytes, len);
}

/*
 * Inlined into acct_ingress and acct_egress whole, with @dir a constant: the
 * per-packet path is one stack frame (bench/hookinsn.sh's profile: 185
 * instructions a 64-byte UDP packet, against 240 as four functions).
 */
static __always_inline unsigned int acct_packet(struct netsvc_attachment *att,
						struct sk_buff *skb, int dir)
{
	struct acct_priv *p = netsvc_priv(att);
	unsigned int len = skb->len + (dir == DIR_RX ? skb->mac_len : 0);
	struct acct_pcpu *c;
	struct acct_key k;
	bool has_key;
	int cls;

	/* every byte, the unions' tails too: keys are compared as words */
	memset(&k, 0, sizeof(k));
	cls = classify(skb, dir, &k, &has_key);
	c = this_cpu_ptr(p->pcpu);
	u64_stats_update_begin(&c->syncp);
	c->packets[dir][cls]++;
	c->bytes[dir][cls] += len;
	u64_stats_update_end(&c->syncp);
	if (has_key && !p->count_only)
		track_flow(p, &k, len);
	return NF_ACCEPT;
}

static unsigned int acct_ingress(struct netsvc_attachment *att, struct sk_buff *skb)
{
	return acct_packet(att, skb, DIR_RX);
}

static unsigned int acct_egress(struct netsvc_attachment *att, struct sk_buff *skb)
{
	return acct_packet(att, skb, DIR_TX);
}

static int acct_attach(struct netsvc_attachment *att, const void *config,
		       struct netlink_ext_ack *extack)
{
	const struct acct_config *cfg = config;
	struct acct_priv *p = netsvc_priv(att);
	int i, cpu;

	p->pcpu = alloc_percpu(struct acct_pcpu);
	p->buckets = kcalloc(ACCT_BUCKETS, sizeof(*p->buckets), GFP_KERNEL);
	if (!p->pcpu || !p->buckets) {
		free_percpu(p->pcpu);
		kfree(p->buckets);
		return -ENOMEM;
	}
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(p->pcpu, cpu)->syncp);
	for (i = 0; i < ACCT_BUCKETS; i++) {
		spin_lock_init(&p->buckets[i].lock);
		INIT_HLIST_HEAD(&p->buckets[i].flows);
	}
	atomic_set(&p->n_flows, 0);
	atomic64_set(&p->evictions, 0);
	atomic64_set(&p->untracked, 0);
	p->seed = get_random_u32();
	p->top = cfg->top;
	p->max_flows = cfg->max_flows;
	p->count_only = cfg->count_only;
	return 0;
}

static int acct_reconfigure(struct netsvc_attachment *att, const void *config,
			    struct netlink_ext_ack *extack)
{
	const struct acct_config *cfg = config;
	struct acct_priv *p = netsvc_priv(att);

	WRITE_ONCE(p->top, cfg->top);
	return 0;
}

static void acct_detach(struct netsvc_attachment *att)
{
	struct acct_priv *p = netsvc_priv(att);
	struct acct_flow *f;
	struct hlist_node *tmp;
	int i;

	/* The hooks are gone and their readers done: no packet counts any more. */
	for (i = 0; i < ACCT_BUCKETS; i++)
		hlist_for_each_entry_safe(f, tmp, &p->buckets[i].flows, node)
			free_flow(f);
	kfree(p->buckets);
	free_percpu(p->pcpu);
}

/* The @n heaviest flows, heaviest first, copied out under the bucket locks. */
static unsigned int heaviest(struct acct_priv *p, struct acct_flow_snap *top, unsigned int n)
{
	unsigned int have = 0, i, j;
	struct acct_flow *f;
	u64 bytes;

	for (i = 0; i < ACCT_BUCKETS && n; i++) {
		spin_lock_bh(&p->buckets[i].lock);
		hlist_for_each_entry(f, &p->buckets[i].flows, node) {
			bytes = flow_bytes(f);
			if (have == n && bytes <= top[n - 1].bytes)
				continue;
			j = have < n ? have++ : n - 1;
			while (j > 0 && top[j - 1].bytes < bytes) {
				top[j] = top[j - 1];
				j--;
			}
			top[j].key = f->key;
			top[j].bytes = bytes;
		}
		spin_unlock_bh(&p->buckets[i].lock);
	}
	return have;
}

static int put_flow(struct netsvc_stats *st, unsigned int i, const struct acct_flow_snap *f)
{
	const struct acct_key *k = &f->key;
	const char *proto = k->proto == IPPROTO_TCP ? "tcp" : "udp";
	char name[112];

	if (k->family == AF_INET)
		snprintf(name, sizeof(name), "flow%u %s %s %pI4:%u>%pI4:%u bytes", i, dir_names[k->dir],
			 proto, &k->src.v4, ntohs(k->sport), &k->dst.v4, ntohs(k->dport));
	else
		snprintf(name, sizeof(name), "flow%u %s %s [%pI6c]:%u>[%pI6c]:%u bytes", i,
			 dir_names[k->dir], proto, &k->src.v6, ntohs(k->sport),
			 &k->dst.v6, ntohs(k->dport));
	return netsvc_stats_put(st, name, f->bytes);
}

static int acct_fill_stats(struct netsvc_attachment *att, struct netsvc_stats *st)
{
	struct acct_priv *p = netsvc_priv(att);
	u64 packets[NDIR][NCLASS] = {}, bytes[NDIR][NCLASS] = {};
	struct acct_flow_snap *top;
	unsigned int n, i;
	char name[48];
	int cpu, d, c, err = 0;

	for_each_possible_cpu(cpu) {
		const struct acct_pcpu *pc = per_cpu_ptr(p->pcpu, cpu);
		struct acct_pcpu snap;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&pc->syncp);
			memcpy(&snap, pc, offsetof(struct acct_pcpu, syncp));
		} while (u64_stats_fetch_retry(&pc->syncp, start));
		for (d = 0; d < NDIR; d++)
			for (c = 0; c < NCLASS; c++) {
				packets[d][c] += snap.packets[d][c];
				bytes[d][c] += snap.bytes[d][c];
			}
	}
	for (d = 0; d < NDIR && !err; d++)
		for (c = 0; c < NCLASS && !err; c++) {
			snprintf(name, sizeof(name), "%s_%s_packets", dir_names[d], class_names[c]);
			err = netsvc_stats_put(st, name, packets[d][c]);
			snprintf(name, sizeof(name), "%s_%s_bytes", dir_names[d], class_names[c]);
			err = err ?: netsvc_stats_put(st, name, bytes[d][c]);
		}
	err = err ?: netsvc_stats_put(st, "flows", atomic_read(&p->n_flows));
	err = err ?: netsvc_stats_put(st, "flow_evictions", atomic64_read(&p->evictions));
	err = err ?: netsvc_stats_put(st, "flows_untracked", atomic64_read(&p->untracked));
	n = READ_ONCE(p->top);
	if (err || !n)
		return err;
	top = kmalloc_array(n, sizeof(*top), GFP_KERNEL);
	if (!top)
		return -ENOMEM;
	n = heaviest(p, top, n);
	for (i = 0; i < n && !err; i++)
		err = put_flow(st, i, &top[i]);
	kfree(top);
	return err;
}

static struct netsvc_service_ops acct_ops = {
	.name = "acct",
	.priv_size = sizeof(struct acct_priv),
	.params = acct_params,
	.n_params = ARRAY_SIZE(acct_params),
	.config_size = sizeof(struct acct_config),
	.config_default = &acct_defaults,
	.attach = acct_attach,
	.reconfigure = acct_reconfigure,
	.detach = acct_detach,
	.ingress = acct_ingress,
	.egress = acct_egress,
	.fill_stats = acct_fill_stats,
};

static int __init acct_init(void)
{
	return netsvc_service_register(&acct_ops);
}

static void __exit acct_exit(void)
{
	netsvc_service_unregister(&acct_ops);
	rcu_barrier();		/* flows replaced in a table: freed by call_rcu */
}

module_init(acct_init);
module_exit(acct_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netsvc service: per-vif traffic accounting");
MODULE_ALIAS_NETSVC_SERVICE("acct");
