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

/* The link whose pin says that who shares with whom is collected. */
#define SHARING_LINK_PIN STATS_DIR "/ksm_rmap_join"

/*
 * What `stats enable` collects: the sizes of the maps (0 keeps the object's,
 * KSM_STATS_MAX_*), and whether who shares with whom, which costs a program
 * run of about 1,500 instructions for each mapping joining or leaving a ksm
 * page, four times what the counters cost.
 */
struct stats_config {
	unsigned int procs, cgroups, mappings;
	bool sharing;
};

/* Are the statistics pinned (collected)? */
bool stats_enabled(void);
/* ... and who shares with whom too? */
bool stats_sharing_enabled(void);
/* Can this user see whether they are (ksm_bpffs_dir is root's alone)? */
bool stats_visible(void);
/* Load, attach and pin; on failure nothing stays pinned. 0 or an error said. */
int stats_start(const struct stats_config *config, bool *series);
/* Start them, without who shares with whom, if they are not: for `policy load`. */
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
