// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl without a kernel: command selection, argument errors, knob
 * validation and all-or-nothing writes (on a fake sysfs directory), cgroup
 * settings: parsing, effective settings, set and restore (on a fake cgroup
 * tree), and the statistics rows: sorting, filtering, aggregation, table
 * and JSON output.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_fs.h"
#include "cgroup_settings.h"
#include "fake_files.h"
#include "knob.h"
#include "ksm_sysfs.h"
#include "ksmctl.h"
#include "stats_table.h"

/* --- command selection --- */

static int ran;
static int cmd_a(int argc, char **argv) { (void)argv; ran = 1; return argc; }
static int cmd_b(int argc, char **argv) { (void)argv; ran = 2; return argc; }
static const struct cmd cmds[] = {
	{ "show", cmd_a }, { "shutdown", cmd_b }, { "load", cmd_b }, { NULL, NULL },
};

Test(ksmctl, prefix_selects_a_unique_command)
{
	char *argv[] = { "lo", "x", "y", NULL };

	ran = 0;
	cr_expect_eq(cmd_select(cmds, "t", 3, argv), 2);	/* two args passed on */
	cr_expect_eq(ran, 2);
}

Test(ksmctl, exact_name_wins_and_no_argument_runs_the_first)
{
	char *show[] = { "show", NULL }, *none[] = { NULL };

	ran = 0;
	cr_expect_eq(cmd_select(cmds, "t", 1, show), 0);
	cr_expect_eq(ran, 1);
	ran = 0;
	cmd_select(cmds, "t", 0, none);
	cr_expect_eq(ran, 1);
}

Test(ksmctl, ambiguous_or_unknown_command_is_a_usage_error)
{
	char *amb[] = { "sh", NULL }, *unk[] = { "frobnicate", NULL }, *empty[] = { "", NULL };

	ran = 0;
	cr_expect_eq(cmd_select(cmds, "t", 1, amb), EXIT_USAGE);
	cr_expect_eq(cmd_select(cmds, "t", 1, unk), EXIT_USAGE);
	cr_expect_eq(cmd_select(cmds, "t", 1, empty), EXIT_USAGE);
	cr_expect_eq(ran, 0);
}

Test(ksmctl, is_prefix)
{
	cr_expect(is_prefix("pol", "policy"));
	cr_expect(is_prefix("policy", "policy"));
	cr_expect_not(is_prefix("policyx", "policy"));
	cr_expect_not(is_prefix("", "policy"));
}

/* --- argument errors of the objects, before any kernel access --- */

static int run(int (*object)(int, char **), int argc, ...)
{
	char *argv[16];
	va_list ap;
	int i;

	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	argv[argc] = NULL;
	va_end(ap);
	return object(argc, argv);
}

Test(ksmctl, stats_bad_arguments_are_usage_errors)
{
	cr_expect_eq(run(do_stats, 2, "sort", "bogus"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 2, "top", "0"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 2, "top", "-3"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 2, "pid", "12x"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 1, "pid"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 4, "top", "1", "top", "2"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 3, "show", "frob", "1"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 3, "cgroup", "pid", "1"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 2, "format", "xml"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 4, "format", "prometheus", "pid", "1"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 4, "format", "json", "watch", "1"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 2, "enable", "now"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 3, "enable", "max-procs", "0"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 2, "enable", "max-cgroups"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 2, "disable", "now"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 1, "frob"), EXIT_USAGE);
	/* One style: the options of ksmctl before keywords are refused. */
	cr_expect_eq(run(do_stats, 2, "--top", "5"), EXIT_USAGE);
	json_output = true;
	cr_expect_eq(run(do_stats, 2, "watch", "1"), EXIT_USAGE);
	json_output = false;
}

Test(ksmctl, policy_bad_arguments_are_usage_errors)
{
	char obj[] = "/tmp/ksmctl-test-XXXXXX";
	int fd = mkstemp(obj);

	cr_assert_geq(fd, 0);
	cr_expect_eq(write(fd, "not an ELF file at all, just text\n", 34), 34);
	close(fd);
	cr_expect_eq(run(do_policy, 1, "load"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 3, "load", "a.bpf.o", "b.bpf.o"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 3, "load", "a.bpf.o", "bogus"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 3, "load", "a.bpf.o", "map"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 4, "load", "a.bpf.o", "--map", "m"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 6, "load", "a.bpf.o", "map", "a", "map", "b"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 4, "load", "a.bpf.o", "name", ""), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 4, "load", "a.bpf.o", "name",
			 "0123456789012345678901234567890123456789012345678901234567890123"),
		     EXIT_USAGE);	/* 64: one too many */
	cr_expect_eq(run(do_policy, 2, "load", "/nonexistent/x.bpf.o"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "load", obj), EXIT_USAGE);	/* not BPF */
	cr_expect_eq(run(do_policy, 2, "replace", obj), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "unload", "x"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "show", "x"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 1, "bogus"), EXIT_USAGE);
	unlink(obj);
}

/* A file of @len bytes of @data (NULL: the bytes of @from), for policy load. */
static void make_object(const char *path, const void *data, size_t len, const char *from)
{
	char buf[65536];
	FILE *f;

	if (from) {
		f = fopen(from, "r");
		cr_assert_not_null(f, "%s", from);
		len = fread(buf, 1, len < sizeof(buf) ? len : sizeof(buf), f);
		fclose(f);
		data = buf;
	}
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

Test(policy, load_names_what_the_file_is, .init = cr_redirect_stderr)
{
	/* ELF header of a big-endian BPF object, of an x86-64 program. */
	static const unsigned char bpfeb[64] = { 0x7f, 'E', 'L', 'F', 2, 2, 1, [16] = 0, 1,
						 [18] = 0, 247 };
	static const unsigned char x86[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, [16] = 2, 0,
					       [18] = 62, 0 };
	static const char *const want[] = {
		"not a file", "empty, not a BPF object file", "not ELF, not a BPF object file",
		"truncated: 20 bytes, less than an ELF header",
		"a BPF object for the other byte order (clang -target bpfeb)",
		"an ELF file for x86-64, not a BPF object file",
		"truncated: its section headers are past its end",
	};
	char text[4096] = "", *line, *save;
	size_t i = 0;
	FILE *err;

	if (geteuid())
		cr_skip_test("policy load needs root");
	make_object("/tmp/ksmctl-empty.o", "", 0, NULL);
	make_object("/tmp/ksmctl-text.o", "text\n", 5, NULL);
	make_object("/tmp/ksmctl-cut.o", bpfeb, 20, NULL);
	make_object("/tmp/ksmctl-bpfeb.o", bpfeb, sizeof(bpfeb), NULL);
	make_object("/tmp/ksmctl-x86.o", x86, sizeof(x86), NULL);
	make_object("/tmp/ksmctl-half.o", NULL, 4096, "build/bpf/default.bpf.o");
	cr_expect_eq(run(do_policy, 2, "load", "/tmp"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "load", "/tmp/ksmctl-empty.o"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "load", "/tmp/ksmctl-text.o"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "load", "/tmp/ksmctl-cut.o"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "replace", "/tmp/ksmctl-bpfeb.o"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "load", "/tmp/ksmctl-x86.o"), EXIT_USAGE);
	cr_expect_eq(run(do_policy, 2, "load", "/tmp/ksmctl-half.o"), EXIT_USAGE);
	fflush(stderr);
	err = cr_get_redirected_stderr();
	text[fread(text, 1, sizeof(text) - 1, err)] = '\0';
	/* One line each, in order. */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++)
		cr_expect(i < 7 && strstr(line, want[i]), "line %zu: %s", i, line);
	cr_expect_eq(i, 7, "%zu lines for 7 errors", i);
	unlink("/tmp/ksmctl-empty.o");
	unlink("/tmp/ksmctl-text.o");
	unlink("/tmp/ksmctl-cut.o");
	unlink("/tmp/ksmctl-bpfeb.o");
	unlink("/tmp/ksmctl-x86.o");
	unlink("/tmp/ksmctl-half.o");
}

/* --- knobs --- */

Test(knob, validate_numbers_and_ranges)
{
	char err[256];

	cr_expect_eq(knob_validate("pages_to_scan", "100", err, sizeof(err)), 0);
	cr_expect_eq(knob_validate("pages_to_scan", "0", err, sizeof(err)), -1);
	cr_expect(strstr(err, "pages_to_scan") && strstr(err, "'0'"), "message: %s", err);
	cr_expect_eq(knob_validate("pages_to_scan", "-5", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("pages_to_scan", "+5", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("pages_to_scan", "12abc", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("pages_to_scan", "", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("pages_to_scan", "4294967296", err, sizeof(err)), -1);
	/* Digits alone, as the kernel takes them: strtoull() would skip the space. */
	cr_expect_eq(knob_validate("pages_to_scan", " 5", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("sleep_millisecs", "\t7", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("sleep_millisecs", "0", err, sizeof(err)), 0);
	cr_expect_eq(knob_validate("max_page_sharing", "1", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("max_page_sharing", "2", err, sizeof(err)), 0);
	cr_expect_eq(knob_validate("advisor_max_cpu", "101", err, sizeof(err)), -1);
}

Test(knob, validate_choices_and_read_only)
{
	char err[256];

	cr_expect_eq(knob_validate("run", "2", err, sizeof(err)), 0);
	cr_expect_eq(knob_validate("run", "3", err, sizeof(err)), -1);
	cr_expect(strstr(err, "one of: 0 1 2"), "message: %s", err);
	cr_expect_eq(knob_validate("advisor_mode", "scan-time", err, sizeof(err)), 0);
	cr_expect_eq(knob_validate("advisor_mode", "fast", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("use_zero_pages", "yes", err, sizeof(err)), -1);
	cr_expect_eq(knob_validate("pages_shared", "1", err, sizeof(err)), -1);
	cr_expect(strstr(err, "not a writable"), "message: %s", err);
	cr_expect_eq(knob_validate("../../etc/passwd", "1", err, sizeof(err)), -1);
}

Test(knob, clean_value)
{
	char a[] = "[none] scan-time\n", b[] = "100\n", c[] = "x: error: gave up\n";

	knob_clean_value(a);
	knob_clean_value(b);
	knob_clean_value(c);
	cr_expect_str_eq(a, "none");
	cr_expect_str_eq(b, "100");
	cr_expect_str_eq(c, "x: error: gave up");
}

static char fake_sysfs[64];

static void write_file(const char *name, const char *text)
{
	fake_file_write(fake_sysfs, name, text);
}

static void make_fake_sysfs(void)
{
	snprintf(fake_sysfs, sizeof(fake_sysfs), "/tmp/ksmctl-sysfs-XXXXXX");
	cr_assert_not_null(mkdtemp(fake_sysfs));
	ksm_sysfs_dir = fake_sysfs;
	write_file("run", "0\n");
	write_file("pages_to_scan", "100\n");
	write_file("sleep_millisecs", "20\n");
	write_file("pages_shared", "7\n");
}

static void remove_fake_sysfs(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", fake_sysfs);
	cr_expect_eq(system(cmd), 0);
	ksm_sysfs_dir = "/sys/kernel/mm/ksm";
}

static void expect_knob(const char *name, const char *value)
{
	char buf[64];

	cr_assert_eq(knob_read(name, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, value, "%s", name);
}

Test(knob, set_writes_all, .init = make_fake_sysfs, .fini = remove_fake_sysfs)
{
	if (geteuid())
		cr_skip_test("knob set needs root");
	cr_expect_eq(run(do_knob, 5, "set", "pages_to_scan", "500", "run", "1"), EXIT_OK);
	expect_knob("pages_to_scan", "500");
	expect_knob("run", "1");
}

Test(knob, set_writes_nothing_if_one_value_is_bad, .init = make_fake_sysfs,
     .fini = remove_fake_sysfs)
{
	cr_expect_eq(run(do_knob, 5, "set", "pages_to_scan", "500", "run", "7"), EXIT_USAGE);
	cr_expect_eq(run(do_knob, 3, "set", "pages_shared", "1"), EXIT_USAGE);
	cr_expect_eq(run(do_knob, 2, "set", "pages_to_scan"), EXIT_USAGE);
	cr_expect_eq(run(do_knob, 5, "set", "run", "1", "run", "0"), EXIT_USAGE);
	expect_knob("pages_to_scan", "100");
	expect_knob("run", "0");
}

Test(knob, set_restores_what_it_wrote_when_the_kernel_refuses, .init = make_fake_sysfs,
     .fini = remove_fake_sysfs)
{
	char path[128];

	if (geteuid())
		cr_skip_test("knob set needs root");
	/* Readable, but every write fails (EIO), as when the kernel refuses. */
	snprintf(path, sizeof(path), "%s/smart_scan", fake_sysfs);
	cr_assert_eq(symlink("/proc/version", path), 0);
	cr_expect_eq(run(do_knob, 7, "set", "pages_to_scan", "500", "sleep_millisecs", "5",
			 "smart_scan", "1"), EXIT_FAIL);
	expect_knob("pages_to_scan", "100");
	expect_knob("sleep_millisecs", "20");
}

Test(knob, get_unknown_knob_is_a_usage_error, .init = make_fake_sysfs,
     .fini = remove_fake_sysfs)
{
	cr_expect_eq(run(do_knob, 2, "get", "no_such_knob"), EXIT_USAGE);
	cr_expect_eq(run(do_knob, 2, "get", "../run"), EXIT_USAGE);
	cr_expect_eq(run(do_knob, 2, "get", ""), EXIT_USAGE);
	cr_expect_eq(run(do_knob, 2, "get", "pages_shared"), EXIT_OK);
}

static void make_fake_sysfs_capture(void)
{
	make_fake_sysfs();
	cr_redirect_stdout();
}

Test(knob, get_prints_nothing_when_one_knob_is_bad, .init = make_fake_sysfs_capture,
     .fini = remove_fake_sysfs)
{
	cr_expect_eq(run(do_knob, 3, "get", "pages_to_scan", "no_such_knob"), EXIT_USAGE);
	fflush(stdout);
	cr_expect_stdout_eq_str("", "a value was printed before the error");
}

/* --- statistics rows --- */

static struct stats_row row(int pid, const char *comm, const char *cgroup,
			    unsigned long long cgid, unsigned long long scanned,
			    unsigned long long merged, long long sharing, long long saved)
{
	struct stats_row r = { .pid = pid, .cgroup_id = cgid, .sharing = sharing,
			       .saved = saved, .tracked = true };

	snprintf(r.comm, sizeof(r.comm), "%s", comm);
	snprintf(r.cgroup, sizeof(r.cgroup), "%s", cgroup);
	r.c.pages_scanned = scanned;
	r.c.pages_merged = merged;
	return r;
}

Test(stats, sort_keys)
{
	enum stats_sort k;

	cr_expect_eq(stats_sort_parse("merged", &k), 0);
	cr_expect_eq(k, SORT_MERGED);
	cr_expect_eq(stats_sort_parse("Merged", &k), -1);
	cr_expect(strstr(stats_sort_keys(), "pid, comm, cgroup"));
}

Test(stats, sort_rows)
{
	struct stats_row r[] = {
		row(30, "b", "/x", 1, 10, 5, 1, 100),
		row(10, "c", "/y", 2, 30, 5, 2, 300),
		row(20, "a", "/x", 1, 20, 9, 3, 200),
	};

	stats_sort_rows(r, 3, SORT_SAVED);		/* descending */
	cr_expect_eq(r[0].pid, 10);
	cr_expect_eq(r[2].pid, 30);
	stats_sort_rows(r, 3, SORT_MERGED);		/* ties by pid */
	cr_expect_eq(r[0].pid, 20);
	cr_expect_eq(r[1].pid, 10);
	cr_expect_eq(r[2].pid, 30);
	stats_sort_rows(r, 3, SORT_COMM);		/* ascending */
	cr_expect_str_eq(r[0].comm, "a");
	stats_sort_rows(r, 3, SORT_PID);
	cr_expect_eq(r[0].pid, 10);
}

Test(stats, cgroup_filter)
{
	cr_expect(stats_cgroup_matches("/a", "/a"));
	cr_expect(stats_cgroup_matches("/a/b", "/a"));
	cr_expect(stats_cgroup_matches("/a/b", "/a/"));
	cr_expect_not(stats_cgroup_matches("/ab", "/a"));
	cr_expect(stats_cgroup_matches("/anything", "/"));
}

Test(stats, aggregate_per_cgroup)
{
	struct stats_row procs[] = {
		row(1, "p", "/x", 11, 10, 5, 4, 4096),
		row(2, "q", "/x", 11, 20, 7, 6, 8192),
		row(3, "r", "/y", 12, 30, 1, 0, -64),
	};
	struct stats_cgroup_counters own[] = {
		{ .cgroup_id = 12, .c = { .pages_scanned = 99, .pages_merged = 3 } },
		{ .cgroup_id = 13, .c = { .pages_scanned = 5 } },	/* all exited */
	};
	struct stats_row out[5];
	size_t n = stats_aggregate_cgroups(procs, 3, own, 2, out);

	cr_assert_eq(n, 3);
	cr_expect_str_eq(out[0].cgroup, "/x");
	cr_expect_eq(out[0].procs, 2);
	cr_expect_eq(out[0].c.pages_scanned, 30);	/* summed: no own counters */
	cr_expect_eq(out[0].sharing, 10);
	cr_expect_eq(out[0].saved, 12288);
	cr_expect_eq(out[1].c.pages_scanned, 99);	/* the cgroup's own counters */
	cr_expect_eq(out[1].saved, -64);
	cr_expect_eq(out[2].cgroup_id, 13);
	cr_expect_eq(out[2].procs, 0);
	cr_expect_str_eq(out[2].cgroup, "");
}

/* A process without its map entry adds its sharing, not its (unknown) counters. */
Test(stats, aggregate_untracked)
{
	struct stats_row procs[] = {
		row(1, "p", "/x", 11, 10, 5, 4, 4096),
		row(2, "q", "/x", 11, 20, 7, 6, 8192),
	};
	struct stats_row out[2];
	size_t n;

	procs[1].tracked = false;
	n = stats_aggregate_cgroups(procs, 2, NULL, 0, out);
	cr_assert_eq(n, 1);
	cr_expect_eq(out[0].procs, 2);
	cr_expect_eq(out[0].untracked, 1);
	cr_expect_eq(out[0].sharing, 10);
	cr_expect_eq(out[0].c.pages_scanned, 10);
}

Test(stats, format_bytes)
{
	char b[16];

	stats_format_bytes(b, sizeof(b), 512);
	cr_expect_str_eq(b, "512");
	stats_format_bytes(b, sizeof(b), 4096);
	cr_expect_str_eq(b, "4.0K");
	stats_format_bytes(b, sizeof(b), 300 << 20);
	cr_expect_str_eq(b, "300M");
	stats_format_bytes(b, sizeof(b), -2048);
	cr_expect_str_eq(b, "-2.0K");
}

/* A line of its own, the whole key, or what the caller says a missing line is. */
Test(stats, proc_ksm_stat_field)
{
	const char *series = "ksm_rmap_items 12\nksm_zero_pages 0\nksm_merging_pages 7\n"
			     "ksm_process_profit 2048\nksm_cow_writes 3\nksm_unshares 0\n";
	const char *stock = "ksm_rmap_items 12\nksm_merging_pages 7\nksm_process_profit 2048\n";

	cr_expect_eq(proc_ksm_stat_field(series, "ksm_rmap_items", -1), 12);
	cr_expect_eq(proc_ksm_stat_field(series, "ksm_cow_writes", -1), 3);
	cr_expect_eq(proc_ksm_stat_field(series, "ksm_unshares", -1), 0);
	cr_expect_eq(proc_ksm_stat_field(series, "ksm_process_profit", 0), 2048);
	cr_expect_eq(proc_ksm_stat_field(stock, "ksm_cow_writes", -1), -1);
	cr_expect_eq(proc_ksm_stat_field(stock, "ksm_unshares", 0), 0);
	/* Neither a key's tail nor its head is the key. */
	cr_expect_eq(proc_ksm_stat_field(series, "merging_pages", -1), -1);
	cr_expect_eq(proc_ksm_stat_field(series, "ksm_rmap", -1), -1);
	cr_expect_eq(proc_ksm_stat_field(series, "", -1), -1);
}

Test(stats, table_output)
{
	struct stats_row r[] = {
		row(42, "worker", "/tenant-a", 7, 1000, 250, 240, 983040),
		row(43, "other", "/tenant-b", 8, 5, 0, 0, 0),
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	stats_print_table(f, r, 2, &(struct stats_view){ .top = 1 });
	fclose(f);
	cr_expect(strstr(text, "PID") && strstr(text, "SHARING") && strstr(text, "SAVED"),
		  "%s", text);
	cr_expect(strstr(text, "worker") && strstr(text, "/tenant-a") && strstr(text, "960K"),
		  "%s", text);
	cr_expect_null(strstr(text, "other"), "%s", text);
	free(text);
}

/* A row without counters shows "-" for them, and the table says why. */
Test(stats, table_untracked)
{
	struct stats_row r[] = { row(42, "worker", "/t", 7, 1000, 250, 240, 983040) };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	r[0].tracked = false;
	stats_print_table(f, r, 1, &(struct stats_view){ 0 });
	fclose(f);
	cr_expect_null(strstr(text, "1000"), "%s", text);
	cr_expect(strstr(text, " 240 ") && strstr(text, "1 process without counters"), "%s", text);
	free(text);
}

Test(stats, json_output)
{
	struct stats_row r[] = { row(42, "a\"b", "/t", 7, 1000, 250, 240, 983040) };
	json_object *arr = stats_to_json(r, 1, &(struct stats_view){ 0 }), *o, *v;
	json_object *parsed;

	cr_assert_eq(json_object_array_length(arr), 1);
	o = json_object_array_get_idx(arr, 0);
	cr_expect(json_object_object_get_ex(o, "pages_merged", &v));
	cr_expect_eq(json_object_get_int64(v), 250);
	cr_expect(json_object_object_get_ex(o, "comm", &v));
	cr_expect_str_eq(json_object_get_string(v), "a\"b");
	/* What is printed parses back: quoting is the library's. */
	parsed = json_tokener_parse(json_object_to_json_string(arr));
	cr_expect_not_null(parsed);
	json_object_put(parsed);
	json_object_put(arr);
}

/* An upstream kernel has no COW or SKIPPED: no such columns, null in JSON. */
Test(stats, upstream_kernel_columns)
{
	struct stats_row r[] = { row(42, "worker", "/t", 7, 1000, 250, 240, 983040) };
	struct stats_view v = { .upstream = true };
	json_object *arr, *o, *val;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	stats_print_table(f, r, 1, &v);
	fclose(f);
	cr_expect(strstr(text, "SHARING") && !strstr(text, "COW") && !strstr(text, "SKIPPED"),
		  "%s", text);
	free(text);
	arr = stats_to_json(r, 1, &v);
	o = json_object_array_get_idx(arr, 0);
	cr_expect(json_object_object_get_ex(o, "cow_writes", &val) && val == NULL);
	cr_expect(json_object_object_get_ex(o, "pages_merged", &val) &&
		  json_object_get_int64(val) == 250);
	json_object_put(arr);
}

Test(stats, json_untracked_counters_are_null)
{
	struct stats_row r[] = { row(42, "a", "/t", 7, 1000, 250, 240, 983040) };
	json_object *arr, *o, *v;

	r[0].tracked = false;
	arr = stats_to_json(r, 1, &(struct stats_view){ 0 });
	o = json_object_array_get_idx(arr, 0);
	cr_expect(json_object_object_get_ex(o, "pages_merged", &v) && v == NULL);
	cr_expect(json_object_object_get_ex(o, "tracked", &v) && !json_object_get_boolean(v));
	cr_expect(json_object_object_get_ex(o, "pages_sharing", &v) &&
		  json_object_get_int64(v) == 240);
	json_object_put(arr);
}

/*
 * A process without an entry (a child that broke pages it inherited before
 * ksmd scanned it) has the kernel's copy-on-write counts, and no others.
 */
Test(stats, untracked_row_has_the_kernels_cow_counts)
{
	struct stats_row r[] = { row(42, "a", "/t", 7, 1000, 250, 0, 0) };
	json_object *arr, *o, *v;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	r[0].tracked = false;
	r[0].cow_live = true;
	r[0].c.cow_writes = 3;
	r[0].c.unshares = 2;
	arr = stats_to_json(r, 1, &(struct stats_view){ 0 });
	o = json_object_array_get_idx(arr, 0);
	cr_expect(json_object_object_get_ex(o, "cow_writes", &v) && json_object_get_int64(v) == 3);
	cr_expect(json_object_object_get_ex(o, "unshares", &v) && json_object_get_int64(v) == 2);
	cr_expect(json_object_object_get_ex(o, "pages_scanned", &v) && v == NULL);
	cr_expect(json_object_object_get_ex(o, "policy_skipped_pages", &v) && v == NULL);
	json_object_put(arr);
	stats_print_table(f, r, 1, &(struct stats_view){ 0 });
	fclose(f);
	cr_expect(strstr(text, "        3          -"), "%s", text);
	free(text);
}

/* --- cgroup settings --- */

static int parse(struct cgroup_setting *s, unsigned int *mask, int argc, ...)
{
	char *argv[8], err[256];
	va_list ap;
	int i;

	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	return cgroup_setting_parse(argc, argv, s, mask, err, sizeof(err));
}

Test(cgroup, parse_settings)
{
	struct cgroup_setting s;
	unsigned int mask;

	cr_assert_eq(parse(&s, &mask, 6, "merge", "on", "domain", "tenant-1", "max-pages", "100"),
		     0);
	cr_expect_eq(s.merge, CGROUP_MERGE_ON);
	cr_expect_eq(s.domain, CGROUP_DOMAIN_NAMED);
	cr_expect_str_eq(s.name, "tenant-1");
	cr_expect_eq(s.max_pages, 100);
	cr_expect_eq(mask, CGROUP_SET_MERGE | CGROUP_SET_DOMAIN | CGROUP_SET_MAX);
	cr_assert_eq(parse(&s, &mask, 4, "merge", "off", "max-pages", "max"), 0);
	cr_expect_eq(s.merge, CGROUP_MERGE_OFF);
	cr_expect_eq(s.max_pages, 0);
	cr_expect_eq(mask, CGROUP_SET_MERGE | CGROUP_SET_MAX);
	cr_assert_eq(parse(&s, &mask, 2, "max-pages", "2251799813685247"), 0);
	cr_expect_eq(s.max_pages, 2251799813685247ULL);	/* PAGE_COUNTER_MAX */
	cr_assert_eq(parse(&s, &mask, 6, "merge", "inherit", "domain", "inherit", "max-pages",
			   "max"), 0);
	cr_expect(cgroup_setting_is_default(&s));
	cr_assert_eq(parse(&s, &mask, 2, "domain", "isolated"), 0);
	cr_expect_eq(s.domain, CGROUP_DOMAIN_ISOLATED);
	cr_expect_str_eq(cgroup_domain_text(&s), "isolated");
	cr_assert_eq(parse(&s, &mask, 2, "domain", "shared"), 0);
	cr_expect_eq(s.domain, CGROUP_DOMAIN_SHARED);
	cr_expect_eq(mask, CGROUP_SET_DOMAIN);
}

Test(cgroup, parse_refuses_bad_settings)
{
	struct cgroup_setting s;
	unsigned int mask;

	cr_expect_eq(parse(&s, &mask, 2, "merge", "maybe"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "merge", "ON"), -1);
	cr_expect_eq(parse(&s, &mask, 1, "merge"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "merge", ""), -1);
	cr_expect_eq(parse(&s, &mask, 4, "merge", "on", "merge", "off"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "0"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "-1"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "+5"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", " 5"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "12k"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", ""), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "none"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "inherit"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "2251799813685248"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "18446744073709551615"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "max-pages", "18446744073709551616"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "domain", "a/b"), -1);
	cr_expect_eq(parse(&s, &mask, 2, "domain", ""), -1);
	cr_expect_eq(parse(&s, &mask, 2, "domain", "a b"), -1);
	cr_expect_eq(parse(&s, &mask, 1, "colour=blue"), -1);
	cr_expect_eq(parse(&s, &mask, 1, "=on"), -1);
	cr_expect_eq(parse(&s, &mask, 1, "merge=on"), -1);	/* the form before keywords */
	cr_expect_eq(parse(&s, &mask, 0), -1);			/* nothing to set */
}

Test(cgroup, domain_names_follow_the_kernel)
{
	char name[80];

	cr_expect(cgroup_domain_name_valid("tenant-1"));
	cr_expect(cgroup_domain_name_valid("a.b_c:d-E9"));
	cr_expect(cgroup_domain_name_valid("Shared"));		/* keywords are exact */
	cr_expect_not(cgroup_domain_name_valid("shared"));
	cr_expect_not(cgroup_domain_name_valid("isolated"));
	cr_expect_not(cgroup_domain_name_valid("inherit"));
	cr_expect_not(cgroup_domain_name_valid(""));
	cr_expect_not(cgroup_domain_name_valid("no/slash"));
	cr_expect_not(cgroup_domain_name_valid("tab\there"));
	cr_expect_not(cgroup_domain_name_valid("caf\xc3\xa9"));
	memset(name, 'x', sizeof(name));
	name[63] = '\0';
	cr_expect(cgroup_domain_name_valid(name));		/* 63: the longest */
	name[63] = 'x';
	name[64] = '\0';
	cr_expect_not(cgroup_domain_name_valid(name));
}

/* Settings of a path, root first: "merge domain" words per level ("-": inherit both). */
static int levels_of(struct cgroup_setting *lv, int n, ...)
{
	va_list ap;

	memset(lv, 0, n * sizeof(*lv));
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		char merge[16] = "", domain[64] = "";

		sscanf(va_arg(ap, const char *), "%15s %63s", merge, domain);
		if (strcmp(merge, "-"))
			cr_assert_eq(cgroup_merge_parse(merge, &lv[i].merge), 0, "%s", merge);
		if (*domain)
			cr_assert_eq(cgroup_domain_parse(domain, &lv[i]), 0, "%s", domain);
	}
	va_end(ap);
	return n;
}

Test(cgroup, effective_merge)
{
	struct cgroup_setting lv[4];
	struct cgroup_effective e;

	cgroup_effective(lv, levels_of(lv, 3, "-", "-", "-"), &e);
	cr_expect_eq(e.merge, CGROUP_MERGE_INHERIT);
	cr_expect_eq(e.merge_from, -1);
	cgroup_effective(lv, levels_of(lv, 3, "-", "on", "inherit"), &e);
	cr_expect_eq(e.merge, CGROUP_MERGE_ON);
	cr_expect_eq(e.merge_from, 1);
	/* off anywhere wins, above or below an on. */
	cgroup_effective(lv, levels_of(lv, 4, "-", "off", "on", "-"), &e);
	cr_expect_eq(e.merge, CGROUP_MERGE_OFF);
	cr_expect_eq(e.merge_from, 1);
	cgroup_effective(lv, levels_of(lv, 4, "-", "on", "off", "on"), &e);
	cr_expect_eq(e.merge, CGROUP_MERGE_OFF);
	cr_expect_eq(e.merge_from, 2);
	/* The nearest on says where it comes from. */
	cgroup_effective(lv, levels_of(lv, 4, "-", "on", "on", "-"), &e);
	cr_expect_eq(e.merge_from, 2);
	/* observe beats on, above or below it; off beats observe. */
	cgroup_effective(lv, levels_of(lv, 4, "-", "on", "observe", "on"), &e);
	cr_expect_eq(e.merge, CGROUP_MERGE_OBSERVE);
	cr_expect_eq(e.merge_from, 2);
	cgroup_effective(lv, levels_of(lv, 3, "observe", "-", "on"), &e);
	cr_expect_eq(e.merge, CGROUP_MERGE_OBSERVE);
	cr_expect_eq(e.merge_from, 0);
	cgroup_effective(lv, levels_of(lv, 3, "off", "observe", "-"), &e);
	cr_expect_eq(e.merge, CGROUP_MERGE_OFF);
	cgroup_effective(lv, 0, &e);
	cr_expect_eq(e.merge, CGROUP_MERGE_INHERIT);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_SHARED);
}

Test(cgroup, effective_domain)
{
	struct cgroup_setting lv[5];
	struct cgroup_effective e;

	cgroup_effective(lv, levels_of(lv, 3, "-", "- shared", "-"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_SHARED);
	cr_expect_eq(e.domain_from, -1);
	cgroup_effective(lv, levels_of(lv, 3, "-", "- isolated", "-"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_ISOLATED);
	cr_expect_eq(e.domain_from, 1);
	cgroup_effective(lv, levels_of(lv, 3, "-", "- t1", "-"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_NAMED);
	cr_expect_eq(e.domain_from, 1);
	cr_expect_str_eq(lv[e.domain_from].name, "t1");
	/* Below an isolated or named cgroup, shared does not widen... */
	cgroup_effective(lv, levels_of(lv, 3, "-", "- isolated", "- shared"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_ISOLATED);
	cr_expect_eq(e.domain_from, 1);
	cgroup_effective(lv, levels_of(lv, 3, "-", "- t1", "- shared"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_NAMED);
	cr_expect_eq(e.domain_from, 1);
	/* ... and a name isolates where it is given. */
	cgroup_effective(lv, levels_of(lv, 4, "-", "- isolated", "- t2", "-"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_ISOLATED);
	cr_expect_eq(e.domain_from, 2);
	cgroup_effective(lv, levels_of(lv, 4, "-", "- t1", "- t1", "-"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_ISOLATED);
	cr_expect_eq(e.domain_from, 2);
	/* The deepest isolated one is the domain. */
	cgroup_effective(lv, levels_of(lv, 5, "-", "- t1", "- isolated", "- inherit", "-"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_ISOLATED);
	cr_expect_eq(e.domain_from, 2);
	/* A name under a shared one is the name. */
	cgroup_effective(lv, levels_of(lv, 3, "-", "- shared", "- t3"), &e);
	cr_expect_eq(e.domain, CGROUP_DOMAIN_NAMED);
	cr_expect_eq(e.domain_from, 2);
}

Test(cgroup, effective_cap)
{
	struct cgroup_setting lv[4];
	struct cgroup_effective e;

	levels_of(lv, 4, "-", "-", "-", "-");
	cgroup_effective(lv, 4, &e);
	cr_expect_eq(e.max_pages, 0);
	cr_expect_eq(e.max_from, -1);
	lv[1].max_pages = 100;
	cgroup_effective(lv, 4, &e);
	cr_expect_eq(e.max_pages, 100);
	cr_expect_eq(e.max_from, 1);
	/* Every level's cap applies to its subtree: the smallest binds. */
	lv[2].max_pages = 1000;
	cgroup_effective(lv, 4, &e);
	cr_expect_eq(e.max_pages, 100);
	cr_expect_eq(e.max_from, 1);
	lv[3].max_pages = 7;
	cgroup_effective(lv, 4, &e);
	cr_expect_eq(e.max_pages, 7);
	cr_expect_eq(e.max_from, 3);
}

/* A fake cgroup2 tree: /a has the memory controller and KSM files, /b no memory
 * controller, /c the memory controller of a kernel without KSM files. */
static char fake_cg[64];

static void cg_file(const char *name, const char *text)
{
	fake_file_write(fake_cg, name, text);
}

static void cg_dir(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fake_cg, name);
	cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
}

static void expect_cg_file(const char *name, const char *text)
{
	fake_file_expect(fake_cg, name, text);
}

static void make_fake_cgroups(void)
{
	snprintf(fake_cg, sizeof(fake_cg), "/tmp/ksmctl-cgroup-XXXXXX");
	cr_assert_not_null(mkdtemp(fake_cg));
	cgroup_root_dir = fake_cg;
	cg_file("cgroup.controllers", "cpu memory pids\n");
	cg_file("cgroup.subtree_control", "memory\n");
	cg_dir("a");
	cg_file("a/cgroup.controllers", "memory\n");
	cg_file("a/memory.current", "0\n");
	cg_file("a/memory.ksm_merge", "inherit\n");
	cg_file("a/memory.ksm_domain", "inherit\n");
	cg_file("a/memory.ksm_max_pages", "max\n");
	cg_file("a/memory.ksm_stat", "merging_pages 12\nmax_pages_denied 3\nmerge on\n"
		"domain 4\n");
	cg_dir("a/b");
	cg_file("a/b/cgroup.controllers", "\n");
	cg_dir("notcg");
}

static void remove_fake_cgroups(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", fake_cg);
	cr_expect_eq(system(cmd), 0);
	cgroup_root_dir = "/sys/fs/cgroup";
}

static void need_root(void)
{
	if (geteuid())
		cr_skip_test("cgroup set needs root");
}

Test(cgroup, set_writes_the_kernel_files, .init = make_fake_cgroups,
     .fini = remove_fake_cgroups)
{
	need_root();
	cr_expect_eq(run(do_cgroup, 8, "set", "/a", "merge", "on", "domain", "tenant:1",
			 "max-pages", "64"), EXIT_OK);
	expect_cg_file("a/memory.ksm_merge", "on");
	expect_cg_file("a/memory.ksm_domain", "tenant:1");
	expect_cg_file("a/memory.ksm_max_pages", "64");
	/* Absolute paths too; one attribute leaves the other. */
	char abs[128];

	snprintf(abs, sizeof(abs), "%s/a/", fake_cg);
	cr_expect_eq(run(do_cgroup, 6, "set", abs, "merge", "off", "max-pages", "max"), EXIT_OK);
	expect_cg_file("a/memory.ksm_merge", "off");
	expect_cg_file("a/memory.ksm_domain", "tenant:1");
	expect_cg_file("a/memory.ksm_max_pages", "max");
}

Test(cgroup, set_bad_input_writes_nothing, .init = make_fake_cgroups,
     .fini = remove_fake_cgroups)
{
	cr_expect_eq(run(do_cgroup, 6, "set", "/a", "merge", "on", "domain", "no/slash"),
		     EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 6, "set", "/a", "merge", "on", "domain", ""), EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 6, "set", "/a", "merge", "maybe", "domain", "isolated"),
		     EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 6, "set", "/a", "merge", "on", "max-pages", "-3"), EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 6, "set", "/a", "merge", "on", "max-pages", "lots"),
		     EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 3, "set", "/a", "merge=on"), EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 2, "set", "/a"), EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 4, "set", "/nonexistent", "merge", "on"), EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 4, "set", "/notcg", "merge", "on"), EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 4, "set", "/a/b/..", "merge", "on"), EXIT_USAGE);
	cr_expect_eq(run(do_cgroup, 2, "show", "/nonexistent"), EXIT_USAGE);
	expect_cg_file("a/memory.ksm_merge", "inherit");
	expect_cg_file("a/memory.ksm_domain", "inherit");
	expect_cg_file("a/memory.ksm_max_pages", "max");
}

Test(cgroup, set_names_why_the_files_are_missing, .init = make_fake_cgroups,
     .fini = remove_fake_cgroups)
{
	need_root();
	cr_expect_eq(run(do_cgroup, 4, "set", "/", "merge", "on"), EXIT_USAGE);
	/* /a/b: "+memory" is not in /a/cgroup.subtree_control. */
	cr_expect_eq(run(do_cgroup, 4, "set", "/a/b", "domain", "isolated"), EXIT_FAIL);
	/* The memory controller without the files: a kernel without the series. */
	cg_file("a/b/memory.current", "0\n");
	cr_expect_eq(run(do_cgroup, 4, "set", "/a/b", "merge", "on"), EXIT_UNSUPPORTED);
}

Test(stats, cgroup_filter_must_name_a_cgroup, .init = make_fake_cgroups,
     .fini = remove_fake_cgroups)
{
	/* Not an empty table and success: one error naming the path. */
	cr_expect_eq(run(do_stats, 3, "show", "cgroup", "/nonexistent"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 3, "show", "cgroup", "/notcg"), EXIT_USAGE);
	cr_expect_eq(run(do_stats, 3, "cgroup", "cgroup", "/a/b/.."), EXIT_USAGE);
}

Test(cgroup, set_restores_what_it_wrote_when_the_kernel_refuses, .init = make_fake_cgroups,
     .fini = remove_fake_cgroups)
{
	char path[128];

	need_root();
	/* Readable, but every write fails (EIO), as when the kernel refuses. */
	snprintf(path, sizeof(path), "%s/a/memory.ksm_domain", fake_cg);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink("/proc/version", path), 0);
	cr_expect_eq(run(do_cgroup, 6, "set", "/a", "merge", "on", "domain", "isolated"),
		     EXIT_FAIL);
	expect_cg_file("a/memory.ksm_merge", "inherit");
	/* The last of three fails: the first two are put back. */
	snprintf(path, sizeof(path), "%s/a/memory.ksm_domain", fake_cg);
	cr_assert_eq(unlink(path), 0);
	cg_file("a/memory.ksm_domain", "inherit\n");
	snprintf(path, sizeof(path), "%s/a/memory.ksm_max_pages", fake_cg);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink("/proc/version", path), 0);
	cr_expect_eq(run(do_cgroup, 8, "set", "/a", "merge", "off", "domain", "t2", "max-pages",
			 "9"), EXIT_FAIL);
	expect_cg_file("a/memory.ksm_merge", "inherit");
	expect_cg_file("a/memory.ksm_domain", "inherit");
}

static const char *json_str(json_object *o, const char *path)
{
	char key[64];
	const char *dot;
	json_object *v;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		if (!json_object_object_get_ex(o, key, &o))
			return "(missing)";
		path = dot + 1;
	}
	if (!json_object_object_get_ex(o, path, &v))
		return "(missing)";
	return v ? json_object_get_string(v) : "(null)";
}

Test(cgroup, show_lists_own_and_effective_settings, .init = make_fake_cgroups,
     .fini = remove_fake_cgroups)
{
	json_object *arr, *a, *c;
	FILE *real_stdout = stdout;
	char *text = NULL;
	size_t len = 0;

	cg_file("a/memory.ksm_merge", "on\n");
	cg_file("a/memory.ksm_domain", "isolated\n");
	cg_dir("a/c");
	cg_file("a/c/cgroup.controllers", "\n");
	cg_file("a/c/memory.current", "0\n");
	cg_file("a/c/memory.ksm_merge", "inherit\n");
	cg_file("a/c/memory.ksm_domain", "t1\n");
	cg_file("a/c/memory.ksm_max_pages", "max\n");
	/* glibc's stdout is a variable: catch what show prints. */
	stdout = open_memstream(&text, &len);
	cr_assert_not_null(stdout);
	json_output = true;
	cr_expect_eq(run(do_cgroup, 1, "show"), EXIT_OK);
	json_output = false;
	fclose(stdout);
	stdout = real_stdout;
	arr = json_tokener_parse(text);
	cr_assert_not_null(arr, "output: %s", text);
	/* /a and /a/c set something; /, /a/b and /notcg do not. */
	cr_assert_eq(json_object_array_length(arr), 2, "%s", text);
	a = json_object_array_get_idx(arr, 0);
	c = json_object_array_get_idx(arr, 1);
	if (!strcmp(json_str(a, "cgroup"), "/a/c")) {
		json_object *t = a;

		a = c;
		c = t;
	}
	cr_expect_str_eq(json_str(a, "cgroup"), "/a");
	cr_expect_str_eq(json_str(a, "setting.merge"), "on");
	cr_expect_str_eq(json_str(a, "setting.domain"), "isolated");
	cr_expect_str_eq(json_str(a, "setting.max_pages"), "max");
	cr_expect_str_eq(json_str(a, "stat.merging_pages"), "12");
	cr_expect_str_eq(json_str(a, "stat.max_pages_denied"), "3");
	cr_expect_str_eq(json_str(a, "effective.domain_from"), "/a");
	cr_expect_str_eq(json_str(c, "cgroup"), "/a/c");
	cr_expect_str_eq(json_str(c, "setting.merge"), "inherit");
	cr_expect_str_eq(json_str(c, "setting.domain"), "t1");
	cr_expect_str_eq(json_str(c, "effective.merge"), "on");
	cr_expect_str_eq(json_str(c, "effective.merge_from"), "/a");
	/* A name below an isolated cgroup isolates it. */
	cr_expect_str_eq(json_str(c, "effective.domain"), "isolated");
	cr_expect_str_eq(json_str(c, "effective.domain_from"), "/a/c");
	cr_expect_str_eq(json_str(c, "effective.max_pages"), "max");
	cr_expect_str_eq(json_str(c, "effective.max_pages_from"), "(null)");
	json_object_put(arr);
	free(text);
}

/* With --json an error is {"error": ...} on stdout, as bpftool prints it. */
Test(ksmctl, errors_are_json_with_json, .init = cr_redirect_stdout)
{
	json_output = true;
	cr_expect_eq(fail(EXIT_FAIL, "bad %s", "thing"), EXIT_FAIL);
	json_output = false;
	fflush(stdout);
	cr_expect_stdout_eq_str("{\"error\":\"bad thing\"}\n");
}
