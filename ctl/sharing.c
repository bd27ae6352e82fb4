// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl stats sharing: rows of the pair table, their order, exactness and
 * output (see sharing.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sharing.h"

static int cmp_rows(const void *pa, const void *pb)
{
	const struct sharing_row *a = pa, *b = pb;
	int c;

	if (a->pages != b->pages)
		return a->pages < b->pages ? 1 : -1;
	c = strcmp(a->cgroup[0], b->cgroup[0]);
	return c ? c : strcmp(a->cgroup[1], b->cgroup[1]);
}

void sharing_swap_sides(struct sharing_row *r)
{
	struct sharing_row was = *r;

	r->cgroup_id[0] = was.cgroup_id[1];
	r->cgroup_id[1] = was.cgroup_id[0];
	memcpy(r->cgroup[0], was.cgroup[1], sizeof(r->cgroup[0]));
	memcpy(r->cgroup[1], was.cgroup[0], sizeof(r->cgroup[1]));
	memcpy(r->domain[0], was.domain[1], sizeof(r->domain[0]));
	memcpy(r->domain[1], was.domain[0], sizeof(r->domain[1]));
}

void sharing_sort(struct sharing_row *rows, size_t n)
{
	qsort(rows, n, sizeof(*rows), cmp_rows);
}

bool sharing_same_domain(const struct sharing_row *r)
{
	return r->domain[0][0] && !strcmp(r->domain[0], r->domain[1]);
}

unsigned long long sharing_across_domains(const struct sharing_row *rows, size_t n)
{
	unsigned long long pages = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].domain[0][0] && rows[i].domain[1][0] && !sharing_same_domain(&rows[i]))
			pages += rows[i].pages;
	return pages;
}

bool sharing_inexact(const struct ksm_stats_totals *t, char *buf, size_t len)
{
	if (t->sharing_partial) {
		snprintf(buf, len, "ksm pages existed when the statistics started: mappings "
			 "merged before are not counted ('ksmctl stats disable', then 'enable' "
			 "before KSM merges, counts them all)");
		return true;
	}
	if (t->sharing_dropped || t->sharing_pairs_dropped) {
		snprintf(buf, len, "the statistics maps were full for %llu merged mappings and "
			 "%llu pairs: the counts miss them ('ksmctl stats enable max-mappings N' "
			 "makes room)", (unsigned long long)t->sharing_dropped,
			 (unsigned long long)t->sharing_pairs_dropped);
		return true;
	}
	if (t->sharing_crowded) {
		snprintf(buf, len, "%llu merged mappings were of ksm pages mapped from more than "
			 "%d cgroups and are not counted", (unsigned long long)t->sharing_crowded,
			 KSM_SHARING_PAGE_CGROUPS);
		return true;
	}
	return false;
}

static size_t shown(const struct sharing_view *v)
{
	return v->top && v->top < v->n ? v->top : v->n;
}

/* The text of a table cell: "-" for an unknown domain, "(itself)" for a pair of one. */
static const char *cell(const struct sharing_row *r, int column)
{
	switch (column) {
	case 0:
		return r->cgroup[0];
	case 1:
		return r->domain[0][0] ? r->domain[0] : "-";
	case 2:
		return r->cgroup_id[0] == r->cgroup_id[1] ? "(itself)" : r->cgroup[1];
	default:
		return r->domain[1][0] ? r->domain[1] : "-";
	}
}

void sharing_print_table(FILE *f, const struct sharing_view *v)
{
	static const char *const heads[] = { "CGROUP", "DOMAIN", "SHARES WITH", "DOMAIN" };
	int width[4], c;
	size_t i, n = shown(v);
	char why[256];

	for (c = 0; c < 4; c++) {
		width[c] = strlen(heads[c]);
		for (i = 0; i < n; i++)
			if ((int)strlen(cell(&v->rows[i], c)) > width[c])
				width[c] = strlen(cell(&v->rows[i], c));
	}
	for (c = 0; c < 4; c++)
		fprintf(f, "%-*s  ", width[c], heads[c]);
	fprintf(f, "%10s\n", "KSM PAGES");
	for (i = 0; i < n; i++) {
		for (c = 0; c < 4; c++)
			fprintf(f, "%-*s  ", width[c], cell(&v->rows[i], c));
		fprintf(f, "%10llu\n", v->rows[i].pages);
	}
	if (n < v->n)
		fprintf(f, "(%zu more pairs)\n", v->n - n);
	fprintf(f, "\nksm pages shared across merge domains: %llu\n",
		sharing_across_domains(v->rows, v->n));
	if (sharing_inexact(v->totals, why, sizeof(why)))
		fprintf(f, "not exact: %s\n", why);
}

static json_object *json_cgroup(const struct sharing_row *r, int i)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_uint64(r->cgroup_id[i]));
	json_object_object_add(o, "path", json_object_new_string(r->cgroup[i]));
	json_object_object_add(o, "domain", r->domain[i][0] ?
			       json_object_new_string(r->domain[i]) : NULL);
	return o;
}

json_object *sharing_to_json(const struct sharing_view *v)
{
	json_object *o = json_object_new_object(), *pairs = json_object_new_array();
	const struct ksm_stats_totals *t = v->totals;
	size_t i, n = shown(v);
	char why[256];
	bool inexact = sharing_inexact(t, why, sizeof(why));

	for (i = 0; i < n; i++) {
		const struct sharing_row *r = &v->rows[i];
		json_object *p = json_object_new_object();

		json_object_object_add(p, "cgroup_a", json_cgroup(r, 0));
		json_object_object_add(p, "cgroup_b", json_cgroup(r, 1));
		json_object_object_add(p, "within", json_object_new_boolean(
					       r->cgroup_id[0] == r->cgroup_id[1]));
		json_object_object_add(p, "same_domain",
				       json_object_new_boolean(sharing_same_domain(r)));
		json_object_object_add(p, "ksm_pages", json_object_new_uint64(r->pages));
		json_object_array_add(pairs, p);
	}
	json_object_object_add(o, "pairs", pairs);
	json_object_object_add(o, "across_domains_ksm_pages",
			       json_object_new_uint64(sharing_across_domains(v->rows, v->n)));
	json_object_object_add(o, "exact", json_object_new_boolean(!inexact));
	json_object_object_add(o, "inexact_reason", inexact ? json_object_new_string(why) : NULL);
	json_object_object_add(o, "dropped_mappings", json_object_new_uint64(t->sharing_dropped));
	json_object_object_add(o, "crowded_mappings", json_object_new_uint64(t->sharing_crowded));
	json_object_object_add(o, "dropped_pairs",
			       json_object_new_uint64(t->sharing_pairs_dropped));
	json_object_object_add(o, "partial", json_object_new_boolean(t->sharing_partial));
	return o;
}

void sharing_export_write(struct om_writer *w, const struct sharing_view *v)
{
	const struct ksm_stats_totals *t = v->totals;
	size_t i, n = shown(v);
	struct om_label l[4];
	char why[256];

	om_family(w, "ksm_sharing_exact", OM_GAUGE, NULL,
		  "1 when the KSM pages shared per pair of cgroups are exact; 0 when the "
		  "statistics missed mappings (see ksm_sharing_missed_mappings).");
	om_sample(w, NULL, 0, !sharing_inexact(t, why, sizeof(why)));
	om_family(w, "ksm_sharing_missed_mappings", OM_COUNTER, NULL,
		  "Merged mappings the pair counts miss: a full map, or a KSM page mapped "
		  "from too many cgroups.");
	l[0] = (struct om_label){ "reason", "map_full" };
	om_sample(w, l, 1, t->sharing_dropped);
	l[0] = (struct om_label){ "reason", "crowded" };
	om_sample(w, l, 1, t->sharing_crowded);
	om_family(w, "ksm_sharing_across_domains_pages", OM_GAUGE, "pages",
		  "KSM pages mapped from cgroups in different merge domains: 0 while the "
		  "domains hold.");
	om_sample(w, NULL, 0, sharing_across_domains(v->rows, v->n));
	if (!n)
		return;
	om_family(w, "ksm_cgroup_pair_shared_pages", OM_GAUGE, "pages",
		  "KSM pages that both cgroups map now (cgroup_a = cgroup_b: pages the "
		  "cgroup maps more than once), as ksmd counts them.");
	for (i = 0; i < n; i++) {
		const struct sharing_row *r = &v->rows[i];

		l[0] = (struct om_label){ "cgroup_a", r->cgroup[0] };
		l[1] = (struct om_label){ "domain_a", r->domain[0] };
		l[2] = (struct om_label){ "cgroup_b", r->cgroup[1] };
		l[3] = (struct om_label){ "domain_b", r->domain[1] };
		om_sample(w, l, 4, r->pages);
	}
}
