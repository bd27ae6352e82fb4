// SPDX-License-Identifier: GPL-2.0
/* ksmctl cgroup: KEY=VALUE settings (see cgroup_settings.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_settings.h"

static bool valid_domain_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= KSM_CGROUP_NAME_LEN)
		return false;
	for (; *name; name++)
		if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z') ||
		      (*name >= '0' && *name <= '9') || strchr("_.-", *name)))
			return false;
	return true;
}

int cgroup_setting_parse(int argc, char **argv, struct ksm_cgroup_setting *s,
			 unsigned int *mask, char *err, size_t errlen)
{
	int i;

	memset(s, 0, sizeof(*s));
	*mask = 0;
	for (i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '='), *v = eq ? eq + 1 : NULL;
		size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		unsigned int bit;

		if (klen == 5 && !strncmp(argv[i], "merge", 5))
			bit = CGROUP_SET_MERGE;
		else if (klen == 6 && !strncmp(argv[i], "domain", 6))
			bit = CGROUP_SET_DOMAIN;
		else if (klen == 9 && !strncmp(argv[i], "max-pages", 9))
			bit = CGROUP_SET_MAX;
		else
			bit = 0;
		if (!bit || !v || !*v) {
			snprintf(err, errlen, "'%s': want merge=, domain= or max-pages=", argv[i]);
			return -1;
		}
		if (*mask & bit) {
			snprintf(err, errlen, "'%.*s' given twice", (int)klen, argv[i]);
			return -1;
		}
		*mask |= bit;
		if (bit == CGROUP_SET_MERGE) {
			if (!strcmp(v, "on"))
				s->merge = KSM_CGROUP_MERGE_ON;
			else if (!strcmp(v, "off"))
				s->merge = KSM_CGROUP_MERGE_OFF;
			else if (strcmp(v, "inherit"))
				goto bad;
		} else if (bit == CGROUP_SET_DOMAIN) {
			if (!strcmp(v, "shared")) {
				s->domain_kind = KSM_CGROUP_DOMAIN_SHARED;
			} else if (!strcmp(v, "isolated")) {
				s->domain_kind = KSM_CGROUP_DOMAIN_ISOLATED;
			} else if (strcmp(v, "inherit")) {
				if (!valid_domain_name(v)) {
					snprintf(err, errlen, "domain '%s': a name is 1 to %d of "
						 "A-Z a-z 0-9 _ . -", v, KSM_CGROUP_NAME_LEN - 1);
					return -1;
				}
				s->domain_kind = KSM_CGROUP_DOMAIN_NAMED;
				memcpy(s->domain_name, v, strlen(v));
			}
		} else {
			char *end;

			if (!strcmp(v, "none")) {
				s->max_pages = KSM_CGROUP_NO_LIMIT;
			} else if (strcmp(v, "inherit")) {
				errno = 0;
				s->max_pages = strtoull(v, &end, 10);
				if (*end || errno || v[0] == '-' || v[0] == '+' || !s->max_pages ||
				    s->max_pages == KSM_CGROUP_NO_LIMIT) {
					snprintf(err, errlen, "max-pages '%s': a positive number, none "
						 "or inherit (merge=off merges nothing)", v);
					return -1;
				}
			}
		}
		continue;
bad:
		snprintf(err, errlen, "merge '%s': on, off or inherit", v);
		return -1;
	}
	return 0;
}

void cgroup_setting_merge(struct ksm_cgroup_setting *stored, const struct ksm_cgroup_setting *s,
			  unsigned int mask, __u64 cgroup_id)
{
	if (mask & CGROUP_SET_MERGE)
		stored->merge = s->merge;
	if (mask & CGROUP_SET_MAX)
		stored->max_pages = s->max_pages;
	if (!(mask & CGROUP_SET_DOMAIN))
		return;
	stored->domain_kind = s->domain_kind;
	memcpy(stored->domain_name, s->domain_name, sizeof(stored->domain_name));
	switch (s->domain_kind) {
	case KSM_CGROUP_DOMAIN_ISOLATED:
		stored->domain = KSM_DOMAIN_ISOLATED | cgroup_id;
		break;
	case KSM_CGROUP_DOMAIN_NAMED:
		stored->domain = ksm_cgroup_domain_of_name(s->domain_name);
		break;
	default:
		stored->domain = 0;
	}
}

bool cgroup_setting_empty(const struct ksm_cgroup_setting *s)
{
	return !s->merge && !s->domain_kind && !s->max_pages;
}
