// SPDX-License-Identifier: GPL-2.0
/*
 * Per-process and per-cgroup KSM statistics, kept by programs on the ksm
 * tracepoints in the maps of include/ksm_stats.h. `ksmctl stats enable`
 * loads this object (built into ksmctl), pins the maps and links under
 * /sys/fs/bpf/ksm/ and leaves it running.
 *
 * On a kernel with the ksm-bpf series the events name the process and its
 * cgroup. On an upstream kernel (>= 6.7) only the upstream events exist:
 * ksmctl then loads the *_upstream programs instead, which find the process
 * through the mm's owner and count merges only.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "ksm_stats.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_STATS_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ksm_proc_stats);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_STATS_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct ksm_cgroup_stats);
} cgroups SEC(".maps");

/* The entry of a process or a cgroup, made on its first event. */
static struct ksm_proc_stats *proc_entry(__u32 tgid, __u64 now)
{
	struct ksm_proc_stats *st, zero = {};

	if (!tgid)
		return NULL;
	st = bpf_map_lookup_elem(&procs, &tgid);
	if (!st) {
		bpf_map_update_elem(&procs, &tgid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&procs, &tgid);
		if (!st)
			return NULL;
	}
	st->last_seen_ns = now;
	return st;
}

static struct ksm_cgroup_stats *cgroup_entry(__u64 cgroup_id, __u64 now)
{
	struct ksm_cgroup_stats *st, zero = {};

	if (!cgroup_id)
		return NULL;
	st = bpf_map_lookup_elem(&cgroups, &cgroup_id);
	if (!st) {
		bpf_map_update_elem(&cgroups, &cgroup_id, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&cgroups, &cgroup_id);
		if (!st)
			return NULL;
	}
	st->last_seen_ns = now;
	return st;
}

/* What an event counts into: its process's counters and its cgroup's. */
struct targets {
	struct ksm_counters *proc;
	struct ksm_counters *cgroup;
};

static struct targets targets_of(__u32 tgid, __u64 cgroup_id)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct ksm_proc_stats *p = proc_entry(tgid, now);
	struct ksm_cgroup_stats *c = cgroup_entry(cgroup_id, now);
	struct targets t = {};

	if (p) {
		p->cgroup_id = cgroup_id;
		t.proc = &p->counters;
	}
	if (c)
		t.cgroup = &c->counters;
	return t;
}

/*
 * Both entries get the same update: @field of struct ksm_counters += @n.
 * Other CPUs may update the same entry (a fault and ksmd), hence the atomics.
 */
#define COUNT(t, field, n)						\
	({								\
		if ((t).proc)						\
			__sync_fetch_and_add(&(t).proc->field, n);	\
		if ((t).cgroup)						\
			__sync_fetch_and_add(&(t).cgroup->field, n);	\
	})

/* Add @merging pages and @profit bytes (either may be negative) to a cgroup's sums. */
static void cgroup_add_sharing(__u64 cgroup_id, __s64 merging, __s64 profit)
{
	struct ksm_cgroup_stats *cg;

	if (!cgroup_id || (!merging && !profit))
		return;
	cg = bpf_map_lookup_elem(&cgroups, &cgroup_id);
	if (!cg)
		return;
	__sync_fetch_and_add(&cg->merging_pages, merging);
	__sync_fetch_and_add(&cg->profit, profit);
}

SEC("tracepoint/ksm/ksm_mm_scanned")
int ksm_mm_scanned(struct trace_event_raw_ksm_mm_scanned *e)
{
	/* Read the event once: the verifier refuses context reads at computed offsets. */
	__u64 cgroup_id = e->cgroup_id, domain = e->domain;
	__u64 scanned = e->pages_scanned, skipped_pages = e->pages_skipped;
	__s64 merging = e->merging_pages, profit = e->profit;
	__u64 now = bpf_ktime_get_boot_ns();
	struct ksm_cgroup_stats *cg;
	struct ksm_proc_stats *st;
	bool skipped = e->skipped;
	__u32 tgid = e->tgid;
	struct targets t;

	barrier_var(merging);
	barrier_var(profit);
	st = proc_entry(tgid, now);
	cg = cgroup_entry(cgroup_id, now);
	t.proc = st ? &st->counters : NULL;
	t.cgroup = cg ? &cg->counters : NULL;
	if (skipped) {
		COUNT(t, policy_skipped_passes, 1);
	} else {
		COUNT(t, passes, 1);
		COUNT(t, pages_scanned, scanned);
		COUNT(t, policy_skipped_pages, skipped_pages);
	}
	if (!st)	/* its owner is gone: nothing to follow */
		return 0;
	/* The cgroup sums follow the process, also when it moved. */
	if (st->cgroup_id != cgroup_id) {
		cgroup_add_sharing(st->cgroup_id, -st->merging_pages, -st->profit);
		st->merging_pages = st->profit = 0;
	}
	cgroup_add_sharing(cgroup_id, merging - st->merging_pages, profit - st->profit);
	st->cgroup_id = cgroup_id;
	st->domain = domain;
	st->merging_pages = merging;
	st->profit = profit;
	return 0;
}

SEC("tracepoint/ksm/ksm_merge_page")
int ksm_merge_page(struct trace_event_raw_ksm_merge_page *e)
{
	struct targets t = targets_of(e->tgid, e->cgroup_id);

	COUNT(t, pages_merged, 1);
	if (e->stable)
		COUNT(t, pages_joined, 1);
	return 0;
}

SEC("tracepoint/ksm/ksm_cow_unshare")
int ksm_cow_unshare(struct trace_event_raw_ksm_cow_unshare *e)
{
	struct targets t = targets_of(e->tgid, e->cgroup_id);

	if (e->unshare)
		COUNT(t, unshares, 1);
	else
		COUNT(t, cow_writes, 1);
	return 0;
}

/* Upstream kernels: the owner of an mm, read the way the kernel would. */
static __u32 mm_owner_tgid(struct mm_struct *mm, __u64 *cgroup_id)
{
	struct task_struct *owner = BPF_CORE_READ(mm, owner);

	if (!owner)
		return 0;
	*cgroup_id = BPF_CORE_READ(owner, cgroups, dfl_cgrp, kn, id);
	return BPF_CORE_READ(owner, tgid);
}

SEC("tracepoint/ksm/ksm_merge_with_ksm_page")
int ksm_merge_with_ksm_page_upstream(struct trace_event_raw_ksm_merge_with_ksm_page *e)
{
	__u64 cgroup_id = 0;
	struct targets t;
	__u32 tgid;

	if (e->err)
		return 0;
	tgid = mm_owner_tgid(e->mm, &cgroup_id);
	t = targets_of(tgid, cgroup_id);
	COUNT(t, pages_merged, 1);
	if (e->ksm_page)
		COUNT(t, pages_joined, 1);
	return 0;
}

/*
 * A process is gone when its leader exits: drop its entry, and what it
 * shared from its cgroup's sums (its pages are unmapped now).
 */
SEC("tracepoint/sched/sched_process_exit")
int process_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ksm_proc_stats *st;
	__u32 tgid = id >> 32;

	if ((__u32)id != tgid)
		return 0;
	st = bpf_map_lookup_elem(&procs, &tgid);
	if (!st)
		return 0;
	cgroup_add_sharing(st->cgroup_id, -st->merging_pages, -st->profit);
	bpf_map_delete_elem(&procs, &tgid);
	return 0;
}

/* A removed cgroup's entry goes with it. */
SEC("tracepoint/cgroup/cgroup_rmdir")
int cgroup_rmdir(struct trace_event_raw_cgroup *e)
{
	__u64 id = e->id;

	bpf_map_delete_elem(&cgroups, &id);
	return 0;
}
