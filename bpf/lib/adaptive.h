/* SPDX-License-Identifier: GPL-2.0 */
/*
 * adaptive: spend ksmd's scans where they pay.
 *
 * Upstream ksmd scans every registered process in every pass at one fixed
 * pace, whether anything merges or not. This policy
 *
 *  - stops scanning processes whose pages do not merge: after idle_passes
 *    scanned passes in a row without a merge, a process is skipped for
 *    skip_min passes, then scanned once (a probe); each fruitless probe
 *    doubles the skip, up to skip_max passes; one merge resets it. A
 *    skipped process keeps its merged pages, and other processes can still
 *    merge with them (they stay in the stable tree);
 *  - paces ksmd by the yield of the last pass (pages merged per page
 *    scanned): at yield_hi_permille or more, the sysfs pace; below
 *    yield_lo_permille, one step slower per pass, the sleep between
 *    batches doubling from slow_sleep_min_ms up to slow_sleep_max_ms.
 *    The sysfs knobs stay the fastest pace it uses. A pass that meets
 *    processes that registered with KSM since the last pass ended runs at
 *    the sysfs pace (set at its start, or at the end of the pass they
 *    joined behind ksmd's cursor in);
 *  - with merge_known_first_sight (on by default), lets a page of a new
 *    process merge with a ksm page of the same content on its first visit
 *    (KSM_PAGE_STABLE_ONLY: the stable tree only; unknown content waits
 *    for an unchanged checksum, as upstream), so a process that starts
 *    from the same image as others (a new VM or container) merges in the
 *    first pass that sees it. scan_vma() gives the verdict to the
 *    process's VMAs whole (KSM_VMA_STABLE_ONLY; a page that changed since
 *    its last visit gets the default) in the first first_sight_passes
 *    passes that scan it (and after KSM started over), and leaves them to
 *    upstream (KSM_VMA_DEFAULT) in every other: no page costs a call.
 *    Pages a process maps later wait for an unchanged checksum, as
 *    upstream.
 *
 * Merges of zero pages with the kernel's zero page (use_zero_pages=1) are
 * in neither the kernel's count of a process's merged pages nor the pass
 * counters: they do not count here.
 *
 * What it learned is about pages KSM has seen. When KSM starts over
 * (echo 2 > run: every page unmerged, every page and checksum forgotten,
 * passes counted from 0 again), so does the policy: each process's history
 * is dropped when ksmd next reaches it, the pace goes back to sysfs, and
 * the first pass (every page seen for the first time: none can merge yet)
 * is not judged.
 *
 * Use it where many processes are registered with KSM (prctl
 * PR_SET_MEMORY_MERGE, systemd's MemoryKSM=) but few of them share much,
 * or where ksmd's CPU use matters more than how soon new duplicates merge.
 * Do not use it where new duplicates in running processes must merge at
 * once: a skipped process is looked at again only after its skip, and a
 * slowed ksmd takes longer to notice new work in a process it already knows
 * (the first pass whose yield reaches yield_hi_permille restores the full
 * pace). New processes are met at the full pace.
 *
 * What it decided is in the global counters below and, per process, in the
 * map procs (key: tgid); userspace reads them with bpftool.
 *
 * The part of a policy, for adaptive.bpf.c and for policies stacked from
 * it (ksm_policy.bpf.h): its verdicts and pass hooks, its tunables, map
 * and counters. Include after vmlinux.h and ksm_policy.bpf.h.
 */
#ifndef KSM_POLICY_LIB_ADAPTIVE_H
#define KSM_POLICY_LIB_ADAPTIVE_H

/* Tunables, set before load (bpftool gen skeleton, or libbpf's rodata). */
const volatile __u32 idle_passes = 4;		/* scanned passes without a merge before a skip;
						 * the first pass of a page never merges */
const volatile __u32 skip_min = 2;		/* passes skipped the first time */
const volatile __u32 skip_max = 64;		/* cap of the doubling skip */
const volatile __u32 yield_hi_permille = 10;	/* >= 1% merged: the sysfs pace */
const volatile __u32 yield_lo_permille = 1;	/* < 0.1% merged: one step slower */
const volatile __u32 slow_sleep_min_ms = 50;	/* the first slow step */
const volatile __u32 slow_sleep_max_ms = 2000;	/* the slowest */
const volatile __u32 slow_pages_to_scan = 0;	/* batch when slowed; 0: the sysfs one */
const volatile bool merge_known_first_sight = true;	/* stable tree on a page's first visit */
const volatile __u32 first_sight_passes = 1;	/* a process's passes with first-sight treatment */

#define ADAPTIVE_MAX_LEVEL	16	/* slow_sleep_min_ms << 15 is past any sane cap */

/* Per process, for the decisions and for userspace. */
struct proc_state {
	__u64 mm;		/* whose state: exec or a reused tgid starts afresh */
	__u32 idle;		/* scanned passes in a row without a merge */
	__u32 skip_left;	/* passes still to skip */
	__u32 backoff;		/* length of the current skip, in passes */
	__u32 merges;		/* pages merged in its last scanned pass */
	__u32 probing;		/* scanned in its last pass: judge it at the next */
	__u32 first_sight_left;	/* scanned passes of first-sight treatment left */
	__u64 seqnr;		/* the pass it was last looked at in */
	__u64 passes_scanned;
	__u64 passes_skipped;
	__u64 merges_total;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, s32);
	__type(value, struct proc_state);
} procs SEC(".maps");

/*
 * What the part decided, for userspace (the object's .bss map): its own
 * verdicts, before a stack combined them with another part's. Hooks run
 * only in ksmd, under ksm_thread_mutex: plain increments are enough.
 */
__u64 passes;			/* pass_end() calls */
__u64 mms_scanned;		/* scan_mm() verdicts: scan */
__u64 mms_skipped;		/* scan_mm() verdicts: skip */
__u64 backoffs;			/* times a process entered a skip */
__u64 merges_seen;		/* pages merged, as scan_mm() was told */
__u64 vmas_first_sight;	/* KSM_VMA_STABLE_ONLY for a VMA of a new process */
__u64 joins_seen;		/* processes that registered, as pass_end() heard */
__u32 last_yield_permille;	/* of the last pass */
__u32 pace_level;		/* 0: sysfs pace; n: n steps slower */
__u32 pace_sleep_ms;		/* what pass_end() set; 0: sysfs */
__u32 pace_pages_to_scan;	/* likewise */

/*
 * The process being scanned if scan_mm() gave it first-sight treatment,
 * else 0: ksmd scans one process at a time (see ksm_policy.bpf.h), and
 * scan_vma() comes between its scan_mm() and the next one.
 */
static u64 first_sight_mm;

static __always_inline __u32 adaptive_at_least_1(__u32 v)
{
	return v ? v : 1;
}

/* scan_mm(): skip @mm while it is idle; note whether it is new. */
static __always_inline s32 adaptive_mm_verdict(struct mm_struct *mm,
					       struct ksm_policy_mm_args *args)
{
	s32 tgid = bpf_ksm_mm_tgid(mm);
	struct proc_state *st;
	__u32 idle_max = adaptive_at_least_1(idle_passes);

	first_sight_mm = 0;
	merges_seen += args->pages_merged;
	if (!tgid)	/* its owner is gone: nothing to learn */
		return KSM_MM_SCAN;
	st = bpf_map_lookup_elem(&procs, &tgid);
	if (!st || st->mm != (u64)mm) {
		struct proc_state fresh = {
			.mm = (u64)mm,
			.seqnr = args->seqnr,
			.first_sight_left = first_sight_passes,
		};

		bpf_map_update_elem(&procs, &tgid, &fresh, BPF_ANY);
		st = bpf_map_lookup_elem(&procs, &tgid);
		if (!st)
			return KSM_MM_SCAN;
	}
	/*
	 * The kernel counts a process's merges in the pass it was last
	 * scanned in: the scanned side of each, not the page that waited in
	 * the unstable tree.
	 */
	st->merges = args->pages_merged;
	st->merges_total += args->pages_merged;
	/*
	 * Every registered process is looked at in every pass, so its pass
	 * number only goes back when KSM started over (run=2): it forgot this
	 * process's pages, and the policy forgets what they did.
	 */
	if (args->seqnr < st->seqnr) {
		st->idle = 0;
		st->skip_left = 0;
		st->backoff = 0;
		st->merges = 0;
		st->probing = 0;
		st->first_sight_left = first_sight_passes;
	}
	st->seqnr = args->seqnr;

	if (st->skip_left) {
		st->skip_left--;
		goto skip;
	}
	/* Judge the last pass it was scanned in. */
	if (st->probing) {
		if (st->merges) {
			st->idle = 0;
			st->backoff = 0;
		} else if (++st->idle >= idle_max) {
			__u32 cap = skip_max > skip_min ? skip_max : skip_min;

			st->backoff = st->backoff ? st->backoff * 2 : adaptive_at_least_1(skip_min);
			if (st->backoff > cap)
				st->backoff = cap;
			st->skip_left = st->backoff - 1;	/* this pass is the first */
			/* So that one fruitless probe backs off again. */
			st->idle = idle_max - 1;
			st->probing = 0;
			backoffs++;
			goto skip;
		}
	}
	st->probing = 1;
	st->passes_scanned++;
	mms_scanned++;
	if (st->first_sight_left) {
		st->first_sight_left--;
		if (merge_known_first_sight)
			first_sight_mm = (u64)mm;
	}
	return KSM_MM_SCAN;
skip:
	st->passes_skipped++;
	mms_skipped++;
	return KSM_MM_SKIP;
}

/*
 * A new process's pages, on their first visit: the stable tree only. In its
 * first passes every page is seen for the first time (but where the policy
 * came after KSM had seen the process: an unchanged page is then handled
 * as by default, and only one that changed is searched in the stable
 * tree, in those passes alone).
 */
static __always_inline s32 adaptive_vma_verdict_uncounted(struct mm_struct *mm)
{
	return first_sight_mm && (u64)mm == first_sight_mm ? KSM_VMA_STABLE_ONLY :
							     KSM_VMA_DEFAULT;
}

/* scan_vma(): adaptive_vma_verdict_uncounted(), counted. */
static __always_inline s32 adaptive_vma_verdict(struct mm_struct *mm)
{
	s32 verdict = adaptive_vma_verdict_uncounted(mm);

	if (verdict == KSM_VMA_STABLE_ONLY)
		vmas_first_sight++;
	return verdict;
}

/*
 * Pass 0: KSM starts (or started over: run=2 unmerged everything). The pace
 * learned from the pages it has forgotten says nothing: back to sysfs. So
 * for a pass that meets processes that registered since the last one ended.
 */
static __always_inline void adaptive_pace_at_pass_start(struct ksm_policy_pass *pass)
{
	if (pass->seqnr && !pass->mms_joined)
		return;
	pace_level = 0;
	pass->sleep_ms = 0;
	pass->pages_to_scan = 0;
	pace_sleep_ms = 0;
	pace_pages_to_scan = 0;
}

/*
 * The pace for the next pass. The kernel applies it from the sleep that
 * follows this pass (and caps the sleep at 60 s); 0 leaves a knob to sysfs.
 */
static __always_inline void adaptive_pace_at_pass_end(struct ksm_policy_pass *pass)
{
	u64 scanned = pass->pages_scanned;
	u64 permille = scanned ? pass->pages_merged * 1000 / scanned : 0;
	__u32 level = pace_level;
	u64 sleep;

	passes++;
	last_yield_permille = permille;
	/* Those that joined before the pass began were seen at its start too. */
	joins_seen += pass->mms_joined;
	/* Pass 0 sees every page for the first time: it cannot merge them yet. */
	if (!pass->seqnr)
		return;
	/*
	 * Nothing scanned (all skipped, or nothing registered): nothing pays.
	 * New processes are new work for the next pass, whatever this one gave.
	 */
	if ((permille >= yield_hi_permille && scanned) || pass->mms_joined)
		level = 0;
	else if (permille < yield_lo_permille && level < ADAPTIVE_MAX_LEVEL)
		level++;
	pace_level = level;

	if (!level) {
		pass->sleep_ms = 0;
		pass->pages_to_scan = 0;
	} else {
		sleep = (u64)adaptive_at_least_1(slow_sleep_min_ms) << (level - 1);
		if (sleep > slow_sleep_max_ms)
			sleep = slow_sleep_max_ms;
		pass->sleep_ms = sleep;
		pass->pages_to_scan = slow_pages_to_scan;
	}
	pace_sleep_ms = pass->sleep_ms;
	pace_pages_to_scan = pass->pages_to_scan;
}

/* Smart scan keeps its say: adaptive overrides none of its skips. */
#define ADAPTIVE_FLAGS	0

#endif /* KSM_POLICY_LIB_ADAPTIVE_H */
