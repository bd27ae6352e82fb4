/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The statistics maps of bpf/ksm_stats.bpf.c, pinned by `ksmctl stats enable`
 * under /sys/fs/bpf/ksm/ and read by ksmctl (and by `bpftool map dump`, which
 * prints these names from the maps' BTF).
 *
 *   procs:   key __u32 tgid      -> struct ksm_proc_stats
 *   cgroups: key __u64 cgroup id -> struct ksm_cgroup_stats
 *
 * Counters only grow. What is shared now (merging_pages, profit) is the
 * kernel's own per-process count as ksmd last saw it (/proc/PID/ksm_stat),
 * and its sum per cgroup, kept current from the deltas: nothing walks the
 * processes to read it. Entries go when their process exits or their
 * cgroup is removed.
 */
#ifndef KSM_STATS_H
#define KSM_STATS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

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
	__u64 cgroup_id;		/* cgroup v2 id when last seen */
	__u64 domain;			/* merge domain when last scanned */
	__u64 last_seen_ns;		/* CLOCK_BOOTTIME of the last event */
	__s64 merging_pages;		/* its pages sharing a ksm page, last pass */
	__s64 profit;			/* bytes saved net of KSM's own cost, last pass */
	struct ksm_counters counters;
};

struct ksm_cgroup_stats {
	__u64 last_seen_ns;
	__s64 merging_pages;		/* sum over its processes */
	__s64 profit;			/* sum over its processes */
	struct ksm_counters counters;
};

#endif /* KSM_STATS_H */
