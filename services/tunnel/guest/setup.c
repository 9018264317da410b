// SPDX-License-Identifier: GPL-2.0
/*
 * netsvc_front's set-up: the broker's offers in XenStore (see proto.h), one
 * tunnel per offer, and its teardown.
 *
 * Set-up.  The offer says the ring size (ring-kb, at most what this guest
 * published); the granter allocates ntun_nr_pages() pages one by one (so that
 * each can be handed to gnttab_end_foreign_access() alone), grants them to the
 * peer, allocates an unbound event channel for it and replies with the refs.
 * The broker relays them to the mapper, which maps them (mem.c), binds the
 * port and sends one event.  The granter treats that first
 * event as "the peer is there": only then does it steer frames into the ring,
 * so an absent mapper never swallows traffic.
 */
#include <linux/slab.h>
#include <xen/events.h>
#include <asm/xen/hypercall.h>
#include "front.h"

/* Offers that had their tunnel: one generation is one channel's life. */
static struct { domid_t peer; u32 gen; } ntun_spent[NTUN_SPENT_MAX];
static unsigned int ntun_spent_next;
bool ntun_caps_stale;

static void ntun_reconcile(struct work_struct *w);
DECLARE_WORK(ntun_work, ntun_reconcile);

static void ntun_spend(domid_t peer, u32 gen)
{
	ntun_spent[ntun_spent_next].peer = peer;
	ntun_spent[ntun_spent_next].gen = gen;
	ntun_spent_next = (ntun_spent_next + 1) % NTUN_SPENT_MAX;
}

static bool ntun_is_spent(domid_t peer, u32 gen)
{
	int i;

	for (i = 0; i < NTUN_SPENT_MAX; i++)
		if (ntun_spent[i].peer == peer && ntun_spent[i].gen == gen && gen)
			return true;
	return false;
}

/* Write our reply iff the offer is still the one we answer. */
static int ntun_reply(struct ntun *t, const char *state, bool refs)
{
	struct xenbus_transaction xbt;
	char *buf = NULL;
	int err, i, n = 0;
	unsigned int gen;

	if (refs) {
		buf = kmalloc(t->nr_pages * 11 + 1, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		for (i = 0; i < t->nr_pages; i++)
			n += sprintf(buf + n, "%s%u", i ? " " : "", t->refs[i]);
	}
again:
	err = xenbus_transaction_start(&xbt);
	if (err)
		goto out;
	if (xenbus_scanf(xbt, t->xsdir, "gen", "%u", &gen) != 1 || gen != t->gen) {
		xenbus_transaction_end(xbt, 1);
		err = -ESTALE;
		goto out;
	}
	if (refs) {
		err = xenbus_write(xbt, t->xsdir, "refs", buf);
		err = err ?: xenbus_printf(xbt, t->xsdir, "evtchn", "%u", t->port);
	}
	err = err ?: xenbus_printf(xbt, t->xsdir, "reply-gen", "%u", t->gen);
	err = err ?: xenbus_write(xbt, t->xsdir, "state", state);
	if (ntun_xs_retry(xbt, &err))
		goto again;
out:
	kfree(buf);
	return err;
}

/* Strictly "n n n ...", nr numbers: the broker relays, not checks. */
static int ntun_parse_refs(const char *s, grant_ref_t *refs, unsigned int nr)
{
	unsigned int i, v;
	int n;

	for (i = 0; i < nr; i++) {
		if (sscanf(s, "%u%n", &v, &n) != 1)
			return -EINVAL;
		refs[i] = v;
		s += n;
		if (*s == ' ')
			s++;
		else if (*s || i != nr - 1)
			return -EINVAL;
	}
	return 0;
}

void ntun_teardown(struct ntun *t)
{
	struct sk_buff_head q;
	struct sk_buff *skb;

	/*
	 * The offer is spent either way.  If the broker still stands by it (we
	 * close for our own reasons: suspend, the peer closed its ring, the
	 * interface or the module goes), "closed" asks it for a fresh one;
	 * "error" makes it revoke the pair.  Said before the peer can see the
	 * ring close, so that the broker never hears its "closed" alone.
	 */
	ntun_spend(t->peer, t->gen);
	ntun_reply(t, t->peer_error || t->setup_error ? "error" : "closed", false);

	WRITE_ONCE(t->state, T_DEAD);
	list_del_rcu(&t->node);
	synchronize_rcu();		/* no hook holds t any more */
	if (t->irq > 0) {
		napi_disable(&t->napi);
		/* Tell the peer at once, whatever the broker says later. */
		if (!ntr_broken(&t->tx) && t->tx.sh)
			ntr_close(&t->tx);
		notify_remote_via_irq(t->irq);
		unbind_from_irqhandler(t->irq, t);
	} else if (t->port) {
		struct evtchn_close close = { .port = t->port };

		HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
	}
	netif_napi_del(&t->napi);

	/* Frames that waited for room go out through netfront instead. */
	__skb_queue_head_init(&q);
	spin_lock_bh(&t->tx_lock);
	skb_queue_splice_init(&t->backlog, &q);
	spin_unlock_bh(&t->tx_lock);
	while ((skb = __skb_dequeue(&q)))
		dev_queue_xmit(skb);

	ntun_free_rings(t);
	if (t->peer_error)
		atomic64_inc(&ntun_stats.peer_errors);
	atomic64_inc(&ntun_stats.teardowns);
	pr_info("tunnel to %u (%pM) down%s%s\n", t->peer, t->mac,
		t->why ? ": " : "", t->why ? t->why : "");
	kfree(t);
}

/* Set up a tunnel for one offer.  ntun_mutex held. */
static void ntun_setup(domid_t peer)
{
	unsigned int gen, rport = 0, kb, order, nr, i;
	char dir[40], *s = NULL;
	grant_ref_t *refs;
	struct ntun *t;
	bool granter;
	u8 mac[ETH_ALEN];
	int err;

	snprintf(dir, sizeof(dir), "%s/%u", NTUN_XS_DIR, peer);
	if (xenbus_scanf(XBT_NIL, dir, "gen", "%u", &gen) != 1 || ntun_is_spent(peer, gen))
		return;
	s = xenbus_read(XBT_NIL, dir, "mac", NULL);
	if (IS_ERR(s))
		return;
	err = mac_pton(s, mac) && strlen(s) == 17 && is_valid_ether_addr(mac) ? 0 : -EINVAL;
	kfree(s);
	if (err)
		return;
	s = xenbus_read(XBT_NIL, dir, "role", NULL);
	if (IS_ERR(s))
		return;
	granter = !strcmp(s, "grant");
	err = granter || !strcmp(s, "map") ? 0 : -EINVAL;
	kfree(s);
	if (err)
		return;
	/* The size is read once here; everything after uses t's copies. */
	if (xenbus_scanf(XBT_NIL, dir, "ring-kb", "%u", &kb) != 1)
		return;
	order = ntun_ring_order(kb);
	if (!order || kb > ntun_ring_kb) {
		pr_warn("offer for peer %u: a ring of %u KiB refused (at most %u)\n",
			peer, kb, ntun_ring_kb);
		return;
	}
	nr = ntun_nr_pages(order);
	refs = kvmalloc_array(nr, sizeof(*refs), GFP_KERNEL);
	if (!refs)
		return;
	for (i = 0; i < nr; i++)
		refs[i] = INVALID_GRANT_REF;
	if (!granter) {
		/* Until the broker relays the granter's reply, nothing to do. */
		if (xenbus_scanf(XBT_NIL, dir, "peer-evtchn", "%u", &rport) != 1)
			goto out_refs;
		s = xenbus_read(XBT_NIL, dir, "peer-refs", NULL);
		if (IS_ERR(s))
			goto out_refs;
		err = ntun_parse_refs(s, refs, nr);
		kfree(s);
		if (err) {
			pr_warn("offer for peer %u: malformed refs\n", peer);
			goto out_refs;
		}
	}

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		goto out_refs;
	t->order = order;
	t->nr_pages = nr;
	t->refs = refs;
	t->max_eth = min_t(u32, ntr_max_frame_limit(order) - sizeof(struct ntun_meta),
			   NTUN_ETH_MAX);
	t->peer = peer;
	t->gen = gen;
	t->granter = granter;
	ether_addr_copy(t->mac, mac);
	strscpy(t->xsdir, dir, sizeof(t->xsdir));
	spin_lock_init(&t->tx_lock);
	__skb_queue_head_init(&t->backlog);
	netif_napi_add(&ntun_napi_dev, &t->napi, ntun_poll);

	err = granter ? ntun_grant_rings(t) : ntun_map_rings(t, rport);
	if (err)
		goto err;
	err = ntr_init(&t->tx, &t->ctl->ring[granter ? 0 : 1], t->data[granter ? 0 : 1],
		       order, t->max_eth + sizeof(struct ntun_meta));
	err = err ?: ntr_init(&t->rx, &t->ctl->ring[granter ? 1 : 0], t->data[granter ? 1 : 0],
			      order, t->max_eth + sizeof(struct ntun_meta));
	if (err)
		goto err;
	/*
	 * Ask for a wake-up at the first frame: until the first poll, nobody
	 * has told the peer that we sleep, and it would never notify.
	 */
	ntr_cons_prepare_wait(&t->rx);
	t->state = granter ? T_WAIT : T_UP;
	napi_enable(&t->napi);
	err = bind_evtchn_to_irqhandler_lateeoi(t->port, ntun_interrupt, 0,
						KBUILD_MODNAME, t);
	if (err < 0) {
		napi_disable(&t->napi);
		goto err;
	}
	t->irq = err;
	list_add_tail_rcu(&t->node, &ntun_list);

	if (granter) {
		err = ntun_reply(t, "granted", true);
	} else {
		notify_remote_via_irq(t->irq);	/* "mapped": see ntun_poll() */
		err = ntun_reply(t, "connected", false);
		t->reported = true;
		atomic64_inc(&ntun_stats.setups);
	}
	pr_info("tunnel to %u (%pM): %u KiB rings %s, %s (%d)\n", peer, mac, kb,
		granter ? "granted" : "mapped", err ? "reply failed" : "replied", err);
	if (err)
		ntun_fail(t, "offer withdrawn or reply refused", false);
	return;

out_refs:
	kvfree(refs);
	return;

err:
	pr_warn("tunnel to %u: set-up failed (%d)\n", peer, err);
	atomic64_inc(&ntun_stats.setup_errors);
	/* Not on the list yet: a plain teardown of what exists. */
	INIT_LIST_HEAD(&t->node);
	list_add_rcu(&t->node, &ntun_list);
	/* Reported as an error: the broker does not offer it again and again. */
	t->setup_error = true;
	t->why = "set-up failed";
	ntun_teardown(t);
}

/*
 * Tell the broker that this guest's end runs, and the largest ring it takes.
 * Rewritten after a resume: a restored guest is a new domain with an empty
 * data directory.
 */
int ntun_publish_caps(void)
{
	return xenbus_printf(XBT_NIL, NTUN_XS_CAPS, "ring-kb", "%u", ntun_ring_kb);
}

void ntun_withdraw_caps(void)
{
	xenbus_rm(XBT_NIL, NTUN_XS_CAPS, "");
}

static bool ntun_offer_is(const char *dir, domid_t peer, u32 gen)
{
	char path[40];
	unsigned int g;

	snprintf(path, sizeof(path), "%s/%u", dir, peer);
	return xenbus_scanf(XBT_NIL, path, "gen", "%u", &g) == 1 && g == gen;
}

/*
 * Make the tunnels match the offers: runs after every change under our
 * directory, after a failure, and when a granter's peer showed up.
 */
static void ntun_reconcile(struct work_struct *w)
{
	struct ntun *t, *tmp;
	unsigned int n = 0, i;
	char **names;
	bool have;
	u16 peer;

	mutex_lock(&ntun_mutex);
	if (ntun_stopping || ntun_frozen || !ntun_dev)
		goto out;
	if (ntun_caps_stale && !ntun_publish_caps())
		ntun_caps_stale = false;
	list_for_each_entry_safe(t, tmp, &ntun_list, node) {
		if (READ_ONCE(t->state) != T_DEAD && ntun_offer_is(NTUN_XS_DIR, t->peer, t->gen))
			continue;
		ntun_teardown(t);
	}
	list_for_each_entry(t, &ntun_list, node) {
		if (READ_ONCE(t->state) == T_UP && !t->reported) {
			t->reported = true;
			atomic64_inc(&ntun_stats.setups);
			ntun_reply(t, "connected", false);
			pr_info("tunnel to %u (%pM) up\n", t->peer, t->mac);
		}
	}
	names = xenbus_directory(XBT_NIL, NTUN_XS_DIR, "", &n);
	if (IS_ERR(names))
		goto out;
	for (i = 0; i < n; i++) {
		if (kstrtou16(names[i], 10, &peer) || peer >= DOMID_FIRST_RESERVED)
			continue;
		have = false;
		list_for_each_entry(t, &ntun_list, node)
			have |= t->peer == peer;
		if (!have)
			ntun_setup(peer);
	}
	kfree(names);
out:
	mutex_unlock(&ntun_mutex);
}

static void ntun_watch_cb(struct xenbus_watch *w, const char *path, const char *token)
{
	schedule_work(&ntun_work);
}

struct xenbus_watch ntun_watch = {
	.node = NTUN_XS_DIR,
	.callback = ntun_watch_cb,
};
