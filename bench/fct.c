// SPDX-License-Identifier: GPL-2.0
/*
 * fct: flow completion time of one TCP transfer, without the emulator's
 * process start-up in it (bench/ack.sh, row fct).
 *
 *   fct -s PORT            receiver: accept one connection, copy it to stdout
 *                          until EOF, print on stderr when the kernel received
 *                          its first and its last data byte
 *   fct -c ADDR PORT FILE  sender: print on stderr the time just before
 *                          connect(), send FILE, close
 *
 * Times are CLOCK_REALTIME seconds, the clock of the kernel's receive
 * timestamps (SO_TIMESTAMPNS), so "last" minus the sender's "start" is the
 * time from the SYN to the last byte at the receiver, however late either
 * process was scheduled before or after.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double ts(const struct timespec *t)
{
	return t->tv_sec + t->tv_nsec / 1e9;
}

static double wall(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ts(&t);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

static int receiver(const char *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(atoi(port)) };
	static char buf[1 << 16];
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	double first = 0, last = 0;
	long long bytes = 0;
	int l, s, one = 1;

	/*
	 * Timestamps on the listener: the kernel starts stamping every packet
	 * (a deferred static key) well before the connection arrives, and the
	 * accepted socket inherits the option.
	 */
	l = socket(AF_INET6, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(l, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1)) {
		perror("fct: listen");
		return 1;
	}
	s = accept(l, NULL, NULL);
	if (s < 0) {
		perror("fct: accept");
		return 1;
	}
	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(s, &m, 0);

		if (n < 0) {
			perror("fct: recvmsg");
			return 1;
		}
		if (!n)
			break;
		/* the arrival of the newest segment this read returned */
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec t;

				memcpy(&t, CMSG_DATA(c), sizeof(t));
				last = ts(&t);
				if (!first)
					first = last;
			}
		bytes += n;
		if (write_all(1, buf, n)) {
			perror("fct: write");
			return 1;
		}
	}
	fprintf(stderr, "first %.6f last %.6f eof %.6f bytes %lld\n", first, last, wall(), bytes);
	return 0;
}

/*
 * The file is read first and goes in one write, so that neither the disk
 * nor the process's turns on the emulated CPUs decide, between pieces, what
 * the socket has to send.
 */
static int sender(const char *addr, const char *port, const char *file)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	double start;
	ssize_t n;
	int fd, s;

	fd = open(file, O_RDONLY);
	if (!buf || fd < 0 || getaddrinfo(addr, port, &hints, &ai)) {
		perror("fct: open or address");
		return 1;
	}
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += n;
		if (len == cap && !(buf = realloc(buf, cap *= 2))) {
			perror("fct: realloc");
			return 1;
		}
	}
	s = socket(ai->ai_family, SOCK_STREAM, 0);
	if (n < 0 || s < 0) {
		perror("fct: read or socket");
		return 1;
	}
	start = wall();
	if (connect(s, ai->ai_addr, ai->ai_addrlen) || write_all(s, buf, len) || close(s)) {
		perror("fct: connect, send or close");
		return 1;
	}
	fprintf(stderr, "start %.6f\n", start);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "-s"))
		return receiver(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "-c"))
		return sender(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: fct -s PORT | fct -c ADDR PORT FILE\n");
	return 2;
}
