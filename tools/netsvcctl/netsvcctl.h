/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NETSVCCTL_H
#define NETSVCCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <netlink/genl/genl.h>
#include <linux/netsvc.h>

extern bool json;
extern const char *prog;

/* nl.c: one request, its replies through @parse, errors as words. */
struct ns_req {
	struct nl_msg *msg;
	const char *what;			/* "attach", ... for messages */
	/* Labels for attributes the kernel may point at (bad attr offset). */
	struct { int start, end; char label[320]; } spans[64];
	int n_spans;
};
int ns_req_init(struct ns_req *r, const char *what, uint8_t cmd, int flags);
void ns_req_span(struct ns_req *r, struct nlattr *attr, const char *label);
int ns_req_run(struct ns_req *r, int (*parse)(struct nlattr **tb, void *arg), void *arg);
void ns_req_free(struct ns_req *r);
int ns_monitor(int (*parse)(uint8_t cmd, struct nlattr **tb, void *arg), void *arg);

/* json.c */
void json_str(FILE *f, const char *s);

/* domain.c: Xen domains (xenctl/); all quiet without Xen. */
bool ns_have_xen(void);
const char *ns_domain_of_ifname(const char *ifname);	/* NULL: unknown */
/* The Dom0 vifs of domain @domain; -1 without Xen. */
int ns_domain_vifs(const char *domain, char (*ifnames)[16], int max);
int ns_print_guests(void);

#endif
