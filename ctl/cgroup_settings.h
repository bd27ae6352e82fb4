/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl cgroup: the settings of a cgroup, as words and values, without any
 * file or kernel access: parsing the keywords of `cgroup set` with the
 * kernel's own rules, and the effective settings of a cgroup from those of
 * its path.
 */
#ifndef KSMCTL_CGROUP_SETTINGS_H
#define KSMCTL_CGROUP_SETTINGS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#define CGROUP_PATH_LEN 256
/* memory.ksm_domain: a name is 1 to 63 of [A-Za-z0-9_.:-] (KSM_DOMAIN_NAME_LEN - 1). */
#define CGROUP_DOMAIN_NAME_MAX 63

/* memory.ksm_merge */
enum cgroup_merge {
	CGROUP_MERGE_INHERIT,	/* the default: the ancestors decide */
	CGROUP_MERGE_ON,
	CGROUP_MERGE_OFF,
	CGROUP_MERGE_OBSERVE,	/* compared, never merged: `ksmctl estimate` */
};

/* memory.ksm_domain */
enum cgroup_domain {
	CGROUP_DOMAIN_INHERIT,	/* the default */
	CGROUP_DOMAIN_SHARED,
	CGROUP_DOMAIN_ISOLATED,
	CGROUP_DOMAIN_NAMED,
};

/* What one cgroup sets itself. */
struct cgroup_setting {
	enum cgroup_merge merge;
	enum cgroup_domain domain;
	char name[CGROUP_DOMAIN_NAME_MAX + 1];	/* CGROUP_DOMAIN_NAMED */
	__u64 max_pages;	/* memory.ksm_max_pages; 0: "max", no cap of its own */
};

/* Which attributes a `cgroup set` gives. */
#define CGROUP_SET_MERGE	(1U << 0)
#define CGROUP_SET_DOMAIN	(1U << 1)
#define CGROUP_SET_MAX		(1U << 2)

/*
 * [merge on|off|inherit] [domain shared|isolated|inherit|NAME]
 * [max-pages N|max], at least one, into @s and @mask.
 * 0, or -1 with a message in @err.
 */
int cgroup_setting_parse(int argc, char **argv, struct cgroup_setting *s,
			 unsigned int *mask, char *err, size_t errlen);

/* One value, as memory.ksm_merge / memory.ksm_domain take and show it; 0 or -1. */
int cgroup_merge_parse(const char *text, enum cgroup_merge *merge);
int cgroup_domain_parse(const char *text, struct cgroup_setting *s);
/*
 * memory.ksm_max_pages: "max" (0) or 1 to CGROUP_MAX_PAGES_LIMIT pages (the
 * kernel's PAGE_COUNTER_MAX on 64-bit, LONG_MAX / PAGE_SIZE); 0 or -1.
 */
#define CGROUP_MAX_PAGES_LIMIT	(0x7fffffffffffffffULL / 4096)
int cgroup_max_parse(const char *text, __u64 *max);
/* A domain name the kernel takes: 1 to 63 of [A-Za-z0-9_.:-], no keyword. */
bool cgroup_domain_name_valid(const char *name);

const char *cgroup_merge_text(enum cgroup_merge merge);
/* The keyword, or the name of a named domain. */
const char *cgroup_domain_text(const struct cgroup_setting *s);
/* "max" or the number, into @buf. */
const char *cgroup_max_text(__u64 max_pages, char *buf, size_t len);
bool cgroup_setting_is_default(const struct cgroup_setting *s);

/*
 * What applies to a cgroup, given the settings of its path from the top
 * (levels[0], a child of the root) to itself (levels[n - 1]). The rules are
 * the kernel's (mm/ksm_cgroup.c), which ksmd applies:
 *  - merge: "off" at any level wins; else "observe" at any level; else "on"
 *    at any level; else nobody decides (CGROUP_MERGE_INHERIT): madvise() and
 *    prctl() do, as upstream.
 *  - domain: the deepest level that is isolated or named decides; none: the
 *    shared domain. A name counts only if no level above is isolated or
 *    named: below one it isolates that level. "shared" never widens.
 *  - max-pages: every level's cap applies to its subtree, so the smallest
 *    on the path binds.
 * Each *_from is the index of the level that decides, or -1.
 */
struct cgroup_effective {
	enum cgroup_merge merge;
	int merge_from;
	enum cgroup_domain domain;	/* SHARED, ISOLATED or NAMED */
	int domain_from;		/* NAMED: levels[domain_from].name */
	__u64 max_pages;		/* 0: no cap */
	int max_from;
};

void cgroup_effective(const struct cgroup_setting *levels, int n, struct cgroup_effective *e);

#endif /* KSMCTL_CGROUP_SETTINGS_H */
