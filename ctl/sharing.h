/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl stats sharing: who shares ksm pages with whom, per pair of cgroups,
 * from the sharing map of include/ksm_stats.h. Rows, whether they are
 * exact, and how they are printed; no I/O but the output stream.
 */
#ifndef KSMCTL_SHARING_H
#define KSMCTL_SHARING_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ksm_stats.h"
#include "openmetrics.h"
#include "stats_table.h"

#define SHARING_DOMAIN_LEN 96

struct sharing_row {
	unsigned long long cgroup_id[2];	/* a <= b; equal: within one cgroup */
	char cgroup[2][STATS_CGROUP_LEN];	/* paths under the cgroup2 root */
	char domain[2][SHARING_DOMAIN_LEN];	/* effective merge domains; "" unknown */
	unsigned long long pages;		/* ksm pages both map now */
};

struct sharing_view {
	const struct sharing_row *rows;
	size_t n;
	const struct ksm_stats_totals *totals;	/* what the counts miss */
	size_t top;				/* at most this many rows; 0: all */
};

/* Exchange the two sides of a pair (ids, paths and domains). */
void sharing_swap_sides(struct sharing_row *r);
/* Most pages first; ties by the cgroups' paths. */
void sharing_sort(struct sharing_row *rows, size_t n);
/* Are both cgroups in one merge domain? False when either is unknown. */
bool sharing_same_domain(const struct sharing_row *r);
/* Pages of rows whose cgroups are in different known domains: should be 0. */
unsigned long long sharing_across_domains(const struct sharing_row *rows, size_t n);
/*
 * Why the counts are not exact, as one sentence into @buf; false when they
 * are exact.
 */
bool sharing_inexact(const struct ksm_stats_totals *t, char *buf, size_t len);

void sharing_print_table(FILE *f, const struct sharing_view *v);
json_object *sharing_to_json(const struct sharing_view *v);
/* The sharing metric families (no "# EOF": the caller ends the exposition). */
void sharing_export_write(struct om_writer *w, const struct sharing_view *v);

#endif /* KSMCTL_SHARING_H */
