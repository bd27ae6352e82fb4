// SPDX-License-Identifier: GPL-2.0
/*
 * zero_only: merge only pages that are all zeroes; leave every other page
 * alone.
 *
 * For hosts whose tenants must not share memory but which still want the
 * cheapest and largest win of KSM: untouched guest RAM, zeroed heaps and
 * pre-faulted buffers are zero pages. Merging them reveals nothing across
 * tenants (the content is known to everyone), so the merge timing and
 * copy-on-write side channels that make KSM unsafe between tenants tell an
 * attacker only that some page is zero. Every other page is skipped before
 * it is checksummed, so it costs ksmd a zero test and no tree work.
 *
 * Works with both settings of /sys/kernel/mm/ksm/use_zero_pages: with 1,
 * zero pages are mapped to the kernel's zero page (no KSM page, no tree
 * node: the cheapest); with 0 they merge into one KSM page like any other
 * content.
 *
 * Pages merged before the policy was attached stay merged until written:
 * unmerge first (echo 2 > /sys/kernel/mm/ksm/run, then 1) to start from a
 * state where only zero pages are shared.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";


SEC("struct_ops/scan_page")
s32 BPF_PROG(zero_only_scan_page, struct ksm_policy_page_ctx *pctx)
{
	/*
	 * A page that is already a KSM page keeps upstream's handling: ksmd
	 * only does bookkeeping for it (it returns before the checksum when
	 * the page is tracked already, and records a KSM page inherited by
	 * fork under its stable node), which shares nothing new. Skipping it
	 * would not unmerge it either. Pages of a process that moved to
	 * another domain never get here: the kernel unmerges them first.
	 */
	if (pctx->flags & KSM_PAGE_F_KSM)
		return KSM_PAGE_DEFAULT;
	/*
	 * Zero pages take the upstream path, checksum wait included: a
	 * freshly faulted zero page is often about to be written.
	 */
	return bpf_ksm_page_is_zero(pctx) ? KSM_PAGE_DEFAULT : KSM_PAGE_SKIP;
}

KSM_POLICY(zero_only_policy) = {
	.scan_page = (void *)zero_only_scan_page,
	.name = "zero_only",
};
