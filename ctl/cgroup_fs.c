// SPDX-License-Identifier: GPL-2.0
/* ksmctl cgroup: the cgroup v2 hierarchy and its KSM files (see cgroup_fs.h). */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_fs.h"
#include "ksmctl.h"

/* @dir/@name into @path (PATH_MAX); 0 or -ENAMETOOLONG. */
static int file_path(char *path, const char *dir, const char *name)
{
	int n = snprintf(path, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool has_file(const char *dir, const char *name)
{
	char path[PATH_MAX];

	return !file_path(path, dir, name) && !access(path, F_OK);
}

/* A "." or ".." component would name another cgroup than the path says. */
static bool has_dot_component(const char *path)
{
	for (const char *p = path; p; p = strchr(p + 1, '/')) {
		size_t n = strcspn(p + 1, "/");

		if ((n == 1 && p[1] == '.') || (n == 2 && !strncmp(p + 1, "..", 2)))
			return true;
	}
	return false;
}

const char *cgroup_dir_of(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", cgroup_root_dir, strcmp(path, "/") ? path : "");
	return buf;
}

/* The path under the root of a directory under it. */
static const char *rel_path(const char *dir)
{
	const char *rel = dir + strlen(cgroup_root_dir);

	return *rel ? rel : "/";
}

int cgroup_resolve(const char *arg, struct cgroup_ref *c)
{
	size_t root_len = strlen(cgroup_root_dir);
	const char *rel = arg;
	struct stat st;
	size_t n;

	if (!strncmp(arg, cgroup_root_dir, root_len) && (!arg[root_len] || arg[root_len] == '/'))
		rel = arg + root_len;
	while (*rel == '/')
		rel++;
	if (strlen(rel) + 2 > sizeof(c->path))
		return fail(EXIT_USAGE, "cgroup %s: path too long", arg);
	snprintf(c->path, sizeof(c->path), "/%s", rel);
	for (n = strlen(c->path); n > 1 && c->path[n - 1] == '/'; n--)
		c->path[n - 1] = '\0';
	cgroup_dir_of(c->path, c->dir, sizeof(c->dir));
	/* Every cgroup v2 directory, the root too, has cgroup.controllers; v1 ones do not. */
	if (has_dot_component(c->path) || stat(c->dir, &st) ||
	    !S_ISDIR(st.st_mode) || !has_file(c->dir, "cgroup.controllers"))
		return fail(EXIT_USAGE, "cgroup %s: not a cgroup (v2) directory under %s", arg,
			    cgroup_root_dir);
	c->id = st.st_ino;
	return 0;
}

/* Whether @controller is a word of the file @name of @dir. */
static bool file_has_word(const char *dir, const char *name, const char *controller)
{
	char buf[1024], *w, *save;

	if (cgroup_file_read(dir, name, buf, sizeof(buf)))
		return false;
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!strcmp(w, controller))
			return true;
	return false;
}

/* Looking for a cgroup with the memory controller: does it have the KSM files? */
static int memcg_lacks_ksm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	if (type != FTW_D || !ftw->level || !has_file(path, "memory.current"))
		return 0;
	return has_file(path, CGROUP_MERGE_FILE) ? 1 : 2;
}

int cgroup_ksm_files_check(const struct cgroup_ref *c)
{
	char parent[PATH_MAX], *slash;

	if (!strcmp(c->path, "/"))
		return fail(EXIT_USAGE, "cgroup /: the root cgroup has no KSM settings (%s and %s "
			    "are in the cgroups below it)", CGROUP_MERGE_FILE, CGROUP_DOMAIN_FILE);
	if (has_file(c->dir, CGROUP_MERGE_FILE) && has_file(c->dir, CGROUP_DOMAIN_FILE))
		return 0;
	/* The memory controller is there but not the files, here or anywhere else. */
	if (has_file(c->dir, "memory.current") ||
	    nftw(cgroup_root_dir, memcg_lacks_ksm, 16, FTW_PHYS | FTW_MOUNT) == 2)
		return fail(EXIT_UNSUPPORTED, "cgroup: this kernel has no per-cgroup KSM settings "
			    "(no %s: it needs the ksm-bpf series)", CGROUP_MERGE_FILE);
	snprintf(parent, sizeof(parent), "%s", c->dir);
	slash = strrchr(parent, '/');
	*slash = '\0';
	if (!file_has_word(parent, "cgroup.controllers", "memory"))
		return fail(EXIT_FAIL, "cgroup %s: the memory controller is not enabled for it (it is "
			    "not in %s/cgroup.controllers: enable it in the cgroups above first)",
			    c->path, parent);
	return fail(EXIT_FAIL, "cgroup %s: the memory controller is not enabled for it (add "
		    "+memory to %s/cgroup.subtree_control)", c->path, parent);
}

int cgroup_file_read(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	int err;

	if (file_path(path, dir, name))
		return -ENAMETOOLONG;
	err = file_read_text(path, buf, len);
	if (!err)
		buf[strcspn(buf, "\n")] = '\0';
	return err;
}

int cgroup_file_write(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX];

	if (file_path(path, dir, name))
		return -ENAMETOOLONG;
	return file_write_text(path, value);
}

int cgroup_ksm_read(const char *dir, struct cgroup_setting *s)
{
	char merge[32], domain[CGROUP_DOMAIN_NAME_MAX + 8], max[32];
	int err;

	memset(s, 0, sizeof(*s));
	err = cgroup_file_read(dir, CGROUP_MERGE_FILE, merge, sizeof(merge)) ?:
	      cgroup_file_read(dir, CGROUP_DOMAIN_FILE, domain, sizeof(domain)) ?:
	      cgroup_file_read(dir, CGROUP_MAX_FILE, max, sizeof(max));
	if (err)
		return err;
	if (cgroup_merge_parse(merge, &s->merge) || cgroup_domain_parse(domain, s) ||
	    cgroup_max_parse(max, &s->max_pages))
		return -EINVAL;
	return 0;
}

int cgroup_ksm_stat_read(const char *dir, struct cgroup_ksm_stat *st)
{
	char path[PATH_MAX], key[64];
	unsigned long long v;
	int err = 0, found = 0;
	FILE *f;

	if (file_path(path, dir, CGROUP_STAT_FILE))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(st, 0, sizeof(*st));
	/* Keys with text values (merge, domain) do not scan as numbers. */
	while (fscanf(f, "%63s", key) == 1) {
		if (fscanf(f, "%llu", &v) != 1) {
			if (fscanf(f, "%*s") == EOF)
				break;
			continue;
		}
		if (!strcmp(key, "merging_pages"))
			st->merging_pages = v, found++;
		else if (!strcmp(key, "max_pages_denied"))
			st->max_pages_denied = v, found++;
	}
	if (ferror(f))
		err = -EIO;
	fclose(f);
	return err ?: found == 2 ? 0 : -EINVAL;
}

static int (*walk_fn)(const char *path, void *arg);
static void *walk_arg;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_D ? walk_fn(rel_path(path), walk_arg) : 0;
}

int cgroup_walk(int (*fn)(const char *path, void *arg), void *arg)
{
	walk_fn = fn;
	walk_arg = arg;
	return nftw(cgroup_root_dir, walk_one, 16, FTW_PHYS | FTW_MOUNT);
}

/* cgroup id -> path: the id is the inode of the cgroup's directory. */
static __u64 wanted_id;
static char *found_path;
static size_t found_len;

static int find_cgroup(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D || st->st_ino != wanted_id)
		return 0;
	snprintf(found_path, found_len, "%s", rel_path(path));
	return 1;
}

void cgroup_path_of_id(unsigned long long id, char *buf, size_t len)
{
	wanted_id = id;
	found_path = buf;
	found_len = len;
	if (nftw(cgroup_root_dir, find_cgroup, 16, FTW_PHYS | FTW_MOUNT) != 1)
		snprintf(buf, len, "(removed cgroup %llu)", id);
}
