/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One full scan of ksmd as bench/ksm_pass_cost.bpf.c records it, between the
 * tracepoints ksm:ksm_start_scan and ksm:ksm_stop_scan, and the points within
 * a scan it can also record (each time ksmd leaves the CPU). Shared with the
 * programs that read the records from the ring buffers (bench/ksm_pass_reader.c).
 */
#ifndef KSM_PASS_COST_H
#define KSM_PASS_COST_H

/* What KSM has merged, the kernel's own counters behind sysfs, at one instant. */
struct ksm_sharing_state {
	__u64 pages_sharing;
	__u64 pages_shared;
	__u64 zero_pages;	/* merged with the kernel's zero page (use_zero_pages=1) */
	__u64 rmap_items;
	__s64 general_profit;	/* as sysfs general_profit computes it, in bytes */
};

struct ksm_pass_cost {
	__u64 seq;		/* ksm_scan.seqnr: full scans completed before this one */
	__u64 runtime_ns;	/* ksmd's CPU time from start to stop, exact */
	/*
	 * The same from se.sum_exec_runtime read as is, which the scheduler
	 * brings up to date only at a tick or a switch: off by up to a tick at
	 * each end. Kept to show why runtime_ns is not taken from it alone.
	 */
	__u64 sum_exec_runtime_ns;
	__u64 pages_scanned;	/* sysfs pages_scanned's increase in the pass */
	__u64 pages_skipped;	/* sysfs pages_skipped's (smart_scan) */
	/* Pages a BPF policy skipped (KSM_PAGE_SKIP): 0 on the unpatched kernel. */
	__u64 pages_policy_skipped;
	__u64 end_ns;		/* the guest clock at the stop */
	/* At the start, the totals of struct ksm_scan_sample, and the clock. */
	__u64 start_runtime_total_ns;
	__u64 start_visited_total;
	__u64 start_ns;
	struct ksm_sharing_state state;	/* at the stop */
	__u32 rmap_items;	/* the tracepoints' rmap_entries, at stop */
	__u32 switches;		/* times ksmd left the CPU during the pass */
};

/*
 * A point within a pass, when ksmd left the CPU (the sleep after a batch, or
 * a preemption): only when the loader set sample_switches. Totals, to be
 * taken from the same totals at the start of a pass (struct ksm_pass_cost).
 */
struct ksm_scan_sample {
	__u64 seq;		/* the pass it fell in (or the last one ended) */
	__u64 runtime_ns;	/* ksmd's se.sum_exec_runtime, exact */
	/* scanned + smart_scan-skipped (since boot) + policy-skipped (since load) */
	__u64 pages_visited;
	__u64 time_ns;		/* the guest clock */
	struct ksm_sharing_state state;
};

#endif /* KSM_PASS_COST_H */
