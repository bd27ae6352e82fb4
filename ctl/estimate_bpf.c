// SPDX-License-Identifier: GPL-2.0
/* ksmctl estimate: the BPF side (see estimate_bpf.h). */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_map.h"
#include "estimate_bpf.h"
#include "ksmctl.h"

#include "ksm_estimate.bpf.skel.h"

int estimate_kernel_check(unsigned long *rmap_item_size)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool observe;
	int id;

	if (!vmlinux)
		return fail(EXIT_UNSUPPORTED, "estimate: this kernel has no BTF "
			    "(CONFIG_DEBUG_INFO_BTF), which the estimate's program needs");
	observe = btf__find_by_name_kind(vmlinux, "trace_event_raw_ksm_observe_page",
					 BTF_KIND_STRUCT) > 0;
	id = btf__find_by_name_kind(vmlinux, "ksm_rmap_item", BTF_KIND_STRUCT);
	*rmap_item_size = id > 0 ? btf__resolve_size(vmlinux, id) : 0;
	btf__free(vmlinux);
	if (!observe)
		return fail(EXIT_UNSUPPORTED, "estimate: this kernel cannot observe: it has no "
			    "ksm_observe_page tracepoint, nor memory.ksm_merge \"observe\" (the "
			    "ksm-bpf series adds them)");
	if (!*rmap_item_size)
		return fail(EXIT_UNSUPPORTED, "estimate: the kernel's BTF has no struct "
			    "ksm_rmap_item (CONFIG_KSM)");
	return 0;
}

int estimate_bpf_start(struct ksm_estimate_bpf **skelp, unsigned long max_contents)
{
	struct ksm_estimate_bpf *skel = ksm_estimate_bpf__open();
	int err;

	if (!skel)
		return fail(EXIT_FAIL, "estimate: cannot open the estimate's BPF program: %s",
			    strerror(errno));
	err = max_contents ? bpf_map__set_max_entries(skel->maps.contents, max_contents) : 0;
	if (!err)
		err = ksm_estimate_bpf__load(skel);
	if (!err)
		err = ksm_estimate_bpf__attach(skel);
	if (err) {
		ksm_estimate_bpf__destroy(skel);
		return fail(EXIT_FAIL, "estimate: cannot load the estimate's BPF program: %s "
			    "(--debug shows libbpf's log)", strerror(-err));
	}
	*skelp = skel;
	return 0;
}

void estimate_bpf_arm(struct ksm_estimate_bpf *skel, unsigned long long pass)
{
	skel->bss->state.counting_pass = pass;
}

bool estimate_bpf_counted(const struct ksm_estimate_bpf *skel)
{
	return __atomic_load_n(&skel->bss->state.counted, __ATOMIC_ACQUIRE);
}

int estimate_bpf_read(struct ksm_estimate_bpf *skel, struct estimate_cgroup **cgroups,
		      size_t *n, struct ksm_estimate_content **contents, size_t *ncontents,
		      struct ksm_estimate_state *state)
{
	void *ids = NULL, *seen = NULL, *keys = NULL;
	int err;

	*cgroups = NULL;
	*contents = NULL;
	err = map_read_all(bpf_map__fd(skel->maps.cgroups), &ids, &seen, n);
	if (!err)
		err = map_read_all(bpf_map__fd(skel->maps.contents), &keys, (void **)contents,
				   ncontents);
	free(keys);
	if (!err) {
		*cgroups = calloc(*n ? *n : 1, sizeof(**cgroups));
		err = *cgroups ? 0 : -ENOMEM;
	}
	for (size_t i = 0; !err && i < *n; i++) {
		(*cgroups)[i].id = ((__u64 *)ids)[i];
		(*cgroups)[i].seen = ((struct ksm_estimate_cgroup *)seen)[i];
	}
	free(ids);
	free(seen);
	if (err) {
		free(*cgroups);
		free(*contents);
		*cgroups = NULL;
		*contents = NULL;
		return fail(EXIT_FAIL, "estimate: cannot read the estimate's maps: %s",
			    strerror(-err));
	}
	*state = skel->bss->state;
	return 0;
}

void estimate_bpf_stop(struct ksm_estimate_bpf *skel)
{
	ksm_estimate_bpf__destroy(skel);
}
