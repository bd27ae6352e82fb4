// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl estimate: what KSM would save here, and who would share with whom,
 * before merging anything.
 *
 * The chosen cgroups are observed for the estimate (memory.ksm_merge
 * "observe", restored when it ends, also on SIGINT, SIGTERM or SIGHUP):
 * ksmd compares all of their processes' memory, as if merging were on for
 * them, and merges none of it. bpf/ksm_estimate.bpf.c counts what ksmd
 * finds in one full pass, once every page has been seen a pass before (a
 * page is compared on its second visit at the earliest, as when merging);
 * estimate_report.c turns the counts into sharing and savings, with the
 * current merge domains and without them.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cgroup_fs.h"
#include "estimate_bpf.h"
#include "estimate_report.h"
#include "ksm_sysfs.h"
#include "ksmctl.h"
#include "ksmd_proc.h"
#include "output.h"
#include "stats_table.h"

#define ESTIMATE_MAX_CHOSEN	64
#define ESTIMATE_POLL_MS	100

/* A chosen cgroup, and what its memory.ksm_merge said before. */
struct chosen {
	struct cgroup_ref ref;
	char was[32];
	bool observed;		/* "observe" written: to restore */
};

struct estimate_opts {
	struct chosen chosen[ESTIMATE_MAX_CHOSEN];
	size_t n;
	unsigned long passes;
	unsigned long max_contents;
	unsigned long timeout;	/* seconds; 0: none */
	int format;
};

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static void estimate_help(void)
{
	fprintf(stderr,
		"Usage: ksmctl estimate cgroup PATH [cgroup PATH]... [passes N]\n"
		"                       [max-contents N] [timeout SECONDS]\n"
		"                       [format table|json|openmetrics|prometheus]\n"
		"\n"
		"       What merging would save in the cgroups, and which of them would\n"
		"       share pages, measured by ksmd without merging anything: each\n"
		"       cgroup is observed (memory.ksm_merge observe) until the last of\n"
		"       N full passes (2, the default, at least) has been counted, then\n"
		"       restored. ksmd must be running (knob run 1).\n");
}

/* The `cgroup PATH` pairs, which may repeat, out of @argv into @o; the rest stays. */
static int take_cgroups(int *argc, char **argv, struct estimate_opts *o)
{
	int i, kept = 0;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "cgroup")) {
			argv[kept++] = argv[i];
			continue;
		}
		if (i + 1 >= *argc)
			return cmd_usage_error("estimate", NULL, "cgroup: give a cgroup path");
		if (o->n >= ESTIMATE_MAX_CHOSEN)
			return cmd_usage_error("estimate", NULL, "at most %d cgroups",
					       ESTIMATE_MAX_CHOSEN);
		if (cgroup_resolve(argv[++i], &o->chosen[o->n].ref))
			return EXIT_USAGE;
		for (size_t j = 0; j < o->n; j++)
			if (o->chosen[j].ref.id == o->chosen[o->n].ref.id)
				return cmd_usage_error("estimate", NULL, "cgroup %s is given twice",
						       o->chosen[o->n].ref.path);
		o->n++;
	}
	*argc = kept;
	return 0;
}

static int parse_opts(int argc, char **argv, struct estimate_opts *o)
{
	struct arg args[] = {
		{ .keyword = "passes", .parse = args_count, .dest = &o->passes, .max = 1000 },
		{ .keyword = "max-contents", .parse = args_count, .dest = &o->max_contents,
		  .max = 1UL << 26 },
		{ .keyword = "timeout", .parse = args_count, .dest = &o->timeout,
		  .max = 7 * 24 * 3600 },
		{ .keyword = "format", .parse = args_choice, .dest = &o->format,
		  .choices = output_format_names },
	};
	int err;

	o->passes = 2;
	o->format = FORMAT_TABLE;
	err = take_cgroups(&argc, argv, o) ?:
	      args_parse("estimate", NULL, args, ARGS_N(args), argc, argv) ?:
	      output_format_settle("estimate", NULL, &o->format);
	if (err)
		return err;
	if (!o->n)
		return cmd_usage_error("estimate", NULL, "give the cgroups to observe: cgroup PATH "
				       "(again for each further one)");
	if (o->passes < 2)
		return cmd_usage_error("estimate", NULL, "passes: at least 2 (ksmd compares a page "
				       "on its second visit)");
	return 0;
}

/* A numeric knob; 0 when it cannot be read. */
static unsigned long long knob_number(const char *name)
{
	long long v;

	return knob_read_number(name, &v) ? 0 : (unsigned long long)v;
}

/* Can @c be observed? Only cgroups that may merge, do not yet, and are not observed. */
static int check_chosen(struct chosen *c)
{
	struct cgroup_effective eff;
	struct cgroup_ksm_stat st;
	char where[CGROUP_PATH_LEN];
	int err = cgroup_ksm_files_check(&c->ref);

	if (err)
		return err;
	err = cgroup_file_read(c->ref.dir, CGROUP_MERGE_FILE, c->was, sizeof(c->was));
	if (err)
		return fail(EXIT_FAIL, "estimate: cannot read %s of %s: %s", CGROUP_MERGE_FILE,
			    c->ref.path, strerror(-err));
	cgroup_effective_of(c->ref.path, &eff);
	if (eff.merge == CGROUP_MERGE_OFF || eff.merge == CGROUP_MERGE_OBSERVE)
		cgroup_level_path(c->ref.path, eff.merge_from, where, sizeof(where));
	if (eff.merge == CGROUP_MERGE_OFF)
		return fail(EXIT_FAIL, "estimate: merging is off for %s (%s off at %s): nothing "
			    "of it would merge", c->ref.path, CGROUP_MERGE_FILE, where);
	if (eff.merge == CGROUP_MERGE_OBSERVE)
		return fail(EXIT_FAIL, "estimate: %s is observed already (%s observe at %s): "
			    "another estimate runs, or one was killed ('ksmctl cgroup set %s merge "
			    "inherit' ends it)", c->ref.path, CGROUP_MERGE_FILE, where, where);
	/* ksmd idles with nothing to scan: no pass would end. */
	if (!cgroup_subtree_has_processes(c->ref.dir))
		return fail(EXIT_FAIL, "estimate: %s has no process: nothing to estimate",
			    c->ref.path);
	if (!cgroup_ksm_stat_read(c->ref.dir, &st) && st.merging_pages)
		return fail(EXIT_FAIL, "estimate: %s has %llu merged pages, which observing would "
			    "unmerge: estimate cgroups that do not merge yet", c->ref.path,
			    (unsigned long long)st.merging_pages);
	return 0;
}

/* Put every chosen cgroup back as it was; says what it could not. */
static int restore(struct estimate_opts *o)
{
	int failed = 0;

	for (size_t i = 0; i < o->n; i++) {
		struct chosen *c = &o->chosen[i];
		int err;

		if (!c->observed)
			continue;
		err = cgroup_file_write(c->ref.dir, CGROUP_MERGE_FILE, c->was);
		if (err) {
			fail(EXIT_FAIL, "estimate: cannot restore %s of %s to %s: %s (it is still "
			     "observed)", CGROUP_MERGE_FILE, c->ref.path, c->was, strerror(-err));
			failed = EXIT_FAIL;
			continue;
		}
		c->observed = false;
	}
	return failed;
}

static int observe(struct estimate_opts *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct chosen *c = &o->chosen[i];
		int err = cgroup_file_write(c->ref.dir, CGROUP_MERGE_FILE, "observe");

		if (err) {
			restore(o);
			return fail(EXIT_FAIL, "estimate: cannot observe %s (%s): %s", c->ref.path,
				    CGROUP_MERGE_FILE, strerror(-err));
		}
		c->observed = true;
	}
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void catch_stop_signals(bool on)
{
	struct sigaction sa = { .sa_handler = on ? on_stop_signal : SIG_DFL };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* 1 while ksmd has not looked at the process @pid yet: it tracks none of its pages. */
static int not_seen(long pid, void *arg)
{
	char path[PATH_MAX], text[1024];

	(void)arg;
	snprintf(path, sizeof(path), "%s/%ld/ksm_stat", proc_dir, pid);
	/* Gone, or no memory: nothing to wait for. */
	if (file_read_text(path, text, sizeof(text)))
		return 0;
	return proc_ksm_stat_field(text, "ksm_rmap_items", 0) == 0;
}

static bool all_seen(const struct estimate_opts *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (cgroup_subtree_each_pid(o->chosen[i].ref.dir, not_seen, NULL))
			return false;
	return true;
}

/* What stops a wait: 0, or why, said. */
static int wait_stopped(const struct estimate_opts *o, double start)
{
	if (stop_signal)
		return fail(EXIT_FAIL, "estimate: stopped by signal %d: settings restored, "
			    "nothing counted", (int)stop_signal);
	if (o->timeout && now_seconds() - start > o->timeout)
		return fail(EXIT_FAIL, "estimate: no result in %lu s (ksmd's pass takes longer: "
			    "'knob set pages_to_scan N' speeds it up); settings restored",
			    o->timeout);
	if (knob_number("run") != 1)
		return fail(EXIT_FAIL, "estimate: ksmd was stopped (run is no longer 1); settings "
			    "restored, nothing counted");
	return 0;
}

/*
 * The pass to count: one that begins once ksmd has looked at every observed
 * process (a kworker enrols them after "observe" is written, and ksmd takes
 * a process it did not scan before at its next pass), so that the pass
 * before it compared nothing for the first time. A process ksmd finds
 * nothing of is not waited for beyond two passes. 0, or why not, said.
 */
static int choose_pass(const struct estimate_opts *o, double start, unsigned long long *pass)
{
	struct timespec poll = { 0, ESTIMATE_POLL_MS * 1000000L };
	unsigned long long first = knob_number("full_scans");
	int err;

	while (!all_seen(o) && knob_number("full_scans") < first + 2) {
		err = wait_stopped(o, start);
		if (err)
			return err;
		nanosleep(&poll, NULL);
	}
	*pass = knob_number("full_scans") + o->passes;
	return 0;
}

/* Until the armed pass is counted; 0, or why not, said. */
static int wait_counted(struct ksm_estimate_bpf *skel, const struct estimate_opts *o,
			double start)
{
	struct timespec poll = { 0, ESTIMATE_POLL_MS * 1000000L };
	int err;

	while (!estimate_bpf_counted(skel)) {
		err = wait_stopped(o, start);
		if (err)
			return err;
		nanosleep(&poll, NULL);
	}
	return 0;
}

/* Observe, count, restore: the report's run and counts. */
static int measure(struct estimate_opts *o, struct estimate_run *run,
		   struct estimate_cgroup **cgroups, size_t *n,
		   struct ksm_estimate_content **contents, size_t *ncontents)
{
	struct ksm_estimate_bpf *skel;
	double cpu0 = 0, cpu1 = 0, start = now_seconds();
	unsigned long long pass = 0;
	int err, err2;

	err = estimate_bpf_start(&skel, o->max_contents);
	if (err)
		return err;
	catch_stop_signals(true);
	ksmd_cpu_seconds(&cpu0);
	err = observe(o) ?: choose_pass(o, start, &pass);
	if (!err) {
		estimate_bpf_arm(skel, pass);
		if (isatty(STDERR_FILENO))	/* progress, for a person waiting */
			fprintf(stderr, "ksmctl: estimate: observing %zu cgroup%s; counting "
				"ksmd's pass %llu (it is in pass %llu)\n", o->n,
				o->n == 1 ? "" : "s", pass, pass - o->passes);
		err = wait_counted(skel, o, start);
	}
	err2 = restore(o);
	ksmd_cpu_seconds(&cpu1);
	if (!err && !err2)
		err = estimate_bpf_read(skel, cgroups, n, contents, ncontents, &run->state);
	estimate_bpf_stop(skel);
	catch_stop_signals(false);
	run->passes = o->passes;
	run->counting_pass = pass;
	run->ksmd_cpu_seconds = cpu1 - cpu0;
	run->seconds = now_seconds() - start;
	return err ?: err2;
}

static int report(const struct estimate_opts *o, struct estimate_report *r)
{
	struct om_writer w;

	switch (o->format) {
	case FORMAT_TABLE:
		estimate_print_table(stdout, r);
		break;
	case FORMAT_JSON:
		json_print(estimate_to_json(r));
		break;
	default:
		om_init(&w, stdout, o->format == FORMAT_OPENMETRICS ? OM_OPENMETRICS :
								  OM_PROMETHEUS);
		estimate_export_write(&w, r);
		om_end(&w);
	}
	return EXIT_OK;
}

int do_estimate(int argc, char **argv)
{
	struct estimate_opts o = {};
	struct estimate_run run = {};
	struct estimate_report r;
	struct estimate_cgroup *cgroups = NULL;
	struct ksm_estimate_content *contents = NULL;
	size_t n = 0, ncontents = 0;
	int err;

	if (argc >= 1 && (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help"))) {
		estimate_help();
		return EXIT_OK;
	}
	err = parse_opts(argc, argv, &o) ?: require_admin("estimate") ?:
	      estimate_kernel_check(&run.rmap_item_size);
	if (err)
		return err;
	if (knob_number("run") != 1)
		return fail(EXIT_FAIL, "estimate: ksmd is not running: 'ksmctl knob set run 1' "
			    "starts it");
	for (size_t i = 0; i < o.n; i++) {
		err = check_chosen(&o.chosen[i]);
		if (err)
			return err;
	}
	run.page_size = sysconf(_SC_PAGESIZE);
	run.max_page_sharing = knob_number("max_page_sharing");
	err = measure(&o, &run, &cgroups, &n, &contents, &ncontents);
	if (err)
		return err;
	/* Paths and domains as they are now the settings are back. */
	for (size_t i = 0; i < n; i++) {
		cgroup_path_of_id(cgroups[i].id, cgroups[i].path, sizeof(cgroups[i].path));
		if (cgroups[i].path[0] == '/')
			cgroup_domain_label(cgroups[i].path, cgroups[i].domain,
					    sizeof(cgroups[i].domain));
	}
	err = estimate_report_build(&r, &run, cgroups, n, contents, ncontents);
	free(contents);
	if (err) {
		estimate_report_free(&r);
		return fail(EXIT_FAIL, "estimate: %s", strerror(-err));
	}
	err = report(&o, &r);
	estimate_report_free(&r);
	return err;
}
