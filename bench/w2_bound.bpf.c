// SPDX-License-Identifier: GPL-2.0
/*
 * w2_bound: the least a page-by-page policy can spend on w2, a bound for
 * the benchmark, not a policy to ship. It is told w2's layout
 * (w2_layout.h), so it knows without looking which page will merge: each
 * duplicate and zero page goes to the trees on its first visit
 * (KSM_PAGE_STABLE, no checksum), each rewritten or unique page is skipped
 * from its first visit on (no checksum, no tree search). What is left is
 * what no policy of this interface avoids: the walk to each page, its
 * rmap_item and the call. It takes every mergeable VMA for a w2 area, so
 * it is only loaded where ksm-converge runs alone (converge_configs.sh).
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"
#include "w2_layout.h"

char LICENSE[] SEC("license") = "GPL";

#define W2_PAGE_SHIFT 12	/* x86-64: the benchmark's guest */

__u64 pages_trusted;	/* KSM_PAGE_STABLE: a duplicate or zero page */
__u64 pages_skipped;	/* KSM_PAGE_SKIP: a rewritten or unique page */

SEC("struct_ops/scan_page")
s32 BPF_PROG(w2_bound_scan_page, struct ksm_policy_page_ctx *pctx)
{
	unsigned long i = (pctx->addr - pctx->vma->vm_start) >> W2_PAGE_SHIFT;

	if (pctx->flags & KSM_PAGE_F_KSM)
		return KSM_PAGE_DEFAULT;
	switch (w2_kind_of(i)) {
	case W2_DUPLICATE:
	case W2_ZERO:
		pages_trusted++;
		return KSM_PAGE_STABLE;
	default:
		pages_skipped++;
		return KSM_PAGE_SKIP;
	}
}

KSM_POLICY(w2_bound_policy) = {
	.scan_page = (void *)w2_bound_scan_page,
	.name = "w2_bound",
};
