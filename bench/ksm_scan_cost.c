// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-scan-cost: ksmd's CPU time per page it visits, in the guest.
 *
 *   ksm-scan-cost [--processes N] [--pages N] [--passes N] [--rounds N]
 *                 [--cases CASE,...] [POLICY.bpf.o]
 *
 * A CASE is a page mix, with "+smart" for smart_scan=1 (else 0). N processes
 * each map PAGES pages of one mix:
 *   half  every other page identical in every process (they merge), the rest
 *         unique (checksummed and looked up in the unstable tree on every
 *         pass, never merged): interleaved, so any stretch of a pass costs
 *         the same per page;
 *   ksm   every page identical in every process: all are ksm pages;
 *   tail  unique pages that differ only in their last 8 bytes: every
 *         comparison in the unstable tree reads the whole page (memcmp's
 *         worst case).
 *
 * ksmd runs flat out (sleep_millisecs=0). bench/ksm_pass_cost.bpf.c records
 * each full scan at its boundaries: ksmd's CPU time and the pages it visited
 * (pages_scanned + pages_skipped). A measurement sums PASSES whole passes, a
 * multiple of 9 with smart_scan: a page that has aged is then skipped 8
 * passes in 9, and the pages of a mix age in step.
 *
 * Mode "never" is measured for every case first, before anything was ever
 * attached. With POLICY, each case is then set up again and each round
 * measures "policy" (the object's ksm_policy_ops attached) and "detached"
 * (after it was detached), in alternating order. One JSON object per
 * measurement goes to stdout; scripts/bench.py compares them.
 */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/types.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ksm_pass_cost.h"
#include "ksm_pass_cost.skel.h"
#include "ksm_util.h"

#define MAX_PROCESSES 64
#define MAX_CASES 16
/* More than the ring buffer holds (bench/ksm_pass_cost.bpf.c). */
#define MAX_PASSES 2048
/* Passes to merge what merges and, with smart_scan, to age every page. */
#define WARMUP_PASSES 4
#define WARMUP_PASSES_SMART 20
/* Passes after a mode change: the one it fell in, and one to settle. */
#define SETTLE_PASSES 2
#define SMART_PERIOD 9
#define POLL_US 50000
/* An error already reported: no errno has this value. */
#define REPORTED (-4096)
#define PASS_TIMEOUT_MS 600000

enum mix { MIX_HALF, MIX_KSM, MIX_TAIL };
static const char *const mix_names[] = { "half", "ksm", "tail" };

struct bench_case {
	enum mix mix;
	bool smart;
};

struct options {
	unsigned long processes, pages, passes, rounds;
	struct bench_case cases[MAX_CASES];
	unsigned int ncases;
	const char *policy;
};

/* Pass records from the ring buffer, in order, not yet taken. */
static struct ksm_pass_cost queue[MAX_PASSES];
static unsigned int queued, taken;

static void usage(void)
{
	fprintf(stderr, "usage: ksm-scan-cost [--processes N] [--pages N] [--passes N] "
		"[--rounds N] [--cases half|ksm|tail[+smart],...] [POLICY.bpf.o]\n");
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

static void fill_page(char *page, long ps, enum mix mix, unsigned int index, unsigned long i)
{
	switch (mix) {
	case MIX_HALF:
		fill_pattern(page, ps, ps, i % 2 ? 0x10000 * (index + 1) + i : i);
		break;
	case MIX_KSM:
		fill_pattern(page, ps, ps, i);
		break;
	case MIX_TAIL:
		/* One pattern everywhere; the last word names the process and page. */
		fill_pattern(page, ps, ps, 0x7a11);
		*(unsigned long *)(page + ps - 8) = ((unsigned long)(index + 1) << 32) | i;
		break;
	}
}

/* A process that maps, fills and offers its pages, then waits to be killed. */
static pid_t start_process(unsigned long pages, enum mix mix, unsigned int index)
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
		unsigned long i;

		if (p == MAP_FAILED)
			_exit(1);
		madvise(p, pages * ps, MADV_NOHUGEPAGE);
		for (i = 0; i < pages; i++)
			fill_page(p + i * ps, ps, mix, index, i);
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

static void stop_processes(pid_t *procs, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (procs[i] > 0) {
			kill(procs[i], SIGKILL);
			waitpid(procs[i], NULL, 0);
		}
		procs[i] = 0;
	}
}

static int on_pass(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size < sizeof(queue[0]) || queued == MAX_PASSES)
		return -E2BIG;
	memcpy(&queue[queued++], data, sizeof(queue[0]));
	return 0;
}

/* The next pass that ends, waiting for it; 0 or -errno. */
static int next_pass(struct ring_buffer *rb, struct ksm_pass_cost *pass)
{
	unsigned long deadline = ksm_now_ms() + PASS_TIMEOUT_MS;
	int err;

	while (taken == queued) {
		queued = taken = 0;
		err = ring_buffer__consume(rb);
		if (err < 0)
			return err;
		if (taken < queued)
			break;
		if (ksm_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(POLL_US);
	}
	*pass = queue[taken++];
	return 0;
}

/* Let the passes now in progress end unmeasured, and @n more after them. */
static int skip_passes(struct ring_buffer *rb, unsigned long n)
{
	struct ksm_pass_cost pass;
	int err = ring_buffer__consume(rb);

	if (err < 0)
		return err;
	taken = queued;
	while (n--) {
		err = next_pass(rb, &pass);
		if (err)
			return err;
	}
	return 0;
}

static int measure(struct ring_buffer *rb, const struct options *o, const struct bench_case *c,
		   const char *mode, unsigned long round)
{
	unsigned long passes = c->smart ? (o->passes + SMART_PERIOD - 1) / SMART_PERIOD *
					  SMART_PERIOD : o->passes;
	unsigned long long runtime = 0, sum_exec = 0, scanned = 0, skipped = 0;
	unsigned long i, sharing = 0, switches = 0;
	struct ksm_pass_cost pass;
	char per_pass[MAX_PASSES * 12] = "";
	size_t len = 0;
	__u64 seq = 0;
	int err;

	err = skip_passes(rb, SETTLE_PASSES);
	for (i = 0; !err && i < passes; i++) {
		err = next_pass(rb, &pass);
		if (err)
			break;
		/* A pass the program did not see whole leaves a gap. */
		if (i && pass.seq != seq + 1) {
			fprintf(stderr, "ksm-scan-cost: pass %llu missing\n", (unsigned long long)seq + 1);
			return REPORTED;
		}
		seq = pass.seq;
		runtime += pass.runtime_ns;
		sum_exec += pass.sum_exec_runtime_ns;
		scanned += pass.pages_scanned;
		skipped += pass.pages_skipped;
		switches += pass.switches;
		len += snprintf(per_pass + len, sizeof(per_pass) - len, "%s%llu", i ? ", " : "",
				(unsigned long long)pass.runtime_ns);
	}
	err = err ?: ksm_read("pages_sharing", &sharing);
	if (err)
		return err;
	if (!(scanned + skipped))
		return -EIO;
	printf("{\"case\": \"%s%s\", \"mix\": \"%s\", \"smart_scan\": %d, \"mode\": \"%s\", "
	       "\"round\": %lu, \"passes\": %lu, \"runtime_ns\": %llu, "
	       "\"sum_exec_runtime_ns\": %llu, \"pages_scanned\": %llu, \"pages_skipped\": %llu, "
	       "\"pages_visited\": %llu, \"ns_per_visited\": %.2f, \"switches\": %lu, "
	       "\"pages_sharing\": %lu, \"runtime_per_pass\": [%s]}\n",
	       mix_names[c->mix], c->smart ? "+smart" : "", mix_names[c->mix], c->smart, mode,
	       round, passes, runtime, sum_exec, scanned, skipped, scanned + skipped,
	       (double)runtime / (scanned + skipped), switches, sharing, per_pass);
	fflush(stdout);
	return 0;
}

/*
 * Set up @c from a clean KSM, run ksmd flat out until it settled, and measure
 * each round: "never" only, or "policy" and "detached" in alternating order.
 */
static int run_case(struct ring_buffer *rb, const struct options *o, const struct bench_case *c,
		    struct bpf_map *policy)
{
	pid_t procs[MAX_PROCESSES] = { 0 };
	unsigned long i, r;
	int err;

	/* run=2 unmerges and frees what the case before left behind. */
	err = ksm_write("run", 2) ?: ksm_write("smart_scan", c->smart) ?:
	      ksm_write("pages_to_scan", 1000) ?: ksm_write("sleep_millisecs", 0);
	for (i = 0; !err && i < o->processes; i++) {
		procs[i] = start_process(o->pages, c->mix, i);
		if (procs[i] < 0) {
			fprintf(stderr, "ksm-scan-cost: cannot start process %lu\n", i);
			err = REPORTED;
		}
	}
	err = err ?: ksm_write("run", 1) ?:
	      skip_passes(rb, c->smart ? WARMUP_PASSES_SMART : WARMUP_PASSES);
	for (r = 1; !err && r <= o->rounds; r++) {
		for (i = 0; !err && i < (policy ? 2 : 1); i++) {
			bool with_policy = policy && (i ^ !(r & 1)) == 0;
			struct bpf_link *link = NULL;

			if (with_policy && !(link = bpf_map__attach_struct_ops(policy))) {
				fprintf(stderr, "ksm-scan-cost: cannot attach %s: %s\n",
					o->policy, strerror(errno));
				err = REPORTED;
				break;
			}
			err = measure(rb, o, c, !policy ? "never" : link ? "policy" : "detached", r);
			bpf_link__destroy(link);
		}
	}
	stop_processes(procs, o->processes);
	return err;
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

static int parse_cases(char *list, struct options *o)
{
	char *tok, *save = NULL;

	o->ncases = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct bench_case *c = &o->cases[o->ncases];
		char *plus = strchr(tok, '+');
		unsigned int m;

		if (o->ncases == MAX_CASES)
			return -1;
		c->smart = plus && !strcmp(plus, "+smart");
		if (plus && !c->smart)
			return -1;
		if (plus)
			*plus = 0;
		for (m = 0; m < sizeof(mix_names) / sizeof(mix_names[0]); m++)
			if (!strcmp(tok, mix_names[m]))
				break;
		if (m == sizeof(mix_names) / sizeof(mix_names[0]))
			return -1;
		c->mix = m;
		o->ncases++;
	}
	return o->ncases ? 0 : -1;
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
		else if (!strcmp(argv[i], "--passes"))
			val = &o->passes;
		else if (!strcmp(argv[i], "--rounds"))
			val = &o->rounds;
		else if (!strcmp(argv[i], "--cases")) {
			if (i + 1 == argc || parse_cases(argv[++i], o))
				return -1;
			continue;
		} else if (argv[i][0] == '-' || o->policy)
			return -1;
		else
			o->policy = argv[i];
		if (val && (i + 1 == argc || parse_ulong(argv[++i], val) || !*val))
			return -1;
	}
	return o->processes > MAX_PROCESSES || o->pages < 2 ||
	       o->passes > MAX_PASSES / 4 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct options o = { .processes = 4, .pages = 4096, .passes = 4, .rounds = 2,
			     .cases = { { MIX_HALF, false } }, .ncases = 1 };
	struct ksm_pass_cost_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct bpf_object *obj = NULL;
	struct bpf_map *policy = NULL;
	unsigned long smart_scan = 0;
	struct ksm_knobs knobs;
	unsigned int c;
	pid_t ksmd;
	int err = 0;

	if (parse_options(argc, argv, &o))
		usage();
	/* Loaded only after "never" is measured: say now if it cannot be. */
	if (o.policy && access(o.policy, R_OK)) {
		fprintf(stderr, "ksm-scan-cost: %s: %s\n", o.policy, strerror(errno));
		return 1;
	}
	ksmd = find_ksmd();
	if (ksmd < 0) {
		fprintf(stderr, "ksm-scan-cost: no ksmd thread\n");
		return 1;
	}
	skel = ksm_pass_cost_bpf__open();
	if (skel)
		skel->rodata->ksmd_pid = ksmd;
	if (!skel || ksm_pass_cost_bpf__load(skel) || ksm_pass_cost_bpf__attach(skel)) {
		fprintf(stderr, "ksm-scan-cost: cannot load or attach the pass recorder: %s\n",
			strerror(errno));
		ksm_pass_cost_bpf__destroy(skel);
		return 1;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.passes), on_pass, NULL, NULL);
	if (!rb || ksm_test_begin(&knobs) || ksm_read("smart_scan", &smart_scan)) {
		fprintf(stderr, "ksm-scan-cost: cannot set the KSM knobs (root?)\n");
		ring_buffer__free(rb);
		ksm_pass_cost_bpf__destroy(skel);
		return 1;
	}
	/* Nothing attached since boot: "never" first, for every case. */
	for (c = 0; !err && c < o.ncases; c++)
		err = run_case(rb, &o, &o.cases[c], NULL);
	if (!err && o.policy && !(policy = load_policy(o.policy, &obj)))
		err = REPORTED;
	for (c = 0; !err && policy && c < o.ncases; c++)
		err = run_case(rb, &o, &o.cases[c], policy);
	if (err && err != REPORTED)
		fprintf(stderr, "ksm-scan-cost: measuring failed: %s\n", strerror(-err));
	ksm_write("run", 2);
	ksm_write("smart_scan", smart_scan);
	ksm_test_end(&knobs);
	bpf_object__close(obj);
	ring_buffer__free(rb);
	ksm_pass_cost_bpf__destroy(skel);
	return err ? 1 : 0;
}
