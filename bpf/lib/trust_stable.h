/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trust_stable: merge memory that is known not to change in the pass ksmd
 * first sees it, instead of waiting a pass for an unchanged checksum.
 *
 * Upstream KSM merges a page only once its checksum is the same in two
 * passes, and smart scan then looks at pages that did not merge less and
 * less often. That is right for memory of unknown behaviour, and a waste
 * for memory that is static by construction: it delays merging by a whole
 * pass, which on a large host is minutes. This policy has the page treated
 * as stable (KSM_PAGE_STABLE), so it goes to the trees at once, for
 *
 *  - pages in VMAs without VM_WRITE: memory filled and then made read-only
 *    (mprotect(PROT_READ): loaded models, RELRO of relocated libraries,
 *    read-only guest images), which can only change after a new mprotect;
 *  - every page of the processes in the cgroups the administrator lists in
 *    the map trusted_cgroups (cgroup id -> 1), for workloads known to hold
 *    long-lived identical data (say, many copies of one VM image),
 *
 *  - with trust_first_sight (off by default), every page of every process
 *    the first time ksmd sees it: new copies of content already merged
 *    join it in that pass, and two new copies of the same content merge
 *    with each other, instead of waiting a pass. From its second visit a
 *    page is handled as upstream: the kernel flags every page volatile
 *    after its first visit (its old checksum was 0), so the second visit
 *    gets the default treatment, which clears the flag only if the page
 *    did not change; and smart_scan has aged it by then, which is how
 *    "first sight" is told (age 0, not volatile, not a KSM page),
 *
 * and never for a page that has been seen changing (a volatile history).
 * Everything else is handled as upstream. The first two rules are VMA-wide:
 * scan_vma() answers KSM_VMA_STABLE, and the kernel gives each page of the
 * VMA KSM_PAGE_STABLE, or the default to a volatile one, without a call of
 * scan_page(). Only trust_first_sight asks about pages one by one, and a
 * VMA none of the rules covers (writable, of an untrusted process, without
 * trust_first_sight) is left to upstream whole: its pages cost ksmd what
 * they cost without a policy. The kernel flags a page volatile whenever
 * its checksum changed since the last visit, trusted or not, and a trusted
 * page that merged with a KSM page, which it does not checksum (merged,
 * the page is seen unmerged again only after a write); a volatile page
 * gets the default treatment, whose visit clears the flag if the page held
 * still.
 *
 * Trusting a page that is in fact written is never wrong, only wasteful:
 * the merge is undone by a copy-on-write fault. Do not list cgroups whose
 * memory churns. Pages a trusted page is merged with need no trust: ksmd
 * still compares the contents byte by byte before merging.
 *
 * Load with `ksmctl policy load build/bpf/trust_stable.bpf.o`, then list a
 * cgroup (and the cgroups below it) with bpftool; see docs/policies.md.
 *
 * The part of a policy, for trust_stable.bpf.c and for policies stacked
 * from it (ksm_policy.bpf.h): its verdicts for each hook, its tunables,
 * map and counters. Include after vmlinux.h and ksm_policy.bpf.h.
 */
#ifndef KSM_POLICY_LIB_TRUST_STABLE_H
#define KSM_POLICY_LIB_TRUST_STABLE_H

/* Tunables, set before load (bpftool gen skeleton, or libbpf's rodata). */
const volatile bool trust_read_only = true;	/* trust VMAs without VM_WRITE */
const volatile bool trust_descendants = true;	/* a listed cgroup covers its subtree */
const volatile bool trust_first_sight = false;	/* every page, on its first visit only */

/* cgroup (v2) id -> 1: trust all pages of the processes in it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, u64);
	__type(value, u8);
} trusted_cgroups SEC(".maps");

/*
 * The process being scanned if scan_mm() trusted it, else 0: ksmd scans
 * one process at a time, in one thread (see ksm_policy.bpf.h), so this
 * needs no lock and no atomics. Comparing it with the mm of scan_vma()
 * guards the one exception: a policy attached while ksmd is half way
 * through a process sees the rest of its pages without a scan_mm() call;
 * they are not trusted for the process.
 */
static u64 trusted_mm;

/*
 * What the part decided, for userspace (the object's .bss map): its own
 * verdicts, before a stack combined them with another part's.
 */
__u64 mms_trusted;	/* scan_mm() calls that trusted the process */
__u64 vmas_read_only;	/* KSM_VMA_STABLE for a VMA without VM_WRITE */
__u64 vmas_trusted;	/* KSM_VMA_STABLE for a VMA of a trusted process */
__u64 pages_first_sight;	/* KSM_PAGE_STABLE for a page seen the first time */

struct trust_cgroup_walk {
	struct mm_struct *mm;
	bool found;
};

static long trust_match_ancestor(struct bpf_map *map, u64 *id, u8 *trusted,
				 struct trust_cgroup_walk *walk)
{
	if (*trusted && bpf_ksm_mm_in_cgroup(walk->mm, *id)) {
		walk->found = true;
		return 1;	/* stop */
	}
	return 0;
}

/* scan_mm(): whether @mm is trusted; every process is scanned. */
static __always_inline s32 trust_stable_mm_verdict(struct mm_struct *mm)
{
	u64 cgid = bpf_ksm_mm_cgroup_id(mm);
	u8 *trusted = bpf_map_lookup_elem(&trusted_cgroups, &cgid);
	struct trust_cgroup_walk walk = { .mm = mm };

	/* Its own cgroup: one lookup. An ancestor: a walk, once per pass. */
	if (trusted)
		walk.found = *trusted;
	else if (cgid && trust_descendants)
		bpf_for_each_map_elem(&trusted_cgroups, trust_match_ancestor, &walk, 0);
	trusted_mm = walk.found ? (u64)mm : 0;
	if (walk.found)
		mms_trusted++;
	return KSM_MM_SCAN;
}

/*
 * scan_vma(), once per VMA (and batch): a VMA of a trusted process or
 * without VM_WRITE is trusted whole, one with nothing to trust in it is
 * left to upstream; neither costs a call of scan_page() per page.
 */
static __always_inline s32 trust_stable_vma_verdict(struct mm_struct *mm,
						    struct vm_area_struct *vma)
{
	if (trusted_mm && (u64)mm == trusted_mm) {
		vmas_trusted++;
		return KSM_VMA_STABLE;
	}
	if (trust_read_only && !(vma->vm_flags & VM_WRITE)) {
		vmas_read_only++;
		return KSM_VMA_STABLE;
	}
	return trust_first_sight ? KSM_VMA_ASK : KSM_VMA_DEFAULT;
}

/*
 * scan_page(), the hot path with trust_first_sight: a few loads and tests,
 * no map access.
 */
static __always_inline s32 trust_stable_page_verdict(struct ksm_policy_page_ctx *pctx)
{
	/*
	 * KSM pages are in the stable tree already; a volatile page changed
	 * when ksmd last looked, so it must prove itself the upstream way
	 * first. Age 0: no default visit yet (smart_scan ages a page at
	 * each). With smart_scan off nothing ages it, and an unchanged page
	 * is trusted in every pass: harmless, as nothing would skip it then
	 * either.
	 */
	if ((pctx->flags & (KSM_PAGE_F_KSM | KSM_PAGE_F_VOLATILE)) || pctx->age)
		return KSM_PAGE_DEFAULT;
	pages_first_sight++;
	return KSM_PAGE_STABLE;
}

/* Trusted pages go to the trees every pass, however old. */
#define TRUST_STABLE_FLAGS	KSM_POLICY_OVERRIDE_SMART_SCAN

#endif /* KSM_POLICY_LIB_TRUST_STABLE_H */
