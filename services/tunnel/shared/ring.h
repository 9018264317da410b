/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * One direction of a netsvc tunnel: a single-producer/single-consumer ring of
 * variable-length frames in memory shared with a peer that may be hostile.
 * The design, the memory layout and the trust decisions are described at the
 * top of ring.c.
 */
#ifndef NETSVC_TUNNEL_RING_H
#define NETSVC_TUNNEL_RING_H

#include "ring_shim.h"

#define NTR_PAGE_SIZE	4096u
#define NTR_MAX_ORDER	16u	/* 256 MiB: keeps every index difference far below 2^31 */
#define NTR_HDR_SIZE	8u
#define NTR_ALIGN	8u
#define NTR_FLAG_PAD	1u

/* Header of every frame, at an NTR_ALIGN-aligned offset of the data area. */
struct ntr_frame_hdr {
	uint32_t len;	/* payload bytes; for a pad: bytes to the end of the area */
	uint32_t flags;	/* 0 or NTR_FLAG_PAD */
};

/*
 * The shared indices of one ring: two cache lines, each written by one end
 * only, so that the ends do not bounce one line between them on every frame.
 */
struct ntr_shared {
	/* written by the producer */
	uint32_t prod;		/* bytes ever published, free-running */
	uint32_t cons_event;	/* "notify me when cons reaches this" */
	uint32_t closed;	/* nonzero: no more frames will come */
	uint8_t pad0[52];
	/* written by the consumer */
	uint32_t cons;		/* bytes ever released, free-running */
	uint32_t prod_event;	/* "notify me when prod reaches this" */
	uint8_t pad1[56];
};

/* The control page of a tunnel: ring[0] carries A->B, ring[1] B->A. */
struct ntr_ctl {
	struct ntr_shared ring[2];
};

/* One end's private view of one ring.  Nothing here lives in shared memory. */
struct ntr_ring {
	struct ntr_shared *sh;
	uint8_t *data;
	uint32_t size;		/* private copies: never re-read from the peer */
	uint32_t mask;
	uint32_t max_frame;
	uint32_t head;		/* own index: prod (producer) or cons (consumer) */
	uint32_t published;	/* own index as last stored in shared memory */
	uint32_t peer;		/* peer's index as last read and validated */
	uint32_t resv_len;	/* producer: reserved payload, 0 if none */
	uint32_t resv_pad;	/* producer: pad bytes before the reservation */
	uint32_t cur;		/* consumer: bytes the peeked frame occupies */
	bool peer_closed;
	bool broken;
	const char *why;	/* first reason the peer was declared broken */
};

void ntr_shared_reset(struct ntr_shared *sh);
uint32_t ntr_ring_bytes(unsigned int order);
uint32_t ntr_max_frame_limit(unsigned int order);
int ntr_init(struct ntr_ring *r, struct ntr_shared *sh, void *data,
	     unsigned int order, uint32_t max_frame);

/* producer */
int ntr_reserve(struct ntr_ring *r, uint32_t len, void **payload);
int ntr_commit(struct ntr_ring *r, uint32_t len);
int ntr_send(struct ntr_ring *r, const void *buf, uint32_t len);
bool ntr_push(struct ntr_ring *r);
bool ntr_prod_prepare_wait(struct ntr_ring *r, uint32_t len);
bool ntr_close(struct ntr_ring *r);

/* consumer */
int ntr_peek(struct ntr_ring *r, const void **payload, uint32_t *len);
void ntr_release(struct ntr_ring *r);
int ntr_recv(struct ntr_ring *r, void *buf, uint32_t buflen, uint32_t *len);
bool ntr_pull(struct ntr_ring *r);
bool ntr_cons_prepare_wait(struct ntr_ring *r);

static inline bool ntr_broken(const struct ntr_ring *r)
{
	return r->broken;
}

static inline const char *ntr_why(const struct ntr_ring *r)
{
	return r->why ? r->why : "";
}

#endif
