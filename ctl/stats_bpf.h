/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The statistics' BPF side, for `stats` and for `policy load` (which starts
 * them): the programs of bpf/ksm_stats.bpf.c on the ksm tracepoints and
 * their maps, pinned under ksm_bpffs_dir.
 */
#ifndef KSMCTL_STATS_BPF_H
#define KSMCTL_STATS_BPF_H

#include <stdbool.h>

#include "ksm_stats.h"

/* Under ksm_bpffs_dir: the links, and the maps of include/ksm_stats.h. */
#define STATS_DIR "stats"
#define PROCS_PIN "procs"
#define CGROUPS_PIN "cgroups"
#define TOTALS_PIN "totals"
#define SHARING_PIN "sharing"

/* Sizes of the maps; 0 keeps the object's (KSM_STATS_MAX_*). */
struct stats_sizes {
	unsigned int procs, cgroups, mappings;
};

/* Are the statistics pinned (collected)? */
bool stats_enabled(void);
/* Can this user see whether they are (ksm_bpffs_dir is root's alone)? */
bool stats_visible(void);
/* Load, attach and pin; on failure nothing stays pinned. 0 or an error said. */
int stats_start(const struct stats_sizes *sizes, bool *series);
/* Start them if they are not: for `policy load`. */
int stats_enable_quiet(bool *started);
/* Unpin everything stats_start() pins; what is not there is fine. */
void stats_unpin(void);
/* The totals map (events lost, policy events): 0 or -errno, quietly. */
int stats_read_totals(struct ksm_stats_totals *t);
/* The ksm events of the running kernel, from its BTF. */
struct kernel_events {
	bool series;		/* the series' events that name process and cgroup */
	bool sharing;		/* ksm_rmap_join and ksm_rmap_leave, for `stats sharing` */
	bool upstream;		/* upstream's (Linux >= 6.7) */
};

/* Which events the kernel has: 0, or an error said when it has none usable. */
int kernel_events(struct kernel_events *k);
/* The same, quietly: all false when the kernel has no BTF. */
void kernel_events_quiet(struct kernel_events *k);

#endif /* KSMCTL_STATS_BPF_H */
