// SPDX-License-Identifier: GPL-2.0
/*
 * rr: TCP request/response round trips over one connection, the way
 * netperf's TCP_RR measures them, for the test guests (which have only
 * busybox and iperf3).
 *
 *   rr -s PORT [-b USEC]                   echo server, one connection at a time
 *   rr -c IP PORT [-n COUNT] [-m SIZE] [-b USEC] [-g MSEC]
 *
 * The client sends SIZE bytes, waits for the same SIZE bytes back, COUNT
 * times, checks every byte of every answer, and prints
 *   rr count N size S min_us A median_us B p90_us C max_us D
 * -b USEC turns on socket busy polling (SO_BUSY_POLL): a read spins on the
 * receiving NAPI context for up to USEC microseconds before it sleeps.
 * -g MSEC pauses between round trips (light load: both ends fall idle).
 * Exit status 1 on any error or wrong answer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RR_MAX_SIZE	65536
#define RR_WARMUP	10

static void die(const char *what)
{
	fprintf(stderr, "rr: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: rr -s PORT [-b USEC]\n"
			"       rr -c IP PORT [-n COUNT] [-m SIZE] [-b USEC] [-g MSEC]\n");
	exit(1);
}

static unsigned long number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "rr: bad number '%s' (at most %lu)\n", s, max);
		exit(1);
	}
	return v;
}

/* Socket options both ends want: no Nagle, busy polling if asked. */
static void tune(int fd, int busy_us)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");
	if (busy_us && setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &busy_us, sizeof(busy_us)))
		die("SO_BUSY_POLL");
}

/* 1 when all of len arrived, 0 on an orderly end before any byte. */
static int read_full(int fd, unsigned char *p, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0 && got) {
			fprintf(stderr, "rr: connection ended mid-message\n");
			exit(1);
		}
		if (n == 0)
			return 0;
		got += n;
	}
	return 1;
}

static void write_full(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("write");
		p += n;
		len -= n;
	}
}

static void __attribute__((noreturn)) serve(unsigned short port, int busy_us)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	static unsigned char buf[RR_MAX_SIZE];
	int one = 1, ls, fd;
	ssize_t n;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4))
		die("bind/listen");
	for (;;) {
		fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		tune(fd, busy_us);
		/* Echo whatever comes, as it comes: the client counts the bytes. */
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			write_full(fd, buf, n);
		close(fd);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int client(const char *ip, unsigned short port, unsigned long count,
		  size_t size, int busy_us, unsigned long gap_ms)
{
	struct timespec gap = { .tv_sec = gap_ms / 1000, .tv_nsec = gap_ms % 1000 * 1000000 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	static unsigned char req[RR_MAX_SIZE], resp[RR_MAX_SIZE];
	unsigned long i, j;
	double *lat, t0;
	int fd;

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "rr: bad address '%s'\n", ip);
		return 1;
	}
	lat = calloc(count, sizeof(*lat));
	if (!lat)
		die("calloc");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	tune(fd, busy_us);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	for (i = 0; i < count + RR_WARMUP; i++) {
		/* Each request differs, so a stale or misplaced answer shows. */
		for (j = 0; j < size; j++)
			req[j] = (unsigned char)(i * 131 + j * 7 + 1);
		if (gap_ms)
			nanosleep(&gap, NULL);
		t0 = now_us();
		write_full(fd, req, size);
		if (!read_full(fd, resp, size)) {
			fprintf(stderr, "rr: server closed after %lu round trips\n", i);
			return 1;
		}
		if (i >= RR_WARMUP)
			lat[i - RR_WARMUP] = now_us() - t0;
		if (memcmp(req, resp, size)) {
			fprintf(stderr, "rr: answer %lu differs from its request\n", i);
			return 1;
		}
	}
	close(fd);
	qsort(lat, count, sizeof(*lat), cmp_double);
	printf("rr count %lu size %zu min_us %.1f median_us %.1f p90_us %.1f max_us %.1f\n",
	       count, size, lat[0], lat[count / 2], lat[count * 9 / 10], lat[count - 1]);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long count = 1000, size = 64, gap_ms = 0, port;
	int busy_us = 0, i;

	if (argc >= 3 && !strcmp(argv[1], "-s")) {
		port = number(argv[2], 65535);
		for (i = 3; i + 1 < argc && !strcmp(argv[i], "-b"); i += 2)
			busy_us = number(argv[i + 1], 1000000);
		if (i != argc)
			usage();
		serve(port, busy_us);
	}
	if (argc < 4 || strcmp(argv[1], "-c"))
		usage();
	port = number(argv[3], 65535);
	for (i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			count = number(argv[i + 1], 10000000);
		else if (!strcmp(argv[i], "-m"))
			size = number(argv[i + 1], RR_MAX_SIZE);
		else if (!strcmp(argv[i], "-b"))
			busy_us = number(argv[i + 1], 1000000);
		else if (!strcmp(argv[i], "-g"))
			gap_ms = number(argv[i + 1], 60000);
		else
			usage();
	}
	if (i != argc || !count || !size)
		usage();
	return client(argv[2], port, count, size, busy_us, gap_ms);
}
