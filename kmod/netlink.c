// SPDX-License-Identifier: GPL-2.0
/*
 * The "netsvc" generic netlink family: the only control interface.  The
 * attribute trees are documented in include/uapi/linux/netsvc.h.  Every
 * rejection carries an extack message; messages never echo user input (the
 * offending attribute is pointed at instead), see errmsg.c for why.
 */
#include <linux/netdevice.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include "netsvc.h"

static struct genl_family netsvc_family;

/* Bumped on every change so that dumps can flag themselves inconsistent. */
static unsigned int netsvc_generation = 1;

struct netsvc_stats {
	struct sk_buff *skb;
};

static const struct nla_policy svc_get_policy[NETSVC_A_MAX + 1] = {
	[NETSVC_A_SERVICE] = { .type = NLA_NUL_STRING, .len = NETSVC_SERVICE_NAME_MAX - 1 },
};

static const struct nla_policy attach_policy[NETSVC_A_MAX + 1] = {
	[NETSVC_A_IFINDEX] = { .type = NLA_U32 },
	[NETSVC_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[NETSVC_A_SERVICE] = { .type = NLA_NUL_STRING, .len = NETSVC_SERVICE_NAME_MAX - 1 },
	[NETSVC_A_PRIORITY] = NLA_POLICY_MAX(NLA_U32, NETSVC_PRIORITY_MAX),
	[NETSVC_A_PARAMS] = { .type = NLA_NESTED },
};

static const struct nla_policy set_policy[NETSVC_A_MAX + 1] = {
	[NETSVC_A_IFINDEX] = { .type = NLA_U32 },
	[NETSVC_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[NETSVC_A_SERVICE] = { .type = NLA_NUL_STRING, .len = NETSVC_SERVICE_NAME_MAX - 1 },
	[NETSVC_A_PARAMS] = { .type = NLA_NESTED },
};

/* DETACH and ATT_GET name a device and a service, nothing else. */
static const struct nla_policy dev_svc_policy[NETSVC_A_MAX + 1] = {
	[NETSVC_A_IFINDEX] = { .type = NLA_U32 },
	[NETSVC_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[NETSVC_A_SERVICE] = { .type = NLA_NUL_STRING, .len = NETSVC_SERVICE_NAME_MAX - 1 },
};

int netsvc_stats_put(struct netsvc_stats *st, const char *name, u64 value)
{
	struct nlattr *e = nla_nest_start(st->skb, NETSVC_A_STATS_ENTRY);

	if (!e || nla_put_string(st->skb, NETSVC_A_STAT_NAME, name) ||
	    nla_put_u64_64bit(st->skb, NETSVC_A_STAT_VALUE, value, NETSVC_A_STAT_PAD)) {
		if (e)
			nla_nest_cancel(st->skb, e);
		return -EMSGSIZE;
	}
	nla_nest_end(st->skb, e);
	return 0;
}
EXPORT_SYMBOL_GPL(netsvc_stats_put);

static struct net_device *get_dev(struct net *net, struct nlattr **attrs,
				  struct netlink_ext_ack *extack)
{
	struct net_device *dev = NULL;

	if (attrs[NETSVC_A_IFINDEX])
		dev = dev_get_by_index(net, nla_get_u32(attrs[NETSVC_A_IFINDEX]));
	else if (attrs[NETSVC_A_IFNAME])
		dev = dev_get_by_name(net, nla_data(attrs[NETSVC_A_IFNAME]));
	else {
		NL_SET_ERR_MSG(extack, "missing device (give an interface name or index)");
		return ERR_PTR(-EINVAL);
	}
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[NETSVC_A_IFINDEX] ?: attrs[NETSVC_A_IFNAME],
				    "no such device");
		return ERR_PTR(-ENODEV);
	}
	return dev;
}

static const char *get_service_name(struct nlattr **attrs,
				    struct netlink_ext_ack *extack)
{
	if (!attrs[NETSVC_A_SERVICE] || !nla_len(attrs[NETSVC_A_SERVICE]) ||
	    !*(char *)nla_data(attrs[NETSVC_A_SERVICE])) {
		NL_SET_ERR_MSG(extack, "missing service name");
		return NULL;
	}
	return nla_data(attrs[NETSVC_A_SERVICE]);
}

/* The attachment of service @name on @dev; netsvc_mutex held. */
static struct netsvc_attachment *find_att(struct net_device *dev, const char *name,
					  struct nlattr **attrs,
					  struct netlink_ext_ack *extack)
{
	struct netsvc_service_ops *ops;
	struct netsvc_attachment *att;

	list_for_each_entry(att, &netsvc_attachments, list)
		if (att->dev == dev && !strcmp(att->ops->name, name))
			return att;
	for (ops = netsvc_service_first(); ops; ops = netsvc_service_next(ops))
		if (!strcmp(ops->name, name))
			break;
	if (ops)
		NETSVC_ERR(extack, attrs[NETSVC_A_SERVICE],
			   "service '%s' is not attached to %s",
			   ops->name, dev->name);
	else
		NL_SET_ERR_MSG_ATTR(extack, attrs[NETSVC_A_SERVICE], "unknown service");
	return NULL;
}

static int put_params(struct sk_buff *skb, const struct netsvc_service_ops *ops,
		      const void *config)
{
	char value[NETSVC_PARAM_VALUE_MAX];
	struct nlattr *nest, *e;
	unsigned int i;

	nest = nla_nest_start(skb, NETSVC_A_PARAMS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < ops->n_params; i++) {
		netsvc_param_format(&ops->params[i], config, value, sizeof(value));
		e = nla_nest_start(skb, NETSVC_A_PARAMS_ENTRY);
		if (!e || nla_put_string(skb, NETSVC_A_PARAM_NAME, ops->params[i].name) ||
		    nla_put_string(skb, NETSVC_A_PARAM_VALUE, value))
			return -EMSGSIZE;
		nla_nest_end(skb, e);
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int put_counters(struct sk_buff *skb, const struct netsvc_attachment *att)
{
	struct netsvc_pcpu_counters c;
	struct nlattr *nest;

	netsvc_att_read_counters(att, &c);
	nest = nla_nest_start(skb, NETSVC_A_COUNTERS);
	if (!nest ||
	    nla_put_u64_64bit(skb, NETSVC_A_CNT_RX_PACKETS, c.packets[NETSVC_DIR_RX], NETSVC_A_CNT_PAD) ||
	    nla_put_u64_64bit(skb, NETSVC_A_CNT_RX_BYTES, c.bytes[NETSVC_DIR_RX], NETSVC_A_CNT_PAD) ||
	    nla_put_u64_64bit(skb, NETSVC_A_CNT_RX_DROPPED, c.dropped[NETSVC_DIR_RX], NETSVC_A_CNT_PAD) ||
	    nla_put_u64_64bit(skb, NETSVC_A_CNT_RX_STOLEN, c.stolen[NETSVC_DIR_RX], NETSVC_A_CNT_PAD) ||
	    nla_put_u64_64bit(skb, NETSVC_A_CNT_TX_PACKETS, c.packets[NETSVC_DIR_TX], NETSVC_A_CNT_PAD) ||
	    nla_put_u64_64bit(skb, NETSVC_A_CNT_TX_BYTES, c.bytes[NETSVC_DIR_TX], NETSVC_A_CNT_PAD) ||
	    nla_put_u64_64bit(skb, NETSVC_A_CNT_TX_DROPPED, c.dropped[NETSVC_DIR_TX], NETSVC_A_CNT_PAD) ||
	    nla_put_u64_64bit(skb, NETSVC_A_CNT_TX_STOLEN, c.stolen[NETSVC_DIR_TX], NETSVC_A_CNT_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int put_att_id(struct sk_buff *skb, const struct netsvc_attachment *att)
{
	if (nla_put_u32(skb, NETSVC_A_IFINDEX, att->dev->ifindex) ||
	    nla_put_string(skb, NETSVC_A_IFNAME, att->dev->name) ||
	    nla_put_string(skb, NETSVC_A_SERVICE, att->ops->name))
		return -EMSGSIZE;
	return 0;
}

static int fill_att(struct sk_buff *skb, struct netsvc_attachment *att,
		    u32 portid, u32 seq, int flags, struct netlink_callback *cb)
{
	struct netsvc_stats st = { .skb = skb };
	struct nlattr *stats;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &netsvc_family, flags, NETSVC_CMD_ATT_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (put_att_id(skb, att) ||
	    nla_put_u32(skb, NETSVC_A_PRIORITY, att->priority) ||
	    put_params(skb, att->ops, att->config) || put_counters(skb, att))
		goto nla_put_failure;
	stats = nla_nest_start(skb, NETSVC_A_STATS);
	if (!stats)
		goto nla_put_failure;
	if (att->ops->fill_stats && att->ops->fill_stats(att, &st))
		goto nla_put_failure;
	nla_nest_end(skb, stats);
	genlmsg_end(skb, hdr);
	return 0;

nla_put_failure:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

void netsvc_notify(const struct netsvc_attachment *att, enum netsvc_event ev)
{
	struct sk_buff *skb;
	void *hdr;

	netsvc_generation++;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &netsvc_family, 0, NETSVC_CMD_EVENT);
	if (!hdr || nla_put_u32(skb, NETSVC_A_EVENT, ev) || put_att_id(skb, att)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&netsvc_family, dev_net(att->dev), skb, 0, 0,
				GFP_KERNEL);
}

static int cmd_attach(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct netsvc_service_ops *ops;
	struct net_device *dev;
	const char *name;
	u32 prio;
	int err;

	name = get_service_name(info->attrs, extack);
	if (!name)
		return -EINVAL;
	dev = get_dev(genl_info_net(info), info->attrs, extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	prio = info->attrs[NETSVC_A_PRIORITY] ?
	       nla_get_u32(info->attrs[NETSVC_A_PRIORITY]) : NETSVC_PRIORITY_DEFAULT;

	mutex_lock(&netsvc_mutex);
	ops = netsvc_service_get(name);
	if (IS_ERR(ops)) {
		err = PTR_ERR(ops);
		if (err == -ENOENT)
			NL_SET_ERR_MSG_ATTR(extack, info->attrs[NETSVC_A_SERVICE],
					    "unknown service (no module provides it)");
		else
			NL_SET_ERR_MSG_ATTR(extack, info->attrs[NETSVC_A_SERVICE],
					    "service is being unloaded");
		goto out;
	}
	if (dev->reg_state != NETREG_REGISTERED) {
		NL_SET_ERR_MSG(extack, "device is being removed");
		err = -ENODEV;
	} else if (netsvc_att_find(dev, ops)) {
		NETSVC_ERR(extack, info->attrs[NETSVC_A_SERVICE],
			   "service '%s' is already attached to %s",
			   ops->name, dev->name);
		err = -EEXIST;
	} else {
		err = netsvc_att_create(dev, ops, prio, info->attrs[NETSVC_A_PARAMS], extack);
	}
	if (err)
		netsvc_service_put(ops);
out:
	mutex_unlock(&netsvc_mutex);
	dev_put(dev);
	return err;
}

/* DETACH and SET: find the attachment, then act on it. */
static int cmd_on_att(struct genl_info *info, bool set)
{
	struct netlink_ext_ack *extack = info->extack;
	struct netsvc_attachment *att;
	struct net_device *dev;
	const char *name;
	int err = -ENOENT;

	name = get_service_name(info->attrs, extack);
	if (!name)
		return -EINVAL;
	if (set && !info->attrs[NETSVC_A_PARAMS]) {
		NL_SET_ERR_MSG(extack, "nothing to set (give name=value parameters)");
		return -EINVAL;
	}
	dev = get_dev(genl_info_net(info), info->attrs, extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	mutex_lock(&netsvc_mutex);
	att = find_att(dev, name, info->attrs, extack);
	if (att)
		err = set ? netsvc_att_reconfigure(att, info->attrs[NETSVC_A_PARAMS], extack) :
			    netsvc_att_detach(att, extack);
	mutex_unlock(&netsvc_mutex);
	dev_put(dev);
	return err;
}

static int cmd_detach(struct sk_buff *skb, struct genl_info *info)
{
	return cmd_on_att(info, false);
}

static int cmd_set(struct sk_buff *skb, struct genl_info *info)
{
	return cmd_on_att(info, true);
}

static int cmd_att_get(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct netsvc_attachment *att;
	struct net_device *dev;
	struct sk_buff *msg;
	const char *name;
	int err = -ENOENT;

	name = get_service_name(info->attrs, extack);
	if (!name)
		return -EINVAL;
	dev = get_dev(genl_info_net(info), info->attrs, extack);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	msg = genlmsg_new(32 * 1024, GFP_KERNEL);
	if (!msg) {
		dev_put(dev);
		return -ENOMEM;
	}
	mutex_lock(&netsvc_mutex);
	att = find_att(dev, name, info->attrs, extack);
	if (att)
		err = fill_att(msg, att, info->snd_portid, info->snd_seq, 0, NULL);
	mutex_unlock(&netsvc_mutex);
	dev_put(dev);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int dump_att(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = genl_dumpit_info(cb)->attrs;
	struct netsvc_attachment *att;
	const char *svc = NULL;
	int ifindex = 0, idx = 0, err = 0;

	if (attrs[NETSVC_A_IFINDEX] || attrs[NETSVC_A_IFNAME]) {
		struct net_device *dev = get_dev(sock_net(skb->sk), attrs, cb->extack);

		if (IS_ERR(dev))
			return PTR_ERR(dev);
		ifindex = dev->ifindex;
		dev_put(dev);
	}
	if (attrs[NETSVC_A_SERVICE])
		svc = nla_data(attrs[NETSVC_A_SERVICE]);

	mutex_lock(&netsvc_mutex);
	cb->seq = netsvc_generation;
	list_for_each_entry(att, &netsvc_attachments, list) {
		if (!net_eq(dev_net(att->dev), sock_net(skb->sk)) ||
		    (ifindex && att->dev->ifindex != ifindex) ||
		    (svc && strcmp(att->ops->name, svc)))
			continue;
		if (idx++ < cb->args[0])
			continue;
		err = fill_att(skb, att, NETLINK_CB(cb->skb).portid,
			       cb->nlh->nlmsg_seq, NLM_F_MULTI, cb);
		if (err) {
			idx--;
			break;
		}
	}
	mutex_unlock(&netsvc_mutex);
	cb->args[0] = idx;
	/* One attachment too big for an empty skb is an error, not the end. */
	if (err && !skb->len)
		return err;
	return skb->len;
}

static int fill_service(struct sk_buff *skb, struct netsvc_service_ops *ops,
			u32 portid, u32 seq, int flags)
{
	char def[NETSVC_PARAM_VALUE_MAX], choices[128];
	struct nlattr *nest, *e;
	unsigned int i, j;
	size_t off;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &netsvc_family, flags, NETSVC_CMD_SVC_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, NETSVC_A_SERVICE, ops->name) ||
	    nla_put_u32(skb, NETSVC_A_ATT_COUNT, netsvc_service_att_count(ops)))
		goto nla_put_failure;
	nest = nla_nest_start(skb, NETSVC_A_PARAMS);
	if (!nest)
		goto nla_put_failure;
	for (i = 0; i < ops->n_params; i++) {
		const struct netsvc_param *p = &ops->params[i];
		bool numeric = p->type == NETSVC_PARAM_U32 || p->type == NETSVC_PARAM_U64;

		netsvc_param_format(p, ops->config_default, def, sizeof(def));
		e = nla_nest_start(skb, NETSVC_A_PARAMS_ENTRY);
		if (!e || nla_put_string(skb, NETSVC_A_PARAM_NAME, p->name) ||
		    nla_put_u32(skb, NETSVC_A_PARAM_TYPE, p->type) ||
		    nla_put_string(skb, NETSVC_A_PARAM_HELP, p->help ?: "") ||
		    nla_put_string(skb, NETSVC_A_PARAM_DEFAULT, def) ||
		    (p->live && nla_put_flag(skb, NETSVC_A_PARAM_LIVE)))
			goto nla_put_failure;
		if (numeric && (nla_put_u64_64bit(skb, NETSVC_A_PARAM_MIN, p->min, NETSVC_A_PARAM_PAD) ||
				nla_put_u64_64bit(skb, NETSVC_A_PARAM_MAX, p->max, NETSVC_A_PARAM_PAD)))
			goto nla_put_failure;
		if (p->type == NETSVC_PARAM_STRING &&
		    nla_put_u64_64bit(skb, NETSVC_A_PARAM_MAX, p->max, NETSVC_A_PARAM_PAD))
			goto nla_put_failure;
		if (p->type == NETSVC_PARAM_ENUM) {
			choices[0] = '\0';
			for (j = 0, off = 0; p->choices[j] && off < sizeof(choices); j++)
				off += scnprintf(choices + off, sizeof(choices) - off, "%s%s",
						 j ? "|" : "", p->choices[j]);
			if (nla_put_string(skb, NETSVC_A_PARAM_CHOICES, choices))
				goto nla_put_failure;
		}
		nla_nest_end(skb, e);
	}
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;

nla_put_failure:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int cmd_svc_get(struct sk_buff *skb, struct genl_info *info)
{
	struct netsvc_service_ops *ops;
	struct sk_buff *msg;
	const char *name;
	int err = -ENOENT;

	name = get_service_name(info->attrs, info->extack);
	if (!name)
		return -EINVAL;
	msg = genlmsg_new(32 * 1024, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&netsvc_mutex);
	for (ops = netsvc_service_first(); ops; ops = netsvc_service_next(ops))
		if (!strcmp(ops->name, name))
			break;
	if (ops)
		err = fill_service(msg, ops, info->snd_portid, info->snd_seq, 0);
	else
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NETSVC_A_SERVICE],
				    "unknown service (not loaded)");
	mutex_unlock(&netsvc_mutex);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int dump_svc(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct netsvc_service_ops *ops;
	int idx = 0, err = 0;

	mutex_lock(&netsvc_mutex);
	for (ops = netsvc_service_first(); ops; ops = netsvc_service_next(ops)) {
		if (idx++ < cb->args[0])
			continue;
		err = fill_service(skb, ops, NETLINK_CB(cb->skb).portid,
				   cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (err) {
			idx--;
			break;
		}
	}
	mutex_unlock(&netsvc_mutex);
	cb->args[0] = idx;
	if (err && !skb->len)
		return err;
	return skb->len;
}

static const struct genl_ops netsvc_ops[] = {
	{
		.cmd = NETSVC_CMD_SVC_GET,
		.doit = cmd_svc_get,
		.dumpit = dump_svc,
		.policy = svc_get_policy,
		.maxattr = NETSVC_A_MAX,
	},
	{
		.cmd = NETSVC_CMD_ATTACH,
		.doit = cmd_attach,
		.policy = attach_policy,
		.maxattr = NETSVC_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = NETSVC_CMD_DETACH,
		.doit = cmd_detach,
		.policy = dev_svc_policy,
		.maxattr = NETSVC_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = NETSVC_CMD_SET,
		.doit = cmd_set,
		.policy = set_policy,
		.maxattr = NETSVC_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = NETSVC_CMD_ATT_GET,
		.doit = cmd_att_get,
		.dumpit = dump_att,
		.policy = dev_svc_policy,
		.maxattr = NETSVC_A_MAX,
	},
};

static const struct genl_multicast_group netsvc_mcgrps[] = {
	{ .name = NETSVC_GENL_MCGRP_EVENTS },
};

static struct genl_family netsvc_family __ro_after_init = {
	.name = NETSVC_GENL_NAME,
	.version = NETSVC_GENL_VERSION,
	.maxattr = NETSVC_A_MAX,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = netsvc_ops,
	.n_ops = ARRAY_SIZE(netsvc_ops),
	.resv_start_op = NETSVC_CMD_MAX + 1,	/* strict validation for all */
	.mcgrps = netsvc_mcgrps,
	.n_mcgrps = ARRAY_SIZE(netsvc_mcgrps),
};

int __init netsvc_genl_init(void)
{
	return genl_register_family(&netsvc_family);
}

void netsvc_genl_exit(void)
{
	genl_unregister_family(&netsvc_family);
}
