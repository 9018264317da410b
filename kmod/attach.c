// SPDX-License-Identifier: GPL-2.0
/*
 * Attachments: one service on one net_device.  Each attachment owns two
 * netdev netfilter hooks, so netfilter's own RCU-protected hook arrays give the
 * data path its order and its lifetime rules; no lock is taken per packet.
 *
 * Order: the guest's packets (ingress) run hooks in ascending priority, packets
 * to the guest (egress) in descending priority (hook priority = -priority),
 * so the lowest priority number always sits closest to the guest.
 */
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/netfilter.h>
#include "netsvc.h"

DEFINE_MUTEX(netsvc_mutex);
LIST_HEAD(netsvc_attachments);

/*
 * A packet a service injects must skip the attachments it has already passed.
 * Injection is synchronous (dev_queue_xmit reaches the egress hook, and
 * netif_receive_skb the ingress hook, on this CPU with BHs off), so a per-CPU
 * marker describing the injector is enough.
 */
struct netsvc_injector {
	const struct net_device *dev;
	u32 priority;
	u8 dir;
};
static DEFINE_PER_CPU(struct netsvc_injector, injector);

static bool skip_injected(const struct netsvc_attachment *att,
			  const struct sk_buff *skb, int dir)
{
	const struct netsvc_injector *inj = this_cpu_ptr(&injector);

	if (likely(!inj->dev) || inj->dev != skb->dev || inj->dir != dir)
		return false;
	return dir == NETSVC_DIR_RX ? att->priority <= inj->priority :
				      att->priority >= inj->priority;
}

static unsigned int run_service(struct netsvc_attachment *att,
				struct sk_buff *skb, int dir)
{
	struct netsvc_pcpu_counters *c;
	unsigned int verdict, len;

	if (skip_injected(att, skb, dir))
		return NF_ACCEPT;

	/* Count L2 bytes in both directions: ingress has pulled the MAC header. */
	len = skb->len + (dir == NETSVC_DIR_RX ? skb->mac_len : 0);
	if (dir == NETSVC_DIR_RX)
		verdict = att->ops->ingress ? att->ops->ingress(att, skb) : NF_ACCEPT;
	else
		verdict = att->ops->egress ? att->ops->egress(att, skb) : NF_ACCEPT;

	c = this_cpu_ptr(att->counters);
	u64_stats_update_begin(&c->syncp);
	switch (verdict & NF_VERDICT_MASK) {
	case NF_ACCEPT:
		c->packets[dir]++;
		c->bytes[dir] += len;
		break;
	case NF_STOLEN:
		c->stolen[dir]++;
		break;
	default:
		/* NF_DROP, or anything a service should not return. */
		c->dropped[dir]++;
		verdict = NF_DROP;
		break;
	}
	u64_stats_update_end(&c->syncp);
	return verdict;
}

static unsigned int hook_ingress(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	return run_service(priv, skb, NETSVC_DIR_RX);
}

static unsigned int hook_egress(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	return run_service(priv, skb, NETSVC_DIR_TX);
}

static int inject(struct netsvc_attachment *att, struct sk_buff *skb, int dir)
{
	struct netsvc_injector *inj, saved;
	int ret;

	skb->dev = att->dev;
	local_bh_disable();
	inj = this_cpu_ptr(&injector);
	saved = *inj;		/* a service may inject from inside a hook */
	inj->dev = att->dev;
	inj->priority = att->priority;
	inj->dir = dir;
	if (dir == NETSVC_DIR_TX) {
		ret = dev_queue_xmit(skb);
	} else {
		skb->protocol = eth_type_trans(skb, att->dev);
		ret = netif_receive_skb(skb);
	}
	*inj = saved;
	local_bh_enable();
	return ret;
}

int netsvc_xmit_to_guest(struct netsvc_attachment *att, struct sk_buff *skb)
{
	return inject(att, skb, NETSVC_DIR_TX);
}
EXPORT_SYMBOL_GPL(netsvc_xmit_to_guest);

int netsvc_inject_from_guest(struct netsvc_attachment *att, struct sk_buff *skb)
{
	return inject(att, skb, NETSVC_DIR_RX);
}
EXPORT_SYMBOL_GPL(netsvc_inject_from_guest);

void *netsvc_priv(const struct netsvc_attachment *att)
{
	return (void *)att->priv;
}
EXPORT_SYMBOL_GPL(netsvc_priv);

struct net_device *netsvc_dev(const struct netsvc_attachment *att)
{
	return att->dev;
}
EXPORT_SYMBOL_GPL(netsvc_dev);

u32 netsvc_priority(const struct netsvc_attachment *att)
{
	return att->priority;
}
EXPORT_SYMBOL_GPL(netsvc_priority);

struct netsvc_attachment *netsvc_att_find(const struct net_device *dev,
					  const struct netsvc_service_ops *ops)
{
	struct netsvc_attachment *att;

	lockdep_assert_held(&netsvc_mutex);
	list_for_each_entry(att, &netsvc_attachments, list)
		if (att->dev == dev && att->ops == ops)
			return att;
	return NULL;
}

void netsvc_att_read_counters(const struct netsvc_attachment *att,
			      struct netsvc_pcpu_counters *sum)
{
	int cpu, d;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct netsvc_pcpu_counters *c = per_cpu_ptr(att->counters, cpu);
		struct netsvc_pcpu_counters snap;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&c->syncp);
			memcpy(&snap, c, offsetof(struct netsvc_pcpu_counters, syncp));
		} while (u64_stats_fetch_retry(&c->syncp, start));
		for (d = 0; d < NETSVC_NDIR; d++) {
			sum->packets[d] += snap.packets[d];
			sum->bytes[d] += snap.bytes[d];
			sum->dropped[d] += snap.dropped[d];
			sum->stolen[d] += snap.stolen[d];
		}
	}
}

static void att_free(struct netsvc_attachment *att)
{
	pr_debug("attachment %s/%s destroyed\n", att->dev->name, att->ops->name);
	netdev_put(att->dev, &att->dev_tracker);
	netsvc_service_put(att->ops);
	free_percpu(att->counters);
	kfree(att->config);
	kfree(att);
}

/*
 * The list is kept sorted by device, then priority, so that dumps show each
 * vif's services in the order its packets meet them.  Returns the entry to
 * insert before.
 */
static struct list_head *insert_pos(int ifindex, u32 priority)
{
	struct netsvc_attachment *a;

	list_for_each_entry(a, &netsvc_attachments, list)
		if (a->dev->ifindex > ifindex ||
		    (a->dev->ifindex == ifindex && a->priority > priority))
			return &a->list;
	return &netsvc_attachments;
}

int netsvc_att_create(struct net_device *dev, struct netsvc_service_ops *ops,
		      u32 priority, const struct nlattr *params,
		      struct netlink_ext_ack *extack)
{
	struct netsvc_attachment *att;
	int err, cpu;

	lockdep_assert_held(&netsvc_mutex);
	att = kzalloc(struct_size(att, priv, 0) + ops->priv_size, GFP_KERNEL);
	if (!att)
		return -ENOMEM;
	att->config = kmemdup(ops->config_default, ops->config_size, GFP_KERNEL);
	att->counters = alloc_percpu(struct netsvc_pcpu_counters);
	if (!att->config || !att->counters) {
		err = -ENOMEM;
		goto err_free;
	}
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(att->counters, cpu)->syncp);
	att->dev = dev;
	att->ops = ops;
	att->priority = priority;

	err = netsvc_params_apply(ops, att->config, params, false, extack);
	if (err)
		goto err_free;
	err = ops->attach(att, att->config, extack);
	if (err)
		goto err_free;

	att->hooks[NETSVC_DIR_RX] = (struct nf_hook_ops) {
		.hook = hook_ingress, .dev = dev, .priv = att,
		.pf = NFPROTO_NETDEV, .hooknum = NF_NETDEV_INGRESS,
		.priority = priority,
	};
	att->hooks[NETSVC_DIR_TX] = (struct nf_hook_ops) {
		.hook = hook_egress, .dev = dev, .priv = att,
		.pf = NFPROTO_NETDEV, .hooknum = NF_NETDEV_EGRESS,
		.priority = -(int)priority,
	};
	err = nf_register_net_hooks(dev_net(dev), att->hooks, NETSVC_NDIR);
	if (err) {
		NL_SET_ERR_MSG(extack, "cannot register the netfilter hooks on this device");
		goto err_detach;
	}

	/* The references are taken last so that the error path stays simple. */
	netdev_hold(dev, &att->dev_tracker, GFP_KERNEL);
	list_add_tail(&att->list, insert_pos(dev->ifindex, priority));
	pr_debug("attachment %s/%s created\n", dev->name, ops->name);
	netsvc_notify(att, NETSVC_EVENT_ATTACHED);
	return 0;

err_detach:
	ops->detach(att);
err_free:
	free_percpu(att->counters);
	kfree(att->config);
	kfree(att);
	return err;
}

int netsvc_att_reconfigure(struct netsvc_attachment *att,
			   const struct nlattr *params,
			   struct netlink_ext_ack *extack)
{
	const struct netsvc_service_ops *ops = att->ops;
	void *config;
	int err;

	lockdep_assert_held(&netsvc_mutex);
	if (att->detaching) {
		NETSVC_ERR(extack, NULL, "service '%s' on %s is being detached",
			   ops->name, att->dev->name);
		return -EBUSY;
	}
	if (!ops->reconfigure) {
		NETSVC_ERR(extack, NULL, "service '%s' has no live parameters", ops->name);
		return -EOPNOTSUPP;
	}
	config = kmemdup(att->config, ops->config_size, GFP_KERNEL);
	if (!config)
		return -ENOMEM;
	err = netsvc_params_apply(ops, config, params, true, extack);
	if (!err)
		err = ops->reconfigure(att, config, extack);
	if (!err) {
		swap(att->config, config);
		netsvc_notify(att, NETSVC_EVENT_RECONFIGURED);
	}
	kfree(config);
	return err;
}

/* Unhook, let the service tear down, free.  netsvc_mutex held. */
static void att_destroy(struct netsvc_attachment *att, enum netsvc_event ev)
{
	list_del(&att->list);
	nf_unregister_net_hooks(dev_net(att->dev), att->hooks, NETSVC_NDIR);
	/* Unregistering frees the old hook array by RCU: wait out readers. */
	synchronize_net();
	att->ops->detach(att);
	netsvc_notify(att, ev);
	att_free(att);
}

int netsvc_att_detach(struct netsvc_attachment *att,
		      struct netlink_ext_ack *extack)
{
	int err = 0;

	lockdep_assert_held(&netsvc_mutex);
	if (att->detaching) {
		NETSVC_ERR(extack, NULL, "service '%s' on %s is being detached",
			   att->ops->name, att->dev->name);
		return -EBUSY;
	}
	if (att->ops->quiesce) {
		/*
		 * Quiescing may take long (draining a guest's connections), so
		 * it runs without the mutex: the rest of the control plane and
		 * the RTNL-held notifier must not wait for it.  The attachment
		 * stays listed and hooked; the notifier leaves it to us, and
		 * our device reference keeps the net_device alive meanwhile.
		 */
		att->detaching = true;
		mutex_unlock(&netsvc_mutex);
		err = att->ops->quiesce(att, extack);
		mutex_lock(&netsvc_mutex);
		att->detaching = false;
		if (att->dev->reg_state != NETREG_REGISTERED) {
			/* The device went away meanwhile: nothing to keep. */
			att_destroy(att, NETSVC_EVENT_DEV_GONE);
			return 0;
		}
		if (err)
			return err;
	}
	att_destroy(att, NETSVC_EVENT_DETACHED);
	return 0;
}

static int netsvc_netdev_event(struct notifier_block *nb, unsigned long event,
			       void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct netsvc_attachment *att, *tmp;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;

	/* RTNL is held; our lock order allows taking the mutex inside it. */
	mutex_lock(&netsvc_mutex);
	list_for_each_entry_safe(att, tmp, &netsvc_attachments, list)
		if (att->dev == dev && !att->detaching)
			att_destroy(att, NETSVC_EVENT_DEV_GONE);
	mutex_unlock(&netsvc_mutex);
	return NOTIFY_DONE;
}

static struct notifier_block netsvc_netdev_nb = {
	.notifier_call = netsvc_netdev_event,
};

/*
 * The first netdev hook in the system flips four static keys (the ingress
 * and egress queues, and netfilter's NETDEV ingress/egress), and the last one
 * flips them back: each flip live-patches kernel text, a stop-the-world
 * operation on every CPU.  Attach and detach are frequent (every vif hotplug,
 * every reconfiguration by the operator), so netsvc holds the keys for as long
 * as it is loaded and attachments never patch text.  Under QEMU TCG, patching
 * the receive path while it runs hot has been seen to livelock both vCPUs.
 */
static void hold_hook_keys(void)
{
	net_inc_ingress_queue();
	net_inc_egress_queue();
	static_key_slow_inc(&nf_hooks_needed[NFPROTO_NETDEV][NF_NETDEV_INGRESS]);
	static_key_slow_inc(&nf_hooks_needed[NFPROTO_NETDEV][NF_NETDEV_EGRESS]);
}

static void release_hook_keys(void)
{
	static_key_slow_dec(&nf_hooks_needed[NFPROTO_NETDEV][NF_NETDEV_EGRESS]);
	static_key_slow_dec(&nf_hooks_needed[NFPROTO_NETDEV][NF_NETDEV_INGRESS]);
	net_dec_egress_queue();
	net_dec_ingress_queue();
}

int netsvc_attach_init(void)
{
	int err;

	hold_hook_keys();
	err = register_netdevice_notifier(&netsvc_netdev_nb);
	if (err)
		release_hook_keys();
	return err;
}

void netsvc_attach_exit(void)
{
	unregister_netdevice_notifier(&netsvc_netdev_nb);
	/* Services pin netsvc.ko and attachments pin services. */
	WARN_ON(!list_empty(&netsvc_attachments));
	release_hook_keys();
}
