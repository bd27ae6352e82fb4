// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl estimate without a kernel: from made-up counts of a pass, what
 * merging would share and save per cgroup, per pair and with or without
 * merge domains (max_page_sharing included), when the figures are not exact,
 * and the table, JSON and metric families.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "text_capture.h"

#include "estimate_report.h"

#define A 10
#define B 11
#define C 12

static struct estimate_cgroup cgroup(unsigned long long id, const char *path, const char *domain,
				     __u64 pages, __u64 volatile_pages)
{
	struct estimate_cgroup c = { .id = id };

	snprintf(c.path, sizeof(c.path), "%s", path);
	snprintf(c.domain, sizeof(c.domain), "%s", domain);
	c.seen.pages = pages;
	c.seen.volatile_pages = volatile_pages;
	return c;
}

static struct ksm_estimate_content content(unsigned long long a, __u32 na, unsigned long long b,
					   __u32 nb)
{
	struct ksm_estimate_content x = { .cgroup_id = { a, b }, .copies = { na, nb } };

	return x;
}

static const struct estimate_run run = {
	.passes = 2, .counting_pass = 7, .ksmd_cpu_seconds = 1.5, .seconds = 4,
	.page_size = 4096, .rmap_item_size = 64, .max_page_sharing = 256,
};

/*
 * /b is in a domain of its own. Contents: 100 with 3 copies in /a and one in
 * /b; 50 with one in /b and one in /c; 10 with 2 in /c.
 */
static struct estimate_report r;

static void build(void)
{
	struct estimate_cgroup *cgs = calloc(3, sizeof(*cgs));
	struct ksm_estimate_content cs[160];
	int i = 0;

	cgs[0] = cgroup(C, "/c", "shared", 120, 8);
	cgs[1] = cgroup(A, "/a", "shared", 300, 0);
	cgs[2] = cgroup(B, "/b", "isolated(/b)", 150, 0);
	for (int k = 0; k < 100; k++)
		cs[i++] = content(A, 3, B, 1);
	for (int k = 0; k < 50; k++)
		cs[i++] = content(B, 1, C, 1);
	for (int k = 0; k < 10; k++)
		cs[i++] = content(C, 2, 0, 0);
	cr_assert_eq(estimate_report_build(&r, &run, cgs, 3, cs, i), 0);
}

static void teardown(void)
{
	estimate_report_free(&r);
}

static const struct estimate_cgroup *by_path(const char *path)
{
	for (size_t i = 0; i < r.n; i++)
		if (!strcmp(r.cgroups[i].path, path))
			return &r.cgroups[i];
	cr_assert_fail("no cgroup %s", path);
	return NULL;
}

static unsigned long long pair(const char *a, const char *b)
{
	for (size_t i = 0; i < r.npairs; i++)
		if (!strcmp(r.cgroups[r.pairs[i].a].path, a) &&
		    !strcmp(r.cgroups[r.pairs[i].b].path, b))
			return r.pairs[i].pages;
	return 0;
}

Test(estimate, shares_every_copy_but_one_per_domain, .init = build, .fini = teardown)
{
	/* Without domains: 100 * 3 + 50 * 1 + 10 * 1; with /b apart: 100 * 2 + 10. */
	cr_expect_eq(r.sharing_any, 360);
	cr_expect_eq(r.sharing, 210);
	cr_expect_eq(r.pages, 570);
	cr_expect_eq(r.volatile_pages, 8);
	cr_expect_eq(r.profit, 210LL * 4096 - 570LL * 64);
	cr_expect_eq(r.profit_any, 360LL * 4096 - 570LL * 64);
}

Test(estimate, counts_what_each_cgroup_would_merge, .init = build, .fini = teardown)
{
	cr_expect_eq(by_path("/a")->merging, 300);
	cr_expect_eq(by_path("/a")->merging_any, 300);
	cr_expect_eq(by_path("/b")->merging, 0);	/* alone in its domain */
	cr_expect_eq(by_path("/b")->merging_any, 150);
	cr_expect_eq(by_path("/c")->merging, 20);
	cr_expect_eq(by_path("/c")->merging_any, 70);
}

Test(estimate, pairs_count_ksm_pages_as_stats_sharing, .init = build, .fini = teardown)
{
	cr_expect_eq(pair("/a", "/a"), 100);
	cr_expect_eq(pair("/a", "/b"), 100);
	cr_expect_eq(pair("/b", "/c"), 50);
	cr_expect_eq(pair("/c", "/c"), 10);
	cr_expect_eq(r.npairs, 4);
	/* Most pages first. */
	cr_expect_geq(r.pairs[0].pages, r.pairs[r.npairs - 1].pages);
}

Test(estimate, sums_per_domain, .init = build, .fini = teardown)
{
	cr_assert_eq(r.ndomains, 2);
	/* In path order of their first cgroup: /a's shared, then /b's. */
	cr_expect_str_eq(r.domains[0].name, "shared");
	cr_expect_eq(r.domains[0].cgroups, 2);
	cr_expect_eq(r.domains[0].pages, 420);
	cr_expect_eq(r.domains[0].merging, 320);
	cr_expect_eq(r.domains[0].sharing, 210);
	cr_expect_str_eq(r.domains[1].name, "isolated(/b)");
	cr_expect_eq(r.domains[1].sharing, 0);
}

Test(estimate, max_page_sharing_splits_a_content)
{
	struct estimate_run small = run;
	struct estimate_cgroup *cgs = calloc(1, sizeof(*cgs));
	struct ksm_estimate_content one = content(A, 600, 0, 0);
	char why[512];

	small.max_page_sharing = 256;
	cgs[0] = cgroup(A, "/a", "shared", 600, 0);
	cr_assert_eq(estimate_report_build(&r, &small, cgs, 1, &one, 1), 0);
	/* 600 copies need 3 ksm pages: 597 saved. */
	cr_expect_eq(r.sharing, 597);
	cr_expect(estimate_inexact(&r, why, sizeof(why)));
	cr_expect(strstr(why, "max_page_sharing (256)"), "%s", why);
	estimate_report_free(&r);
}

Test(estimate, says_what_it_missed)
{
	struct estimate_run missed = run;
	struct estimate_cgroup *cgs = calloc(1, sizeof(*cgs));
	char why[512];

	missed.state.contents_dropped = 3;
	missed.state.crowded = 2;
	cgs[0] = cgroup(A, "/a", "shared", 1, 0);
	cr_assert_eq(estimate_report_build(&r, &missed, cgs, 1, NULL, 0), 0);
	cr_expect(estimate_inexact(&r, why, sizeof(why)));
	cr_expect(strstr(why, "3 matches found the contents map full"), "%s", why);
	cr_expect(strstr(why, "2 copies of contents copied in more than 8 cgroups"), "%s", why);
	estimate_report_free(&r);
}

Test(estimate, a_cgroup_only_a_content_names_is_added)
{
	struct estimate_cgroup *cgs = calloc(1, sizeof(*cgs));
	struct ksm_estimate_content one = content(A, 1, 99, 1);

	cgs[0] = cgroup(A, "/a", "shared", 1, 0);
	cr_assert_eq(estimate_report_build(&r, &run, cgs, 1, &one, 1), 0);
	cr_expect_eq(r.n, 2);
	cr_expect_str_eq(r.cgroups[estimate_cgroup_index(&r, 99)].path, "(cgroup 99)");
	/* Its domain is unknown: it shares with nobody under the current domains. */
	cr_expect_eq(r.sharing, 0);
	cr_expect_eq(r.sharing_any, 1);
	estimate_report_free(&r);
}

Test(estimate, table, .init = build, .fini = teardown)
{
	FILE *f = capture();

	estimate_print_table(f, &r);
	fclose(f);
	cr_expect(strstr(text, "Estimated from pass 7 (2 full passes observed): ksmd used 1.50 s"),
		  "%s", text);
	cr_expect(strstr(text, "/a      shared               300      0.0%           300"),
		  "%s", text);
	cr_expect(strstr(text, "/a      /b                       100  apart: the boundary "
			 "forbids it"), "%s", text);
	cr_expect(strstr(text, "the domains cost 0.6 MiB"), "%s", text);
	cr_expect(strstr(text, "shared              2         420           320            210"),
		  "%s", text);
	cr_expect(!strstr(text, "not exact"), "%s", text);
}

Test(estimate, json, .init = build, .fini = teardown)
{
	json_object *o = estimate_to_json(&r), *v, *c0;

	cr_assert(json_object_object_get_ex(o, "with_domains", &v));
	cr_expect_eq(json_object_get_uint64(json_object_object_get(v, "pages_sharing")), 210);
	cr_assert(json_object_object_get_ex(o, "cgroups", &v));
	c0 = json_object_array_get_idx(v, 0);
	cr_expect_str_eq(json_object_get_string(json_object_object_get(c0, "cgroup")), "/a");
	cr_expect_eq(json_object_get_uint64(json_object_object_get(c0, "merging_pages")), 300);
	cr_expect(json_object_get_boolean(json_object_object_get(o, "exact")));
	json_object_put(o);
}

Test(estimate, metric_families, .init = build, .fini = teardown)
{
	FILE *f = capture();
	struct om_writer w;

	om_init(&w, f, OM_OPENMETRICS);
	estimate_export_write(&w, &r);
	om_end(&w);
	fclose(f);
	cr_expect(strstr(text, "ksm_estimate_sharing_pages{domains=\"none\"} 360\n"), "%s",
		  text);
	cr_expect(strstr(text, "ksm_estimate_cgroup_pair_pages{cgroup_a=\"/a\",cgroup_b=\"/b\","
			 "same_domain=\"0\"} 100\n"), "%s", text);
	cr_expect(strstr(text, "ksm_estimate_cgroup_merging_pages{cgroup=\"/c\",domain=\"shared\","
			 "domains=\"current\"} 20\n"), "%s", text);
	cr_expect(strstr(text, "# EOF\n"), "%s", text);
}
