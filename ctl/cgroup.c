// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl cgroup: KSM settings per cgroup (merge on/off, merge domain, cap),
 * kept by the cgroup policy (bpf/cgroup.bpf.c, built into ksmctl and loaded
 * by the first `cgroup set`) in its settings map, pinned at
 * /sys/fs/bpf/ksm/policy_maps/settings. Setting merge=on or off also applies
 * it at once to the processes already in the cgroup's subtree, through a
 * syscall program (bpf/ksm_enroll.bpf.c); the policy's tracing programs
 * apply it to processes moved in later, fork and exec keep it.
 */
#define _XOPEN_SOURCE 700
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup_settings.h"
#include "ksm_cgroup.h"
#include "ksm_cgroup_policy.skel.h"
#include "ksm_enroll.skel.h"
#include "ksmctl.h"

#define CGROUP2_ROOT "/sys/fs/cgroup"
#define CGROUP2_SUPER_MAGIC 0x63677270
#define SETTINGS_PIN "policy_maps/settings"
#define POLICY_NAME "cgroup"

struct cgroup_ref {
	char path[CGROUP_PATH_LEN];	/* under the cgroup2 root: "/a/b" */
	char dir[PATH_MAX];
	__u64 id;
};

static int resolve_cgroup(const char *arg, struct cgroup_ref *c)
{
	const char *rel = arg;
	struct statfs fs;
	struct stat st;

	if (!strncmp(arg, CGROUP2_ROOT, strlen(CGROUP2_ROOT)))
		rel = arg + strlen(CGROUP2_ROOT);
	while (*rel == '/')
		rel++;
	snprintf(c->path, sizeof(c->path), "/%s", rel);
	while (strlen(c->path) > 1 && c->path[strlen(c->path) - 1] == '/')
		c->path[strlen(c->path) - 1] = '\0';
	snprintf(c->dir, sizeof(c->dir), "%s%s", CGROUP2_ROOT, c->path);
	if (stat(c->dir, &st) || !S_ISDIR(st.st_mode) || statfs(c->dir, &fs) ||
	    fs.f_type != CGROUP2_SUPER_MAGIC)
		return fail(EXIT_USAGE, "cgroup: %s: not a cgroup (v2) directory under %s", arg,
			    CGROUP2_ROOT);
	c->id = st.st_ino;
	return 0;
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
	snprintf(found_path, found_len, "%s", path[strlen(CGROUP2_ROOT)] ?
		 path + strlen(CGROUP2_ROOT) : "/");
	return 1;
}

void cgroup_path_of_id(unsigned long long id, char *buf, size_t len)
{
	wanted_id = id;
	found_path = buf;
	found_len = len;
	if (nftw(CGROUP2_ROOT, find_cgroup, 16, FTW_PHYS | FTW_MOUNT) != 1)
		snprintf(buf, len, "(removed cgroup %llu)", id);
}

static int open_settings(int *fd)
{
	char path[PATH_MAX];

	*fd = bpf_obj_get(bpffs_path(path, sizeof(path), SETTINGS_PIN));
	return *fd < 0 ? -errno : 0;
}

/* The effective setting of the cgroup at @path (mirrors bpf/cgroup.bpf.c). */
static void effective_of(int fd, const char *path, struct ksm_cgroup_setting *eff,
			 char *from_merge, size_t len)
{
	char dir[PATH_MAX], *slash;
	struct ksm_cgroup_setting s;
	struct stat st;

	memset(eff, 0, sizeof(*eff));
	snprintf(from_merge, len, "-");
	snprintf(dir, sizeof(dir), "%s%s", CGROUP2_ROOT, strcmp(path, "/") ? path : "");
	for (;;) {
		__u64 id;

		if (!stat(dir, &st)) {
			id = st.st_ino;
			if (!bpf_map_lookup_elem(fd, &id, &s)) {
				if (!eff->merge && s.merge) {
					eff->merge = s.merge;
					snprintf(from_merge, len, "%.200s", dir[strlen(CGROUP2_ROOT)] ?
						 dir + strlen(CGROUP2_ROOT) : "/");
				}
				if (!eff->domain_kind && s.domain_kind) {
					eff->domain_kind = s.domain_kind;
					eff->domain = s.domain;
					memcpy(eff->domain_name, s.domain_name, sizeof(s.domain_name));
				}
				if (!eff->max_pages && s.max_pages)
					eff->max_pages = s.max_pages;
			}
		}
		if (strlen(dir) <= strlen(CGROUP2_ROOT))
			break;
		slash = strrchr(dir, '/');
		*slash = '\0';
	}
}

/* --- enrolling the processes already there --- */

struct enroll_args {	/* struct ksm_enroll_args of bpf/ksm_enroll.bpf.c */
	__s32 pid;
	__s32 enable;
	__s32 ret;
};

static struct ksm_enroll *enroll_skel;
static int settings_fd = -1;
static unsigned int enrolled, enroll_failed;

static void enroll_pid(int pid, bool enable)
{
	struct enroll_args args = { .pid = pid, .enable = enable };
	/* A syscall program's context is copied back into ctx_in. */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));

	if (bpf_prog_test_run_opts(bpf_program__fd(enroll_skel->progs.enroll), &opts) ||
	    (args.ret && args.ret != -ESRCH))
		enroll_failed++;
	else if (!args.ret)
		enrolled++;
}

static int enroll_cgroup(const char *dir, const struct stat *st, int type, struct FTW *ftw)
{
	struct ksm_cgroup_setting eff;
	char procs[PATH_MAX], from[8];
	FILE *f;
	int pid;

	(void)st;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	effective_of(settings_fd, dir[strlen(CGROUP2_ROOT)] ? dir + strlen(CGROUP2_ROOT) : "/",
		     &eff, from, sizeof(from));
	if (eff.merge == KSM_CGROUP_MERGE_INHERIT)
		return 0;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	f = fopen(procs, "r");
	while (f && fscanf(f, "%d", &pid) == 1)
		enroll_pid(pid, eff.merge == KSM_CGROUP_MERGE_ON);
	if (f)
		fclose(f);
	return 0;
}

/* The cgroup policy, loaded if no policy is; any other policy is in the way. */
static int ensure_policy(void)
{
	char name[80];
	const void *elf;
	size_t size;
	int err;

	if (policy_current(name, sizeof(name)))
		return fail(EXIT_UNSUPPORTED, "cgroup: this kernel has no ksm_policy_ops (it needs "
			    "the ksm-bpf series with CONFIG_KSM_BPF_POLICY=y)");
	if (!strcmp(name, POLICY_NAME))
		return 0;
	if (*name)
		return fail(EXIT_FAIL, "cgroup: policy '%s' is attached; per-cgroup settings need "
			    "the cgroup policy ('ksmctl policy unload' first)", name);
	elf = ksm_cgroup_policy__elf_bytes(&size);
	err = policy_load_builtin(elf, size, "cgroup (built into ksmctl)");
	return err;
}

static const char *merge_name(__u32 m)
{
	return m == KSM_CGROUP_MERGE_ON ? "on" : m == KSM_CGROUP_MERGE_OFF ? "off" : "inherit";
}

static void domain_text(const struct ksm_cgroup_setting *s, char *buf, size_t len)
{
	switch (s->domain_kind) {
	case KSM_CGROUP_DOMAIN_SHARED:
		snprintf(buf, len, "shared");
		break;
	case KSM_CGROUP_DOMAIN_ISOLATED:
		snprintf(buf, len, "isolated");
		break;
	case KSM_CGROUP_DOMAIN_NAMED:
		snprintf(buf, len, "%.*s", KSM_CGROUP_NAME_LEN, s->domain_name);
		break;
	default:
		snprintf(buf, len, "inherit");
	}
}

static void max_text(__u64 max, char *buf, size_t len)
{
	if (!max)
		snprintf(buf, len, "inherit");
	else if (max == KSM_CGROUP_NO_LIMIT)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%llu", (unsigned long long)max);
}

static json_object *setting_json(const struct ksm_cgroup_setting *s)
{
	json_object *o = json_object_new_object();
	char buf[64];

	json_object_object_add(o, "merge", json_object_new_string(merge_name(s->merge)));
	domain_text(s, buf, sizeof(buf));
	json_object_object_add(o, "domain", json_object_new_string(buf));
	json_object_object_add(o, "domain_id", json_object_new_uint64(s->domain));
	max_text(s->max_pages, buf, sizeof(buf));
	json_object_object_add(o, "max_pages", json_object_new_string(buf));
	return o;
}

static int do_set(int argc, char **argv)
{
	struct ksm_cgroup_setting s, old;
	struct cgroup_ref c;
	char err_msg[256];
	unsigned int mask;
	int err, fd;

	if (argc < 2)
		return usage_error("cgroup", "set wants a cgroup and at least one KEY=VALUE");
	err = resolve_cgroup(argv[0], &c);
	if (err)
		return err;
	if (cgroup_setting_parse(argc - 1, argv + 1, &s, &mask, err_msg, sizeof(err_msg)))
		return usage_error("cgroup", "%s", err_msg);
	err = require_admin("cgroup set") ?: ensure_policy();
	if (err)
		return err;
	if (open_settings(&fd))
		return fail(EXIT_FAIL, "cgroup: the cgroup policy's settings map is not pinned at "
			    "%s/%s (was it loaded by another tool?)", ksm_bpffs_dir, SETTINGS_PIN);
	if (bpf_map_lookup_elem(fd, &c.id, &old))
		memset(&old, 0, sizeof(old));
	cgroup_setting_merge(&old, &s, mask, c.id);
	if (cgroup_setting_empty(&old))
		err = bpf_map_delete_elem(fd, &c.id) && errno != ENOENT ? -errno : 0;
	else
		err = bpf_map_update_elem(fd, &c.id, &old, BPF_ANY) ? -errno : 0;
	if (err) {
		close(fd);
		return fail(EXIT_FAIL, "cgroup: cannot store the setting of %s: %s", c.path,
			    strerror(-err));
	}
	/* merge on/off holds for the processes already there too. */
	if (mask & CGROUP_SET_MERGE) {
		enroll_skel = ksm_enroll__open_and_load();
		if (!enroll_skel) {
			close(fd);
			return fail(EXIT_FAIL, "cgroup: setting stored, but the processes already "
				    "in %s cannot be enrolled: %s", c.path, strerror(errno));
		}
		settings_fd = fd;
		nftw(c.dir, enroll_cgroup, 16, FTW_PHYS | FTW_MOUNT);
		ksm_enroll__destroy(enroll_skel);
	}
	close(fd);
	if (json_output) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "cgroup", json_object_new_string(c.path));
		json_object_object_add(o, "setting", setting_json(&old));
		json_object_object_add(o, "processes_changed", json_object_new_int(enrolled));
		json_print(o);
	} else {
		char d[64], m[32];

		domain_text(&old, d, sizeof(d));
		max_text(old.max_pages, m, sizeof(m));
		printf("cgroup %s: merge=%s domain=%s max-pages=%s", c.path, merge_name(old.merge),
		       d, m);
		if (mask & CGROUP_SET_MERGE)
			printf(" (%u running processes changed)", enrolled);
		printf("\n");
	}
	if (enroll_failed)
		return fail(EXIT_FAIL, "cgroup: %u processes of %s could not be changed",
			    enroll_failed, c.path);
	return EXIT_OK;
}

static int do_show(int argc, char **argv)
{
	struct ksm_cgroup_setting s, eff;
	json_object *arr = NULL;
	struct cgroup_ref c;
	__u64 key, next, *prev = NULL;
	char path[CGROUP_PATH_LEN], from[CGROUP_PATH_LEN], d[64], m[32];
	int fd, err;

	if (argc > 1)
		return usage_error("cgroup", "show takes at most one cgroup");
	if (argc && (err = resolve_cgroup(argv[0], &c)))
		return err;
	if (open_settings(&fd)) {
		if (errno == EACCES || errno == EPERM)
			return require_admin("cgroup show");
		if (json_output)
			json_print(json_object_new_array());
		else
			printf("no cgroup settings (the cgroup policy is not loaded)\n");
		return EXIT_OK;
	}
	if (json_output)
		arr = json_object_new_array();
	else if (!argc)
		printf("%-32s %-8s %-16s %s\n", "CGROUP", "MERGE", "DOMAIN", "MAX-PAGES");
	if (argc) {
		/* One cgroup: its own setting and what applies to it. */
		if (bpf_map_lookup_elem(fd, &c.id, &s))
			memset(&s, 0, sizeof(s));
		effective_of(fd, c.path, &eff, from, sizeof(from));
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "cgroup", json_object_new_string(c.path));
			json_object_object_add(o, "id", json_object_new_uint64(c.id));
			json_object_object_add(o, "setting", setting_json(&s));
			json_object_object_add(o, "effective", setting_json(&eff));
			json_object_array_add(arr, o);
		} else {
			domain_text(&s, d, sizeof(d));
			max_text(s.max_pages, m, sizeof(m));
			printf("cgroup %s (id %llu)\n  own:       merge=%s domain=%s max-pages=%s\n",
			       c.path, (unsigned long long)c.id, merge_name(s.merge), d, m);
			domain_text(&eff, d, sizeof(d));
			max_text(eff.max_pages, m, sizeof(m));
			printf("  effective: merge=%s (from %s) domain=%s max-pages=%s\n",
			       merge_name(eff.merge), from, d, m);
		}
	}
	while (!argc && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &s))
			continue;
		cgroup_path_of_id(key, path, sizeof(path));
		if (arr) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "cgroup", json_object_new_string(path));
			json_object_object_add(o, "id", json_object_new_uint64(key));
			json_object_object_add(o, "setting", setting_json(&s));
			json_object_array_add(arr, o);
		} else {
			domain_text(&s, d, sizeof(d));
			max_text(s.max_pages, m, sizeof(m));
			printf("%-32s %-8s %-16s %s\n", path, merge_name(s.merge), d, m);
		}
	}
	close(fd);
	if (arr)
		json_print(arr);
	return EXIT_OK;
}

static void cgroup_help(void)
{
	fprintf(stderr,
		"Usage: ksmctl cgroup set PATH [merge=on|off|inherit]\n"
		"                         [domain=shared|isolated|inherit|NAME]\n"
		"                         [max-pages=N|none|inherit]\n"
		"       ksmctl cgroup show [PATH]\n"
		"\n"
		"       PATH is a cgroup v2 directory (under %s, or relative to it).\n"
		"       The settings are kept by the cgroup policy, loaded by the first 'set'.\n",
		CGROUP2_ROOT);
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
