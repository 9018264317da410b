// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of services, in the style of Open vSwitch's vport types: one
 * list under the control mutex, names unique, each attachment pinning the
 * owner module so a service cannot vanish under its attachments.
 */
#include <linux/kmod.h>
#include "netsvc.h"

static LIST_HEAD(services);

static struct netsvc_service_ops *lookup(const char *name)
{
	struct netsvc_service_ops *ops;

	list_for_each_entry(ops, &services, list)
		if (!strcmp(ops->name, name))
			return ops;
	return NULL;
}

int __netsvc_service_register(struct netsvc_service_ops *ops)
{
	int err;

	if (!ops->name || !ops->name[0] ||
	    strlen(ops->name) >= NETSVC_SERVICE_NAME_MAX)
		return -EINVAL;
	err = netsvc_params_check_ops(ops);
	if (err)
		return err;

	mutex_lock(&netsvc_mutex);
	if (lookup(ops->name)) {
		err = -EEXIST;
	} else {
		list_add_tail(&ops->list, &services);
		pr_info("service %s registered\n", ops->name);
	}
	mutex_unlock(&netsvc_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(__netsvc_service_register);

void netsvc_service_unregister(struct netsvc_service_ops *ops)
{
	mutex_lock(&netsvc_mutex);
	/*
	 * Attachments hold a reference on ops->owner, so a module's exit path
	 * cannot get here while any exists.
	 */
	WARN_ON(netsvc_service_att_count(ops));
	list_del(&ops->list);
	mutex_unlock(&netsvc_mutex);
	pr_info("service %s unregistered\n", ops->name);
}
EXPORT_SYMBOL_GPL(netsvc_service_unregister);

/*
 * Find a service by name and pin its module; loads "netsvc-service-NAME" when
 * it is not registered yet.  Called with netsvc_mutex held; drops it around
 * request_module() because the module's init takes it to register.
 */
struct netsvc_service_ops *netsvc_service_get(const char *name)
{
	struct netsvc_service_ops *ops;

	lockdep_assert_held(&netsvc_mutex);
	ops = lookup(name);
	if (!ops) {
		mutex_unlock(&netsvc_mutex);
		request_module("netsvc-service-%s", name);
		mutex_lock(&netsvc_mutex);
		ops = lookup(name);
	}
	if (!ops)
		return ERR_PTR(-ENOENT);
	if (!try_module_get(ops->owner))
		return ERR_PTR(-EAGAIN);	/* being unloaded */
	return ops;
}

void netsvc_service_put(struct netsvc_service_ops *ops)
{
	module_put(ops->owner);
}

struct netsvc_service_ops *netsvc_service_first(void)
{
	return list_first_entry_or_null(&services, struct netsvc_service_ops,
					list);
}

struct netsvc_service_ops *netsvc_service_next(struct netsvc_service_ops *ops)
{
	if (list_is_last(&ops->list, &services))
		return NULL;
	return list_next_entry(ops, list);
}

unsigned int netsvc_service_att_count(const struct netsvc_service_ops *ops)
{
	struct netsvc_attachment *att;
	unsigned int n = 0;

	list_for_each_entry(att, &netsvc_attachments, list)
		n += att->ops == ops;
	return n;
}
