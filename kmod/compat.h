/* SPDX-License-Identifier: GPL-2.0 */
/* What differs between the kernels netsvc builds for.  Today: 6.1. */
#ifndef _NETSVC_COMPAT_H
#define _NETSVC_COMPAT_H

#include <linux/netlink.h>

/*
 * 6.1's NL_SET_ERR_MSG* take string literals only; netsvc's formatted
 * messages are interned (errmsg.c) and stored the same way.
 */
static inline void netsvc_set_err(struct netlink_ext_ack *extack,
				  const struct nlattr *attr, const char *msg)
{
	if (!extack)
		return;
	extack->_msg = msg;
	extack->bad_attr = attr;
	extack->policy = NULL;
}

#endif /* _NETSVC_COMPAT_H */
