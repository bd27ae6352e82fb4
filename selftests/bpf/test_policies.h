/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace helpers for the policies of test_policies.bpf.c; include after its skeleton. */
#ifndef TEST_POLICIES_H
#define TEST_POLICIES_H

#include <bpf/libbpf.h>
#include <sys/types.h>

/* Put process @pid in merge @domain under the domains_by_tgid policy. */
static inline int test_policies_set_domain(struct test_policies *skel, pid_t pid,
					   __u64 domain)
{
	__s32 key = pid;

	return bpf_map__update_elem(skel->maps.domains, &key, sizeof(key), &domain,
				    sizeof(domain), BPF_ANY);
}

#endif /* TEST_POLICIES_H */
