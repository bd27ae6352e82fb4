/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One full scan of ksmd as bench/ksm_pass_cost.bpf.c records it, between the
 * tracepoints ksm:ksm_start_scan and ksm:ksm_stop_scan. Shared with
 * bench/ksm_scan_cost.c, which reads the records from the ring buffer.
 */
#ifndef KSM_PASS_COST_H
#define KSM_PASS_COST_H

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
	__u32 rmap_items;	/* the tracepoints' rmap_entries, at stop */
	__u32 switches;		/* times ksmd left the CPU during the pass */
};

#endif /* KSM_PASS_COST_H */
