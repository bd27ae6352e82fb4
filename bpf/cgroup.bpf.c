// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup: KSM decided per cgroup, as `ksmctl cgroup set` writes it into the
 * settings map (include/ksm_cgroup.h), each attribute inherited from the
 * nearest ancestor that sets it:
 *
 *   merge=on	every process of the cgroup is offered to KSM: those already
 *		running (ksmctl enrolls them when it sets this), forked or
 *		exec'd later (the setting is inherited like the prctl's, and
 *		applied again at exec) and moved in later (cgroup_attach_task).
 *   merge=off	nothing of the cgroup is merged, even what its processes
 *		offered themselves: ksmctl, and cgroup_attach_task for processes
 *		moved in, unmerge them; scan_mm() skips them from then on.
 *   domain	isolated: the cgroup's subtree merges only within itself; a
 *		named domain is shared by the cgroups that name it (a tenant);
 *		shared: the global domain.
 *   max_pages	the most pages of the subtree merged at a time; past it, its
 *		pages are skipped and merges that would add to it denied.
 *
 * The tracing programs are attached by `ksmctl policy load` with the policy.
 * ksmd scans one process at a time under ksm_thread_mutex, so what scan_mm()
 * decided for the process is kept in globals for scan_page() and merge():
 * no map lookup per page unless the cgroup is capped.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"
#include "ksm_cgroup.h"

char LICENSE[] SEC("license") = "GPL";

extern struct cgroup *bpf_cgroup_from_id(u64 cgid) __ksym;
extern struct cgroup *bpf_cgroup_ancestor(struct cgroup *cgrp, int level) __ksym;
extern void bpf_cgroup_release(struct cgroup *cgrp) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_CGROUP_MAX_SETTINGS);
	__type(key, __u64);
	__type(value, struct ksm_cgroup_setting);
} settings SEC(".maps");

/* Per capped cgroup (the one that sets max_pages): what its subtree holds. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_CGROUP_MAX_SETTINGS);
	__type(key, __u64);
	__type(value, struct ksm_cgroup_usage);
} usage SEC(".maps");

/* What scan_mm() decided for the process being scanned. */
static bool cur_skip_pages;	/* merge=off, but it still has merged pages */
static __u64 cur_cap_owner;	/* 0: not capped */
static __u64 cur_cap;
static bool cur_over_cap;

/* What ksmctl and tests read (the object's .bss, pinned by ksmctl). */
__u64 mms_skipped_off, mms_unmerging, merges_denied_cap, enrolled, unenrolled;

struct effective {
	__u32 merge;
	__u32 domain_kind;
	__u64 domain;
	__u64 cap;
	__u64 cap_owner;
};

/* Each attribute from the nearest cgroup, @cgrp or an ancestor, that sets it. */
static void resolve(struct cgroup *cgrp, struct effective *e)
{
	int level = cgrp->level, i;

	for (i = 0; i < KSM_CGROUP_MAX_DEPTH && i <= level; i++) {
		struct ksm_cgroup_setting *s;
		struct cgroup *anc;
		__u64 id;

		anc = bpf_cgroup_ancestor(cgrp, level - i);
		if (!anc)
			break;
		id = anc->kn->id;
		bpf_cgroup_release(anc);
		s = bpf_map_lookup_elem(&settings, &id);
		if (!s)
			continue;
		if (!e->merge)
			e->merge = s->merge;
		if (!e->domain_kind && s->domain_kind) {
			e->domain_kind = s->domain_kind;
			e->domain = s->domain;
		}
		if (!e->cap && s->max_pages) {
			e->cap = s->max_pages;
			e->cap_owner = id;
		}
	}
	if (e->cap == KSM_CGROUP_NO_LIMIT)
		e->cap = 0;
	if (e->domain_kind != KSM_CGROUP_DOMAIN_ISOLATED && e->domain_kind != KSM_CGROUP_DOMAIN_NAMED)
		e->domain = 0;
}

static bool resolve_mm(struct mm_struct *mm, struct effective *e)
{
	struct cgroup *cgrp = bpf_cgroup_from_id(bpf_ksm_mm_cgroup_id(mm));

	if (!cgrp)
		return false;
	resolve(cgrp, e);
	bpf_cgroup_release(cgrp);
	return true;
}

/* Would @pages more merged pages take the subtree past its cap? */
static bool over_cap(struct ksm_cgroup_usage *u, __u64 cap, __u64 pages)
{
	return u->last + u->merged + pages > cap;
}

/* The usage of a capped subtree, rolled over to this pass on its first visit. */
static struct ksm_cgroup_usage *usage_of(__u64 owner, __u64 seqnr)
{
	struct ksm_cgroup_usage *u, zero = { .seqnr = seqnr };

	u = bpf_map_lookup_elem(&usage, &owner);
	if (!u) {
		bpf_map_update_elem(&usage, &owner, &zero, BPF_NOEXIST);
		return bpf_map_lookup_elem(&usage, &owner);
	}
	if (u->seqnr != seqnr) {
		/* What its processes held when scanned, and what merged after. */
		u->last = u->counting + u->merged;
		u->counting = 0;
		u->merged = 0;
		u->seqnr = seqnr;
	}
	return u;
}

SEC("struct_ops/scan_mm")
s32 BPF_PROG(cgroup_scan_mm, struct mm_struct *mm, struct ksm_policy_mm_args *args)
{
	struct effective e = {};
	struct ksm_cgroup_usage *u;

	cur_skip_pages = false;
	cur_cap_owner = 0;
	cur_over_cap = false;
	if (!resolve_mm(mm, &e))
		return KSM_MM_SCAN;
	if (e.merge == KSM_CGROUP_MERGE_OFF) {
		if (!mm->ksm_merging_pages) {
			__sync_fetch_and_add(&mms_skipped_off, 1);
			return KSM_MM_SKIP;
		}
		/*
		 * Still merged (it got here before being unmerged): a domain of
		 * its own makes ksmd unmerge its ksm pages, and nothing new merges.
		 */
		__sync_fetch_and_add(&mms_unmerging, 1);
		args->domain = KSM_DOMAIN_ISOLATED | KSM_DOMAIN_NAMED | bpf_ksm_mm_tgid(mm);
		cur_skip_pages = true;
		return KSM_MM_SCAN;
	}
	args->domain = e.domain;
	if (e.cap) {
		u = usage_of(e.cap_owner, args->seqnr);
		if (u) {
			u->counting += mm->ksm_merging_pages;
			cur_cap_owner = e.cap_owner;
			cur_cap = e.cap;
			cur_over_cap = over_cap(u, e.cap, 1);
		}
	}
	return KSM_MM_SCAN;
}

SEC("struct_ops/scan_page")
s32 BPF_PROG(cgroup_scan_page, struct ksm_policy_page_ctx *pctx)
{
	/* Pages already merged stay as they are (unless their domain changed). */
	if ((cur_skip_pages || cur_over_cap) && !(pctx->flags & KSM_PAGE_F_KSM))
		return KSM_PAGE_SKIP;
	return KSM_PAGE_DEFAULT;
}

SEC("struct_ops/merge")
s32 BPF_PROG(cgroup_merge, struct mm_struct *mm, struct mm_struct *other,
	     struct ksm_policy_merge_args *args)
{
	struct ksm_cgroup_usage *mine = NULL, *theirs = NULL;
	struct effective e = {};

	if (cur_cap_owner)
		mine = bpf_map_lookup_elem(&usage, &cur_cap_owner);
	/* A stable merge adds a page to @mm only; an unstable one to both. */
	if (other && !args->stable && resolve_mm(other, &e) && e.cap)
		theirs = bpf_map_lookup_elem(&usage, &e.cap_owner);
	/* Both pages of a pair in one capped subtree need room for two. */
	if ((mine && over_cap(mine, cur_cap, mine == theirs ? 2 : 1)) ||
	    (theirs && over_cap(theirs, e.cap, 1))) {
		__sync_fetch_and_add(&merges_denied_cap, 1);
		return KSM_MERGE_DENY;
	}
	if (mine)
		mine->merged++;
	if (theirs)
		theirs->merged++;
	if (mine)
		cur_over_cap = over_cap(mine, cur_cap, 1);
	return KSM_MERGE_ALLOW;
}

/* A process moved into a cgroup takes its merge setting at once. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	struct effective e = {};

	if (dst->root->hierarchy_id)	/* a cgroup v1 hierarchy */
		return 0;
	resolve(dst, &e);
	if (e.merge == KSM_CGROUP_MERGE_ON && !bpf_ksm_set_merge(task, true))
		__sync_fetch_and_add(&enrolled, 1);
	else if (e.merge == KSM_CGROUP_MERGE_OFF && !bpf_ksm_set_merge(task, false))
		__sync_fetch_and_add(&unenrolled, 1);
	return 0;
}

/*
 * exec keeps the setting, but a process moved in just before its exec may
 * exec before the kworker enrolled it: apply the cgroup's setting again.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(cgroup_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct cgroup *cgrp = bpf_cgroup_from_id(bpf_get_current_cgroup_id());
	struct effective e = {};

	if (!cgrp)
		return 0;
	resolve(cgrp, &e);
	bpf_cgroup_release(cgrp);
	if (e.merge == KSM_CGROUP_MERGE_ON && !bpf_ksm_set_merge(task, true))
		__sync_fetch_and_add(&enrolled, 1);
	else if (e.merge == KSM_CGROUP_MERGE_OFF && !bpf_ksm_set_merge(task, false))
		__sync_fetch_and_add(&unenrolled, 1);
	return 0;
}

/* A removed cgroup's settings go with it. */
SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(cgroup_removed, struct cgroup *cgrp, const char *path)
{
	__u64 id = cgrp->kn->id;

	if (cgrp->root->hierarchy_id)
		return 0;
	bpf_map_delete_elem(&settings, &id);
	bpf_map_delete_elem(&usage, &id);
	return 0;
}

KSM_POLICY(cgroup_policy) = {
	.scan_mm = (void *)cgroup_scan_mm,
	.scan_page = (void *)cgroup_scan_page,
	.merge = (void *)cgroup_merge,
	.name = "cgroup",
};
