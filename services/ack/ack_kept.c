// SPDX-License-Identifier: GPL-2.0
/*
 * ack_kept.c: the bytes the core has acknowledged to a sender and keeps
 * until the receiver has them (chains of chunks, [una, nxt)), and copies of
 * the sender's segments that arrived early, held until the gap below them
 * fills.  One set per direction (struct ack_half).
 */
#include "ack_int.h"

/* ---- kept data ---- */

/* The receiver has the first @n kept bytes: let them go. */
void ack_release(struct ack_core *c, struct ack_half *h, u32 n)
{
	while (n && h->head) {
		struct chunk *ch = h->head;
		u32 avail = ch->len - h->head_off;

		if (n < avail) {
			h->head_off += n;
			return;
		}
		n -= avail;
		h->head = ch->next;
		h->head_off = 0;
		if (!h->head)
			h->tail = NULL;
		ack_free(c, ch);
	}
}

/* Payload bytes [off, off+n) of @s, linear or through the glue's callback. */
static void copy_in(struct ack_core *c, const struct ack_seg *s, u32 off,
		    u8 *dst, u32 n)
{
	if (s->payload)
		memcpy(dst, s->payload + off, n);
	else
		c->env.copy_payload(c->env.ctx, s->payload_ctx, off, dst, n);
}

static void chain_free(struct ack_core *c, struct chunk *ch)
{
	while (ch) {
		struct chunk *next = ch->next;

		ack_free(c, ch);
		ch = next;
	}
}

/*
 * Copy [off, off+len) of @s (len > 0) into a new chain of chunks; *last gets
 * its last chunk.  NULL, with nothing allocated, when memory runs out.
 */
static struct chunk *chain_new(struct ack_core *c, const struct ack_seg *s,
			       u32 off, u32 len, struct chunk **last)
{
	struct chunk *first = NULL, **pp = &first, *ch;
	u32 size;

	while (len) {
		/*
		 * Whole pages while there is much to keep; the last chunk only
		 * as large as a power of two needs to be, so that a flow with a
		 * few bytes kept does not hold a page (and slabs fit exactly).
		 */
		for (size = CHUNK_MIN; size < CHUNK_ALLOC && size - CHUNK_HDR < len; size <<= 1)
			;
		ch = ack_alloc(c, size);
		if (!ch) {
			chain_free(c, first);
			return NULL;
		}
		ch->next = NULL;
		ch->cap = size - CHUNK_HDR;
		ch->len = umin(ch->cap, len);
		copy_in(c, s, off, ch->data, ch->len);
		off += ch->len;
		len -= ch->len;
		*pp = ch;
		pp = &ch->next;
		*last = ch;
	}
	return first;
}

/* Append a chain to the kept bytes. */
static void append(struct ack_half *h, struct chunk *first, struct chunk *last)
{
	if (h->tail) {
		h->tail->next = first;
	} else {
		h->head = first;
		h->head_off = 0;
	}
	h->tail = last;
}

/*
 * Copy [off, off+len) of @s (len > 0) after @tail (may be NULL): into the
 * room left in @tail, the rest into a new chain returned in *first and
 * *last (NULL if it all fitted), for the caller to link.  All or nothing:
 * -1, with nothing copied, when memory runs out.
 */
static int chain_extend(struct ack_core *c, struct chunk *tail, const struct ack_seg *s,
			u32 off, u32 len, struct chunk **first, struct chunk **last)
{
	u32 room = tail ? umin(tail->cap - tail->len, len) : 0;

	*first = *last = NULL;
	if (len > room) {
		*first = chain_new(c, s, off + room, len - room, last);
		if (!*first)
			return -1;
	}
	if (room) {
		copy_in(c, s, off, tail->data + tail->len, room);
		tail->len += room;
	}
	return 0;
}

/* Keep [off, off+len) of the payload.  All or nothing: a failed allocation keeps nothing. */
int ack_keep(struct ack_core *c, struct ack_half *h, const struct ack_seg *s,
	     u32 off, u32 len)
{
	struct chunk *first, *last;

	if (chain_extend(c, h->tail, s, off, len, &first, &last))
		return -1;
	if (first)
		append(h, first, last);
	return 0;
}

u32 ack_core_copy_kept(const struct ack_flow *f, u8 dir, u32 seq, void *dst,
		       u32 len)
{
	const struct ack_half *h = dir == ACK_FROM_GUEST ? &f->tx : &f->rx;
	u32 off = seq - h->una, kept = h->nxt - h->una, done = 0, n;
	const struct chunk *ch = h->head;
	u8 *d = dst;

	if (off >= kept)
		return 0;
	len = umin(len, kept - off);
	off += h->head_off;
	while (ch && off >= ch->len) {
		off -= ch->len;
		ch = ch->next;
	}
	while (ch && done < len) {
		n = umin(ch->len - off, len - done);
		memcpy(d + done, ch->data + off, n);
		done += n;
		off = 0;
		ch = ch->next;
	}
	return done;
}

/* ---- segments that arrived early ---- */

void ack_drop_held(struct ack_core *c, struct ack_half *h)
{
	while (h->held) {
		struct held *e = h->held;

		h->held = e->next;
		chain_free(c, e->data);
		ack_free(c, e);
	}
	h->nheld = 0;
	h->flags &= ~H_PROBE;	/* (its copies were the one held entry) */
}

/*
 * Append [off, off+len) of @s (len > 0) to the held entry @e, topping up its
 * last chunk first; -1 if memory runs out (nothing appended).
 */
static int held_append(struct ack_core *c, struct held *e,
		       const struct ack_seg *s, u32 off, u32 len)
{
	struct chunk *first, *last;

	if (chain_extend(c, e->last, s, off, len, &first, &last))
		return -1;
	if (first) {
		if (e->last)
			e->last->next = first;
		else
			e->data = first;
		e->last = last;
	}
	e->len += len;
	return 0;
}

/*
 * Hold a copy of what @s, which starts above nxt, adds to the held data; -1
 * if it cannot be held.  An entry is a run of contiguous bytes, so that
 * MAX_HELD bounds the holes before nxt's late segment, not how many segments
 * fill them.  A sender resends bytes it sent before while they are held: a
 * tail loss probe is the last segment's last MSS, sent while the one before
 * it is still on its way here.  Only the bytes not held yet are copied, and
 * a run that reaches the next one joins it.
 */
int ack_hold(struct ack_core *c, struct ack_half *h, const struct ack_seg *s)
{
	struct held **pp = &h->held, *prev = NULL, *e;
	u32 at = s->seq, end = s->seq + s->len, to;

	while (seq_before(at, end)) {
		while (*pp && !seq_after((*pp)->seq + (*pp)->len, at)) {
			prev = *pp;
			pp = &prev->next;
		}
		if (*pp && !seq_after((*pp)->seq, at)) {
			at = (*pp)->seq + (*pp)->len;	/* held already */
			continue;
		}
		to = *pp && seq_before((*pp)->seq, end) ? (*pp)->seq : end;
		if (prev && prev->seq + prev->len == at) {
			if (held_append(c, prev, s, at - s->seq, to - at))
				return -1;
		} else {
			if (h->nheld >= MAX_HELD)
				return -1;
			e = ack_alloc(c, sizeof(*e));
			if (!e)
				return -1;
			memset(e, 0, sizeof(*e));
			e->seq = at;
			if (held_append(c, e, s, at - s->seq, to - at)) {
				ack_free(c, e);
				return -1;
			}
			e->next = *pp;
			*pp = e;
			h->nheld++;
			prev = e;
			pp = &e->next;
		}
		e = *pp;
		if (e && e->seq == prev->seq + prev->len) {
			/* the run reaches the next: one entry */
			prev->last->next = e->data;
			prev->last = e->last;
			prev->len += e->len;
			prev->next = e->next;
			ack_free(c, e);
			h->nheld--;
		}
		at = prev->seq + prev->len;
	}
	return 0;
}

/* Drop the first @n bytes of @e, fewer than it holds. */
static void held_trim(struct ack_core *c, struct held *e, u32 n)
{
	struct chunk *ch;

	e->seq += n;
	e->len -= n;
	while (n >= e->data->len) {
		ch = e->data;
		n -= ch->len;
		e->data = ch->next;
		ack_free(c, ch);
	}
	if (n) {
		ch = e->data;
		memmove(ch->data, ch->data + n, ch->len - n);
		ch->len -= n;
	}
}

/*
 * The bytes up to nxt are kept: the held runs that continue them join the
 * kept data, from nxt on where a run began below it (the sender resent its
 * start, resegmented); those wholly below nxt are dropped.
 */
void ack_merge_held(struct ack_core *c, struct ack_half *h)
{
	struct held *e;

	while ((e = h->held) && !seq_after(e->seq, h->nxt)) {
		if (seq_before(e->seq, h->nxt) && seq_after(e->seq + e->len, h->nxt))
			held_trim(c, e, h->nxt - e->seq);
		h->held = e->next;
		h->nheld--;
		if (e->seq == h->nxt) {
			append(h, e->data, e->last);	/* (hi covers it already) */
			h->nxt += e->len;
		} else {
			chain_free(c, e->data);
		}
		ack_free(c, e);
	}
}

/*
 * Toward a re-entry (ack_input.c): the sender's data of an inert half from
 * probe_seq on, in order, collects in one held entry, not acknowledged.
 * Append [off, off+len) of @s (len > 0) to it; -1 if memory runs out (what
 * was copied before stays, for the caller to drop).
 */
int ack_probe_copy(struct ack_core *c, struct ack_half *h,
		   const struct ack_seg *s, u32 off, u32 len)
{
	struct held *e = h->held;

	if (!e) {
		e = ack_alloc(c, sizeof(*e));
		if (!e)
			return -1;
		memset(e, 0, sizeof(*e));
		e->seq = s->seq + off;
		h->held = e;
		h->nheld = 1;
	}
	return held_append(c, e, s, off, len);
}
