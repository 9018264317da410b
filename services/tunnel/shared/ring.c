// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The tunnel ring: frames of variable length through memory shared with a
 * peer domain.  Plain C, no kernel headers (ring_shim.h supplies the
 * primitives), no allocation: the caller provides the memory, so the same file
 * is built into the kernel module and into the userspace tests and fuzzer.
 *
 * Layout.  A tunnel is a control page holding one struct ntr_shared per
 * direction, plus one data area per direction of 2^order pages.  The indices
 * are free-running 32-bit byte counts; the offset of an index in the data area
 * is index & (size - 1).  Each field has exactly one writer.
 *
 *   control page                     data area of one ring (size bytes)
 *   +---------------------------+    0                                 size
 *   | ring[0]: prod, cons_event,|    +------+-------+------+------+-----+
 *   |          closed   (line 0)|    | hdr  |payload| hdr  |payld.| pad |
 *   |          cons, prod_event |    +------+-------+------+------+-----+
 *   |                   (line 1)|      ^cons & mask         ^prod & mask
 *   | ring[1]: same, B->A       |
 *   +---------------------------+
 *
 * A frame is an 8-byte header {len, flags} and len bytes of payload, rounded
 * up to 8 bytes, so every header is 8-aligned and never straddles the end.
 * A frame is always contiguous, which is what makes zero-copy possible (the
 * caller gets one pointer): when it does not fit before the end, the producer
 * fills the tail with a pad header (flags = PAD, len = bytes to the end minus
 * the header) and puts the frame at offset 0.  A frame occupies at most half
 * the area (ntr_max_frame_limit), so whatever the offset, an empty ring always
 * has room for the largest frame: no deadlock on a big frame.
 *
 * Ordering is the Xen ring protocol's: the producer writes frames, then
 * publishes prod with a release store (Xen: wmb before the index); the
 * consumer reads prod with an acquire load (rmb after the index), reads the
 * frames, then publishes cons with a release store, which orders its reads
 * before the producer may overwrite the bytes.
 *
 * Notifications are Xen's event indices.  A sleeper first writes the index
 * value it wants to be woken at (prod_event = cons + 1: "any frame"), then a
 * full barrier, then looks at the ring again and sleeps only if it is still
 * empty (full).  The other end stores its index, a full barrier, then reads
 * the event and notifies iff the event lies in (old, new].  Either the sleeper
 * sees the new index, or the waker sees the event: no lost wake-up (checked
 * exhaustively in tests/test_ring.c).  A busy consumer never writes
 * prod_event, so the producer pushes batch after batch without notifying; a
 * stale event falls in (old, new] again only after 4 GiB, a spurious
 * notification at worst.
 *
 * Trust.  The peer can write anything at any time into the control page and
 * the data area.  So: own indices, size and frame limit are private copies
 * and are never read back; a peer index is read once, checked (it may only
 * move forward, by at most size, in 8-byte steps) and kept in r->peer; a
 * frame header is read once into locals, and its length is checked against
 * the frame limit, the contiguous bytes to the end and the published bytes
 * before anything uses it.  The first nonsense marks the ring broken for good
 * and every later call fails with -EPROTO: the caller tears the tunnel down.
 * Event indices written by the peer are only ever hints that decide whether
 * to notify; a wrong one costs the peer its own wake-ups.  Payload bytes stay
 * in shared memory and may change under the reader: callers of ntr_peek()
 * must treat them as such (ntr_recv() copies them once).
 */
#include "ring.h"

static inline uint32_t frame_total(uint32_t len)
{
	return (NTR_HDR_SIZE + len + NTR_ALIGN - 1) & ~(NTR_ALIGN - 1);
}

static int peer_broken(struct ntr_ring *r, const char *why)
{
	if (!r->broken) {
		r->broken = true;
		r->why = why;
	}
	return -EPROTO;
}

void ntr_shared_reset(struct ntr_shared *sh)
{
	memset(sh, 0, sizeof(*sh));
}

uint32_t ntr_ring_bytes(unsigned int order)
{
	return order > NTR_MAX_ORDER ? 0 : NTR_PAGE_SIZE << order;
}

uint32_t ntr_max_frame_limit(unsigned int order)
{
	uint32_t size = ntr_ring_bytes(order);

	return size ? size / 2 - NTR_HDR_SIZE : 0;
}

int ntr_init(struct ntr_ring *r, struct ntr_shared *sh, void *data,
	     unsigned int order, uint32_t max_frame)
{
	uint32_t size = ntr_ring_bytes(order);

	if (!size || !sh || !data || !max_frame || max_frame > ntr_max_frame_limit(order))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->sh = sh;
	r->data = data;
	r->size = size;
	r->mask = size - 1;
	r->max_frame = max_frame;
	return 0;
}

/*
 * The consumer's index may only move forward within what we have published:
 * anything else is a peer that does not follow the protocol.  A cons in the
 * middle of a frame would only hurt the consumer (the producer never reads the
 * data area), but it is nonsense all the same.
 */
static int refresh_cons(struct ntr_ring *r)
{
	uint32_t cons = ntr_load_acquire(&r->sh->cons);

	if (cons - r->peer > r->published - r->peer)
		return peer_broken(r, "consumer index outside the published range");
	if (cons & (NTR_ALIGN - 1))
		return peer_broken(r, "consumer index misaligned");
	r->peer = cons;
	return 0;
}

/* Bytes a frame of len needs at the current head, pad included. */
static uint32_t bytes_needed(const struct ntr_ring *r, uint32_t len, uint32_t *pad)
{
	uint32_t total = frame_total(len);
	uint32_t room = r->size - (r->head & r->mask);

	*pad = total <= room ? 0 : room;
	return *pad + total;
}

int ntr_reserve(struct ntr_ring *r, uint32_t len, void **payload)
{
	uint32_t pad, need, off;
	int err;

	if (r->broken)
		return -EPROTO;
	if (!len || len > r->max_frame)
		return -EMSGSIZE;
	need = bytes_needed(r, len, &pad);
	if (r->size - (r->head - r->peer) < need) {
		err = refresh_cons(r);
		if (err)
			return err;
		if (r->size - (r->head - r->peer) < need)
			return -EAGAIN;
	}
	r->resv_len = len;
	r->resv_pad = pad;
	off = pad ? 0 : r->head & r->mask;
	*payload = r->data + off + NTR_HDR_SIZE;
	return 0;
}

int ntr_commit(struct ntr_ring *r, uint32_t len)
{
	struct ntr_frame_hdr *h;

	if (r->broken)
		return -EPROTO;
	if (!r->resv_len || !len || len > r->resv_len)
		return -EINVAL;
	if (r->resv_pad) {
		h = (struct ntr_frame_hdr *)(r->data + (r->head & r->mask));
		NTR_WRITE_ONCE(h->len, r->resv_pad - NTR_HDR_SIZE);
		NTR_WRITE_ONCE(h->flags, NTR_FLAG_PAD);
		r->head += r->resv_pad;
	}
	h = (struct ntr_frame_hdr *)(r->data + (r->head & r->mask));
	NTR_WRITE_ONCE(h->len, len);
	NTR_WRITE_ONCE(h->flags, 0);
	r->head += frame_total(len);
	r->resv_len = 0;
	return 0;
}

int ntr_send(struct ntr_ring *r, const void *buf, uint32_t len)
{
	void *p;
	int err = ntr_reserve(r, len, &p);

	if (err)
		return err;
	memcpy(p, buf, len);
	return ntr_commit(r, len);
}

/*
 * Publish every committed frame at once (a batch); true when the consumer
 * asked to be woken within the batch.  The full barrier between the index
 * store and the event load is the one that prevents a lost wake-up.
 */
bool ntr_push(struct ntr_ring *r)
{
	uint32_t old = r->published, new = r->head, ev;

	if (old == new || r->broken)
		return false;
	ntr_store_release(&r->sh->prod, new);
	r->published = new;
	ntr_mb();
	ev = NTR_READ_ONCE(r->sh->prod_event);
	return new - ev < new - old;
}

/*
 * The producer found no room for len bytes and wants to sleep: ask to be
 * woken when cons reaches the value that frees enough bytes, then look again.
 * False means "do not sleep": there is room now, or something to push first,
 * or the peer is broken (the next ntr_reserve() says so).
 */
bool ntr_prod_prepare_wait(struct ntr_ring *r, uint32_t len)
{
	uint32_t pad, need;

	if (r->broken || r->head != r->published || !len || len > r->max_frame)
		return false;
	need = bytes_needed(r, len, &pad);
	NTR_WRITE_ONCE(r->sh->cons_event, r->head + need - r->size);
	ntr_mb();
	if (refresh_cons(r))
		return false;
	return r->size - (r->head - r->peer) < need;
}

/* No more frames after the published ones; always worth a notification. */
bool ntr_close(struct ntr_ring *r)
{
	ntr_push(r);
	ntr_store_release(&r->sh->closed, 1u);
	return true;
}

/*
 * Read prod once and check it before believing it: in 8-byte steps, never
 * more than size ahead of what we consumed.  Callers only look again once
 * they have consumed all of r->peer, so a prod that went backwards shows up
 * here as one that is more than a ring ahead.  closed is read first, so that
 * once it is seen the final prod is seen too.
 */
static int refresh_prod(struct ntr_ring *r)
{
	uint32_t closed = ntr_load_acquire(&r->sh->closed);
	uint32_t prod = ntr_load_acquire(&r->sh->prod);

	if (prod - r->head > r->size)
		return peer_broken(r, "producer index more than a ring ahead");
	if (prod & (NTR_ALIGN - 1))
		return peer_broken(r, "producer index misaligned");
	r->peer = prod;
	r->peer_closed = closed != 0;
	return 0;
}

int ntr_peek(struct ntr_ring *r, const void **payload, uint32_t *lenp)
{
	const struct ntr_frame_hdr *h;
	uint32_t avail, off, room, len, flags, total;
	bool refreshed = false;

	if (r->broken)
		return -EPROTO;
	for (;;) {
		avail = r->peer - r->head;
		if (!avail) {
			/*
			 * One look at prod per call: a peer that keeps
			 * publishing pads cannot keep us in this loop.
			 */
			if (refreshed)
				return -EAGAIN;
			if (refresh_prod(r))
				return -EPROTO;
			refreshed = true;
			avail = r->peer - r->head;
			if (!avail)
				return r->peer_closed ? -EPIPE : -EAGAIN;
		}
		if (avail < NTR_HDR_SIZE)
			return peer_broken(r, "published bytes end inside a header");
		off = r->head & r->mask;
		room = r->size - off;
		h = (const struct ntr_frame_hdr *)(r->data + off);
		len = NTR_READ_ONCE(h->len);
		flags = NTR_READ_ONCE(h->flags);
		if (flags == NTR_FLAG_PAD) {
			/* A pad only ever fills a tail too short for a frame. */
			if (off == 0 || len != room - NTR_HDR_SIZE)
				return peer_broken(r, "pad does not end at the end of the ring");
			if (room > avail)
				return peer_broken(r, "pad beyond the producer index");
			r->head += room;
			continue;
		}
		if (flags)
			return peer_broken(r, "unknown frame flags");
		if (!len || len > r->max_frame)
			return peer_broken(r, "frame length out of range");
		total = frame_total(len);
		if (total > room)
			return peer_broken(r, "frame crosses the end of the ring");
		if (total > avail)
			return peer_broken(r, "frame beyond the producer index");
		r->cur = total;
		*payload = h + 1;
		*lenp = len;
		return 0;
	}
}

void ntr_release(struct ntr_ring *r)
{
	r->head += r->cur;
	r->cur = 0;
}

int ntr_recv(struct ntr_ring *r, void *buf, uint32_t buflen, uint32_t *lenp)
{
	const void *p;
	uint32_t len;
	int err = ntr_peek(r, &p, &len);

	if (err)
		return err;
	*lenp = len;
	if (len > buflen)
		return -EMSGSIZE;
	memcpy(buf, p, len);
	ntr_release(r);
	return 0;
}

/*
 * Give the released bytes back (a batch); true when the producer waits for
 * room that this release provides.  Pads skipped by ntr_peek() are released
 * with the next frame, or here when nothing follows them.
 */
bool ntr_pull(struct ntr_ring *r)
{
	uint32_t old = r->published, new = r->head, ev;

	if (old == new || r->broken)
		return false;
	ntr_store_release(&r->sh->cons, new);
	r->published = new;
	ntr_mb();
	ev = NTR_READ_ONCE(r->sh->cons_event);
	return new - ev < new - old;
}

/*
 * The consumer found the ring empty and wants to sleep: ask for a wake-up at
 * the next frame, then look again.  False means "do not sleep": a frame came,
 * the peer closed or broke, or released bytes must be pulled first (the
 * producer may be waiting for them).
 */
bool ntr_cons_prepare_wait(struct ntr_ring *r)
{
	if (r->broken || r->head != r->published || r->peer != r->head)
		return false;
	NTR_WRITE_ONCE(r->sh->prod_event, r->head + 1);
	ntr_mb();
	if (refresh_prod(r))
		return false;
	return r->peer == r->head && !r->peer_closed;
}
