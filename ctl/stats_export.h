/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl stats format openmetrics|prometheus: KSM as metric families for
 * a fleet's monitoring: ksmd's own counters (/sys/kernel/mm/ksm), the
 * policy, the statistics' own health, per cgroup and the top processes.
 * Everything is given in struct stats_export; writing reads nothing.
 */
#ifndef KSMCTL_STATS_EXPORT_H
#define KSMCTL_STATS_EXPORT_H

#include "ksm_stats.h"
#include "openmetrics.h"
#include "policy_progs.h"
#include "sharing.h"
#include "stats_table.h"

struct stats_export {
	/* A /sys/kernel/mm/ksm counter by name: 0, or -1 when it is absent. */
	int (*read_knob)(const char *name, long long *value);
	bool policy_supported;		/* the kernel has ksm_policy_ops */
	const char *policy;		/* the attached policy, "" for none */
	const char *last_exit;		/* /sys/kernel/mm/ksm/policy_exit: "none" or N: R: M */
	const struct policy_progs *progs;	/* the attached policy's programs, or NULL */
	const struct ksm_stats_totals *totals;	/* NULL: statistics not enabled */
	bool upstream;			/* a kernel without the series: no copy-on-write events */
	const struct stats_row *cgroups;	/* cgroup rows */
	const char *const *domains;	/* each cgroup's effective merge domain */
	const char *const *policies;	/* each cgroup's own BPF policy, "" for none */
	size_t ncgroups;
	const struct stats_row *procs;	/* process rows, the ones to export */
	size_t nprocs;
	const struct sharing_view *sharing;	/* ksm pages per pair of cgroups, or NULL */
};

void stats_export_write(struct om_writer *w, const struct stats_export *e);

#endif /* KSMCTL_STATS_EXPORT_H */
