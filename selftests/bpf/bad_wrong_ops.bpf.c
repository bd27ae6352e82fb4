// SPDX-License-Identifier: GPL-2.0
/*
 * A struct_ops of the wrong type, TCP congestion control, where ksmctl wants
 * a ksm_policy_ops (ksm_bad_input: refused by name, nothing loaded).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/ssthresh")
u32 BPF_PROG(not_ksm_ssthresh, struct sock *sk)
{
	return 2;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops not_ksm = {
	.ssthresh = (void *)not_ksm_ssthresh,
	.name = "not_ksm",
};
