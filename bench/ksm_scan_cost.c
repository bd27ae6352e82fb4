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
#include <errno.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_process.h"
#include "ksm_pass_reader.h"
#include "ksm_util.h"

#define MAX_PROCESSES 64
#define MAX_CASES 16
#define MAX_PASSES PASS_READER_MAX_PASSES
/* Passes to merge what merges and, with smart_scan, to age every page. */
#define WARMUP_PASSES 4
#define WARMUP_PASSES_SMART 20
/* Passes after a mode change: the one it fell in, and one to settle. */
#define SETTLE_PASSES 2
#define SMART_PERIOD 9
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

static void usage(void)
{
	fprintf(stderr, "usage: ksm-scan-cost [--processes N] [--pages N] [--passes N] "
		"[--rounds N] [--cases half|ksm|tail[+smart],...] [POLICY.bpf.o]\n");
	exit(2);
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

struct process_setup {
	unsigned long pages;
	enum mix mix;
	unsigned int index;
};

/* In the child: map, fill and offer its pages. */
static int setup_process(void *arg)
{
	const struct process_setup *setup = arg;
	long ps = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, setup->pages * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long i;

	if (p == MAP_FAILED)
		return -1;
	madvise(p, setup->pages * ps, MADV_NOHUGEPAGE);
	for (i = 0; i < setup->pages; i++)
		fill_page(p + i * ps, ps, setup->mix, setup->index, i);
	return madvise(p, setup->pages * ps, MADV_MERGEABLE);
}

static int measure(struct pass_reader *rb, const struct options *o, const struct bench_case *c,
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

	err = pass_reader_skip(rb, SETTLE_PASSES, PASS_TIMEOUT_MS);
	for (i = 0; !err && i < passes; i++) {
		err = pass_reader_next(rb, &pass, PASS_TIMEOUT_MS);
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
static int run_case(struct pass_reader *rb, const struct options *o, const struct bench_case *c,
		    struct bpf_map *policy)
{
	pid_t procs[MAX_PROCESSES] = { 0 };
	unsigned long i, r;
	int err;

	/* run=2 unmerges and frees what the case before left behind. */
	err = ksm_write("run", 2) ?: ksm_write("smart_scan", c->smart) ?:
	      ksm_write("pages_to_scan", 1000) ?: ksm_write("sleep_millisecs", 0);
	for (i = 0; !err && i < o->processes; i++) {
		struct process_setup setup = { .pages = o->pages, .mix = c->mix, .index = i };

		procs[i] = start_process(setup_process, &setup);
		if (procs[i] < 0) {
			fprintf(stderr, "ksm-scan-cost: cannot start process %lu\n", i);
			err = REPORTED;
		}
	}
	err = err ?: ksm_write("run", 1) ?:
	      pass_reader_skip(rb, c->smart ? WARMUP_PASSES_SMART : WARMUP_PASSES,
			       PASS_TIMEOUT_MS);
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
	/* Large (its queue of passes): not on the stack. */
	static struct pass_reader reader;
	struct bpf_object *obj = NULL;
	struct bpf_map *policy = NULL;
	unsigned long smart_scan = 0;
	struct ksm_knobs knobs;
	unsigned int c;
	int err = 0;

	if (parse_options(argc, argv, &o))
		usage();
	/* Loaded only after "never" is measured: say now if it cannot be. */
	if (o.policy && access(o.policy, R_OK)) {
		fprintf(stderr, "ksm-scan-cost: %s: %s\n", o.policy, strerror(errno));
		return 1;
	}
	if (pass_reader_open(&reader, false, "ksm-scan-cost"))
		return 1;
	if (ksm_test_begin(&knobs) || ksm_read("smart_scan", &smart_scan)) {
		fprintf(stderr, "ksm-scan-cost: cannot set the KSM knobs (root?)\n");
		pass_reader_close(&reader);
		return 1;
	}
	/* Nothing attached since boot: "never" first, for every case. */
	for (c = 0; !err && c < o.ncases; c++)
		err = run_case(&reader, &o, &o.cases[c], NULL);
	if (!err && o.policy && !(policy = load_policy(o.policy, &obj)))
		err = REPORTED;
	for (c = 0; !err && policy && c < o.ncases; c++)
		err = run_case(&reader, &o, &o.cases[c], policy);
	if (err && err != REPORTED)
		fprintf(stderr, "ksm-scan-cost: measuring failed: %s\n", strerror(-err));
	ksm_write("run", 2);
	ksm_write("smart_scan", smart_scan);
	ksm_test_end(&knobs);
	bpf_object__close(obj);
	pass_reader_close(&reader);
	return err ? 1 : 0;
}
