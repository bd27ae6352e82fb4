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
 * ksmd calls the hooks from its one thread, under ksm_thread_mutex, one
 * process at a time: scan_get_next_rmap_item() in mm/ksm.c calls scan_mm()
 * at next_mm:, then returns only pages of that mm_slot (resuming it across
 * batches through the ksm_scan cursor) until its VMAs are done, and only
 * then moves to the next mm and calls scan_mm() again. What scan_mm()
 * decided about a process holds for the scan_vma() and scan_page() calls
 * that follow, in a global variable without a lock, as long as the hook
 * checks that their mm is the one scan_mm() saw (a policy attached half
 * way through a process sees the rest of it without a scan_mm() call).
 *
 * Stacking: one policy built from several parts, each written as the
 * policy it would be alone (the shipped ones are in bpf/lib/), whose
 * answers for the same process, VMA or page are combined here. A skip from
 * any part wins: a part may only narrow what KSM does, never widen what
 * another part keeps apart. Otherwise the strongest claim that the memory
 * holds still wins (KSM_*_STABLE over KSM_*_STABLE_ONLY over the default,
 * which is a part's "no opinion"): each is only a hint about when to merge,
 * and ksmd compares contents byte by byte before any merge. A VMA for
 * which any part asks to be asked about each page (KSM_VMA_ASK) is asked
 * about; the stacked scan_page() then combines that part's page verdicts
 * with what the others said of the VMA, given to the page by
 * ksm_vma_verdict_for_page() as the kernel would. The rest is the stack's:
 *  - flags are OR-ed: with KSM_POLICY_OVERRIDE_SMART_SCAN only a
 *    KSM_PAGE_STABLE overrides smart scan, which still skips the pages
 *    whose verdict is the default or KSM_PAGE_STABLE_ONLY, whichever part
 *    gave it;
 *  - merge(): a deny from any part wins, like a skip
 *    (ksm_merge_verdict_stack());
 *  - the domain scan_mm() sets (args->domain) and ksmd's pace (pass_start,
 *    pass_end) have no rule that fits every stack: at most one part may set
 *    each, or the stack decides how theirs combine.
 * The verdict helpers turn an answer that is none of the enum's into the
 * default (or KSM_MM_SCAN): check a part's answers where it may give one.
 */
static __always_inline s32 ksm_mm_verdict_stack(s32 a, s32 b)
{
	return a == KSM_MM_SKIP || b == KSM_MM_SKIP ? KSM_MM_SKIP : KSM_MM_SCAN;
}

static __always_inline s32 ksm_merge_verdict_stack(s32 a, s32 b)
{
	return a == KSM_MERGE_DENY || b == KSM_MERGE_DENY ? KSM_MERGE_DENY : KSM_MERGE_ALLOW;
}

static __always_inline s32 ksm_vma_verdict_stack(s32 a, s32 b)
{
	if (a == KSM_VMA_ASK || b == KSM_VMA_ASK)
		return KSM_VMA_ASK;
	if (a == KSM_VMA_STABLE || b == KSM_VMA_STABLE)
		return KSM_VMA_STABLE;
	if (a == KSM_VMA_STABLE_ONLY || b == KSM_VMA_STABLE_ONLY)
		return KSM_VMA_STABLE_ONLY;
	return KSM_VMA_DEFAULT;
}

static __always_inline s32 ksm_page_verdict_stack(s32 a, s32 b)
{
	if (a == KSM_PAGE_SKIP || b == KSM_PAGE_SKIP)
		return KSM_PAGE_SKIP;
	if (a == KSM_PAGE_STABLE || b == KSM_PAGE_STABLE)
		return KSM_PAGE_STABLE;
	if (a == KSM_PAGE_STABLE_ONLY || b == KSM_PAGE_STABLE_ONLY)
		return KSM_PAGE_STABLE_ONLY;
	return KSM_PAGE_DEFAULT;
}

/*
 * The page verdict the kernel derives from a VMA-wide verdict when no
 * scan_page() is asked: the default for a page seen changing. A part that
 * answered KSM_VMA_ASK gives its page verdict itself (the default here).
 */
static __always_inline s32 ksm_vma_verdict_for_page(s32 vma_verdict,
						    const struct ksm_policy_page_ctx *pctx)
{
	if (pctx->flags & KSM_PAGE_F_VOLATILE)
		return KSM_PAGE_DEFAULT;
	if (vma_verdict == KSM_VMA_STABLE)
		return KSM_PAGE_STABLE;
	if (vma_verdict == KSM_VMA_STABLE_ONLY)
		return KSM_PAGE_STABLE_ONLY;
	return KSM_PAGE_DEFAULT;
}

/*
 * Declare the policy: a struct_ops map attached through a BPF link, so that
 * it can be pinned, replaced atomically and detached.
 */
#define KSM_POLICY(name) SEC(".struct_ops.link") struct ksm_policy_ops name

#endif /* KSM_POLICY_BPF_H */
