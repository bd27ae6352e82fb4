/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The statistics maps of bpf/ksm_stats.bpf.c, pinned by `ksmctl stats enable`
 * under /sys/fs/bpf/ksm/ and read by ksmctl (and by `bpftool map dump`, which
 * prints these names from the maps' BTF).
 *
 *   procs:   key __u32 tgid      -> struct ksm_proc_stats
 *   cgroups: key __u64 cgroup id -> struct ksm_cgroup_stats
 *   totals:  key __u32 0         -> struct ksm_stats_totals
 *   sharing: key struct ksm_sharing_pair -> __u64 ksm pages both map now
 *
 * Counters only grow, and count events: a cgroup's include those of its
 * processes that exited or moved away. What is shared now is not kept
 * here: ksmctl reads it from the kernel (/proc/PID/ksm_stat) when asked,
 * which is exact. Copy-on-write breaks and unshares are counted by the
 * kernel per process (ksm_stat's ksm_cow_writes and ksm_unshares, no
 * program in the fault path) and folded into these counters when ksmd
 * scans the process, when it moves to another cgroup and when it exits:
 * the maps have them as of then, and ksmctl shows a process's from the
 * kernel, as they are now (a fold that finds no room waits for the exit,
 * and is counted in totals). A process's entry goes when its last thread
 * exits, a cgroup's when it is removed. An event that finds its map full
 * is counted in totals, never silently lost.
 *
 * Who shares with whom is kept from the kernel's ksm_rmap_join and
 * ksm_rmap_leave events, which fire where ksmd's own pages_shared,
 * pages_sharing and ksm_merging_pages change: the figures are ksmd's (a
 * write to a ksm page counts once ksmd has seen it, as in those). Programs
 * keep, unpinned, each merged mapping (its ksm page and cgroup), each ksm
 * page (the cgroups mapping it, at most KSM_SHARING_PAGE_CGROUPS) and each
 * process (the cgroup its mappings count in, which follows it when it
 * moves); `sharing` holds the result, per pair of cgroups.
 */
#ifndef KSM_STATS_H
#define KSM_STATS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Default sizes of the maps; `ksmctl stats enable max-procs N max-cgroups N`. */
#define KSM_STATS_MAX_PROCS	16384
#define KSM_STATS_MAX_CGROUPS	4096
/* Merged mappings followed for `stats sharing` (`enable --max-mappings`). */
#define KSM_STATS_MAX_MAPPINGS	262144
/* Pairs of cgroups that share ksm pages. */
#define KSM_STATS_MAX_PAIRS	16384
/* Cgroups followed per ksm page; a mapping from one more is counted as crowded. */
#define KSM_SHARING_PAGE_CGROUPS	8

struct ksm_counters {
	__u64 passes;			/* passes in which ksmd scanned the process */
	__u64 pages_scanned;		/* pages checksummed and looked up by ksmd */
	__u64 pages_merged;		/* pages merged (a new ksm page or joining one) */
	__u64 pages_joined;		/* ... of which joined an existing ksm page */
	__u64 cow_writes;		/* writes that broke a ksm page (copy-on-write) */
	__u64 unshares;			/* ksm pages unshared (unmerging, read-only pins) */
	__u64 policy_skipped_pages;	/* pages a policy's scan_page() skipped */
	__u64 policy_skipped_passes;	/* passes a policy's scan_mm() skipped it in */
};

struct ksm_proc_stats {
	__u64 cgroup_id;		/* cgroup v2 id when ksmd last scanned it */
	__u64 domain;			/* merge domain when last scanned */
	__u64 first_seen_ns;		/* CLOCK_BOOTTIME of its first event */
	__u64 last_seen_ns;		/* ... of the last pass ksmd scanned it in */
	__s64 merging_pages;		/* its pages sharing a ksm page, last pass */
	__s64 profit;			/* bytes saved net of KSM's own cost, last pass */
	struct ksm_counters counters;
};

struct ksm_cgroup_stats {
	__u64 last_seen_ns;		/* ... ksmd scanned a process of it in */
	struct ksm_counters counters;	/* events of its processes while in it */
};

/* Since `stats enable`: events lost to a full map, and policy events. */
struct ksm_stats_totals {
	__u64 procs_dropped;		/* a process's entry could not be made */
	__u64 cgroups_dropped;		/* a cgroup's entry could not be made */
	__u64 policy_attached;		/* policies attached (or replacing one) */
	__u64 policy_ejected;		/* policies ejected (error, verdict, watchdog) */
	/* What `sharing` misses: while any is non-zero it is not exact. */
	__u64 sharing_dropped;		/* merged mappings not followed: a map was full */
	__u64 sharing_crowded;		/* ... on ksm pages of too many cgroups */
	__u64 sharing_pairs_dropped;	/* pairs not counted: the sharing map was full */
	__u64 sharing_partial;		/* 1: ksm pages existed before the programs ran */
	/* Times a process's copy-on-write counts found no room to be followed
	 * (at a scan or a fork): its cgroup gets them only when it exits. */
	__u64 cow_folds_deferred;
};

/*
 * A pair of cgroups (v2 ids, a <= b) and the ksm pages both map now. With
 * a == b: the ksm pages the cgroup maps more than once (shares within).
 */
struct ksm_sharing_pair {
	__u64 cgroup_a;
	__u64 cgroup_b;
};

/* The programs' own records (not pinned). */
struct ksm_sharing_mapping {
	__u64 ksm_page;			/* its stable node: an identity */
	__u64 mm;			/* its process's mm: an identity */
	__u64 cgroup_id;		/* where it counts; 0: nowhere (crowded) */
};

struct ksm_sharing_page {
	__u64 cgroup_id[KSM_SHARING_PAGE_CGROUPS];
	__u32 mappings[KSM_SHARING_PAGE_CGROUPS];	/* 0: a free slot */
};

struct ksm_sharing_owner {
	__u64 cgroup_id;		/* where its mappings count */
	__u64 mappings;			/* its mappings followed */
};

#endif /* KSM_STATS_H */
