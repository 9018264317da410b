/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of netsvc_front share: one tunnel (struct ntun), the
 * module's state, and the calls between set-up (setup.c), shared pages
 * (mem.c), the data path (data.c) and the module itself (main.c).
 */
#ifndef NETSVC_FRONT_H
#define NETSVC_FRONT_H

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <xen/xenbus.h>
#include <xen/grant_table.h>
#include <xen/interface/event_channel.h>
#include "proto.h"
#include "ring.h"

/*
 * The longest Ethernet frame a tunnel carries, GSO bursts included: a 64 KiB
 * burst plus headers.  Bounded so that a received frame fits an skb's frags
 * (ntun_copy) whatever the ring size; a 64 KiB ring takes half of it.
 */
#define NTUN_ETH_MAX		(65536u + 256u)
/* TCP bursts below this fit half a 64 KiB ring with room for the headers. */
#define NTUN_GSO_MAX_64K	32000u
#define NTUN_BACKLOG		512
#define NTUN_RX_COPYBREAK	2048u
#define NTUN_RX_HEAD		256u
#define NTUN_SPENT_MAX		32

enum { T_WAIT, T_UP, T_DEAD };

/* The peer's pages mapped into one virtually contiguous area (mem.c). */
struct ntun_area {
	void *addr;
	unsigned int nr;
	grant_handle_t *handles;
	u64 *ptes;			/* PV: machine addresses of the PTEs used */
	struct page **pages;		/* auto-translated: the pages used */
};

struct ntun {
	struct list_head node;		/* ntun_list; RCU for the hooks */
	domid_t peer;
	u8 mac[ETH_ALEN];
	bool granter;
	bool reported;			/* "connected" written to XenStore */
	bool peer_error;
	bool setup_error;
	bool corrupted;			/* test mode: we broke our own tx ring */
	int state;			/* T_*, READ_ONCE on the data path */
	u32 gen;
	const char *why;
	char xsdir[40];

	/* The negotiated size, private: never re-read from XenStore or the peer. */
	unsigned int order;		/* each ring is 1 << order pages */
	unsigned int nr_pages;		/* ntun_nr_pages(order) */
	u32 max_eth;			/* longest Ethernet frame one ring frame takes */
	grant_ref_t *refs;		/* ours (granter), or the private copy of the peer's */
	struct page **pages;		/* granter: the granted pages */
	void *vmapped[2];		/* granter: each data area */
	struct ntun_area area;		/* mapper: all the peer's pages, one area */
	struct ntr_ctl *ctl;		/* pages[0] or area.addr */
	void *data[2];			/* vmapped[] or in area */
	evtchn_port_t port;
	int irq;

	spinlock_t tx_lock;		/* tx ring, backlog, tx counters */
	struct ntr_ring tx;
	struct sk_buff_head backlog;
	struct ntr_ring rx;		/* NAPI only */
	struct napi_struct napi;
	bool did_work;			/* NAPI: moved something since the last EOI */
	int eoi_owed;			/* an event was delivered, not yet EOI'd */

	u64 tx_frames, tx_bytes, rx_frames, rx_bytes;
	u64 events, polls;		/* frames / events shows the batching */
	atomic64_t fb_tx_frames, fb_rx_frames;
};

/* main.c: the interface (changed under rtnl and ntun_mutex; NULL while gone) */
extern struct net_device *ntun_dev;
extern struct net_device ntun_napi_dev;
extern struct list_head ntun_list;
extern struct mutex ntun_mutex;		/* ntun_list changes, set-up, teardown */
extern bool ntun_stopping;		/* module exit: no new tunnels */
extern bool ntun_frozen;		/* Xen suspends us: no new tunnels */
extern unsigned int ntun_ring_kb;	/* the most this guest offers to map */
DECLARE_PER_CPU(bool, ntun_injecting);

extern struct ntun_stats {
	atomic64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	atomic64_t fb_tx_frames, fb_tx_bytes, fb_rx_frames, fb_rx_bytes;
	atomic64_t setups, teardowns, peer_errors, setup_errors;
	atomic64_t backlogged, tx_dropped, rx_dropped, segmented;
	atomic64_t rx_busy_polled;
} ntun_stats;

/* data.c */
void ntun_fail(struct ntun *t, const char *why, bool peer_error);
unsigned int ntun_egress(void *priv, struct sk_buff *skb, const struct nf_hook_state *state);
unsigned int ntun_ingress(void *priv, struct sk_buff *skb, const struct nf_hook_state *state);
int ntun_poll(struct napi_struct *napi, int budget);
irqreturn_t ntun_interrupt(int irq, void *dev_id);

/* mem.c */
int ntun_grant_rings(struct ntun *t);
int ntun_map_rings(struct ntun *t, evtchn_port_t rport);
void ntun_free_rings(struct ntun *t);
unsigned int ntun_grants_held(void);
void ntun_grants_abandon(void);

/* setup.c */
extern struct work_struct ntun_work;
extern struct xenbus_watch ntun_watch;
extern bool ntun_caps_stale;		/* ring-kb to be written again (resumed) */
void ntun_teardown(struct ntun *t);
int ntun_publish_caps(void);
void ntun_withdraw_caps(void);

#endif
