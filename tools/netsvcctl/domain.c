// SPDX-License-Identifier: GPL-2.0
/*
 * Xen domains, through xenctl/.  Opened on first use; on a host without Xen
 * every answer is "unknown" and nothing is printed.
 */
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include "netsvcctl.h"
#include "../../xenctl/xenctl.h"

static struct xenctl *xen;
static bool tried;

static struct xenctl *xen_get(void)
{
	if (!tried) {
		tried = true;
		xen = xenctl_open();
	}
	return xen;
}

bool ns_have_xen(void)
{
	return xen_get() != NULL;
}

const char *ns_domain_of_ifname(const char *ifname)
{
	static char name[XENCTL_NAME_MAX];
	uint32_t domid, devid;

	if (!xenctl_parse_vif(ifname, &domid, &devid) || !xen_get())
		return NULL;
	return xenctl_domain_name(xen, domid, name, sizeof(name)) ? name : NULL;
}

int ns_domain_vifs(const char *domain, char (*ifnames)[IF_NAMESIZE], int max)
{
	struct xenctl_guest g[64];
	int64_t domid;
	int n, i, j, k = 0;

	if (!xen_get())
		return -1;
	domid = xenctl_domid_by_name(xen, domain);
	if (domid < 0)
		return 0;
	n = xenctl_guests(xen, g, 64);
	for (i = 0; i < n; i++) {
		if (g[i].domid != domid)
			continue;
		/* Only the vifs whose backend device exists in Dom0 now. */
		for (j = 0; j < g[i].n_vifs && k < max; j++)
			if (if_nametoindex(g[i].vifs[j].ifname))
				snprintf(ifnames[k++], IF_NAMESIZE, "%s", g[i].vifs[j].ifname);
	}
	return k;
}

int ns_print_guests(void)
{
	struct xenctl_guest g[256];
	int n, i, j;

	if (!xen_get()) {
		fprintf(stderr, "%s: guests: not a Xen Dom0 (XenStore is not reachable)\n", prog);
		return 1;
	}
	n = xenctl_guests(xen, g, 256);
	if (json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (json) {
			printf("%s{\"domid\":%u,\"name\":", i ? "," : "", g[i].domid);
			json_str(stdout, g[i].name);
			printf(",\"vifs\":[");
		} else {
			printf("%-5u %s\n", g[i].domid, g[i].name);
		}
		for (j = 0; j < g[i].n_vifs; j++) {
			const struct xenctl_vif *v = &g[i].vifs[j];

			if (json) {
				printf("%s{\"ifname\":", j ? "," : "");
				json_str(stdout, v->ifname);
				printf(",\"bridge\":");
				json_str(stdout, v->bridge);
				printf(",\"mac\":");
				json_str(stdout, v->mac);
				printf(",\"connected\":%s}", v->connected ? "true" : "false");
			} else {
				printf("      %-10s bridge %-10s mac %s%s\n", v->ifname,
				       *v->bridge ? v->bridge : "-", v->mac,
				       v->connected ? "" : " (not connected)");
			}
		}
		if (json)
			printf("]}");
	}
	if (json)
		printf("]\n");
	return 0;
}
