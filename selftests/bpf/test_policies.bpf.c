// SPDX-License-Identifier: GPL-2.0
/*
 * Small policies that each prove one rule of ksm_policy_ops; the guest test
 * ksm_policy attaches them one at a time. Processes are named by tgid in
 * the globals below, which the test sets before loading.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the test before load. */
const volatile __s32 deny_a, deny_b;	/* deny_merge: this pair never merges */

/* Set by the test at run time: tgid -> merge domain. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, s32);
	__type(value, u64);
} domains SEC(".maps");

/* What the policies saw, read by the test (userspace types: the skeleton shows them). */
__u64 scan_mm_calls, scan_page_calls, merge_calls, denied, passes;
__s32 seen_tgids[16];
__u32 exit_kind;
char exit_msg[128];
/* The last pass_end() counters seen by pace. */
__u64 pass_pages_scanned, pass_mms_scanned, pass_seqnr;
/* first_visit_only: the verdict for a process's first pass (set by the test). */
__s32 first_pass_verdict;
/* Processes that joined, summed over pass_end() calls (first_visit_only). */
__u64 mms_joined;

SEC("struct_ops/scan_mm")
s32 BPF_PROG(skip_all_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	__sync_fetch_and_add(&scan_mm_calls, 1);
	return KSM_MM_SKIP;
}

SEC("struct_ops/merge")
s32 BPF_PROG(deny_pair_merge, struct mm_struct *mm, struct mm_struct *other,
	     struct ksm_policy_merge_args *args)
{
	s32 a, b;

	__sync_fetch_and_add(&merge_calls, 1);
	if (!other)
		return KSM_MERGE_ALLOW;
	a = bpf_ksm_mm_tgid(mm);
	b = bpf_ksm_mm_tgid(other);
	if ((a == deny_a && b == deny_b) || (a == deny_b && b == deny_a)) {
		__sync_fetch_and_add(&denied, 1);
		return KSM_MERGE_DENY;
	}
	return KSM_MERGE_ALLOW;
}

SEC("struct_ops/scan_mm")
s32 BPF_PROG(domain_by_tgid, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	s32 tgid = bpf_ksm_mm_tgid(mm);
	u64 *domain = bpf_map_lookup_elem(&domains, &tgid);
	u32 slot = scan_mm_calls++ % 16;

	seen_tgids[slot & 15] = tgid;
	args->domain = domain ? *domain : 0;
	return KSM_MM_SCAN;
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(trust_stable_page, struct ksm_policy_page_ctx *pctx)
{
	__sync_fetch_and_add(&scan_page_calls, 1);
	return KSM_PAGE_STABLE;
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(zero_only_page, struct ksm_policy_page_ctx *pctx)
{
	return bpf_ksm_page_is_zero(pctx) ? KSM_PAGE_DEFAULT : KSM_PAGE_SKIP;
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(error_page, struct ksm_policy_page_ctx *pctx)
{
	ksm_policy_error("test policy gives up");
	return KSM_PAGE_DEFAULT;
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(bad_verdict_page, struct ksm_policy_page_ctx *pctx)
{
	return 7;
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(skip_every_page, struct ksm_policy_page_ctx *pctx)
{
	__sync_fetch_and_add(&scan_page_calls, 1);
	return KSM_PAGE_SKIP;
}

/* Counts what it is asked, answering the default (count_pages and its _override). */
SEC("struct_ops/scan_page")
s32 BPF_PROG(count_page, struct ksm_policy_page_ctx *pctx)
{
	__sync_fetch_and_add(&scan_page_calls, 1);
	return KSM_PAGE_DEFAULT;
}

static long spin(u32 index, void *ctx)
{
	return 0;
}

/* Far too slow for a per-page hook: the watchdog must eject it. */
SEC("struct_ops/scan_page")
s32 BPF_PROG(slow_page, struct ksm_policy_page_ctx *pctx)
{
	__sync_fetch_and_add(&scan_page_calls, 1);
	bpf_loop(1 << 22, spin, NULL, 0);
	return KSM_PAGE_DEFAULT;
}

SEC("struct_ops/pass_start")
void BPF_PROG(count_pass, struct ksm_policy_pass *pass)
{
	__sync_fetch_and_add(&passes, 1);
}

/* ksmd's pace from the policy: one page per batch, 100 ms between batches. */
SEC("struct_ops/pass_start")
void BPF_PROG(slow_pace, struct ksm_policy_pass *pass)
{
	__sync_fetch_and_add(&passes, 1);
	pass->pages_to_scan = 1;
	pass->sleep_ms = 100;
}

SEC("struct_ops/pass_end")
void BPF_PROG(record_pass, struct ksm_policy_pass *pass)
{
	pass_pages_scanned = pass->pages_scanned;
	pass_mms_scanned = pass->mms_scanned;
	pass_seqnr = pass->seqnr;
}

SEC("struct_ops/init")
s32 BPF_PROG(failing_init)
{
	return -22;	/* -EINVAL */
}

SEC("struct_ops/init")
s32 BPF_PROG(erring_init)
{
	ksm_policy_error("test init gives up");
	return 0;
}

/*
 * first_visit_only: a process's pages get first_pass_verdict in the first
 * pass that scans it and are skipped in every later one, so they can merge
 * only where that verdict merges a page on its first visit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u64);	/* mm */
	__type(value, u64);	/* the pass that first scanned it */
} first_pass SEC(".maps");

static bool in_first_pass;

SEC("struct_ops/scan_mm")
s32 BPF_PROG(first_pass_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	u64 key = (u64)mm, pass = args->seqnr;
	u64 *seqnr = bpf_map_lookup_elem(&first_pass, &key);

	if (!seqnr) {
		bpf_map_update_elem(&first_pass, &key, &pass, BPF_NOEXIST);
		in_first_pass = true;
	} else {
		in_first_pass = *seqnr == pass;
	}
	return KSM_MM_SCAN;
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(first_pass_page, struct ksm_policy_page_ctx *pctx)
{
	return in_first_pass ? first_pass_verdict : KSM_PAGE_SKIP;
}

SEC("struct_ops/pass_end")
void BPF_PROG(count_joined, struct ksm_policy_pass *pass)
{
	mms_joined += pass->mms_joined;
}

SEC("struct_ops/exit")
void BPF_PROG(record_exit, struct ksm_policy_exit_info *info)
{
	exit_kind = info->kind;
	bpf_probe_read_kernel_str(exit_msg, sizeof(exit_msg), info->msg);
}

KSM_POLICY(skip_all) = {
	.scan_mm = (void *)skip_all_mm,
	.exit = (void *)record_exit,
	.name = "skip_all",
};

KSM_POLICY(deny_merge) = {
	.merge = (void *)deny_pair_merge,
	.name = "deny_merge",
};

KSM_POLICY(domains_by_tgid) = {
	.scan_mm = (void *)domain_by_tgid,
	.name = "domains_by_tgid",
};

KSM_POLICY(trust_stable) = {
	.scan_page = (void *)trust_stable_page,
	.flags = KSM_POLICY_OVERRIDE_SMART_SCAN,
	.name = "trust_stable",
};

KSM_POLICY(zero_only) = {
	.scan_page = (void *)zero_only_page,
	.name = "zero_only",
};

KSM_POLICY(error_test) = {
	.scan_page = (void *)error_page,
	.exit = (void *)record_exit,
	.name = "error_test",
};

KSM_POLICY(bad_verdict) = {
	.scan_page = (void *)bad_verdict_page,
	.exit = (void *)record_exit,
	.name = "bad_verdict",
};

KSM_POLICY(count_a) = {
	.pass_start = (void *)count_pass,
	.exit = (void *)record_exit,
	.name = "count_a",
};

KSM_POLICY(count_b) = {
	.pass_start = (void *)count_pass,
	.name = "count_b",
};

KSM_POLICY(pace) = {
	.pass_start = (void *)slow_pace,
	.pass_end = (void *)record_pass,
	.name = "pace",
};

KSM_POLICY(init_fail) = {
	.init = (void *)failing_init,
	.name = "init_fail",
};

KSM_POLICY(init_error) = {
	.init = (void *)erring_init,
	.pass_start = (void *)count_pass,
	.name = "init_error",
};

KSM_POLICY(skip_pages) = {
	.scan_page = (void *)skip_every_page,
	.name = "skip_pages",
};

KSM_POLICY(count_pages) = {
	.scan_page = (void *)count_page,
	.name = "count_pages",
};

KSM_POLICY(count_pages_override) = {
	.scan_page = (void *)count_page,
	.flags = KSM_POLICY_OVERRIDE_SMART_SCAN,
	.name = "count_pages_override",
};

KSM_POLICY(slow) = {
	.scan_page = (void *)slow_page,
	.exit = (void *)record_exit,
	.name = "slow",
};

KSM_POLICY(first_visit_only) = {
	.scan_mm = (void *)first_pass_mm,
	.scan_page = (void *)first_pass_page,
	.pass_end = (void *)count_joined,
	.name = "first_visit_only",
};

/* Attached by a map update, without a link: the kernel refuses it. */
SEC(".struct_ops") struct ksm_policy_ops unlinked = {
	.pass_start = (void *)count_pass,
	.name = "unlinked",
};
