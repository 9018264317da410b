// SPDX-License-Identifier: GPL-2.0
/*
 * netsvc: per-vif in-kernel network services for a Xen Dom0.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include "netsvc.h"

static int __init netsvc_init(void)
{
	int err;

	err = netsvc_attach_init();
	if (err)
		goto err_attach;
	err = netsvc_genl_init();
	if (err)
		goto err_genl;
	pr_info("loaded (genetlink family %s v%d)\n", NETSVC_GENL_NAME,
		NETSVC_GENL_VERSION);
	return 0;

err_genl:
	netsvc_attach_exit();
err_attach:
	return err;
}

static void __exit netsvc_exit(void)
{
	/* Waits for every request in flight, ACKs included (see errmsg.c). */
	netsvc_genl_exit();
	netsvc_attach_exit();
	netsvc_errmsg_exit();
	pr_info("unloaded\n");
}

module_init(netsvc_init);
module_exit(netsvc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Per-vif in-kernel network services for a Xen Dom0");
MODULE_ALIAS_GENL_FAMILY(NETSVC_GENL_NAME);
