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

#define NTUN_MAX_FRAME		(ntr_max_frame_limit(NTUN_RING_ORDER))
#define NTUN_MAX_ETH		(NTUN_MAX_FRAME - sizeof(struct ntun_meta))
/* TCP bursts below this fit a frame with room for the largest headers. */
#define NTUN_GSO_MAX		32000u
#define NTUN_BACKLOG		512
#define NTUN_RX_COPYBREAK	2048u
#define NTUN_RX_HEAD		256u
#define NTUN_SPENT_MAX		32

enum { T_WAIT, T_UP, T_DEAD };

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

	struct page *pages[NTUN_NR_PAGES];	/* granter */
	grant_ref_t refs[NTUN_NR_PAGES];
	void *vmapped[2];
	struct xenbus_device xdev;		/* mapper: see map_rings() */
	void *mapped[3];
	struct ntr_ctl *ctl;			/* in pages[0] or mapped[0] */
	void *data[2];				/* vmapped[] or mapped[1..2] */
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
int ntun_map_rings(struct ntun *t, grant_ref_t *refs, evtchn_port_t rport);
void ntun_free_rings(struct ntun *t);
unsigned int ntun_grants_held(void);
void ntun_grants_abandon(void);

/* setup.c */
extern struct work_struct ntun_work;
extern struct xenbus_watch ntun_watch;
void ntun_teardown(struct ntun *t);

#endif
