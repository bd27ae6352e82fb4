// SPDX-License-Identifier: GPL-2.0
/*
 * A policy the verifier rejects (ksm_bad_input: ksmctl must name the program
 * and the verifier's reason, and change nothing): scan_page reads far past
 * the end of its context.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/scan_page")
s32 BPF_PROG(read_past_ctx, struct ksm_policy_page_ctx *pctx)
{
	return ((volatile u32 *)pctx)[4096];
}

KSM_POLICY(rejected) = {
	.scan_page = (void *)read_past_ctx,
	.name = "rejected",
};
