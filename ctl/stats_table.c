// SPDX-License-Identifier: GPL-2.0
/* ksmctl stats: filter, sort, aggregate and print rows (see stats_table.h). */
#include <stdlib.h>
#include <string.h>

#include "stats_table.h"

static const char *const sort_names[] = {
	[SORT_PID] = "pid", [SORT_COMM] = "comm", [SORT_CGROUP] = "cgroup",
	[SORT_SCANNED] = "scanned", [SORT_MERGED] = "merged", [SORT_SHARING] = "sharing",
	[SORT_COW] = "cow", [SORT_SKIPPED] = "skipped", [SORT_SAVED] = "saved",
};
#define NR_SORT (sizeof(sort_names) / sizeof(sort_names[0]))

int stats_sort_parse(const char *name, enum stats_sort *key)
{
	size_t i;

	for (i = 0; i < NR_SORT; i++) {
		if (!strcmp(name, sort_names[i])) {
			*key = i;
			return 0;
		}
	}
	return -1;
}

const char *stats_sort_keys(void)
{
	static char keys[128];
	size_t i;

	if (!keys[0])
		for (i = 0; i < NR_SORT; i++)
			snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "%s%s",
				 i ? ", " : "", sort_names[i]);
	return keys;
}

static long long sort_value(const struct stats_row *r, enum stats_sort key)
{
	switch (key) {
	case SORT_SCANNED:
		return r->c.pages_scanned;
	case SORT_MERGED:
		return r->c.pages_merged;
	case SORT_SHARING:
		return r->sharing;
	case SORT_COW:
		return r->c.cow_writes;
	case SORT_SKIPPED:
		return r->c.policy_skipped_pages;
	case SORT_SAVED:
		return r->saved;
	default:
		return 0;
	}
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const struct stats_row *a = pa, *b = pb;
	enum stats_sort sort_key = *(const enum stats_sort *)arg;
	long long va, vb;
	int c;

	switch (sort_key) {
	case SORT_PID:
		break;
	case SORT_COMM:
		c = strcmp(a->comm, b->comm);
		if (c)
			return c;
		break;
	case SORT_CGROUP:
		c = strcmp(a->cgroup, b->cgroup);
		if (c)
			return c;
		break;
	default:
		va = sort_value(a, sort_key);
		vb = sort_value(b, sort_key);
		if (va != vb)
			return va > vb ? -1 : 1;
	}
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return strcmp(a->cgroup, b->cgroup);
}

void stats_sort_rows(struct stats_row *rows, size_t n, enum stats_sort key)
{
	qsort_r(rows, n, sizeof(*rows), cmp_rows, &key);
}

bool stats_cgroup_matches(const char *cgroup, const char *filter)
{
	size_t n = strlen(filter);

	while (n > 1 && filter[n - 1] == '/')
		n--;
	if (n == 1 && filter[0] == '/')
		return true;
	return !strncmp(cgroup, filter, n) && (cgroup[n] == '\0' || cgroup[n] == '/');
}

static void add_counters(struct ksm_counters *to, const struct ksm_counters *from)
{
	to->passes += from->passes;
	to->pages_scanned += from->pages_scanned;
	to->pages_merged += from->pages_merged;
	to->pages_joined += from->pages_joined;
	to->cow_writes += from->cow_writes;
	to->unshares += from->unshares;
	to->policy_skipped_pages += from->policy_skipped_pages;
	to->policy_skipped_passes += from->policy_skipped_passes;
}

size_t stats_aggregate_cgroups(const struct stats_row *procs, size_t n,
			       const struct stats_cgroup_counters *cgroup_counters, size_t ncg,
			       struct stats_row *out)
{
	size_t rows = 0, i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < rows; j++)
			if (out[j].cgroup_id == procs[i].cgroup_id)
				break;
		if (j == rows) {
			memset(&out[rows], 0, sizeof(out[rows]));
			out[rows].cgroup_id = procs[i].cgroup_id;
			memcpy(out[rows].cgroup, procs[i].cgroup, sizeof(out[rows].cgroup));
			rows++;
		}
		out[j].procs++;
		out[j].sharing += procs[i].sharing;
		out[j].saved += procs[i].saved;
		if (procs[i].tracked)
			add_counters(&out[j].c, &procs[i].c);
		else
			out[j].untracked++;
	}
	/*
	 * The cgroup's own counters also count processes that exited; a cgroup
	 * with none left gets a row of its own (its path is the caller's to find).
	 */
	for (i = 0; i < ncg; i++) {
		for (j = 0; j < rows; j++)
			if (cgroup_counters[i].cgroup_id == out[j].cgroup_id)
				break;
		if (j == rows) {
			memset(&out[rows], 0, sizeof(out[rows]));
			out[rows++].cgroup_id = cgroup_counters[i].cgroup_id;
		}
		out[j].c = cgroup_counters[i].c;
	}
	return rows;
}

void stats_format_bytes(char *buf, size_t len, long long bytes)
{
	static const char units[] = "BKMGTP";
	double v = bytes < 0 ? -bytes : bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld", bytes);
	else
		snprintf(buf, len, "%s%.*f%c", bytes < 0 ? "-" : "", v < 10 ? 1 : 0, v, units[u]);
}

/* A counter, or "-" where the row has none. */
static void print_counter(FILE *f, int width, bool known, unsigned long long v)
{
	if (known)
		fprintf(f, " %*llu", width, v);
	else
		fprintf(f, " %*s", width, "-");
}

void stats_print_table(FILE *f, const struct stats_row *rows, size_t n,
		       const struct stats_view *v)
{
	size_t i, w = 6, incomplete = 0;
	bool cgroups = v->cgroups;

	if (v->top && v->top < n)
		n = v->top;
	for (i = 0; i < n; i++)
		if (strlen(rows[i].cgroup) > w)
			w = strlen(rows[i].cgroup);
	if (cgroups)
		fprintf(f, "%-*s %5s", (int)w, "CGROUP", "PROCS");
	else
		fprintf(f, "%7s %-15s %-*s", "PID", "COMM", (int)w, "CGROUP");
	fprintf(f, " %10s %10s %10s", "SCANNED", "MERGED", "SHARING");
	if (!v->upstream)
		fprintf(f, " %8s %10s", "COW", "SKIPPED");
	fprintf(f, " %8s\n", "SAVED");
	for (i = 0; i < n; i++) {
		const struct stats_row *r = &rows[i];
		bool known = stats_row_counted(r);
		char saved[16];

		stats_format_bytes(saved, sizeof(saved), r->saved);
		if (cgroups)
			fprintf(f, "%-*s %4u%c", (int)w, r->cgroup, r->procs,
				r->untracked ? '*' : ' ');
		else
			fprintf(f, "%7d %-15s %-*s", r->pid, r->comm, (int)w, r->cgroup);
		print_counter(f, 10, known, r->c.pages_scanned);
		print_counter(f, 10, known, r->c.pages_merged);
		fprintf(f, " %10lld", r->sharing);
		if (!v->upstream) {
			print_counter(f, 8, stats_row_cow_counted(r), r->c.cow_writes);
			print_counter(f, 10, known, r->c.policy_skipped_pages);
		}
		fprintf(f, " %8s\n", saved);
		incomplete += cgroups ? r->untracked : !r->tracked;
	}
	if (incomplete)
		fprintf(f, "%s: %zu process%s without counters (their statistics entry is missing: "
			"the map was full, or they predate 'stats enable'); SHARING and SAVED are "
			"the kernel's and complete\n", cgroups ? "*" : "-", incomplete,
			incomplete == 1 ? "" : "es");
}

static void json_add_u64(json_object *o, const char *key, unsigned long long v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* A counter, or null where the row has none. */
static void json_add_counter(json_object *o, const char *key, bool known, unsigned long long v)
{
	json_object_object_add(o, key, known ? json_object_new_uint64(v) : NULL);
}

json_object *stats_to_json(const struct stats_row *rows, size_t n, const struct stats_view *v)
{
	json_object *arr = json_object_new_array();
	bool cgroups = v->cgroups;
	size_t i;

	if (v->top && v->top < n)
		n = v->top;
	for (i = 0; i < n; i++) {
		const struct stats_row *r = &rows[i];
		json_object *o = json_object_new_object();
		bool known = stats_row_counted(r);

		if (cgroups) {
			json_object_object_add(o, "cgroup", json_object_new_string(r->cgroup));
			json_add_u64(o, "cgroup_id", r->cgroup_id);
			json_add_u64(o, "procs", r->procs);
			json_add_u64(o, "untracked_procs", r->untracked);
		} else {
			json_object_object_add(o, "pid", json_object_new_int(r->pid));
			json_object_object_add(o, "comm", json_object_new_string(r->comm));
			json_object_object_add(o, "cgroup", json_object_new_string(r->cgroup));
			json_add_u64(o, "cgroup_id", r->cgroup_id);
			json_object_object_add(o, "tracked", json_object_new_boolean(r->tracked));
		}
		json_add_counter(o, "passes", known, r->c.passes);
		json_add_counter(o, "pages_scanned", known, r->c.pages_scanned);
		json_add_counter(o, "pages_merged", known, r->c.pages_merged);
		json_add_counter(o, "pages_joined", known, r->c.pages_joined);
		json_object_object_add(o, "pages_sharing", json_object_new_int64(r->sharing));
		json_add_counter(o, "cow_writes", stats_row_cow_counted(r) && !v->upstream,
				 r->c.cow_writes);
		json_add_counter(o, "unshares", stats_row_cow_counted(r) && !v->upstream,
				 r->c.unshares);
		json_add_counter(o, "policy_skipped_pages", known && !v->upstream,
				 r->c.policy_skipped_pages);
		json_add_counter(o, "policy_skipped_passes", known && !v->upstream,
				 r->c.policy_skipped_passes);
		json_object_object_add(o, "bytes_saved", json_object_new_int64(r->saved));
		json_object_array_add(arr, o);
	}
	return arr;
}

char proc_stat_parse(const char *text, unsigned long long *start_ticks)
{
	const char *p = strrchr(text, ')'), *f;
	int field;

	*start_ticks = 0;
	if (!p || p[1] != ' ')
		return 0;
	/* Field 2, the command, may hold anything but ends with the last ')'. */
	for (field = 2, f = p; field < 22 && f; field++)
		f = strchr(f + 1, ' ');
	if (!f || sscanf(f, "%llu", start_ticks) != 1)
		*start_ticks = 0;
	return p[2];
}

long long proc_ksm_stat_field(const char *text, const char *key, long long missing)
{
	size_t n = strlen(key);
	const char *p;

	for (p = text; n && (p = strstr(p, key)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return missing;
}
