// SPDX-License-Identifier: GPL-2.0
/*
 * bench_flows: what the number of tracked flows costs the core per packet.
 * For each table size, N flows are opened (handshake and 1000 bytes kept
 * each), then one flow's data segment and its ACK go through
 * ack_core_segment() followed by what the glue (services/ack/ack.c) asks
 * before arming its timer after every call: ack_core_deadline_hint(), and
 * side by side the walk over every flow it asked for until 2026-12-05
 * (ack_core_next_deadline()).  A third column runs the hint with a vif
 * budget the flows' windows fill (N x 1000 bytes kept + 1000 free, the
 * receivers' windows 64 KiB), so that windows are held back by it (about
 * half the flows wait for room, the count is printed) and every ACK frees
 * room to offer: until 2026-12-06 that offer walked every flow (measured
 * then, side by side: 7.6, 76 and 336 us a packet at 1000, 4096 and 9000
 * flows; the receivers' windows were 502 bytes until the budget floors came,
 * which left no flow waiting).  Prints microseconds per packet and "BENCH ack_pkt_us_<N>" (hint), "BENCH ack_pkt_walk_us_<N>" and
 * "BENCH ack_pkt_tight_us_<N>" lines; medians of ROUNDS (default 5) rounds
 * of 2000 packets.  Then the timer: microseconds per ack_core_timer() call
 * ("BENCH ack_timer_us_<N>"), which walked every flow twice until 2026-12-06.
 */
#include <time.h>
#include "harness.h"
#include "../ack_int.h"	/* to say how many flows wait for room */

static struct harness H;
static u16 WIN = 502;		/* the receivers' windows, raw */

static struct ack_seg mk(int dir, u8 flags, u16 gport, u32 seq, u32 ack, u32 len)
{
	struct ack_key key = { .family = 2, .gaddr = { 10, 0, 0, 2 },
			       .raddr = { 192, 0, 2, 1 }, .gport = gport, .rport = 80 };

	return harness_seg(&key, dir, flags, seq, ack, WIN, len);
}

static void go(struct ack_core *c, const struct ack_seg *s, u64 now)
{
	struct ack_rewrite rw;

	H.nout = 0;
	ack_core_segment(c, s, now, &rw);
}

/*
 * Opens @n flows (ports 10000 up), each a handshake and 1000 bytes from the
 * guest kept; @step ns apart.  Returns the time after the last.
 */
static u64 open_flows(struct ack_core *c, int n, u64 now, u64 step)
{
	int i;

	for (i = 0; i < n; i++, now += step) {
		u16 p = 10000 + i;
		struct ack_seg s;

		s = mk(ACK_FROM_GUEST, ACK_TCP_SYN, p, 1000, 0, 0);
		s.has_mss = 1;
		s.mss = 1460;
		go(c, &s, now);
		s = mk(ACK_TO_GUEST, ACK_TCP_SYN | ACK_TCP_ACK, p, 5000, 1001, 0);
		s.has_mss = 1;
		s.mss = 1460;
		go(c, &s, now);
		s = mk(ACK_FROM_GUEST, ACK_TCP_ACK, p, 1001, 5001, 0);
		go(c, &s, now);
		s = mk(ACK_FROM_GUEST, ACK_TCP_ACK, p, 1001, 5001, 1000);
		go(c, &s, now);
	}
	return now;
}

static u32 WAITING;		/* flows waiting for room after the tight set-up */

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Microseconds per packet with @n flows open, median of @rounds.  @tight:
 * a vif budget the flows' windows fill, so windows are limited by it and an
 * ACK that frees memory offers the other flows their windows again.
 */
static double per_packet(int n, int rounds, bool walk, bool tight)
{
	struct ack_env env = harness_env(&H);
	struct ack_config cfg;
	struct ack_core *c;
	struct timespec a, b;
	double v[16];
	volatile u64 sink = 0;
	u64 now = 1000000;
	u32 seq = 2001;
	int i, r;

	ack_core_config_default(&cfg);
	cfg.flow_limit = n + 1;
	cfg.vif_budget = tight ? (u64)n * 1000 + 1000 : 1ull << 34;
	c = ack_core_create(&env, &cfg);
	if (!c)
		return -1;
	/* tight: receivers' windows larger than the budget, so it binds */
	WIN = tight ? 65535 : 502;
	open_flows(c, n, now, 0);
	if (tight)
		WAITING = c->nwaiting;
	for (r = 0; r < rounds; r++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (i = 0; i < 2000; i++) {
			/* 100-byte segments of the first flow, acknowledged as they go */
			struct ack_seg s = mk(ACK_FROM_GUEST, ACK_TCP_ACK, 10000, seq, 5001, 100);

			go(c, &s, now);
			sink += walk ? ack_core_next_deadline(c) : ack_core_deadline_hint(c);
			s = mk(ACK_TO_GUEST, ACK_TCP_ACK, 10000, 5001, seq + 100, 0);
			go(c, &s, now);
			sink += walk ? ack_core_next_deadline(c) : ack_core_deadline_hint(c);
			seq += 100;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		/* two packets per iteration */
		v[r] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 4000 / 1e3;
	}
	ack_core_destroy(c);
	qsort(v, rounds, sizeof(v[0]), cmp);
	return v[rounds / 2];
}

/*
 * Microseconds per timer call with @n flows open, each with 1000 bytes kept
 * and its retransmission timer running, the flows opened 100 us apart (their
 * deadlines spread as a busy vif's are): one call per 4 ms (the glue's timer
 * runs on jiffies) over 2 s, median of @rounds.
 */
static double per_tick(int n, int rounds)
{
	struct ack_env env = harness_env(&H);
	struct ack_config cfg;
	struct ack_core *c;
	struct timespec a, b;
	double v[16];
	u64 now = 1000000;
	int i, r;

	ack_core_config_default(&cfg);
	cfg.flow_limit = n + 1;
	cfg.retry_limit = 1000;
	c = ack_core_create(&env, &cfg);
	if (!c)
		return -1;
	now = open_flows(c, n, now, 100000);
	for (r = 0; r < rounds; r++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (i = 0; i < 500; i++) {
			now += 4000000;
			H.nout = 0;
			ack_core_timer(c, now);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		v[r] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 500 / 1e3;
	}
	ack_core_destroy(c);
	qsort(v, rounds, sizeof(v[0]), cmp);
	return v[rounds / 2];
}

int main(void)
{
	static const int sizes[] = { 10, 1000, 4096, 9000 };
	const char *e = getenv("ROUNDS");
	int rounds = e ? atoi(e) : 5;
	double us[4], walk[4], tight[4], tick[4];
	unsigned int i;

	if (rounds < 1 || rounds > 16)
		rounds = 5;
	printf("flows   us/packet (hint)  vs 10 flows   us/packet (walk)  vs 10 flows"
	       "   us/packet (vif budget full)  vs 10 flows\n");
	for (i = 0; i < 4; i++) {
		us[i] = per_packet(sizes[i], rounds, false, false);
		walk[i] = per_packet(sizes[i], rounds, true, false);
		tight[i] = per_packet(sizes[i], rounds, false, true);
		tick[i] = per_tick(sizes[i], rounds);
		if (us[i] < 0 || walk[i] < 0 || tight[i] < 0 || tick[i] < 0) {
			fprintf(stderr, "bench_flows: no core for %d flows\n", sizes[i]);
			return 1;
		}
		printf("%5d %17.2f %12.1f %18.2f %12.1f %29.2f %12.1f  (%u waiting)\n", sizes[i],
		       us[i], us[i] / us[0], walk[i], walk[i] / walk[0], tight[i],
		       tight[i] / tight[0], WAITING);
	}
	printf("\nflows   us per timer call (every 4 ms, each flow's RTO running)  vs 10 flows\n");
	for (i = 0; i < 4; i++)
		printf("%5d %58.2f %12.1f\n", sizes[i], tick[i], tick[i] / tick[0]);
	for (i = 0; i < 4; i++)
		printf("BENCH ack_pkt_us_%d %.3f\nBENCH ack_pkt_walk_us_%d %.3f\n"
		       "BENCH ack_pkt_tight_us_%d %.3f\nBENCH ack_timer_us_%d %.3f\n",
		       sizes[i], us[i], sizes[i], walk[i], sizes[i], tight[i], sizes[i], tick[i]);
	printf("BENCH ack_pkt_9000_vs_10_ratio %.2f\n", us[3] / us[0]);
	printf("BENCH ack_pkt_tight_9000_vs_10_ratio %.2f\n", tight[3] / tight[0]);
	return 0;
}
