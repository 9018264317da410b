// SPDX-License-Identifier: GPL-2.0
/*
 * tcpkick IFACE DPORT: make a flow through ack fall back, on purpose.
 *
 * Waits for the next IPv4 TCP data segment IFACE sends to DPORT, then sends
 * on IFACE a pure ACK of the same connection whose sequence number lies a
 * quarter of the sequence space ahead: a stream no TCP sender produces, which
 * ack's core answers by handing the flow back to end-to-end TCP (fallbacks).
 * The receiver answers it with a duplicate ACK and nothing else happens: the
 * data of the connection is untouched.  Prints the sequence numbers it used.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t sum16(const void *p, size_t n, uint32_t s)
{
	const uint8_t *b = p;

	for (; n > 1; n -= 2, b += 2)
		s += (uint32_t)b[0] << 8 | b[1];
	if (n)
		s += (uint32_t)b[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

int main(int argc, char **argv)
{
	uint8_t f[65536], out[14 + 60 + 60];
	/*
	 * ETH_P_ALL: what a host sends itself reaches only the packet sockets
	 * of every protocol (dev_queue_xmit_nit() walks ptype_all alone); one
	 * bound to ETH_P_IP never sees an outgoing segment, and waited for
	 * one until its timeout, kicking nothing.
	 */
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct sockaddr_ll to;
	socklen_t sl;
	int fd, port, tries;

	if (argc != 3) {
		fprintf(stderr, "Usage: tcpkick IFACE DPORT\n");
		return 2;
	}
	port = atoi(argv[2]);
	sll.sll_ifindex = if_nametoindex(argv[1]);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (!sll.sll_ifindex || fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("tcpkick");
		return 1;
	}
	for (tries = 0; tries < 100000; tries++) {
		struct sockaddr_ll from;
		struct iphdr *ip = (struct iphdr *)(f + 14);
		struct tcphdr *th;
		ssize_t n;
		size_t ihl, thl, len;
		uint32_t s;

		sl = sizeof(from);
		n = recvfrom(fd, f, sizeof(f), 0, (struct sockaddr *)&from, &sl);
		if (n < 14 + 20 + 20 || from.sll_pkttype != PACKET_OUTGOING ||
		    from.sll_protocol != htons(ETH_P_IP))
			continue;
		ihl = ip->ihl * 4u;
		if (ip->version != 4 || ip->protocol != IPPROTO_TCP || ihl < 20 ||
		    (size_t)n < 14 + ihl + 20)
			continue;
		th = (struct tcphdr *)(f + 14 + ihl);
		thl = th->doff * 4u;
		if (ntohs(th->dest) != port || thl < 20 || (size_t)n < 14 + ihl + thl ||
		    ntohs(ip->tot_len) <= ihl + thl || th->syn || th->fin || th->rst)
			continue;
		/* the segment's headers, without its data and TCP options */
		memcpy(out, f, 14 + ihl + 20);
		ip = (struct iphdr *)(out + 14);
		th = (struct tcphdr *)(out + 14 + ihl);
		printf("tcpkick: data at seq %u, sending an ACK at seq %u\n", ntohl(th->seq),
		       ntohl(th->seq) + 0x40000000u);
		th->seq = htonl(ntohl(th->seq) + 0x40000000u);
		th->doff = 5;
		th->psh = 0;
		th->check = 0;
		len = ihl + 20;
		ip->tot_len = htons(len);
		ip->check = 0;
		ip->check = fold(sum16(ip, ihl, 0));
		s = sum16(&ip->saddr, 8, IPPROTO_TCP + 20);
		th->check = fold(sum16(th, 20, s));
		to = sll;
		to.sll_protocol = htons(ETH_P_IP);
		if (sendto(fd, out, 14 + len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			perror("tcpkick: sendto");
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "tcpkick: no data segment to port %d seen\n", port);
	return 1;
}
