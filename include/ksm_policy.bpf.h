/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * For authors of KSM policies: the kfuncs of ksm_policy_ops programs and a
 * few helpers. Include after vmlinux.h (vmlinux-btf/), which brings struct
 * ksm_policy_ops, its argument structs and the verdict enums.
 *
 *	#include "vmlinux.h"
 *	#include "ksm_policy.bpf.h"
 *
 *	SEC("struct_ops/scan_page")
 *	s32 BPF_PROG(my_scan_page, struct ksm_policy_page_ctx *pctx)
 *	{
 *		return bpf_ksm_page_is_zero(pctx) ? KSM_PAGE_DEFAULT : KSM_PAGE_SKIP;
 *	}
 *
 *	KSM_POLICY(my_policy) = {
 *		.scan_page = (void *)my_scan_page,
 *		.name = "my_policy",
 *	};
 */
#ifndef KSM_POLICY_BPF_H
#define KSM_POLICY_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* ksm_policy_page_ctx.flags (include/linux/ksm_policy.h: macros are not in BTF). */
#ifndef KSM_PAGE_F_KSM
#define KSM_PAGE_F_KSM		(1U << 0)	/* already a ksm page */
/* Its checksum changed when last seen, or was not taken (KSM_PAGE_STABLE) */
#define KSM_PAGE_F_VOLATILE	(1U << 1)
#endif

/* ksm_policy_ops.flags (include/linux/ksm_policy.h) */
#ifndef KSM_POLICY_OVERRIDE_SMART_SCAN
/* Ask scan_page() also about the pages smart scan skips: STABLE overrides it. */
#define KSM_POLICY_OVERRIDE_SMART_SCAN	(1ULL << 0)
#endif

/* VM_* flags of ctx->vma->vm_flags (linux/mm.h: not in BTF either). */
#ifndef VM_READ
#define VM_READ		0x00000001ULL
#define VM_WRITE	0x00000002ULL
#define VM_EXEC		0x00000004ULL
#define VM_SHARED	0x00000008ULL
#define VM_LOCKED	0x00002000ULL
#define VM_MERGEABLE	0x80000000ULL
#endif

/*
 * Process identity of an mm given to a hook (0 when its owner is gone);
 * kernels without CONFIG_MEMCG have no owner, and no such kfuncs.
 */
extern s32 bpf_ksm_mm_tgid(struct mm_struct *mm) __ksym;
extern u64 bpf_ksm_mm_cgroup_id(struct mm_struct *mm) __ksym;
extern bool bpf_ksm_mm_in_cgroup(struct mm_struct *mm, u64 ancestor_id) __ksym;

/*
 * About the page of a scan_page() context: its content. Its age, whether
 * it was volatile (ctx->flags) and its VMA's flags (ctx->vma->vm_flags) are
 * read from the context directly.
 */
extern bool bpf_ksm_page_is_zero(struct ksm_policy_page_ctx *ctx) __ksym;

/* Eject this policy (KSM goes back to upstream behaviour) with a message. */
extern void bpf_ksm_policy_error(const char *msg__str) __ksym;

/* bpf_ksm_policy_error() wants its message in read-only data. */
#define ksm_policy_error(msg)						\
	({								\
		static const char ___msg[] = msg;			\
		bpf_ksm_policy_error(___msg);				\
	})

/*
 * Declare the policy: a struct_ops map attached through a BPF link, so that
 * it can be pinned, replaced atomically and detached.
 */
#define KSM_POLICY(name) SEC(".struct_ops.link") struct ksm_policy_ops name

#endif /* KSM_POLICY_BPF_H */
