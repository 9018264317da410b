/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenctl: what netsvc's userspace needs to know about the Xen host it runs
 * in Dom0: which domain a vif belongs to, domain names, the guests and their
 * vifs.  The only place in netsvc that talks to XenStore and libxenctrl.
 *
 * Every function degrades quietly on a host without Xen: xenctl_open()
 * returns NULL, and the lookups taking a NULL handle report "unknown".
 */
#ifndef NETSVC_XENCTL_H
#define NETSVC_XENCTL_H

#include <stdbool.h>
#include <stdint.h>

#define XENCTL_NAME_MAX 64

struct xenctl;

/* NULL when this is not a Xen Dom0 (or XenStore is not running). */
struct xenctl *xenctl_open(void);
void xenctl_close(struct xenctl *x);

/*
 * "vif<domid>.<devid>" (netback's name, also "-emu" for an HVM guest's
 * emulated twin) into its numbers.  Pure parsing: no Xen needed.
 */
bool xenctl_parse_vif(const char *ifname, uint32_t *domid, uint32_t *devid);

/* The domain's name into @buf; false when unknown. */
bool xenctl_domain_name(struct xenctl *x, uint32_t domid, char *buf, size_t len);

/* The domid of the domain called @name, or -1. */
int64_t xenctl_domid_by_name(struct xenctl *x, const char *name);

struct xenctl_vif {
	uint32_t devid;
	char ifname[32];	/* Dom0's name of the backend interface */
	char bridge[32];	/* "" when the backend names none */
	char mac[18];
	bool connected;		/* netback and netfront both Connected */
};

struct xenctl_guest {
	uint32_t domid;
	char name[XENCTL_NAME_MAX];
	int n_vifs;
	struct xenctl_vif vifs[8];
};

/*
 * The running guests (Dom0 excluded) and their vifs, by domid.  Returns how
 * many were written to @out (at most @max), or -1 when Xen is not there.
 */
int xenctl_guests(struct xenctl *x, struct xenctl_guest *out, int max);

#endif
