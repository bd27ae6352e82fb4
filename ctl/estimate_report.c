// SPDX-License-Identifier: GPL-2.0
/* ksmctl estimate: what merging would share and save (see estimate_report.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "estimate_report.h"

long estimate_cgroup_index(const struct estimate_report *r, unsigned long long id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->cgroups[i].id == id)
			return i;
	return -1;
}

/* The cgroup @id, added (path and domain unknown) if only a content names it. */
static long cgroup_index_add(struct estimate_report *r, unsigned long long id)
{
	long i = estimate_cgroup_index(r, id);
	struct estimate_cgroup *more;

	if (i >= 0)
		return i;
	more = realloc(r->cgroups, (r->n + 1) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	r->cgroups = more;
	memset(&more[r->n], 0, sizeof(more[r->n]));
	more[r->n].id = id;
	snprintf(more[r->n].path, sizeof(more[r->n].path), "(cgroup %llu)", id);
	return r->n++;
}

/* The domain of @c, added on first sight; NULL for an unknown one or -ENOMEM. */
static struct estimate_domain *domain_of(struct estimate_report *r, const struct estimate_cgroup *c)
{
	struct estimate_domain *more;

	if (!c->domain[0])
		return NULL;
	for (size_t i = 0; i < r->ndomains; i++)
		if (!strcmp(r->domains[i].name, c->domain))
			return &r->domains[i];
	more = realloc(r->domains, (r->ndomains + 1) * sizeof(*more));
	if (!more)
		return NULL;
	r->domains = more;
	memset(&more[r->ndomains], 0, sizeof(more[r->ndomains]));
	snprintf(more[r->ndomains].name, sizeof(more[r->ndomains].name), "%s", c->domain);
	return &more[r->ndomains++];
}

static int pair_add(struct estimate_report *r, size_t a, size_t b)
{
	struct estimate_pair *more;
	size_t lo = a < b ? a : b, hi = a < b ? b : a;

	for (size_t i = 0; i < r->npairs; i++) {
		if (r->pairs[i].a == lo && r->pairs[i].b == hi) {
			r->pairs[i].pages++;
			return 0;
		}
	}
	more = realloc(r->pairs, (r->npairs + 1) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	r->pairs = more;
	more[r->npairs++] = (struct estimate_pair){ .a = lo, .b = hi, .pages = 1 };
	return 0;
}

/*
 * What merging @copies copies of one content saves: every copy but one per
 * ksm page, a ksm page taking max_page_sharing mappings at most (ksmd's
 * pages_sharing).
 */
static unsigned long long sharing_of(const struct estimate_report *r, unsigned long long copies)
{
	unsigned long long per_page = r->run.max_page_sharing ? r->run.max_page_sharing : copies;

	if (copies < 2)
		return 0;
	return copies - (copies + per_page - 1) / per_page;
}

/* Two cgroups in one known merge domain: they may share. */
static bool same_domain(const struct estimate_cgroup *a, const struct estimate_cgroup *b)
{
	return a == b || (a->domain[0] && !strcmp(a->domain, b->domain) &&
			  strcmp(a->domain, "off"));
}

/* One content: its copies by cgroup index (@idx, @copies, @n of them). */
static int add_content(struct estimate_report *r, const long *idx, const __u32 *copies, int n,
		       unsigned long long crowded)
{
	unsigned long long all = crowded;
	int i, j;

	for (i = 0; i < n; i++) {
		all += copies[i];
		r->cgroups[idx[i]].merging_any += copies[i];
	}
	r->sharing_any += sharing_of(r, all);
	if (r->run.max_page_sharing && all > r->run.max_page_sharing)
		r->large_contents = true;

	/* With domains: the copies in each domain make their own ksm page. */
	for (i = 0; i < n; i++) {
		unsigned long long in_domain = 0;
		bool first = true;

		for (j = 0; j < n; j++) {
			if (!same_domain(&r->cgroups[idx[i]], &r->cgroups[idx[j]]))
				continue;
			first = first && j >= i;
			in_domain += copies[j];
		}
		if (in_domain >= 2)
			r->cgroups[idx[i]].merging += copies[i];
		if (first) {	/* the domain's first cgroup counts it */
			struct estimate_domain *d = domain_of(r, &r->cgroups[idx[i]]);

			r->sharing += sharing_of(r, in_domain);
			if (d)
				d->sharing += sharing_of(r, in_domain);
		}
	}

	/* Pairs, as `stats sharing` counts a ksm page. */
	for (i = 0; i < n; i++) {
		if (copies[i] >= 2 && pair_add(r, idx[i], idx[i]))
			return -ENOMEM;
		for (j = i + 1; j < n; j++)
			if (pair_add(r, idx[i], idx[j]))
				return -ENOMEM;
	}
	return 0;
}

static int pair_cmp(const void *x, const void *y)
{
	const struct estimate_pair *a = x, *b = y;

	if (a->pages != b->pages)
		return a->pages < b->pages ? 1 : -1;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

static int cgroup_cmp(const void *x, const void *y)
{
	const struct estimate_cgroup *a = x, *b = y;

	return strcmp(a->path, b->path);
}

int estimate_report_build(struct estimate_report *r, const struct estimate_run *run,
			  struct estimate_cgroup *cgroups, size_t n,
			  const struct ksm_estimate_content *contents, size_t ncontents)
{
	long long page = run->page_size, item = run->rmap_item_size;

	memset(r, 0, sizeof(*r));
	r->run = *run;
	/* In path order, so that the pairs' indexes are too. */
	qsort(cgroups, n, sizeof(*cgroups), cgroup_cmp);
	r->cgroups = cgroups;
	r->n = n;
	for (size_t c = 0; c < ncontents; c++) {
		long idx[KSM_ESTIMATE_CONTENT_CGROUPS];
		__u32 copies[KSM_ESTIMATE_CONTENT_CGROUPS];
		int k = 0;

		for (int i = 0; i < KSM_ESTIMATE_CONTENT_CGROUPS; i++) {
			if (!contents[c].copies[i])
				continue;
			idx[k] = cgroup_index_add(r, contents[c].cgroup_id[i]);
			if (idx[k] < 0)
				return -ENOMEM;
			copies[k++] = contents[c].copies[i];
		}
		if (add_content(r, idx, copies, k, contents[c].crowded))
			return -ENOMEM;
	}
	qsort(r->pairs, r->npairs, sizeof(*r->pairs), pair_cmp);
	for (size_t i = 0; i < r->n; i++) {
		const struct estimate_cgroup *c = &r->cgroups[i];
		struct estimate_domain *d = domain_of(r, c);

		r->pages += c->seen.pages;
		r->volatile_pages += c->seen.volatile_pages;
		r->zero_pages += c->seen.zero_pages;
		if (d) {
			d->cgroups++;
			d->pages += c->seen.pages;
			d->merging += c->merging;
		}
	}
	/* general_profit: what merging saves, less the rmap_items ksmd keeps. */
	r->profit = (long long)(r->sharing + r->zero_pages) * page - (long long)r->pages * item;
	r->profit_any = (long long)(r->sharing_any + r->zero_pages) * page -
			(long long)r->pages * item;
	return 0;
}

void estimate_report_free(struct estimate_report *r)
{
	free(r->cgroups);
	free(r->pairs);
	free(r->domains);
	memset(r, 0, sizeof(*r));
}

/* ksm_process_profit of a cgroup's processes, with the current domains. */
static long long cgroup_profit(const struct estimate_report *r, const struct estimate_cgroup *c)
{
	return (long long)(c->merging + c->seen.zero_pages) * (long long)r->run.page_size -
	       (long long)c->seen.pages * (long long)r->run.rmap_item_size;
}

bool estimate_inexact(const struct estimate_report *r, char *buf, size_t len)
{
	const struct ksm_estimate_state *s = &r->run.state;
	size_t at = 0;

	buf[0] = '\0';
#define WHY(...) (at += snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__))
	if (s->contents_dropped)
		WHY("%s%llu matches found the contents map full (max-contents N makes room)",
		    at ? "; " : "", (unsigned long long)s->contents_dropped);
	if (s->cgroups_dropped)
		WHY("%s%llu pages found the cgroups map full", at ? "; " : "",
		    (unsigned long long)s->cgroups_dropped);
	if (s->crowded)
		WHY("%s%llu copies of contents copied in more than %d cgroups are not told apart",
		    at ? "; " : "", (unsigned long long)s->crowded, KSM_ESTIMATE_CONTENT_CGROUPS);
	if (r->large_contents)
		WHY("%ssome contents have more copies than max_page_sharing (%lu): their pairs "
		    "count one ksm page each", at ? "; " : "", r->run.max_page_sharing);
#undef WHY
	return at > 0;
}

static const char *domain_text(const struct estimate_cgroup *c)
{
	return c->domain[0] ? c->domain : "-";
}

static double mib(long long bytes)
{
	return bytes / (1024.0 * 1024.0);
}

static double share(unsigned long long part, unsigned long long whole)
{
	return whole ? 100.0 * part / whole : 0.0;
}

void estimate_print_table(FILE *f, const struct estimate_report *r)
{
	int wp = strlen("CGROUP"), wd = strlen("DOMAIN");
	size_t i;
	char why[512];

	for (i = 0; i < r->n; i++) {
		if ((int)strlen(r->cgroups[i].path) > wp)
			wp = strlen(r->cgroups[i].path);
		if ((int)strlen(domain_text(&r->cgroups[i])) > wd)
			wd = strlen(domain_text(&r->cgroups[i]));
	}
	fprintf(f, "Estimated from pass %llu (%lu full passes observed): ksmd used %.2f s of CPU "
		"in %.1f s, merged nothing.\n\n", (unsigned long long)r->run.counting_pass,
		r->run.passes, r->run.ksmd_cpu_seconds, r->run.seconds);
	fprintf(f, "%-*s  %-*s  %10s  %8s  %12s  %12s  %12s\n", wp, "CGROUP", wd, "DOMAIN",
		"PAGES", "VOLATILE", "WOULD MERGE", "NO DOMAINS", "PROFIT MiB");
	for (i = 0; i < r->n; i++) {
		const struct estimate_cgroup *c = &r->cgroups[i];

		fprintf(f, "%-*s  %-*s  %10llu  %7.1f%%  %12llu  %12llu  %12.1f\n", wp, c->path,
			wd, domain_text(c), (unsigned long long)c->seen.pages,
			share(c->seen.volatile_pages, c->seen.pages), c->merging, c->merging_any,
			mib(cgroup_profit(r, c)));
	}
	if (r->npairs) {
		int wa = strlen("CGROUP"), wb = strlen("WOULD SHARE WITH");

		for (i = 0; i < r->npairs; i++) {
			const struct estimate_pair *p = &r->pairs[i];

			if ((int)strlen(r->cgroups[p->a].path) > wa)
				wa = strlen(r->cgroups[p->a].path);
			if (p->a != p->b && (int)strlen(r->cgroups[p->b].path) > wb)
				wb = strlen(r->cgroups[p->b].path);
		}
		fprintf(f, "\n%-*s  %-*s  %10s  %s\n", wa, "CGROUP", wb, "WOULD SHARE WITH",
			"KSM PAGES", "DOMAINS");
		for (i = 0; i < r->npairs; i++) {
			const struct estimate_pair *p = &r->pairs[i];
			const struct estimate_cgroup *a = &r->cgroups[p->a], *b = &r->cgroups[p->b];

			fprintf(f, "%-*s  %-*s  %10llu  %s\n", wa, a->path, wb,
				p->a == p->b ? "(itself)" : b->path, p->pages,
				same_domain(a, b) ? "same" : "apart: the boundary forbids it");
		}
	}
	if (r->ndomains) {
		int wn = strlen("DOMAIN");

		for (i = 0; i < r->ndomains; i++)
			if ((int)strlen(r->domains[i].name) > wn)
				wn = strlen(r->domains[i].name);
		fprintf(f, "\n%-*s  %7s  %10s  %12s  %13s\n", wn, "DOMAIN", "CGROUPS", "PAGES",
			"WOULD MERGE", "PAGES_SHARING");
		for (i = 0; i < r->ndomains; i++) {
			const struct estimate_domain *d = &r->domains[i];

			fprintf(f, "%-*s  %7zu  %10llu  %12llu  %13llu\n", wn, d->name, d->cgroups,
				d->pages, d->merging, d->sharing);
		}
	}
	fprintf(f, "\nWould save %.1f MiB with the current domains (pages_sharing %llu, "
		"general_profit %lld), %.1f MiB without them (pages_sharing %llu): the domains "
		"cost %.1f MiB.\n", mib((long long)(r->sharing + r->zero_pages) * r->run.page_size),
		r->sharing, r->profit,
		mib((long long)(r->sharing_any + r->zero_pages) * r->run.page_size),
		r->sharing_any, mib((long long)(r->sharing_any - r->sharing) * r->run.page_size));
	fprintf(f, "Pages compared: %llu, %.1f%% of them volatile.\n", r->pages,
		share(r->volatile_pages, r->pages));
	if (estimate_inexact(r, why, sizeof(why)))
		fprintf(f, "not exact: %s\n", why);
}

static void put_u64(json_object *o, const char *key, unsigned long long value)
{
	json_object_object_add(o, key, json_object_new_uint64(value));
}

json_object *estimate_to_json(const struct estimate_report *r)
{
	json_object *o = json_object_new_object(), *cgs = json_object_new_array();
	json_object *pairs = json_object_new_array(), *run = json_object_new_object();
	json_object *with = json_object_new_object(), *without = json_object_new_object();
	json_object *domains = json_object_new_array();
	char why[512];
	size_t i;

	put_u64(run, "counting_pass", r->run.counting_pass);
	put_u64(run, "passes", r->run.passes);
	json_object_object_add(run, "ksmd_cpu_seconds",
			       json_object_new_double(r->run.ksmd_cpu_seconds));
	json_object_object_add(run, "seconds", json_object_new_double(r->run.seconds));
	put_u64(run, "max_page_sharing", r->run.max_page_sharing);
	put_u64(run, "rmap_item_bytes", r->run.rmap_item_size);
	json_object_object_add(o, "run", run);
	for (i = 0; i < r->n; i++) {
		const struct estimate_cgroup *c = &r->cgroups[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "cgroup", json_object_new_string(c->path));
		put_u64(e, "cgroup_id", c->id);
		json_object_object_add(e, "domain", c->domain[0] ?
				       json_object_new_string(c->domain) : NULL);
		put_u64(e, "pages", c->seen.pages);
		put_u64(e, "volatile_pages", c->seen.volatile_pages);
		put_u64(e, "unique_pages", c->seen.unique_pages);
		put_u64(e, "matched_pages", c->seen.matched_pages);
		put_u64(e, "zero_pages", c->seen.zero_pages);
		put_u64(e, "merging_pages", c->merging);
		put_u64(e, "merging_pages_without_domains", c->merging_any);
		json_object_object_add(e, "profit_bytes", json_object_new_int64(cgroup_profit(r, c)));
		json_object_array_add(cgs, e);
	}
	json_object_object_add(o, "cgroups", cgs);
	for (i = 0; i < r->npairs; i++) {
		const struct estimate_pair *p = &r->pairs[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "cgroup_a", json_object_new_string(r->cgroups[p->a].path));
		json_object_object_add(e, "cgroup_b", json_object_new_string(r->cgroups[p->b].path));
		put_u64(e, "ksm_pages", p->pages);
		json_object_object_add(e, "same_domain", json_object_new_boolean(
			same_domain(&r->cgroups[p->a], &r->cgroups[p->b])));
		json_object_array_add(pairs, e);
	}
	json_object_object_add(o, "pairs", pairs);
	for (i = 0; i < r->ndomains; i++) {
		const struct estimate_domain *d = &r->domains[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "domain", json_object_new_string(d->name));
		put_u64(e, "cgroups", d->cgroups);
		put_u64(e, "pages", d->pages);
		put_u64(e, "merging_pages", d->merging);
		put_u64(e, "pages_sharing", d->sharing);
		json_object_array_add(domains, e);
	}
	json_object_object_add(o, "domains", domains);
	put_u64(with, "pages_sharing", r->sharing);
	json_object_object_add(with, "general_profit", json_object_new_int64(r->profit));
	put_u64(without, "pages_sharing", r->sharing_any);
	json_object_object_add(without, "general_profit", json_object_new_int64(r->profit_any));
	json_object_object_add(o, "with_domains", with);
	json_object_object_add(o, "without_domains", without);
	put_u64(o, "pages", r->pages);
	put_u64(o, "volatile_pages", r->volatile_pages);
	put_u64(o, "zero_pages", r->zero_pages);
	json_object_object_add(o, "exact", json_object_new_boolean(!estimate_inexact(r, why,
										     sizeof(why))));
	json_object_object_add(o, "not_exact_because", why[0] ? json_object_new_string(why) : NULL);
	return o;
}

void estimate_export_write(struct om_writer *w, const struct estimate_report *r)
{
	struct om_label l[3];
	char why[512];
	size_t i;

	om_family(w, "ksm_estimate_exact", OM_GAUGE, NULL,
		  "1 when the estimate counted every page it was shown.");
	om_sample(w, NULL, 0, !estimate_inexact(r, why, sizeof(why)));
	om_family(w, "ksm_estimate_ksmd_cpu_seconds", OM_GAUGE, "seconds",
		  "CPU time ksmd spent over the estimate.");
	om_sample_float(w, NULL, 0, r->run.ksmd_cpu_seconds);
	om_family(w, "ksm_estimate_sharing_pages", OM_GAUGE, "pages",
		  "Pages merging would save (ksmd's pages_sharing), with the current merge "
		  "domains or none.");
	l[0] = (struct om_label){ "domains", "current" };
	om_sample(w, l, 1, r->sharing);
	l[0] = (struct om_label){ "domains", "none" };
	om_sample(w, l, 1, r->sharing_any);
	om_family(w, "ksm_estimate_domain_sharing_pages", OM_GAUGE, "pages",
		  "Pages merging would save within a merge domain of the current settings.");
	for (i = 0; i < r->ndomains; i++) {
		l[0] = (struct om_label){ "domain", r->domains[i].name };
		om_sample(w, l, 1, r->domains[i].sharing);
	}
	om_family(w, "ksm_estimate_general_profit_bytes", OM_GAUGE, "bytes",
		  "What merging would save less what ksmd keeps to do it (general_profit).");
	l[0] = (struct om_label){ "domains", "current" };
	om_sample(w, l, 1, r->profit);
	l[0] = (struct om_label){ "domains", "none" };
	om_sample(w, l, 1, r->profit_any);
	om_family(w, "ksm_estimate_cgroup_pages", OM_GAUGE, "pages",
		  "A cgroup's pages ksmd compared in the counting pass, by what it found.");
	for (i = 0; i < r->n; i++) {
		const struct estimate_cgroup *c = &r->cgroups[i];
		static const char *const kinds[] = { "volatile", "unique", "matched", "zero" };
		const __u64 counts[] = { c->seen.volatile_pages, c->seen.unique_pages,
					 c->seen.matched_pages, c->seen.zero_pages };

		l[0] = (struct om_label){ "cgroup", c->path };
		l[1] = (struct om_label){ "domain", c->domain };
		for (int k = 0; k < 4; k++) {
			l[2] = (struct om_label){ "kind", kinds[k] };
			om_sample(w, l, 3, counts[k]);
		}
	}
	om_family(w, "ksm_estimate_cgroup_merging_pages", OM_GAUGE, "pages",
		  "A cgroup's pages merging would map to ksm pages (ksm_merging_pages).");
	for (i = 0; i < r->n; i++) {
		const struct estimate_cgroup *c = &r->cgroups[i];

		l[0] = (struct om_label){ "cgroup", c->path };
		l[1] = (struct om_label){ "domain", c->domain };
		l[2] = (struct om_label){ "domains", "current" };
		om_sample(w, l, 3, c->merging);
		l[2] = (struct om_label){ "domains", "none" };
		om_sample(w, l, 3, c->merging_any);
	}
	if (!r->npairs)
		return;
	om_family(w, "ksm_estimate_cgroup_pair_pages", OM_GAUGE, "pages",
		  "KSM pages both cgroups would map were there no domains (cgroup_a = "
		  "cgroup_b: within one); same_domain=\"0\": what the boundary forbids.");
	for (i = 0; i < r->npairs; i++) {
		const struct estimate_pair *p = &r->pairs[i];

		l[0] = (struct om_label){ "cgroup_a", r->cgroups[p->a].path };
		l[1] = (struct om_label){ "cgroup_b", r->cgroups[p->b].path };
		l[2] = (struct om_label){ "same_domain",
			same_domain(&r->cgroups[p->a], &r->cgroups[p->b]) ? "1" : "0" };
		om_sample(w, l, 3, p->pages);
	}
}
