// SPDX-License-Identifier: GPL-2.0
/*
 * learn_offsets: an experiment for the benchmark, not a shipped policy.
 * Processes of one image hold the same kind of page at the same offset;
 * learn, per cgroup and offset in a VMA of one size, whether a page there
 * ever merged. A page is trusted on its first visit (KSM_PAGE_STABLE, as
 * trust_stable's trust_first_sight) until its offset was seen in
 * LEARN_PROCESSES processes without a merge; from then on a page there is
 * skipped in every process, without a checksum or a tree search, but in
 * every PROBE_PASSES-th pass, which leaves it to upstream: a page that
 * could merge where its offset's first pages did not still does. It takes
 * every mergeable VMA, so it is only loaded where ksm-converge runs alone
 * (converge_configs.sh). It is measured on W2 without being told its layout,
 * which w2_bound is.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define LEARN_PROCESSES 3
#define PROBE_PASSES 8
#define OFFSET_SHIFT 12		/* x86-64: the benchmark's guest */

struct offset_key {
	__u64 cgroup_id;
	__u64 vma_len;
	__u64 index;
};

struct offset_seen {
	__u32 processes;	/* first visits at this offset */
	__u32 merged;		/* a page at this offset merged */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 17);
	__type(key, struct offset_key);
	__type(value, struct offset_seen);
} offsets SEC(".maps");

__u64 cgroup_id;		/* of the process ksmd is scanning */
bool probing;			/* a pass that skips nothing */
struct offset_key last;		/* the page scan_page() was last asked about */
__u64 last_addr;

__u64 pages_trusted;		/* KSM_PAGE_STABLE on a first visit */
__u64 pages_skipped;		/* KSM_PAGE_SKIP: an offset that never merged */
__u64 offsets_full;		/* the map was full: the offset is not learnt */

SEC("struct_ops/scan_mm")
s32 BPF_PROG(learn_offsets_scan_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	cgroup_id = bpf_ksm_mm_cgroup_id(mm);
	probing = args->seqnr % PROBE_PASSES == PROBE_PASSES - 1;
	return KSM_MM_SCAN;
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(learn_offsets_scan_page, struct ksm_policy_page_ctx *pctx)
{
	struct vm_area_struct *vma = pctx->vma;
	bool first = !pctx->age && !(pctx->flags & KSM_PAGE_F_VOLATILE);
	struct offset_seen *seen;

	if (pctx->flags & KSM_PAGE_F_KSM)
		return KSM_PAGE_DEFAULT;
	last.cgroup_id = cgroup_id;
	last.vma_len = vma->vm_end - vma->vm_start;
	last.index = (pctx->addr - vma->vm_start) >> OFFSET_SHIFT;
	last_addr = pctx->addr;
	seen = bpf_map_lookup_elem(&offsets, &last);
	if (!seen) {
		if (bpf_map_update_elem(&offsets, &last, &(struct offset_seen){ .processes = 1 },
					BPF_NOEXIST))
			offsets_full++;
		goto trust;
	}
	if (!seen->merged && seen->processes >= LEARN_PROCESSES && !probing) {
		pages_skipped++;
		return KSM_PAGE_SKIP;
	}
	if (first)
		seen->processes++;
trust:
	if (!first)
		return KSM_PAGE_DEFAULT;
	pages_trusted++;
	return KSM_PAGE_STABLE;
}

/* Called for the page scan_page() was just asked about: its offset merges. */
SEC("struct_ops/merge")
s32 BPF_PROG(learn_offsets_merge, struct mm_struct *mm, struct mm_struct *other,
	     struct ksm_policy_merge_args *args)
{
	struct offset_seen *seen;

	if (args->addr == last_addr) {
		seen = bpf_map_lookup_elem(&offsets, &last);
		if (seen)
			seen->merged = 1;
	}
	return KSM_MERGE_ALLOW;
}

KSM_POLICY(learn_offsets_policy) = {
	.scan_mm = (void *)learn_offsets_scan_mm,
	.scan_page = (void *)learn_offsets_scan_page,
	.merge = (void *)learn_offsets_merge,
	.name = "learn_offsets",
};
