// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of the tunnel ring, one end of each kind over one ntr_shared,
 * in one thread: empty and full, wrap-around at every offset, every frame
 * size, the 2^32 index wrap, batching and notification decisions, a hostile
 * peer's classic lies, and an exhaustive check of the wake-up protocol.
 */
#include "tunnel_test.h"

/*
 * One page, small enough to test every offset and every size; then the
 * tunnel's sizes (64, 256, 512 KiB), where the tests that would take
 * quadratic time take the offsets around the end and a spread of sizes.
 */
static const unsigned int orders[] = { 0, 4, 6, 7 };
static unsigned int order;

static struct ntr_shared sh;
static uint8_t *data, *in, *out;
static struct ntr_ring P, C;
static uint32_t size, maxf;
static char sfx[16];	/* test name suffix: "" for one page, else "_256k" */

static void setup_at(uint32_t idx)
{
	ntr_shared_reset(&sh);
	if (!order)
		memset(data, 0xa5, size);
	ntr_init(&P, &sh, data, order, maxf);
	ntr_init(&C, &sh, data, order, maxf);
	/* start both ends at idx, as if idx bytes had gone through */
	sh.prod = sh.cons = idx;
	P.head = P.published = P.peer = idx;
	C.head = C.published = C.peer = idx;
}

static void pattern(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

/* send one frame of len, receive it, compare; NULL or what went wrong */
static const char *roundtrip(uint32_t len, uint32_t seed)
{
	uint32_t got;
	int err;

	pattern(in, len, seed);
	if ((err = ntr_send(&P, in, len)))
		return "send failed";
	ntr_push(&P);
	if ((err = ntr_recv(&C, out, maxf, &got)))
		return "recv failed";
	if (got != len || memcmp(in, out, len))
		return "frame corrupted";
	ntr_pull(&C);
	if (C.head != P.head)
		return "indices disagree";
	return NULL;
}

static void test_init(void)
{
	struct ntr_ring r;

	if (ntr_init(&r, &sh, data, NTR_MAX_ORDER + 1, 1) != -EINVAL ||
	    ntr_init(&r, &sh, data, order, size / 2) != -EINVAL ||
	    ntr_init(&r, &sh, data, order, 0) != -EINVAL ||
	    ntr_init(&r, &sh, data, order, ntr_max_frame_limit(order)))
		FAIL("ring_init%s: bad parameters accepted or good ones refused", sfx);
	else
		PASS("ring_init%s", sfx);
}

static void test_empty_full(void)
{
	const void *p;
	uint32_t len, n = 0, expect;
	uint8_t buf[100] = { 0 };
	int err;

	setup_at(0);
	if (ntr_peek(&C, &p, &len) != -EAGAIN || !ntr_cons_prepare_wait(&C)) {
		FAIL("ring_empty%s: empty ring not reported empty", sfx);
		return;
	}
	PASS("ring_empty%s", sfx);
	while ((err = ntr_send(&P, buf, sizeof(buf))) == 0)
		n++;
	expect = size / (NTR_HDR_SIZE + 104);
	if (err != -EAGAIN || n != expect) {
		FAIL("ring_full%s: %u frames fit, expected %u, err %d", sfx, n, expect, err);
		return;
	}
	ntr_push(&P);
	/* full: the producer may sleep, and is woken by the release that makes room */
	if (!ntr_prod_prepare_wait(&P, sizeof(buf))) {
		FAIL("ring_full%s: producer told not to sleep on a full ring", sfx);
		return;
	}
	if (ntr_recv(&C, buf, sizeof(buf), &len) || len != sizeof(buf) || !ntr_pull(&C)) {
		FAIL("ring_full%s: releasing one frame did not wake the producer", sfx);
		return;
	}
	if (ntr_send(&P, buf, sizeof(buf))) {
		FAIL("ring_full%s: no room after a release", sfx);
		return;
	}
	ntr_push(&P);
	for (len = 0; ntr_recv(&C, buf, sizeof(buf), &len) == 0; n--)
		;
	if (n != 0)
		FAIL("ring_full%s: %u frames missing", sfx, n);
	else
		PASS("ring_full%s (%u frames of 100 B in %u B)", sfx, expect, size);
}

static void test_every_offset(void)
{
	static const uint32_t lens[] = { 1, 7, 8, 9, 100, 1000, 2000 };
	uint32_t off, i, n = 0;
	const char *why;

	uint32_t first = order ? size - 2 * NTR_PAGE_SIZE : 0;

	for (off = first; off < size; off += NTR_ALIGN) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			/* and every length that lands exactly on, or just past, the end */
			uint32_t len = lens[i];

			setup_at(off);
			if ((why = roundtrip(len, off + i)) || (why = roundtrip(len + 1, off))) {
				FAIL("ring_wrap_every_offset%s: offset %u len %u: %s", sfx, off, len, why);
				return;
			}
			n += 2;
		}
		setup_at(off);
		if (size - off > NTR_HDR_SIZE && size - off - NTR_HDR_SIZE <= maxf &&
		    (why = roundtrip(size - off - NTR_HDR_SIZE, off))) {
			FAIL("ring_wrap_every_offset%s: offset %u exact fit: %s", sfx, off, why);
			return;
		}
	}
	PASS("ring_wrap_every_offset%s (%u offsets from %u, %u frames)", sfx, (size - first) / NTR_ALIGN,
	     first, n);
}

static void test_every_size(void)
{
	uint8_t buf[8];
	const char *why;
	uint32_t len;

	setup_at(0);
	/* Big rings: every size up to a page, then a spread, and the last ones. */
	for (len = 1; len <= maxf; len += !order || len < NTR_PAGE_SIZE || len > maxf - 16 ? 1 : 997) {
		if ((why = roundtrip(len, len))) {
			FAIL("ring_every_size%s: len %u: %s", sfx, len, why);
			return;
		}
	}
	if (ntr_send(&P, buf, 0) != -EMSGSIZE || ntr_send(&P, buf, maxf + 1) != -EMSGSIZE)
		FAIL("ring_every_size%s: 0 or max+1 bytes accepted", sfx);
	else
		PASS("ring_every_size%s (1..%u%s)", sfx, maxf, order ? ", by 997 above a page" : "");
}

static void test_index_wrap(void)
{
	const char *why;
	uint32_t i;

	setup_at(0u - 3 * size - 24);
	for (i = 0; i < 8 * size / 64; i++) {
		if ((why = roundtrip(1 + (i * 37) % 300, i))) {
			FAIL("ring_index_wrap_2^32%s: frame %u at %#x: %s", sfx, i, C.head, why);
			return;
		}
	}
	if (C.head > 5 * size)
		PASS("ring_index_wrap_2^32%s (index now %#x)", sfx, C.head);
	else
		FAIL("ring_index_wrap_2^32%s: index did not wrap (%#x)", sfx, C.head);
}

static void test_zero_copy(void)
{
	const void *q;
	uint32_t len, got;
	uint8_t *p;
	uint8_t small[4];

	setup_at(0);
	if (ntr_reserve(&P, 500, (void **)&p) || p < data || p + 500 > data + size) {
		FAIL("ring_zero_copy: reserve");
		return;
	}
	memset(p, 0x5a, 100);
	/* commit less than reserved: the frame is what was written */
	if (ntr_commit(&P, 100) || ntr_commit(&P, 100) != -EINVAL) {
		FAIL("ring_zero_copy: commit");
		return;
	}
	ntr_push(&P);
	if (ntr_recv(&C, small, sizeof(small), &got) != -EMSGSIZE || got != 100) {
		FAIL("ring_zero_copy: short buffer not refused");
		return;
	}
	if (ntr_peek(&C, &q, &len) || len != 100 || q != p || ((const uint8_t *)q)[99] != 0x5a) {
		FAIL("ring_zero_copy: peek does not see the frame in place");
		return;
	}
	ntr_release(&C);
	if (ntr_peek(&C, &q, &len) != -EAGAIN)
		FAIL("ring_zero_copy: frame delivered twice");
	else
		PASS("ring_zero_copy");
}

static void test_batching(void)
{
	uint8_t buf[64] = { 0 };
	uint32_t len, i;
	int kicks = 0;

	setup_at(0);
	/* a consumer that never asked: no notification at all */
	for (i = 0; i < 10; i++) {
		ntr_send(&P, buf, sizeof(buf));
		kicks += ntr_push(&P);
	}
	/* it drains, asks once; a batch of 10 frames then costs one notification */
	while (ntr_recv(&C, buf, sizeof(buf), &len) == 0)
		;
	ntr_pull(&C);
	if (kicks || !ntr_cons_prepare_wait(&C)) {
		FAIL("ring_batching: %d notifications to a busy consumer", kicks);
		return;
	}
	for (i = 0; i < 10; i++)
		ntr_send(&P, buf, sizeof(buf));
	kicks += ntr_push(&P);
	for (i = 0; i < 10; i++) {
		ntr_send(&P, buf, sizeof(buf));
		kicks += ntr_push(&P);
	}
	if (kicks != 1)
		FAIL("ring_batching: %d notifications for 20 frames to one sleeper", kicks);
	else
		PASS("ring_batching (20 frames, 1 notification)");
}

static void test_close(void)
{
	uint8_t buf[16] = { 0 };
	uint32_t len;

	setup_at(0);
	ntr_send(&P, buf, sizeof(buf));
	ntr_close(&P);
	if (ntr_recv(&C, buf, sizeof(buf), &len) || ntr_recv(&C, buf, sizeof(buf), &len) != -EPIPE ||
	    ntr_cons_prepare_wait(&C))
		FAIL("ring_close: frames before the close lost, or close not seen");
	else
		PASS("ring_close");
}

/* Each lie must mark the consumer broken, and stay broken. */
static void test_hostile_producer(void)
{
	struct ntr_frame_hdr *h = (struct ntr_frame_hdr *)data;
	const void *p;
	uint32_t len, i;
	int n = 0;
	uint8_t buf[8];
	static const char *names[] = {
		"prod more than a ring ahead", "prod misaligned", "prod backwards",
		"length beyond max", "length zero", "unknown flags", "frame past prod",
		"pad at start", "short pad", "frame crossing the end",
	};

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		setup_at(0);
		h->len = 16;
		h->flags = 0;
		sh.prod = 24;
		switch (i) {
		case 0: sh.prod = size + 8; break;
		case 1: sh.prod = 20; break;
		case 2:
			if (ntr_peek(&C, &p, &len))
				goto fail;
			sh.prod = 0u - 8;
			ntr_release(&C);
			break;
		case 3: h->len = maxf + 1; sh.prod = size; break;
		case 4: h->len = 0; break;
		case 5: h->flags = 2; break;
		case 6: h->len = 17; break;
		case 7: h->flags = NTR_FLAG_PAD; h->len = size - 8; sh.prod = size; break;
		case 8:
			setup_at(size - 64);
			h = (struct ntr_frame_hdr *)(data + size - 64);
			h->flags = NTR_FLAG_PAD;
			h->len = 48;
			sh.prod = size - 64 + 80;
			break;
		case 9:
			setup_at(size - 64);
			h = (struct ntr_frame_hdr *)(data + size - 64);
			h->len = 100;
			h->flags = 0;
			sh.prod = size - 64 + 112;
			break;
		}
		if (ntr_peek(&C, &p, &len) != -EPROTO || !ntr_broken(&C))
			goto fail;
		/* and it stays broken, whatever the peer does next */
		sh.prod = C.head;
		if (ntr_peek(&C, &p, &len) != -EPROTO || ntr_recv(&C, buf, 8, &len) != -EPROTO ||
		    ntr_cons_prepare_wait(&C) || ntr_pull(&C))
			goto fail;
		n++;
		h = (struct ntr_frame_hdr *)data;
	}
	PASS("ring_hostile_producer%s (%d lies, each declared broken)", sfx, n);
	return;
fail:
	FAIL("ring_hostile_producer%s: '%s' not detected", sfx, names[i]);
}

static void test_hostile_consumer(void)
{
	uint8_t buf[64] = { 0 };
	static const uint32_t lies[] = { 200, 4, 0u - 8 };
	uint32_t i;
	void *p;

	for (i = 0; i < 3; i++) {
		setup_at(0);
		while (ntr_send(&P, buf, sizeof(buf)) == 0)
			;
		ntr_push(&P);
		sh.cons = 72 * 3;	/* three frames consumed: fine */
		if (ntr_reserve(&P, 64, &p)) {
			FAIL("ring_hostile_consumer%s: honest release refused", sfx);
			return;
		}
		sh.cons = lies[i] == 200 ? P.published + 8 : lies[i];
		ntr_commit(&P, 64);
		while (ntr_send(&P, buf, sizeof(buf)) == 0)
			;
		if (ntr_reserve(&P, 64, &p) != -EPROTO || ntr_push(&P)) {
			FAIL("ring_hostile_consumer%s: cons=%#x accepted", sfx, sh.cons);
			return;
		}
	}
	PASS("ring_hostile_consumer%s (cons past prod, misaligned, backwards)", sfx);
}

/*
 * The wake-up protocol, model-checked: every interleaving of the producer's
 * and the consumer's steps, one step per shared-memory access, under
 * sequential consistency (which the full barriers in ntr_push/ntr_pull and the
 * prepare_wait functions provide).  Units are frames, the ring holds CAP.
 * The steps mirror ep_reserve/ep_peek in tunnel_test.h and the ring calls
 * they make.  A state where neither side can move before all frames are
 * through is a lost wake-up.  The checker must also find the bug in a variant
 * that sleeps without looking again (so we know it can find one).
 */
enum { P_TRY, P_PUSH, P_EV, P_WSET, P_WCHK, P_SLEEP, P_DONE };
enum { C_TRY, C_PULL, C_EV, C_WSET, C_WCHK, C_SLEEP, C_DONE };
#define CAP 2u
#define NFR 5u

struct mstate {
	uint8_t ppc, cpc;
	uint8_t prod, cons, prod_ev, cons_ev, bell_p, bell_c;	/* shared */
	uint8_t phead, ppub, pold, pcons, sent, wantwait_p;	/* producer's */
	uint8_t chead, cpub, cold, cprod, wantwait_c;		/* consumer's */
};

#define MBITS 21
static struct mstate *seen;	/* open addressing, exact: no state is skipped */
static uint8_t *used;
static unsigned long nstates;
static int norecheck;

/* true if s was already explored; otherwise remember it */
static bool visited(const struct mstate *s)
{
	uint32_t h = 2166136261u;
	const uint8_t *b = (const uint8_t *)s;

	for (size_t i = 0; i < sizeof(*s); i++)
		h = (h ^ b[i]) * 16777619u;
	for (h &= (1u << MBITS) - 1; used[h]; h = (h + 1) & ((1u << MBITS) - 1))
		if (!memcmp(&seen[h], s, sizeof(*s)))
			return true;
	if (++nstates >= (1u << MBITS) / 2)
		return true;	/* table full: reported as a failure by the caller */
	used[h] = 1;
	seen[h] = *s;
	return false;
}

static bool in_window(uint8_t ev, uint8_t old, uint8_t new)
{
	return (uint8_t)(new - ev) < (uint8_t)(new - old);
}

/* one producer step; false if it cannot move */
static bool pstep(struct mstate *s, int choice)
{
	switch (s->ppc) {
	case P_TRY:	/* ntr_reserve: read cons, commit if room */
		if (s->sent == NFR) {
			s->ppc = s->phead != s->ppub ? P_PUSH : P_DONE;
			return true;
		}
		s->pcons = s->cons;
		if ((uint8_t)(s->phead - s->pcons) < CAP) {
			s->phead++;
			s->sent++;
			/* batch: push now, or add another frame first */
			s->ppc = choice ? P_PUSH : P_TRY;
		} else {
			s->wantwait_p = 1;
			s->ppc = s->phead != s->ppub ? P_PUSH : P_WSET;
		}
		return true;
	case P_PUSH:	/* ntr_push: store prod */
		s->pold = s->ppub;
		s->prod = s->ppub = s->phead;
		s->ppc = P_EV;
		return true;
	case P_EV:	/* ntr_push, after the barrier: read prod_event */
		if (in_window(s->prod_ev, s->pold, s->ppub))
			s->bell_c = 1;
		s->ppc = s->wantwait_p ? P_WSET : P_TRY;
		return true;
	case P_WSET:	/* ntr_prod_prepare_wait: cons_event = cons that frees a slot */
		s->cons_ev = s->phead + 1 - CAP;
		s->ppc = norecheck == 2 ? P_SLEEP : P_WCHK;
		return true;
	case P_WCHK:	/* ... after the barrier: look at cons again */
		s->pcons = s->cons;
		s->ppc = (uint8_t)(s->phead - s->pcons) < CAP ? P_TRY : P_SLEEP;
		s->wantwait_p = 0;
		return true;
	case P_SLEEP:
		if (!s->bell_p)
			return false;
		s->bell_p = 0;
		s->wantwait_p = 0;
		s->ppc = P_TRY;
		return true;
	}
	return false;
}

static bool cstep(struct mstate *s, int choice)
{
	switch (s->cpc) {
	case C_TRY:	/* ntr_peek: read prod, take a frame if there is one */
		if (s->chead == NFR) {
			s->cpc = s->chead != s->cpub ? C_PULL : C_DONE;
			return true;
		}
		s->cprod = s->prod;
		if (s->cprod != s->chead) {
			s->chead++;
			s->cpc = choice ? C_PULL : C_TRY;
		} else {
			s->wantwait_c = 1;
			s->cpc = s->chead != s->cpub ? C_PULL : C_WSET;
		}
		return true;
	case C_PULL:	/* ntr_pull: store cons */
		s->cold = s->cpub;
		s->cons = s->cpub = s->chead;
		s->cpc = C_EV;
		return true;
	case C_EV:	/* ntr_pull, after the barrier: read cons_event */
		if (in_window(s->cons_ev, s->cold, s->cpub))
			s->bell_p = 1;
		s->cpc = s->wantwait_c ? C_WSET : C_TRY;
		return true;
	case C_WSET:	/* ntr_cons_prepare_wait: prod_event = cons + 1 */
		s->prod_ev = s->chead + 1;
		s->cpc = norecheck == 1 ? C_SLEEP : C_WCHK;
		return true;
	case C_WCHK:	/* ... after the barrier: look at prod again */
		s->cprod = s->prod;
		s->cpc = s->cprod != s->chead ? C_TRY : C_SLEEP;
		s->wantwait_c = 0;
		return true;
	case C_SLEEP:
		if (!s->bell_c)
			return false;
		s->bell_c = 0;
		s->wantwait_c = 0;
		s->cpc = C_TRY;
		return true;
	}
	return false;
}

/* depth-first over all interleavings; false on a reachable lost wake-up */
static bool explore(const struct mstate *s)
{
	bool moved = false;

	if (visited(s))
		return true;
	for (int who = 0; who < 2; who++) {
		for (int choice = 0; choice < 2; choice++) {
			struct mstate n = *s;

			if (!(who ? cstep(&n, choice) : pstep(&n, choice)))
				continue;
			moved = true;
			if (!explore(&n))
				return false;
		}
	}
	if (!moved && !(s->ppc == P_DONE && s->cpc == C_DONE))
		return false;
	return true;
}

static bool model_ok(int variant, unsigned long *states)
{
	struct mstate s;

	bool ok;

	memset(&s, 0, sizeof(s));
	memset(used, 0, 1u << MBITS);
	s.prod_ev = 1;	/* as after reset: the consumer wants the first frame */
	nstates = 0;
	norecheck = variant;
	ok = explore(&s);
	*states = nstates;
	return ok && nstates < (1u << MBITS) / 2;
}

static void test_wakeup_model(void)
{
	unsigned long n, n1, n2;

	seen = malloc(sizeof(*seen) << MBITS);
	used = malloc(1u << MBITS);
	if (!seen || !used) {
		FAIL("ring_no_lost_wakeup: no memory");
		return;
	}

	if (!model_ok(0, &n)) {
		FAIL("ring_no_lost_wakeup: lost wake-up found (after %lu states)", n);
		return;
	}
	PASS("ring_no_lost_wakeup (all interleavings, %u frames, ring of %u: %lu states)", NFR, CAP, n);
	if (model_ok(1, &n1) || model_ok(2, &n2))
		FAIL("ring_model_finds_bugs: sleeping without a second look went unnoticed");
	else
		PASS("ring_model_finds_bugs (no-recheck variants deadlock, as they should)");
	free(seen);
	free(used);
}

int main(void)
{
	for (unsigned int i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		order = orders[i];
		size = ntr_ring_bytes(order);
		maxf = ntr_max_frame_limit(order);
		snprintf(sfx, sizeof(sfx), order ? "_%uk" : "", size / 1024);
		data = malloc(size);	/* exactly the ring: ASan sees any byte outside it */
		in = malloc(maxf);
		out = malloc(maxf);
		memset(data, 0xa5, size);
		test_init();
		test_empty_full();
		test_every_offset();
		test_every_size();
		test_index_wrap();
		test_hostile_producer();
		test_hostile_consumer();
		if (!order) {
			/* independent of the size */
			test_zero_copy();
			test_batching();
			test_close();
		}
		free(data);
		free(in);
		free(out);
	}
	/* Counts frames, not bytes: one model for every ring size. */
	test_wakeup_model();
	return t_done();
}
