/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The statistics maps of bpf/ksm_stats.bpf.c, pinned by `ksmctl stats enable`
 * under /sys/fs/bpf/ksm/ and read by ksmctl (and by `bpftool map dump`, which
 * prints these names from the maps' BTF).
 *
 *   procs:   key __u32 tgid      -> struct ksm_proc_stats
 *   cgroups: key __u64 cgroup id -> struct ksm_cgroup_stats
 *   totals:  key __u32 0         -> struct ksm_stats_totals
 *
 * Counters only grow, and count events: a cgroup's include those of its
 * processes that exited or moved away. What is shared now is not kept
 * here: ksmctl reads it from the kernel (/proc/PID/ksm_stat) when asked,
 * which is exact. A process's entry goes when its last thread exits, a
 * cgroup's when it is removed. An event that finds its map full is counted
 * in totals, never silently lost.
 */
#ifndef KSM_STATS_H
#define KSM_STATS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Default sizes of the maps; `ksmctl stats enable max-procs N max-cgroups N`. */
#define KSM_STATS_MAX_PROCS	16384
#define KSM_STATS_MAX_CGROUPS	4096

struct ksm_counters {
	__u64 passes;			/* passes in which ksmd scanned the process */
	__u64 pages_scanned;		/* pages checksummed and looked up by ksmd */
	__u64 pages_merged;		/* pages merged (a new ksm page or joining one) */
	__u64 pages_joined;		/* ... of which joined an existing ksm page */
	__u64 cow_writes;		/* writes that broke a ksm page (copy-on-write) */
	__u64 unshares;			/* ksm pages KSM itself unshared (unmerging) */
	__u64 policy_skipped_pages;	/* pages a policy's scan_page() skipped */
	__u64 policy_skipped_passes;	/* passes a policy's scan_mm() skipped it in */
};

struct ksm_proc_stats {
	__u64 cgroup_id;		/* cgroup v2 id when ksmd last scanned it */
	__u64 domain;			/* merge domain when last scanned */
	__u64 first_seen_ns;		/* CLOCK_BOOTTIME of its first event */
	__u64 last_seen_ns;		/* CLOCK_BOOTTIME of the last event */
	__s64 merging_pages;		/* its pages sharing a ksm page, last pass */
	__s64 profit;			/* bytes saved net of KSM's own cost, last pass */
	struct ksm_counters counters;
};

struct ksm_cgroup_stats {
	__u64 last_seen_ns;
	struct ksm_counters counters;	/* events of its processes while in it */
};

/* Since `stats enable`: events lost to a full map, and policy events. */
struct ksm_stats_totals {
	__u64 procs_dropped;		/* a process's entry could not be made */
	__u64 cgroups_dropped;		/* a cgroup's entry could not be made */
	__u64 policy_attached;		/* policies attached (or replacing one) */
	__u64 policy_ejected;		/* policies ejected (error, verdict, watchdog) */
};

#endif /* KSM_STATS_H */
