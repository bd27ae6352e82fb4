// SPDX-License-Identifier: GPL-2.0
/*
 * A policy whose ops' flags have a bit no kernel knows (ksm_bad_input: the
 * kernel refuses the attach with EINVAL, ksmctl names the bit).
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/scan_page")
s32 BPF_PROG(bad_flags_scan_page, struct ksm_policy_page_ctx *pctx)
{
	return KSM_PAGE_DEFAULT;
}

KSM_POLICY(bad_flags) = {
	.scan_page = (void *)bad_flags_scan_page,
	.flags = 0x4000000000000000ULL,
	.name = "bad_flags",
};
