// SPDX-License-Identifier: GPL-2.0
/*
 * Misbehaving policies for the R3 torture (docs/reliability.md), loaded with
 * `ksmctl policy load torture_policies.bpf.o map NAME`. Each must be ejected
 * (invalid verdicts, an error call, a full map, programs that hold ksmd) or
 * clamped (pacing) by the kernel within one pass, ksmd going on; deny_all
 * merges nothing and must cost nothing but its calls. Those of
 * test_policies.bpf.c (error_test, bad_verdict, skip_pages, slow) join them.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Far smaller than the pages ksmd scans: full within the first pass. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u64);
	__type(value, u64);
} seen SEC(".maps");

__u64 calls;

SEC("struct_ops/merge")
s32 BPF_PROG(deny_every_merge, struct mm_struct *mm, struct mm_struct *other,
	     struct ksm_policy_merge_args *args)
{
	__sync_fetch_and_add(&calls, 1);
	return KSM_MERGE_DENY;
}

SEC("struct_ops/scan_mm")
s32 BPF_PROG(bad_mm_verdict, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	return 99;
}

SEC("struct_ops/merge")
s32 BPF_PROG(bad_merge_verdict, struct mm_struct *mm, struct mm_struct *other,
	     struct ksm_policy_merge_args *args)
{
	return -3;
}

/* Every value as large as it goes: the kernel clamps them. */
SEC("struct_ops/pass_start")
void BPF_PROG(huge_pace_start, struct ksm_policy_pass *pass)
{
	__sync_fetch_and_add(&calls, 1);
	pass->pages_to_scan = 0xffffffff;
	pass->sleep_ms = 0xffffffff;
}

/* Only the batch size is huge; ksmd's sleep stays the sysfs one. */
SEC("struct_ops/pass_start")
void BPF_PROG(huge_batch_start, struct ksm_policy_pass *pass)
{
	__sync_fetch_and_add(&calls, 1);
	pass->pages_to_scan = 0xffffffff;
}

/* Remembers every page it sees until the map is full, then gives up. */
SEC("struct_ops/scan_page")
s32 BPF_PROG(fill_map_page, struct ksm_policy_page_ctx *pctx)
{
	u64 key = __sync_fetch_and_add(&calls, 1), one = 1;

	if (bpf_map_update_elem(&seen, &key, &one, BPF_NOEXIST))
		ksm_policy_error("map full");
	return KSM_PAGE_DEFAULT;
}

static long spin(u32 index, void *ctx)
{
	return 0;
}

static long spin_long(u32 index, void *ctx)
{
	bpf_loop(1 << 23, spin, NULL, 0);
	return 0;
}

/*
 * A per-process hook that burns time: called once per process and pass, it
 * must take over the watchdog's second in one call (2^28 iterations: about
 * a second on a fast CPU, several under TCG) to be ejected.
 */
SEC("struct_ops/scan_mm")
s32 BPF_PROG(slow_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	__sync_fetch_and_add(&calls, 1);
	bpf_loop(32, spin_long, NULL, 0);
	return KSM_MM_SCAN;
}

/* A merge hook that burns time, called with both processes' pages locked. */
SEC("struct_ops/merge")
s32 BPF_PROG(slow_merge, struct mm_struct *mm, struct mm_struct *other,
	     struct ksm_policy_merge_args *args)
{
	__sync_fetch_and_add(&calls, 1);
	bpf_loop(1 << 22, spin, NULL, 0);
	return KSM_MERGE_ALLOW;
}

KSM_POLICY(deny_all) = {
	.merge = (void *)deny_every_merge,
	.name = "deny_all",
};

KSM_POLICY(bad_mm) = {
	.scan_mm = (void *)bad_mm_verdict,
	.name = "bad_mm",
};

KSM_POLICY(bad_merge) = {
	.merge = (void *)bad_merge_verdict,
	.name = "bad_merge",
};

KSM_POLICY(huge_pace) = {
	.pass_start = (void *)huge_pace_start,
	.name = "huge_pace",
};

KSM_POLICY(huge_batch) = {
	.pass_start = (void *)huge_batch_start,
	.name = "huge_batch",
};

KSM_POLICY(fill_map) = {
	.scan_page = (void *)fill_map_page,
	.name = "fill_map",
};

KSM_POLICY(slow_scan_mm) = {
	.scan_mm = (void *)slow_mm,
	.name = "slow_scan_mm",
};

KSM_POLICY(slow_merges) = {
	.merge = (void *)slow_merge,
	.name = "slow_merges",
};
