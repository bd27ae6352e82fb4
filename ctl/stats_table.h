/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl stats: rows of the per-process and per-cgroup tables, how they are
 * filtered, sorted, aggregated and printed. No I/O but the output stream, so
 * the unit tests check it all on made-up rows.
 */
#ifndef KSMCTL_STATS_TABLE_H
#define KSMCTL_STATS_TABLE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ksm_stats.h"

#define STATS_CGROUP_LEN 256

struct stats_row {
	int pid;			/* 0 in a cgroup row */
	char comm[16];
	char cgroup[STATS_CGROUP_LEN];	/* path under the cgroup2 root */
	unsigned long long cgroup_id;
	unsigned int procs;		/* live processes (cgroup rows) */
	/*
	 * Process rows: c holds its counters (the BPF map has an entry made
	 * for this very process). Cgroup rows: processes of it without.
	 */
	bool tracked;
	/* Process rows: cow_writes and unshares in c are the kernel's, tracked or not. */
	bool cow_live;
	unsigned int untracked;
	struct ksm_counters c;		/* from the BPF maps */
	long long sharing;		/* pages sharing a ksm page now (the kernel's) */
	long long saved;		/* bytes: the kernel's ksm_process_profit */
};

/* A row's counters: a cgroup's always, a process's from its statistics entry. */
static inline bool stats_row_counted(const struct stats_row *r)
{
	return !r->pid || r->tracked;
}

/* Its copy-on-write counts: also a process's without an entry, on a series kernel. */
static inline bool stats_row_cow_counted(const struct stats_row *r)
{
	return stats_row_counted(r) || r->cow_live;
}

enum stats_sort {
	SORT_PID, SORT_COMM, SORT_CGROUP, SORT_SCANNED, SORT_MERGED,
	SORT_SHARING, SORT_COW, SORT_SKIPPED, SORT_SAVED,
};

/* "merged" -> SORT_MERGED; -1 for an unknown key. */
int stats_sort_parse(const char *name, enum stats_sort *key);
/* The valid keys, for messages: "pid, comm, ..." */
const char *stats_sort_keys(void);
/* Names ascending, numbers descending; ties by pid or cgroup. */
void stats_sort_rows(struct stats_row *rows, size_t n, enum stats_sort key);

/* True if @cgroup is @filter or below it ("/a" matches "/a" and "/a/b"). */
bool stats_cgroup_matches(const char *cgroup, const char *filter);

struct stats_cgroup_counters {
	unsigned long long cgroup_id;
	struct ksm_counters c;
};

/*
 * One row per cgroup of @procs (by cgroup_id): live processes, and their
 * pages sharing and bytes saved, summed: what the kernel says now. The
 * counters are the cgroup's own from @cgroup_counters (kept by BPF, they
 * include processes that exited or moved away), else the sum over its
 * tracked processes. Cgroups of @cgroup_counters without live processes
 * get a row with an empty path. Returns the number of rows written to @out
 * (room for @n + @ncg rows).
 */
size_t stats_aggregate_cgroups(const struct stats_row *procs, size_t n,
			       const struct stats_cgroup_counters *cgroup_counters, size_t ncg,
			       struct stats_row *out);

/* How rows are shown. */
struct stats_view {
	bool cgroups;		/* cgroup rows, not process rows */
	size_t top;		/* at most this many rows; 0: all */
	/*
	 * A kernel without the ksm-bpf series: its events say nothing of
	 * copy-on-write or of a policy, so there are no such columns.
	 */
	bool upstream;
};

/* The rows as a table or a JSON array (a column the kernel lacks: null). */
void stats_print_table(FILE *f, const struct stats_row *rows, size_t n,
		       const struct stats_view *v);
json_object *stats_to_json(const struct stats_row *rows, size_t n, const struct stats_view *v);

/*
 * /proc/PID/stat (@text): the task's state letter ('Z' for a zombie), 0 if
 * the text is not one; and when it started, in clock ticks (field 22; 0 if
 * unknown).
 */
char proc_stat_parse(const char *text, unsigned long long *start_ticks);
/*
 * The value of the line "@key VALUE" of /proc/PID/ksm_stat (@text), or
 * @missing if the kernel has no such line.
 */
long long proc_ksm_stat_field(const char *text, const char *key, long long missing);

/* "12.3M" style sizes for the table. */
void stats_format_bytes(char *buf, size_t len, long long bytes);

#endif /* KSMCTL_STATS_TABLE_H */
