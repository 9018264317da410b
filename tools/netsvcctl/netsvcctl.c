// SPDX-License-Identifier: GPL-2.0
/*
 * netsvcctl: control netsvc, per-vif in-kernel network services.
 * Exit status: 0 ok, 1 the operation failed, 2 usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "netsvcctl.h"

#define NETSVCCTL_VERSION "0.1"

bool json;
const char *prog = "netsvcctl";

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
};
static const struct cmd cmds[];

static int usage_of(const char *name);

static const char *const type_names[] = {
	[NETSVC_PARAM_U32] = "u32", [NETSVC_PARAM_U64] = "u64",
	[NETSVC_PARAM_BOOL] = "bool", [NETSVC_PARAM_STRING] = "string",
	[NETSVC_PARAM_ENUM] = "enum",
};

static const char *type_name(uint32_t t)
{
	return t < __NETSVC_PARAM_TYPE_MAX ? type_names[t] : "?";
}

static struct nlattr *tail(struct ns_req *r)
{
	return (struct nlattr *)nlmsg_tail(nlmsg_hdr(r->msg));
}

static int put_dev_svc(struct ns_req *r, const char *svc, const char *ifname)
{
	struct nlattr *a;

	if (svc) {
		a = tail(r);
		if (nla_put_string(r->msg, NETSVC_A_SERVICE, svc))
			return -1;
		ns_req_span(r, a, svc);
	}
	if (ifname) {
		a = tail(r);
		if (nla_put_string(r->msg, NETSVC_A_IFNAME, ifname))
			return -1;
		ns_req_span(r, a, ifname);
	}
	return 0;
}

/* key=value arguments as a NETSVC_A_PARAMS nest; 2 on a usage error. */
static int put_params(struct ns_req *r, int argc, char **argv)
{
	struct nlattr *nest, *e;
	char key[NETSVC_PARAM_NAME_MAX];
	int i;

	if (!argc)
		return 0;
	nest = nla_nest_start(r->msg, NETSVC_A_PARAMS);
	for (i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(key)) {
			fprintf(stderr, "%s: %s: expected key=value, got '%s'\n", prog, r->what, argv[i]);
			return 2;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
		e = nla_nest_start(r->msg, NETSVC_A_PARAMS_ENTRY);
		if (!e || nla_put_string(r->msg, NETSVC_A_PARAM_NAME, key) ||
		    nla_put_string(r->msg, NETSVC_A_PARAM_VALUE, eq + 1))
			return -1;
		nla_nest_end(r->msg, e);
		ns_req_span(r, e, argv[i]);
	}
	nla_nest_end(r->msg, nest);
	return 0;
}

static int finish(struct ns_req *r, int (*parse)(struct nlattr **, void *), void *arg)
{
	int err = ns_req_run(r, parse, arg);

	ns_req_free(r);
	return err ? 1 : 0;
}

static int attach_one(const char *svc, const char *ifname, int argc, char **argv)
{
	struct ns_req r;
	int first = 0, err;

	if (ns_req_init(&r, "attach", NETSVC_CMD_ATTACH, 0))
		return 1;
	put_dev_svc(&r, svc, ifname);
	if (argc >= 2 && !strcmp(argv[0], "prio")) {
		char *end;
		unsigned long prio = strtoul(argv[1], &end, 0);

		if (*end || !*argv[1]) {
			fprintf(stderr, "%s: attach: prio must be a number, got '%s'\n", prog, argv[1]);
			ns_req_free(&r);
			return 2;
		}
		struct nlattr *a = tail(&r);
		nla_put_u32(r.msg, NETSVC_A_PRIORITY, prio);
		ns_req_span(&r, a, argv[1]);
		first = 2;
	}
	err = put_params(&r, argc - first, argv + first);
	if (err) {
		ns_req_free(&r);
		return err == 2 ? 2 : 1;
	}
	return finish(&r, NULL, NULL);
}

static int detach_one(const char *svc, const char *ifname, int argc, char **argv)
{
	struct ns_req r;

	(void)argv;
	if (argc)
		return usage_of("detach");
	if (ns_req_init(&r, "detach", NETSVC_CMD_DETACH, 0))
		return 1;
	put_dev_svc(&r, svc, ifname);
	return finish(&r, NULL, NULL);
}

/*
 * SERVICE IFACE ... or SERVICE --domain NAME ...: the latter runs @one on
 * each of the domain's vifs, and fails if any fails.
 */
static int per_vif(const char *what, int argc, char **argv,
		   int (*one)(const char *, const char *, int, char **))
{
	char vifs[64][16];
	int n, i, rc = 0, r;

	if (argc < 2)
		return usage_of(what);
	if (strcmp(argv[1], "--domain"))
		return one(argv[0], argv[1], argc - 2, argv + 2);
	if (argc < 3)
		return usage_of(what);
	n = ns_domain_vifs(argv[2], vifs, 64);
	if (n < 0) {
		fprintf(stderr, "%s: %s: --domain needs a Xen Dom0 (XenStore is not reachable)\n",
			prog, what);
		return 1;
	}
	if (n == 0) {
		fprintf(stderr, "%s: %s: %s: no such domain, or it has no vif\n", prog, what, argv[2]);
		return 1;
	}
	for (i = 0; i < n; i++) {
		r = one(argv[0], vifs[i], argc - 3, argv + 3);
		if (r == 2)
			return 2;
		if (r)
			rc = 1;
		else if (!json)
			printf("%s %s %s\n", one == attach_one ? "attached" : "detached",
			       argv[0], vifs[i]);
	}
	return rc;
}

static int cmd_attach(int argc, char **argv)
{
	return per_vif("attach", argc, argv, attach_one);
}

static int cmd_detach(int argc, char **argv)
{
	return per_vif("detach", argc, argv, detach_one);
}

static int cmd_guests(int argc, char **argv)
{
	(void)argv;
	if (argc)
		return usage_of("guests");
	return ns_print_guests();
}

static int cmd_set(int argc, char **argv)
{
	struct ns_req r;
	int err;

	if (argc < 3)
		return usage_of("set");
	if (ns_req_init(&r, "set", NETSVC_CMD_SET, 0))
		return 1;
	put_dev_svc(&r, argv[0], argv[1]);
	err = put_params(&r, argc - 2, argv + 2);
	if (err) {
		ns_req_free(&r);
		return err == 2 ? 2 : 1;
	}
	return finish(&r, NULL, NULL);
}

struct out {
	int n;
};

static int parse_service(struct nlattr **tb, void *arg)
{
	struct out *o = arg;
	struct nlattr *e, *p[NETSVC_A_PARAM_MAX_ATTR + 1];
	int rem, i = 0;

	if (!tb[NETSVC_A_SERVICE])
		return 0;
	if (json) {
		printf("%s{\"name\":", o->n++ ? "," : "");
		json_str(stdout, nla_get_string(tb[NETSVC_A_SERVICE]));
		printf(",\"attachments\":%u,\"params\":[",
		       tb[NETSVC_A_ATT_COUNT] ? nla_get_u32(tb[NETSVC_A_ATT_COUNT]) : 0);
	} else {
		printf("%s (%u attached)\n", nla_get_string(tb[NETSVC_A_SERVICE]),
		       tb[NETSVC_A_ATT_COUNT] ? nla_get_u32(tb[NETSVC_A_ATT_COUNT]) : 0);
	}
	if (tb[NETSVC_A_PARAMS]) {
		nla_for_each_nested(e, tb[NETSVC_A_PARAMS], rem) {
			uint32_t type;
			char range[160] = "";

			if (nla_parse_nested(p, NETSVC_A_PARAM_MAX_ATTR, e, NULL) ||
			    !p[NETSVC_A_PARAM_NAME] || !p[NETSVC_A_PARAM_TYPE])
				continue;
			type = nla_get_u32(p[NETSVC_A_PARAM_TYPE]);
			if (p[NETSVC_A_PARAM_MIN] && p[NETSVC_A_PARAM_MAX])
				snprintf(range, sizeof(range), "[%" PRIu64 "..%" PRIu64 "]",
					 (uint64_t)nla_get_u64(p[NETSVC_A_PARAM_MIN]),
					 (uint64_t)nla_get_u64(p[NETSVC_A_PARAM_MAX]));
			else if (p[NETSVC_A_PARAM_MAX])
				snprintf(range, sizeof(range), "[max %" PRIu64 " chars]",
					 (uint64_t)nla_get_u64(p[NETSVC_A_PARAM_MAX]));
			else if (p[NETSVC_A_PARAM_CHOICES])
				snprintf(range, sizeof(range), "%s", nla_get_string(p[NETSVC_A_PARAM_CHOICES]));
			if (json) {
				printf("%s{\"name\":", i++ ? "," : "");
				json_str(stdout, nla_get_string(p[NETSVC_A_PARAM_NAME]));
				printf(",\"type\":\"%s\",\"default\":", type_name(type));
				json_str(stdout, p[NETSVC_A_PARAM_DEFAULT] ?
					 nla_get_string(p[NETSVC_A_PARAM_DEFAULT]) : "");
				if (p[NETSVC_A_PARAM_MIN])
					printf(",\"min\":%" PRIu64, (uint64_t)nla_get_u64(p[NETSVC_A_PARAM_MIN]));
				if (p[NETSVC_A_PARAM_MAX])
					printf(",\"max\":%" PRIu64, (uint64_t)nla_get_u64(p[NETSVC_A_PARAM_MAX]));
				if (p[NETSVC_A_PARAM_CHOICES]) {
					printf(",\"choices\":");
					json_str(stdout, nla_get_string(p[NETSVC_A_PARAM_CHOICES]));
				}
				printf(",\"live\":%s,\"help\":", p[NETSVC_A_PARAM_LIVE] ? "true" : "false");
				json_str(stdout, p[NETSVC_A_PARAM_HELP] ? nla_get_string(p[NETSVC_A_PARAM_HELP]) : "");
				printf("}");
			} else {
				printf("    %-14s %-6s default %-8s %-16s %-4s %s\n",
				       nla_get_string(p[NETSVC_A_PARAM_NAME]), type_name(type),
				       p[NETSVC_A_PARAM_DEFAULT] ? nla_get_string(p[NETSVC_A_PARAM_DEFAULT]) : "",
				       range, p[NETSVC_A_PARAM_LIVE] ? "live" : "",
				       p[NETSVC_A_PARAM_HELP] ? nla_get_string(p[NETSVC_A_PARAM_HELP]) : "");
			}
		}
	}
	if (json)
		printf("]}");
	return 0;
}

static int cmd_services(int argc, char **argv)
{
	struct out o = { 0 };
	struct ns_req r;
	int err;

	(void)argv;
	if (argc)
		return usage_of("services");
	if (ns_req_init(&r, "services", NETSVC_CMD_SVC_GET, NLM_F_DUMP))
		return 1;
	if (json)
		printf("[");
	err = finish(&r, parse_service, &o);
	if (json)
		printf("]\n");
	return err;
}

static const char *const cnt_names[] = {
	[NETSVC_A_CNT_RX_PACKETS] = "rx_packets", [NETSVC_A_CNT_RX_BYTES] = "rx_bytes",
	[NETSVC_A_CNT_RX_DROPPED] = "rx_dropped", [NETSVC_A_CNT_RX_STOLEN] = "rx_stolen",
	[NETSVC_A_CNT_TX_PACKETS] = "tx_packets", [NETSVC_A_CNT_TX_BYTES] = "tx_bytes",
	[NETSVC_A_CNT_TX_DROPPED] = "tx_dropped", [NETSVC_A_CNT_TX_STOLEN] = "tx_stolen",
};

static int parse_att(struct nlattr **tb, void *arg)
{
	struct nlattr *e, *p[NETSVC_A_PARAM_MAX_ATTR + 1], *c[NETSVC_A_CNT_MAX + 1];
	struct nlattr *s[NETSVC_A_STAT_MAX + 1];
	const char *ifname, *domain;
	struct out *o = arg;
	uint64_t cnt[NETSVC_A_CNT_MAX + 1] = { 0 };
	int rem, i, n;

	if (!tb[NETSVC_A_IFNAME] || !tb[NETSVC_A_SERVICE])
		return 0;
	ifname = nla_get_string(tb[NETSVC_A_IFNAME]);
	domain = ns_domain_of_ifname(ifname);
	if (tb[NETSVC_A_COUNTERS] &&
	    !nla_parse_nested(c, NETSVC_A_CNT_MAX, tb[NETSVC_A_COUNTERS], NULL))
		for (i = NETSVC_A_CNT_RX_PACKETS; i <= NETSVC_A_CNT_TX_STOLEN; i++)
			cnt[i] = c[i] ? nla_get_u64(c[i]) : 0;

	if (json) {
		printf("%s{\"ifname\":", o->n++ ? "," : "");
		json_str(stdout, ifname);
		printf(",\"ifindex\":%u,\"domain\":", tb[NETSVC_A_IFINDEX] ? nla_get_u32(tb[NETSVC_A_IFINDEX]) : 0);
		if (domain)
			json_str(stdout, domain);
		else
			printf("null");
		printf(",\"service\":");
		json_str(stdout, nla_get_string(tb[NETSVC_A_SERVICE]));
		printf(",\"priority\":%u,\"params\":{",
		       tb[NETSVC_A_PRIORITY] ? nla_get_u32(tb[NETSVC_A_PRIORITY]) : 0);
	} else {
		if (o->n++)
			printf("\n");
		printf("%s%s%s%s: %s (prio %u)\n", ifname, domain ? " (domain " : "",
		       domain ? domain : "", domain ? ")" : "", nla_get_string(tb[NETSVC_A_SERVICE]),
		       tb[NETSVC_A_PRIORITY] ? nla_get_u32(tb[NETSVC_A_PRIORITY]) : 0);
		printf("  params:");
	}
	n = 0;
	if (tb[NETSVC_A_PARAMS])
		nla_for_each_nested(e, tb[NETSVC_A_PARAMS], rem) {
			if (nla_parse_nested(p, NETSVC_A_PARAM_MAX_ATTR, e, NULL) ||
			    !p[NETSVC_A_PARAM_NAME] || !p[NETSVC_A_PARAM_VALUE])
				continue;
			if (json) {
				printf("%s", n++ ? "," : "");
				json_str(stdout, nla_get_string(p[NETSVC_A_PARAM_NAME]));
				printf(":");
				json_str(stdout, nla_get_string(p[NETSVC_A_PARAM_VALUE]));
			} else {
				printf(" %s=%s", nla_get_string(p[NETSVC_A_PARAM_NAME]),
				       nla_get_string(p[NETSVC_A_PARAM_VALUE]));
			}
		}
	if (json) {
		printf("},\"counters\":{");
		for (i = NETSVC_A_CNT_RX_PACKETS; i <= NETSVC_A_CNT_TX_STOLEN; i++)
			printf("%s\"%s\":%" PRIu64, i > 1 ? "," : "", cnt_names[i], cnt[i]);
		printf("},\"stats\":{");
	} else {
		printf("\n  rx: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " dropped, %" PRIu64
		       " stolen (from the guest)\n", cnt[NETSVC_A_CNT_RX_PACKETS],
		       cnt[NETSVC_A_CNT_RX_BYTES], cnt[NETSVC_A_CNT_RX_DROPPED], cnt[NETSVC_A_CNT_RX_STOLEN]);
		printf("  tx: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " dropped, %" PRIu64
		       " stolen (to the guest)\n", cnt[NETSVC_A_CNT_TX_PACKETS],
		       cnt[NETSVC_A_CNT_TX_BYTES], cnt[NETSVC_A_CNT_TX_DROPPED], cnt[NETSVC_A_CNT_TX_STOLEN]);
	}
	n = 0;
	if (tb[NETSVC_A_STATS])
		nla_for_each_nested(e, tb[NETSVC_A_STATS], rem) {
			if (nla_parse_nested(s, NETSVC_A_STAT_MAX, e, NULL) ||
			    !s[NETSVC_A_STAT_NAME] || !s[NETSVC_A_STAT_VALUE])
				continue;
			if (json) {
				printf("%s", n++ ? "," : "");
				json_str(stdout, nla_get_string(s[NETSVC_A_STAT_NAME]));
				printf(":%" PRIu64, (uint64_t)nla_get_u64(s[NETSVC_A_STAT_VALUE]));
			} else {
				printf("  %s %" PRIu64 "\n", nla_get_string(s[NETSVC_A_STAT_NAME]),
				       (uint64_t)nla_get_u64(s[NETSVC_A_STAT_VALUE]));
			}
		}
	if (json)
		printf("}}");
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	struct out o = { 0 };
	struct ns_req r;
	int err;

	if (argc > 1)
		return usage_of("show");
	if (ns_req_init(&r, "show", NETSVC_CMD_ATT_GET, NLM_F_DUMP))
		return 1;
	put_dev_svc(&r, NULL, argc ? argv[0] : NULL);
	if (json)
		printf("[");
	err = finish(&r, parse_att, &o);
	if (json)
		printf("]\n");
	else if (!err && !o.n)
		printf("no attachments\n");
	return err;
}

static const char *const event_names[] = {
	[NETSVC_EVENT_ATTACHED] = "attached", [NETSVC_EVENT_DETACHED] = "detached",
	[NETSVC_EVENT_DEV_GONE] = "dev-gone", [NETSVC_EVENT_RECONFIGURED] = "reconfigured",
};

static int print_event(uint8_t cmd, struct nlattr **tb, void *arg)
{
	uint32_t ev;
	const char *name;

	(void)arg;
	if (cmd != NETSVC_CMD_EVENT || !tb[NETSVC_A_EVENT] || !tb[NETSVC_A_SERVICE] ||
	    !tb[NETSVC_A_IFNAME])
		return 0;
	ev = nla_get_u32(tb[NETSVC_A_EVENT]);
	name = ev < __NETSVC_EVENT_MAX && event_names[ev] ? event_names[ev] : "unknown";
	if (json) {
		printf("{\"event\":\"%s\",\"service\":", name);
		json_str(stdout, nla_get_string(tb[NETSVC_A_SERVICE]));
		printf(",\"ifname\":");
		json_str(stdout, nla_get_string(tb[NETSVC_A_IFNAME]));
		printf(",\"ifindex\":%u}\n", tb[NETSVC_A_IFINDEX] ? nla_get_u32(tb[NETSVC_A_IFINDEX]) : 0);
	} else {
		printf("%s %s %s\n", name, nla_get_string(tb[NETSVC_A_SERVICE]),
		       nla_get_string(tb[NETSVC_A_IFNAME]));
	}
	fflush(stdout);
	return 0;
}

static int cmd_monitor(int argc, char **argv)
{
	(void)argv;
	if (argc)
		return usage_of("monitor");
	return ns_monitor(print_event, NULL) ? 1 : 0;
}

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "services", cmd_services, "", "list loaded services and their parameters" },
	{ "attach", cmd_attach, "SERVICE IFACE|--domain NAME [prio N] [key=value ...]",
	  "attach SERVICE to IFACE or to all of NAME's vifs (lower prio: closer to the guest)" },
	{ "detach", cmd_detach, "SERVICE IFACE|--domain NAME", "detach SERVICE from IFACE or from all of NAME's vifs" },
	{ "set", cmd_set, "SERVICE IFACE key=value ...", "change live parameters" },
	{ "show", cmd_show, "[IFACE]", "show attachments, counters and service stats" },
	{ "guests", cmd_guests, "", "Xen guests and their vifs (Dom0 only)" },
	{ "monitor", cmd_monitor, "", "print attach/detach/device-gone events as they happen" },
	{ "help", cmd_help, "[COMMAND]", "show help" },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	const struct cmd *c;

	fprintf(f, "Usage: %s [-j] COMMAND [ARGS]\n\n", prog);
	for (c = cmds; c->name; c++)
		fprintf(f, "  %-8s %-50s %s\n", c->name, c->args, c->help);
	fprintf(f, "\n  -j, --json     machine-readable JSON output\n"
		   "  -h, --help     this text\n  -V, --version  the version\n");
}

static int usage_of(const char *name)
{
	const struct cmd *c;

	for (c = cmds; c->name; c++)
		if (!strcmp(c->name, name))
			fprintf(stderr, "Usage: %s %s %s\n", prog, c->name, c->args);
	return 2;
}

static int cmd_help(int argc, char **argv)
{
	const struct cmd *c;

	if (!argc) {
		usage(stdout);
		return 0;
	}
	for (c = cmds; c->name; c++) {
		if (!strcmp(c->name, argv[0])) {
			printf("Usage: %s %s %s\n  %s\n", prog, c->name, c->args, c->help);
			return 0;
		}
	}
	fprintf(stderr, "%s: unknown command '%s' (try '%s help')\n", prog, argv[0], prog);
	return 2;
}

int main(int argc, char **argv)
{
	const struct cmd *c;
	char *args[64];
	int i, n = 0;

	/* -j may stand anywhere; everything else keeps its order. */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return cmd_help(0, NULL);
		else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("netsvcctl %s (netsvc genetlink v%d)\n", NETSVCCTL_VERSION,
			       NETSVC_GENL_VERSION);
			return 0;
		} else if (n < (int)(sizeof(args) / sizeof(args[0])) - 1)
			args[n++] = argv[i];
		else {
			fprintf(stderr, "%s: too many arguments\n", prog);
			return 2;
		}
	}
	args[n] = NULL;
	if (!n) {
		usage(stderr);
		return 2;
	}
	for (c = cmds; c->name; c++)
		if (!strcmp(c->name, args[0]))
			return c->fn(n - 1, args + 1);
	fprintf(stderr, "%s: unknown command '%s' (try '%s help')\n", prog, args[0], prog);
	return 2;
}
