// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-scan-cost: ksmd's CPU time per scanned page, in the guest.
 *
 *   ksm-scan-cost [--processes N] [--pages N] [--scans N] [--rounds N] [POLICY.bpf.o]
 *
 * N processes each map PAGES pages, every other one identical in every
 * process (they merge) and the rest unique (checksummed and looked up in the
 * unstable tree on every pass, never merged): interleaved, so that any
 * stretch of a pass costs the same per page. Once merging has settled, ksmd
 * runs flat out (sleep_millisecs=0) and each measurement takes its CPU time
 * (the kernel's sum_exec_runtime, through its process CPU clock) and
 * pages_scanned over SCANS full scans.
 *
 * Without POLICY every measurement is of mode "none". With it, each round
 * measures "none" and "policy" (the object's ksm_policy_ops attached), in
 * alternating order so that drift cancels. One JSON object per measurement
 * goes to stdout; scripts/bench.py compares them.
 */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ksm_util.h"

#define MAX_PROCESSES 64
#define SCAN_TIMEOUT_MS 600000

struct options {
	unsigned long processes, pages, scans, rounds;
	const char *policy;
};

struct sample {
	unsigned long long cpu_ns;
	unsigned long pages_scanned, full_scans, pages_sharing;
};

static void usage(void)
{
	fprintf(stderr, "usage: ksm-scan-cost [--processes N] [--pages N] [--scans N] "
		"[--rounds N] [POLICY.bpf.o]\n");
	exit(2);
}

static pid_t find_ksmd(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	pid_t pid = -1;

	while (proc && (d = readdir(proc))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "ksmd\n"))
			pid = atoi(d->d_name);
		fclose(f);
		if (pid > 0)
			break;
	}
	if (proc)
		closedir(proc);
	return pid;
}

/* A process that maps, fills and offers its pages, then waits to be killed. */
static pid_t start_process(unsigned long pages, unsigned int index)
{
	long ps = sysconf(_SC_PAGESIZE);
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		char *p = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			_exit(1);
		unsigned long i;

		madvise(p, pages * ps, MADV_NOHUGEPAGE);
		for (i = 0; i < pages; i++)
			fill_pattern(p + i * ps, ps, ps, i % 2 ? 0x10000 * (index + 1) + i : i);
		if (madvise(p, pages * ps, MADV_MERGEABLE))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		if (pid > 0)
			kill(pid, SIGKILL);
		return -1;
	}
	close(ready[0]);
	return pid;
}

static int take_sample(clockid_t ksmd_clock, struct sample *s)
{
	struct timespec ts;

	if (clock_gettime(ksmd_clock, &ts))
		return -errno;
	s->cpu_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	return ksm_read("pages_scanned", &s->pages_scanned) ?:
	       ksm_read("full_scans", &s->full_scans) ?:
	       ksm_read("pages_sharing", &s->pages_sharing);
}

static int measure(clockid_t ksmd_clock, const struct options *o, const char *mode,
		   unsigned long round)
{
	struct sample a, b;
	int err;

	/* One scan to let the mode take effect from a pass boundary on. */
	err = ksm_wait_full_scans(1, SCAN_TIMEOUT_MS) ?: take_sample(ksmd_clock, &a) ?:
	      ksm_wait_full_scans(o->scans, SCAN_TIMEOUT_MS) ?: take_sample(ksmd_clock, &b);
	if (err)
		return err;
	if (b.pages_scanned == a.pages_scanned)
		return -EIO;
	printf("{\"mode\": \"%s\", \"round\": %lu, \"full_scans\": %lu, \"pages_scanned\": %lu, "
	       "\"cpu_ns\": %llu, \"ns_per_page\": %.1f, \"pages_sharing\": %lu}\n",
	       mode, round, b.full_scans - a.full_scans, b.pages_scanned - a.pages_scanned,
	       b.cpu_ns - a.cpu_ns,
	       (double)(b.cpu_ns - a.cpu_ns) / (b.pages_scanned - a.pages_scanned),
	       b.pages_sharing);
	fflush(stdout);
	return 0;
}

/* The object's ksm_policy_ops map, loaded; NULL with a message on failure. */
static struct bpf_map *load_policy(const char *path, struct bpf_object **objp)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_map *map;

	if (!obj) {
		fprintf(stderr, "ksm-scan-cost: %s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "ksm-scan-cost: %s: cannot load: %s\n", path, strerror(errno));
		bpf_object__close(obj);
		return NULL;
	}
	bpf_object__for_each_map(map, obj) {
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS) {
			*objp = obj;
			return map;
		}
	}
	fprintf(stderr, "ksm-scan-cost: %s: no struct_ops map\n", path);
	bpf_object__close(obj);
	return NULL;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		unsigned long *val = NULL;

		if (!strcmp(argv[i], "--processes"))
			val = &o->processes;
		else if (!strcmp(argv[i], "--pages"))
			val = &o->pages;
		else if (!strcmp(argv[i], "--scans"))
			val = &o->scans;
		else if (!strcmp(argv[i], "--rounds"))
			val = &o->rounds;
		else if (argv[i][0] == '-' || o->policy)
			return -1;
		else
			o->policy = argv[i];
		if (val && (i + 1 == argc || parse_ulong(argv[++i], val) || !*val))
			return -1;
	}
	return o->processes > MAX_PROCESSES || o->pages < 2 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct options o = { .processes = 4, .pages = 2048, .scans = 4, .rounds = 5 };
	pid_t procs[MAX_PROCESSES] = { 0 }, ksmd;
	unsigned long smart_scan = 0, i, r;
	struct bpf_object *obj = NULL;
	struct bpf_map *policy = NULL;
	struct ksm_knobs knobs;
	clockid_t ksmd_clock;
	int err = 0;

	if (parse_options(argc, argv, &o))
		usage();
	ksmd = find_ksmd();
	if (ksmd < 0 || clock_getcpuclockid(ksmd, &ksmd_clock)) {
		fprintf(stderr, "ksm-scan-cost: no ksmd thread, or no CPU clock for it\n");
		return 1;
	}
	if (o.policy && !(policy = load_policy(o.policy, &obj)))
		return 1;
	if (ksm_test_begin(&knobs) || ksm_read("smart_scan", &smart_scan)) {
		fprintf(stderr, "ksm-scan-cost: cannot set the KSM knobs (root?)\n");
		return 1;
	}
	/* Every page on every pass: smart_scan's skipping would drift between rounds. */
	ksm_write("smart_scan", 0);
	ksm_write("pages_to_scan", 1000);
	for (i = 0; i < o.processes; i++) {
		procs[i] = start_process(o.pages, i);
		if (procs[i] < 0) {
			fprintf(stderr, "ksm-scan-cost: cannot start process %lu\n", i);
			err = -1;
			goto out;
		}
	}
	/* Merge everything that merges before measuring the steady state. */
	err = ksm_wait_full_scans(3, SCAN_TIMEOUT_MS);
	ksm_write("sleep_millisecs", 0);
	for (r = 1; !err && r <= o.rounds; r++) {
		for (i = 0; !err && i < (policy ? 2 : 1); i++) {
			bool with_policy = policy && (i ^ (r & 1));
			struct bpf_link *link = NULL;

			if (with_policy && !(link = bpf_map__attach_struct_ops(policy))) {
				fprintf(stderr, "ksm-scan-cost: cannot attach %s: %s\n",
					o.policy, strerror(errno));
				err = -1;
				break;
			}
			err = measure(ksmd_clock, &o, with_policy ? "policy" : "none", r);
			bpf_link__destroy(link);
		}
	}
	if (err > 0 || err < -1)
		fprintf(stderr, "ksm-scan-cost: measuring failed: %s\n", strerror(-err));
out:
	for (i = 0; i < o.processes; i++) {
		if (procs[i] > 0) {
			kill(procs[i], SIGKILL);
			waitpid(procs[i], NULL, 0);
		}
	}
	ksm_write("smart_scan", smart_scan);
	ksm_test_end(&knobs);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
