// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * test_stream MODE N [ORDER]: N frames of pseudo-random sizes, each carrying
 * its sequence number and a checksum, from one end of a tunnel to the other;
 * the receiver checks every frame (order, length, checksum) and the count.
 *
 *   proc    each end in its own process, eventfds as doorbells
 *   thread  the same with two threads (the ThreadSanitizer build)
 *   kill    the producer process is SIGKILLed mid-stream: the consumer must
 *           deliver what was published, notice the death and stop cleanly
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include "tunnel_test.h"

#define FRAME_MIN 16u	/* seq, checksum, length */
#ifndef VARIANT
#define VARIANT ""
#endif

static struct tunnel_map tm;
static uint32_t max_frame;

static uint32_t frame_len(uint64_t seq)
{
	uint64_t s = seq * 0x9E3779B97F4A7C15ULL + 1;
	uint64_t r = xs64(&s);

	/* mostly packet-sized, one in 32 anything up to the limit */
	if ((r & 31) == 0)
		return FRAME_MIN + (uint32_t)((r >> 8) % (max_frame - FRAME_MIN + 1));
	return FRAME_MIN + (uint32_t)((r >> 8) % 1500);
}

static uint32_t checksum(const uint8_t *p, uint32_t len)
{
	uint32_t h = 2166136261u;
	uint64_t w;
	uint32_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ (uint32_t)w ^ (uint32_t)(w >> 32)) * 16777619u;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void fill(uint8_t *p, uint64_t seq, uint32_t len)
{
	uint64_t s = seq | 1, w;
	uint32_t i, sum;

	for (i = FRAME_MIN; i + 8 <= len; i += 8) {
		w = xs64(&s);
		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)seq;
	sum = checksum(p + FRAME_MIN, len - FRAME_MIN);
	memcpy(p, &seq, 8);
	memcpy(p + 8, &sum, 4);
	memcpy(p + 12, &len, 4);
}

struct side {
	struct ep ep;
	uint64_t n;		/* frames to send or expect */
	uint64_t got;
	uint64_t stop_at;	/* consumer: return after this many frames */
	const char *err;
	int rc;
};

static void *producer(void *arg)
{
	struct side *s = arg;
	uint64_t seq;
	void *p;

	for (seq = 0; seq < s->n; seq++) {
		uint32_t len = frame_len(seq);

		s->rc = ep_reserve(&s->ep, len, &p);
		if (s->rc)
			return NULL;
		fill(p, seq, len);
		ntr_commit(&s->ep.tx, len);
		if ((seq & 63) == 63)
			ep_push(&s->ep);
	}
	if (ntr_close(&s->ep.tx))
		ep_kick(&s->ep);
	return NULL;
}

static void consume(struct side *s)
{
	const uint8_t *p;
	uint8_t buf[FRAME_MIN];
	uint32_t len, sum, hlen;
	uint64_t seq;

	while (s->got < s->stop_at) {
		s->rc = ep_peek(&s->ep, (const void **)&p, &len);
		if (s->rc)
			return;
		if (len < FRAME_MIN) {
			s->err = "frame too short";
			return;
		}
		memcpy(buf, p, FRAME_MIN);
		memcpy(&seq, buf, 8);
		memcpy(&sum, buf + 8, 4);
		memcpy(&hlen, buf + 12, 4);
		if (seq != s->got) {
			s->err = "frame out of order, lost or duplicated";
			return;
		}
		if (len != frame_len(seq) || hlen != len) {
			s->err = "wrong frame length";
			return;
		}
		if (checksum(p + FRAME_MIN, len - FRAME_MIN) != sum) {
			s->err = "bad checksum";
			return;
		}
		ntr_release(&s->ep.rx);
		s->got++;
		if ((s->got & 63) == 0)
			ep_pull(&s->ep);
	}
}

static int setup(struct side *a, struct side *b, void **base_a, void **base_b)
{
	int efd_a = eventfd(0, EFD_CLOEXEC), efd_b = eventfd(0, EFD_CLOEXEC);

	if (efd_a < 0 || efd_b < 0 || tunnel_create(&tm, tm.order) < 0)
		return -1;
	*base_a = tunnel_map(&tm);
	*base_b = tunnel_map(&tm);
	if (!*base_a || !*base_b)
		return -1;
	ntr_shared_reset(&((struct ntr_ctl *)*base_a)->ring[0]);
	ntr_shared_reset(&((struct ntr_ctl *)*base_a)->ring[1]);
	if (ep_init(&a->ep, *base_a, tm.order, max_frame, 0) ||
	    ep_init(&b->ep, *base_b, tm.order, max_frame, 1))
		return -1;
	a->ep.wake_fd = efd_a;
	a->ep.kick_fd = efd_b;
	b->ep.wake_fd = efd_b;
	b->ep.kick_fd = efd_a;
	a->ep.spin = b->ep.spin = 200;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct side a, b;
	const char *mode = argc > 1 ? argv[1] : "proc";
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 0) : 1000000;
	void *base_a, *base_b;
	char name[64];
	double t0 = now();
	pid_t pid;
	int status;

	tm.order = argc > 3 ? atoi(argv[3]) : 4;
	max_frame = ntr_max_frame_limit(tm.order);
	if (max_frame > 65536)
		max_frame = 65536;
	snprintf(name, sizeof(name), "stream_%s_%llu_%uk%s", mode, (unsigned long long)n,
		 ntr_ring_bytes(tm.order) / 1024, VARIANT);
	alarm(120);	/* a lost wake-up must fail, not hang make check */
	if (setup(&a, &b, &base_a, &base_b) < 0) {
		FAIL("%s: setup: %m", name);
		return t_done();
	}
	a.n = b.n = n;
	b.stop_at = UINT64_MAX;
	if (!strcmp(mode, "thread")) {
		pthread_t t;

		pthread_create(&t, NULL, producer, &a);
		consume(&b);
		pthread_join(t, NULL);
	} else {
		bool kill_it = !strcmp(mode, "kill");

		if (kill_it)
			a.n = UINT64_MAX;
		pid = fork();
		if (pid < 0) {
			FAIL("%s: fork: %m", name);
			return t_done();
		}
		if (pid == 0) {
			producer(&a);
			_exit(a.rc ? 1 : 0);
		}
		b.ep.dead_fd = syscall(SYS_pidfd_open, pid, 0);
		if (kill_it) {
			/* let it get going, then kill it with frames in flight */
			b.stop_at = n;
			consume(&b);
			usleep(20000);	/* the ring fills up behind our back */
			kill(pid, SIGKILL);
			b.stop_at = UINT64_MAX;
		}
		consume(&b);
		waitpid(pid, &status, 0);
		if (kill_it) {
			if (b.err)
				FAIL("%s: %s at frame %llu", name, b.err, (unsigned long long)b.got);
			else if (b.rc != -ECONNRESET)
				FAIL("%s: consumer stopped with %d, not on peer death", name, b.rc);
			else if (!WIFSIGNALED(status))
				FAIL("%s: producer was not killed", name);
			else if (b.got == n)
				FAIL("%s: nothing in flight when the producer died", name);
			else
				PASS("%s (%llu frames intact, %llu of them drained after the kill)",
				     name, (unsigned long long)b.got, (unsigned long long)(b.got - n));
			return t_done();
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			a.rc = -1;
	}
	if (b.err)
		FAIL("%s: %s at frame %llu", name, b.err, (unsigned long long)b.got);
	else if (a.rc)
		FAIL("%s: producer failed: %d", name, a.rc);
	else if (b.rc != -EPIPE)
		FAIL("%s: consumer stopped with %d (%s)", name, b.rc, ntr_why(&b.ep.rx));
	else if (b.got != n)
		FAIL("%s: %llu frames delivered", name, (unsigned long long)b.got);
	else
		PASS("%s (%.1f s, consumer slept %lu times)", name, now() - t0, b.ep.sleeps);
	return t_done();
}
