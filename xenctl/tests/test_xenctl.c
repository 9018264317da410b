// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../xenctl.h"

static int passed, failed;

static void vif(const char *name, bool ok, uint32_t domid, uint32_t devid)
{
	uint32_t d = 0xdead, v = 0xbeef;
	bool got = xenctl_parse_vif(name, &d, &v);

	if (got == ok && (!ok || (d == domid && v == devid))) {
		printf("PASS parse-vif '%s'\n", name);
		passed++;
	} else {
		printf("FAIL parse-vif '%s': got %d %u.%u\n", name, got, d, v);
		failed++;
	}
}

int main(void)
{
	struct xenctl_guest g[4];
	char buf[64];
	struct xenctl *x;

	vif("vif3.0", true, 3, 0);
	vif("vif12.7", true, 12, 7);
	vif("vif32751.65535", true, 32751, 65535);
	vif("vif5.1-emu", true, 5, 1);
	vif("vif32752.0", false, 0, 0);		/* DOMID_FIRST_RESERVED */
	vif("vif3.65536", false, 0, 0);
	vif("vif3", false, 0, 0);
	vif("vif3.", false, 0, 0);
	vif("vif.0", false, 0, 0);
	vif("vif-3.0", false, 0, 0);
	vif("vif3.0x", false, 0, 0);
	vif("vif3.0-emux", false, 0, 0);
	vif("eth0", false, 0, 0);
	vif("vif99999999999999999999.0", false, 0, 0);

	/* Without Xen: NULL handle, and lookups on it answer "unknown". */
	if (access("/proc/xen/capabilities", R_OK)) {
		x = xenctl_open();
		if (!x && !xenctl_domain_name(NULL, 1, buf, sizeof(buf)) &&
		    xenctl_domid_by_name(NULL, "g1") == -1 && xenctl_guests(NULL, g, 4) == -1) {
			printf("PASS no-xen-degrades\n");
			passed++;
		} else {
			printf("FAIL no-xen-degrades: a handle or an answer without Xen\n");
			failed++;
		}
		xenctl_close(x);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
