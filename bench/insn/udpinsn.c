// SPDX-License-Identifier: GPL-2.0
/*
 * udpinsn: instructions per 64-byte UDP datagram from a network namespace
 * (the guest) to a socket in this one (Dom0), under bench/insn/insncount.c.
 *
 *   udpinsn [-r] [-n PACKETS] [-b BATCH] [-p PROFILE] OUT NETNS ADDR PORT
 *
 * The receiving socket (bound to ADDR) is opened here, then the process
 * enters NETNS and sends from there; with -r the other way round (Dom0 to
 * the guest).  One process, so the load is the same in every configuration.
 * A batch is bracketed by two markers and holds nothing but the sends; a
 * datagram's whole way (send, veth, the vif's hooks, IP, UDP, queueing on
 * the socket) runs in the sender's context on one CPU.  The receiving socket
 * is read between batches, outside the count, with a buffer large enough for
 * a batch: no datagram is dropped, no reader is woken.
 * Prints each batch's instructions per datagram and the total; with -p the
 * blocks executed during the batches are written to PROFILE ("address
 * instructions" lines).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "insnmark.h"

static void die(const char *what)
{
	fprintf(stderr, "udpinsn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: udpinsn [-r] [-n PACKETS] [-b BATCH] [-p PROFILE] OUT NETNS ADDR PORT\n");
	exit(2);
}

/* Datagrams waiting on @fd, read and counted. */
static long drain(int fd)
{
	char buf[2048];
	long n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	if (errno != EAGAIN)
		die("recv");
	return n;
}

static void send_n(int fd, long n)
{
	static const char payload[64];

	while (n--)
		if (send(fd, payload, sizeof(payload), 0) != sizeof(payload))
			die("send");
}

int main(int argc, char **argv)
{
	long packets = 10000, batch = 2000, done, b, got, lost = 0;
	const char *profile = NULL;
	uint64_t total = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int opt, out, rx, tx, ns, here, reverse = 0, rcvbuf = 64 << 20;
	FILE *prof = NULL;
	long pos = 0;

	while ((opt = getopt(argc, argv, "n:b:p:r")) != -1) {
		switch (opt) {
		case 'r': reverse = 1; break;
		case 'n': packets = atol(optarg); break;
		case 'b': batch = atol(optarg); break;
		case 'p': profile = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 4 || packets <= 0 || batch <= 0)
		usage();
	out = open(argv[optind], O_RDONLY);
	if (out < 0)
		die(argv[optind]);
	if (inet_pton(AF_INET, argv[optind + 2], &sa.sin_addr) != 1)
		usage();
	sa.sin_port = htons(atoi(argv[optind + 3]));
	if (profile && !(prof = fopen(profile, "w")))
		die(profile);

	ns = open(argv[optind + 1], O_RDONLY);
	here = open("/proc/self/ns/net", O_RDONLY);
	if (ns < 0 || here < 0)
		die(argv[optind + 1]);
	if (reverse && setns(ns, CLONE_NEWNET))
		die(argv[optind + 1]);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	if (rx < 0 || setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) ||
	    bind(rx, (struct sockaddr *)&sa, sizeof(sa)))
		die("receiving socket");
	if (setns(reverse ? here : ns, CLONE_NEWNET))
		die(argv[optind + 1]);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	if (tx < 0 || connect(tx, (struct sockaddr *)&sa, sizeof(sa)))
		die("sending socket");

	/* Resolve the neighbour, warm the caches and the allocators. */
	send_n(tx, 200);
	usleep(100000);
	drain(rx);

	for (done = 0; done < packets; done += b) {
		uint64_t c[2] = { 0, 0 }, seq[2] = { 0, 0 };
		off_t off;
		char *rec, *line;
		uint64_t psum = 0;
		int i = 0;

		b = packets - done < batch ? packets - done : batch;
		off = insn_out_end(out);
		if (off < 0)
			die("stat");
		insn_mark();
		send_n(tx, b);
		if (prof)
			insn_mark_profile();
		else
			insn_mark();
		rec = insn_out_read(out, off);
		if (!rec) {
			fprintf(stderr, "udpinsn: no record from the plugin (is it loaded?)\n");
			return 1;
		}
		/*
		 * The last two counts are this batch's (the file may have
		 * grown since the size was taken, never shrunk), and the
		 * profile lines after the last one are its blocks.
		 */
		for (line = strtok(rec, "\n"); line; line = strtok(NULL, "\n")) {
			unsigned long long a, n;

			if (sscanf(line, "C %llu %llu", &a, &n) == 2) {
				seq[0] = seq[1], c[0] = c[1];
				seq[1] = a, c[1] = n;
				i++;
				psum = 0;
				if (prof)
					fseek(prof, pos, SEEK_SET);
			} else if (line[0] == 'W') {
				fprintf(stderr, "udpinsn: the plugin warns: %s\n", line + 2);
			} else if (prof && sscanf(line, "P %llx %llu", &a, &n) == 2) {
				fprintf(prof, "%016llx %llu\n", a, n);
				psum += n;
			}
		}
		free(rec);
		if (i < 2 || seq[1] != seq[0] + 1 || (prof && psum != c[1] - c[0])) {
			fprintf(stderr, "udpinsn: unexpected records from the plugin (%d counts, %" PRIu64
				" in the profile, %" PRIu64 " counted)\n", i, psum, c[1] - c[0]);
			return 1;
		}
		if (prof) {
			fflush(prof);
			if (ftruncate(fileno(prof), ftell(prof)))
				die(profile);
			pos = ftell(prof);
		}
		got = drain(rx);
		lost += b - got;
		total += c[1] - c[0];
		printf("batch %ld %.1f\n", b, (double)(c[1] - c[0]) / b);
	}
	printf("packets %ld lost %ld insns %" PRIu64 " per_packet %.1f\n",
	       packets, lost, total, (double)total / packets);
	if (prof)
		fclose(prof);
	return lost ? 1 : 0;
}
