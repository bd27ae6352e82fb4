// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target over everything in ksmctl that parses text (make fuzz;
 * docs/pipeline.md says how it runs). An input is lines: the first names what reads
 * the rest, each further line is one word (an argv element) or one line of
 * a file.
 *
 *   args       keyword arguments (ctl/args.c): every parser kind in one table
 *   knob       knob values (knob_validate) and sysfs values (knob_clean_value)
 *   cgroup     `cgroup set` settings, and their text round trip
 *   stat       memory.ksm_stat, /proc/PID/stat, /proc/PID/ksm_stat
 *   knob-cmd   `ksmctl knob WORDS...` on a fake sysfs directory
 *   cgroup-cmd `ksmctl cgroup WORDS...` on a fake cgroup tree
 *   json-cmd   the same two, with --json
 *
 * Besides the sanitizers, the commands are held to what ksmctl(8) promises:
 * a command that fails says so in one line ("ksmctl: ..." on stderr, or one
 * {"error": ...} object on stdout with --json) and changes no file.
 */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cgroup_fs.h"
#include "cgroup_settings.h"
#include "knob.h"
#include "ksm_sysfs.h"
#include "ksmctl.h"
#include "stats_table.h"

#define MAX_WORDS 32

static char root[64];
static char sysfs_dir[128], bpffs_dir[128], proc_dir_fake[128], cgroup_dir[128];

/* The fake kernel files, with the values each run starts from. */
static const struct {
	const char *path;	/* under root */
	const char *text;
} fake_files[] = {
	{ "ksm/run", "1\n" },
	{ "ksm/pages_to_scan", "100\n" },
	{ "ksm/sleep_millisecs", "20\n" },
	{ "ksm/max_page_sharing", "256\n" },
	{ "ksm/merge_across_nodes", "1\n" },
	{ "ksm/use_zero_pages", "0\n" },
	{ "ksm/smart_scan", "1\n" },
	{ "ksm/advisor_mode", "[none] scan-time\n" },
	{ "ksm/advisor_max_cpu", "70\n" },
	{ "ksm/pages_shared", "0\n" },
	{ "ksm/policy", "none\n" },
	{ "cg/cgroup.controllers", "cpu memory pids\n" },
	{ "cg/cgroup.subtree_control", "memory\n" },
	{ "cg/a/cgroup.controllers", "memory\n" },
	{ "cg/a/cgroup.subtree_control", "\n" },
	{ "cg/a/memory.current", "0\n" },
	{ "cg/a/memory.ksm_merge", "inherit\n" },
	{ "cg/a/memory.ksm_domain", "inherit\n" },
	{ "cg/a/memory.ksm_max_pages", "max\n" },
	{ "cg/a/memory.ksm_stat", "merging_pages 12\nmax_pages_denied 3\n" },
	{ "cg/a/memory.ksm_policy", "none\n" },
	{ "cg/a/b/cgroup.controllers", "\n" },
	{ "cg/c/cgroup.controllers", "memory\n" },
	{ "cg/c/memory.current", "0\n" },
	{ "cg/c/memory.ksm_merge", "off\n" },
	{ "cg/c/memory.ksm_domain", "tenant:1\n" },
	{ "cg/c/memory.ksm_max_pages", "64\n" },
};
#define N_FAKE (sizeof(fake_files) / sizeof(fake_files[0]))

static void die(const char *what)
{
	perror(what);
	abort();
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		die(path);
}

static void fake_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

/* Every fake file as the table has it (a command may have written some). */
static void reset_fake_files(void)
{
	char path[256];

	for (size_t i = 0; i < N_FAKE; i++) {
		fake_path(path, sizeof(path), fake_files[i].path);
		write_file(path, fake_files[i].text);
	}
}

/* Every fake file's content, concatenated: what a failed command must leave. */
static size_t snapshot(char *buf, size_t len)
{
	char path[256];
	size_t used = 0;

	for (size_t i = 0; i < N_FAKE; i++) {
		fake_path(path, sizeof(path), fake_files[i].path);
		used += snprintf(buf + used, len - used, "%s=", fake_files[i].path);
		if (used < len && file_read_text(path, buf + used, len - used))
			used += snprintf(buf + used, len - used, "(unreadable)");
		used += strlen(buf + used);
		if (used >= len)
			abort();
	}
	return used;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const dirs[] = { "ksm", "bpf", "proc", "cg", "cg/a", "cg/a/b", "cg/c",
					    "cg/notcg" };
	char path[256];

	(void)argc;
	(void)argv;
	snprintf(root, sizeof(root), "/tmp/ksmctl-fuzz-XXXXXX");
	if (!mkdtemp(root))
		die("mkdtemp");
	atexit(cleanup);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		fake_path(path, sizeof(path), dirs[i]);
		if (mkdir(path, 0700))
			die(path);
	}
	reset_fake_files();
	/* Nothing a command reaches may be the machine's own. */
	fake_path(sysfs_dir, sizeof(sysfs_dir), "ksm");
	fake_path(bpffs_dir, sizeof(bpffs_dir), "bpf");
	fake_path(proc_dir_fake, sizeof(proc_dir_fake), "proc");
	fake_path(cgroup_dir, sizeof(cgroup_dir), "cg");
	ksm_sysfs_dir = sysfs_dir;
	ksm_bpffs_dir = bpffs_dir;
	proc_dir = proc_dir_fake;
	cgroup_root_dir = cgroup_dir;
	return 0;
}

/* The input as lines: words[0] names the target. Returns how many. */
static int split(char *text, char **words)
{
	int n = 0;

	for (char *p = text; n < MAX_WORDS; ) {
		char *nl = strchr(p, '\n');

		words[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

/* A message a parser left: terminated, within its buffer, not empty. */
static void check_msg(const char *err, size_t len)
{
	size_t n = strnlen(err, len);

	if (n == len || !n)
		abort();
}

static int parse_sort(const struct arg *a, const char *text, char *err, size_t errlen)
{
	if (!stats_sort_parse(text, a->dest))
		return 0;
	snprintf(err, errlen, "'%s' is none of %s", text, stats_sort_keys());
	return -1;
}

static void fuzz_args(int argc, char **argv)
{
	static const char *const choices[] = { "table", "json", "openmetrics", NULL };
	const char *str = NULL;
	unsigned long count = 0, small = 0;
	enum stats_sort sort = SORT_SAVED;
	int choice = -1;
	char err[512];
	struct arg args[] = {
		{ .keyword = "cgroup", .parse = args_string, .dest = &str },
		{ .keyword = "top", .parse = args_count, .dest = &count, .max = 2147483647 },
		{ .keyword = "max-procs", .parse = args_count, .dest = &small, .max = 1UL << 22 },
		{ .keyword = "format", .parse = args_choice, .dest = &choice, .choices = choices },
		{ .keyword = "sort", .parse = parse_sort, .dest = &sort },
	};

	memset(err, 0x55, sizeof(err));
	if (args_parse_msg(args, ARGS_N(args), argc, argv, err, sizeof(err))) {
		check_msg(err, sizeof(err));
		return;
	}
	if ((args[1].given && (!count || count > 2147483647)) ||
	    (args[2].given && (!small || small > 1UL << 22)) ||
	    (args[3].given && (choice < 0 || choice > 2)))
		abort();
	/* No table at all: every word is unexpected. */
	if (argc && !args_parse_msg(NULL, 0, argc, argv, err, sizeof(err)))
		abort();
}

static void fuzz_knob(int argc, char **argv)
{
	char err[256], value[64];

	for (int i = 0; i + 1 < argc; i += 2) {
		memset(err, 0x55, sizeof(err));
		const struct knob_def *k = knob_find(argv[i]);
		const char *v = argv[i + 1];

		if (knob_validate(argv[i], v, err, sizeof(err)))
			check_msg(err, sizeof(err));
		/* What the kernel's kstrtoul() takes: digits alone. */
		else if (!k || (k->kind == KNOB_NUMBER && strspn(v, "0123456789") != strlen(v)))
			abort();
	}
	for (int i = 0; i < argc; i++) {
		snprintf(value, sizeof(value), "%s\n", argv[i]);
		knob_clean_value(value);
		if (strchr(value, '\n'))
			abort();
	}
}

static void fuzz_cgroup(int argc, char **argv)
{
	struct cgroup_setting s, again;
	struct cgroup_effective e;
	unsigned int mask;
	char err[256], buf[32];
	__u64 max;

	memset(err, 0x55, sizeof(err));
	if (cgroup_setting_parse(argc, argv, &s, &mask, err, sizeof(err))) {
		check_msg(err, sizeof(err));
	} else {
		if (!mask)
			abort();
		/* What is written reads back as the same setting. */
		if (cgroup_merge_parse(cgroup_merge_text(s.merge), &again.merge) ||
		    again.merge != s.merge)
			abort();
		if (cgroup_domain_parse(cgroup_domain_text(&s), &again) ||
		    again.domain != s.domain || strcmp(again.name, s.name))
			abort();
		if (cgroup_max_parse(cgroup_max_text(s.max_pages, buf, sizeof(buf)), &max) ||
		    max != s.max_pages)
			abort();
		cgroup_effective(&s, 1, &e);
	}
	for (int i = 0; i < argc; i++) {
		if (!cgroup_max_parse(argv[i], &max) && max > CGROUP_MAX_PAGES_LIMIT)
			abort();
		if (cgroup_domain_name_valid(argv[i]) && strlen(argv[i]) > CGROUP_DOMAIN_NAME_MAX)
			abort();
		stats_cgroup_matches(argv[i], argc > 1 ? argv[argc - 1] : "/");
	}
}

/* The words as one file's lines. */
static void join_lines(int argc, char **argv, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < argc && used < len; i++)
		used += snprintf(buf + used, len - used, "%s\n", argv[i]);
}

static void fuzz_stat(int argc, char **argv)
{
	char text[4096], path[256], state;
	struct cgroup_ksm_stat st;
	unsigned long long ticks;

	join_lines(argc, argv, text, sizeof(text));
	fake_path(path, sizeof(path), "cg/a/memory.ksm_stat");
	write_file(path, text);
	fake_path(path, sizeof(path), "cg/a");
	cgroup_ksm_stat_read(path, &st);
	state = proc_stat_parse(text, &ticks);
	if (state && !strrchr(text, ')'))
		abort();
	proc_ksm_stat_field(text, argc ? argv[0] : "", -1);
	proc_ksm_stat_field(text, "ksm_rmap_items", 0);
}

/* Does @line hold @what though no word of the command does? */
static bool said_unasked(const char *line, int argc, char **argv, const char *what)
{
	if (!strstr(line, what))
		return false;
	for (int i = 0; i < argc; i++)
		if (strstr(argv[i], what))
			return false;
	return true;
}

/* Run a command with its output captured; hold a failure to one line, no change. */
static void fuzz_cmd(int (*object)(int, char **), int argc, char **argv, bool json)
{
	static char before[8192], after[8192];
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *saved_out = stdout, *saved_err = stderr;
	int rc;

	reset_fake_files();
	snapshot(before, sizeof(before));
	stdout = open_memstream(&out, &outlen);
	stderr = open_memstream(&err, &errlen);
	if (!stdout || !stderr)
		abort();
	json_output = json;
	rc = object(argc, argv);
	json_output = false;
	fclose(stdout);
	fclose(stderr);
	stdout = saved_out;
	stderr = saved_err;
	if (rc != EXIT_OK) {
		const char *line = json ? out : err;
		size_t len = json ? outlen : errlen;

		snapshot(after, sizeof(after));
		if (strcmp(before, after)) {
			fprintf(stderr, "a failed command (status %d) changed files:\n%s\n%s\n",
				rc, before, after);
			abort();
		}
		/* One line, and nothing on the other stream. */
		if (len < 2 || memchr(line, '\n', len) != line + len - 1 ||
		    (json ? errlen : outlen) ||
		    strncmp(line, json ? "{\"error\":" : "ksmctl: ", json ? 9 : 8) ||
		    said_unasked(line, argc, argv, "(null)") ||
		    said_unasked(line, argc, argv, "Unknown error")) {
			fprintf(stderr, "a failed command (status %d) said:\nstdout: %s\nstderr: %s\n",
				rc, out, err);
			abort();
		}
	}
	free(out);
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *words[MAX_WORDS + 1];
	int n;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = split(text, words);
	words[n] = NULL;
	if (!strcmp(words[0], "args"))
		fuzz_args(n - 1, words + 1);
	else if (!strcmp(words[0], "knob"))
		fuzz_knob(n - 1, words + 1);
	else if (!strcmp(words[0], "cgroup"))
		fuzz_cgroup(n - 1, words + 1);
	else if (!strcmp(words[0], "stat"))
		fuzz_stat(n - 1, words + 1);
	else if (!strcmp(words[0], "knob-cmd"))
		fuzz_cmd(do_knob, n - 1, words + 1, false);
	else if (!strcmp(words[0], "cgroup-cmd"))
		fuzz_cmd(do_cgroup, n - 1, words + 1, false);
	else if (!strcmp(words[0], "json-cmd") && n > 1)
		fuzz_cmd(!strcmp(words[1], "knob") ? do_knob : do_cgroup, n - 2, words + 2, true);
	free(text);
	return 0;
}
