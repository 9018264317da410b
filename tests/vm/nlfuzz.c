// SPDX-License-Identifier: GPL-2.0
/*
 * nlfuzz: randomized generic netlink requests to family "netsvc", over a raw
 * NETLINK_GENERIC socket (no libnl: malformed messages are the point).
 *
 *   nlfuzz [-u] [-n COUNT] [-s SEED] IFNAME...
 *
 * Messages mix real names (services, parameters, the given devices and their
 * ifindexes) with random commands, attribute types, nesting, lengths that
 * overrun their parent, strings without a NUL and huge integers.  With -u the
 * program first becomes nobody; then every ATTACH, DETACH or SET with a
 * complete genetlink header must fail with EPERM, and any other answer is a
 * violation (exit 1).  Prints one summary line of answers by errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/netsvc.h>

#define BUF 8192

static uint64_t rng;
static uint32_t rnd(void)
{
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}
static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }

static const char *const words[] = {
	"acct", "police", "ack", "null", "tunnel", "nosuch", "",
	"rate", "burst", "top", "flow_limit", "flow_budget", "vif_budget", "cc",
	"reno", "none", "port", "retry_limit", "drain_ms", "prio",
	"0", "1", "-1", "4294967296", "18446744073709551615", "99999999999999999999",
	"yes", "no", "true", "0x10", " 5", "5 ", "1e9",
};
static const char *devs[16];
static int ndevs, ifidx[16];

struct msg { char b[BUF]; int len; };

/* Opens an attribute; the caller fills it and closes it with put_end. */
static struct nlattr *put_hdr(struct msg *m, uint16_t type)
{
	struct nlattr *a;

	if (m->len + NLA_HDRLEN > BUF - 512)
		return NULL;
	a = (struct nlattr *)(m->b + m->len);
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN;
	m->len += NLA_HDRLEN;
	return a;
}
static void put_end(struct msg *m, struct nlattr *a)
{
	a->nla_len = (uint16_t)(m->b + m->len - (char *)a);
	/* Now and then a length that lies: short, or past the parent's end. */
	switch (below(40)) {
	case 0: a->nla_len = (uint16_t)below(a->nla_len + 1); break;
	case 1: a->nla_len += (uint16_t)(1 + below(64)); break;
	}
	m->len = NLA_ALIGN(m->len);
}
static void put_bytes(struct msg *m, const void *p, int n)
{
	if (m->len + n > BUF - 512)
		n = BUF - 512 - m->len;
	if (n > 0) {
		memcpy(m->b + m->len, p, n);
		m->len += n;
	}
}

static void put_payload(struct msg *m)
{
	char s[300];
	uint64_t v;
	int n, i;

	switch (below(8)) {
	case 0: /* a word with its NUL */
		{ const char *w = words[below(sizeof(words) / sizeof(words[0]))]; put_bytes(m, w, strlen(w) + 1); }
		break;
	case 1: /* a word without */
		{ const char *w = words[below(sizeof(words) / sizeof(words[0]))]; put_bytes(m, w, strlen(w)); }
		break;
	case 2: /* a device name */
		if (ndevs) { const char *d = devs[below(ndevs)]; put_bytes(m, d, strlen(d) + below(2)); }
		break;
	case 3: /* an ifindex, or nonsense as one */
		v = below(3) ? (uint32_t)ifidx[below(ndevs)] : rnd();
		put_bytes(m, &v, 4);
		break;
	case 4: /* huge or edge integers, 1 to 8 bytes */
		v = below(2) ? ~0ULL >> below(64) : ((uint64_t)rnd() << 32 | rnd());
		put_bytes(m, &v, 1 + below(8));
		break;
	case 5: /* a long string, NUL or not */
		n = 1 + below(sizeof(s));
		for (i = 0; i < n; i++)
			s[i] = (char)(' ' + below(95));
		if (below(2))
			s[n - 1] = 0;
		put_bytes(m, s, n);
		break;
	case 6: /* random bytes */
		n = below(64);
		for (i = 0; i < n; i++)
			s[i] = (char)rnd();
		put_bytes(m, s, n);
		break;
	default: /* empty */
		break;
	}
}

/* Attributes: types around the real ones, nested up to 4 deep. */
static void put_attrs(struct msg *m, int depth)
{
	int n = (int)below(6), i;

	for (i = 0; i < n; i++) {
		uint16_t type = (uint16_t)(below(8) ? below(NETSVC_A_MAX + 3) : rnd());
		struct nlattr *a;

		if (below(10) == 0)
			type |= NLA_F_NESTED;
		a = put_hdr(m, type);
		if (!a)
			return;
		if (depth < 4 && (type == NETSVC_A_PARAMS || (type & NLA_F_NESTED) || below(6) == 0)) {
			/* PARAMS -> ENTRY -> NAME/VALUE, or random below */
			int e, ne = (int)below(4);

			for (e = 0; e < ne; e++) {
				struct nlattr *en = put_hdr(m, (uint16_t)(below(6) ? NETSVC_A_PARAMS_ENTRY : below(4)) |
							   (below(3) ? NLA_F_NESTED : 0));

				if (!en)
					break;
				if (below(3)) {
					struct nlattr *k = put_hdr(m, NETSVC_A_PARAM_NAME);

					if (!k)
						break;
					put_payload(m); put_end(m, k);
					k = put_hdr(m, NETSVC_A_PARAM_VALUE);
					if (!k)
						break;
					put_payload(m); put_end(m, k);
				} else {
					put_attrs(m, depth + 1);
				}
				put_end(m, en);
			}
		} else {
			put_payload(m);
		}
		put_end(m, a);
	}
}

static void put_str(struct msg *m, uint16_t type, const char *v)
{
	struct nlattr *a = put_hdr(m, type);

	if (!a)
		return;
	put_bytes(m, v, strlen(v) + 1);
	a->nla_len = (uint16_t)(m->b + m->len - (char *)a);
	m->len = NLA_ALIGN(m->len);
}

/* Half the messages are well formed, so that they get past the policy into
 * the handlers: a real device, a real service, plausible parameters with
 * values that are numbers, words, or too long. */
static void put_sane(struct msg *m)
{
	static const char *const svc[] = { "acct", "police", "ack", "null", "tunnel", "nosuch" };
	static const char *const par[] = { "rate", "burst", "top", "max_flows", "flow_limit",
		"flow_budget", "vif_budget", "cc", "port", "retry_limit", "drain_ms", "nosuch" };
	char v[NETSVC_PARAM_VALUE_MAX + 16];
	struct nlattr *p, *e;
	uint32_t u;
	int n, i, k;

	if (below(2)) {
		struct nlattr *a = put_hdr(m, NETSVC_A_IFINDEX);

		u = below(8) ? (uint32_t)ifidx[below(ndevs)] : rnd();
		put_bytes(m, &u, 4);
		a->nla_len = (uint16_t)(m->b + m->len - (char *)a);
	} else {
		put_str(m, NETSVC_A_IFNAME, devs[below(ndevs)]);
	}
	if (below(10))
		put_str(m, NETSVC_A_SERVICE, svc[below(6)]);
	if (below(3) == 0) {
		struct nlattr *a = put_hdr(m, NETSVC_A_PRIORITY);

		u = below(2) ? below(NETSVC_PRIORITY_MAX + 10) : rnd();
		put_bytes(m, &u, 4);
		a->nla_len = (uint16_t)(m->b + m->len - (char *)a);
	}
	if (below(2))
		return;
	p = put_hdr(m, NETSVC_A_PARAMS | (below(4) ? NLA_F_NESTED : 0));
	for (n = (int)below(5); n > 0; n--) {
		e = put_hdr(m, NETSVC_A_PARAMS_ENTRY | (below(4) ? NLA_F_NESTED : 0));
		if (!e)
			break;
		put_str(m, NETSVC_A_PARAM_NAME, par[below(12)]);
		switch (below(5)) {
		case 0: snprintf(v, sizeof(v), "%u", rnd()); break;
		case 1: snprintf(v, sizeof(v), "%llu", (unsigned long long)rnd() << below(40)); break;
		case 2: snprintf(v, sizeof(v), "%s", words[below(sizeof(words) / sizeof(words[0]))]); break;
		case 3: snprintf(v, sizeof(v), "%u", below(100)); break;
		default:
			k = (int)below(sizeof(v) - 1);
			for (i = 0; i < k; i++)
				v[i] = (char)('0' + below(10));
			v[k] = 0;
		}
		put_str(m, NETSVC_A_PARAM_VALUE, v);
		e->nla_len = (uint16_t)(m->b + m->len - (char *)e);
	}
	if (p)
		p->nla_len = (uint16_t)(m->b + m->len - (char *)p);
}

static int sock_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC), one = 1, big = 1 << 20;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("nlfuzz: socket");
		exit(2);
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
}

/* Reads until the answer to SEQ (an error/ack or a dump's DONE); returns
 * the errno it carries (0: success), or -1 when none came. */
static int answer(int fd, uint32_t seq, char *reply, int *rlen)
{
	static char buf[1 << 16];
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, 2000) > 0) {
		int n = (int)recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0)
			return errno == ENOBUFS ? -ENOBUFS : -1;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (reply && h->nlmsg_len <= BUF) {
				memcpy(reply, h, h->nlmsg_len);
				*rlen = (int)h->nlmsg_len;
			}
		}
	}
	return -1;
}

static int family_id(int fd)
{
	struct msg m = { .len = NLMSG_HDRLEN + GENL_HDRLEN };
	struct nlmsghdr *h = (struct nlmsghdr *)m.b;
	struct genlmsghdr *g = NLMSG_DATA(h);
	char reply[BUF];
	struct nlattr *a;
	int rlen = 0, off;

	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	a = put_hdr(&m, CTRL_ATTR_FAMILY_NAME);
	put_bytes(&m, NETSVC_GENL_NAME, sizeof(NETSVC_GENL_NAME));
	a->nla_len = (uint16_t)(m.b + m.len - (char *)a);
	m.len = NLA_ALIGN(m.len);
	h->nlmsg_len = m.len;
	h->nlmsg_type = GENL_ID_CTRL;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = 1;
	if (send(fd, m.b, m.len, 0) < 0 || answer(fd, 1, reply, &rlen) != 0 || !rlen)
		return -1;
	for (off = NLMSG_HDRLEN + GENL_HDRLEN; off + NLA_HDRLEN <= rlen; off += NLA_ALIGN(a->nla_len)) {
		a = (struct nlattr *)(reply + off);
		if (a->nla_len < NLA_HDRLEN)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			return *(uint16_t *)((char *)a + NLA_HDRLEN);
	}
	return -1;
}

int main(int argc, char **argv)
{
	long count = 100000, i, seen[200] = { 0 }, violations = 0, noanswer = 0;
	int unpriv = 0, c, fd, fam;
	uint32_t seq = 10;

	rng = 0x9e3779b97f4a7c15ULL;
	while ((c = getopt(argc, argv, "un:s:")) != -1) {
		switch (c) {
		case 'u': unpriv = 1; break;
		case 'n': count = atol(optarg); break;
		case 's': rng ^= strtoull(optarg, NULL, 0) * 0x2545f4914f6cdd1dULL; break;
		default:
			fprintf(stderr, "usage: nlfuzz [-u] [-n COUNT] [-s SEED] IFNAME...\n");
			return 2;
		}
	}
	for (; optind < argc && ndevs < 16; optind++, ndevs++) {
		devs[ndevs] = argv[optind];
		ifidx[ndevs] = (int)if_nametoindex(argv[optind]);
	}
	if (!ndevs) {
		devs[0] = "lo";
		ifidx[ndevs++] = 1;
	}
	if (!rng)
		rng = 1;
	/* The socket's opener is whom GENL_ADMIN_PERM checks: drop first. */
	if (unpriv && (setgroups(0, NULL) || setgid(65534) || setuid(65534))) {
		perror("nlfuzz: setuid nobody");
		return 2;
	}
	fd = sock_open();
	fam = family_id(fd);
	if (fam < 0) {
		fprintf(stderr, "nlfuzz: no genetlink family %s\n", NETSVC_GENL_NAME);
		return 2;
	}
	for (i = 0; i < count; i++) {
		struct msg m;
		struct nlmsghdr *h = (struct nlmsghdr *)m.b;
		struct genlmsghdr *g = NLMSG_DATA(h);
		int full = 1, err, mutating, sane;

		memset(m.b, 0, NLMSG_HDRLEN + GENL_HDRLEN);
		m.len = NLMSG_HDRLEN + GENL_HDRLEN;
		sane = below(2);
		g->cmd = (uint8_t)(below(10) ? 1 + below(NETSVC_CMD_MAX - 1) : rnd());
		g->version = (uint8_t)(sane || below(10) ? NETSVC_GENL_VERSION : rnd());
		g->reserved = (uint16_t)(sane || below(20) ? 0 : rnd());
		if (sane)
			put_sane(&m);
		else
			put_attrs(&m, 0);
		if (!sane && below(50) == 0) {	/* a header cut short */
			m.len = NLMSG_HDRLEN + (int)below(GENL_HDRLEN);
			full = 0;
		}
		h->nlmsg_len = m.len;
		h->nlmsg_type = (uint16_t)fam;
		h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (below(sane ? 8 : 4) ? 0 : NLM_F_DUMP);
		h->nlmsg_seq = ++seq;
		if (send(fd, m.b, m.len, 0) < 0) {
			perror("nlfuzz: send");
			return 2;
		}
		if (i % 10000 == 0)
			fprintf(stderr, "nlfuzz: %ld sent, %ld unanswered\n", i, noanswer);
		err = answer(fd, seq, NULL, NULL);
		if (err == -1) {
			if (noanswer < 10)
				fprintf(stderr, "nlfuzz: no answer to cmd %u (%d bytes, flags %#x)\n",
					g->cmd, m.len, h->nlmsg_flags);
			noanswer++;
			continue;
		}
		if (err == -ENOBUFS) {	/* a dump outran the socket: start clean */
			close(fd);
			fd = sock_open();
			continue;
		}
		seen[err < 199 ? err : 199]++;
		mutating = g->cmd == NETSVC_CMD_ATTACH || g->cmd == NETSVC_CMD_DETACH ||
			   g->cmd == NETSVC_CMD_SET;
		if (unpriv && full && mutating && err != EPERM) {
			if (violations++ < 10)
				fprintf(stderr, "nlfuzz: unprivileged cmd %u answered %d (%s), want EPERM\n",
					g->cmd, err, strerror(err));
		}
	}
	printf("nlfuzz: %ld messages%s, %ld unanswered, answers:", count, unpriv ? " as nobody" : "",
	       noanswer);
	for (i = 0; i < 200; i++)
		if (seen[i])
			printf(" %s=%ld", i ? strerrorname_np((int)i) ?: "?" : "ok", seen[i]);
	printf("\n");
	if (violations)
		printf("nlfuzz: %ld unprivileged requests not refused with EPERM\n", violations);
	return violations || noanswer ? 1 : 0;
}
