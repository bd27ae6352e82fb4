/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl estimate: the BPF side, bpf/ksm_estimate.bpf.c built in as a
 * skeleton, loaded and attached for the length of one estimate; nothing is
 * pinned, so nothing outlives ksmctl.
 */
#ifndef KSMCTL_ESTIMATE_BPF_H
#define KSMCTL_ESTIMATE_BPF_H

#include <stddef.h>

#include "estimate_report.h"

struct ksm_estimate_bpf;

/*
 * What the running kernel offers: 0 with sizeof(struct ksm_rmap_item) from
 * its BTF, or an error said (no BTF, no ksm_observe_page tracepoint).
 */
int estimate_kernel_check(unsigned long *rmap_item_size);

/* Load and attach, with room for @max_contents contents (0: the default). */
int estimate_bpf_start(struct ksm_estimate_bpf **skel, unsigned long max_contents);
/* Count pass @pass (its ksm_start_scan seq): set before it begins. */
void estimate_bpf_arm(struct ksm_estimate_bpf *skel, unsigned long long pass);
/* Has the pass armed ended? */
bool estimate_bpf_counted(const struct ksm_estimate_bpf *skel);
/*
 * What the pass found: the cgroups (id and seen only) and the contents,
 * allocated, and the program's state. 0 or an error said.
 */
int estimate_bpf_read(struct ksm_estimate_bpf *skel, struct estimate_cgroup **cgroups,
		      size_t *n, struct ksm_estimate_content **contents, size_t *ncontents,
		      struct ksm_estimate_state *state);
void estimate_bpf_stop(struct ksm_estimate_bpf *skel);

#endif /* KSMCTL_ESTIMATE_BPF_H */
