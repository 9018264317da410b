/* SPDX-License-Identifier: GPL-2.0 */
/* Private to netsvc.ko: what the core's files share. */
#ifndef _NETSVC_CORE_H
#define _NETSVC_CORE_H

#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/u64_stats_sync.h>
#include <netsvc/service.h>
#include "compat.h"

enum { NETSVC_DIR_RX, NETSVC_DIR_TX, NETSVC_NDIR };

struct netsvc_pcpu_counters {
	u64 packets[NETSVC_NDIR];
	u64 bytes[NETSVC_NDIR];
	u64 dropped[NETSVC_NDIR];
	u64 stolen[NETSVC_NDIR];
	struct u64_stats_sync syncp;
};

struct netsvc_attachment {
	struct list_head list;			/* netsvc_attachments */
	struct net_device *dev;
	netdevice_tracker dev_tracker;
	struct netsvc_service_ops *ops;		/* holds a ref on ops->owner */
	u32 priority;
	struct nf_hook_ops hooks[NETSVC_NDIR];
	struct netsvc_pcpu_counters __percpu *counters;
	void *config;				/* ops->config_size bytes */
	bool detaching;				/* quiesce running, mutex dropped */
	unsigned long priv[] __aligned(NETDEV_ALIGN);
};

/* Serialises every control-plane change.  Lock order: RTNL, then this. */
extern struct mutex netsvc_mutex;
extern struct list_head netsvc_attachments;

/* registry.c */
struct netsvc_service_ops *netsvc_service_get(const char *name);
void netsvc_service_put(struct netsvc_service_ops *ops);
struct netsvc_service_ops *netsvc_service_first(void);
struct netsvc_service_ops *netsvc_service_next(struct netsvc_service_ops *ops);
unsigned int netsvc_service_att_count(const struct netsvc_service_ops *ops);

/* attach.c */
struct netsvc_attachment *netsvc_att_find(const struct net_device *dev,
					  const struct netsvc_service_ops *ops);
int netsvc_att_create(struct net_device *dev, struct netsvc_service_ops *ops,
		      u32 priority, const struct nlattr *params,
		      struct netlink_ext_ack *extack);
int netsvc_att_reconfigure(struct netsvc_attachment *att,
			   const struct nlattr *params,
			   struct netlink_ext_ack *extack);
int netsvc_att_detach(struct netsvc_attachment *att,
		      struct netlink_ext_ack *extack);
void netsvc_att_read_counters(const struct netsvc_attachment *att,
			      struct netsvc_pcpu_counters *sum);
int netsvc_attach_init(void);
void netsvc_attach_exit(void);

/* params.c */
int netsvc_params_apply(const struct netsvc_service_ops *ops, void *config,
			const struct nlattr *params, bool live_only,
			struct netlink_ext_ack *extack);
int netsvc_param_format(const struct netsvc_param *p, const void *config,
			char *buf, size_t len);
int netsvc_params_check_ops(const struct netsvc_service_ops *ops);

/* netlink.c */
void netsvc_notify(const struct netsvc_attachment *att, enum netsvc_event ev);
int netsvc_genl_init(void);
void netsvc_genl_exit(void);

/* errmsg.c */
const char *netsvc_errmsg(const char *fmt, ...) __printf(1, 2);
void netsvc_errmsg_exit(void);

#define NETSVC_ERR(extack, attr, fmt, ...) do {				\
	netsvc_set_err(extack, attr, netsvc_errmsg(fmt, ##__VA_ARGS__));\
} while (0)

#endif /* _NETSVC_CORE_H */
