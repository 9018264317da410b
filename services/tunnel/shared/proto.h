/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the Dom0 broker (netsvc_tunnel.ko) and the guest end (netsvc_front.ko)
 * agree on: the XenStore protocol and the per-frame header in the ring.
 *
 * XenStore.  Everything lives under the guest's own data directory, which only
 * that guest (and Dom0) can read, so a guest sees only the offers made to it:
 *
 *   /local/domain/<me>/data/netsvc-front/ring-kb
 *     written by the guest when its module loads (and again after a resume):
 *     the largest ring, in KiB per direction, it grants or maps.  No offers
 *     before it is there: it is how the broker knows the guest end runs.
 *   /local/domain/<me>/data/netsvc-tunnel/<peer domid>/
 *     written by the broker (one transaction per change):
 *       mac          the peer's MAC, aa:bb:cc:dd:ee:ff
 *       role         "grant" (the lower domid) or "map"
 *       gen          offer generation; every reply must quote it
 *       ring-kb      the ring size of this channel: the smaller ring-kb of
 *                    the two guests, a power of two in [64, NTUN_RING_KB_MAX]
 *       peer-refs    map role only, relayed: the granter's ntun_nr_pages() refs
 *       peer-evtchn  map role only, relayed: the granter's unbound port
 *     written by the guest (in a transaction that checks gen first):
 *       refs         grant role: control page, ring 0 data, ring 1 data
 *       evtchn       grant role: port allocated for the peer
 *       reply-gen    the gen this reply belongs to
 *       state        "granted", "connected", "error" (the peer misbehaved or
 *                    set-up failed: revoke the pair) or "closed" (the
 *                    guest closed the channel for its own reasons, e.g. it
 *                    suspends: offer the pair anew, with a new gen)
 *
 * The broker only ever copies refs/evtchn from the granter of an authorised
 * pair to its mapper, after checking their syntax and their number against
 * the offer's ring-kb; it never interprets them.  Removing the directory
 * revokes the channel.  A guest's ring-kb changing (its module reloaded with
 * another ring_kb=) makes the broker offer its pairs anew.
 *
 * Ring.  One tunnel is a control page (struct ntr_ctl) and two data areas of
 * ring-kb KiB (2^order pages), all granted by the lower domid: ring[0] carries
 * granter -> mapper, ring[1] mapper -> granter.  Each frame's payload is a
 * struct ntun_meta followed by the Ethernet frame.
 */
#ifndef NETSVC_TUNNEL_PROTO_H
#define NETSVC_TUNNEL_PROTO_H

#include <linux/types.h>
#include <linux/log2.h>
#include <xen/xenbus.h>

#define NTUN_XS_DIR		"data/netsvc-tunnel"

#define NTUN_XS_CAPS		"data/netsvc-front"

/*
 * Ring sizes, KiB per direction.  64 KiB was the most xenbus_map_ring_valloc()
 * maps; the guest end now maps the peer's pages itself (guest/mem.c).  The
 * ceiling keeps the granter's reply (1 + 2 * 128 refs) well inside the 2 KiB
 * that xenstored lets a guest write into one node.
 */
#define NTUN_RING_KB_MIN	64u
#define NTUN_RING_KB_MAX	512u

/* A ring of kb KiB is 1 << order pages; 0 for a size the protocol refuses. */
static inline unsigned int ntun_ring_order(unsigned int kb)
{
	if (kb < NTUN_RING_KB_MIN || kb > NTUN_RING_KB_MAX || (kb & (kb - 1)))
		return 0;
	return ilog2(kb / 4);
}

/* The pages (and grant refs) of a tunnel: control page and two data areas. */
static inline unsigned int ntun_nr_pages(unsigned int order)
{
	return 1 + (2u << order);
}

#define NTUN_NR_PAGES_MAX	(1 + 2 * NTUN_RING_KB_MAX / 4)

#define NTUN_F_CSUM_PARTIAL	0x01	/* checksum left to the receiver's stack */
#define NTUN_F_GSO_TCPV4	0x02	/* a TCP super-frame, segments of gso_size */
#define NTUN_F_GSO_TCPV6	0x04
#define NTUN_F_GSO_ECN		0x08	/* SKB_GSO_TCP_ECN: CWR in the first segment */
#define NTUN_F_ALL		0x0f

struct ntun_meta {
	__u8 flags;
	__u8 pad0;
	__le16 gso_size;
	__u32 pad1;
};

/*
 * End a XenStore transaction: abort it when *err is set, else commit it.
 * True when the commit lost a race with another writer and the caller must
 * redo the transaction; otherwise *err is the outcome.
 */
static inline bool ntun_xs_retry(struct xenbus_transaction xbt, int *err)
{
	if (*err) {
		xenbus_transaction_end(xbt, 1);
		return false;
	}
	*err = xenbus_transaction_end(xbt, 0);
	return *err == -EAGAIN;
}

#endif
