/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * netsvc: per-vif in-kernel network services for a Xen Dom0.
 * Generic netlink control interface, shared by netsvc.ko and netsvcctl.
 *
 * Family NETSVC_GENL_NAME, version NETSVC_GENL_VERSION, multicast group
 * NETSVC_GENL_MCGRP_EVENTS.  Mutating commands require CAP_NET_ADMIN in the
 * network namespace's user namespace.  Every rejected request carries an
 * extended-ack message naming what was wrong.
 *
 * A device is named by NETSVC_A_IFINDEX or NETSVC_A_IFNAME (ifindex wins when
 * both are given), in the requester's network namespace.
 *
 * NETSVC_CMD_SVC_GET (dump; doit with NETSVC_A_SERVICE for one service)
 *   reply:
 *     NETSVC_A_SERVICE: NLA_NUL_STRING
 *     NETSVC_A_ATT_COUNT: NLA_U32          attachments of this service
 *     NETSVC_A_PARAMS: NLA_NESTED
 *       NETSVC_A_PARAMS_ENTRY: NLA_NESTED  (one per parameter, in order)
 *         NETSVC_A_PARAM_NAME: NLA_NUL_STRING
 *         NETSVC_A_PARAM_TYPE: NLA_U32     (enum netsvc_param_type)
 *         NETSVC_A_PARAM_HELP: NLA_NUL_STRING
 *         NETSVC_A_PARAM_DEFAULT: NLA_NUL_STRING
 *         NETSVC_A_PARAM_MIN: NLA_U64      (numeric types)
 *         NETSVC_A_PARAM_MAX: NLA_U64      (numeric types; max length for strings)
 *         NETSVC_A_PARAM_CHOICES: NLA_NUL_STRING ("a|b|c", enum only)
 *         NETSVC_A_PARAM_LIVE: NLA_FLAG    (may be changed by NETSVC_CMD_SET)
 *
 * NETSVC_CMD_ATTACH (doit, admin)
 *   request:
 *     NETSVC_A_IFINDEX: NLA_U32 | NETSVC_A_IFNAME: NLA_NUL_STRING
 *     NETSVC_A_SERVICE: NLA_NUL_STRING
 *     NETSVC_A_PRIORITY: NLA_U32           optional, default NETSVC_PRIORITY_DEFAULT
 *     NETSVC_A_PARAMS: NLA_NESTED          optional
 *       NETSVC_A_PARAMS_ENTRY: NLA_NESTED
 *         NETSVC_A_PARAM_NAME: NLA_NUL_STRING
 *         NETSVC_A_PARAM_VALUE: NLA_NUL_STRING   (parsed by the kernel per type)
 *
 * NETSVC_CMD_SET (doit, admin): as ATTACH without NETSVC_A_PRIORITY; changes the
 *   named parameters of an existing attachment, the others keep their values.
 *
 * NETSVC_CMD_DETACH (doit, admin)
 *   request: NETSVC_A_IFINDEX | NETSVC_A_IFNAME, NETSVC_A_SERVICE
 *
 * NETSVC_CMD_ATT_GET (doit with device + service; dump, optionally filtered by
 *   device and/or service)
 *   reply (one message per attachment):
 *     NETSVC_A_IFINDEX: NLA_U32
 *     NETSVC_A_IFNAME: NLA_NUL_STRING
 *     NETSVC_A_SERVICE: NLA_NUL_STRING
 *     NETSVC_A_PRIORITY: NLA_U32
 *     NETSVC_A_PARAMS: NLA_NESTED          current values
 *       NETSVC_A_PARAMS_ENTRY: NLA_NESTED
 *         NETSVC_A_PARAM_NAME, NETSVC_A_PARAM_VALUE
 *     NETSVC_A_COUNTERS: NLA_NESTED        kept by the framework
 *       NETSVC_A_CNT_RX_PACKETS ... NETSVC_A_CNT_TX_STOLEN: NLA_U64
 *     NETSVC_A_STATS: NLA_NESTED           service-specific, in the service's order
 *       NETSVC_A_STATS_ENTRY: NLA_NESTED
 *         NETSVC_A_STAT_NAME: NLA_NUL_STRING
 *         NETSVC_A_STAT_VALUE: NLA_U64
 *
 * NETSVC_CMD_EVENT (multicast on NETSVC_GENL_MCGRP_EVENTS, in the device's netns)
 *     NETSVC_A_EVENT: NLA_U32              (enum netsvc_event)
 *     NETSVC_A_IFINDEX, NETSVC_A_IFNAME, NETSVC_A_SERVICE
 *
 * Direction names follow the guest: "rx" is what Dom0 receives from the guest
 * (NF_NETDEV_INGRESS on the vif), "tx" is what Dom0 sends to the guest
 * (NF_NETDEV_EGRESS).
 */
#ifndef _UAPI_LINUX_NETSVC_H
#define _UAPI_LINUX_NETSVC_H

#define NETSVC_GENL_NAME	"netsvc"
#define NETSVC_GENL_VERSION	1
#define NETSVC_GENL_MCGRP_EVENTS "events"

#define NETSVC_SERVICE_NAME_MAX	32	/* including the NUL */
#define NETSVC_PARAM_NAME_MAX	32
#define NETSVC_PARAM_VALUE_MAX	256
#define NETSVC_PRIORITY_DEFAULT	100
#define NETSVC_PRIORITY_MAX	1000

enum netsvc_cmd {
	NETSVC_CMD_UNSPEC,
	NETSVC_CMD_SVC_GET,
	NETSVC_CMD_ATTACH,
	NETSVC_CMD_DETACH,
	NETSVC_CMD_SET,
	NETSVC_CMD_ATT_GET,
	NETSVC_CMD_EVENT,
	__NETSVC_CMD_MAX
};
#define NETSVC_CMD_MAX (__NETSVC_CMD_MAX - 1)

enum netsvc_attr {
	NETSVC_A_UNSPEC,
	NETSVC_A_IFINDEX,
	NETSVC_A_IFNAME,
	NETSVC_A_SERVICE,
	NETSVC_A_PRIORITY,
	NETSVC_A_PARAMS,
	NETSVC_A_COUNTERS,
	NETSVC_A_STATS,
	NETSVC_A_EVENT,
	NETSVC_A_ATT_COUNT,
	NETSVC_A_PAD,
	__NETSVC_A_MAX
};
#define NETSVC_A_MAX (__NETSVC_A_MAX - 1)

enum netsvc_params_attr {
	NETSVC_A_PARAMS_UNSPEC,
	NETSVC_A_PARAMS_ENTRY,
	__NETSVC_A_PARAMS_MAX
};
#define NETSVC_A_PARAMS_MAX (__NETSVC_A_PARAMS_MAX - 1)

enum netsvc_param_attr {
	NETSVC_A_PARAM_UNSPEC,
	NETSVC_A_PARAM_NAME,
	NETSVC_A_PARAM_VALUE,
	NETSVC_A_PARAM_TYPE,
	NETSVC_A_PARAM_HELP,
	NETSVC_A_PARAM_DEFAULT,
	NETSVC_A_PARAM_MIN,
	NETSVC_A_PARAM_MAX,
	NETSVC_A_PARAM_CHOICES,
	NETSVC_A_PARAM_LIVE,
	NETSVC_A_PARAM_PAD,
	__NETSVC_A_PARAM_MAX
};
#define NETSVC_A_PARAM_MAX_ATTR (__NETSVC_A_PARAM_MAX - 1)

enum netsvc_param_type {
	NETSVC_PARAM_U32,
	NETSVC_PARAM_U64,
	NETSVC_PARAM_BOOL,
	NETSVC_PARAM_STRING,
	NETSVC_PARAM_ENUM,
	__NETSVC_PARAM_TYPE_MAX
};

enum netsvc_cnt_attr {
	NETSVC_A_CNT_UNSPEC,
	NETSVC_A_CNT_RX_PACKETS,
	NETSVC_A_CNT_RX_BYTES,
	NETSVC_A_CNT_RX_DROPPED,
	NETSVC_A_CNT_RX_STOLEN,
	NETSVC_A_CNT_TX_PACKETS,
	NETSVC_A_CNT_TX_BYTES,
	NETSVC_A_CNT_TX_DROPPED,
	NETSVC_A_CNT_TX_STOLEN,
	NETSVC_A_CNT_PAD,
	__NETSVC_A_CNT_MAX
};
#define NETSVC_A_CNT_MAX (__NETSVC_A_CNT_MAX - 1)

enum netsvc_stats_attr {
	NETSVC_A_STATS_UNSPEC,
	NETSVC_A_STATS_ENTRY,
	__NETSVC_A_STATS_MAX
};
#define NETSVC_A_STATS_MAX (__NETSVC_A_STATS_MAX - 1)

enum netsvc_stat_attr {
	NETSVC_A_STAT_UNSPEC,
	NETSVC_A_STAT_NAME,
	NETSVC_A_STAT_VALUE,
	NETSVC_A_STAT_PAD,
	__NETSVC_A_STAT_MAX
};
#define NETSVC_A_STAT_MAX (__NETSVC_A_STAT_MAX - 1)

enum netsvc_event {
	NETSVC_EVENT_UNSPEC,
	NETSVC_EVENT_ATTACHED,
	NETSVC_EVENT_DETACHED,		/* by request */
	NETSVC_EVENT_DEV_GONE,		/* the device was unregistered */
	NETSVC_EVENT_RECONFIGURED,
	__NETSVC_EVENT_MAX
};

#endif /* _UAPI_LINUX_NETSVC_H */
