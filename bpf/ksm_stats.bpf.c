// SPDX-License-Identifier: GPL-2.0
/*
 * Per-process and per-cgroup KSM statistics, kept by programs on the ksm
 * tracepoints in the maps of include/ksm_stats.h. `ksmctl stats enable`
 * loads this object (built into ksmctl), pins the maps and links under
 * /sys/fs/bpf/ksm/ and leaves it running.
 *
 * On a kernel with the ksm-bpf series the events name the process and its
 * cgroup. On an upstream kernel (>= 6.7) only the upstream events exist:
 * ksmctl then loads the *_upstream programs instead, which count merges only.
 *
 * The events ksmd makes per page (a merge, a mapping joining or leaving a
 * ksm page) are taken as raw tracepoints: the program gets the event's
 * arguments and finds the process and its cgroup itself, through the mm's
 * owner as the kernel does for the event's record. A classic tracepoint
 * program would first have the record made in a perf buffer. The events of
 * a pass or a policy are rare and stay classic.
 *
 * Copy-on-write breaks and unshares happen in the tenants' own faults, where
 * no program runs: the kernel counts them per mm (/proc/PID/ksm_stat), and
 * the counts are folded in here (see mm_folds).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "ksm_stats.h"

/* What bpf_map_update_elem() returns for a full map, a key it has (no errno.h here). */
#define E2BIG	7
#define EEXIST	17

extern void *bpf_rdonly_cast(const void *obj, u32 btf_id) __ksym;

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

/* Mappable: ksmctl sets sharing_partial without rewriting the counters. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ksm_stats_totals);
} totals SEC(".maps");

/* Who shares with whom: the result, per pair of cgroups. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_STATS_MAX_PAIRS);
	__type(key, struct ksm_sharing_pair);
	__type(value, __u64);
} sharing SEC(".maps");

/* ... and what it is kept from, by rmap_item, stable node and mm. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_STATS_MAX_MAPPINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct ksm_sharing_mapping);
} mappings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_STATS_MAX_MAPPINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct ksm_sharing_page);
} ksm_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_STATS_MAX_PROCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct ksm_sharing_owner);
} owners SEC(".maps");

/*
 * Each mm's copy-on-write counts as they were folded into its process's and
 * cgroup's counters, and where: the kernel's counts (mm->ksm_cow_writes,
 * mm->ksm_unshares) are folded when ksmd scans the process, when it moves to
 * another cgroup and when its mm goes away, so that a cgroup has the breaks
 * made while the process was in it. An entry is made by ksmd's first scan of
 * the mm, or at fork for a child that inherits ksm pages, and goes with the
 * mm (ksm_exit, or the exit of its process if the mm left KSM before); an mm
 * without one (a full map: counted in totals) has all its counts folded when
 * it goes.
 */
struct mm_folded {
	__u64 cow_writes;
	__u64 unshares;
	__u64 cgroup_id;		/* where the counts since go */
	__u32 tgid;
	/*
	 * Made at fork and not scanned since: the mm may map ksm pages that its
	 * ksm_merging_pages does not count yet (ksm_fork() starts it at 0), so
	 * its own children are followed too.
	 */
	__u32 from_fork;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_STATS_MAX_PROCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct mm_folded);
} mm_folds SEC(".maps");

/* One more in the totals' field at @offset. */
static __always_inline void totals_inc(__u64 offset)
{
	__u32 zero = 0;
	char *t = bpf_map_lookup_elem(&totals, &zero);

	if (t)
		__sync_fetch_and_add((__u64 *)(t + offset), 1);
}

/*
 * The entry of a process or a cgroup, made on its first event. A full map
 * is counted (another CPU may have made the entry meanwhile: that is no
 * drop). Out of line: an event that finds its entries, nearly every one,
 * does not build a new one on its stack.
 */
static __noinline struct ksm_proc_stats *proc_entry_new(__u32 tgid)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct ksm_proc_stats fresh = { .first_seen_ns = now, .last_seen_ns = now };

	if (bpf_map_update_elem(&procs, &tgid, &fresh, BPF_NOEXIST) == -E2BIG)
		totals_inc(offsetof(struct ksm_stats_totals, procs_dropped));
	return bpf_map_lookup_elem(&procs, &tgid);
}

static __noinline struct ksm_cgroup_stats *cgroup_entry_new(__u64 cgroup_id)
{
	struct ksm_cgroup_stats fresh = { .last_seen_ns = bpf_ktime_get_boot_ns() };

	if (bpf_map_update_elem(&cgroups, &cgroup_id, &fresh, BPF_NOEXIST) == -E2BIG)
		totals_inc(offsetof(struct ksm_stats_totals, cgroups_dropped));
	return bpf_map_lookup_elem(&cgroups, &cgroup_id);
}

static __always_inline struct ksm_proc_stats *proc_entry(__u32 tgid)
{
	struct ksm_proc_stats *st;

	if (!tgid)
		return NULL;
	st = bpf_map_lookup_elem(&procs, &tgid);
	return st ?: proc_entry_new(tgid);
}

static __always_inline struct ksm_cgroup_stats *cgroup_entry(__u64 cgroup_id)
{
	struct ksm_cgroup_stats *st;

	if (!cgroup_id)
		return NULL;
	st = bpf_map_lookup_elem(&cgroups, &cgroup_id);
	return st ?: cgroup_entry_new(cgroup_id);
}

/* What an event counts into: its process's counters and its cgroup's. */
struct targets {
	struct ksm_counters *proc;
	struct ksm_counters *cgroup;
};

/* The event's cgroup gets its counts; the process's cgroup_id is ksm_mm_scanned()'s. */
static __always_inline struct targets targets_of(__u32 tgid, __u64 cgroup_id)
{
	struct ksm_proc_stats *p = proc_entry(tgid);
	struct ksm_cgroup_stats *c = cgroup_entry(cgroup_id);
	struct targets t = {};

	if (p)
		t.proc = &p->counters;
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

	st = proc_entry(tgid);
	cg = cgroup_entry(cgroup_id);
	t.proc = st ? &st->counters : NULL;
	t.cgroup = cg ? &cg->counters : NULL;
	/* Once a pass: the events of each page do not read the clock. */
	if (cg)
		cg->last_seen_ns = now;
	if (skipped) {
		COUNT(t, policy_skipped_passes, 1);
	} else {
		COUNT(t, passes, 1);
		COUNT(t, pages_scanned, scanned);
		COUNT(t, policy_skipped_pages, skipped_pages);
	}
	if (!st)	/* its owner is gone: nothing to follow */
		return 0;
	st->last_seen_ns = now;
	st->cgroup_id = cgroup_id;
	st->domain = domain;
	st->merging_pages = merging;
	st->profit = profit;
	return 0;
}

/*
 * The process owning @mm and its cgroup, as the kernel names them in the
 * events' records (ksm_mm_tgid(), ksm_mm_cgroup_id()): 0 and 0 when the
 * owner is gone. Raw tracepoints run under RCU, which keeps the owner.
 */
struct process {
	__u32 tgid;
	__u64 cgroup_id;
};

static __always_inline struct process process_of(const struct mm_struct *mm)
{
	struct task_struct *owner = mm->owner;
	struct process p = {};

	if (!owner)
		return p;
	p.tgid = owner->tgid;
	p.cgroup_id = owner->cgroups->dfl_cgrp->kn->id;
	return p;
}

/*
 * An mm the event gives untyped (a raw tracepoint's arguments of type
 * const void * cannot be typed, and upstream's events give void *).
 */
static __always_inline const struct mm_struct *mm_of(void *mm)
{
	return bpf_rdonly_cast(mm, bpf_core_type_id_kernel(struct mm_struct));
}

SEC("tp_btf/ksm_merge_page")
int BPF_PROG(ksm_merge_page, struct mm_struct *mm, unsigned long addr, unsigned long kpfn,
	     u64 domain, bool stable)
{
	struct process p = process_of(mm);
	struct targets t = targets_of(p.tgid, p.cgroup_id);

	COUNT(t, pages_merged, 1);
	if (stable)
		COUNT(t, pages_joined, 1);
	return 0;
}

/*
 * What @count gained since @folded, which takes it; 0 if another fold (a
 * move racing ksmd) took it first. Each break is counted once.
 */
static __always_inline __u64 fold_counter(__u64 *folded, __u64 count)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)folded;

		if (count <= old)
			return 0;
		if (__sync_val_compare_and_swap(folded, old, count) == old)
			return count - old;
	}
	return 0;
}

/* @mm's counts since its last fold go to its process (if still there) and cgroup. */
static __always_inline void fold_mm(const struct mm_struct *mm, struct mm_folded *f, bool gone)
{
	__u64 cow_writes = fold_counter(&f->cow_writes, mm->ksm_cow_writes.counter);
	__u64 unshares = fold_counter(&f->unshares, mm->ksm_unshares.counter);
	struct ksm_proc_stats *p;
	struct targets t;

	if (!cow_writes && !unshares)
		return;
	/* A process that is gone gets no new entry: only an entry it still has. */
	t = targets_of(gone ? 0 : f->tgid, f->cgroup_id);
	p = gone ? bpf_map_lookup_elem(&procs, &f->tgid) : NULL;
	if (p)
		t.proc = &p->counters;
	COUNT(t, cow_writes, cow_writes);
	COUNT(t, unshares, unshares);
}

/* The entry of @mm in mm_folds, or NULL. */
static __always_inline struct mm_folded *folded_of(const void *mm)
{
	__u64 key = (__u64)mm;

	return bpf_map_lookup_elem(&mm_folds, &key);
}

/*
 * A new entry for @mm, or NULL when the map is full: the mm's counts then
 * reach its cgroup only when it goes, which totals say.
 */
static __noinline struct mm_folded *folded_new(const void *mm, struct mm_folded *fresh,
					       __u64 flags)
{
	__u64 key = (__u64)mm;

	if (bpf_map_update_elem(&mm_folds, &key, fresh, flags) == -E2BIG)
		totals_inc(offsetof(struct ksm_stats_totals, cow_folds_deferred));
	return bpf_map_lookup_elem(&mm_folds, &key);
}

/* @mm goes: what it broke since its last fold is counted, and its entry goes. */
static __always_inline void fold_and_forget(const struct mm_struct *mm, struct mm_folded *f)
{
	__u64 key = (__u64)mm;

	fold_mm(mm, f, true);
	bpf_map_delete_elem(&mm_folds, &key);
}

/*
 * An entry left by an earlier mm at the same address (one whose process
 * exec'd after it left KSM, so that neither exit removed it): the counts of
 * the mm it was made for never go below what was folded from them. The
 * folded count is read first, so that a fold racing this one cannot make a
 * live entry look stale.
 */
static __always_inline bool record_is_stale(const struct mm_struct *mm, struct mm_folded *f)
{
	__u64 cow_writes = *(volatile __u64 *)&f->cow_writes;
	__u64 unshares = *(volatile __u64 *)&f->unshares;

	return (__u64)mm->ksm_cow_writes.counter < cow_writes ||
	       (__u64)mm->ksm_unshares.counter < unshares;
}

/* An mm scanned (ksmd holds its mmap_lock, which its exit waits for) is folded. */
SEC("tp_btf/ksm_mm_scanned")
int BPF_PROG(fold_cow_at_scan, struct mm_struct *mm, u64 domain, unsigned long pages_scanned,
	     unsigned long pages_skipped, bool skipped)
{
	struct process p = process_of(mm);
	struct mm_folded *f, fresh = { .tgid = p.tgid, .cgroup_id = p.cgroup_id };

	/* A skip is reported without the lock; an mm gone was folded by its exit. */
	if (skipped || !mm->mm_users.counter || !p.tgid)
		return 0;
	f = folded_of(mm);
	if (!f) {
		f = folded_new(mm, &fresh, BPF_NOEXIST);
		if (!f)
			return 0;
	} else if (record_is_stale(mm, f)) {
		f->cow_writes = 0;
		f->unshares = 0;
	}
	fold_mm(mm, f, false);
	f->tgid = p.tgid;
	f->cgroup_id = p.cgroup_id;
	f->from_fork = 0;		/* a whole scan counted what it maps */
	return 0;
}

/*
 * A child inherits its parent's ksm pages and may break them before ksmd ever
 * scans it: its entry is made now, before it runs (so before its mm can go),
 * so that a move folds them where it was, and an exit whose mm another task
 * drops last (a /proc reader) does not count them in that task's cgroup. Any
 * entry at the new mm's address is an earlier mm's, and is replaced.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(fold_cow_from_fork, struct task_struct *parent, struct task_struct *child)
{
	struct mm_struct *mm = child->mm, *inherited = parent->mm;
	struct mm_folded *pf;
	struct process p;

	if (!mm || !inherited || mm == inherited)
		return 0;
	if (!inherited->ksm_merging_pages) {
		/* The parent may itself be a child ksmd has not scanned yet. */
		pf = folded_of(inherited);
		if (!pf || !pf->from_fork)
			return 0;
	}
	p = process_of(mm);		/* dup_mm() made the child its owner */
	folded_new(mm, &(struct mm_folded){ .tgid = p.tgid, .cgroup_id = p.cgroup_id,
					    .from_fork = 1 }, BPF_ANY);
	return 0;
}

/* Fired after the move: what the process broke before it counts where it was. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(fold_cow_at_move, struct cgroup *dst_cgrp, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	struct mm_struct *mm = task->mm;
	struct mm_folded *f;
	struct process p;

	/* No entry is made here: one would outlive an mm whose exit raced the move. */
	f = mm ? folded_of(mm) : NULL;
	if (!f)
		return 0;
	fold_mm(mm, f, false);
	p = process_of(mm);
	if (p.tgid) {
		f->tgid = p.tgid;
		f->cgroup_id = p.cgroup_id;
		/* Its counters are the new cgroup's word, not its processes' sum. */
		cgroup_entry(p.cgroup_id);
	}
	return 0;
}

/*
 * The mm goes (upstream's event, from its last user's exit or exec). One never
 * folded counts where its owner was, or else where the task dropping it is.
 */
SEC("tp_btf/ksm_exit")
int BPF_PROG(fold_cow_at_exit, void *mm_ptr)
{
	const struct mm_struct *mm = mm_of(mm_ptr);
	struct mm_folded *f = folded_of(mm), last = {};
	struct process p;

	if (f) {
		fold_and_forget(mm, f);
		return 0;
	}
	p = process_of(mm);
	last.tgid = p.tgid ?: bpf_get_current_pid_tgid() >> 32;
	last.cgroup_id = p.tgid ? p.cgroup_id : bpf_get_current_cgroup_id();
	fold_mm(mm, &last, true);
	return 0;
}

/*
 * The last thread of a process has exited: if it was its mm's last user and
 * the mm had left KSM (ksmd drops an mm without mergeable areas), no
 * ksm_exit removed its entry. do_exit() keeps the mm as active_mm until the
 * task is switched out.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(fold_cow_at_process_exit, struct task_struct *task)
{
	struct mm_struct *mm = task->active_mm;
	struct mm_folded *f;

	if (!mm || task->signal->live.counter || mm->mm_users.counter)
		return 0;
	f = folded_of(mm);
	if (f)
		fold_and_forget(mm, f);
	return 0;
}

SEC("tp_btf/ksm_merge_with_ksm_page")
int BPF_PROG(ksm_merge_with_ksm_page_upstream, void *ksm_page, unsigned long pfn,
	     void *rmap_item, void *mm, int err)
{
	struct process p;
	struct targets t;

	if (err)
		return 0;
	p = process_of(mm_of(mm));
	t = targets_of(p.tgid, p.cgroup_id);
	COUNT(t, pages_merged, 1);
	if (ksm_page)
		COUNT(t, pages_joined, 1);
	return 0;
}

/*
 * A process is gone when its last thread exits, which need not be its
 * leader (a leader that calls pthread_exit() leaves the others running):
 * do_exit() has counted the thread out of signal->live by this event.
 */
SEC("tracepoint/sched/sched_process_exit")
int process_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (BPF_CORE_READ(task, signal, live.counter))
		return 0;
	bpf_map_delete_elem(&procs, &tgid);
	return 0;
}

SEC("tracepoint/ksm/ksm_policy_attach")
int policy_attach(void *ctx)
{
	totals_inc(offsetof(struct ksm_stats_totals, policy_attached));
	return 0;
}

SEC("tracepoint/ksm/ksm_policy_eject")
int policy_eject(void *ctx)
{
	totals_inc(offsetof(struct ksm_stats_totals, policy_ejected));
	return 0;
}

/*
 * Who shares with whom. A ksm page counts for a pair of cgroups while both
 * map it, for a cgroup alone while it maps it twice or more. ksmd makes
 * every join and leave under ksm_thread_mutex, so the records of a page
 * change one event at a time; the pair counts are atomic anyway.
 */
static void pair_add(__u64 a, __u64 b, __s64 delta)
{
	struct ksm_sharing_pair key = { .cgroup_a = a < b ? a : b, .cgroup_b = a < b ? b : a };
	__u64 zero = 0, *pages;

	pages = bpf_map_lookup_elem(&sharing, &key);
	if (!pages && delta > 0) {
		if (bpf_map_update_elem(&sharing, &key, &zero, BPF_NOEXIST) == -E2BIG)
			totals_inc(offsetof(struct ksm_stats_totals, sharing_pairs_dropped));
		pages = bpf_map_lookup_elem(&sharing, &key);
	}
	if (!pages)	/* dropped when it began: it stays uncounted */
		return;
	if (!__sync_add_and_fetch(pages, delta))
		bpf_map_delete_elem(&sharing, &key);
}

/* A mapping of @cgroup_id joins ksm page @page: false if it cannot count. */
static bool page_join(__u64 page, __u64 cgroup_id)
{
	__u32 i, free = KSM_SHARING_PAGE_CGROUPS;
	struct ksm_sharing_page *p;

	p = bpf_map_lookup_elem(&ksm_pages, &page);
	if (!p) {
		struct ksm_sharing_page empty = {};

		bpf_map_update_elem(&ksm_pages, &page, &empty, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&ksm_pages, &page);
		if (!p) {
			totals_inc(offsetof(struct ksm_stats_totals, sharing_dropped));
			return false;
		}
	}
	for (i = 0; i < KSM_SHARING_PAGE_CGROUPS; i++) {
		if (!p->mappings[i]) {
			if (free == KSM_SHARING_PAGE_CGROUPS)
				free = i;
			continue;
		}
		if (p->cgroup_id[i] != cgroup_id)
			continue;
		if (++p->mappings[i] == 2)
			pair_add(cgroup_id, cgroup_id, 1);
		return true;
	}
	if (free >= KSM_SHARING_PAGE_CGROUPS) {
		totals_inc(offsetof(struct ksm_stats_totals, sharing_crowded));
		return false;
	}
	for (i = 0; i < KSM_SHARING_PAGE_CGROUPS; i++)
		if (p->mappings[i])
			pair_add(cgroup_id, p->cgroup_id[i], 1);
	p->cgroup_id[free] = cgroup_id;
	p->mappings[free] = 1;
	return true;
}

static void page_leave(__u64 page, __u64 cgroup_id)
{
	struct ksm_sharing_page *p = bpf_map_lookup_elem(&ksm_pages, &page);
	__u32 i, j, left = 0;

	if (!p)
		return;
	for (i = 0; i < KSM_SHARING_PAGE_CGROUPS; i++) {
		if (!p->mappings[i] || p->cgroup_id[i] != cgroup_id)
			continue;
		p->mappings[i]--;
		if (p->mappings[i] == 1)
			pair_add(cgroup_id, cgroup_id, -1);
		if (p->mappings[i])
			return;
		for (j = 0; j < KSM_SHARING_PAGE_CGROUPS; j++) {
			if (p->mappings[j]) {
				pair_add(cgroup_id, p->cgroup_id[j], -1);
				left++;
			}
		}
		if (!left)
			bpf_map_delete_elem(&ksm_pages, &page);
		return;
	}
}

struct move {
	__u64 mm, from, to;
};

static long move_mapping(struct bpf_map *map, __u64 *rmap_item, struct ksm_sharing_mapping *m,
			 struct move *mv)
{
	if (m->mm != mv->mm || m->cgroup_id != mv->from)
		return 0;
	page_leave(m->ksm_page, mv->from);
	m->cgroup_id = page_join(m->ksm_page, mv->to) ? mv->to : 0;
	return 0;
}

/*
 * The record of process @mm, its mappings counted in the cgroup it is in
 * now (@cgroup_id, 0 when the event could not say): a move changes none
 * of its mappings in the kernel, so they are moved here, once, with a walk
 * of the records. @make: make a record if it has none.
 */
static struct ksm_sharing_owner *owner_of(__u64 mm, __u64 cgroup_id, bool make)
{
	struct ksm_sharing_owner *o = bpf_map_lookup_elem(&owners, &mm);

	if (!o) {
		struct ksm_sharing_owner fresh = { .cgroup_id = cgroup_id };

		if (!make)
			return NULL;
		bpf_map_update_elem(&owners, &mm, &fresh, BPF_NOEXIST);
		return bpf_map_lookup_elem(&owners, &mm);
	}
	if (cgroup_id && o->cgroup_id != cgroup_id) {
		struct move mv = { .mm = mm, .from = o->cgroup_id, .to = cgroup_id };

		o->cgroup_id = cgroup_id;
		bpf_for_each_map_elem(&mappings, move_mapping, &mv, 0);
	}
	return o;
}

/*
 * The record of merged mapping @rmap_item goes, and its counts with it; @o is
 * its process's record when the caller has it.
 */
static void mapping_leave(__u64 rmap_item, struct ksm_sharing_owner *o)
{
	struct ksm_sharing_mapping *m = bpf_map_lookup_elem(&mappings, &rmap_item);

	if (!m)		/* merged before the programs ran, or dropped */
		return;
	if (m->cgroup_id)
		page_leave(m->ksm_page, m->cgroup_id);
	if (!o)
		o = bpf_map_lookup_elem(&owners, &m->mm);
	if (o && !--o->mappings)
		bpf_map_delete_elem(&owners, &m->mm);
	bpf_map_delete_elem(&mappings, &rmap_item);
}

/*
 * A record of merged mapping @rmap_item of process @mm on ksm page @page,
 * counted where its process's mappings count: 0, or -EEXIST, with nothing
 * changed, if it has one already.
 */
static long mapping_join(__u64 mm, __u64 rmap_item, __u64 page)
{
	struct ksm_sharing_mapping fresh = { .ksm_page = page, .mm = mm };
	struct ksm_sharing_owner *o;
	long err;

	o = owner_of(mm, process_of(mm_of((void *)mm)).cgroup_id, true);
	if (!o) {
		totals_inc(offsetof(struct ksm_stats_totals, sharing_dropped));
		return 0;
	}
	if (o->cgroup_id && page_join(page, o->cgroup_id))
		fresh.cgroup_id = o->cgroup_id;
	err = bpf_map_update_elem(&mappings, &rmap_item, &fresh, BPF_NOEXIST);
	if (!err) {
		o->mappings++;
		return 0;
	}
	if (fresh.cgroup_id)
		page_leave(page, fresh.cgroup_id);
	if (err == -EEXIST)
		return err;
	totals_inc(offsetof(struct ksm_stats_totals, sharing_dropped));
	return 0;
}

SEC("raw_tp/ksm_rmap_join")
int BPF_PROG(ksm_rmap_join, void *mm, void *rmap_item, void *stable_node, unsigned long kpfn)
{
	/* Never two records of one mapping: one left over goes first. */
	if (mapping_join((__u64)mm, (__u64)rmap_item, (__u64)stable_node) == -EEXIST) {
		mapping_leave((__u64)rmap_item, NULL);
		mapping_join((__u64)mm, (__u64)rmap_item, (__u64)stable_node);
	}
	return 0;
}

SEC("raw_tp/ksm_rmap_leave")
int BPF_PROG(ksm_rmap_leave, void *mm, void *rmap_item, void *stable_node, unsigned long kpfn)
{
	struct ksm_sharing_owner *o;

	o = owner_of((__u64)mm, process_of(mm_of(mm)).cgroup_id, false);
	mapping_leave((__u64)rmap_item, o);
	return 0;
}

/* A process that moved takes its mappings along (see owner_of()). */
SEC("tracepoint/ksm/ksm_mm_scanned")
int ksm_mm_moved(struct trace_event_raw_ksm_mm_scanned *e)
{
	owner_of((__u64)e->mm, e->cgroup_id, false);
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
