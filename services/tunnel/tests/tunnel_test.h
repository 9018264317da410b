/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What the userspace tests and the benchmark share: a tunnel in a memfd, and
 * an endpoint that waits the way the kernel glue will (poll the ring a little,
 * then ask for a notification and sleep), with an eventfd standing in for the
 * event channel and a pidfd standing in for XenStore noticing a dead peer.
 */
#ifndef NETSVC_TUNNEL_TEST_H
#define NETSVC_TUNNEL_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../shared/ring.h"

static int t_passed, t_failed;

#define PASS(...) do { printf("PASS " __VA_ARGS__); putchar('\n'); t_passed++; } while (0)
#define FAIL(...) do { printf("FAIL " __VA_ARGS__); putchar('\n'); t_failed++; } while (0)

static inline int t_done(void)
{
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}

struct tunnel_map {
	int fd;
	size_t len;
	unsigned int order;
};

static inline size_t tunnel_len(unsigned int order)
{
	return NTR_PAGE_SIZE + 2 * (size_t)ntr_ring_bytes(order);
}

static inline int tunnel_create(struct tunnel_map *t, unsigned int order)
{
	t->order = order;
	t->len = tunnel_len(order);
	t->fd = memfd_create("ntr", 0);
	if (t->fd < 0 || ftruncate(t->fd, t->len) < 0)
		return -1;
	return 0;
}

/* Each end maps the memfd itself: no pointer is shared, only offsets. */
static inline void *tunnel_map(const struct tunnel_map *t)
{
	void *p = mmap(NULL, t->len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct ep {
	struct ntr_ring tx, rx;
	int wake_fd;		/* readable: we were notified */
	int kick_fd;		/* the peer's wake_fd */
	int dead_fd;		/* readable: the peer is gone; -1 if unknown */
	unsigned int spin;	/* ring polls before sleeping */
	unsigned long kicks, sleeps;
	bool peer_dead;
};

/* side 0 sends on ring 0 and receives on ring 1; side 1 the reverse */
static inline int ep_init(struct ep *e, void *base, unsigned int order,
			  uint32_t max_frame, int side)
{
	struct ntr_ctl *ctl = base;
	uint8_t *d0 = (uint8_t *)base + NTR_PAGE_SIZE;
	uint8_t *d1 = d0 + ntr_ring_bytes(order);
	int err;

	memset(e, 0, sizeof(*e));
	e->dead_fd = -1;
	err = ntr_init(&e->tx, &ctl->ring[side], side ? d1 : d0, order, max_frame);
	if (!err)
		err = ntr_init(&e->rx, &ctl->ring[!side], side ? d0 : d1, order, max_frame);
	return err;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void ep_kick(struct ep *e)
{
	uint64_t one = 1;

	if (write(e->kick_fd, &one, sizeof(one)) == sizeof(one))
		e->kicks++;
}

/* 0 when notified, -1 when the peer is gone */
static inline int ep_sleep(struct ep *e)
{
	struct pollfd p[2] = { { e->wake_fd, POLLIN, 0 }, { e->dead_fd, POLLIN, 0 } };
	uint64_t v;

	e->sleeps++;
	for (;;) {
		if (poll(p, e->dead_fd >= 0 ? 2 : 1, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			if (read(e->wake_fd, &v, sizeof(v)) < 0)
				continue;
			return 0;
		}
		if (p[1].revents) {
			e->peer_dead = true;
			return -1;
		}
	}
}

static inline void ep_push(struct ep *e)
{
	if (ntr_push(&e->tx))
		ep_kick(e);
}

static inline void ep_pull(struct ep *e)
{
	if (ntr_pull(&e->rx))
		ep_kick(e);
}

/* Room for len bytes, waiting as long as it takes. */
static inline int ep_reserve(struct ep *e, uint32_t len, void **p)
{
	unsigned int spins = 0;
	int err;

	for (;;) {
		err = ntr_reserve(&e->tx, len, p);
		if (err != -EAGAIN)
			return err;
		ep_push(e);
		if (spins++ < e->spin) {
			cpu_relax();
			continue;
		}
		if (ntr_prod_prepare_wait(&e->tx, len)) {
			if (ep_sleep(e) < 0)
				return -EPIPE;
			spins = 0;
		}
	}
}

/*
 * Batching by bytes as well as by frames: publish once 16 KiB (at most a
 * quarter of the ring) is waiting, so that with big frames the other end
 * never idles while a "batch" is still private: one index store per 16 KiB
 * costs nothing, and the two ends overlap frame by frame.
 */
#define EP_BATCH_BYTES(size)	((size) / 4 < 16384 ? (size) / 4 : 16384)
static inline void ep_commit(struct ep *e, uint32_t len)
{
	ntr_commit(&e->tx, len);
	if (e->tx.head - e->tx.published >= EP_BATCH_BYTES(e->tx.size))
		ep_push(e);
}

static inline void ep_release(struct ep *e)
{
	ntr_release(&e->rx);
	if (e->rx.head - e->rx.published >= EP_BATCH_BYTES(e->rx.size))
		ep_pull(e);
}

static inline int ep_send(struct ep *e, const void *buf, uint32_t len)
{
	void *p;
	int err = ep_reserve(e, len, &p);

	if (err)
		return err;
	memcpy(p, buf, len);
	ep_commit(e, len);
	return 0;
}

/*
 * The next frame, waiting as long as it takes.  -EPIPE: the peer closed and
 * everything was delivered; -ECONNRESET: the peer died and what it had
 * published was delivered; -EPROTO: the peer is broken.
 */
static inline int ep_peek(struct ep *e, const void **p, uint32_t *len)
{
	unsigned int spins = 0;
	int err;

	for (;;) {
		err = ntr_peek(&e->rx, p, len);
		if (err != -EAGAIN)
			return err;
		if (e->peer_dead)
			return -ECONNRESET;
		ep_pull(e);
		if (spins++ < e->spin) {
			cpu_relax();
			continue;
		}
		if (ntr_cons_prepare_wait(&e->rx)) {
			ep_sleep(e);	/* a dead peer: one more look, then stop */
			spins = 0;
		}
	}
}

static inline int ep_recv(struct ep *e, void *buf, uint32_t buflen, uint32_t *len)
{
	const void *p;
	int err = ep_peek(e, &p, len);

	if (err)
		return err;
	if (*len > buflen)
		return -EMSGSIZE;
	memcpy(buf, p, *len);
	ep_release(e);
	return 0;
}

/* xorshift64*: cheap deterministic bytes for payloads and sizes */
static inline uint64_t xs64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif
