// SPDX-License-Identifier: GPL-2.0
/*
 * adaptive: spend ksmd's scans where they pay. It skips processes whose
 * pages do not merge, backing off longer each time, paces ksmd by the
 * yield of the last pass, and lets a new process's pages merge with known
 * content on their first visit. What it decides and why is in
 * lib/adaptive.h, shared with the policies stacked from it;
 * docs/policies.md says how to use it.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"
#include "lib/adaptive.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/scan_mm")
s32 BPF_PROG(adaptive_scan_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	return adaptive_mm_verdict(mm, args);
}

SEC("struct_ops/scan_vma")
s32 BPF_PROG(adaptive_scan_vma, struct mm_struct *mm, struct vm_area_struct *vma)
{
	return adaptive_vma_verdict(mm);
}

SEC("struct_ops/pass_start")
void BPF_PROG(adaptive_pass_start, struct ksm_policy_pass *pass)
{
	adaptive_pace_at_pass_start(pass);
}

SEC("struct_ops/pass_end")
void BPF_PROG(adaptive_pass_end, struct ksm_policy_pass *pass)
{
	adaptive_pace_at_pass_end(pass);
}

KSM_POLICY(adaptive_policy) = {
	.scan_mm = (void *)adaptive_scan_mm,
	.scan_vma = (void *)adaptive_scan_vma,
	.pass_start = (void *)adaptive_pass_start,
	.pass_end = (void *)adaptive_pass_end,
	.flags = ADAPTIVE_FLAGS,
	.name = "adaptive",
};
