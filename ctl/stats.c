// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl stats: per-process and per-cgroup KSM statistics.
 *
 * `stats enable` loads bpf/ksm_stats.bpf.c (built into ksmctl as a skeleton)
 * and pins its maps (procs, cgroups) and links (stats/) under
 * /sys/fs/bpf/ksm/, where collection goes on without ksmctl. `stats show`
 * reads the maps and adds what only the kernel knows now: the pages a
 * process shares (/proc/PID/ksm_merging_pages) and what that saves
 * (/proc/PID/ksm_stat).
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_fs.h"
#include "ksmctl.h"
#include "ksm_stats.bpf.skel.h"
#include "stats_table.h"

#define STATS_DIR "stats"
#define PROCS_PIN "procs"
#define CGROUPS_PIN "cgroups"
#define TRACEFS "/sys/kernel/tracing"

struct show_opts {
	int pid;
	const char *cgroup;	/* under the cgroup2 root, as /proc/PID/cgroup says */
	struct cgroup_ref cgroup_ref;
	enum stats_sort sort;
	size_t top;
	unsigned int watch;
};

bool stats_enabled(void)
{
	char path[PATH_MAX];
	char link[PATH_MAX];

	bpffs_path(path, sizeof(path), PROCS_PIN);
	bpffs_path(link, sizeof(link), STATS_DIR "/process_exit");
	return !access(path, F_OK) && !access(link, F_OK);
}

/* Unpin everything `stats enable` pins; what is not there is fine. */
static void stats_unpin(void)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct dirent *d;
	DIR *dp;

	bpffs_path(dir, sizeof(dir), STATS_DIR);
	dp = opendir(dir);
	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		unlinkat(dirfd(dp), d->d_name, 0);
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
	unlink(bpffs_path(path, sizeof(path), PROCS_PIN));
	unlink(bpffs_path(path, sizeof(path), CGROUPS_PIN));
}

/* Tracepoint programs find their event through tracefs: mount it if needed. */
static int tracefs_prepare(void)
{
	if (!access(TRACEFS "/events", F_OK))
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return fail(EXIT_FAIL, "stats: cannot mount tracefs on %s: %s", TRACEFS,
			    strerror(errno));
	return 0;
}

/* Which events this kernel has: the series' own, or only upstream's. */
static int kernel_events(bool *series)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool upstream;

	if (!vmlinux)
		return fail(EXIT_UNSUPPORTED, "stats: this kernel has no BTF "
			    "(CONFIG_DEBUG_INFO_BTF), which the statistics programs need");
	*series = btf__find_by_name_kind(vmlinux, "trace_event_raw_ksm_mm_scanned",
					 BTF_KIND_STRUCT) > 0;
	upstream = btf__find_by_name_kind(vmlinux, "trace_event_raw_ksm_merge_with_ksm_page",
					  BTF_KIND_STRUCT) > 0;
	btf__free(vmlinux);
	if (!*series && !upstream)
		return fail(EXIT_UNSUPPORTED, "stats: this kernel has no ksm tracepoints (upstream "
			    "has them since Linux 6.7; CONFIG_KSM and CONFIG_TRACING)");
	return 0;
}

static int choose_programs(struct ksm_stats_bpf *skel, bool *series)
{
	int err = kernel_events(series);

	if (err)
		return err;
	bpf_program__set_autoload(skel->progs.ksm_mm_scanned, *series);
	bpf_program__set_autoload(skel->progs.ksm_merge_page, *series);
	bpf_program__set_autoload(skel->progs.ksm_cow_unshare, *series);
	bpf_program__set_autoload(skel->progs.ksm_merge_with_ksm_page_upstream, !*series);
	return 0;
}

/* Load, attach and pin; on failure nothing stays pinned. */
static int stats_start(bool *series)
{
	char path[PATH_MAX];
	struct ksm_stats_bpf *skel;
	struct bpf_program *prog;
	int err;

	if (access(ksm_sysfs_dir, F_OK))
		return fail(EXIT_UNSUPPORTED, "stats: this kernel has no KSM (%s is missing)",
			    ksm_sysfs_dir);
	err = bpffs_prepare() ?: tracefs_prepare();
	if (err)
		return err;
	skel = ksm_stats_bpf__open();
	if (!skel)
		return fail(EXIT_FAIL, "stats: cannot open the statistics programs: %s",
			    strerror(errno));
	err = choose_programs(skel, series);
	if (err)
		goto out;
	if (ksm_stats_bpf__load(skel)) {
		err = fail(EXIT_FAIL, "stats: the kernel refused the statistics programs: %s%s",
			   strerror(errno), debug_output ? "" : " (--debug shows why)");
		goto out;
	}
	/* Leftovers of an interrupted run would shadow the new maps. */
	stats_unpin();
	if (mkdir(bpffs_path(path, sizeof(path), STATS_DIR), 0700) ||
	    bpf_map__pin(skel->maps.procs, bpffs_path(path, sizeof(path), PROCS_PIN)) ||
	    bpf_map__pin(skel->maps.cgroups, bpffs_path(path, sizeof(path), CGROUPS_PIN))) {
		err = fail(EXIT_FAIL, "stats: cannot pin under %s: %s", ksm_bpffs_dir,
			   strerror(errno));
		goto out;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);
		snprintf(path, sizeof(path), "%s/%s/%s", ksm_bpffs_dir, STATS_DIR,
			 bpf_program__name(prog));
		if (!link || bpf_link__pin(link, path)) {
			err = fail(EXIT_FAIL, "stats: cannot attach %s: %s",
				   bpf_program__name(prog), strerror(errno));
			bpf_link__destroy(link);
			goto out;
		}
		bpf_link__destroy(link);	/* the pin keeps it */
	}
out:
	if (err)
		stats_unpin();
	ksm_stats_bpf__destroy(skel);
	return err;
}

int stats_enable_quiet(bool *started)
{
	bool series;
	int err;

	*started = false;
	if (stats_enabled())
		return 0;
	err = stats_start(&series);
	*started = !err;
	return err;
}

static int do_enable(int argc, char **argv)
{
	bool series = false, already = stats_enabled();
	int err;

	(void)argv;
	if (argc)
		return usage_error("stats", "enable takes no arguments");
	err = require_admin("stats enable");
	if (err)
		return err;
	if (!already) {
		err = stats_start(&series);
		if (err)
			return err;
	}
	if (json_output) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "enabled", json_object_new_boolean(true));
		json_object_object_add(o, "already", json_object_new_boolean(already));
		json_print(o);
	} else if (already) {
		printf("statistics: already enabled\n");
	} else {
		printf("statistics: enabled (%s events), maps pinned at %s/{%s,%s}\n",
		       series ? "ksm-bpf" : "upstream ksm", ksm_bpffs_dir, PROCS_PIN, CGROUPS_PIN);
	}
	return EXIT_OK;
}

static int do_disable(int argc, char **argv)
{
	bool was = stats_enabled();
	int err;

	(void)argv;
	if (argc)
		return usage_error("stats", "disable takes no arguments");
	err = require_admin("stats disable");
	if (err)
		return err;
	stats_unpin();
	if (json_output) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "enabled", json_object_new_boolean(false));
		json_object_object_add(o, "was_enabled", json_object_new_boolean(was));
		json_print(o);
	} else {
		printf("statistics: %s\n", was ? "disabled" : "were not enabled");
	}
	return EXIT_OK;
}

/* A /proc/PID file into @buf; false when the process is gone. */
static bool read_proc(int pid, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/%s", proc_dir, pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* The live part of a row: comm, cgroup path, sharing, saved. False if gone. */
static bool fill_live(struct stats_row *r)
{
	char buf[4096], *p;

	if (!read_proc(r->pid, "comm", buf, sizeof(buf)))
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(r->comm, sizeof(r->comm), "%.15s", buf);
	r->cgroup[0] = '\0';
	if (read_proc(r->pid, "cgroup", buf, sizeof(buf)) && (p = strstr(buf, "0::")))
		snprintf(r->cgroup, sizeof(r->cgroup), "%.*s", (int)strcspn(p + 3, "\n"), p + 3);
	if (read_proc(r->pid, "ksm_merging_pages", buf, sizeof(buf)))
		r->sharing = atoll(buf);
	if (read_proc(r->pid, "ksm_stat", buf, sizeof(buf)) &&
	    (p = strstr(buf, "ksm_process_profit ")))
		r->saved = atoll(p + strlen("ksm_process_profit "));
	return true;
}

static int open_pinned(const char *name, int *fd)
{
	char path[PATH_MAX];

	*fd = bpf_obj_get(bpffs_path(path, sizeof(path), name));
	if (*fd >= 0)
		return 0;
	if (errno == EACCES || errno == EPERM)
		return require_admin("stats") ?: fail(EXIT_PERM, "stats: %s: %s", path,
						      strerror(errno));
	return fail(EXIT_FAIL, "stats: statistics are not being collected (no %s): run "
		    "'ksmctl stats enable'", path);
}

/* Every live process of the procs map, filtered; others are not shown. */
static int read_procs(const struct show_opts *o, struct stats_row **rowsp, size_t *np)
{
	struct stats_row *rows = NULL;
	__u32 key, next, *prev = NULL;
	struct ksm_proc_stats st;
	size_t n = 0, cap = 0;
	int fd, err;

	err = open_pinned(PROCS_PIN, &fd);
	if (err)
		return err;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st))
			continue;
		if (o->pid && (int)key != o->pid)
			continue;
		if (n == cap) {
			struct stats_row *more = realloc(rows, (cap = cap ? 2 * cap : 64) *
							 sizeof(*rows));

			if (!more) {
				free(rows);
				close(fd);
				return fail(EXIT_FAIL, "stats: out of memory");
			}
			rows = more;
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		rows[n].pid = key;
		rows[n].cgroup_id = st.cgroup_id;
		rows[n].c = st.counters;
		/*
		 * Not a live process here: gone, or of another PID namespace.
		 * Reading never changes the map (a delete while walking it
		 * also restarts the walk, showing rows twice).
		 */
		if (!fill_live(&rows[n]))
			continue;
		if (o->cgroup && !stats_cgroup_matches(rows[n].cgroup, o->cgroup))
			continue;
		n++;
	}
	close(fd);
	*rowsp = rows;
	*np = n;
	return 0;
}

static int read_cgroups(const struct show_opts *o, struct stats_row **rowsp, size_t *np)
{
	struct stats_cgroup_counters *cg = NULL;
	struct stats_row *procs, *rows;
	struct ksm_cgroup_stats st;
	__u64 key, next, *prev = NULL;
	size_t n, ncg = 0, cap = 0, i, out = 0;
	struct show_opts all = *o;
	bool series;
	int fd, err;

	all.cgroup = NULL;
	err = kernel_events(&series) ?: read_procs(&all, &procs, &n) ?:
	      open_pinned(CGROUPS_PIN, &fd);
	if (err)
		return err;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &st))
			continue;
		if (ncg == cap) {
			void *more = realloc(cg, (cap = cap ? 2 * cap : 64) * sizeof(*cg));

			if (!more)
				break;
			cg = more;
		}
		cg[ncg].cgroup_id = key;
		cg[ncg].c = st.counters;
		cg[ncg].has_sharing = series;
		cg[ncg].sharing = st.merging_pages;
		cg[ncg++].saved = st.profit;
	}
	close(fd);
	rows = calloc(n + ncg + 1, sizeof(*rows));
	if (!rows) {
		free(procs);
		free(cg);
		return fail(EXIT_FAIL, "stats: out of memory");
	}
	n = stats_aggregate_cgroups(procs, n, cg, ncg, rows);
	for (i = 0; i < n; i++) {
		if (!rows[i].cgroup[0])
			cgroup_path_of_id(rows[i].cgroup_id, rows[i].cgroup, sizeof(rows[i].cgroup));
		if (!o->cgroup || stats_cgroup_matches(rows[i].cgroup, o->cgroup))
			rows[out++] = rows[i];
	}
	free(procs);
	free(cg);
	*rowsp = rows;
	*np = out;
	return 0;
}

static int parse_show_args(int argc, char **argv, struct show_opts *o, bool cgroups)
{
	unsigned long v;
	char *end;
	int i;

	memset(o, 0, sizeof(*o));
	o->sort = SORT_SAVED;
	for (i = 0; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--pid") && strcmp(opt, "--cgroup") && strcmp(opt, "--sort") &&
		    strcmp(opt, "--top") && strcmp(opt, "--watch"))
			return usage_error("stats", "unexpected '%s'", opt);
		if (!val)
			return usage_error("stats", "%s needs a value", opt);
		i++;
		if (!strcmp(opt, "--cgroup")) {
			/* A path that names no cgroup would show an empty table. */
			int err = cgroup_resolve(val, &o->cgroup_ref);

			if (err)
				return err;
			o->cgroup = o->cgroup_ref.path;
			continue;
		}
		if (!strcmp(opt, "--sort")) {
			if (stats_sort_parse(val, &o->sort))
				return usage_error("stats", "unknown sort key '%s' (%s)", val,
						   stats_sort_keys());
			continue;
		}
		errno = 0;
		v = strtoul(val, &end, 10);
		if (!*val || *end || errno || val[0] == '-' || !v || v > INT_MAX)
			return usage_error("stats", "%s: '%s' is not a positive number", opt, val);
		if (!strcmp(opt, "--pid")) {
			if (cgroups)
				return usage_error("stats", "cgroup takes no --pid");
			o->pid = v;
		} else if (!strcmp(opt, "--top")) {
			o->top = v;
		} else {
			o->watch = v;
		}
	}
	if (o->watch && json_output)
		return usage_error("stats", "--watch draws a screen: not with --json");
	return 0;
}

static int show(int argc, char **argv, bool cgroups)
{
	struct stats_row *rows;
	struct show_opts o;
	size_t n;
	int err;

	err = parse_show_args(argc, argv, &o, cgroups);
	if (err)
		return err;
	for (;;) {
		err = cgroups ? read_cgroups(&o, &rows, &n) : read_procs(&o, &rows, &n);
		if (err)
			return err;
		stats_sort_rows(rows, n, o.sort);
		if (json_output) {
			json_print(stats_to_json(rows, n, cgroups, o.top));
		} else {
			if (o.watch) {
				time_t now = time(NULL);
				char when[32];

				strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
				printf("\033[H\033[2J" "ksmctl stats%s  every %us  %s\n\n",
				       cgroups ? " cgroup" : "", o.watch, when);
			}
			stats_print_table(stdout, rows, n, cgroups, o.top);
			fflush(stdout);
		}
		free(rows);
		if (!o.watch)
			return EXIT_OK;
		sleep(o.watch);
	}
}

static int do_show(int argc, char **argv)
{
	return show(argc, argv, false);
}

static int do_show_cgroups(int argc, char **argv)
{
	return show(argc, argv, true);
}

static void stats_help(void)
{
	fprintf(stderr,
		"Usage: ksmctl stats [show] [--pid PID] [--cgroup PATH] [--sort KEY] [--top N]\n"
		"                    [--watch SECONDS]\n"
		"       ksmctl stats cgroup [--cgroup PATH] [--sort KEY] [--top N] [--watch SECONDS]\n"
		"       ksmctl stats enable\n"
		"       ksmctl stats disable\n"
		"\n"
		"       KEY := { %s } (default saved)\n"
		"       Collected by BPF programs on the ksm tracepoints into maps pinned at\n"
		"       %s/{%s,%s}; started by 'enable' or by loading a policy.\n",
		stats_sort_keys(), ksm_bpffs_dir, PROCS_PIN, CGROUPS_PIN);
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	stats_help();
	return EXIT_OK;
}

int do_stats(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_show },
		{ "cgroup", do_show_cgroups },
		{ "enable", do_enable },
		{ "disable", do_disable },
		{ "help", do_help },
		{ NULL, NULL },
	};

	/* `ksmctl stats --top 5`: options straight after the object mean show. */
	if (argc && argv[0][0] == '-')
		return do_show(argc, argv);
	return cmd_select(cmds, "stats", argc, argv);
}
