// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl: the statistics' BPF side (see stats_bpf.h): loading
 * bpf/ksm_stats.bpf.c (built into ksmctl as a skeleton) for the kernel's
 * events, pinning its maps and links under ksm_bpffs_dir, and unpinning.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ksmctl.h"
#include "ksm_stats.bpf.skel.h"
#include "ksm_sysfs.h"
#include "stats_bpf.h"

#define TRACEFS "/sys/kernel/tracing"

bool stats_enabled(void)
{
	char path[PATH_MAX];
	char link[PATH_MAX];

	bpffs_path(path, sizeof(path), PROCS_PIN);
	bpffs_path(link, sizeof(link), STATS_DIR "/process_exit");
	return !access(path, F_OK) && !access(link, F_OK);
}

bool stats_sharing_enabled(void)
{
	char link[PATH_MAX];

	return stats_enabled() && !access(bpffs_path(link, sizeof(link), SHARING_LINK_PIN), F_OK);
}

bool stats_visible(void)
{
	return !access(ksm_bpffs_dir, X_OK) || errno != EACCES;
}

/* Unpin everything `stats enable` pins; what is not there is fine. */
void stats_unpin(void)
{
	char path[PATH_MAX];

	unpin_dir(STATS_DIR);
	unlink(bpffs_path(path, sizeof(path), PROCS_PIN));
	unlink(bpffs_path(path, sizeof(path), CGROUPS_PIN));
	unlink(bpffs_path(path, sizeof(path), TOTALS_PIN));
	unlink(bpffs_path(path, sizeof(path), SHARING_PIN));
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

/* The ksm events of the kernel, from its BTF: false when it has no BTF. */
static bool events_in_btf(struct kernel_events *k)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();

	memset(k, 0, sizeof(*k));
	if (!vmlinux)
		return false;
	k->series = btf__find_by_name_kind(vmlinux, "trace_event_raw_ksm_mm_scanned",
					   BTF_KIND_STRUCT) > 0;
	k->sharing = btf__find_by_name_kind(vmlinux, "trace_event_raw_ksm_rmap_template",
					    BTF_KIND_STRUCT) > 0;
	k->upstream = btf__find_by_name_kind(vmlinux, "trace_event_raw_ksm_merge_with_ksm_page",
					     BTF_KIND_STRUCT) > 0;
	btf__free(vmlinux);
	return true;
}

void kernel_events_quiet(struct kernel_events *k)
{
	events_in_btf(k);
}

int kernel_events(struct kernel_events *k)
{
	if (!events_in_btf(k))
		return fail(EXIT_UNSUPPORTED, "stats: this kernel has no BTF "
			    "(CONFIG_DEBUG_INFO_BTF), which the statistics programs need");
	if (!k->series && !k->upstream)
		return fail(EXIT_UNSUPPORTED, "stats: this kernel has no ksm tracepoints (upstream "
			    "has them since Linux 6.7; CONFIG_KSM and CONFIG_TRACING)");
	return 0;
}

static int choose_programs(struct ksm_stats_bpf *skel, bool sharing, bool *series)
{
	struct kernel_events k;
	int err = kernel_events(&k);

	if (err)
		return err;
	if (sharing && !k.sharing)
		return fail(EXIT_UNSUPPORTED, "stats: this kernel has no ksm_rmap_join and "
			    "ksm_rmap_leave events, which 'sharing on' needs (the ksm-bpf series "
			    "adds them)");
	*series = k.series;
	bpf_program__set_autoload(skel->progs.ksm_mm_scanned, k.series);
	bpf_program__set_autoload(skel->progs.ksm_merge_page, k.series);
	bpf_program__set_autoload(skel->progs.fold_cow_at_scan, k.series);
	bpf_program__set_autoload(skel->progs.fold_cow_from_fork, k.series);
	bpf_program__set_autoload(skel->progs.fold_cow_at_move, k.series);
	bpf_program__set_autoload(skel->progs.fold_cow_at_exit, k.series);
	bpf_program__set_autoload(skel->progs.fold_cow_at_process_exit, k.series);
	bpf_program__set_autoload(skel->progs.policy_attach, k.series);
	bpf_program__set_autoload(skel->progs.policy_eject, k.series);
	bpf_program__set_autoload(skel->progs.ksm_merge_with_ksm_page_upstream, !k.series);
	bpf_program__set_autoload(skel->progs.ksm_rmap_join, sharing);
	bpf_program__set_autoload(skel->progs.ksm_rmap_leave, sharing);
	bpf_program__set_autoload(skel->progs.ksm_mm_moved, sharing);
	return 0;
}

/*
 * `sharing` counts the mappings made since its programs run: if ksm pages
 * existed by then (ksmd's pages_shared, read after the attach), say so for
 * good. The counters live on in the mapped totals, untouched.
 */
static int sharing_mark_partial(struct ksm_stats_bpf *skel)
{
	struct ksm_stats_totals *t;
	char shared[32];

	if (knob_read("pages_shared", shared, sizeof(shared)) || !strcmp(shared, "0"))
		return 0;
	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(skel->maps.totals), 0);
	if (t == MAP_FAILED)
		return fail(EXIT_FAIL, "stats: cannot map the totals: %s", strerror(errno));
	__atomic_store_n(&t->sharing_partial, 1, __ATOMIC_RELAXED);
	munmap(t, sizeof(*t));
	return 0;
}

/* Load, attach and pin; on failure nothing stays pinned. */
int stats_start(const struct stats_config *config, bool *series)
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
			    bpf_strerror(errno));
	err = choose_programs(skel, config->sharing, series);
	if (err)
		goto out;
	/* mm_folds has an entry per mm: a process's room. */
	if ((config->procs && (bpf_map__set_max_entries(skel->maps.procs, config->procs) ||
			      bpf_map__set_max_entries(skel->maps.owners, config->procs) ||
			      bpf_map__set_max_entries(skel->maps.mm_folds, config->procs))) ||
	    (config->cgroups && bpf_map__set_max_entries(skel->maps.cgroups, config->cgroups)) ||
	    (config->mappings && (bpf_map__set_max_entries(skel->maps.mappings, config->mappings) ||
				 bpf_map__set_max_entries(skel->maps.ksm_pages,
							  config->mappings)))) {
		err = fail(EXIT_FAIL, "stats: cannot size the maps: %s", strerror(errno));
		goto out;
	}
	if (ksm_stats_bpf__load(skel)) {
		err = fail(EXIT_FAIL, "stats: the kernel refused the statistics programs: %s%s",
			   bpf_strerror(errno), debug_output ? "" : " (--debug shows why)");
		goto out;
	}
	/* Leftovers of an interrupted run would shadow the new maps. */
	stats_unpin();
	if (mkdir(bpffs_path(path, sizeof(path), STATS_DIR), 0700) ||
	    bpf_map__pin(skel->maps.procs, bpffs_path(path, sizeof(path), PROCS_PIN)) ||
	    bpf_map__pin(skel->maps.cgroups, bpffs_path(path, sizeof(path), CGROUPS_PIN)) ||
	    bpf_map__pin(skel->maps.totals, bpffs_path(path, sizeof(path), TOTALS_PIN)) ||
	    bpf_map__pin(skel->maps.sharing, bpffs_path(path, sizeof(path), SHARING_PIN))) {
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
	if (config->sharing)
		err = sharing_mark_partial(skel);
out:
	if (err)
		stats_unpin();
	ksm_stats_bpf__destroy(skel);
	return err;
}

int stats_enable_quiet(bool *started)
{
	struct stats_config defaults = { 0 };
	bool series;
	int err;

	*started = false;
	if (stats_enabled())
		return 0;
	err = stats_start(&defaults, &series);
	*started = !err;
	return err;
}

int stats_read_totals(struct ksm_stats_totals *t)
{
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, err = 0;

	memset(t, 0, sizeof(*t));
	fd = bpf_obj_get(bpffs_path(path, sizeof(path), TOTALS_PIN));
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, t))
		err = -errno;
	close(fd);
	return err;
}
