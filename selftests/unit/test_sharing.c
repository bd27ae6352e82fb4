// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl stats sharing without a kernel: the pair table, JSON and metric
 * families from made-up pairs, what counts as across domains, and every
 * reason the counts are not exact.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "text_capture.h"

#include "sharing.h"


static struct sharing_row row(unsigned long long a, const char *pa, const char *da,
			      unsigned long long b, const char *pb, const char *db,
			      unsigned long long pages)
{
	struct sharing_row r = { .cgroup_id = { a, b }, .pages = pages };

	snprintf(r.cgroup[0], sizeof(r.cgroup[0]), "%s", pa);
	snprintf(r.cgroup[1], sizeof(r.cgroup[1]), "%s", pb);
	snprintf(r.domain[0], sizeof(r.domain[0]), "%s", da);
	snprintf(r.domain[1], sizeof(r.domain[1]), "%s", db);
	return r;
}

/* Three pairs: a with itself, a with b, and a pair across domains. */
static struct sharing_row rows[3];

static void three_rows(void)
{
	rows[0] = row(10, "/vm/a", "shared", 11, "/vm/b", "shared", 300);
	rows[1] = row(12, "/sec", "isolated(/sec)", 12, "/sec", "isolated(/sec)", 7);
	rows[2] = row(10, "/vm/a", "shared", 12, "/sec", "isolated(/sec)", 2);
}

Test(sharing, sorts_most_pages_first_then_by_path)
{
	three_rows();
	sharing_sort(rows, 3);
	cr_expect_eq(rows[0].pages, 300);
	cr_expect_eq(rows[1].pages, 7);
	cr_expect_eq(rows[2].pages, 2);
}

Test(sharing, counts_pages_across_known_domains_only)
{
	struct sharing_row removed = row(10, "/vm/a", "shared", 99, "(removed cgroup 99)", "", 5);

	three_rows();
	cr_expect_eq(sharing_across_domains(rows, 3), 2);
	cr_expect(sharing_same_domain(&rows[0]));
	cr_expect(!sharing_same_domain(&rows[2]));
	cr_expect(!sharing_same_domain(&removed));
	cr_expect_eq(sharing_across_domains(&removed, 1), 0);
}

Test(sharing, says_why_it_is_not_exact)
{
	struct ksm_stats_totals t = {};
	char why[256];

	cr_expect(!sharing_inexact(&t, why, sizeof(why)));
	t.sharing_crowded = 3;
	cr_assert(sharing_inexact(&t, why, sizeof(why)));
	cr_expect(strstr(why, "3 merged mappings") && strstr(why, "more than 8 cgroups"), "%s", why);
	t.sharing_dropped = 4;
	cr_assert(sharing_inexact(&t, why, sizeof(why)));
	cr_expect(strstr(why, "full for 4 merged mappings") && strstr(why, "max-mappings"), "%s",
		  why);
	t.sharing_partial = 1;
	cr_assert(sharing_inexact(&t, why, sizeof(why)));
	cr_expect(strstr(why, "existed when the statistics started"), "%s", why);
}

Test(sharing, prints_a_table)
{
	struct ksm_stats_totals t = { .sharing_dropped = 1 };
	struct sharing_view v = { .rows = rows, .n = 3, .totals = &t, .top = 2 };
	FILE *f = capture();

	three_rows();
	sharing_print_table(f, &v);
	fclose(f);
	cr_expect_str_eq(text,
		"CGROUP  DOMAIN          SHARES WITH  DOMAIN           KSM PAGES\n"
		"/vm/a   shared          /vm/b        shared                 300\n"
		"/sec    isolated(/sec)  (itself)     isolated(/sec)           7\n"
		"(1 more pairs)\n"
		"\n"
		"ksm pages shared across merge domains: 2\n"
		"not exact: the statistics maps were full for 1 merged mappings and 0 pairs: the "
		"counts miss them ('ksmctl stats enable max-mappings N' makes room)\n");
}

Test(sharing, writes_json)
{
	struct ksm_stats_totals t = {};
	struct sharing_view v = { .rows = rows, .n = 3, .totals = &t };
	json_object *o, *p, *x;

	three_rows();
	o = sharing_to_json(&v);
	cr_assert(json_object_object_get_ex(o, "pairs", &p));
	cr_assert_eq(json_object_array_length(p), 3);
	x = json_object_array_get_idx(p, 1);
	cr_expect(json_object_get_boolean(json_object_object_get(x, "within")));
	cr_expect(json_object_get_boolean(json_object_object_get(x, "same_domain")));
	cr_expect_eq(json_object_get_uint64(json_object_object_get(x, "ksm_pages")), 7);
	cr_expect_str_eq(json_object_get_string(json_object_object_get(
		json_object_object_get(x, "cgroup_a"), "domain")), "isolated(/sec)");
	cr_expect_eq(json_object_get_uint64(json_object_object_get(o,
		     "across_domains_ksm_pages")), 2);
	cr_expect(json_object_get_boolean(json_object_object_get(o, "exact")));
	cr_expect_null(json_object_object_get(o, "inexact_reason"));
	json_object_put(o);
}

Test(sharing, writes_metric_families)
{
	struct ksm_stats_totals t = { .sharing_crowded = 2 };
	struct sharing_view v = { .rows = rows, .n = 1, .totals = &t };
	struct om_writer w;
	FILE *f = capture();

	three_rows();
	om_init(&w, f, OM_OPENMETRICS);
	sharing_export_write(&w, &v);
	om_end(&w);
	fclose(f);
	cr_expect(strstr(text, "# TYPE ksm_sharing_exact gauge\nksm_sharing_exact 0\n"), "%s", text);
	cr_expect(strstr(text, "ksm_sharing_missed_mappings_total{reason=\"crowded\"} 2\n"), "%s",
		  text);
	cr_expect(strstr(text, "# UNIT ksm_cgroup_pair_shared_pages pages\n"
			 "ksm_cgroup_pair_shared_pages{cgroup_a=\"/vm/a\",domain_a=\"shared\","
			 "cgroup_b=\"/vm/b\",domain_b=\"shared\"} 300\n# EOF\n"), "%s", text);
}
