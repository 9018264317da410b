// SPDX-License-Identifier: GPL-2.0
/*
 * Service parameters: "name=value" strings from netlink, parsed by the core
 * into the service's config struct so that services never parse text and every
 * service rejects bad input with the same precise words.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <net/netlink.h>
#include "netsvc.h"

static const struct nla_policy param_policy[NETSVC_A_PARAM_MAX_ATTR + 1] = {
	[NETSVC_A_PARAM_NAME] = { .type = NLA_NUL_STRING, .len = NETSVC_PARAM_NAME_MAX - 1 },
	[NETSVC_A_PARAM_VALUE] = { .type = NLA_NUL_STRING, .len = NETSVC_PARAM_VALUE_MAX - 1 },
};

static const struct netsvc_param *find_param(const struct netsvc_service_ops *ops,
					     const char *name)
{
	unsigned int i;

	for (i = 0; i < ops->n_params; i++)
		if (!strcmp(ops->params[i].name, name))
			return &ops->params[i];
	return NULL;
}

static const char *known_params(const struct netsvc_service_ops *ops)
{
	char buf[128];
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < ops->n_params && off < sizeof(buf); i++)
		off += scnprintf(buf + off, sizeof(buf) - off, "%s%s",
				 i ? ", " : "", ops->params[i].name);
	return netsvc_errmsg("%s", ops->n_params ? buf : "none");
}

static void choices_str(const struct netsvc_param *p, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; p->choices[i] && off < len; i++)
		off += scnprintf(buf + off, len - off, "%s%s", i ? "|" : "",
				 p->choices[i]);
}

static int parse_one(const struct netsvc_param *p, void *config,
		     const char *value, const struct nlattr *attr,
		     struct netlink_ext_ack *extack)
{
	void *field = config + p->offset;
	char choices[128];
	unsigned int i;
	bool b;
	u64 v;

	switch (p->type) {
	case NETSVC_PARAM_U32:
	case NETSVC_PARAM_U64:
		if (kstrtou64(value, 0, &v)) {
			NETSVC_ERR(extack, attr, "value for '%s' is not a number", p->name);
			return -EINVAL;
		}
		if (v < p->min || v > p->max) {
			NETSVC_ERR(extack, attr, "value for '%s' is out of range [%llu, %llu]",
				   p->name, p->min, p->max);
			return -ERANGE;
		}
		if (p->type == NETSVC_PARAM_U32)
			*(u32 *)field = v;
		else
			*(u64 *)field = v;
		return 0;
	case NETSVC_PARAM_BOOL:
		if (kstrtobool(value, &b)) {
			NETSVC_ERR(extack, attr, "value for '%s' is not a boolean (use 0/1, yes/no, on/off)",
				   p->name);
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case NETSVC_PARAM_STRING:
		if (strlen(value) > p->max) {
			NETSVC_ERR(extack, attr, "value for '%s' is too long (at most %llu characters)",
				   p->name, p->max);
			return -EINVAL;
		}
		strscpy(field, value, p->max + 1);
		return 0;
	case NETSVC_PARAM_ENUM:
		for (i = 0; p->choices[i]; i++) {
			if (!strcmp(p->choices[i], value)) {
				*(u32 *)field = i;
				return 0;
			}
		}
		choices_str(p, choices, sizeof(choices));
		NETSVC_ERR(extack, attr, "value for '%s' is not one of %s", p->name, choices);
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

int netsvc_params_apply(const struct netsvc_service_ops *ops, void *config,
			const struct nlattr *params, bool live_only,
			struct netlink_ext_ack *extack)
{
	struct nlattr *tb[NETSVC_A_PARAM_MAX_ATTR + 1];
	const struct netsvc_param *p;
	const struct nlattr *entry;
	int rem, err;

	if (!params)
		return 0;
	nla_for_each_nested(entry, params, rem) {
		if (nla_type(entry) != NETSVC_A_PARAMS_ENTRY) {
			NL_SET_ERR_MSG_ATTR(extack, entry, "unexpected attribute in parameter list");
			return -EINVAL;
		}
		err = nla_parse_nested(tb, NETSVC_A_PARAM_MAX_ATTR, entry,
				       param_policy, extack);
		if (err)
			return err;
		if (!tb[NETSVC_A_PARAM_NAME] || !tb[NETSVC_A_PARAM_VALUE]) {
			NL_SET_ERR_MSG_ATTR(extack, entry, "parameter needs a name and a value");
			return -EINVAL;
		}
		p = find_param(ops, nla_data(tb[NETSVC_A_PARAM_NAME]));
		if (!p) {
			NETSVC_ERR(extack, tb[NETSVC_A_PARAM_NAME],
				   "unknown parameter for service '%s' (known: %s)",
				   ops->name, known_params(ops));
			return -EINVAL;
		}
		if (live_only && !p->live) {
			NETSVC_ERR(extack, tb[NETSVC_A_PARAM_NAME],
				   "parameter '%s' cannot be changed while attached (detach and attach again)",
				   p->name);
			return -EOPNOTSUPP;
		}
		err = parse_one(p, config, nla_data(tb[NETSVC_A_PARAM_VALUE]),
				tb[NETSVC_A_PARAM_VALUE], extack);
		if (err)
			return err;
	}
	return 0;
}

int netsvc_param_format(const struct netsvc_param *p, const void *config,
			char *buf, size_t len)
{
	const void *field = config + p->offset;

	switch (p->type) {
	case NETSVC_PARAM_U32:
		return scnprintf(buf, len, "%u", *(const u32 *)field);
	case NETSVC_PARAM_U64:
		return scnprintf(buf, len, "%llu", *(const u64 *)field);
	case NETSVC_PARAM_BOOL:
		return scnprintf(buf, len, "%s", *(const bool *)field ? "yes" : "no");
	case NETSVC_PARAM_STRING:
		return scnprintf(buf, len, "%s", (const char *)field);
	case NETSVC_PARAM_ENUM:
		return scnprintf(buf, len, "%s", p->choices[*(const u32 *)field]);
	default:
		return scnprintf(buf, len, "?");
	}
}

/* A service's parameter table is checked once, at registration. */
int netsvc_params_check_ops(const struct netsvc_service_ops *ops)
{
	unsigned int i, n;

	if (!ops->attach || !ops->detach || (ops->n_params && !ops->params))
		return -EINVAL;
	if (ops->config_size && !ops->config_default)
		return -EINVAL;
	for (i = 0; i < ops->n_params; i++) {
		const struct netsvc_param *p = &ops->params[i];

		if (!p->name || strlen(p->name) >= NETSVC_PARAM_NAME_MAX ||
		    p->type >= __NETSVC_PARAM_TYPE_MAX || p->offset >= ops->config_size)
			return -EINVAL;
		if (p->type == NETSVC_PARAM_ENUM) {
			for (n = 0; p->choices && p->choices[n]; n++)
				;
			if (!n)
				return -EINVAL;
		}
	}
	return 0;
}
