// SPDX-License-Identifier: GPL-2.0
/*
 * tunnel: Dom0's broker for shared-memory tunnels between co-resident guests.
 *
 *      Dom0: netsvc_tunnel (this file)               XenStore
 *                          +---------- <--- 1, 2: data/netsvc-front/ring-kb
 *   attach tunnel vif1.0 --+                /local/domain/1/data/netsvc-tunnel/2/
 *   attach tunnel vif2.0 --+-> pair(1,2) -->   mac role=grant gen ring-kb (offer)
 *                          |   gen N     -->/local/domain/2/data/netsvc-tunnel/1/
 *                          |                   mac role=map gen ring-kb   (offer)
 *                          +-- relay <----- 1 replies: refs evtchn reply-gen
 *                              refs ------>  2 gets:  peer-refs peer-evtchn
 *                                           2 replies: state=connected
 *     guest 1 (netsvc_front) <==== grant-shared rings + event channel ====> guest 2
 *
 * The broker never touches the tunnel's memory.  It decides who may talk to
 * whom: attaching the service to a vif makes that guest eligible, and two
 * eligible guests are paired when their vifs are enslaved to the same bridge
 * (same L2 segment), each one's peers= list, if set, names the other, and
 * both run the guest end (it publishes the largest ring it takes; the offer
 * carries the smaller of the two, see proto.h).  It
 * learns each guest's MAC from the vif's backend node in XenStore, not from
 * any frame the guest sent.
 *
 * Offers go into each guest's own data directory, which xenstored lets only
 * that guest (and Dom0) read: a guest never sees offers made to others, and
 * what it writes there reaches its peer only through the relay, which copies
 * the granter's refs/evtchn of an authorised pair, after a syntax check, to
 * its mapper.  Each offer carries a generation, and replies quoting another
 * generation are ignored, so nothing stale from an earlier channel is relayed.
 *
 * Revocation is removing both offers: on detach, when either vif disappears
 * (the core detaches on unregister, e.g. xl destroy), when peers= or the
 * bridge stop allowing the pair, and when either guest reports "error" (the
 * peer misbehaved on the ring).  An errored pair is not offered again until
 * one side is attached anew.  Guests fall back to netfront by themselves.
 * A guest that closes a channel for its own reasons (save, migration) reports
 * "closed" and the pair is offered anew: a generation is one channel's life,
 * guests never set up the same one twice.  A guest's restored or migrated
 * copy is a new domain with a new vif, paired again by the same rules, but
 * never with its old self (same MAC).
 */
#include <linux/module.h>
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <xen/xen.h>
#include <xen/xenbus.h>
#include <netsvc/service.h>
#include "proto.h"

#define PEERS_MAX	127

struct tunnel_config {
	char peers[PEERS_MAX + 1];
};

static const struct tunnel_config tunnel_defaults = {};

static const struct netsvc_param tunnel_params[] = {
	NETSVC_PARAM_STRING(struct tunnel_config, peers, true,
			    "comma-separated domids this guest may tunnel to; empty: any guest on its bridge"),
};

struct tunnel_member {
	struct list_head node;		/* members */
	struct net_device *dev;
	unsigned int domid, devid;
	u8 mac[ETH_ALEN];
	char peers[PEERS_MAX + 1];
	unsigned int ring_kb;		/* the guest's ring-kb; 0: its end is not running */
	struct xenbus_watch watch, caps_watch;
	u64 offers, setups, teardowns, peer_errors;
};

/* Two members, the lower domid grants.  Lives under broker_mutex. */
struct tunnel_pair {
	struct list_head node;		/* pairs */
	struct tunnel_member *g, *m;
	u32 gen;
	unsigned int ring_kb;		/* offered: the smaller of the two */
	bool relayed, connected, failed;
};

static DEFINE_MUTEX(broker_mutex);
static LIST_HEAD(members);
static LIST_HEAD(pairs);
static u32 next_gen;
static void broker_reconcile(struct work_struct *w);
static DECLARE_WORK(broker_work, broker_reconcile);

static void offer_dir(char *buf, size_t len, unsigned int domid, unsigned int peer)
{
	snprintf(buf, len, "/local/domain/%u/%s/%u", domid, NTUN_XS_DIR, peer);
}

static bool peers_allow(const char *list, unsigned int domid)
{
	const char *s = list;
	unsigned int v;
	int n;

	if (!*s)
		return true;
	while (*s) {
		if (sscanf(s, "%u%n", &v, &n) == 1) {
			if (v == domid)
				return true;
			s += n;
		}
		while (*s && *s != ',')
			s++;
		if (*s == ',')
			s++;
	}
	return false;
}

/*
 * What the guest's end says it takes, read fresh: any number is brought into
 * the protocol's range (a power of two, rounded down); no number at all means
 * that no guest end runs, and nothing is offered to it.
 */
static unsigned int member_ring_kb(const struct tunnel_member *me)
{
	char dir[80];
	unsigned int kb;

	snprintf(dir, sizeof(dir), "/local/domain/%u/%s", me->domid, NTUN_XS_CAPS);
	if (xenbus_scanf(XBT_NIL, dir, "ring-kb", "%u", &kb) != 1)
		return 0;
	return rounddown_pow_of_two(clamp(kb, NTUN_RING_KB_MIN, NTUN_RING_KB_MAX));
}

static unsigned int pair_ring_kb(const struct tunnel_member *a, const struct tunnel_member *b)
{
	return min(a->ring_kb, b->ring_kb);
}

/* Same bridge and both policies agree.  broker_mutex held. */
static bool pair_allowed(const struct tunnel_member *a, const struct tunnel_member *b)
{
	struct net_device *ma, *mb;

	/* Same MAC: a guest and its own migrating copy, or a clash. */
	if (a->domid == b->domid || ether_addr_equal(a->mac, b->mac))
		return false;
	if (!peers_allow(a->peers, b->domid) || !peers_allow(b->peers, a->domid))
		return false;
	rcu_read_lock();
	ma = netdev_master_upper_dev_get_rcu(a->dev);
	mb = netdev_master_upper_dev_get_rcu(b->dev);
	rcu_read_unlock();
	/* Pointers compared only, never dereferenced. */
	return ma && ma == mb;
}

static int write_offer(struct tunnel_member *me, struct tunnel_member *peer, bool grant, u32 gen,
		       unsigned int ring_kb)
{
	struct xenbus_transaction xbt;
	char dir[80];
	int err;

	offer_dir(dir, sizeof(dir), me->domid, peer->domid);
again:
	err = xenbus_transaction_start(&xbt);
	if (err)
		return err;
	/* A fresh directory: nothing of an earlier offer survives. */
	xenbus_rm(xbt, dir, "");
	err = xenbus_printf(xbt, dir, "mac", "%pM", peer->mac);
	err = err ?: xenbus_write(xbt, dir, "role", grant ? "grant" : "map");
	err = err ?: xenbus_printf(xbt, dir, "gen", "%u", gen);
	err = err ?: xenbus_printf(xbt, dir, "ring-kb", "%u", ring_kb);
	if (ntun_xs_retry(xbt, &err))
		goto again;
	return err;
}

static void revoke(struct tunnel_pair *p)
{
	char dir[80];

	offer_dir(dir, sizeof(dir), p->g->domid, p->m->domid);
	xenbus_rm(XBT_NIL, dir, "");
	offer_dir(dir, sizeof(dir), p->m->domid, p->g->domid);
	xenbus_rm(XBT_NIL, dir, "");
}

static void pair_destroy(struct tunnel_pair *p)
{
	if (!p->failed) {
		revoke(p);
		if (p->connected) {
			p->g->teardowns++;
			p->m->teardowns++;
		}
	}
	pr_info("pair %u-%u (gen %u) withdrawn\n", p->g->domid, p->m->domid, p->gen);
	list_del(&p->node);
	kfree(p);
}

/* The guest's reply for this pair's generation, or NULL. */
static char *read_reply(struct tunnel_member *me, struct tunnel_member *peer, u32 gen,
			const char *key)
{
	char dir[80];
	unsigned int g;
	char *s;

	offer_dir(dir, sizeof(dir), me->domid, peer->domid);
	if (xenbus_scanf(XBT_NIL, dir, "reply-gen", "%u", &g) != 1 || g != gen)
		return NULL;
	s = xenbus_read(XBT_NIL, dir, key, NULL);
	return IS_ERR(s) ? NULL : s;
}

/* Exactly nr decimal numbers separated by single spaces. */
static bool refs_well_formed(const char *s, unsigned int nr)
{
	unsigned int n = 1;
	size_t len = strlen(s);

	if (!len || len > nr * 11 || s[0] == ' ' || s[len - 1] == ' ')
		return false;
	for (; *s; s++) {
		if (*s == ' ') {
			if (s[1] == ' ')
				return false;
			n++;
		} else if (!isdigit(*s)) {
			return false;
		}
	}
	return n == nr;
}

static void relay(struct tunnel_pair *p)
{
	struct xenbus_transaction xbt;
	char *refs, *port, dir[80];
	unsigned int evtchn, gen;
	int err;

	refs = read_reply(p->g, p->m, p->gen, "refs");
	port = read_reply(p->g, p->m, p->gen, "evtchn");
	if (!refs || !port)
		goto out;
	if (!refs_well_formed(refs, ntun_nr_pages(ntun_ring_order(p->ring_kb))) || kstrtouint(port, 10, &evtchn)) {
		pr_warn("guest %u: malformed reply for peer %u, pair dropped\n",
			p->g->domid, p->m->domid);
		p->g->peer_errors++;
		revoke(p);
		p->failed = true;
		goto out;
	}
	offer_dir(dir, sizeof(dir), p->m->domid, p->g->domid);
again:
	if (xenbus_transaction_start(&xbt))
		goto out;
	if (xenbus_scanf(xbt, dir, "gen", "%u", &gen) != 1 || gen != p->gen) {
		/* The mapper removed its own offer: it is not interested. */
		xenbus_transaction_end(xbt, 1);
		goto out;
	}
	err = xenbus_write(xbt, dir, "peer-refs", refs);
	err = err ?: xenbus_printf(xbt, dir, "peer-evtchn", "%u", evtchn);
	if (ntun_xs_retry(xbt, &err))
		goto again;
	if (!err)
		p->relayed = true;
out:
	kfree(refs);
	kfree(port);
}

static bool reports(struct tunnel_member *me, struct tunnel_member *peer, u32 gen,
		    const char *state)
{
	char *s = read_reply(me, peer, gen, "state");
	bool ret = s && !strcmp(s, state);

	kfree(s);
	return ret;
}

/*
 * Follow one live pair's set-up.  True when a guest closed the channel for a
 * reason of its own (it suspends for a save or a migration, its peer closed
 * the ring, its module or interface goes): the pair is then offered anew,
 * with a new generation, which it takes up whenever it can.  broker_mutex
 * held.
 */
static bool pair_step(struct tunnel_pair *p)
{
	bool gerr = reports(p->g, p->m, p->gen, "error");
	bool merr = reports(p->m, p->g, p->gen, "error");

	if (gerr || merr) {
		pr_info("pair %u-%u: %s reports an error, channel revoked\n",
			p->g->domid, p->m->domid, gerr ? "granter" : "mapper");
		if (gerr)
			p->g->peer_errors++;
		if (merr)
			p->m->peer_errors++;
		revoke(p);
		if (p->connected) {
			p->g->teardowns++;
			p->m->teardowns++;
		}
		p->failed = true;
		return false;
	}
	if (reports(p->g, p->m, p->gen, "closed") || reports(p->m, p->g, p->gen, "closed")) {
		pr_info("pair %u-%u (gen %u) closed by a guest, offering it anew\n",
			p->g->domid, p->m->domid, p->gen);
		return true;
	}
	if (!p->relayed)
		relay(p);
	if (!p->connected && !p->failed && reports(p->m, p->g, p->gen, "connected")) {
		p->connected = true;
		p->g->setups++;
		p->m->setups++;
		pr_info("pair %u-%u (gen %u) connected\n", p->g->domid, p->m->domid, p->gen);
	}
	return false;
}

static struct tunnel_pair *find_pair(struct tunnel_member *a, struct tunnel_member *b)
{
	struct tunnel_pair *p;

	list_for_each_entry(p, &pairs, node)
		if ((p->g == a && p->m == b) || (p->g == b && p->m == a))
			return p;
	return NULL;
}

static void pair_create(struct tunnel_member *a, struct tunnel_member *b)
{
	struct tunnel_pair *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return;
	if (a->domid > b->domid)
		swap(a, b);
	p->g = a;
	p->m = b;
	p->gen = ++next_gen ?: ++next_gen;
	p->ring_kb = pair_ring_kb(a, b);
	list_add_tail(&p->node, &pairs);
	if (write_offer(a, b, true, p->gen, p->ring_kb) ||
	    write_offer(b, a, false, p->gen, p->ring_kb)) {
		pr_warn("pair %u-%u: cannot write the offers\n", a->domid, b->domid);
		pair_destroy(p);
		return;
	}
	a->offers++;
	b->offers++;
	pr_info("pair %u-%u offered (gen %u, %u KiB rings)\n", a->domid, b->domid, p->gen,
		p->ring_kb);
}

static void reconcile_locked(void)
{
	struct tunnel_member *a, *b;
	struct tunnel_pair *p, *tmp;

	list_for_each_entry(a, &members, node)
		a->ring_kb = member_ring_kb(a);
	/*
	 * A guest end that stops, or comes back with another ring_kb=, has its
	 * pairs withdrawn, and offered anew when both ends run.  An errored pair
	 * stays (unoffered) whatever its guests write, until one is attached anew.
	 */
	list_for_each_entry_safe(p, tmp, &pairs, node)
		if (!pair_allowed(p->g, p->m) ||
		    (!p->failed && p->ring_kb != pair_ring_kb(p->g, p->m)) ||
		    (!p->failed && pair_step(p)))
			pair_destroy(p);
	list_for_each_entry(a, &members, node) {
		b = a;
		list_for_each_entry_continue(b, &members, node)
			if (!find_pair(a, b) && pair_allowed(a, b) && pair_ring_kb(a, b))
				pair_create(a, b);
	}
}

static void broker_reconcile(struct work_struct *w)
{
	mutex_lock(&broker_mutex);
	reconcile_locked();
	mutex_unlock(&broker_mutex);
}

/* Any change under an eligible guest's directory: replies, or tampering. */
static void member_watch(struct xenbus_watch *w, const char *path, const char *token)
{
	schedule_work(&broker_work);
}

static int parse_vif(const char *name, unsigned int *domid, unsigned int *devid)
{
	char c;

	if (sscanf(name, "vif%u.%u%c", domid, devid, &c) != 2 || !*domid ||
	    *domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	return 0;
}

static int tunnel_attach(struct netsvc_attachment *att, const void *config,
			 struct netlink_ext_ack *extack)
{
	const struct tunnel_config *cfg = config;
	struct tunnel_member *me = netsvc_priv(att);
	struct net_device *dev = netsvc_dev(att);
	char backend[64], *mac;
	int err;

	if (!xen_initial_domain()) {
		NL_SET_ERR_MSG(extack, "the tunnel broker runs in Dom0 only");
		return -EOPNOTSUPP;
	}
	if (parse_vif(dev->name, &me->domid, &me->devid)) {
		NL_SET_ERR_MSG(extack, "not a guest's vif (vif<domid>.<devid>)");
		return -EINVAL;
	}
	snprintf(backend, sizeof(backend), "backend/vif/%u/%u", me->domid, me->devid);
	mac = xenbus_read(XBT_NIL, backend, "mac", NULL);
	if (IS_ERR(mac)) {
		NL_SET_ERR_MSG(extack, "no MAC for this vif in XenStore");
		return PTR_ERR(mac);
	}
	err = mac_pton(mac, me->mac) && is_valid_ether_addr(me->mac) ? 0 : -EINVAL;
	kfree(mac);
	if (err) {
		NL_SET_ERR_MSG(extack, "the vif's MAC in XenStore is malformed");
		return err;
	}
	me->dev = dev;
	strscpy(me->peers, cfg->peers, sizeof(me->peers));
	me->watch.node = kasprintf(GFP_KERNEL, "/local/domain/%u/%s", me->domid, NTUN_XS_DIR);
	me->caps_watch.node = kasprintf(GFP_KERNEL, "/local/domain/%u/%s", me->domid,
					NTUN_XS_CAPS);
	err = -ENOMEM;
	if (!me->watch.node || !me->caps_watch.node)
		goto err_alloc;
	me->watch.callback = member_watch;
	me->caps_watch.callback = member_watch;
	err = register_xenbus_watch(&me->watch);
	if (err)
		goto err_watch;
	err = register_xenbus_watch(&me->caps_watch);
	if (err)
		goto err_caps_watch;
	mutex_lock(&broker_mutex);
	list_add_tail(&me->node, &members);
	reconcile_locked();
	mutex_unlock(&broker_mutex);
	return 0;

err_caps_watch:
	unregister_xenbus_watch(&me->watch);
err_watch:
	NL_SET_ERR_MSG(extack, "cannot watch the guest's XenStore directory");
err_alloc:
	kfree(me->caps_watch.node);
	kfree(me->watch.node);
	return err;
}

static int tunnel_reconfigure(struct netsvc_attachment *att, const void *config,
			      struct netlink_ext_ack *extack)
{
	const struct tunnel_config *cfg = config;
	struct tunnel_member *me = netsvc_priv(att);

	mutex_lock(&broker_mutex);
	strscpy(me->peers, cfg->peers, sizeof(me->peers));
	reconcile_locked();
	mutex_unlock(&broker_mutex);
	return 0;
}

static void tunnel_detach(struct netsvc_attachment *att)
{
	struct tunnel_member *me = netsvc_priv(att);
	struct tunnel_pair *p, *tmp;

	mutex_lock(&broker_mutex);
	list_for_each_entry_safe(p, tmp, &pairs, node)
		if (p->g == me || p->m == me)
			pair_destroy(p);
	list_del(&me->node);
	mutex_unlock(&broker_mutex);
	unregister_xenbus_watch(&me->caps_watch);
	unregister_xenbus_watch(&me->watch);
	kfree(me->caps_watch.node);
	kfree(me->watch.node);
}

static int tunnel_fill_stats(struct netsvc_attachment *att, struct netsvc_stats *st)
{
	struct tunnel_member *me = netsvc_priv(att);
	unsigned int offered = 0, up = 0;
	u64 offers, setups, teardowns, peer_errors;
	unsigned int ring_kb;
	struct tunnel_pair *p;
	int err;

	mutex_lock(&broker_mutex);
	list_for_each_entry(p, &pairs, node) {
		if ((p->g != me && p->m != me) || p->failed)
			continue;
		offered++;
		up += p->connected;
	}
	offers = me->offers;
	setups = me->setups;
	teardowns = me->teardowns;
	peer_errors = me->peer_errors;
	ring_kb = me->ring_kb;
	mutex_unlock(&broker_mutex);
	err = netsvc_stats_put(st, "pairs_offered", offered);
	err = err ?: netsvc_stats_put(st, "channels_up", up);
	err = err ?: netsvc_stats_put(st, "offers", offers);
	err = err ?: netsvc_stats_put(st, "setups", setups);
	err = err ?: netsvc_stats_put(st, "teardowns", teardowns);
	err = err ?: netsvc_stats_put(st, "peer_errors", peer_errors);
	/* What the guest's end takes (0: not running), as last read. */
	err = err ?: netsvc_stats_put(st, "ring_kb", ring_kb);
	return err;
}

static struct netsvc_service_ops tunnel_ops = {
	.name = "tunnel",
	.priv_size = sizeof(struct tunnel_member),
	.params = tunnel_params,
	.n_params = ARRAY_SIZE(tunnel_params),
	.config_size = sizeof(struct tunnel_config),
	.config_default = &tunnel_defaults,
	.attach = tunnel_attach,
	.reconfigure = tunnel_reconfigure,
	.detach = tunnel_detach,
	.fill_stats = tunnel_fill_stats,
};

/* A vif joining or leaving a bridge changes who is on the same segment. */
static int tunnel_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	if (event == NETDEV_CHANGEUPPER)
		schedule_work(&broker_work);
	return NOTIFY_DONE;
}

static struct notifier_block tunnel_netdev_nb = {
	.notifier_call = tunnel_netdev_event,
};

static int __init tunnel_init(void)
{
	int err;

	next_gen = get_random_u32() >> 8;
	err = register_netdevice_notifier(&tunnel_netdev_nb);
	if (err)
		return err;
	err = netsvc_service_register(&tunnel_ops);
	if (err)
		unregister_netdevice_notifier(&tunnel_netdev_nb);
	return err;
}

static void __exit tunnel_exit(void)
{
	netsvc_service_unregister(&tunnel_ops);
	unregister_netdevice_notifier(&tunnel_netdev_nb);
	cancel_work_sync(&broker_work);
}

module_init(tunnel_init);
module_exit(tunnel_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netsvc service: broker of shared-memory tunnels between co-resident guests");
MODULE_ALIAS_NETSVC_SERVICE("tunnel");
