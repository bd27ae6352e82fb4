/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl estimate: from what ksmd found in the counting pass (the maps of
 * include/ksm_estimate.h), what merging would share and save, per cgroup,
 * per pair of cgroups and per merge domain, with the domains of the current
 * settings and without them; and how that is printed. No I/O but the output
 * stream.
 */
#ifndef KSMCTL_ESTIMATE_REPORT_H
#define KSMCTL_ESTIMATE_REPORT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cgroup_settings.h"
#include "ksm_estimate.h"
#include "openmetrics.h"

#define ESTIMATE_DOMAIN_LEN 96

struct estimate_cgroup {
	unsigned long long id;
	char path[CGROUP_PATH_LEN];		/* under the cgroup2 root */
	char domain[ESTIMATE_DOMAIN_LEN];	/* where it may merge now; "" unknown */
	struct ksm_estimate_cgroup seen;	/* its pages in the counting pass */
	/* Computed: its pages that would be merged (ksm_merging_pages). */
	unsigned long long merging;		/* with the current domains */
	unsigned long long merging_any;		/* were there no domains */
};

/* Pages that both cgroups would map, were there no domains (a == b: within one). */
struct estimate_pair {
	size_t a, b;				/* indexes of cgroups, a <= b */
	unsigned long long pages;
};

/* A merge domain of the current settings, and what merging would do in it. */
struct estimate_domain {
	char name[ESTIMATE_DOMAIN_LEN];
	size_t cgroups;
	unsigned long long pages;		/* compared */
	unsigned long long merging;		/* would be mapped to ksm pages */
	unsigned long long sharing;		/* would be saved (pages_sharing) */
};

/* How the estimate was made: from ksmd and the kernel. */
struct estimate_run {
	unsigned long passes;			/* full passes observed, the last counted */
	unsigned long long counting_pass;	/* its number (full_scans before it) */
	double ksmd_cpu_seconds;		/* ksmd's CPU time over the estimate */
	double seconds;				/* wall clock */
	unsigned long page_size;
	unsigned long rmap_item_size;		/* sizeof(struct ksm_rmap_item) */
	unsigned long max_page_sharing;
	struct ksm_estimate_state state;	/* the program's misses */
};

struct estimate_report {
	struct estimate_run run;
	struct estimate_cgroup *cgroups;
	size_t n;
	struct estimate_pair *pairs;
	size_t npairs;
	struct estimate_domain *domains;	/* known domains, by name */
	size_t ndomains;
	/* Totals: pages_sharing and general_profit as ksmd would count them. */
	unsigned long long pages, volatile_pages, zero_pages;
	unsigned long long sharing, sharing_any;
	long long profit, profit_any;		/* bytes */
	bool large_contents;			/* a content over max_page_sharing */
};

/*
 * The report of @run over the cgroups @cgroups (taken; their id, path,
 * domain and seen filled) and the @ncontents contents: cgroups that only
 * contents name are added. 0 or -ENOMEM.
 */
int estimate_report_build(struct estimate_report *r, const struct estimate_run *run,
			  struct estimate_cgroup *cgroups, size_t n,
			  const struct ksm_estimate_content *contents, size_t ncontents);
void estimate_report_free(struct estimate_report *r);

/* The index of the cgroup @id in @r, or -1. */
long estimate_cgroup_index(const struct estimate_report *r, unsigned long long id);

/* Why the figures are not exact, as one sentence into @buf; false when they are. */
bool estimate_inexact(const struct estimate_report *r, char *buf, size_t len);

void estimate_print_table(FILE *f, const struct estimate_report *r);
json_object *estimate_to_json(const struct estimate_report *r);
void estimate_export_write(struct om_writer *w, const struct estimate_report *r);

#endif /* KSMCTL_ESTIMATE_REPORT_H */
