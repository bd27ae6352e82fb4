// SPDX-License-Identifier: GPL-2.0
/*
 * default: every hook of ksm_policy_ops, each answering what KSM does without
 * a policy. Attached, KSM behaves exactly as upstream; it is the template to
 * start a policy from, and what `make bench` measures as the cost of a
 * policy that is called everywhere and decides nothing.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Scan every process, all in the global merge domain (args->domain = 0). */
SEC("struct_ops/scan_mm")
s32 BPF_PROG(default_scan_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	return KSM_MM_SCAN;
}

/*
 * Be asked about every page of every VMA. KSM_VMA_DEFAULT would leave a
 * VMA's pages to upstream without a call per page: what a policy that
 * decides for some memory only should answer for the rest.
 */
SEC("struct_ops/scan_vma")
s32 BPF_PROG(default_scan_vma, struct mm_struct *mm, struct vm_area_struct *vma)
{
	return KSM_VMA_ASK;
}

/* Checksum and tree work as upstream: merge once the content is unchanged for a scan. */
SEC("struct_ops/scan_page")
s32 BPF_PROG(default_scan_page, struct ksm_policy_page_ctx *pctx)
{
	return KSM_PAGE_DEFAULT;
}

SEC("struct_ops/merge")
s32 BPF_PROG(default_merge, struct mm_struct *mm, struct mm_struct *other,
	     struct ksm_policy_merge_args *args)
{
	return KSM_MERGE_ALLOW;
}

/* Leaving pages_to_scan and sleep_ms untouched keeps the sysfs pace. */
SEC("struct_ops/pass_start")
void BPF_PROG(default_pass_start, struct ksm_policy_pass *pass)
{
}

SEC("struct_ops/pass_end")
void BPF_PROG(default_pass_end, struct ksm_policy_pass *pass)
{
}

SEC("struct_ops/init")
s32 BPF_PROG(default_init)
{
	return 0;
}

SEC("struct_ops/exit")
void BPF_PROG(default_exit, struct ksm_policy_exit_info *info)
{
}

KSM_POLICY(default_policy) = {
	.scan_mm = (void *)default_scan_mm,
	.scan_vma = (void *)default_scan_vma,
	.scan_page = (void *)default_scan_page,
	.merge = (void *)default_merge,
	.pass_start = (void *)default_pass_start,
	.pass_end = (void *)default_pass_end,
	.init = (void *)default_init,
	.exit = (void *)default_exit,
	.name = "default",
};
