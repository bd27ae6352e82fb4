// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl cgroup: KSM settings per cgroup.
 *
 * merge, domain and max-pages are kernel state, memory.ksm_merge,
 * memory.ksm_domain and memory.ksm_max_pages of the cgroup (cgroup_fs.c):
 * ksmctl reads and writes them, no BPF is involved and they hold whatever
 * policy is attached, or none. A `set` checks everything before it writes
 * anything, and puts back what it wrote if a later write fails.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_fs.h"
#include "cgroup_settings.h"
#include "ksmctl.h"

static json_object *path_or_null(const char *path, int level)
{
	char buf[CGROUP_PATH_LEN];

	return level < 0 ? NULL : json_object_new_string(cgroup_level_path(path, level, buf, sizeof(buf)));
}

static json_object *setting_json(const struct cgroup_setting *s)
{
	json_object *o = json_object_new_object();
	char buf[32];

	json_object_object_add(o, "merge", json_object_new_string(cgroup_merge_text(s->merge)));
	json_object_object_add(o, "domain", json_object_new_string(cgroup_domain_text(s)));
	json_object_object_add(o, "max_pages", json_object_new_string(
				       cgroup_max_text(s->max_pages, buf, sizeof(buf))));
	return o;
}

/* memory.ksm_stat of the cgroup at @path, or null if it cannot be read. */
static json_object *stat_json(const char *path)
{
	struct cgroup_ksm_stat st;
	char dir[PATH_MAX];
	json_object *o;

	if (cgroup_ksm_stat_read(cgroup_dir_of(path, dir, sizeof(dir)), &st))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "merging_pages", json_object_new_uint64(st.merging_pages));
	json_object_object_add(o, "max_pages_denied", json_object_new_uint64(st.max_pages_denied));
	return o;
}

/* The effective merge: "default" when no cgroup decides (the processes do). */
static const char *eff_merge_text(const struct cgroup_effective *e)
{
	return e->merge == CGROUP_MERGE_INHERIT ? "default" : cgroup_merge_text(e->merge);
}

static json_object *effective_json(const char *path, const struct cgroup_effective *e)
{
	json_object *o = json_object_new_object();
	struct cgroup_setting named;
	char buf[32];

	json_object_object_add(o, "merge", json_object_new_string(eff_merge_text(e)));
	json_object_object_add(o, "merge_from", path_or_null(path, e->merge_from));
	json_object_object_add(o, "domain", json_object_new_string(cgroup_effective_domain_text(path, e, &named)));
	json_object_object_add(o, "domain_from", path_or_null(path, e->domain_from));
	json_object_object_add(o, "max_pages", json_object_new_string(
				       cgroup_max_text(e->max_pages, buf, sizeof(buf))));
	json_object_object_add(o, "max_pages_from", path_or_null(path, e->max_from));
	return o;
}

static json_object *cgroup_json(const char *path, __u64 id, const struct cgroup_setting *s,
				bool ksm_files)
{
	json_object *o = json_object_new_object();
	struct cgroup_effective e;

	cgroup_effective_of(path, &e);
	json_object_object_add(o, "cgroup", json_object_new_string(path));
	json_object_object_add(o, "id", json_object_new_uint64(id));
	json_object_object_add(o, "ksm_files", json_object_new_boolean(ksm_files));
	json_object_object_add(o, "setting", setting_json(s));
	json_object_object_add(o, "effective", effective_json(path, &e));
	json_object_object_add(o, "stat", stat_json(path));
	return o;
}

/* --- show --- */

/* "  merged:    N pages (M merges refused by caps)" from memory.ksm_stat. */
static void show_stat(const char *path)
{
	struct cgroup_ksm_stat st;
	char dir[PATH_MAX];

	if (!cgroup_ksm_stat_read(cgroup_dir_of(path, dir, sizeof(dir)), &st))
		printf("  merged:    %llu pages (%llu merges refused by caps)\n",
		       (unsigned long long)st.merging_pages,
		       (unsigned long long)st.max_pages_denied);
}

static void show_one(const struct cgroup_ref *c, json_object *arr)
{
	char sub[CGROUP_PATH_LEN], max[32], dom[CGROUP_PATH_LEN + 16];
	struct cgroup_effective e;
	struct cgroup_setting s;
	bool files = cgroup_setting_of(c->path, &s) != -ENOENT;

	if (arr) {
		json_object_array_add(arr, cgroup_json(c->path, c->id, &s, files));
		return;
	}
	cgroup_effective_of(c->path, &e);
	printf("cgroup %s (id %llu)\n", c->path, (unsigned long long)c->id);
	printf("  own:       merge=%s domain=%s max-pages=%s\n", cgroup_merge_text(s.merge),
	       cgroup_domain_text(&s), cgroup_max_text(s.max_pages, max, sizeof(max)));
	printf("  effective: merge=%s", eff_merge_text(&e));
	if (e.merge_from >= 0)
		printf(" (from %s)", cgroup_level_path(c->path, e.merge_from, sub, sizeof(sub)));
	cgroup_effective_domain_where(c->path, &e, dom, sizeof(dom));
	printf(" domain=%s", dom);
	if (e.domain == CGROUP_DOMAIN_NAMED)
		printf(" (from %s)", cgroup_level_path(c->path, e.domain_from, sub, sizeof(sub)));
	printf(" max-pages=%s", cgroup_max_text(e.max_pages, max, sizeof(max)));
	if (e.max_from >= 0)
		printf(" (from %s)", cgroup_level_path(c->path, e.max_from, sub, sizeof(sub)));
	printf("\n");
	show_stat(c->path);
	if (!files && strcmp(c->path, "/"))
		printf("  (no %s here: the memory controller is not enabled for it)\n",
		       CGROUP_MERGE_FILE);
}

/* A row for every cgroup that sets something. */
static int show_row(const char *path, void *arg)
{
	char max[32], emax[32], dom[CGROUP_PATH_LEN + 16];
	json_object *arr = arg;
	struct cgroup_effective e;
	struct cgroup_setting s;
	char dir[PATH_MAX];
	struct stat st;
	int err = cgroup_setting_of(path, &s);

	if (cgroup_setting_is_default(&s) || stat(cgroup_dir_of(path, dir, sizeof(dir)), &st))
		return 0;
	if (arr) {
		json_object_array_add(arr, cgroup_json(path, st.st_ino, &s, err != -ENOENT));
		return 0;
	}
	cgroup_effective_of(path, &e);
	cgroup_effective_domain_where(path, &e, dom, sizeof(dom));
	printf("%-32s %-8s %-16s %-10s merge=%s domain=%s max-pages=%s\n", path,
	       cgroup_merge_text(s.merge), cgroup_domain_text(&s),
	       cgroup_max_text(s.max_pages, max, sizeof(max)),
	       eff_merge_text(&e), dom, cgroup_max_text(e.max_pages, emax, sizeof(emax)));
	return 0;
}

static int do_show(int argc, char **argv)
{
	json_object *arr = NULL;
	struct cgroup_ref c;
	int err;

	if (argc > 1)
		return usage_error("cgroup", "show takes at most one cgroup");
	if (argc && (err = cgroup_resolve(argv[0], &c)))
		return err;
	if (json_output)
		arr = json_object_new_array();
	if (argc) {
		show_one(&c, arr);
	} else {
		if (!arr)
			printf("%-32s %-8s %-16s %-10s %s\n", "CGROUP", "MERGE", "DOMAIN", "MAX-PAGES",
			       "EFFECTIVE");
		cgroup_walk(show_row, arr);
	}
	if (arr)
		json_print(arr);
	return EXIT_OK;
}

/* --- set --- */

/* The kernel files a `set` writes, in this order. */
static const struct {
	unsigned int bit;
	const char *file, *key;
} set_files[] = {
	{ CGROUP_SET_MERGE, CGROUP_MERGE_FILE, "merge" },
	{ CGROUP_SET_DOMAIN, CGROUP_DOMAIN_FILE, "domain" },
	{ CGROUP_SET_MAX, CGROUP_MAX_FILE, "max-pages" },
};
#define N_SET_FILES (sizeof(set_files) / sizeof(set_files[0]))

/* What a `set` changed, to put back if a later write fails. */
struct undo {
	const struct cgroup_ref *c;
	char old[N_SET_FILES][CGROUP_DOMAIN_NAME_MAX + 8];	/* "" when not written */
};

/* Put back what was changed; for the message, what could not be. */
static const char *undo_writes(const struct undo *u, char *buf, size_t len)
{
	int err = 0;

	for (int i = N_SET_FILES - 1; i >= 0; i--)
		if (*u->old[i])
			err = cgroup_file_write(u->c->dir, set_files[i].file, u->old[i]) ?: err;
	if (err)
		snprintf(buf, len, " (and putting back the old setting failed: %s)", strerror(-err));
	else
		snprintf(buf, len, " (nothing changed)");
	return buf;
}

/* The value of @i's key for @want, as the kernel file takes it. */
static const char *set_value(const struct cgroup_setting *want, size_t i, char *buf, size_t len)
{
	switch (set_files[i].bit) {
	case CGROUP_SET_MERGE:
		return cgroup_merge_text(want->merge);
	case CGROUP_SET_DOMAIN:
		return cgroup_domain_text(want);
	default:
		return cgroup_max_text(want->max_pages, buf, len);
	}
}

/* Write the kernel's files that @mask names, recording in @u what to put back. */
static int write_kernel_files(const struct cgroup_setting *want, unsigned int mask,
			      struct undo *u)
{
	char old[N_SET_FILES][sizeof(u->old[0])], undo_msg[128], buf[32];
	int err = 0;

	/* The old values first: nothing is written unless all can be put back. */
	for (size_t i = 0; i < N_SET_FILES && !err; i++)
		if (mask & set_files[i].bit)
			err = cgroup_file_read(u->c->dir, set_files[i].file, old[i], sizeof(old[i]));
	if (err)
		return fail(EXIT_FAIL, "cgroup %s: cannot read its KSM settings: %s", u->c->path,
			    strerror(-err));
	for (size_t i = 0; i < N_SET_FILES; i++) {
		const char *v;

		if (!(mask & set_files[i].bit))
			continue;
		v = set_value(want, i, buf, sizeof(buf));
		err = cgroup_file_write(u->c->dir, set_files[i].file, v);
		if (err) {
			undo_writes(u, undo_msg, sizeof(undo_msg));
			return fail(err == -EPERM || err == -EACCES ? EXIT_PERM : EXIT_FAIL,
				    "cgroup %s: the kernel refused %s %s: %s%s", u->c->path,
				    set_files[i].key, v, strerror(-err), undo_msg);
		}
		memcpy(u->old[i], old[i], sizeof(u->old[i]));
	}
	return 0;
}

static int do_set(int argc, char **argv)
{
	struct cgroup_setting want, now;
	struct undo u = { 0 };
	struct cgroup_ref c;
	char err_msg[256];
	unsigned int mask;
	int err;

	if (argc < 1)
		return cmd_usage_error("cgroup", "set", "wants a cgroup and what to set");
	if (cgroup_setting_parse(argc - 1, argv + 1, &want, &mask, err_msg, sizeof(err_msg)))
		return cmd_usage_error("cgroup", "set", "%s", err_msg);
	err = cgroup_resolve(argv[0], &c) ?: require_sys_admin("cgroup set") ?:
	      cgroup_ksm_files_check(&c);
	if (err)
		return err;
	u.c = &c;
	err = write_kernel_files(&want, mask, &u);
	if (err)
		return err;

	cgroup_setting_of(c.path, &now);
	if (json_output) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "cgroup", json_object_new_string(c.path));
		json_object_object_add(o, "setting", setting_json(&now));
		json_print(o);
	} else {
		char max[32];

		printf("cgroup %s: merge=%s domain=%s max-pages=%s\n", c.path,
		       cgroup_merge_text(now.merge), cgroup_domain_text(&now),
		       cgroup_max_text(now.max_pages, max, sizeof(max)));
	}
	return EXIT_OK;
}

static void cgroup_help(void)
{
	fprintf(stderr,
		"Usage: ksmctl cgroup set PATH [merge on|off|observe|inherit]\n"
		"                         [domain shared|isolated|inherit|NAME]\n"
		"                         [max-pages N|max]\n"
		"       ksmctl cgroup show [PATH]\n"
		"\n"
		"       PATH is a cgroup v2 directory (under %s, or relative to it).\n"
		"       merge, domain and max-pages are the kernel's memory.ksm_merge,\n"
		"       memory.ksm_domain and memory.ksm_max_pages (the memory controller\n"
		"       must be enabled for the cgroup).\n",
		cgroup_root_dir);
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cgroup_help();
	return EXIT_OK;
}

int do_cgroup(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_show },
		{ "set", do_set },
		{ "help", do_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, "cgroup", argc, argv);
}
