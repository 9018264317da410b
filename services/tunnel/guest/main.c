// SPDX-License-Identifier: GPL-2.0
/*
 * netsvc_front: the guest end of netsvc tunnels.  Loaded inside a guest, it
 * waits for Dom0's broker to offer peers (see proto.h), sets up one tunnel per
 * peer on grant-shared pages, and steers the guest's unicast frames for that
 * peer's MAC into it instead of netfront.
 *
 *   guest A (lower domid: grants)            guest B (maps)
 *   eth0 egress hook --> ring[0] ---------> napi poll --> netif_receive_skb
 *   netif_receive_skb <-- napi poll <------- ring[1] <-- eth0 egress hook
 *            \____________ one event channel, both ways _____________/
 *   everything else (broadcast, multicast, other hosts, a channel that is
 *   not up) goes through netfront as before.
 *
 * The files: setup.c follows the broker's offers in XenStore and sets tunnels
 * up and down; mem.c grants and maps the shared pages; data.c is the data
 * path (the egress hook, the ring, NAPI); this file is the module: its
 * parameters, the interface it follows, suspend and resume, /proc.  The ring
 * and the protocol are in ../shared, shared with the Dom0 broker and the
 * userspace tests.
 */
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/proc_fs.h>
#include <linux/rtnetlink.h>
#include <linux/seq_file.h>
#include <xen/xen.h>
#include "front.h"

static char *ifname = "eth0";
module_param(ifname, charp, 0444);
MODULE_PARM_DESC(ifname, "the netfront interface whose frames are steered");

/* The broker offers each pair the smaller ring_kb of its two guests. */
unsigned int ntun_ring_kb = 256;
module_param_named(ring_kb, ntun_ring_kb, uint, 0444);
MODULE_PARM_DESC(ring_kb, "largest ring, KiB per direction: a power of two, 64 to 512");

struct net_device *ntun_dev;
static unsigned int ntun_saved_gso;
struct net_device ntun_napi_dev;
LIST_HEAD(ntun_list);
DEFINE_MUTEX(ntun_mutex);
DEFINE_PER_CPU(bool, ntun_injecting);
bool ntun_stopping;
bool ntun_frozen;
struct ntun_stats ntun_stats;

static int ntun_show(struct seq_file *m, void *v)
{
	struct ntun *t;

#define S(x) seq_printf(m, "%s %llu\n", #x, (u64)atomic64_read(&ntun_stats.x))
	S(tx_frames); S(tx_bytes); S(rx_frames); S(rx_bytes);
	S(fb_tx_frames); S(fb_tx_bytes); S(fb_rx_frames); S(fb_rx_bytes);
	S(setups); S(teardowns); S(peer_errors); S(setup_errors);
	S(backlogged); S(tx_dropped); S(rx_dropped); S(segmented);
	S(rx_busy_polled);
#undef S
	/* Pages granted to a peer that has not let go of them yet. */
	seq_printf(m, "grants_held %u\n", ntun_grants_held());
	seq_printf(m, "ring_kb %u\n", ntun_ring_kb);
	mutex_lock(&ntun_mutex);
	list_for_each_entry(t, &ntun_list, node) {
		seq_printf(m, "peer %u mac %pM role %s state %s tx_frames %llu tx_bytes %llu rx_frames %llu rx_bytes %llu fb_tx_frames %llu fb_rx_frames %llu events %llu polls %llu ring_kb %u\n",
			   t->peer, t->mac, t->granter ? "grant" : "map",
			   t->state == T_UP ? "up" : t->state == T_WAIT ? "wait" : "dead",
			   t->tx_frames, t->tx_bytes, t->rx_frames, t->rx_bytes,
			   (u64)atomic64_read(&t->fb_tx_frames), (u64)atomic64_read(&t->fb_rx_frames),
			   t->events, t->polls, 4u << t->order);
		/* Indices, ours and as the shared page says: for debugging a peer. */
		if (t->tx.sh && t->rx.sh)
			seq_printf(m, "  ring tx head %u pub %u cons %u | shared prod %u cons %u prod_event %u cons_event %u; rx head %u | shared prod %u cons %u prod_event %u\n",
				   t->tx.head, t->tx.published, t->tx.peer,
				   READ_ONCE(t->tx.sh->prod), READ_ONCE(t->tx.sh->cons),
				   READ_ONCE(t->tx.sh->prod_event), READ_ONCE(t->tx.sh->cons_event),
				   t->rx.head, READ_ONCE(t->rx.sh->prod), READ_ONCE(t->rx.sh->cons),
				   READ_ONCE(t->rx.sh->prod_event));
	}
	mutex_unlock(&ntun_mutex);
	return 0;
}

static struct nf_hook_ops ntun_hooks[] = {
	{
		.hook = ntun_egress,
		.pf = NFPROTO_NETDEV,
		.hooknum = NF_NETDEV_EGRESS,
		.priority = 0,
	}, {
		.hook = ntun_ingress,
		.pf = NFPROTO_NETDEV,
		.hooknum = NF_NETDEV_INGRESS,
		.priority = 0,
	},
};

/*
 * Follow the interface: hooks on it while it exists.  When it goes away
 * (xl network-detach, netfront's backend gone) every tunnel is torn down and
 * the reference dropped, so that its unregistration completes; an interface
 * of the same name that appears later is taken up again.  rtnl held.
 */
static void ntun_attach_dev(struct net_device *dev)
{
	int err;

	ntun_hooks[0].dev = dev;
	ntun_hooks[1].dev = dev;
	err = nf_register_net_hooks(&init_net, ntun_hooks, ARRAY_SIZE(ntun_hooks));
	if (err) {
		pr_err("cannot hook %s: %d\n", dev->name, err);
		return;
	}
	/*
	 * Rings of 256 KiB and more take 64 KiB bursts whole (NTUN_ETH_MAX);
	 * smaller ones half a ring.  A tunnel negotiated below this guest's
	 * ring_kb segments larger bursts in software.
	 */
	ntun_saved_gso = READ_ONCE(dev->gso_max_size);
	if (ntun_ring_kb < 256 && ntun_saved_gso > NTUN_GSO_MAX_64K)
		WRITE_ONCE(dev->gso_max_size, NTUN_GSO_MAX_64K);
	dev_hold(dev);
	mutex_lock(&ntun_mutex);
	ntun_dev = dev;
	mutex_unlock(&ntun_mutex);
	schedule_work(&ntun_work);
	pr_info("steering frames of %s to tunnel peers\n", dev->name);
}

static void ntun_detach_dev(void)
{
	struct net_device *dev = ntun_dev;
	struct ntun *t, *tmp;

	mutex_lock(&ntun_mutex);
	list_for_each_entry_safe(t, tmp, &ntun_list, node) {
		t->why = "the interface went away";
		ntun_teardown(t);
	}
	ntun_dev = NULL;
	mutex_unlock(&ntun_mutex);
	WRITE_ONCE(dev->gso_max_size, ntun_saved_gso);
	nf_unregister_net_hooks(&init_net, ntun_hooks, ARRAY_SIZE(ntun_hooks));
	dev_put(dev);
}

static int ntun_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (!net_eq(dev_net(dev), &init_net))
		return NOTIFY_DONE;
	if (event == NETDEV_REGISTER && !ntun_dev && !strcmp(dev->name, ifname))
		ntun_attach_dev(dev);
	else if (event == NETDEV_UNREGISTER && dev == ntun_dev)
		ntun_detach_dev();
	return NOTIFY_DONE;
}

static struct notifier_block ntun_netdev_nb = {
	.notifier_call = ntun_netdev_event,
};

/*
 * Save, restore, checkpoint and live migration all suspend the guest through
 * Xen (drivers/xen/manage.c), which freezes devices first.  Nothing of a
 * tunnel survives the trip: event channels are closed, the peer's pages that
 * we map would be foreign frames in a saved page table (the toolstack refuses
 * to save those), and a restored guest is a new domain that the peer's grants
 * do not name.  So every tunnel closes before the guest suspends, frames take
 * netfront meanwhile, and the broker offers new ones once the guest runs
 * again: to its new domid after a restore or a migration (the vif is new),
 * to the same one after a checkpoint or a cancelled suspend.
 */
static int ntun_freeze(struct device *dev)
{
	struct ntun *t, *tmp;

	mutex_lock(&ntun_mutex);
	ntun_frozen = true;
	list_for_each_entry_safe(t, tmp, &ntun_list, node) {
		t->why = "suspending";
		ntun_teardown(t);
	}
	mutex_unlock(&ntun_mutex);
	return 0;
}

static int ntun_thaw(struct device *dev)
{
	mutex_lock(&ntun_mutex);
	ntun_frozen = false;
	ntun_caps_stale = true;
	mutex_unlock(&ntun_mutex);
	schedule_work(&ntun_work);
	return 0;
}

static const struct dev_pm_ops ntun_pm_ops = {
	.freeze = ntun_freeze,
	.thaw = ntun_thaw,
	.restore = ntun_thaw,
};

static struct platform_driver ntun_driver = {
	.driver = {
		.name = KBUILD_MODNAME,
		.pm = &ntun_pm_ops,
	},
};

static struct platform_device *ntun_pdev;

static int __init ntun_init(void)
{
	int err;

	if (!xen_domain() || xen_initial_domain())
		return -ENODEV;
	if (!ntun_ring_order(ntun_ring_kb)) {
		pr_err("ring_kb=%u: not a power of two from %u to %u\n", ntun_ring_kb,
		       NTUN_RING_KB_MIN, NTUN_RING_KB_MAX);
		return -EINVAL;
	}
	init_dummy_netdev(&ntun_napi_dev);
	if (!proc_create_single(KBUILD_MODNAME, 0444, NULL, ntun_show))
		return -ENOMEM;
	err = platform_driver_register(&ntun_driver);
	if (err)
		goto err_driver;
	ntun_pdev = platform_device_register_simple(KBUILD_MODNAME, PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(ntun_pdev)) {
		err = PTR_ERR(ntun_pdev);
		goto err_pdev;
	}
	err = register_xenbus_watch(&ntun_watch);
	if (err)
		goto err_watch;
	/* Replays NETDEV_REGISTER for the interfaces there already are. */
	err = register_netdevice_notifier(&ntun_netdev_nb);
	if (err)
		goto err_notifier;
	if (!ntun_dev) {
		pr_err("no interface %s\n", ifname);
		err = -ENODEV;
		goto err_nodev;
	}
	err = ntun_publish_caps();
	if (err) {
		pr_err("cannot write %s/ring-kb: %d\n", NTUN_XS_CAPS, err);
		goto err_nodev;
	}
	return 0;

err_nodev:
	unregister_netdevice_notifier(&ntun_netdev_nb);
err_notifier:
	unregister_xenbus_watch(&ntun_watch);
	cancel_work_sync(&ntun_work);
err_watch:
	platform_device_unregister(ntun_pdev);
err_pdev:
	platform_driver_unregister(&ntun_driver);
err_driver:
	remove_proc_entry(KBUILD_MODNAME, NULL);
	return err;
}

static void __exit ntun_exit(void)
{
	struct ntun *t, *tmp;

	unregister_xenbus_watch(&ntun_watch);
	mutex_lock(&ntun_mutex);
	ntun_stopping = true;
	list_for_each_entry_safe(t, tmp, &ntun_list, node) {
		t->why = "module unloaded";
		ntun_teardown(t);
	}
	mutex_unlock(&ntun_mutex);
	/* The broker withdraws this guest's offers. */
	ntun_withdraw_caps();
	cancel_work_sync(&ntun_work);
	/* Replays NETDEV_UNREGISTER: the hooks go, the reference is dropped. */
	unregister_netdevice_notifier(&ntun_netdev_nb);
	platform_device_unregister(ntun_pdev);
	platform_driver_unregister(&ntun_driver);
	remove_proc_entry(KBUILD_MODNAME, NULL);
	ntun_grants_abandon();
}

module_init(ntun_init);
module_exit(ntun_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netsvc tunnel: guest end of shared-memory tunnels to co-resident guests");
