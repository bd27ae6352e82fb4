// SPDX-License-Identifier: GPL-2.0
/* ksmctl cgroup: settings as words and values (see cgroup_settings.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cgroup_settings.h"

static const char *const merge_words[] = {
	[CGROUP_MERGE_INHERIT] = "inherit",
	[CGROUP_MERGE_ON] = "on",
	[CGROUP_MERGE_OFF] = "off",
	[CGROUP_MERGE_OBSERVE] = "observe",
};

static const char *const domain_words[] = {
	[CGROUP_DOMAIN_INHERIT] = "inherit",
	[CGROUP_DOMAIN_SHARED] = "shared",
	[CGROUP_DOMAIN_ISOLATED] = "isolated",
};

int cgroup_merge_parse(const char *text, enum cgroup_merge *merge)
{
	for (size_t i = 0; i < sizeof(merge_words) / sizeof(merge_words[0]); i++) {
		if (!strcmp(text, merge_words[i])) {
			*merge = i;
			return 0;
		}
	}
	return -1;
}

bool cgroup_domain_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > CGROUP_DOMAIN_NAME_MAX)
		return false;
	for (int i = 0; i < 3; i++)
		if (!strcmp(name, domain_words[i]))
			return false;
	/* The kernel's isalnum() is ASCII's. */
	for (; *name; name++)
		if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z') ||
		      (*name >= '0' && *name <= '9') || strchr("_.:-", *name)))
			return false;
	return true;
}

int cgroup_domain_parse(const char *text, struct cgroup_setting *s)
{
	memset(s->name, 0, sizeof(s->name));
	for (int i = 0; i < 3; i++) {
		if (!strcmp(text, domain_words[i])) {
			s->domain = i;
			return 0;
		}
	}
	if (!cgroup_domain_name_valid(text))
		return -1;
	s->domain = CGROUP_DOMAIN_NAMED;
	memcpy(s->name, text, strlen(text));
	return 0;
}

int cgroup_max_parse(const char *v, __u64 *max)
{
	char *end;

	if (!strcmp(v, "max")) {
		*max = 0;
		return 0;
	}
	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	*max = strtoull(v, &end, 10);
	/* The kernel takes PAGE_COUNTER_MAX at most ("max" shows it as such). */
	return *end || errno || !*max || *max > CGROUP_MAX_PAGES_LIMIT ? -1 : 0;
}

static int parse_merge(const struct arg *a, const char *text, char *err, size_t errlen)
{
	if (!cgroup_merge_parse(text, &((struct cgroup_setting *)a->dest)->merge))
		return 0;
	snprintf(err, errlen, "'%s' is none of on, off, observe, inherit", text);
	return -1;
}

static int parse_domain(const struct arg *a, const char *text, char *err, size_t errlen)
{
	if (!cgroup_domain_parse(text, a->dest))
		return 0;
	snprintf(err, errlen, "'%.80s' is none of shared, isolated, inherit, nor a name of "
		 "1 to %d of A-Z a-z 0-9 _ . : -", text, CGROUP_DOMAIN_NAME_MAX);
	return -1;
}

static int parse_max(const struct arg *a, const char *text, char *err, size_t errlen)
{
	if (!cgroup_max_parse(text, &((struct cgroup_setting *)a->dest)->max_pages))
		return 0;
	snprintf(err, errlen, "'%s' is not a number of pages from 1 to %llu, nor max", text,
		 (unsigned long long)CGROUP_MAX_PAGES_LIMIT);
	return -1;
}

int cgroup_setting_parse(int argc, char **argv, struct cgroup_setting *s,
			 unsigned int *mask, char *err, size_t errlen)
{
	/* In the order of the CGROUP_SET_* bits. */
	struct arg args[] = {
		{ .keyword = "merge", .parse = parse_merge, .dest = s },
		{ .keyword = "domain", .parse = parse_domain, .dest = s },
		{ .keyword = "max-pages", .parse = parse_max, .dest = s },
	};

	memset(s, 0, sizeof(*s));
	*mask = 0;
	if (args_parse_msg(args, ARGS_N(args), argc, argv, err, errlen))
		return -1;
	for (size_t i = 0; i < ARGS_N(args); i++)
		if (args[i].given)
			*mask |= 1U << i;
	if (!*mask) {
		snprintf(err, errlen, "nothing to set: give merge, domain or max-pages");
		return -1;
	}
	return 0;
}

const char *cgroup_merge_text(enum cgroup_merge merge)
{
	return merge <= CGROUP_MERGE_OBSERVE ? merge_words[merge] : "?";
}

const char *cgroup_domain_text(const struct cgroup_setting *s)
{
	if (s->domain == CGROUP_DOMAIN_NAMED)
		return s->name;
	return s->domain <= CGROUP_DOMAIN_ISOLATED ? domain_words[s->domain] : "?";
}

const char *cgroup_max_text(__u64 max_pages, char *buf, size_t len)
{
	if (!max_pages)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%llu", (unsigned long long)max_pages);
	return buf;
}

bool cgroup_setting_is_default(const struct cgroup_setting *s)
{
	return !s->merge && !s->domain && !s->max_pages;
}

void cgroup_effective(const struct cgroup_setting *levels, int n, struct cgroup_effective *e)
{
	bool narrower_above = false;

	memset(e, 0, sizeof(*e));
	e->merge_from = e->domain_from = e->max_from = -1;
	e->domain = CGROUP_DOMAIN_SHARED;
	for (int i = n - 1; i >= 0; i--) {
		const struct cgroup_setting *s = &levels[i];

		if (s->merge == CGROUP_MERGE_OFF && e->merge != CGROUP_MERGE_OFF) {
			e->merge = CGROUP_MERGE_OFF;
			e->merge_from = i;
		} else if (s->merge == CGROUP_MERGE_OBSERVE &&
			   (e->merge == CGROUP_MERGE_INHERIT || e->merge == CGROUP_MERGE_ON)) {
			e->merge = CGROUP_MERGE_OBSERVE;
			e->merge_from = i;
		} else if (s->merge == CGROUP_MERGE_ON && e->merge == CGROUP_MERGE_INHERIT) {
			e->merge = CGROUP_MERGE_ON;
			e->merge_from = i;
		}
		if (s->domain == CGROUP_DOMAIN_ISOLATED || s->domain == CGROUP_DOMAIN_NAMED) {
			if (e->domain_from < 0) {
				e->domain = s->domain;
				e->domain_from = i;
			} else {
				narrower_above = true;
			}
		}
		if (s->max_pages && (e->max_from < 0 || s->max_pages < e->max_pages)) {
			e->max_pages = s->max_pages;
			e->max_from = i;
		}
	}
	/* A name below an isolated or named cgroup must not widen it. */
	if (e->domain == CGROUP_DOMAIN_NAMED && narrower_above)
		e->domain = CGROUP_DOMAIN_ISOLATED;
}
