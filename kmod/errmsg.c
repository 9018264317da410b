// SPDX-License-Identifier: GPL-2.0
/*
 * Formatted extack messages on Linux 6.1.
 *
 * struct netlink_ext_ack only carries a pointer, and the ACK that copies the
 * text is built after our handler returns, so a formatted message must outlive
 * the handler.  We intern the strings: each distinct message is kept once until
 * the module is unloaded, which happens only after genl_unregister_family() has
 * waited out every request in flight (it takes cb_lock for writing).  Callers
 * format only kernel-known names into messages (services, parameters, ranges),
 * never user input, so the set of distinct strings stays small; a cap bounds
 * it anyway.  (6.2 added NL_SET_ERR_MSG_FMT with a buffer in the extack.)
 */
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include "netsvc.h"

#define NETSVC_ERRMSG_MAX	1024
#define NETSVC_ERRMSG_LEN	160

struct netsvc_errmsg {
	struct list_head list;
	char text[];
};

static LIST_HEAD(errmsgs);
static DEFINE_SPINLOCK(errmsgs_lock);
static unsigned int n_errmsgs;

const char *netsvc_errmsg(const char *fmt, ...)
{
	struct netsvc_errmsg *m, *new;
	char buf[NETSVC_ERRMSG_LEN];
	const char *ret = NULL;
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	new = kmalloc(sizeof(*new) + strlen(buf) + 1, GFP_KERNEL);
	spin_lock(&errmsgs_lock);
	list_for_each_entry(m, &errmsgs, list) {
		if (!strcmp(m->text, buf)) {
			ret = m->text;
			break;
		}
	}
	if (!ret && new && n_errmsgs < NETSVC_ERRMSG_MAX) {
		strcpy(new->text, buf);
		list_add(&new->list, &errmsgs);
		n_errmsgs++;
		ret = new->text;
		new = NULL;
	}
	spin_unlock(&errmsgs_lock);
	kfree(new);
	return ret ?: "invalid request (details unavailable: message cache full)";
}

void netsvc_errmsg_exit(void)
{
	struct netsvc_errmsg *m, *tmp;

	list_for_each_entry_safe(m, tmp, &errmsgs, list)
		kfree(m);
	INIT_LIST_HEAD(&errmsgs);
	n_errmsgs = 0;
}
