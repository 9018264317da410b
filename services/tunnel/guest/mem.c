// SPDX-License-Identifier: GPL-2.0
/*
 * netsvc_front's shared pages: granted by one end, mapped by the other, and
 * let go of only when the peer lets go.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <xen/xen.h>
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

/*
 * Mapping the peer's pages.  The ring wants each data area virtually
 * contiguous, and xenbus_map_ring_valloc() maps at most 16 grants so.  In a
 * PV guest a grant cannot be mapped and then vmap()ed: Xen lets a PV guest
 * write only its own frames into a page table, so the grant must go straight
 * into the PTE that is to hold it (GNTMAP_contains_pte), as xenbus does.
 * Without get_vm_area() (or init_mm, for apply_to_page_range()) exported,
 * the area comes from vmap() of the zero page: vmalloc space with its page
 * tables allocated, whose PTEs (found with lookup_address()) are emptied one
 * by one with a TLB flush everywhere, then handed to Xen in one batch of
 * grant maps.  Grant unmap empties them again, and vunmap() releases the
 * range.  An auto-translated guest (PVH, HVM) maps grants onto unpopulated
 * pages and vmap()s those, as xenbus does there.
 */

/* Unmap what is mapped; false when Xen refused any (then leak the area). */
static bool ntun_unmap_grants(struct ntun_area *a)
{
	struct gnttab_unmap_grant_ref op[16];
	struct page *pages[16];
	unsigned int i = 0, n, j;
	bool ok = true;
	int err;

	while (i < a->nr) {
		for (n = 0; n < ARRAY_SIZE(op) && i < a->nr; i++) {
			if (a->handles[i] == INVALID_GRANT_HANDLE)
				continue;
			if (a->pages) {
				gnttab_set_unmap_op(&op[n],
						    (unsigned long)pfn_to_kaddr(page_to_xen_pfn(a->pages[i])),
						    GNTMAP_host_map, a->handles[i]);
				pages[n] = a->pages[i];
			} else {
				gnttab_set_unmap_op(&op[n], a->ptes[i],
						    GNTMAP_host_map | GNTMAP_contains_pte, a->handles[i]);
			}
			a->handles[i] = INVALID_GRANT_HANDLE;
			n++;
		}
		if (!n)
			continue;
		if (a->pages)
			err = gnttab_unmap_refs(op, NULL, pages, n);
		else
			err = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, op, n);
		ok &= !err;
		for (j = 0; j < n; j++)
			ok &= op[j].status == GNTST_okay;
	}
	return ok;
}

static void ntun_area_free(struct ntun_area *a)
{
	bool ok = true;

	/* Auto-translated: the alias goes first.  PV: the grants hold the PTEs. */
	if (a->pages && a->addr)
		vunmap(a->addr);
	if (a->handles)
		ok = ntun_unmap_grants(a);
	if (!ok)
		/* Foreign frames still mapped: never reuse those pages or PTEs. */
		pr_alert("cannot unmap a peer's pages: leaking %u pages\n", a->nr);
	else if (a->pages)
		gnttab_free_pages(a->nr, a->pages);
	else if (a->addr)
		vunmap(a->addr);
	kvfree(a->pages);
	kvfree(a->handles);
	kvfree(a->ptes);
	memset(a, 0, sizeof(*a));
}

/* An area of nr pages whose PTEs are empty, with their machine addresses. */
static int ntun_area_pv(struct ntun_area *a)
{
	unsigned int i, level;
	struct page **zero;
	unsigned long va;
	pte_t *pte;

	a->ptes = kvcalloc(a->nr, sizeof(*a->ptes), GFP_KERNEL);
	zero = kvmalloc_array(a->nr, sizeof(*zero), GFP_KERNEL);
	if (!a->ptes || !zero) {
		kvfree(zero);
		return -ENOMEM;
	}
	for (i = 0; i < a->nr; i++)
		zero[i] = ZERO_PAGE(0);
	a->addr = vmap(zero, a->nr, VM_MAP, PAGE_KERNEL_RO);
	kvfree(zero);
	if (!a->addr)
		return -ENOMEM;
	for (i = 0, va = (unsigned long)a->addr; i < a->nr; i++, va += PAGE_SIZE) {
		pte = lookup_address(va, &level);
		if (!pte || level != PG_LEVEL_4K)
			return -EFAULT;
		a->ptes[i] = arbitrary_virt_to_machine(pte).maddr;
		if (HYPERVISOR_update_va_mapping(va, __pte(0), UVMF_INVLPG | UVMF_ALL))
			return -EFAULT;
	}
	return 0;
}

static int ntun_area_map(struct ntun_area *a, const grant_ref_t *refs, unsigned int nr,
			 domid_t peer)
{
	struct gnttab_map_grant_ref *op;
	unsigned int i;
	int err;

	a->nr = nr;
	a->handles = kvmalloc_array(nr, sizeof(*a->handles), GFP_KERNEL);
	op = kvmalloc_array(nr, sizeof(*op), GFP_KERNEL);
	if (!a->handles || !op) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr; i++)
		a->handles[i] = INVALID_GRANT_HANDLE;
	if (xen_pv_domain()) {
		err = ntun_area_pv(a);
		if (err)
			goto out;
		for (i = 0; i < nr; i++)
			gnttab_set_map_op(&op[i], a->ptes[i], GNTMAP_host_map | GNTMAP_contains_pte,
					  refs[i], peer);
		gnttab_batch_map(op, nr);
	} else {
		a->pages = kvcalloc(nr, sizeof(*a->pages), GFP_KERNEL);
		if (!a->pages) {
			err = -ENOMEM;
			goto out;
		}
		err = gnttab_alloc_pages(nr, a->pages);
		if (err) {
			kvfree(a->pages);
			a->pages = NULL;
			goto out;
		}
		for (i = 0; i < nr; i++)
			gnttab_set_map_op(&op[i],
					  (unsigned long)pfn_to_kaddr(page_to_xen_pfn(a->pages[i])),
					  GNTMAP_host_map, refs[i], peer);
		err = gnttab_map_refs(op, NULL, a->pages, nr);
		if (err)
			goto out_status;
	}
out_status:
	for (i = 0; i < nr; i++) {
		if (op[i].status == GNTST_okay)
			a->handles[i] = op[i].handle;
		else if (!err)
			err = -ENOENT;	/* the peer's ref is not a grant to us */
	}
	if (!err && a->pages) {
		a->addr = vmap(a->pages, nr, VM_MAP, PAGE_KERNEL);
		if (!a->addr)
			err = -ENOMEM;
	}
out:
	kvfree(op);
	return err;
}

void ntun_free_rings(struct ntun *t)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (t->vmapped[i])
			vunmap(t->vmapped[i]);
	for (i = 0; t->pages && i < t->nr_pages; i++) {
		if (!t->pages[i])
			continue;
		if (t->refs[i] != INVALID_GRANT_REF)
			ntun_ungrant(t->refs[i], t->pages[i]);
		else
			__free_page(t->pages[i]);
	}
	kvfree(t->pages);
	t->pages = NULL;
	ntun_area_free(&t->area);
	kvfree(t->refs);
	t->refs = NULL;
}

int ntun_grant_rings(struct ntun *t)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = t->peer,
	};
	unsigned int i, ring_pages = 1u << t->order;
	int ref, err;

	t->pages = kvcalloc(t->nr_pages, sizeof(*t->pages), GFP_KERNEL);
	if (!t->pages)
		return -ENOMEM;
	for (i = 0; i < t->nr_pages; i++) {
		t->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!t->pages[i])
			return -ENOMEM;
		ref = gnttab_grant_foreign_access(t->peer, xen_page_to_gfn(t->pages[i]), 0);
		if (ref < 0)
			return ref;
		t->refs[i] = ref;
	}
	for (i = 0; i < 2; i++) {
		t->vmapped[i] = vmap(&t->pages[1 + i * ring_pages], ring_pages, VM_MAP, PAGE_KERNEL);
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

/* t->refs: the private copy of the peer's refs, t->nr_pages of them. */
int ntun_map_rings(struct ntun *t, evtchn_port_t rport)
{
	struct evtchn_bind_interdomain bind = {
		.remote_dom = t->peer,
		.remote_port = rport,
	};
	int err;

	err = ntun_area_map(&t->area, t->refs, t->nr_pages, t->peer);
	if (err)
		return err;
	t->ctl = t->area.addr;
	t->data[0] = t->area.addr + PAGE_SIZE;
	t->data[1] = t->area.addr + ((1 + (1ul << t->order)) << PAGE_SHIFT);
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
