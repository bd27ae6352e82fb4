// SPDX-License-Identifier: GPL-2.0
/*
 * trust_stable: merge memory that is known not to change in the pass ksmd
 * first sees it, instead of waiting a pass for an unchanged checksum:
 * read-only VMAs, the processes of the cgroups listed in the map
 * trusted_cgroups and, with trust_first_sight, every page on its first
 * visit. What it decides and why is in lib/trust_stable.h, shared with the
 * policies stacked from it; docs/policies.md says how to use it.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"
#include "lib/trust_stable.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/scan_mm")
s32 BPF_PROG(trust_stable_scan_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	return trust_stable_mm_verdict(mm);
}

SEC("struct_ops/scan_vma")
s32 BPF_PROG(trust_stable_scan_vma, struct mm_struct *mm, struct vm_area_struct *vma)
{
	return trust_stable_vma_verdict(mm, vma);
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(trust_stable_scan_page, struct ksm_policy_page_ctx *pctx)
{
	return trust_stable_page_verdict(pctx);
}

KSM_POLICY(trust_stable_policy) = {
	.scan_mm = (void *)trust_stable_scan_mm,
	.scan_vma = (void *)trust_stable_scan_vma,
	.scan_page = (void *)trust_stable_scan_page,
	.flags = TRUST_STABLE_FLAGS,
	.name = "trust_stable",
};
