// SPDX-License-Identifier: GPL-2.0
/*
 * Talking to the netsvc genetlink family.  libnl 3.7 has no extack API, so
 * the error handler reads the ACK's TLVs itself: the kernel's message is
 * printed verbatim, prefixed by what the user gave for the attribute the
 * kernel points at (the kernel never echoes user input, see kmod/errmsg.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include "netsvcctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct ns_ctx {
	struct ns_req *req;
	int (*parse)(struct nlattr **tb, void *arg);
	void *arg;
	int error;
	char msg[512];
	int bad_offset;
	bool done;
};

static struct nl_sock *sock;
static int family;

static int connect_family(const char *what)
{
	int one = 1;

	if (sock)
		return 0;
	sock = nl_socket_alloc();
	if (!sock || genl_connect(sock)) {
		fprintf(stderr, "%s: %s: cannot open a generic netlink socket\n", prog, what);
		return -1;
	}
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	nl_socket_set_buffer_size(sock, 1 << 20, 1 << 20);
	family = genl_ctrl_resolve(sock, NETSVC_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "%s: %s: netsvc kernel module not loaded (modprobe netsvc)\n",
			prog, what);
		return -1;
	}
	return 0;
}

int ns_req_init(struct ns_req *r, const char *what, uint8_t cmd, int flags)
{
	memset(r, 0, sizeof(*r));
	r->what = what;
	if (connect_family(what))
		return -1;
	r->msg = nlmsg_alloc();
	if (!r->msg || !genlmsg_put(r->msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				    flags, cmd, NETSVC_GENL_VERSION)) {
		fprintf(stderr, "%s: %s: out of memory\n", prog, what);
		return -1;
	}
	return 0;
}

/* Remember which user input an attribute carries, to name it in errors. */
void ns_req_span(struct ns_req *r, struct nlattr *attr, const char *label)
{
	struct nlmsghdr *nlh = nlmsg_hdr(r->msg);

	if (!attr || r->n_spans >= (int)(sizeof(r->spans) / sizeof(r->spans[0])))
		return;
	r->spans[r->n_spans].start = (char *)attr - (char *)nlh;
	r->spans[r->n_spans].end = (char *)nlmsg_tail(nlh) - (char *)nlh;
	snprintf(r->spans[r->n_spans].label, sizeof(r->spans[0].label), "%s", label);
	r->n_spans++;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct ns_ctx *ctx = arg;
	struct nlattr *tb[NETSVC_A_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	if (genlmsg_parse(nlh, 0, tb, NETSVC_A_MAX, NULL) < 0)
		return NL_SKIP;
	if (ctx->parse && ctx->parse(tb, ctx->arg) < 0)
		return NL_STOP;
	return NL_OK;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct ns_ctx *)arg)->done = true;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct ns_ctx *ctx = arg;
	int off;

	(void)nla;
	ctx->error = e->error;
	ctx->done = true;
	ctx->bad_offset = -1;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if ((int)(nlh->nlmsg_len - NLMSG_HDRLEN) <= off)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
		      nlh->nlmsg_len - NLMSG_HDRLEN - off, NULL))
		return NL_STOP;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(ctx->msg, sizeof(ctx->msg), "%s", (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS])
		ctx->bad_offset = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	return NL_STOP;
}

static const char *span_label(const struct ns_req *r, int offset)
{
	const char *best = NULL;
	int i, best_len = 1 << 30;

	/* The innermost span containing the offset names it best. */
	for (i = 0; r && offset >= 0 && i < r->n_spans; i++)
		if (offset >= r->spans[i].start && offset < r->spans[i].end &&
		    r->spans[i].end - r->spans[i].start < best_len) {
			best = r->spans[i].label;
			best_len = r->spans[i].end - r->spans[i].start;
		}
	return best;
}

static void report(const char *what, const struct ns_ctx *ctx)
{
	const char *label = span_label(ctx->req, ctx->bad_offset);
	const char *text = ctx->msg[0] ? ctx->msg : strerror(-ctx->error);

	if (ctx->error == -EPERM && !ctx->msg[0])
		text = "operation not permitted (need CAP_NET_ADMIN)";
	if (label)
		fprintf(stderr, "%s: %s: %s: %s\n", prog, what, label, text);
	else
		fprintf(stderr, "%s: %s: %s\n", prog, what, text);
}

static int run(struct ns_ctx *ctx, const char *what)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int err = 0;

	if (!cb)
		return -1;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, ctx);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, ctx);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_finish, ctx);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, ctx);
	while (!ctx->done) {
		err = nl_recvmsgs(sock, cb);
		if (err < 0 && !ctx->done) {
			fprintf(stderr, "%s: %s: %s\n", prog, what, nl_geterror(err));
			ctx->error = -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	if (ctx->error) {
		if (ctx->error != -EIO)
			report(what, ctx);
		return -1;
	}
	return 0;
}

int ns_req_run(struct ns_req *r, int (*parse)(struct nlattr **tb, void *arg), void *arg)
{
	struct ns_ctx ctx = { .req = r, .parse = parse, .arg = arg, .bad_offset = -1 };

	nlmsg_hdr(r->msg)->nlmsg_flags |= NLM_F_ACK;
	if (nl_send_auto(sock, r->msg) < 0) {
		fprintf(stderr, "%s: %s: cannot send the request\n", prog, r->what);
		return -1;
	}
	return run(&ctx, r->what);
}

void ns_req_free(struct ns_req *r)
{
	nlmsg_free(r->msg);
	r->msg = NULL;
}

struct mon_ctx {
	int (*parse)(uint8_t cmd, struct nlattr **tb, void *arg);
	void *arg;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct mon_ctx *m = arg;
	struct nlattr *tb[NETSVC_A_MAX + 1];
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	if (genlmsg_parse(nlh, 0, tb, NETSVC_A_MAX, NULL) < 0)
		return NL_SKIP;
	m->parse(((struct genlmsghdr *)nlmsg_data(nlh))->cmd, tb, m->arg);
	return NL_OK;
}

int ns_monitor(int (*parse)(uint8_t cmd, struct nlattr **tb, void *arg), void *arg)
{
	struct mon_ctx m = { parse, arg };
	int grp, err;

	if (connect_family("monitor"))
		return -1;
	grp = genl_ctrl_resolve_grp(sock, NETSVC_GENL_NAME, NETSVC_GENL_MCGRP_EVENTS);
	if (grp < 0 || nl_socket_add_membership(sock, grp)) {
		fprintf(stderr, "%s: monitor: cannot join the events group\n", prog);
		return -1;
	}
	nl_socket_disable_seq_check(sock);
	nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, on_event, &m);
	for (;;) {
		err = nl_recvmsgs_default(sock);
		if (err < 0 && err != -NLE_INTR && err != -NLE_AGAIN) {
			fprintf(stderr, "%s: monitor: %s\n", prog, nl_geterror(err));
			return -1;
		}
	}
}
