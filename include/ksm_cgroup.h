/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-cgroup KSM settings: the map of bpf/cgroup.bpf.c, written by
 * `ksmctl cgroup set` through its pin /sys/fs/bpf/ksm/policy_maps/settings.
 *
 *   settings: key __u64 cgroup (v2) id -> struct ksm_cgroup_setting
 *
 * Each attribute is inherited on its own: a cgroup without a value for it
 * takes its nearest ancestor's; with none anywhere, KSM's upstream behaviour.
 */
#ifndef KSM_CGROUP_H
#define KSM_CGROUP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KSM_CGROUP_MAX_SETTINGS	4096
#define KSM_CGROUP_MAX_DEPTH	32	/* levels walked looking for a value */
#define KSM_CGROUP_NAME_LEN	32

enum ksm_cgroup_merge {
	KSM_CGROUP_MERGE_INHERIT,	/* the nearest ancestor's */
	KSM_CGROUP_MERGE_ON,		/* every process, whether it asked or not */
	KSM_CGROUP_MERGE_OFF,		/* no process, even if it asked */
};

enum ksm_cgroup_domain {
	KSM_CGROUP_DOMAIN_INHERIT,
	KSM_CGROUP_DOMAIN_SHARED,	/* the global merge domain, 0 */
	KSM_CGROUP_DOMAIN_ISOLATED,	/* its own: KSM_DOMAIN_ISOLATED | cgroup id */
	KSM_CGROUP_DOMAIN_NAMED,	/* KSM_DOMAIN_NAMED | hash of the name */
};

/* Merge domains of the two kinds never collide with each other or with 0. */
#define KSM_DOMAIN_ISOLATED	(1ULL << 63)
#define KSM_DOMAIN_NAMED	(1ULL << 62)

/* max_pages: 0 inherits; KSM_CGROUP_NO_LIMIT lifts an ancestor's cap. */
#define KSM_CGROUP_NO_LIMIT	(~0ULL)

struct ksm_cgroup_setting {
	__u32 merge;			/* enum ksm_cgroup_merge */
	__u32 domain_kind;		/* enum ksm_cgroup_domain */
	__u64 domain;			/* the merge domain, unless inherited */
	__u64 max_pages;		/* most pages of its subtree merged at once */
	char domain_name[KSM_CGROUP_NAME_LEN];
};

/* The merged pages a capped cgroup's subtree holds (see bpf/cgroup.bpf.c). */
struct ksm_cgroup_usage {
	__u64 seqnr;			/* pass whose scan_mm()s add to @counting */
	__u64 counting;			/* merging pages of this pass's processes so far */
	__u64 last;			/* merging pages at the end of the last pass */
	__u64 merged;			/* merges allowed in this pass */
	__u64 denied;			/* merges denied by the cap, in all */
};

/* FNV-1a: the domain of a name, the same in ksmctl and in tests. */
static inline __u64 ksm_cgroup_domain_of_name(const char *name)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < KSM_CGROUP_NAME_LEN && name[i]; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
	return KSM_DOMAIN_NAMED | (h & (KSM_DOMAIN_NAMED - 1));
}

#endif /* KSM_CGROUP_H */
