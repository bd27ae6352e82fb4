// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_merge_clock: when ksmd last merged a page, for bench/ksm_sharing_time.c.
 *
 * A poller cannot see a merge finish to better than a tick here: ksmd never
 * sleeps at ksm_tests' pace and the kernels have no high-resolution timers.
 * ksm:ksm_merge_with_ksm_page is an upstream tracepoint, fired for each page
 * mapping that joins a ksm page, so this loads on the baseline kernel as on the
 * patched one. The program counts the merges that succeeded and keeps the
 * time of the last; the test process is the only one offering pages to KSM
 * while it runs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 last_merge_ns;
__u64 merges;

SEC("tp_btf/ksm_merge_with_ksm_page")
int BPF_PROG(on_merge, void *ksm_page, unsigned long pfn, void *rmap_item, void *mm, int err)
{
	if (!err) {
		last_merge_ns = bpf_ktime_get_ns();
		merges++;
	}
	return 0;
}
