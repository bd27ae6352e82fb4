/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl cgroup: the cgroup v2 hierarchy under cgroup_root_dir: naming a
 * cgroup, and the kernel's KSM files of a cgroup: memory.ksm_merge,
 * memory.ksm_domain, memory.ksm_max_pages and memory.ksm_stat.
 */
#ifndef KSMCTL_CGROUP_FS_H
#define KSMCTL_CGROUP_FS_H

#include <limits.h>

#include "cgroup_settings.h"

#define CGROUP_MERGE_FILE "memory.ksm_merge"
#define CGROUP_DOMAIN_FILE "memory.ksm_domain"
#define CGROUP_MAX_FILE "memory.ksm_max_pages"
#define CGROUP_STAT_FILE "memory.ksm_stat"
#define CGROUP_POLICY_FILE "memory.ksm_policy"
#define CGROUP_POLICY_EXIT_FILE "memory.ksm_policy_exit"

/* memory.ksm_stat: what the kernel counts for a cgroup's subtree. */
struct cgroup_ksm_stat {
	__u64 merging_pages;		/* pages its processes have merged */
	__u64 max_pages_denied;		/* merges its caps refused */
};

struct cgroup_ref {
	char path[CGROUP_PATH_LEN];	/* under the root: "/a/b", or "/" */
	char dir[PATH_MAX];		/* cgroup_root_dir + path */
	__u64 id;			/* the inode of dir: the cgroup id */
};

/*
 * @arg, absolute (under cgroup_root_dir) or relative to the root, into @c:
 * 0, or EXIT_USAGE with a message if it is not a cgroup v2 directory.
 */
int cgroup_resolve(const char *arg, struct cgroup_ref *c);
/* The directory of the cgroup at @path ("/a/b" under the root) into @buf. */
const char *cgroup_dir_of(const char *path, char *buf, size_t len);

/*
 * 0 when @c has the KSM files; else a message saying why not (the root
 * cgroup, the memory controller not enabled for it, a kernel without them)
 * and the exit code.
 */
int cgroup_ksm_files_check(const struct cgroup_ref *c);

/*
 * What @dir sets itself: 0, -ENOENT when it has no KSM files (all read as
 * the defaults), or another -errno.
 */
int cgroup_ksm_read(const char *dir, struct cgroup_setting *s);
/* memory.ksm_stat of @dir: 0 or -errno. */
int cgroup_ksm_stat_read(const char *dir, struct cgroup_ksm_stat *st);

/* One line of a cgroup file, without its newline; 0 or -errno. */
int cgroup_file_read(const char *dir, const char *name, char *buf, size_t len);
/* Write @value to a cgroup file as one write(); 0 or -errno (the kernel's answer). */
int cgroup_file_write(const char *dir, const char *name, const char *value);

/* What the cgroup at @path sets itself; -ENOENT when it has no KSM files. */
int cgroup_setting_of(const char *path, struct cgroup_setting *s);
/* The path of level @level of @path into @buf: level 0 is the root. */
const char *cgroup_level_path(const char *path, int level, char *buf, size_t len);
/* The effective settings of the cgroup at @path, from those of its levels. */
void cgroup_effective_of(const char *path, struct cgroup_effective *e);
/* The effective domain: "shared", "isolated" or the name (read into @named). */
const char *cgroup_effective_domain_text(const char *path, const struct cgroup_effective *e,
					 struct cgroup_setting *named);
/* The same, with where an isolated domain starts: "isolated(/a)". */
void cgroup_effective_domain_where(const char *path, const struct cgroup_effective *e,
				   char *buf, size_t len);

/*
 * Where the cgroup at @path may merge, as one label: "off", "shared",
 * "isolated(/a)" or a domain's name.
 */
void cgroup_domain_label(const char *path, char *buf, size_t len);
/*
 * The name of the BPF policy attached to the memory cgroup at @path, "" for
 * none: 0, or -errno (-ENOENT: no such file, no memory controller there).
 */
int cgroup_policy_of(const char *path, char *buf, size_t len);

/* The path under the cgroup2 root of a cgroup id, or "(removed cgroup ID)". */
void cgroup_path_of_id(unsigned long long id, char *buf, size_t len);

/* Every cgroup directory, @fn(path under the root, arg); stops when it returns non-zero. */
int cgroup_walk(int (*fn)(const char *path, void *arg), void *arg);
/*
 * @fn(pid, @arg) for each process of the cgroup directory @dir and those
 * below it, until it returns non-zero, which is returned; else 0.
 */
int cgroup_subtree_each_pid(const char *dir, int (*fn)(long pid, void *arg), void *arg);
/* Does the cgroup directory @dir, or one below it, have a process? */
bool cgroup_subtree_has_processes(const char *dir);

#endif /* KSMCTL_CGROUP_FS_H */
