// SPDX-License-Identifier: GPL-2.0
/* ksmctl status: KSM at a glance: ksmd, what is merged, the policy, statistics. */
#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "bpf_map.h"
#include "cgroup_fs.h"
#include "ksm_stats.h"
#include "ksm_sysfs.h"
#include "ksmctl.h"
#include "policy_progs.h"
#include "stats_bpf.h"

static const char *const run_states[] = { "stopped", "running", "unmerging" };

/* Counters shown, in order; absent ones (older kernels) are left out. */
static const char *const counters[] = {
	"pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "ksm_zero_pages",
	"full_scans", "pages_scanned", "general_profit", "pages_to_scan", "sleep_millisecs",
};

/* Processes the statistics maps track, or -1. */
static long tracked_processes(void)
{
	char path[PATH_MAX];
	void *keys, *values;
	int fd = bpf_obj_get(bpffs_path(path, sizeof(path), PROCS_PIN)), err;
	size_t n;

	if (fd < 0)
		return -1;
	err = map_read_all(fd, &keys, &values, &n);
	close(fd);
	if (err)
		return -1;
	free(keys);
	free(values);
	return n;
}

/* Memory cgroups with a BPF policy of their own: into the array, or counted. */
struct cgroup_policies {
	json_object *arr;
	int n;
};

static int count_cgroup_policy(const char *path, void *arg)
{
	struct cgroup_policies *cp = arg;
	char name[80];

	if (!strcmp(path, "/") || cgroup_policy_of(path, name, sizeof(name)) || !*name)
		return 0;
	cp->n++;
	if (cp->arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "cgroup", json_object_new_string(path));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_array_add(cp->arr, o);
	}
	return 0;
}

int do_status(int argc, char **argv)
{
	struct cgroup_policies cgroup_policies = { NULL, 0 };
	char value[512], policy[80] = "", last_exit[512] = "";
	struct ksm_stats_totals totals = {};
	bool has_policy_ops, stats_on, totals_known;
	json_object *obj = NULL;
	unsigned long run;
	long tracked;
	size_t i;

	if (argc == 1 && is_prefix(argv[0], "help")) {
		fprintf(stderr, "Usage: ksmctl status\n");
		return EXIT_OK;
	}
	if (argc)
		return args_parse("status", NULL, NULL, 0, argc, argv);
	if (knob_read("run", value, sizeof(value)))
		return fail(EXIT_UNSUPPORTED, "status: this kernel has no KSM (%s: %s)",
			    ksm_sysfs_dir, strerror(errno));
	run = strtoul(value, NULL, 10);
	has_policy_ops = !policy_current(policy, sizeof(policy));
	if (has_policy_ops)
		knob_read("policy_exit", last_exit, sizeof(last_exit));
	stats_on = stats_enabled();
	tracked = stats_on ? tracked_processes() : -1;
	/* Without the rights to read the maps, their figures are unknown, not zero. */
	totals_known = stats_on && !stats_read_totals(&totals);

	if (json_output) {
		obj = json_object_new_object();
		json_object_object_add(obj, "run", json_object_new_string(
			run < 3 ? run_states[run] : value));
	} else {
		printf("%-16s %s\n", "ksmd:", run < 3 ? run_states[run] : value);
	}
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		if (knob_read(counters[i], value, sizeof(value)))
			continue;
		if (obj)
			json_object_object_add(obj, counters[i],
					       json_object_new_int64(atoll(value)));
		else
			printf("%-16s %s\n", counters[i], value);
	}
	if (obj) {
		json_object *p = json_object_new_object();
		json_object *s = json_object_new_object();

		json_object_object_add(p, "supported", json_object_new_boolean(has_policy_ops));
		json_object_object_add(p, "name", *policy ? json_object_new_string(policy) : NULL);
		if (has_policy_ops) {
			json_object_object_add(p, "last_exit", json_object_new_string(last_exit));
			cgroup_policies.arr = json_object_new_array();
			cgroup_walk(count_cgroup_policy, &cgroup_policies);
			json_object_object_add(p, "cgroups", cgroup_policies.arr);
		}
		json_object_object_add(obj, "policy", p);
		json_object_object_add(s, "enabled", stats_visible() ?
				       json_object_new_boolean(stats_on) : NULL);
		if (stats_on)
			json_object_object_add(s, "sharing",
					       json_object_new_boolean(stats_sharing_enabled()));
		if (tracked >= 0)
			json_object_object_add(s, "processes", json_object_new_int64(tracked));
		if (totals_known) {
			json_object_object_add(s, "dropped_process_events",
					       json_object_new_uint64(totals.procs_dropped));
			json_object_object_add(s, "dropped_cgroup_events",
					       json_object_new_uint64(totals.cgroups_dropped));
			json_object_object_add(s, "deferred_cow_folds",
					       json_object_new_uint64(totals.cow_folds_deferred));
			json_object_object_add(s, "policy_ejections",
					       json_object_new_uint64(totals.policy_ejected));
		}
		json_object_object_add(obj, "stats", s);
		json_print(obj);
		return EXIT_OK;
	}
	if (!has_policy_ops)
		printf("%-16s not supported by this kernel (no ksm_policy_ops)\n", "policy:");
	else
		printf("%-16s %s (last exit: %s)\n", "policy:", *policy ? policy : "none",
		       last_exit);
	if (has_policy_ops) {
		cgroup_walk(count_cgroup_policy, &cgroup_policies);
		if (cgroup_policies.n)
			printf("%-16s %d memory cgroups have their own ('ksmctl policy show')\n",
			       "", cgroup_policies.n);
	}
	if (!stats_visible())
		printf("%-16s not visible to this user (root sees them)\n", "statistics:");
	else if (!stats_on)
		printf("%-16s disabled ('ksmctl stats enable')\n", "statistics:");
	else if (!totals_known)
		printf("%-16s enabled (root sees the figures)\n", "statistics:");
	else
		printf("%-16s enabled, %ld processes tracked, %llu policy ejections; "
		       "sharing %s\n", "statistics:", tracked,
		       (unsigned long long)totals.policy_ejected,
		       stats_sharing_enabled() ? "on" : "off ('stats enable sharing on')");
	if (totals_known && (totals.procs_dropped || totals.cgroups_dropped))
		printf("%-16s the maps were full for %llu process and %llu cgroup events: "
		       "counters miss them ('stats enable max-procs N')\n", "incomplete:",
		       (unsigned long long)totals.procs_dropped,
		       (unsigned long long)totals.cgroups_dropped);
	if (totals_known && totals.cow_folds_deferred)
		printf("%-16s %llu times no room was left to follow copy-on-write counts: "
		       "cgroups get them at exit ('stats enable max-procs N')\n", "incomplete:",
		       (unsigned long long)totals.cow_folds_deferred);
	return EXIT_OK;
}
