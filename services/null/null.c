// SPDX-License-Identifier: GPL-2.0
/*
 * null: a service that does nothing.  Every packet is accepted untouched, so
 * attaching it to a vif measures what the framework alone costs per packet
 * (the netfilter hook, the call into the service, the per-attachment
 * counters); bench/hook.sh compares it with no netsvc and with acct.
 */
#include <linux/module.h>
#include <linux/netfilter.h>
#include <netsvc/service.h>

static int null_attach(struct netsvc_attachment *att, const void *config,
		       struct netlink_ext_ack *extack)
{
	return 0;
}

static void null_detach(struct netsvc_attachment *att)
{
}

static unsigned int null_packet(struct netsvc_attachment *att, struct sk_buff *skb)
{
	return NF_ACCEPT;
}

static struct netsvc_service_ops null_ops = {
	.name = "null",
	.attach = null_attach,
	.detach = null_detach,
	.ingress = null_packet,
	.egress = null_packet,
};

static int __init null_init(void)
{
	return netsvc_service_register(&null_ops);
}

static void __exit null_exit(void)
{
	netsvc_service_unregister(&null_ops);
}

module_init(null_init);
module_exit(null_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("netsvc service: accepts every packet, for measuring the framework");
MODULE_ALIAS_NETSVC_SERVICE("null");
