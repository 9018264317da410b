// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench_ring: throughput and ping-pong latency of the tunnel ring, one
 * process per end (pinned to CPUs 0 and 1), next to memcpy of the same sizes
 * and the kernel's local transports: a pipe, an AF_UNIX socketpair and TCP
 * over loopback.  Every figure is the median of ROUNDS runs (default 3).
 * Prints a table and BENCH lines (see bench/ring.sh).
 *
 * Throughput counts what a tunnel does: the sender copies each frame from its
 * own buffer in, the receiver copies it out to its own buffer.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include "tunnel_test.h"

enum { T_RING, T_PIPE, T_UNIX, T_TCP, T_NR };
static const char *tname[T_NR] = { "ring", "pipe", "unix", "tcp" };

/*
 * 1 MiB per direction: with 256 KiB (order 6) at most three 64 KiB frames
 * are in flight and the ends take turns rather than overlap (6.9 GB/s there
 * against 29.6 GB/s here, measured side by side).
 */
static unsigned int order = 8;
static unsigned int rounds = 3;
static unsigned int spin = 20000;	/* ring polls before sleeping */
static uint8_t *src, *dst;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* one end of a connection; a ring tunnel or a pair of file descriptors */
struct conn {
	int kind;
	struct ep ep;
	int rfd, wfd;
};

static int full_io(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int c_send(struct conn *c, const void *buf, uint32_t len, bool flush)
{
	if (c->kind != T_RING)
		return full_io(c->wfd, (void *)buf, len, true);
	if (ep_send(&c->ep, buf, len))
		return -1;
	if (flush)
		ep_push(&c->ep);
	return 0;
}

static int c_recv(struct conn *c, void *buf, uint32_t len, bool flush)
{
	uint32_t got;

	if (c->kind != T_RING)
		return full_io(c->rfd, buf, len, false);
	if (ep_recv(&c->ep, buf, len, &got) || got != len)
		return -1;
	if (flush)
		ep_pull(&c->ep);
	return 0;
}

/* Build both ends of a transport; end 0 stays here, end 1 goes to the child. */
static int make_pair(int kind, struct conn *a, struct conn *b, struct tunnel_map *tm)
{
	int p1[2], p2[2], sv[2], one = 1, big = 4 << 20;

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->kind = b->kind = kind;
	switch (kind) {
	case T_RING: {
		int ea = eventfd(0, 0), eb = eventfd(0, 0);
		void *base;

		if (tunnel_create(tm, order) || !(base = tunnel_map(tm)))
			return -1;
		ntr_shared_reset(&((struct ntr_ctl *)base)->ring[0]);
		ntr_shared_reset(&((struct ntr_ctl *)base)->ring[1]);
		if (ep_init(&a->ep, base, order, 65536, 0))
			return -1;
		a->ep.wake_fd = ea;
		a->ep.kick_fd = eb;
		a->ep.spin = spin;
		/* the child maps the memfd itself, see child_ring() */
		b->ep.wake_fd = eb;
		b->ep.kick_fd = ea;
		b->ep.spin = spin;
		return 0;
	}
	case T_PIPE:
		if (pipe(p1) || pipe(p2))
			return -1;
		fcntl(p1[1], F_SETPIPE_SZ, 1 << 20);
		fcntl(p2[1], F_SETPIPE_SZ, 1 << 20);
		a->wfd = p1[1], b->rfd = p1[0];
		b->wfd = p2[1], a->rfd = p2[0];
		return 0;
	case T_UNIX:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return -1;
		break;
	case T_TCP: {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t sl = sizeof(sin);
		int l = socket(AF_INET, SOCK_STREAM, 0);

		if (l < 0 || bind(l, (void *)&sin, sl) || listen(l, 1) ||
		    getsockname(l, (void *)&sin, &sl))
			return -1;
		sv[0] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(sv[0], (void *)&sin, sl) || (sv[1] = accept(l, NULL, NULL)) < 0)
			return -1;
		close(l);
		setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		break;
	}
	}
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	a->rfd = a->wfd = sv[0];
	b->rfd = b->wfd = sv[1];
	return 0;
}

static uint64_t frames_for(int kind, uint32_t size)
{
	uint64_t n = (1ull << 28) / size;	/* 256 MiB per run */
	uint64_t cap = kind == T_RING ? 5000000 : 200000;

	return n < cap ? n : cap;
}

/*
 * One measurement: fork the peer, wait until it is ready, time the transfer
 * (throughput: n frames one way, then a one-byte ack) or n round trips.
 * Returns seconds, or a negative value on failure.
 */
static double run(int kind, uint32_t size, uint64_t n, bool pingpong)
{
	struct tunnel_map tm = { .fd = -1 };
	struct conn a, b;
	int ctl[2], status;
	double t0, t1;
	char c = 0;
	pid_t pid;

	if (make_pair(kind, &a, &b, &tm) || pipe(ctl))
		return -1;
	pid = fork();
	if (pid == 0) {
		pin(1);
		if (kind == T_RING) {
			void *base = tunnel_map(&tm);
			int wake = b.ep.wake_fd, kick = b.ep.kick_fd;

			if (!base || ep_init(&b.ep, base, order, 65536, 1))
				_exit(1);
			b.ep.wake_fd = wake, b.ep.kick_fd = kick, b.ep.spin = spin;
		} else {
			close(a.rfd), close(a.wfd);
		}
		if (write(ctl[1], &c, 1) != 1)
			_exit(1);
		for (uint64_t i = 0; i < n; i++) {
			bool last = (i & 31) == 31 || i + 1 == n;

			if (c_recv(&b, dst, size, pingpong || last))
				_exit(2);
			if (pingpong && c_send(&b, dst, size, true))
				_exit(3);
		}
		if (write(ctl[1], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	pin(0);
	if (kind != T_RING)
		close(b.rfd), close(b.wfd);
	if (read(ctl[0], &c, 1) != 1)
		return -1;
	t0 = now();
	for (uint64_t i = 0; i < n; i++) {
		bool last = (i & 31) == 31 || i + 1 == n;

		if (c_send(&a, src, size, pingpong || last))
			goto fail;
		if (pingpong && c_recv(&a, dst, size, true))
			goto fail;
	}
	if (read(ctl[0], &c, 1) != 1)
		goto fail;
	t1 = now();
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	if (kind == T_RING)
		munmap(a.ep.tx.sh, tm.len), close(tm.fd), close(a.ep.wake_fd), close(a.ep.kick_fd);
	else
		close(a.rfd), close(a.wfd);
	close(ctl[0]), close(ctl[1]);
	return t1 - t0;
fail:
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/*
 * memcpy of size-byte blocks into a window the size of the ring: the
 * single-core, in-cache limit, the figure the ring is measured against.  With
 * a window far larger than the caches (cold) it is the memory-bound limit,
 * printed for context only.
 */
static double memcpy_gbps(uint32_t size, uint8_t *to, size_t win)
{
	uint64_t n = frames_for(T_RING, size), i;
	double t0 = now();
	size_t off = 0;

	for (i = 0; i < n; i++) {
		if (off + size > win)
			off = 0;
		memcpy(to + off, src, size);
		__asm__ volatile("" : : "r"(to) : "memory");
		off += (size + 63) & ~63u;
	}
	return n * (double)size / (now() - t0) / 1e9;
}

/*
 * The cross-core limit of what the ring does: the same two copies (sender's
 * buffer -> shared memory on CPU 0, shared memory -> receiver's buffer on
 * CPU 1) through slots of a shared area the size of the ring, each with a
 * full/empty flag on its own cache line, both ends polling.  No headers, no
 * index checks, no notifications: no transport between two processes can copy
 * faster.  Returns GB/s, or a negative value on failure.
 */
static double handoff_gbps(uint32_t size)
{
	uint32_t stride = (size + 63) & ~63u, nslot = ntr_ring_bytes(order) / stride;
	uint64_t n = frames_for(T_RING, size), i;
	size_t len = (size_t)nslot * (stride + 64);
	uint8_t *area = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint32_t *flag;
	int status;
	double t0, t1;
	pid_t pid;

	if (area == MAP_FAILED || !nslot)
		return -1;
	flag = (uint32_t *)(area + (size_t)nslot * stride);	/* flag[16 * slot] */
	memset(area, 0, len);
	pid = fork();
	if (pid == 0) {
		pin(1);
		for (i = 0; i < n; i++) {
			uint32_t k = i % nslot;

			while (!__atomic_load_n(&flag[16 * k], __ATOMIC_ACQUIRE))
				;
			memcpy(dst, area + (size_t)k * stride, size);
			__atomic_store_n(&flag[16 * k], 0, __ATOMIC_RELEASE);
		}
		_exit(0);
	}
	pin(0);
	t0 = now();
	for (i = 0; i < n; i++) {
		uint32_t k = i % nslot;

		while (__atomic_load_n(&flag[16 * k], __ATOMIC_ACQUIRE))
			;
		memcpy(area + (size_t)k * stride, src, size);
		__atomic_store_n(&flag[16 * k], 1, __ATOMIC_RELEASE);
	}
	/* the last frame is received when its slot is empty again */
	while (__atomic_load_n(&flag[16 * ((n - 1) % nslot)], __ATOMIC_ACQUIRE))
		;
	t1 = now();
	waitpid(pid, &status, 0);
	munmap(area, len);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return n * (double)size / (t1 - t0) / 1e9;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 1500, 9000, 65536 };
	double gbps[4][T_NR + 1], fps[4][T_NR], lat[T_NR + 1];
	double v[16], vh[16], vr[16], ratio_mc, ratio_tcp, ratio_lat, cold, handoff, ring_sbs, ratio_ho;
	size_t cold_win = 256u << 20, win;
	uint8_t *big;
	const char *only = argc > 1 ? argv[1] : NULL;
	unsigned int si, r;
	int k;

	if (getenv("ROUNDS"))
		rounds = atoi(getenv("ROUNDS"));
	if (getenv("RING_ORDER"))
		order = atoi(getenv("RING_ORDER"));
	if (rounds < 1 || rounds > 16)
		rounds = 3;
	if (order > NTR_MAX_ORDER) {
		fprintf(stderr, "bench_ring: RING_ORDER %u is above %u\n", order, NTR_MAX_ORDER);
		return 2;
	}
	/* dst doubles as the memcpy window of the ring's size */
	win = ntr_ring_bytes(order) > (1u << 20) ? ntr_ring_bytes(order) : 1u << 20;
	src = aligned_alloc(4096, 1 << 20);
	dst = aligned_alloc(4096, win);
	if (!src || !dst)
		return 1;
	memset(src, 0x5a, 1 << 20);
	memset(dst, 0, win);
	signal(SIGPIPE, SIG_IGN);
	(void)only;

	big = malloc(cold_win);
	if (!big)
		return 1;
	memset(big, 1, cold_win);
	pin(0);
	for (r = 0; r < rounds; r++)
		v[r] = memcpy_gbps(65536, big, cold_win);
	cold = median(v, rounds);
	free(big);
	/*
	 * The goal: the ring against the same two copies with nothing else,
	 * side by side (alternating, so that whatever else the machine does
	 * weighs on both), the median of the rounds' ratios.
	 */
	for (r = 0; r < rounds; r++) {
		uint64_t n = frames_for(T_RING, 65536);
		double t;

		vh[r] = handoff_gbps(65536);
		t = run(T_RING, 65536, n, false);
		if (vh[r] <= 0 || t <= 0) {
			fprintf(stderr, "bench_ring: the side-by-side handoff/ring run failed\n");
			return 1;
		}
		vr[r] = n * 65536.0 / t / 1e9;
		v[r] = vr[r] / vh[r];
	}
	ratio_ho = median(v, rounds);
	handoff = median(vh, rounds);
	ring_sbs = median(vr, rounds);
	for (si = 0; si < 4; si++) {
		pin(0);
		for (r = 0; r < rounds; r++)
			v[r] = memcpy_gbps(sizes[si], dst, ntr_ring_bytes(order));
		gbps[si][T_NR] = median(v, rounds);
		for (k = 0; k < T_NR; k++) {
			uint64_t n = frames_for(k, sizes[si]);

			for (r = 0; r < rounds; r++) {
				double t = run(k, sizes[si], n, false);

				if (t <= 0) {
					fprintf(stderr, "bench_ring: %s %u B failed\n", tname[k], sizes[si]);
					return 1;
				}
				v[r] = n / t;
			}
			fps[si][k] = median(v, rounds);
			gbps[si][k] = fps[si][k] * sizes[si] / 1e9;
		}
	}
	for (k = 0; k <= T_NR; k++) {
		unsigned int saved = spin;
		int kind = k == T_NR ? T_RING : k;
		uint64_t n = k == T_RING ? 100000 : 5000;

		if (k == T_NR)
			spin = 0;	/* the ring with no polling: every frame a wake-up */
		for (r = 0; r < rounds; r++) {
			double t = run(kind, 64, n, true);

			if (t <= 0) {
				fprintf(stderr, "bench_ring: ping-pong %s failed\n", tname[kind]);
				return 1;
			}
			v[r] = t / n * 1e6;
		}
		lat[k] = median(v, rounds);
		spin = saved;
	}

	printf("\nthroughput, one process per end (GB/s, Mframes/s in parentheses); medians of %u\n", rounds);
	printf("%-8s %9s %18s %18s %18s %18s %8s\n", "frame", "memcpy", "ring", "pipe", "unix", "tcp", "ring/mc");
	for (si = 0; si < 4; si++) {
		printf("%-8u %9.2f", sizes[si], gbps[si][T_NR]);
		for (k = 0; k < T_NR; k++)
			printf("  %7.2f (%7.3f)", gbps[si][k], fps[si][k] / 1e6);
		printf(" %8.2f\n", gbps[si][T_RING] / gbps[si][T_NR]);
	}
	printf("\nping-pong, 64 B, round trip (us): ring %.2f (polling), ring %.2f (wake-up per frame), "
	       "pipe %.2f, unix %.2f, tcp %.2f\n", lat[T_RING], lat[T_NR], lat[T_PIPE], lat[T_UNIX], lat[T_TCP]);

	ratio_mc = gbps[3][T_RING] / gbps[3][T_NR];
	ratio_tcp = gbps[3][T_RING] / gbps[3][T_TCP];
	ratio_lat = lat[T_UNIX] / lat[T_RING];
	printf("\nfor context: memcpy of 64 KiB blocks through a %zu MiB window (memory-bound): %.2f GB/s, "
	       "ring/that %.2f\n", cold_win >> 20, cold, gbps[3][T_RING] / cold);
	printf("the same two copies between the two CPUs with nothing else (slots and flags), "
	       "side by side with the ring: %.2f GB/s, ring %.2f GB/s\n", handoff, ring_sbs);
	printf("\n64 KiB: ring/handoff %.2f (target >= 0.9), ring/tcp %.1f (target >= 5); "
	       "ping-pong unix/ring %.1f (target > 1); ring/memcpy %.2f (in one core's cache: "
	       "no goal)\n", ratio_ho, ratio_tcp, ratio_lat, ratio_mc);
	for (si = 0; si < 4; si++) {
		const char *nm[] = { "64", "1500", "9000", "64k" };

		printf("BENCH ring_%s_gbps %.3f\n", nm[si], gbps[si][T_RING]);
		printf("BENCH ring_%s_mfps %.3f\n", nm[si], fps[si][T_RING] / 1e6);
		printf("BENCH memcpy_%s_gbps %.3f\n", nm[si], gbps[si][T_NR]);
		printf("BENCH tcp_%s_gbps %.3f\n", nm[si], gbps[si][T_TCP]);
	}
	printf("BENCH memcpy_64k_cold_gbps %.3f\n", cold);
	printf("BENCH handoff_64k_gbps %.3f\n", handoff);
	printf("BENCH ring_64k_handoff_ratio %.3f\n", ratio_ho);
	printf("BENCH ring_64k_sbs_gbps %.3f\n", ring_sbs);
	printf("BENCH handoff_64k_memcpy_ratio %.3f\n", handoff / gbps[3][T_NR]);
	printf("BENCH ring_pingpong_us %.3f\n", lat[T_RING]);
	printf("BENCH ring_pingpong_nopoll_us %.3f\n", lat[T_NR]);
	printf("BENCH unix_pingpong_us %.3f\n", lat[T_UNIX]);
	printf("BENCH ring_64k_memcpy_ratio %.3f\n", ratio_mc);
	printf("BENCH ring_64k_vs_tcp %.3f\n", ratio_tcp);
	printf("BENCH ring_pingpong_vs_unix %.3f\n", ratio_lat);
	return 0;
}
