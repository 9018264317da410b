// SPDX-License-Identifier: GPL-2.0
/*
 * XenStore layout used (what the toolstack and netback write):
 *   /local/domain/<domid>/name
 *   /local/domain/0/backend/vif/<domid>/<devid>/{bridge,mac,state}
 *   /local/domain/<domid>/device/vif/<devid>/state     (the frontend)
 * Domains are enumerated with libxenctrl (the hypervisor's list); XenStore
 * may hold entries of domains that are being torn down.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xenstore.h>
#include "xenctl.h"

#define XENBUS_CONNECTED "4"

struct xenctl {
	struct xs_handle *xs;
	xc_interface *xc;
	xentoollog_logger *log;
};

struct xenctl *xenctl_open(void)
{
	struct xenctl *x;

	/* Not a Dom0: say nothing, callers print what they can without Xen. */
	if (access("/proc/xen/capabilities", R_OK) && access("/dev/xen/xenbus", R_OK))
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->xs = xs_open(XS_OPEN_READONLY);
	if (!x->xs)
		x->xs = xs_open(0);
	if (!x->xs) {
		free(x);
		return NULL;
	}
	/* libxenctrl logs to stderr by default; only its worst belongs there. */
	x->log = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	x->xc = xc_interface_open(x->log, x->log, 0);
	return x;
}

void xenctl_close(struct xenctl *x)
{
	if (!x)
		return;
	if (x->xc)
		xc_interface_close(x->xc);
	if (x->log)
		xtl_logger_destroy(x->log);
	xs_close(x->xs);
	free(x);
}

bool xenctl_parse_vif(const char *ifname, uint32_t *domid, uint32_t *devid)
{
	unsigned long d, v;
	char *end;

	if (strncmp(ifname, "vif", 3) || ifname[3] < '0' || ifname[3] > '9')
		return false;
	errno = 0;
	d = strtoul(ifname + 3, &end, 10);
	if (errno || *end != '.' || end[1] < '0' || end[1] > '9' || d >= 0x7ff0)
		return false;	/* DOMID_FIRST_RESERVED */
	v = strtoul(end + 1, &end, 10);
	if (errno || v > 0xffff || (*end && strcmp(end, "-emu")))
		return false;
	*domid = d;
	*devid = v;
	return true;
}

static char *xs_get(struct xenctl *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static char *xs_get(struct xenctl *x, const char *fmt, ...)
{
	char path[256];
	unsigned int len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(x->xs, XBT_NULL, path, &len);
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

bool xenctl_domain_name(struct xenctl *x, uint32_t domid, char *buf, size_t len)
{
	char *name;

	if (!x)
		return false;
	name = xs_get(x, "/local/domain/%u/name", domid);
	if (!name)
		return false;
	copy(buf, len, name);
	free(name);
	return true;
}

/* The domids, from the hypervisor when we may ask it, else from XenStore. */
static int domids(struct xenctl *x, uint32_t *out, int max)
{
	int n = 0, i;

	if (x->xc) {
		xc_domaininfo_t info[256];
		uint32_t next = 0;
		int got;

		while ((got = xc_domain_getinfolist(x->xc, next, 256, info)) > 0) {
			for (i = 0; i < got && n < max; i++)
				if (!(info[i].flags & XEN_DOMINF_dying))
					out[n++] = info[i].domain;
			next = info[got - 1].domain + 1;
			if (got < 256)
				break;
		}
		if (got >= 0)
			return n;
		n = 0;
	}
	{
		unsigned int num;
		char **dirs = xs_directory(x->xs, XBT_NULL, "/local/domain", &num);

		if (!dirs)
			return 0;
		for (i = 0; i < (int)num && n < max; i++)
			out[n++] = strtoul(dirs[i], NULL, 10);
		free(dirs);
	}
	return n;
}

int64_t xenctl_domid_by_name(struct xenctl *x, const char *name)
{
	uint32_t ids[1024];
	char buf[XENCTL_NAME_MAX];
	int n, i;

	if (!x)
		return -1;
	n = domids(x, ids, 1024);
	for (i = 0; i < n; i++)
		if (xenctl_domain_name(x, ids[i], buf, sizeof(buf)) && !strcmp(buf, name))
			return ids[i];
	return -1;
}

static int by_devid(const void *a, const void *b)
{
	const struct xenctl_vif *va = a, *vb = b;

	return (va->devid > vb->devid) - (va->devid < vb->devid);
}

static void guest_vifs(struct xenctl *x, struct xenctl_guest *g)
{
	unsigned int num, i;
	char path[64], **devs;

	snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u", g->domid);
	devs = xs_directory(x->xs, XBT_NULL, path, &num);
	if (!devs)
		return;
	for (i = 0; i < num && g->n_vifs < 8; i++) {
		struct xenctl_vif *v = &g->vifs[g->n_vifs];
		char *be, *fe, *s;

		v->devid = strtoul(devs[i], NULL, 10);
		snprintf(v->ifname, sizeof(v->ifname), "vif%u.%u", g->domid, v->devid);
		s = xs_get(x, "%s/%u/bridge", path, v->devid);
		copy(v->bridge, sizeof(v->bridge), s);
		free(s);
		s = xs_get(x, "%s/%u/mac", path, v->devid);
		copy(v->mac, sizeof(v->mac), s);
		free(s);
		be = xs_get(x, "%s/%u/state", path, v->devid);
		fe = xs_get(x, "/local/domain/%u/device/vif/%u/state", g->domid, v->devid);
		v->connected = be && fe && !strcmp(be, XENBUS_CONNECTED) &&
			       !strcmp(fe, XENBUS_CONNECTED);
		free(be);
		free(fe);
		g->n_vifs++;
	}
	free(devs);
	qsort(g->vifs, g->n_vifs, sizeof(g->vifs[0]), by_devid);
}

int xenctl_guests(struct xenctl *x, struct xenctl_guest *out, int max)
{
	uint32_t ids[1024];
	int n, i, k = 0;

	if (!x)
		return -1;
	n = domids(x, ids, 1024);
	for (i = 0; i < n && k < max; i++) {
		struct xenctl_guest *g = &out[k];

		if (ids[i] == 0)
			continue;
		memset(g, 0, sizeof(*g));
		g->domid = ids[i];
		if (!xenctl_domain_name(x, g->domid, g->name, sizeof(g->name)))
			snprintf(g->name, sizeof(g->name), "(domain %u)", g->domid);
		guest_vifs(x, g);
		k++;
	}
	return k;
}
