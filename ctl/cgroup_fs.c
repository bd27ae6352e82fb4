// SPDX-License-Identifier: GPL-2.0
/* ksmctl cgroup: the cgroup v2 hierarchy and its KSM files (see cgroup_fs.h). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
static int memcg_lacks_ksm(const char *path, void *arg)
{
	char dir[PATH_MAX];

	(void)arg;
	cgroup_dir_of(path, dir, sizeof(dir));
	if (!strcmp(path, "/") || !has_file(dir, "memory.current"))
		return 0;
	return has_file(dir, CGROUP_MERGE_FILE) ? 1 : 2;
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
	    cgroup_walk(memcg_lacks_ksm, NULL) == 2)
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

/* @fn on the cgroup directory @dir (a buffer of @len) and every one below it. */
static int walk_from(char *dir, size_t len, int (*fn)(const char *path, void *arg), void *arg)
{
	size_t n = strlen(dir);
	struct dirent *d;
	int ret;
	DIR *dp;

	ret = fn(rel_path(dir), arg);
	if (ret)
		return ret;
	dp = opendir(dir);
	while (dp && !ret && (d = readdir(dp))) {
		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		if (snprintf(dir + n, len - n, "/%s", d->d_name) < (int)(len - n))
			ret = walk_from(dir, len, fn, arg);
		dir[n] = '\0';
	}
	if (dp)
		closedir(dp);
	return ret;
}

int cgroup_walk(int (*fn)(const char *path, void *arg), void *arg)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", cgroup_root_dir);
	return walk_from(dir, sizeof(dir), fn, arg);
}

struct pid_walk {
	int (*fn)(long pid, void *arg);
	void *arg;
};

/* The pids the cgroup at @path lists, to @w->fn until it returns non-zero. */
static int each_pid_of(const char *path, void *arg)
{
	struct pid_walk *w = arg;
	char dir[PATH_MAX], file[PATH_MAX + sizeof("/cgroup.procs")];
	long pid;
	int ret = 0;
	FILE *f;

	snprintf(file, sizeof(file), "%s/cgroup.procs", cgroup_dir_of(path, dir, sizeof(dir)));
	f = fopen(file, "re");
	if (!f)
		return 0;
	while (!ret && fscanf(f, "%ld", &pid) == 1)
		ret = w->fn(pid, w->arg);
	fclose(f);
	return ret;
}

int cgroup_subtree_each_pid(const char *dir, int (*fn)(long pid, void *arg), void *arg)
{
	struct pid_walk w = { fn, arg };
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	return walk_from(buf, sizeof(buf), each_pid_of, &w);
}

static int any_pid(long pid, void *arg)
{
	(void)pid;
	(void)arg;
	return 1;
}

bool cgroup_subtree_has_processes(const char *dir)
{
	return cgroup_subtree_each_pid(dir, any_pid, NULL) == 1;
}

/* A cgroup's id is the inode number of its directory. */
struct id_search {
	__u64 id;
	char *buf;
	size_t len;
};

static int match_id(const char *path, void *arg)
{
	struct id_search *s = arg;
	char dir[PATH_MAX];
	struct stat st;

	if (stat(cgroup_dir_of(path, dir, sizeof(dir)), &st) || st.st_ino != s->id)
		return 0;
	snprintf(s->buf, s->len, "%s", path);
	return 1;
}

/*
 * The kernel finds a cgroup by its id at once: the id is its kernfs file
 * handle (FILEID_KERNFS). That needs CAP_DAC_READ_SEARCH; 0 or -errno.
 */
static int path_by_handle(__u64 id, char *buf, size_t len)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + sizeof(__u64)];
	} h;
	char link[64], path[PATH_MAX];
	int root, fd, err = 0;
	ssize_t n;

	h.fh.handle_bytes = sizeof(__u64);
	h.fh.handle_type = 0xfe;	/* FILEID_KERNFS */
	memcpy(h.fh.f_handle, &id, sizeof(id));
	root = open(cgroup_root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	fd = open_by_handle_at(root, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		err = -errno;
	close(root);
	if (err)
		return err;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	path[n] = '\0';
	if (strncmp(path, cgroup_root_dir, strlen(cgroup_root_dir)))
		return -ENOENT;		/* another cgroup namespace's */
	snprintf(buf, len, "%s", rel_path(path));
	return 0;
}

void cgroup_path_of_id(unsigned long long id, char *buf, size_t len)
{
	struct id_search s = { .id = id, .buf = buf, .len = len };

	/* Without the handle (no capability, a test's plain directories), search. */
	if (path_by_handle(id, buf, len) && cgroup_walk(match_id, &s) != 1)
		snprintf(buf, len, "(removed cgroup %llu)", id);
}

int cgroup_policy_of(const char *path, char *buf, size_t len)
{
	char dir[PATH_MAX];
	int err = cgroup_file_read(cgroup_dir_of(path, dir, sizeof(dir)), CGROUP_POLICY_FILE, buf,
				   len);

	if (!err && !strcmp(buf, "none"))
		*buf = '\0';
	return err;
}

/* What the cgroup at @path sets itself; -ENOENT when it has no KSM files. */
int cgroup_setting_of(const char *path, struct cgroup_setting *s)
{
	char dir[PATH_MAX];

	return cgroup_ksm_read(cgroup_dir_of(path, dir, sizeof(dir)), s);
}

/* The number of levels of @path, the root included: "/" 1, "/a/b" 3. */
static int cgroup_path_depth(const char *path)
{
	int n = 1;

	for (const char *p = path; strcmp(path, "/") && *p; p++)
		n += *p == '/';
	return n;
}

/* The path of level @level of @path into @buf: level 0 is the root. */
const char *cgroup_level_path(const char *path, int level, char *buf, size_t len)
{
	const char *p = path;

	if (!level) {
		snprintf(buf, len, "/");
		return buf;
	}
	for (int i = 0; i < level && p; i++)
		p = strchr(p + 1, '/');
	snprintf(buf, len, "%.*s", p ? (int)(p - path) : (int)strlen(path), path);
	return buf;
}

/* The effective settings of the cgroup at @path, from those of its levels. */
void cgroup_effective_of(const char *path, struct cgroup_effective *e)
{
	int n = cgroup_path_depth(path);
	struct cgroup_setting *lv = calloc(n, sizeof(*lv));
	char sub[CGROUP_PATH_LEN];

	if (!lv) {
		memset(e, 0, sizeof(*e));
		e->merge_from = e->domain_from = e->max_from = -1;
		e->domain = CGROUP_DOMAIN_SHARED;
		return;
	}
	for (int i = 0; i < n; i++)
		cgroup_setting_of(cgroup_level_path(path, i, sub, sizeof(sub)), &lv[i]);
	cgroup_effective(lv, n, e);
	free(lv);
}

/* The effective domain: "shared", "isolated" or the name. */
const char *cgroup_effective_domain_text(const char *path, const struct cgroup_effective *e,
				   struct cgroup_setting *named)
{
	char sub[CGROUP_PATH_LEN];

	if (e->domain != CGROUP_DOMAIN_NAMED)
		return e->domain == CGROUP_DOMAIN_ISOLATED ? "isolated" : "shared";
	cgroup_setting_of(cgroup_level_path(path, e->domain_from, sub, sizeof(sub)), named);
	return named->name;
}

/* "isolated(/a)": where an isolated domain starts, for the text output. */
void cgroup_effective_domain_where(const char *path, const struct cgroup_effective *e, char *buf,
			     size_t len)
{
	char sub[CGROUP_PATH_LEN];
	struct cgroup_setting named;

	if (e->domain == CGROUP_DOMAIN_ISOLATED)
		snprintf(buf, len, "isolated(%s)", cgroup_level_path(path, e->domain_from, sub, sizeof(sub)));
	else
		snprintf(buf, len, "%s", cgroup_effective_domain_text(path, e, &named));
}

void cgroup_domain_label(const char *path, char *buf, size_t len)
{
	struct cgroup_effective eff;

	cgroup_effective_of(path, &eff);
	if (eff.merge == CGROUP_MERGE_OFF)
		snprintf(buf, len, "off");
	else
		cgroup_effective_domain_where(path, &eff, buf, len);
}
