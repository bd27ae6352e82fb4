// SPDX-License-Identifier: GPL-2.0
/*
 * What merging would do, counted while ksmd merges nothing: for
 * `ksmctl estimate`, which observes chosen cgroups (memory.ksm_merge
 * "observe") and loads this for the length of the estimate.
 *
 * The kernel reports each page of an observed process that ksmd looks at
 * (ksm_observe_page). In one pass, the counting pass, this counts them per
 * cgroup, and groups the copies of each content under its first copy, the
 * page they all meet in the unstable tree (include/ksm_estimate.h). Only
 * ksmd fires these events, one at a time: no atomics are needed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "ksm_estimate.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_ESTIMATE_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct ksm_estimate_cgroup);
} cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSM_ESTIMATE_MAX_CONTENTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ksm_estimate_content_key);
	__type(value, struct ksm_estimate_content);
} contents SEC(".maps");

struct ksm_estimate_state state;

/* In the counting pass: between its ksm_start_scan and its ksm_stop_scan. */
static bool counting;

SEC("tracepoint/ksm/ksm_start_scan")
int estimate_pass_start(struct trace_event_raw_ksm_scan_template *e)
{
	counting = state.counting_pass && (__u64)e->seq == state.counting_pass;
	return 0;
}

SEC("tracepoint/ksm/ksm_stop_scan")
int estimate_pass_end(struct trace_event_raw_ksm_scan_template *e)
{
	if (counting && (__u64)e->seq == state.counting_pass)
		state.counted = 1;
	counting = false;
	return 0;
}

static struct ksm_estimate_cgroup *cgroup_entry(__u64 id)
{
	struct ksm_estimate_cgroup *c, zero = {};

	c = bpf_map_lookup_elem(&cgroups, &id);
	if (c)
		return c;
	bpf_map_update_elem(&cgroups, &id, &zero, BPF_NOEXIST);
	c = bpf_map_lookup_elem(&cgroups, &id);
	if (!c)
		state.cgroups_dropped++;
	return c;
}

/* One more copy of @content in @cgroup_id. */
static void content_add(struct ksm_estimate_content *content, __u64 cgroup_id)
{
	__u32 i, free = KSM_ESTIMATE_CONTENT_CGROUPS;

	for (i = 0; i < KSM_ESTIMATE_CONTENT_CGROUPS; i++) {
		if (!content->copies[i]) {
			if (free == KSM_ESTIMATE_CONTENT_CGROUPS)
				free = i;
			continue;
		}
		if (content->cgroup_id[i] == cgroup_id) {
			content->copies[i]++;
			return;
		}
	}
	if (free < KSM_ESTIMATE_CONTENT_CGROUPS) {
		content->cgroup_id[free] = cgroup_id;
		content->copies[free] = 1;
		return;
	}
	content->crowded++;
	state.crowded++;
}

/* A copy of the page that waits in the unstable tree: join its content. */
static void match(struct trace_event_raw_ksm_observe_page *e)
{
	struct ksm_estimate_content_key key = {
		.mm = (__u64)e->other,
		.addr = e->other_addr,
	};
	struct ksm_estimate_content *content, fresh = {};

	content = bpf_map_lookup_elem(&contents, &key);
	if (!content) {
		/* The first copy is counted with its content's first match. */
		fresh.cgroup_id[0] = e->other_cgroup_id;
		fresh.copies[0] = 1;
		bpf_map_update_elem(&contents, &key, &fresh, BPF_NOEXIST);
		content = bpf_map_lookup_elem(&contents, &key);
		if (!content) {
			state.contents_dropped++;
			return;
		}
	}
	content_add(content, e->cgroup_id);
}

SEC("tracepoint/ksm/ksm_observe_page")
int estimate_page(struct trace_event_raw_ksm_observe_page *e)
{
	struct ksm_estimate_cgroup *c;

	if (!counting)
		return 0;
	c = cgroup_entry(e->cgroup_id);
	if (c)
		c->pages++;
	switch (e->kind) {
	case KSM_ESTIMATE_VOLATILE:
		if (c)
			c->volatile_pages++;
		break;
	case KSM_ESTIMATE_UNIQUE:
		if (c)
			c->unique_pages++;
		break;
	case KSM_ESTIMATE_ZERO:
		if (c)
			c->zero_pages++;
		break;
	case KSM_ESTIMATE_MATCH:
		if (c)
			c->matched_pages++;
		match(e);
		break;
	}
	return 0;
}
