// SPDX-License-Identifier: GPL-2.0
/*
 * trust_adaptive: trust_stable and adaptive stacked into one policy, for
 * hosts that have both memory known to hold still (read-only VMAs, trusted
 * cgroups) and many processes of which few share much.
 *
 * Each hook asks both parts and combines their answers by the rule of
 * ksm_policy.bpf.h: a process either part skips is skipped (adaptive's
 * idle processes, trusted or not); the pages of a VMA trust_stable trusts
 * go to the trees in the first pass that sees them whatever adaptive says
 * (KSM_VMA_STABLE is the stronger of the two hints), a new process's other
 * VMAs get adaptive's first sight (KSM_VMA_STABLE_ONLY), and the rest is
 * left to upstream (or, with trust_first_sight, asked about page by page);
 * ksmd's pace is adaptive's. Both parts keep their tunables, maps and
 * counters under their own names: list trusted cgroups in trusted_cgroups
 * and read adaptive's procs as with each policy alone (docs/policies.md).
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"
#include "lib/trust_stable.h"
#include "lib/adaptive.h"

char LICENSE[] SEC("license") = "GPL";

/* Both parts learn of every process, the skipped ones too. */
SEC("struct_ops/scan_mm")
s32 BPF_PROG(trust_adaptive_scan_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	return ksm_mm_verdict_stack(trust_stable_mm_verdict(mm), adaptive_mm_verdict(mm, args));
}

SEC("struct_ops/scan_vma")
s32 BPF_PROG(trust_adaptive_scan_vma, struct mm_struct *mm, struct vm_area_struct *vma)
{
	return ksm_vma_verdict_stack(trust_stable_vma_verdict(mm, vma), adaptive_vma_verdict(mm));
}

/* Asked only with trust_first_sight, for VMAs trust_stable asks about. */
SEC("struct_ops/scan_page")
s32 BPF_PROG(trust_adaptive_scan_page, struct ksm_policy_page_ctx *pctx)
{
	s32 adaptive = ksm_vma_verdict_for_page(adaptive_vma_verdict_uncounted(pctx->mm), pctx);

	return ksm_page_verdict_stack(trust_stable_page_verdict(pctx), adaptive);
}

SEC("struct_ops/pass_start")
void BPF_PROG(trust_adaptive_pass_start, struct ksm_policy_pass *pass)
{
	adaptive_pace_at_pass_start(pass);
}

SEC("struct_ops/pass_end")
void BPF_PROG(trust_adaptive_pass_end, struct ksm_policy_pass *pass)
{
	adaptive_pace_at_pass_end(pass);
}

KSM_POLICY(trust_adaptive_policy) = {
	.scan_mm = (void *)trust_adaptive_scan_mm,
	.scan_vma = (void *)trust_adaptive_scan_vma,
	.scan_page = (void *)trust_adaptive_scan_page,
	.pass_start = (void *)trust_adaptive_pass_start,
	.pass_end = (void *)trust_adaptive_pass_end,
	.flags = TRUST_STABLE_FLAGS | ADAPTIVE_FLAGS,
	.name = "trust_adaptive",
};
