/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the unit tests and the fuzzer: a counting allocator with failure
 * injection, an action recorder that copies retransmitted data out and checks
 * it against the payload pattern, and segment builders.
 */
#ifndef ACK_TEST_HARNESS_H
#define ACK_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include "../ack_core.h"

/*
 * Actions recorded per call into the core.  The glue queues whatever the core
 * emits, so a test that runs whole transfers (test_sim.c: a recovery may
 * resend a full cwnd at once) defines a bound above what one call can emit
 * and checks overflows: an action left out silently is a packet the glue
 * would have sent.
 */
#ifndef MAX_REC
#define MAX_REC 512
#endif

struct rec {
	struct ack_action a;
	struct ack_key key;
	bool data_ok;		/* XMIT_*: copied len bytes, pattern right */
};

struct harness {
	long allocs, frees, live;
	long fail_in;		/* > 0: the fail_in-th allocation from now fails */
	bool fail_all;
	struct rec out[MAX_REC];
	int nout;
	long overflows;		/* actions emitted when out[] was full: lost */
};

/* The payload byte at sequence number seq: lets every copy be checked. */
static inline u8 pat(u32 seq)
{
	return (u8)(seq * 2654435761u >> 24);
}

static void *h_alloc(void *ctx, size_t size)
{
	struct harness *h = ctx;

	if (h->fail_all)
		return NULL;
	if (h->fail_in > 0 && --h->fail_in == 0)
		return NULL;
	h->allocs++;
	h->live++;
	return malloc(size);
}

static void h_free(void *ctx, void *p)
{
	struct harness *h = ctx;

	if (!p)
		return;
	h->frees++;
	h->live--;
	free(p);
}

static void h_emit(void *ctx, const struct ack_action *a)
{
	static u8 buf[1 << 17];
	struct harness *h = ctx;
	struct rec *r;
	u32 i;

	if (h->nout >= MAX_REC) {
		h->overflows++;
		return;
	}
	r = &h->out[h->nout++];
	r->a = *a;
	r->key = *a->key;
	r->data_ok = true;
	if (a->type == ACK_ACT_XMIT_TO_WAN || a->type == ACK_ACT_XMIT_TO_GUEST) {
		u8 dir = a->type == ACK_ACT_XMIT_TO_WAN ? ACK_FROM_GUEST : ACK_TO_GUEST;

		if (a->len > sizeof(buf) ||
		    ack_core_copy_kept(a->flow, dir, a->seq, buf, a->len) != a->len)
			r->data_ok = false;
		else
			for (i = 0; i < a->len; i++)
				if (buf[i] != pat(a->seq + i))
					r->data_ok = false;
	}
}

/*
 * The glue's non-linear path: payload_ctx points at the segment's first
 * sequence number, and the bytes are generated from the pattern.
 */
static void h_copy_payload(void *ctx, const void *payload_ctx, u32 off,
			   void *dst, u32 n)
{
	u32 seq = *(const u32 *)payload_ctx, i;
	u8 *d = dst;

	(void)ctx;
	for (i = 0; i < n; i++)
		d[i] = pat(seq + off + i);
}

static inline struct ack_env harness_env(struct harness *h)
{
	struct ack_env env = {
		.alloc = h_alloc,
		.free = h_free,
		.emit = h_emit,
		.copy_payload = h_copy_payload,
		.ctx = h,
	};

	return env;
}

static u8 payload_buf[1 << 17];

/* A payload for [seq, seq+len) in the pattern; valid until the next call. */
static inline const u8 *payload(u32 seq, u32 len)
{
	u32 i;

	for (i = 0; i < len && i < sizeof(payload_buf); i++)
		payload_buf[i] = pat(seq + i);
	return payload_buf;
}

/* A segment of @key's flow in @dir, its payload from the pattern. */
static inline struct ack_seg harness_seg(const struct ack_key *key, int dir, u8 flags,
					 u32 seq, u32 ack, u16 win, u32 len)
{
	struct ack_seg s;

	memset(&s, 0, sizeof(s));
	s.dir = dir;
	s.family = key->family;
	s.flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.window = win;
	s.len = len;
	s.payload = len ? payload(seq, len) : NULL;
	s.ttl = dir == ACK_FROM_GUEST ? 64 : 50;
	memcpy(dir == ACK_FROM_GUEST ? s.saddr : s.daddr, key->gaddr, 16);
	memcpy(dir == ACK_FROM_GUEST ? s.daddr : s.saddr, key->raddr, 16);
	s.sport = dir == ACK_FROM_GUEST ? key->gport : key->rport;
	s.dport = dir == ACK_FROM_GUEST ? key->rport : key->gport;
	return s;
}

#endif
