/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps of bpf/ksm_estimate.bpf.c, which `ksmctl estimate` loads for the
 * length of one estimate (nothing is pinned): what ksmd found, in one pass,
 * of the pages of observed processes (memory.ksm_merge "observe"), from the
 * kernel's ksm_observe_page tracepoint.
 *
 *   cgroups:  key __u64 cgroup id                  -> struct ksm_estimate_cgroup
 *   contents: key struct ksm_estimate_content_key  -> struct ksm_estimate_content
 *
 * A content is the first copy of some page content in the pass (the page
 * that waits in ksmd's unstable tree: its process's mm and address); every
 * further copy meets it and is counted with it, by cgroup. Merging would
 * make one ksm page of each content (max_page_sharing aside), mapped by all
 * of its copies. Counts are only taken in the pass the program is told
 * (counting_pass); a full map or a content with copies in more than
 * KSM_ESTIMATE_CONTENT_CGROUPS cgroups is counted in the program's totals,
 * and makes the estimate inexact, never silently lost.
 */
#ifndef KSM_ESTIMATE_H
#define KSM_ESTIMATE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Default size of the contents map; `ksmctl estimate max-contents N`. */
#define KSM_ESTIMATE_MAX_CONTENTS	262144
#define KSM_ESTIMATE_MAX_CGROUPS	4096
/* The cgroups of one content's copies that are told apart. */
#define KSM_ESTIMATE_CONTENT_CGROUPS	8

/* enum ksm_observe_kind of the kernel's ksm_observe_page tracepoint. */
#define KSM_ESTIMATE_VOLATILE	0
#define KSM_ESTIMATE_UNIQUE	1
#define KSM_ESTIMATE_MATCH	2
#define KSM_ESTIMATE_ZERO	3

/* Per cgroup: its observed pages that ksmd looked at in the counting pass. */
struct ksm_estimate_cgroup {
	__u64 pages;		/* all of them: the rmap_items merging would keep */
	__u64 volatile_pages;	/* changed since the pass before: not compared */
	__u64 unique_pages;	/* no earlier copy in the pass (first copies too) */
	__u64 matched_pages;	/* a copy of an earlier page of the pass */
	__u64 zero_pages;	/* would map the zero page (use_zero_pages) */
};

struct ksm_estimate_content_key {
	__u64 mm;		/* the first copy's process (an opaque id) */
	__u64 addr;		/* and its address */
};

struct ksm_estimate_content {
	__u64 cgroup_id[KSM_ESTIMATE_CONTENT_CGROUPS];
	__u32 copies[KSM_ESTIMATE_CONTENT_CGROUPS];	/* 0: a free slot */
	__u32 crowded;		/* copies in further cgroups, not told apart */
};

/* The program's state and what its counts miss (its .bss). */
struct ksm_estimate_state {
	__u64 counting_pass;	/* set by ksmctl: the pass (seqnr) to count */
	__u64 counted;		/* 1 once that pass has ended */
	__u64 contents_dropped;	/* matches lost to a full contents map */
	__u64 cgroups_dropped;	/* pages lost to a full cgroups map */
	__u64 crowded;		/* copies in a content's ninth or later cgroup */
};

#endif /* KSM_ESTIMATE_H */
