// SPDX-License-Identifier: GPL-2.0
/* ksmctl: KSM's metric families (see stats_export.h). */
#include <stdlib.h>
#include <string.h>

#include "stats_export.h"

/* ksmd's own counters and knobs, as node_exporter's ksmd collector has some of them. */
static const struct {
	const char *knob, *family, *unit, *help;
	enum om_type type;
	double scale;		/* 0: an integer as it is */
} knob_metrics[] = {
	{ "run", "ksm_run_state", NULL,
	  "ksmd's state: 0 stopped, 1 running, 2 unmerging (/sys/kernel/mm/ksm/run).",
	  OM_GAUGE, 0 },
	{ "pages_shared", "ksm_shared_pages", "pages",
	  "KSM pages in use: one per merged content.", OM_GAUGE, 0 },
	{ "pages_sharing", "ksm_sharing_pages", "pages",
	  "Pages of processes that share a KSM page: memory saved, in pages.", OM_GAUGE, 0 },
	{ "pages_unshared", "ksm_unshared_pages", "pages",
	  "Pages KSM checks but that are unique.", OM_GAUGE, 0 },
	{ "pages_volatile", "ksm_volatile_pages", "pages",
	  "Pages changing too fast to be merged.", OM_GAUGE, 0 },
	{ "ksm_zero_pages", "ksm_zero_pages", "pages",
	  "Empty pages merged with the zero page (use_zero_pages).", OM_GAUGE, 0 },
	{ "general_profit", "ksm_general_profit_bytes", "bytes",
	  "Memory KSM saves, net of its own metadata.", OM_GAUGE, 0 },
	{ "full_scans", "ksm_full_scans", NULL,
	  "Passes of ksmd over all mergeable memory.", OM_COUNTER, 0 },
	{ "pages_scanned", "ksm_scanned_pages", "pages",
	  "Pages ksmd has scanned.", OM_COUNTER, 0 },
	{ "pages_skipped", "ksm_smart_skipped_pages", "pages",
	  "Pages ksmd's smart scan skipped.", OM_COUNTER, 0 },
	{ "policy_pages_skipped", "ksm_policy_skipped_pages", "pages",
	  "Pages BPF policies left alone (KSM_PAGE_SKIP).", OM_COUNTER, 0 },
	{ "pages_to_scan", "ksm_batch_pages", "pages",
	  "Pages ksmd scans between sleeps (/sys/kernel/mm/ksm/pages_to_scan).", OM_GAUGE, 0 },
	{ "sleep_millisecs", "ksm_sleep_seconds", "seconds",
	  "ksmd's sleep between batches.", OM_GAUGE, 0.001 },
};

static void write_knobs(struct om_writer *w, const struct stats_export *e)
{
	long long v;
	size_t i;

	for (i = 0; i < sizeof(knob_metrics) / sizeof(knob_metrics[0]); i++) {
		if (e->read_knob(knob_metrics[i].knob, &v))
			continue;	/* older kernels lack some */
		om_family(w, knob_metrics[i].family, knob_metrics[i].type, knob_metrics[i].unit,
			  knob_metrics[i].help);
		if (knob_metrics[i].scale)
			om_sample_float(w, NULL, 0, v * knob_metrics[i].scale);
		else
			om_sample(w, NULL, 0, v);
	}
}

/* "NAME: REASON: MESSAGE" of policy_exit: the name and reason into the buffers. */
static bool parse_last_exit(const char *text, char *name, size_t nlen, char *reason, size_t rlen)
{
	const char *a = strstr(text, ": "), *b = a ? strstr(a + 2, ": ") : NULL;

	if (!b)
		return false;
	snprintf(name, nlen, "%.*s", (int)(a - text), text);
	snprintf(reason, rlen, "%.*s", (int)(b - a - 2), a + 2);
	return true;
}

/* The policy's programs' runs: the kernel counts them with kernel.bpf_stats_enabled. */
static void write_policy_runs(struct om_writer *w, const struct stats_export *e)
{
	struct om_label l[2];
	int f, i;

	if (!e->progs || !e->progs->pinned)
		return;
	om_family(w, "ksm_policy_run_stats_enabled", OM_GAUGE, NULL,
		  "1 while the kernel counts BPF program runs (sysctl kernel.bpf_stats_enabled): "
		  "ksm_policy_program_runs exists only then.");
	om_sample(w, NULL, 0, e->progs->run_stats);
	if (!e->progs->run_stats)
		return;
	for (f = 0; f < 2; f++) {
		if (f == 0)
			om_family(w, "ksm_policy_program_runs", OM_COUNTER, NULL,
				  "Runs of the policy's program for each hook, while run "
				  "statistics were on.");
		else
			om_family(w, "ksm_policy_program_run_seconds", OM_COUNTER, "seconds",
				  "Time in the policy's program for each hook, while run "
				  "statistics were on.");
		for (i = 0; i < POLICY_HOOKS; i++) {
			const struct policy_prog *p = &e->progs->hook[i];

			if (!p->id)
				continue;
			l[0] = (struct om_label){ "hook", policy_hooks[i] };
			l[1] = (struct om_label){ "program", p->name };
			if (f == 0)
				om_sample(w, l, 2, p->run_cnt);
			else
				om_sample_float(w, l, 2, p->run_time_ns / 1e9);
		}
	}
}

static void write_policy(struct om_writer *w, const struct stats_export *e)
{
	char name[80], reason[64];
	struct om_label l[2];

	if (!e->policy_supported)
		return;
	om_family(w, "ksm_policy_attached", OM_GAUGE, NULL,
		  "1 with the name of the BPF policy attached to ksmd, 0 when none is.");
	l[0] = (struct om_label){ "policy", e->policy };
	om_sample(w, l, 1, e->policy[0] != '\0');
	if (parse_last_exit(e->last_exit, name, sizeof(name), reason, sizeof(reason))) {
		om_family(w, "ksm_policy_last_exit", OM_GAUGE, NULL,
			  "The last policy that stopped, and why (/sys/kernel/mm/ksm/policy_exit).");
		l[0] = (struct om_label){ "policy", name };
		l[1] = (struct om_label){ "reason", reason };
		om_sample(w, l, 2, 1);
	}
	write_policy_runs(w, e);
	if (!e->totals)
		return;
	om_family(w, "ksm_policy_attaches", OM_COUNTER, NULL,
		  "Policies attached or replacing one, since the statistics were enabled.");
	om_sample(w, NULL, 0, e->totals->policy_attached);
	om_family(w, "ksm_policy_ejections", OM_COUNTER, NULL,
		  "Policies ejected (error, invalid verdict, watchdog), since the statistics "
		  "were enabled.");
	om_sample(w, NULL, 0, e->totals->policy_ejected);
}

static void write_collector(struct om_writer *w, const struct stats_export *e)
{
	struct om_label l;

	om_family(w, "ksm_stats_enabled", OM_GAUGE, NULL,
		  "1 when ksmctl's BPF statistics are collected ('ksmctl stats enable').");
	om_sample(w, NULL, 0, e->totals != NULL);
	if (!e->totals)
		return;
	om_family(w, "ksm_stats_dropped_events", OM_COUNTER, NULL,
		  "Events the statistics lost to a full map: counters miss them (mm_folds: "
		  "a process's copy-on-write counts reach its cgroup only when it exits).");
	l = (struct om_label){ "map", "procs" };
	om_sample(w, &l, 1, e->totals->procs_dropped);
	l = (struct om_label){ "map", "cgroups" };
	om_sample(w, &l, 1, e->totals->cgroups_dropped);
	l = (struct om_label){ "map", "mm_folds" };
	om_sample(w, &l, 1, e->totals->cow_folds_deferred);
}

/* The value of a row for one family; false when the row has none. */
typedef bool (*row_value)(const struct stats_row *r, long long *v);

static bool v_procs(const struct stats_row *r, long long *v)
{
	*v = r->procs;
	return true;
}

static bool v_untracked(const struct stats_row *r, long long *v)
{
	*v = r->untracked;
	return true;
}

static bool v_sharing(const struct stats_row *r, long long *v)
{
	*v = r->sharing;
	return true;
}

static bool v_saved(const struct stats_row *r, long long *v)
{
	*v = r->saved;
	return true;
}

/* Counters: a process without its statistics entry has none. */
static bool v_scanned(const struct stats_row *r, long long *v)
{
	*v = r->c.pages_scanned;
	return stats_row_counted(r);
}

static bool v_merged(const struct stats_row *r, long long *v)
{
	*v = r->c.pages_merged;
	return stats_row_counted(r);
}

static bool v_cow(const struct stats_row *r, long long *v)
{
	*v = r->c.cow_writes;
	return stats_row_cow_counted(r);
}

struct row_metric {
	const char *suffix, *unit, *help;
	enum om_type type;
	row_value value;
	bool counts;		/* needs the BPF statistics */
	bool series;		/* needs the series' events */
};

static const struct row_metric cgroup_metrics[] = {
	{ "processes", NULL, "Live processes of the cgroup that KSM knows.", OM_GAUGE,
	  v_procs, false, false },
	{ "sharing_pages", "pages", "Pages of the cgroup's processes that share a KSM page "
	  "(the kernel's ksm_merging_pages, summed).", OM_GAUGE, v_sharing, false, false },
	{ "saved_bytes", "bytes", "Memory KSM saves the cgroup's processes, net of its "
	  "metadata (the kernel's ksm_process_profit, summed).", OM_GAUGE, v_saved, false, false },
	{ "scanned_pages", "pages", "Pages of the cgroup's processes ksmd scanned.", OM_COUNTER,
	  v_scanned, true, false },
	{ "merged_pages", "pages", "Pages of the cgroup's processes ksmd merged.", OM_COUNTER,
	  v_merged, true, false },
	{ "cow_writes", NULL, "Writes that broke a KSM page of the cgroup (copy-on-write).",
	  OM_COUNTER, v_cow, true, true },
	{ "untracked_processes", NULL, "Processes whose counters the statistics miss (their "
	  "map entry could not be made).", OM_GAUGE, v_untracked, true, false },
};

static const struct row_metric process_metrics[] = {
	{ "sharing_pages", "pages", "Pages of the process that share a KSM page.", OM_GAUGE,
	  v_sharing, false, false },
	{ "saved_bytes", "bytes", "Memory KSM saves the process, net of its metadata.",
	  OM_GAUGE, v_saved, false, false },
	{ "scanned_pages", "pages", "Pages of the process ksmd scanned.", OM_COUNTER,
	  v_scanned, true, false },
	{ "merged_pages", "pages", "Pages of the process ksmd merged.", OM_COUNTER, v_merged,
	  true, false },
	{ "cow_writes", NULL, "Writes that broke a KSM page of the process (copy-on-write).",
	  OM_COUNTER, v_cow, true, true },
};

static void write_rows(struct om_writer *w, const struct stats_export *e, bool cgroups)
{
	const struct row_metric *m = cgroups ? cgroup_metrics : process_metrics;
	size_t nm = cgroups ? sizeof(cgroup_metrics) / sizeof(cgroup_metrics[0]) :
		    sizeof(process_metrics) / sizeof(process_metrics[0]);
	const struct stats_row *rows = cgroups ? e->cgroups : e->procs;
	size_t n = cgroups ? e->ncgroups : e->nprocs, i, j;
	char family[64], pid[16];
	struct om_label l[3];
	long long v;

	if (!n)
		return;
	for (i = 0; i < nm; i++) {
		if ((m[i].counts && !e->totals) || (m[i].series && e->upstream))
			continue;
		snprintf(family, sizeof(family), "ksm_%s_%s", cgroups ? "cgroup" : "process",
			 m[i].suffix);
		om_family(w, family, m[i].type, m[i].unit, m[i].help);
		for (j = 0; j < n; j++) {
			if (!m[i].value(&rows[j], &v))
				continue;
			if (cgroups) {
				l[0] = (struct om_label){ "cgroup", rows[j].cgroup };
				l[1] = (struct om_label){ "domain", e->domains[j] };
				om_sample(w, l, 2, v);
			} else {
				snprintf(pid, sizeof(pid), "%d", rows[j].pid);
				l[0] = (struct om_label){ "pid", pid };
				l[1] = (struct om_label){ "comm", rows[j].comm };
				l[2] = (struct om_label){ "cgroup", rows[j].cgroup };
				om_sample(w, l, 3, v);
			}
		}
	}
}

/* The memory cgroups (of the rows) with a BPF policy of their own. */
static void write_cgroup_policies(struct om_writer *w, const struct stats_export *e)
{
	struct om_label l[2];
	bool any = false;
	size_t i;

	for (i = 0; e->policies && i < e->ncgroups; i++) {
		if (!e->policies[i][0])
			continue;
		if (!any)
			om_family(w, "ksm_cgroup_policy_attached", OM_GAUGE, NULL,
				  "1 with the name of the BPF policy attached to the cgroup, which "
				  "decides for its processes and those below without their own.");
		any = true;
		l[0] = (struct om_label){ "cgroup", e->cgroups[i].cgroup };
		l[1] = (struct om_label){ "policy", e->policies[i] };
		om_sample(w, l, 2, 1);
	}
}

void stats_export_write(struct om_writer *w, const struct stats_export *e)
{
	write_knobs(w, e);
	write_policy(w, e);
	write_collector(w, e);
	write_rows(w, e, true);
	write_cgroup_policies(w, e);
	write_rows(w, e, false);
	if (e->sharing)
		sharing_export_write(w, e->sharing);
	om_end(w);
}
