// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl knob: the files of /sys/kernel/mm/ksm/. Values are checked against
 * what the kernel accepts before anything is written, and a set of several
 * knobs is applied whole or not at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "knob.h"
#include "ksm_sysfs.h"
#include "ksmctl.h"

static const char *const run_values[] = { "0", "1", "2", NULL };
static const char *const bool_values[] = { "0", "1", NULL };
static const char *const advisor_modes[] = { "none", "scan-time", NULL };

/* What mm/ksm.c accepts for each writable knob; everything else is read-only. */
static const struct knob_def knobs[] = {
	{ "run", KNOB_CHOICE, 0, 0, run_values,
	  "0 stop ksmd, 1 run it, 2 stop and unmerge everything" },
	{ "pages_to_scan", KNOB_NUMBER, 1, UINT_MAX, NULL, "pages per batch" },
	{ "sleep_millisecs", KNOB_NUMBER, 0, UINT_MAX, NULL, "sleep between batches" },
	{ "max_page_sharing", KNOB_NUMBER, 2, INT_MAX, NULL,
	  "most pages sharing one ksm page" },
	{ "merge_across_nodes", KNOB_CHOICE, 0, 0, bool_values, "merge across NUMA nodes" },
	{ "use_zero_pages", KNOB_CHOICE, 0, 0, bool_values, "merge empty pages with the zero page" },
	{ "smart_scan", KNOB_CHOICE, 0, 0, bool_values, "skip pages that never merge" },
	{ "stable_node_chains_prune_millisecs", KNOB_NUMBER, 0, UINT_MAX, NULL,
	  "interval of stale stable node pruning" },
	{ "advisor_mode", KNOB_CHOICE, 0, 0, advisor_modes, "automatic pages_to_scan" },
	{ "advisor_max_cpu", KNOB_NUMBER, 1, 100, NULL, "advisor: ksmd CPU percent ceiling" },
	{ "advisor_min_pages_to_scan", KNOB_NUMBER, 1, ULONG_MAX, NULL, "advisor: lowest batch" },
	{ "advisor_max_pages_to_scan", KNOB_NUMBER, 1, ULONG_MAX, NULL, "advisor: highest batch" },
	{ "advisor_target_scan_time", KNOB_NUMBER, 1, ULONG_MAX, NULL,
	  "advisor: seconds per full scan" },
	{ .name = NULL },
};

const struct knob_def *knob_find(const char *name)
{
	const struct knob_def *k;

	for (k = knobs; k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

int knob_validate(const char *name, const char *value, char *err, size_t errlen)
{
	const struct knob_def *k = knob_find(name);
	unsigned long long v;
	char *end;
	int i;

	if (!k) {
		snprintf(err, errlen, "'%s' is not a writable KSM knob", name);
		return -1;
	}
	if (k->kind == KNOB_CHOICE) {
		for (i = 0; k->choices[i]; i++)
			if (!strcmp(value, k->choices[i]))
				return 0;
		snprintf(err, errlen, "%s: invalid value '%s' (one of:", name, value);
		for (i = 0; k->choices[i]; i++)
			snprintf(err + strlen(err), errlen - strlen(err), " %s", k->choices[i]);
		snprintf(err + strlen(err), errlen - strlen(err), ")");
		return -1;
	}
	/* Digits alone, as the kernel's kstrtoul() (strtoull() skips spaces, takes a sign). */
	errno = 0;
	v = strtoull(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end || errno || v < k->min || v > k->max) {
		snprintf(err, errlen, "%s: invalid value '%s' (a whole number from %llu to %llu)",
			 name, value, k->min, k->max);
		return -1;
	}
	return 0;
}

/* A value as JSON: a number when it is one. */
static json_object *json_value(const char *value)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (*value && !*end && !errno)
		return json_object_new_int64(v);
	return json_object_new_string(value);
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int no_ksm(void)
{
	return fail(EXIT_UNSUPPORTED, "knob: %s: %s (a kernel without CONFIG_KSM?)",
		    ksm_sysfs_dir, strerror(errno));
}

static int do_list(int argc, char **argv)
{
	char *names[128], value[256];
	json_object *arr = NULL;
	struct dirent *d;
	int n = 0, i;
	DIR *dir;

	if (argc)
		return args_parse("knob", "list", NULL, 0, argc, argv);
	dir = opendir(ksm_sysfs_dir);
	if (!dir)
		return no_ksm();
	/* Only now: the returns above would leak it. */
	if (json_output)
		arr = json_object_new_array();
	while ((d = readdir(dir)) && n < 128)
		if (d->d_name[0] != '.')
			names[n++] = strdup(d->d_name);
	closedir(dir);
	qsort(names, n, sizeof(names[0]), names_cmp);
	for (i = 0; i < n; i++) {
		bool writable = knob_find(names[i]) != NULL;

		if (knob_read(names[i], value, sizeof(value)))
			snprintf(value, sizeof(value), "?");
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(names[i]));
			json_object_object_add(o, "value", json_value(value));
			json_object_object_add(o, "writable", json_object_new_boolean(writable));
			json_object_array_add(arr, o);
		} else {
			printf("%-36s %-12s%s\n", names[i], value, writable ? "" : " (read-only)");
		}
		free(names[i]);
	}
	if (arr)
		json_print(arr);
	return EXIT_OK;
}

/* The value of the knob @name into @value, or the error said. */
static int get_one(const char *name, char *value, size_t len)
{
	int err;

	if (!*name || strchr(name, '/') || name[0] == '.')
		return usage_error("knob", "'%s' is not a KSM knob", name);
	err = knob_read(name, value, len);
	if (err == -ENOENT) {
		if (access(ksm_sysfs_dir, F_OK))
			return no_ksm();
		return usage_error("knob", "'%s' is not a KSM knob", name);
	}
	if (err)
		return fail(EXIT_FAIL, "knob: cannot read %s: %s", name, strerror(-err));
	return 0;
}

static int do_get(int argc, char **argv)
{
	json_object *obj;
	char (*values)[256];
	int i, err = 0;

	if (!argc)
		return do_list(0, argv);
	/* Every knob read before anything is printed: an error is all there is. */
	values = calloc(argc, sizeof(*values));
	if (!values)
		return fail(EXIT_FAIL, "knob: out of memory");
	for (i = 0; i < argc && !err; i++)
		err = get_one(argv[i], values[i], sizeof(values[i]));
	if (err) {
		free(values);
		return err;
	}
	obj = json_output ? json_object_new_object() : NULL;
	for (i = 0; i < argc; i++) {
		if (obj)
			json_object_object_add(obj, argv[i], json_value(values[i]));
		else if (argc == 1)
			printf("%s\n", values[i]);
		else
			printf("%s %s\n", argv[i], values[i]);
	}
	if (obj)
		json_print(obj);
	free(values);
	return EXIT_OK;
}

static int do_set(int argc, char **argv)
{
	char old[64][64], err[256];
	int i, n, ret;

	if (!argc || argc % 2)
		return usage_error("knob", "set wants NAME VALUE pairs");
	if (argc / 2 > 64)
		return usage_error("knob", "too many knobs at once");
	/* Validate everything first: nothing is written if one value is bad. */
	for (i = 0; i < argc; i += 2) {
		if (knob_validate(argv[i], argv[i + 1], err, sizeof(err)))
			return usage_error("knob", "%s", err);
		for (n = 0; n < i; n += 2)
			if (!strcmp(argv[n], argv[i]))
				return usage_error("knob", "'%s' given twice", argv[i]);
	}
	ret = require_admin("knob set");
	if (ret)
		return ret;
	if (access(ksm_sysfs_dir, F_OK))
		return no_ksm();
	for (i = 0; i < argc; i += 2)
		if (knob_read(argv[i], old[i / 2], sizeof(old[0])))
			return fail(EXIT_UNSUPPORTED, "knob: this kernel has no %s", argv[i]);
	for (n = 0; n < argc; n += 2) {
		ret = knob_write(argv[n], argv[n + 1]);
		if (ret)
			break;
	}
	if (!ret) {
		if (json_output)
			json_print(json_object_new_object());
		return EXIT_OK;
	}
	/* The kernel refused one: put back those already written. */
	for (i = 0; i < n; i += 2)
		knob_write(argv[i], old[i / 2]);
	return fail(EXIT_FAIL, "knob: the kernel refused %s=%s: %s%s", argv[n], argv[n + 1],
		    strerror(-ret), n ? " (the knobs set before it were restored)" : "");
}

static void knob_help(void)
{
	fprintf(stderr,
		"Usage: ksmctl knob [list]\n"
		"       ksmctl knob get NAME...\n"
		"       ksmctl knob set NAME VALUE [NAME VALUE]...\n"
		"\n"
		"       The files of %s. 'set' checks every value before writing\n"
		"       any, and restores them all if the kernel refuses one.\n"
		"       Writable knobs:\n", ksm_sysfs_dir);
	for (const struct knob_def *k = knobs; k->name; k++)
		fprintf(stderr, "         %-36s %s\n", k->name, k->help);
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	knob_help();
	return EXIT_OK;
}

int do_knob(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_list },
		{ "get", do_get },
		{ "set", do_set },
		{ "help", do_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, "knob", argc, argv);
}
