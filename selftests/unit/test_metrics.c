// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl's metric output without a kernel: the OpenMetrics and Prometheus
 * text writers (names, escaping, counters, the end) and KSM's families
 * from made-up figures. The guest tests parse real output with real
 * parsers; these pin the exact text.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "text_capture.h"

#include "openmetrics.h"
#include "stats_export.h"


static void one_of_each(enum om_format format)
{
	FILE *f = capture();
	struct om_label l[] = { { "cgroup", "/a\"b\\c\nd" } };
	struct om_writer w;

	om_init(&w, f, format);
	om_family(&w, "x_pages", OM_GAUGE, "pages", "Help with \\ and\nnewline.");
	om_sample(&w, l, 1, -3);
	om_family(&w, "y_seconds", OM_COUNTER, "seconds", "A counter.");
	om_sample_float(&w, NULL, 0, 0.02);
	om_end(&w);
	fclose(f);
}

Test(openmetrics, writes_openmetrics)
{
	one_of_each(OM_OPENMETRICS);
	cr_expect_str_eq(text,
		"# HELP x_pages Help with \\\\ and\\nnewline.\n"
		"# TYPE x_pages gauge\n"
		"# UNIT x_pages pages\n"
		"x_pages{cgroup=\"/a\\\"b\\\\c\\nd\"} -3\n"
		"# HELP y_seconds A counter.\n"
		"# TYPE y_seconds counter\n"
		"# UNIT y_seconds seconds\n"
		"y_seconds_total 0.02\n"
		"# EOF\n");
}

Test(openmetrics, writes_prometheus_text)
{
	one_of_each(OM_PROMETHEUS);
	cr_expect_str_eq(text,
		"# HELP x_pages Help with \\\\ and\\nnewline.\n"
		"# TYPE x_pages gauge\n"
		"x_pages{cgroup=\"/a\\\"b\\\\c\\nd\"} -3\n"
		"# HELP y_seconds_total A counter.\n"
		"# TYPE y_seconds_total counter\n"
		"y_seconds_total 0.02\n");
}

static int fake_knob(const char *name, long long *value)
{
	if (!strcmp(name, "pages_sharing"))
		*value = 1234;
	else if (!strcmp(name, "sleep_millisecs"))
		*value = 20;
	else if (!strcmp(name, "full_scans"))
		*value = 7;
	else
		return -1;	/* absent: left out */
	return 0;
}

static struct stats_row make_row(int pid, const char *cgroup, long long sharing, bool tracked)
{
	struct stats_row r = { .pid = pid, .sharing = sharing, .saved = sharing * 4096,
			       .tracked = tracked, .procs = 2, .untracked = 1 };

	snprintf(r.comm, sizeof(r.comm), "w%d", pid);
	snprintf(r.cgroup, sizeof(r.cgroup), "%s", cgroup);
	r.c.pages_scanned = 100;
	r.c.pages_merged = 10;
	r.c.cow_writes = 1;
	return r;
}

static struct policy_progs progs = {
	.pinned = true, .run_stats = true,
	/* policy_hooks[2]: scan_page */
	.hook = { [2] = { .id = 9, .name = "trust_page", .run_cnt = 1000,
			  .run_time_ns = 2500000 } },
};

static void export(const struct ksm_stats_totals *totals)
{
	struct stats_row cg[] = { make_row(0, "/t1", 30, true) };
	struct stats_row procs[] = { make_row(5, "/t1", 20, true), make_row(6, "/t1", 10, false) };
	const char *domains[] = { "isolated(/t1)" };
	struct stats_export e = {
		.read_knob = fake_knob, .policy_supported = true, .policy = "trust_stable",
		.last_exit = "slow: watchdog: ran 1024 ms", .totals = totals, .progs = &progs,
		.cgroups = cg, .domains = domains, .ncgroups = 1, .procs = procs, .nprocs = 2,
	};
	FILE *f = capture();
	struct om_writer w;

	om_init(&w, f, OM_OPENMETRICS);
	stats_export_write(&w, &e);
	fclose(f);
}

Test(export, families_and_samples)
{
	struct ksm_stats_totals t = { .procs_dropped = 3, .policy_ejected = 2,
				      .cow_folds_deferred = 4 };

	export(&t);
	cr_expect(strstr(text, "# TYPE ksm_sharing_pages gauge\n# UNIT ksm_sharing_pages pages\n"
			 "ksm_sharing_pages 1234\n"), "%s", text);
	cr_expect(strstr(text, "ksm_sleep_seconds 0.02\n"), "%s", text);
	cr_expect(strstr(text, "ksm_full_scans_total 7\n"), "%s", text);
	cr_expect_null(strstr(text, "ksm_shared_pages"), "an absent knob was written: %s", text);
	cr_expect(strstr(text, "ksm_policy_attached{policy=\"trust_stable\"} 1\n"), "%s", text);
	cr_expect(strstr(text, "ksm_policy_last_exit{policy=\"slow\",reason=\"watchdog\"} 1\n"),
		  "%s", text);
	cr_expect(strstr(text, "ksm_policy_ejections_total 2\n"), "%s", text);
	cr_expect(strstr(text, "ksm_stats_dropped_events_total{map=\"procs\"} 3\n"), "%s", text);
	cr_expect(strstr(text, "ksm_stats_dropped_events_total{map=\"mm_folds\"} 4\n"), "%s",
		  text);
	cr_expect(strstr(text, "ksm_cgroup_sharing_pages{cgroup=\"/t1\",domain=\"isolated(/t1)\"} "
			 "30\n"), "%s", text);
	cr_expect(strstr(text, "ksm_cgroup_untracked_processes{cgroup=\"/t1\",domain="
			 "\"isolated(/t1)\"} 1\n"), "%s", text);
	cr_expect(strstr(text, "ksm_process_saved_bytes{pid=\"5\",comm=\"w5\",cgroup=\"/t1\"} "
			 "81920\n"), "%s", text);
	/* The untracked process has its sharing, not counters it does not have. */
	cr_expect(strstr(text, "ksm_process_sharing_pages{pid=\"6\""), "%s", text);
	cr_expect(strstr(text, "ksm_process_merged_pages_total{pid=\"5\""), "%s", text);
	cr_expect_null(strstr(text, "ksm_process_merged_pages_total{pid=\"6\""), "%s", text);
	cr_expect(text_len > 6 && !strcmp(text + text_len - 6, "# EOF\n"), "%s", text);
	cr_expect(strstr(text, "ksm_policy_run_stats_enabled 1\n"), "%s", text);
	cr_expect(strstr(text, "ksm_policy_program_runs_total{hook=\"scan_page\",program="
			 "\"trust_page\"} 1000\n"), "%s", text);
	cr_expect(strstr(text, "ksm_policy_program_run_seconds_total{hook=\"scan_page\","
			 "program=\"trust_page\"} 0.0025000000000000001\n"), "%s", text);
}

/* Run counts exist only while the kernel keeps them: no zeros that look real. */
Test(export, runs_only_while_counted)
{
	progs.run_stats = false;
	export(NULL);
	progs.run_stats = true;
	cr_expect(strstr(text, "ksm_policy_run_stats_enabled 0\n"), "%s", text);
	cr_expect_null(strstr(text, "# TYPE ksm_policy_program_runs"), "%s", text);
}

/* Without the BPF statistics: the kernel's figures, and no counters at all. */
Test(export, without_statistics)
{
	export(NULL);
	cr_expect(strstr(text, "ksm_stats_enabled 0\n"), "%s", text);
	cr_expect(strstr(text, "ksm_cgroup_sharing_pages{"), "%s", text);
	cr_expect_null(strstr(text, "ksm_cgroup_merged_pages"), "%s", text);
	cr_expect_null(strstr(text, "ksm_policy_ejections"), "%s", text);
	cr_expect_null(strstr(text, "dropped"), "%s", text);
}
