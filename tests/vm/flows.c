// SPDX-License-Identifier: GPL-2.0
/*
 * flows: many concurrent TCP connections, each checked end to end.
 *
 *   flows -s PORT N          server: accept N connections, read each to EOF,
 *                            close; print connections and bytes, exit
 *   flows -c ADDR PORT N HOLD client: open N connections at once, send
 *                            CHUNK bytes on each, print "open N", hold them
 *                            HOLD seconds, send CHUNK more and close, 256 at a
 *                            time (each batch once the last is acknowledged,
 *                            10 s at most); print how
 *                            many completed (the peer got both chunks:
 *                            it closes only at EOF, and we read that EOF)
 *
 * One process, non-blocking sockets and epoll, so 10,000 flows cost little
 * under an emulator.  Exit status 0 when every connection completed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 1000

static void nofile(long n)
{
	struct rlimit r = { .rlim_cur = (rlim_t)n + 64, .rlim_max = (rlim_t)n + 64 };

	if (setrlimit(RLIMIT_NOFILE, &r))
		perror("flows: setrlimit");
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int server(int port, long n)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct epoll_event ev, evs[256];
	long done = 0, bytes = 0;
	int l, ep, one = 1, i;
	char buf[4096];

	nofile(n);
	l = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 65535)) {
		perror("flows: listen");
		return 2;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = l;
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	while (done < n) {
		int k = epoll_wait(ep, evs, 256, 600000);

		if (k <= 0)
			break;
		for (i = 0; i < k; i++) {
			int fd = evs[i].data.fd;

			if (fd == l) {
				int c;

				while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			for (;;) {
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r > 0) {
					bytes += r;
					continue;
				}
				if (r == 0 || errno != EAGAIN) {
					close(fd);	/* drops it from the epoll set */
					done++;
				}
				break;
			}
		}
	}
	printf("server: %ld connections, %ld bytes\n", done, bytes);
	return done == n ? 0 : 1;
}

/*
 * Waits (10 s at most) until the peer has acknowledged all that was written
 * on fds[from..to], FIN included.  The guest's TCP runs in Dom0's kernel here:
 * 10,000 sockets writing at one instant overflow the CPUs' shared backlog,
 * and a socket with nothing in flight whose segment the veth refuses gives
 * up after 15 refusals 500 ms apart (tcp_probe_timer), ack attached or not.
 */
static void drain(const int *fds, long from, long to)
{
	double t = now();
	long i;

	for (i = from; i <= to && now() - t < 10; ) {
		int q = 0;

		if (fds[i] < 0 || ioctl(fds[i], SIOCOUTQ, &q) || q == 0)
			i++;
		else
			usleep(10000);
	}
}

static int client(const char *addr, int port, long n, int hold)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct epoll_event ev, evs[256];
	long opened = 0, completed = 0, failed = 0, i;
	char chunk[CHUNK], buf[256], *up;
	int *fds, ep;
	double t;

	nofile(n);
	inet_pton(AF_INET, addr, &a.sin_addr);
	memset(chunk, 'x', sizeof(chunk));
	fds = calloc(n, sizeof(*fds));
	up = calloc(n, 1);
	ep = epoll_create1(0);
	/* a peer's reset must cost one connection, not the process */
	signal(SIGPIPE, SIG_IGN);
	/* Connect in batches of 256, so the listener's backlog keeps up. */
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0 || (connect(fds[i], (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)) {
			perror("flows: connect");
			return 2;
		}
		ev.events = EPOLLOUT;
		ev.data.u64 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
		if (i % 256 == 255 || i == n - 1) {
			t = now();
			while (opened + failed <= i && now() - t < 120) {
				int k = epoll_wait(ep, evs, 256, 1000), j;

				for (j = 0; j < k; j++) {
					int fd = fds[evs[j].data.u64], e = 0;
					socklen_t el = sizeof(e);

					getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					if (!e && write(fd, chunk, CHUNK) != CHUNK)
						e = errno;
					if (!e) {
						up[evs[j].data.u64] = 1;
						opened++;
						continue;
					}
					/* say why, and leave the socket out of what follows */
					if (failed++ < 5)
						fprintf(stderr, "flows: connection %lu: %s\n",
							(unsigned long)evs[j].data.u64, strerror(e));
					close(fd);
					fds[evs[j].data.u64] = -1;
				}
			}
		}
	}
	/* a connection still pending after its batch's 120 s failed too */
	for (i = 0; i < n; i++) {
		if (fds[i] < 0 || up[i])
			continue;
		if (failed++ < 5)
			fprintf(stderr, "flows: connection %ld: not open after 120 s\n", i);
		close(fds[i]);
		fds[i] = -1;
	}
	printf("open %ld\n", opened);
	fflush(stdout);
	sleep(hold);
	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;	/* counted as failed already */
		if (write(fds[i], chunk, CHUNK) != CHUNK || shutdown(fds[i], SHUT_WR)) {
			failed++;
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		ev.events = EPOLLIN;
		ev.data.u64 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
		/* in batches of 256, as the connects */
		if (i % 256 == 255)
			drain(fds, i - 255, i);
	}
	t = now();
	while (completed + failed < n && now() - t < 300) {
		int k = epoll_wait(ep, evs, 256, 1000), j;

		for (j = 0; j < k; j++) {
			int fd = fds[evs[j].data.u64];
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;	/* the server sends nothing: unexpected, keep reading */
			if (r == 0) {
				completed++;
			} else if (failed++ < 5) {
				fprintf(stderr, "flows: connection %lu: %s\n",
					(unsigned long)evs[j].data.u64, strerror(errno));
			}
			close(fd);
		}
	}
	printf("client: %ld opened, %ld completed, %ld failed\n", opened, completed, failed);
	return completed == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "-s"))
		return server(atoi(argv[2]), atol(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "-c"))
		return client(argv[2], atoi(argv[3]), atol(argv[4]), atoi(argv[5]));
	fprintf(stderr, "usage: flows -s PORT N | flows -c ADDR PORT N HOLD\n");
	return 2;
}
