// SPDX-License-Identifier: GPL-2.0
/*
 * netsvc_front's shared pages: granted by one end, mapped by the other, and
 * let go of only when the peer lets go.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <xen/page.h>
#include <asm/xen/hypercall.h>
#include "front.h"

/* A page the peer still maps: freed once it lets go. */
struct ntun_gref {
	struct list_head node;
	grant_ref_t ref;
	struct page *page;
};

static DEFINE_SPINLOCK(ntun_gref_lock);
static LIST_HEAD(ntun_grefs);
static void ntun_gref_retry(struct work_struct *w);
static DECLARE_DELAYED_WORK(ntun_gref_work, ntun_gref_retry);

static void ntun_gref_retry(struct work_struct *w)
{
	struct ntun_gref *g, *tmp;
	bool left;

	spin_lock(&ntun_gref_lock);
	list_for_each_entry_safe(g, tmp, &ntun_grefs, node) {
		if (!gnttab_try_end_foreign_access(g->ref))
			continue;
		__free_page(g->page);
		list_del(&g->node);
		kfree(g);
	}
	left = !list_empty(&ntun_grefs);
	spin_unlock(&ntun_gref_lock);
	if (left)
		schedule_delayed_work(&ntun_gref_work, HZ);
}

/* End a grant; if the peer still maps the page, keep it until it lets go. */
static void ntun_ungrant(grant_ref_t ref, struct page *page)
{
	struct ntun_gref *g;

	if (gnttab_try_end_foreign_access(ref)) {
		__free_page(page);
		return;
	}
	g = kmalloc(sizeof(*g), GFP_KERNEL);
	if (!g) {
		gnttab_end_foreign_access(ref, page);	/* the kernel's own deferral */
		return;
	}
	g->ref = ref;
	g->page = page;
	spin_lock(&ntun_gref_lock);
	list_add_tail(&g->node, &ntun_grefs);
	spin_unlock(&ntun_gref_lock);
	schedule_delayed_work(&ntun_gref_work, HZ);
}

void ntun_free_rings(struct ntun *t)
{
	int i;

	for (i = 0; i < 2; i++)
		if (t->vmapped[i])
			vunmap(t->vmapped[i]);
	for (i = 0; i < NTUN_NR_PAGES; i++) {
		if (!t->pages[i])
			continue;
		if (t->refs[i] != INVALID_GRANT_REF)
			ntun_ungrant(t->refs[i], t->pages[i]);
		else
			__free_page(t->pages[i]);
	}
	for (i = 0; i < 3; i++)
		if (t->mapped[i])
			xenbus_unmap_ring_vfree(&t->xdev, t->mapped[i]);
}

int ntun_grant_rings(struct ntun *t)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = t->peer,
	};
	int i, ref, err;

	for (i = 0; i < NTUN_NR_PAGES; i++) {
		t->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!t->pages[i])
			return -ENOMEM;
		ref = gnttab_grant_foreign_access(t->peer, xen_page_to_gfn(t->pages[i]), 0);
		if (ref < 0)
			return ref;
		t->refs[i] = ref;
	}
	for (i = 0; i < 2; i++) {
		t->vmapped[i] = vmap(&t->pages[1 + i * NTUN_RING_PAGES], NTUN_RING_PAGES,
				     VM_MAP, PAGE_KERNEL);
		if (!t->vmapped[i])
			return -ENOMEM;
		t->data[i] = t->vmapped[i];
	}
	t->ctl = page_address(t->pages[0]);
	err = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (err)
		return err;
	t->port = alloc.port;
	return 0;
}

/*
 * xenbus_map_ring_valloc() wants a xenbus_device for the peer's domid and for
 * error reports only.  Ours is a private stub whose state is already Closing,
 * so that an error report cannot switch any real device's state.
 */
int ntun_map_rings(struct ntun *t, grant_ref_t *refs, evtchn_port_t rport)
{
	struct evtchn_bind_interdomain bind = {
		.remote_dom = t->peer,
		.remote_port = rport,
	};
	int err;

	t->xdev.otherend_id = t->peer;
	t->xdev.nodename = t->xsdir;
	t->xdev.state = XenbusStateClosing;
	err = xenbus_map_ring_valloc(&t->xdev, refs, 1, &t->mapped[0]);
	err = err ?: xenbus_map_ring_valloc(&t->xdev, refs + 1, NTUN_RING_PAGES,
					    &t->mapped[1]);
	err = err ?: xenbus_map_ring_valloc(&t->xdev, refs + 1 + NTUN_RING_PAGES,
					    NTUN_RING_PAGES, &t->mapped[2]);
	if (err)
		return err;
	t->ctl = t->mapped[0];
	t->data[0] = t->mapped[1];
	t->data[1] = t->mapped[2];
	err = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bind);
	if (err)
		return err;
	t->port = bind.local_port;
	return 0;
}

unsigned int ntun_grants_held(void)
{
	struct ntun_gref *g;
	unsigned int held = 0;

	spin_lock(&ntun_gref_lock);
	list_for_each_entry(g, &ntun_grefs, node)
		held++;
	spin_unlock(&ntun_gref_lock);
	return held;
}

/* Module exit: pages a peer still maps, the kernel's deferral takes them over. */
void ntun_grants_abandon(void)
{
	struct ntun_gref *g, *tmp;

	cancel_delayed_work_sync(&ntun_gref_work);
	list_for_each_entry_safe(g, tmp, &ntun_grefs, node) {
		gnttab_end_foreign_access(g->ref, g->page);
		kfree(g);
	}
}
