/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The netsvc service API: what a service module implements and what the core
 * (netsvc.ko) offers it.  A service registers one struct netsvc_service_ops;
 * every attachment of it to a net_device gets priv_size bytes of private state
 * and a parsed copy of its configuration.
 *
 * Ordering: each attachment has a priority (lower = closer to the guest).  The
 * guest's packets (NF_NETDEV_INGRESS on the vif) visit attachments in ascending
 * priority, packets to the guest (NF_NETDEV_EGRESS) in descending priority, so
 * that a stack of services nests the same way in both directions.
 *
 * Context: attach/reconfigure/quiesce/detach run in process context and may
 * sleep; the core serialises them.  ingress/egress run under RCU with BHs
 * disabled and must not sleep; they return NF_ACCEPT, NF_DROP or NF_STOLEN
 * (having consumed the skb).  fill_stats may be called concurrently with the
 * packet handlers.
 */
#ifndef _NETSVC_SERVICE_H
#define _NETSVC_SERVICE_H

#include <linux/list.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netlink.h>
#include <linux/skbuff.h>
#include <uapi/linux/netsvc.h>

struct netsvc_attachment;
struct netsvc_stats;

/*
 * One configuration parameter.  The core parses "name=value" strings from
 * netlink into the service's config struct at @offset (u32, u64, bool, char[]
 * of size @max + 1, or u32 choice index) and rejects bad values with an extack
 * message, so services never parse text.
 */
struct netsvc_param {
	const char *name;
	enum netsvc_param_type type;
	size_t offset;
	u64 min, max;			/* numeric bounds; max length for strings */
	const char *const *choices;	/* NETSVC_PARAM_ENUM: NULL-terminated */
	const char *help;
	bool live;			/* may be changed by NETSVC_CMD_SET */
};

#define NETSVC_PARAM_U32(_s, _f, _min, _max, _live, _help)		\
	{ .name = #_f, .type = NETSVC_PARAM_U32,				\
	  .offset = offsetof(_s, _f), .min = (_min), .max = (_max),		\
	  .live = (_live), .help = (_help) }
#define NETSVC_PARAM_U64(_s, _f, _min, _max, _live, _help)		\
	{ .name = #_f, .type = NETSVC_PARAM_U64,				\
	  .offset = offsetof(_s, _f), .min = (_min), .max = (_max),		\
	  .live = (_live), .help = (_help) }
#define NETSVC_PARAM_BOOL(_s, _f, _live, _help)				\
	{ .name = #_f, .type = NETSVC_PARAM_BOOL,				\
	  .offset = offsetof(_s, _f), .live = (_live), .help = (_help) }
#define NETSVC_PARAM_STRING(_s, _f, _live, _help)			\
	{ .name = #_f, .type = NETSVC_PARAM_STRING,				\
	  .offset = offsetof(_s, _f), .max = sizeof(((_s *)0)->_f) - 1,	\
	  .live = (_live), .help = (_help) }
#define NETSVC_PARAM_ENUM(_s, _f, _choices, _live, _help)		\
	{ .name = #_f, .type = NETSVC_PARAM_ENUM,				\
	  .offset = offsetof(_s, _f), .choices = (_choices),			\
	  .live = (_live), .help = (_help) }

struct netsvc_service_ops {
	const char *name;		/* < NETSVC_SERVICE_NAME_MAX */
	struct module *owner;		/* stamped by netsvc_service_register() */
	size_t priv_size;

	const struct netsvc_param *params;
	unsigned int n_params;
	size_t config_size;
	const void *config_default;	/* config_size bytes */

	/* Check @config (already range-checked per parameter) and set up priv. */
	int (*attach)(struct netsvc_attachment *att, const void *config,
		      struct netlink_ext_ack *extack);
	/*
	 * Optional: without it NETSVC_CMD_SET is refused.  Only parameters
	 * marked live may change; the core checks that before calling.
	 */
	int (*reconfigure)(struct netsvc_attachment *att, const void *config,
			   struct netlink_ext_ack *extack);
	/*
	 * Optional.  Called before a requested detach, hooks still live, no
	 * core locks held; may sleep.  Return 0 once detaching loses nothing,
	 * or an error with an extack message to refuse the detach.  Not called
	 * when the device disappears.
	 */
	int (*quiesce)(struct netsvc_attachment *att,
		       struct netlink_ext_ack *extack);
	/* Hooks are gone and no handler runs any more when this is called. */
	void (*detach)(struct netsvc_attachment *att);

	unsigned int (*ingress)(struct netsvc_attachment *att,
				struct sk_buff *skb);
	unsigned int (*egress)(struct netsvc_attachment *att,
			       struct sk_buff *skb);

	/* Optional: report counters with netsvc_stats_put(), in a fixed order. */
	int (*fill_stats)(struct netsvc_attachment *att, struct netsvc_stats *st);

	struct list_head list;		/* core private */
};

int __netsvc_service_register(struct netsvc_service_ops *ops);
void netsvc_service_unregister(struct netsvc_service_ops *ops);

#define netsvc_service_register(ops) ({				\
	(ops)->owner = THIS_MODULE;					\
	__netsvc_service_register(ops);					\
})

/* Each service module declares this so "netsvcctl attach NAME" autoloads it. */
#define MODULE_ALIAS_NETSVC_SERVICE(name) MODULE_ALIAS("netsvc-service-" name)

void *netsvc_priv(const struct netsvc_attachment *att);
struct net_device *netsvc_dev(const struct netsvc_attachment *att);
u32 netsvc_priority(const struct netsvc_attachment *att);

int netsvc_stats_put(struct netsvc_stats *st, const char *name, u64 value);

/*
 * Send a packet the service built (or kept) on its way, as if it had just left
 * the attachment: netsvc_xmit_to_guest() queues @skb for the guest through the
 * vif and passes only the egress attachments closer to the guest;
 * netsvc_inject_from_guest() delivers @skb to the stack as if the guest had
 * sent it and passes only the ingress attachments farther from the guest.
 * Both consume @skb, may be called from any context but hard IRQ, and return
 * a NET_XMIT_* / NET_RX_* code.
 */
int netsvc_xmit_to_guest(struct netsvc_attachment *att, struct sk_buff *skb);
int netsvc_inject_from_guest(struct netsvc_attachment *att, struct sk_buff *skb);

#endif /* _NETSVC_SERVICE_H */
