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

#include "args.h"
#include "bpf_map.h"
#include "cgroup_fs.h"
#include "ksm_sysfs.h"
#include "ksmctl.h"
#include "output.h"
#include "policy_progs.h"
#include "sharing.h"
#include "stats_bpf.h"
#include "stats_export.h"
#include "stats_table.h"



struct show_opts {
	int pid;
	const char *cgroup;	/* under the cgroup2 root, as /proc/PID/cgroup says */
	struct cgroup_ref cgroup_ref;
	enum stats_sort sort;
	size_t top;
	unsigned int watch;
	int format;			/* enum output_format */
	/* Without the BPF statistics, rows have the kernel's figures only. */
	bool counters_optional;
};

/* Processes an export has unless top N says otherwise. */
#define EXPORT_TOP 20

/* max_entries of a pinned map, or 0. */
static unsigned int pinned_max_entries(const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd = bpf_obj_get(bpffs_path(path, sizeof(path), name));

	if (fd < 0)
		return 0;
	if (bpf_map_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

/* The most entries a map may be given: a process entry is ~120 bytes. */
#define STATS_MAX_ENTRIES (1UL << 22)

static const char *const off_on[] = { "off", "on", NULL };

static int do_enable(int argc, char **argv)
{
	bool series = false, already = stats_enabled();
	bool sharing_now = already && stats_sharing_enabled();
	struct stats_config config = { 0 };
	unsigned int have_procs, have_cgroups;
	unsigned long procs = 0, cgroups = 0, mappings = 0;
	int sharing = -1;
	struct arg args[] = {
		{ .keyword = "max-procs", .parse = args_count, .dest = &procs,
		  .max = STATS_MAX_ENTRIES },
		{ .keyword = "max-cgroups", .parse = args_count, .dest = &cgroups,
		  .max = STATS_MAX_ENTRIES },
		{ .keyword = "sharing", .parse = args_choice, .dest = &sharing,
		  .choices = off_on },
		{ .keyword = "max-mappings", .parse = args_count, .dest = &mappings,
		  .max = STATS_MAX_ENTRIES },
	};
	int err;

	err = args_parse("stats", "enable", args, ARGS_N(args), argc, argv);
	if (err)
		return err;
	config.procs = procs;
	config.cgroups = cgroups;
	config.mappings = mappings;
	config.sharing = sharing == 1;
	if (mappings && !config.sharing)
		return fail(EXIT_USAGE, "stats enable: max-mappings sizes the records of "
			    "'sharing on'; give both");
	err = require_admin("stats enable");
	if (err)
		return err;
	if (already && config.mappings)
		return fail(EXIT_FAIL, "stats: already enabled; 'ksmctl stats disable' first to "
			    "resize (the counters start again)");
	if (already && sharing >= 0 && config.sharing != sharing_now)
		return fail(EXIT_FAIL, "stats: already enabled with sharing %s; 'ksmctl stats "
			    "disable' first (the counters start again)", off_on[sharing_now]);
	if (already) {
		config.sharing = sharing_now;
		have_procs = pinned_max_entries(PROCS_PIN);
		have_cgroups = pinned_max_entries(CGROUPS_PIN);
		if ((config.procs && config.procs != have_procs) ||
		    (config.cgroups && config.cgroups != have_cgroups))
			return fail(EXIT_FAIL, "stats: already enabled with max-procs %u "
				    "max-cgroups %u; 'ksmctl stats disable' first to resize "
				    "(the counters start again)", have_procs, have_cgroups);
	} else {
		err = stats_start(&config, &series);
		if (err)
			return err;
	}
	have_procs = pinned_max_entries(PROCS_PIN);
	have_cgroups = pinned_max_entries(CGROUPS_PIN);
	if (json_output) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "enabled", json_object_new_boolean(true));
		json_object_object_add(o, "already", json_object_new_boolean(already));
		json_object_object_add(o, "max_procs", json_object_new_int64(have_procs));
		json_object_object_add(o, "max_cgroups", json_object_new_int64(have_cgroups));
		json_object_object_add(o, "sharing", json_object_new_boolean(config.sharing));
		json_print(o);
	} else if (already) {
		printf("statistics: already enabled (room for %u processes, %u cgroups; "
		       "sharing %s)\n", have_procs, have_cgroups, off_on[config.sharing]);
	} else {
		printf("statistics: enabled (%s events, room for %u processes, %u cgroups; "
		       "sharing %s), maps pinned at %s/{%s,%s,%s,%s}\n",
		       series ? "ksm-bpf" : "upstream ksm", have_procs, have_cgroups,
		       off_on[config.sharing], ksm_bpffs_dir, PROCS_PIN, CGROUPS_PIN, TOTALS_PIN,
		       SHARING_PIN);
	}
	return EXIT_OK;
}

static int do_disable(int argc, char **argv)
{
	bool was = stats_enabled();
	int err;

	if (argc)
		return args_parse("stats", "disable", NULL, 0, argc, argv);
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

/* A file of /proc/PID (@dir) into @buf; false when the process is gone. */
static bool read_proc(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
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

/*
 * A task's state letter ('Z' for a zombie, 0 if unknown) from its stat file
 * in @dir, and when it started, in CLOCK_BOOTTIME nanoseconds rounded down
 * to a clock tick (0 if unknown).
 */
static char task_stat(const char *dir, unsigned long long *start_ns)
{
	unsigned long long ticks;
	char buf[1024], state;

	*start_ns = 0;
	if (!read_proc(dir, "stat", buf, sizeof(buf)))
		return 0;
	state = proc_stat_parse(buf, &ticks);
	*start_ns = ticks * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
	return state;
}

/*
 * Where @pid's mm can be read: /proc/PID, or /proc/PID/task/TID of a live
 * thread once the leader has exited (pthread_exit()): a zombie leader has
 * no mm, and its ksm files are empty. And when the process started.
 */
static void mm_dir_of(int pid, char *dir, size_t len, unsigned long long *start_ns)
{
	unsigned long long thread_start;
	char tasks[PATH_MAX];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, len, "%s/%d", proc_dir, pid);
	if (task_stat(dir, start_ns) != 'Z')
		return;
	snprintf(tasks, sizeof(tasks), "%s/%d/task", proc_dir, pid);
	dp = opendir(tasks);
	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || atoi(d->d_name) == pid)
			continue;
		if (snprintf(dir, len, "%s/%s", tasks, d->d_name) < (int)len &&
		    task_stat(dir, &thread_start) != 'Z')
			break;
		snprintf(dir, len, "%s/%d", proc_dir, pid);
	}
	if (dp)
		closedir(dp);
}

/* What else a process's row needs from the kernel. */
struct proc_live {
	long long rmap_items;
	unsigned long long start_ns;
	/* Its mm's copy-on-write counts (ksm_stat), or -1 on a kernel without them. */
	long long cow_writes, unshares;
};

/*
 * The live part of a row, all of it the kernel's word now: comm, cgroup,
 * pages sharing, bytes saved; and @live. False if the process is gone (or
 * not ours to read).
 */
static bool fill_live(struct stats_row *r, struct proc_live *live)
{
	char buf[4096], dir[PATH_MAX], mm[PATH_MAX], *p;
	struct stat sb;

	mm_dir_of(r->pid, mm, sizeof(mm), &live->start_ns);
	if (!read_proc(mm, "comm", buf, sizeof(buf)))
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(r->comm, sizeof(r->comm), "%.15s", buf);
	r->cgroup[0] = '\0';
	if (read_proc(mm, "cgroup", buf, sizeof(buf)) && (p = strstr(buf, "0::")))
		snprintf(r->cgroup, sizeof(r->cgroup), "%.*s", (int)strcspn(p + 3, "\n"), p + 3);
	r->cgroup_id = 0;
	if (r->cgroup[0] && !stat(cgroup_dir_of(r->cgroup, dir, sizeof(dir)), &sb))
		r->cgroup_id = sb.st_ino;
	if (!read_proc(mm, "ksm_stat", buf, sizeof(buf)))
		return false;
	live->rmap_items = proc_ksm_stat_field(buf, "ksm_rmap_items", 0);
	r->saved = proc_ksm_stat_field(buf, "ksm_process_profit", 0);
	/* -1: a stock kernel does not count them. */
	live->cow_writes = proc_ksm_stat_field(buf, "ksm_cow_writes", -1);
	live->unshares = proc_ksm_stat_field(buf, "ksm_unshares", -1);
	if (read_proc(mm, "ksm_merging_pages", buf, sizeof(buf)))
		r->sharing = atoll(buf);
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

/* The procs map, read whole before anything is looked up, sorted by tgid. */
struct proc_map_entry {
	__u32 tgid;
	struct ksm_proc_stats st;
};

struct proc_map {
	struct proc_map_entry *e;
	size_t n;
};

static int cmp_tgid(const void *a, const void *b)
{
	const struct proc_map_entry *x = a, *y = b;

	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

static int proc_map_load(struct proc_map *m, bool optional)
{
	struct ksm_proc_stats *values;
	__u32 *keys;
	size_t i;
	int fd, err;

	memset(m, 0, sizeof(*m));
	if (optional && !stats_enabled())
		return 0;
	err = open_pinned(PROCS_PIN, &fd);
	if (err)
		return err;
	err = map_read_all(fd, (void **)&keys, (void **)&values, &m->n);
	close(fd);
	if (err)
		return fail(EXIT_FAIL, "stats: cannot read %s: %s", PROCS_PIN, strerror(-err));
	m->e = malloc((m->n + 1) * sizeof(*m->e));
	for (i = 0; m->e && i < m->n; i++) {
		m->e[i].tgid = keys[i];
		m->e[i].st = values[i];
	}
	free(keys);
	free(values);
	if (!m->e)
		return fail(EXIT_FAIL, "stats: out of memory");
	qsort(m->e, m->n, sizeof(*m->e), cmp_tgid);
	return 0;
}

/*
 * The entry of @pid, started at @start_ns, if it was made for this process:
 * an entry older than the process belongs to an earlier one with the same
 * pid (its exit came and went while the entry was being made, and the pid
 * was reused).
 */
static const struct ksm_proc_stats *proc_map_find(const struct proc_map *m, int pid,
						  unsigned long long start_ns)
{
	struct proc_map_entry want = { .tgid = pid };
	const struct proc_map_entry *e = bsearch(&want, m->e, m->n, sizeof(*m->e), cmp_tgid);

	if (!e || e->st.first_seen_ns < start_ns)
		return NULL;
	return &e->st;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int add_row(struct stats_row **rows, size_t *n, size_t *cap, const struct stats_row *r)
{
	if (*n == *cap) {
		struct stats_row *more = realloc(*rows, (*cap = *cap ? 2 * *cap : 64) *
						 sizeof(**rows));

		if (!more)
			return fail(EXIT_FAIL, "stats: out of memory");
		*rows = more;
	}
	(*rows)[(*n)++] = *r;
	return 0;
}

/*
 * Every live process KSM knows (it has rmap_items or shares pages) or the
 * statistics track, filtered. What it shares and saves is the kernel's,
 * read now; its counters are the BPF map's, when the map has an entry made
 * for it. Reading never changes the map.
 */
static int read_procs(const struct show_opts *o, struct stats_row **rowsp, size_t *np)
{
	struct stats_row *rows = NULL, r;
	const struct ksm_proc_stats *st;
	size_t n = 0, cap = 0;
	struct proc_live live;
	struct proc_map map;
	struct dirent *d;
	int err;
	DIR *dp;

	err = proc_map_load(&map, o->counters_optional);
	if (err)
		return err;
	dp = opendir(proc_dir);
	if (!dp) {
		free(map.e);
		return fail(EXIT_FAIL, "stats: %s: %s", proc_dir, strerror(errno));
	}
	while ((d = readdir(dp))) {
		if (!all_digits(d->d_name))
			continue;
		memset(&r, 0, sizeof(r));
		r.pid = atoi(d->d_name);
		if (o->pid && r.pid != o->pid)
			continue;
		/* Gone, or not ours to read (another user's, another namespace's). */
		if (!fill_live(&r, &live))
			continue;
		st = proc_map_find(&map, r.pid, live.start_ns);
		/* A child that broke pages it inherited is shown before any scan. */
		if (!st && !live.rmap_items && !r.sharing && live.cow_writes <= 0 &&
		    live.unshares <= 0)
			continue;
		if (st) {
			r.tracked = true;
			r.c = st->counters;
		}
		/*
		 * The map has these as of ksmd's last scan of the process; the
		 * kernel's own count is now's.
		 */
		if (live.cow_writes >= 0) {
			r.c.cow_writes = live.cow_writes;
			r.c.unshares = live.unshares;
			r.cow_live = true;
		}
		if (o->cgroup && !stats_cgroup_matches(r.cgroup, o->cgroup))
			continue;
		err = add_row(&rows, &n, &cap, &r);
		if (err)
			break;
	}
	closedir(dp);
	free(map.e);
	if (err) {
		free(rows);
		return err;
	}
	*rowsp = rows;
	*np = n;
	return 0;
}

/* Every process row, whatever cgroup PATH says: a cgroup's sums need all of them. */
static int read_all_procs(const struct show_opts *o, struct stats_row **rowsp, size_t *np)
{
	struct show_opts all = *o;

	all.cgroup = NULL;
	return read_procs(&all, rowsp, np);
}

/* Keep the rows of @cgroup and below it (NULL: all). Returns how many. */
static size_t rows_under(struct stats_row *rows, size_t n, const char *cgroup)
{
	size_t i, out = 0;

	for (i = 0; i < n; i++)
		if (!cgroup || stats_cgroup_matches(rows[i].cgroup, cgroup))
			rows[out++] = rows[i];
	return out;
}

/* The cgroup rows of the processes @procs (all of them: read_all_procs()). */
static int read_cgroups(const struct show_opts *o, const struct stats_row *procs, size_t n,
			struct stats_row **rowsp, size_t *np)
{
	struct stats_cgroup_counters *cg = NULL;
	struct ksm_cgroup_stats *values = NULL;
	struct stats_row *rows;
	size_t ncg = 0, i;
	__u64 *keys = NULL;
	int fd = -1, err = 0;

	if (!o->counters_optional || stats_enabled())
		err = open_pinned(CGROUPS_PIN, &fd);
	if (err)
		return err;
	if (fd >= 0) {
		err = map_read_all(fd, (void **)&keys, (void **)&values, &ncg);
		close(fd);
		if (err)
			err = fail(EXIT_FAIL, "stats: cannot read %s: %s", CGROUPS_PIN,
				   strerror(-err));
	}
	cg = err ? NULL : calloc(ncg + 1, sizeof(*cg));
	for (i = 0; cg && i < ncg; i++) {
		cg[i].cgroup_id = keys[i];
		cg[i].c = values[i].counters;
	}
	free(keys);
	free(values);
	if (!err && !cg)
		err = fail(EXIT_FAIL, "stats: out of memory");
	rows = err ? NULL : calloc(n + ncg + 1, sizeof(*rows));
	if (!rows) {
		free(cg);
		return err ?: fail(EXIT_FAIL, "stats: out of memory");
	}
	n = stats_aggregate_cgroups(procs, n, cg, ncg, rows);
	for (i = 0; i < n; i++)
		if (!rows[i].cgroup[0])
			cgroup_path_of_id(rows[i].cgroup_id, rows[i].cgroup, sizeof(rows[i].cgroup));
	free(cg);
	*rowsp = rows;
	*np = rows_under(rows, n, o->cgroup);
	return 0;
}

/* Events lost to a full map are said, on stderr, whatever the output format. */
static void warn_drops(void)
{
	struct ksm_stats_totals t;

	if (stats_read_totals(&t))
		return;
	if (t.procs_dropped || t.cgroups_dropped)
		fprintf(stderr, "ksmctl: warning: the statistics maps were full for %llu process "
			"and %llu cgroup events since 'stats enable': counters miss them ('stats "
			"enable max-procs N max-cgroups N' makes room)\n",
			(unsigned long long)t.procs_dropped, (unsigned long long)t.cgroups_dropped);
	if (t.cow_folds_deferred)
		fprintf(stderr, "ksmctl: warning: %llu times no room was left to follow a "
			"process's copy-on-write counts: its cgroup gets them only when it exits "
			"('stats enable max-procs N' makes room)\n",
			(unsigned long long)t.cow_folds_deferred);
}

static int parse_sort(const struct arg *a, const char *text, char *err, size_t errlen)
{
	if (!stats_sort_parse(text, a->dest))
		return 0;
	snprintf(err, errlen, "'%s' is none of %s", text, stats_sort_keys());
	return -1;
}

static int parse_show_args(int argc, char **argv, struct show_opts *o, bool cgroups)
{
	const char *cmd = cgroups ? "cgroup" : "show";
	unsigned long top = 0, watch = 0, pid = 0;
	const char *cgroup = NULL;
	struct arg args[] = {
		{ .keyword = "cgroup", .parse = args_string, .dest = &cgroup },
		{ .keyword = "sort", .parse = parse_sort, .dest = &o->sort },
		{ .keyword = "top", .parse = args_count, .dest = &top, .max = INT_MAX },
		{ .keyword = "watch", .parse = args_count, .dest = &watch, .max = INT_MAX },
		{ .keyword = "format", .parse = args_choice, .dest = &o->format,
		  .choices = output_format_names },
		{ .keyword = "pid", .parse = args_count, .dest = &pid, .max = INT_MAX },
	};
	int err;

	memset(o, 0, sizeof(*o));
	o->sort = SORT_SAVED;
	/* `stats cgroup` has no pid: the last keyword. */
	err = args_parse("stats", cmd, args, ARGS_N(args) - cgroups, argc, argv);
	if (err)
		return err;
	o->pid = pid;
	o->top = top;
	o->watch = watch;
	if (cgroup) {
		/* A path that names no cgroup would show an empty table. */
		err = cgroup_resolve(cgroup, &o->cgroup_ref);
		if (err)
			return err;
		o->cgroup = o->cgroup_ref.path;
	}
	err = output_format_settle("stats", cmd, &o->format);
	if (err)
		return err;
	if (o->watch && o->format != FORMAT_TABLE)
		return cmd_usage_error("stats", cmd, "watch draws a screen: not with %s%s",
				   json_output ? "--json" : "format ",
				   json_output ? "" : output_format_names[o->format]);
	if (o->format >= FORMAT_OPENMETRICS) {
		if (o->pid)
			return cmd_usage_error("stats", cmd, "format %s exports every cgroup and the top "
					   "processes: no pid", output_format_names[o->format]);
		o->counters_optional = true;
		if (!o->top)
			o->top = EXPORT_TOP;
	}
	return 0;
}

/* The rows of `stats cgroup`. */
static int read_cgroup_table(const struct show_opts *o, struct stats_row **rowsp, size_t *np)
{
	struct stats_row *procs = NULL;
	size_t n;
	int err;

	err = read_all_procs(o, &procs, &n) ?: read_cgroups(o, procs, n, rowsp, np);
	free(procs);
	return err;
}

/* One side of a pair: its path and domain ("" for a removed cgroup). */
static void sharing_side(struct sharing_row *r, int i, unsigned long long id)
{
	r->cgroup_id[i] = id;
	cgroup_path_of_id(id, r->cgroup[i], sizeof(r->cgroup[i]));
	if (r->cgroup[i][0] == '/')
		cgroup_domain_label(r->cgroup[i], r->domain[i], sizeof(r->domain[i]));
}

/*
 * The pairs of the sharing map, those with a cgroup under @cgroup (NULL:
 * all), sorted, each pair's paths in order.
 */
static int read_sharing(const char *cgroup, struct sharing_row **rowsp, size_t *np)
{
	struct ksm_sharing_pair *keys = NULL;
	struct sharing_row *rows = NULL;
	__u64 *pages = NULL;
	size_t n, i, kept = 0;
	int fd, err;

	err = open_pinned(SHARING_PIN, &fd);
	if (err)
		return err;
	err = map_read_all(fd, (void **)&keys, (void **)&pages, &n);
	close(fd);
	if (err)
		return fail(EXIT_FAIL, "stats: cannot read %s/%s: %s", ksm_bpffs_dir, SHARING_PIN,
			    strerror(-err));
	rows = calloc(n + 1, sizeof(*rows));
	if (!rows) {
		err = fail(EXIT_FAIL, "stats: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct sharing_row *r = &rows[kept];

		if (!pages[i])
			continue;
		sharing_side(r, 0, keys[i].cgroup_a);
		sharing_side(r, 1, keys[i].cgroup_b);
		if (cgroup && !stats_cgroup_matches(r->cgroup[0], cgroup) &&
		    !stats_cgroup_matches(r->cgroup[1], cgroup))
			continue;
		if (strcmp(r->cgroup[0], r->cgroup[1]) > 0)
			sharing_swap_sides(r);
		r->pages = pages[i];
		kept++;
	}
	sharing_sort(rows, kept);
	*rowsp = rows;
	*np = kept;
	rows = NULL;
out:
	free(rows);
	free(keys);
	free(pages);
	return err;
}

/* `stats sharing`: who shares ksm pages with whom, per pair of cgroups. */
static int do_sharing(int argc, char **argv)
{
	struct sharing_view view = {};
	struct ksm_stats_totals totals;
	struct sharing_row *rows = NULL;
	struct cgroup_ref ref;
	const char *cgroup = NULL, *path = NULL;
	int format = FORMAT_TABLE;
	unsigned long top = 0;
	struct kernel_events events;
	struct om_writer w;
	struct arg args[] = {
		{ .keyword = "cgroup", .parse = args_string, .dest = &path },
		{ .keyword = "top", .parse = args_count, .dest = &top, .max = INT_MAX },
		{ .keyword = "format", .parse = args_choice, .dest = &format,
		  .choices = output_format_names },
	};
	int err;

	err = args_parse("stats", "sharing", args, ARGS_N(args), argc, argv);
	if (err)
		return err;
	view.top = top;
	if (path) {
		err = cgroup_resolve(path, &ref);
		if (err)
			return err;
		cgroup = ref.path;
	}
	err = output_format_settle("stats", "sharing", &format);
	if (err)
		return err;
	kernel_events_quiet(&events);
	if (!events.sharing)
		return fail(EXIT_UNSUPPORTED, "stats sharing: this kernel has no ksm_rmap_join "
			    "and ksm_rmap_leave events (the ksm-bpf series adds them)");
	/* Not visible to this user: reading the map says so. */
	if (stats_visible() && !stats_sharing_enabled()) {
		if (!stats_enabled())
			return fail(EXIT_FAIL, "stats sharing: not collected: run 'ksmctl stats "
				    "enable sharing on'");
		return fail(EXIT_FAIL, "stats sharing: not collected: the statistics run with "
			    "sharing off; 'ksmctl stats disable', then 'ksmctl stats enable sharing "
			    "on' (the counters start again)");
	}
	err = read_sharing(cgroup, &rows, &view.n);
	if (err)
		return err;
	err = stats_read_totals(&totals);
	if (err) {
		free(rows);
		return fail(EXIT_FAIL, "stats: cannot read %s/%s: %s", ksm_bpffs_dir, TOTALS_PIN,
			    strerror(-err));
	}
	view.rows = rows;
	view.totals = &totals;
	switch (format) {
	case FORMAT_TABLE:
		sharing_print_table(stdout, &view);
		break;
	case FORMAT_JSON:
		json_print(sharing_to_json(&view));
		break;
	default:
		om_init(&w, stdout, format == FORMAT_OPENMETRICS ? OM_OPENMETRICS : OM_PROMETHEUS);
		sharing_export_write(&w, &view);
		om_end(&w);
	}
	free(rows);
	return EXIT_OK;
}

/*
 * The metric families of format openmetrics|prometheus: ksmd's counters,
 * the policy, every cgroup (or those under cgroup PATH) and the top processes.
 */
static int export_metrics(const struct show_opts *o)
{
	char policy[80] = "", last_exit[512] = "none";
	struct stats_row *cgroups = NULL, *procs = NULL;
	struct ksm_stats_totals totals;
	struct policy_progs progs;
	struct stats_export e = { .read_knob = knob_read_number };
	struct sharing_row *pairs = NULL;
	struct sharing_view sharing = {};
	struct kernel_events events;
	const char **domains = NULL, **policies = NULL;
	char (*where)[SHARING_DOMAIN_LEN] = NULL;
	char (*names)[80] = NULL;
	struct om_writer w;
	size_t ncg, np, i;
	int err;

	/* One walk of /proc: the cgroups' sums, then the processes under cgroup PATH. */
	err = read_all_procs(o, &procs, &np) ?: read_cgroups(o, procs, np, &cgroups, &ncg);
	if (err)
		goto out;
	np = rows_under(procs, np, o->cgroup);
	domains = calloc(ncg + 1, sizeof(*domains));
	where = calloc(ncg + 1, sizeof(*where));
	policies = calloc(ncg + 1, sizeof(*policies));
	names = calloc(ncg + 1, sizeof(*names));
	if (!domains || !where || !policies || !names) {
		err = fail(EXIT_FAIL, "stats: out of memory");
		goto out;
	}
	/* Sorted first: the domains and policies are by row. */
	stats_sort_rows(cgroups, ncg, SORT_CGROUP);
	for (i = 0; i < ncg; i++) {
		cgroup_domain_label(cgroups[i].cgroup, where[i], sizeof(where[i]));
		domains[i] = where[i];
		if (cgroups[i].cgroup[0] != '/' ||
		    cgroup_policy_of(cgroups[i].cgroup, names[i], sizeof(names[i])))
			names[i][0] = '\0';
		policies[i] = names[i];
	}
	stats_sort_rows(procs, np, o->sort);
	e.policy_supported = !policy_current(policy, sizeof(policy));
	e.policy = policy;
	if (e.policy_supported && knob_read("policy_exit", last_exit, sizeof(last_exit)))
		snprintf(last_exit, sizeof(last_exit), "none");
	e.last_exit = last_exit;
	if (e.policy_supported && !policy_progs_read(&progs))
		e.progs = &progs;
	e.totals = stats_enabled() && !stats_read_totals(&totals) ? &totals : NULL;
	/* A kernel without any ksm events has no counters either: nothing to omit. */
	kernel_events_quiet(&events);
	e.upstream = !events.series;
	e.cgroups = cgroups;
	e.domains = domains;
	e.policies = policies;
	e.ncgroups = ncg;
	e.procs = procs;
	e.nprocs = o->top < np ? o->top : np;
	if (e.totals && stats_sharing_enabled()) {
		err = read_sharing(o->cgroup, &pairs, &sharing.n);
		if (err)
			goto out;
		sharing.rows = pairs;
		sharing.totals = e.totals;
		e.sharing = &sharing;
	}
	om_init(&w, stdout, o->format == FORMAT_OPENMETRICS ? OM_OPENMETRICS : OM_PROMETHEUS);
	stats_export_write(&w, &e);
out:
	free(cgroups);
	free(procs);
	free(domains);
	free(where);
	free(policies);
	free(names);
	free(pairs);
	return err;
}

static int show(int argc, char **argv, bool cgroups)
{
	struct stats_view view = { .cgroups = cgroups };
	struct stats_row *rows;
	struct show_opts o;
	struct kernel_events events;
	size_t n;
	int err;

	err = parse_show_args(argc, argv, &o, cgroups);
	if (err)
		return err;
	view.top = o.top;
	if (o.format < FORMAT_OPENMETRICS) {
		err = kernel_events(&events);
		if (err)
			return err;
		view.upstream = !events.series;
	}
	if (o.format >= FORMAT_OPENMETRICS) {
		err = export_metrics(&o);
		if (!err && stats_enabled())
			warn_drops();
		return err;
	}
	for (;;) {
		err = cgroups ? read_cgroup_table(&o, &rows, &n) : read_procs(&o, &rows, &n);
		if (err)
			return err;
		warn_drops();
		stats_sort_rows(rows, n, o.sort);
		if (o.format == FORMAT_JSON) {
			json_print(stats_to_json(rows, n, &view));
		} else {
			if (o.watch) {
				time_t now = time(NULL);
				char when[32];

				strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
				printf("\033[H\033[2J" "ksmctl stats%s  every %us  %s\n\n",
				       cgroups ? " cgroup" : "", o.watch, when);
			}
			stats_print_table(stdout, rows, n, &view);
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
		"Usage: ksmctl stats [show] [pid PID] [cgroup PATH] [sort KEY] [top N]\n"
		"                    [watch SECONDS] [format FORMAT]\n"
		"       ksmctl stats cgroup [cgroup PATH] [sort KEY] [top N] [watch SECONDS]\n"
		"                    [format FORMAT]\n"
		"       ksmctl stats sharing [cgroup PATH] [top N] [format FORMAT]\n"
		"       ksmctl stats enable [max-procs N] [max-cgroups N]\n"
		"                           [sharing { off | on } [max-mappings N]]\n"
		"       ksmctl stats disable\n"
		"\n"
		"       KEY := { %s } (default saved)\n"
		"       FORMAT := { table | json | openmetrics | prometheus }\n"
		"       Sharing and savings are the kernel's, read when asked; the counters are\n"
		"       collected by BPF programs on the ksm tracepoints into maps pinned at\n"
		"       %s/{%s,%s,%s}; started by 'enable' or by loading a policy.\n"
		"       'sharing' gives the ksm pages each pair of cgroups maps now, as ksmd\n"
		"       counts them (%s/%s), kept from the ksm_rmap_join and ksm_rmap_leave\n"
		"       events when enabled with 'sharing on' (off by default: it costs ksmd\n"
		"       about four times what the counters do).\n",
		stats_sort_keys(), ksm_bpffs_dir, PROCS_PIN, CGROUPS_PIN, TOTALS_PIN,
		ksm_bpffs_dir, SHARING_PIN);
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
		{ "sharing", do_sharing },
		{ "enable", do_enable },
		{ "disable", do_disable },
		{ "help", do_help },
		{ NULL, NULL },
	};

	/*
	 * `ksmctl stats top 5`: a keyword of show straight after the object
	 * means show, unless it names a command ("cgroup").
	 */
	static const char *const show_keywords[] = { "pid", "sort", "top", "watch", "format" };

	for (size_t i = 0; argc && i < ARGS_N(show_keywords); i++)
		if (!strcmp(argv[0], show_keywords[i]))
			return do_show(argc, argv);
	/* The form before keywords, `stats --top 5`: show says how it is written now. */
	if (argc && argv[0][0] == '-')
		return do_show(argc, argv);
	return cmd_select(cmds, "stats", argc, argv);
}
