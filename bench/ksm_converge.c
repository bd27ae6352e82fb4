// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-converge: how many pages ksmd visits, and how much CPU it spends,
 * before it reaches the sharing a workload can achieve (issue 13, P2/P3).
 *
 *   ksm-converge --workload w1|w1-ro|w2|w2-dyn [--processes N] [--pages N]
 *                [--cgroup DIR] [--max-passes N] [--stall-passes N]
 *                [--join N] [--settle-passes N] [--label TEXT]
 *
 * Whatever configures KSM (smart_scan, the pace, the advisor, a policy) is
 * set by the caller before; this program starts KSM over (run=2), sets
 * use_zero_pages=0, starts N processes of PAGES pages each and lets ksmd run:
 *
 *   w1     page i is the same in every process, the pages of a process all
 *          differ: every page merges (pages_shared = PAGES, pages_sharing =
 *          (N - 1) x PAGES); writable, offered with MADV_MERGEABLE after the fill;
 *   w1-ro  the same, made read-only (mprotect PROT_READ) before MADV_MERGEABLE;
 *   w2     page i by i mod 4: a duplicate (as in w1), a zero page, a page a
 *          thread of the process keeps rewriting (one word of each, every
 *          WRITE_PERIOD_MS), a page unique to the process. Duplicates merge
 *          as in w1; with use_zero_pages=0 the zero pages of all processes
 *          merge into KSM pages of max_page_sharing mappings each; the rest
 *          never merge;
 *   w2-dyn w2, and once it converged and ksmd ran SETTLE more passes over it
 *          (the steady state: smart_scan's skips, a policy's backoff), JOIN
 *          more processes of the same layout join; the run then measures
 *          from their arrival to the sharing of all N + JOIN processes.
 *
 * With --cgroup, each process moves itself into DIR (cgroup v2) before it
 * maps its memory: the "trusted cgroup" variant, whatever trusts it.
 *
 * The achievable sharing is computed from the layout. ksmd runs until
 * pages_sharing reaches it, or it did not change for STALL passes, or after
 * MAX passes; then the oracle: smart_scan off until neither pages_sharing nor
 * pages_shared changed for 2 full passes, and whether they reached the
 * computed values. bench/ksm_pass_cost.bpf.c records every pass at its
 * boundaries and a point each time ksmd leaves the CPU (after each batch):
 * pages visited (scanned + smart_scan-skipped + policy-skipped), ksmd's CPU
 * time, the guest clock, pages_sharing, pages_shared and general_profit.
 * One JSON object goes to stdout; scripts/bench_converge.py reads it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_process.h"
#include "ksm_pass_reader.h"
#include "ksm_util.h"
#include "w2_layout.h"

#define MAX_PROCESSES 64
#define ORACLE_STEADY_PASSES 2
#define ORACLE_MAX_PASSES 40
#define WRITE_PERIOD_MS 10
#define PASS_TIMEOUT_MS 600000
/* An error already reported: no errno has this value. */
#define REPORTED (-4096)

enum workload { W1, W1_RO, W2, W2_DYN };
static const char *const workload_names[] = { "w1", "w1-ro", "w2", "w2-dyn" };

struct options {
	enum workload workload;
	unsigned long processes, pages, max_passes, stall_passes;
	unsigned long join, settle_passes;	/* w2-dyn */
	const char *cgroup;
	const char *label;
};

/* What the layout can merge to, and how many pages take part. */
struct target {
	unsigned long sharing, shared, candidates;
};

static void usage(void)
{
	fprintf(stderr, "usage: ksm-converge --workload w1|w1-ro|w2|w2-dyn [--processes N] "
		"[--pages N] [--cgroup DIR] [--max-passes N] [--stall-passes N] [--join N] "
		"[--settle-passes N] [--label TEXT]\n");
	exit(2);
}

static bool mixed_layout(enum workload wl)
{
	return wl == W2 || wl == W2_DYN;
}

/* The sharing of @processes processes of the layout. */
static struct target compute_target(const struct options *o, unsigned long processes,
				    unsigned long max_page_sharing)
{
	struct target t = { 0 };
	unsigned long i, duplicates = 0, zeros = 0, zero_mappings, zero_ksm_pages;

	if (!mixed_layout(o->workload)) {
		t.shared = o->pages;
		t.sharing = (processes - 1) * o->pages;
		t.candidates = processes * o->pages;
		return t;
	}
	for (i = 0; i < o->pages; i++) {
		duplicates += w2_kind_of(i) == W2_DUPLICATE;
		zeros += w2_kind_of(i) == W2_ZERO;
	}
	/* A KSM page holds at most max_page_sharing mappings: more make more copies. */
	zero_mappings = processes * zeros;
	zero_ksm_pages = zero_mappings < 2 ? 0 :
			 (zero_mappings + max_page_sharing - 1) / max_page_sharing;
	t.shared = (processes > 1 ? duplicates : 0) + zero_ksm_pages;
	t.sharing = (processes - 1) * duplicates + (zero_ksm_pages ? zero_mappings - zero_ksm_pages : 0);
	t.candidates = processes * (processes > 1 ? duplicates : 0) +
		       (zero_ksm_pages ? zero_mappings : 0);
	return t;
}

struct rewriter {
	char *base;
	long ps;
	unsigned long pages;
};

/* Keeps the rewritten pages of w2 changing: one word of each per period. */
static void *rewrite_pages(void *arg)
{
	const struct rewriter *w = arg;
	unsigned long i, round = 0;

	for (;;) {
		round++;
		for (i = 0; i < w->pages; i++)
			if (w2_kind_of(i) == W2_REWRITTEN)
				*(volatile unsigned long *)(w->base + i * w->ps) = round;
		usleep(WRITE_PERIOD_MS * 1000);
	}
	return NULL;
}

static void fill_page(char *page, long ps, enum workload wl, unsigned int index, unsigned long i)
{
	/* Seeds above any page index: unique per process. */
	unsigned long own = 0x100000UL * (index + 1) + i;

	if (!mixed_layout(wl)) {
		fill_pattern(page, ps, ps, i);
		return;
	}
	switch (w2_kind_of(i)) {
	case W2_DUPLICATE:
		fill_pattern(page, ps, ps, i);
		break;
	case W2_ZERO:
		/* Faulted in as a page of its own, not the zero page. */
		memset(page, 0, ps);
		break;
	case W2_REWRITTEN:
	case W2_UNIQUE:
		fill_pattern(page, ps, ps, own);
		break;
	}
}

static int join_cgroup(const char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	return file_write_text(path, "0");
}

struct process_setup {
	const struct options *o;
	unsigned int index;
};

/* In the child: join the cgroup, map, fill and offer its pages, start the rewriter. */
static int setup_process(void *arg)
{
	const struct process_setup *setup = arg;
	const struct options *o = setup->o;
	long ps = sysconf(_SC_PAGESIZE);
	size_t len = o->pages * ps;
	static struct rewriter w;
	pthread_t thread;
	unsigned long i;
	char *p;

	if (o->cgroup && join_cgroup(o->cgroup))
		return -1;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < o->pages; i++)
		fill_page(p + i * ps, ps, o->workload, setup->index, i);
	if (o->workload == W1_RO && mprotect(p, len, PROT_READ))
		return -1;
	if (madvise(p, len, MADV_MERGEABLE))
		return -1;
	w = (struct rewriter){ .base = p, .ps = ps, .pages = o->pages };
	if (mixed_layout(o->workload) && pthread_create(&thread, NULL, rewrite_pages, &w))
		return -1;
	return 0;
}

static void print_state(const struct ksm_sharing_state *st)
{
	printf("\"pages_sharing\": %llu, \"pages_shared\": %llu, \"zero_pages\": %llu, "
	       "\"rmap_items\": %llu, \"general_profit\": %lld",
	       (unsigned long long)st->pages_sharing, (unsigned long long)st->pages_shared,
	       (unsigned long long)st->zero_pages, (unsigned long long)st->rmap_items,
	       (long long)st->general_profit);
}

/* One pass, its figures from the start of the run (@origin: the first pass). */
static void print_pass(const struct ksm_pass_cost *p, const struct ksm_pass_cost *origin,
		       const char *phase)
{
	printf("{\"phase\": \"%s\", \"seq\": %llu, \"pages_scanned\": %llu, "
	       "\"pages_skipped\": %llu, \"pages_policy_skipped\": %llu, \"pages_visited\": %llu, "
	       "\"runtime_ns\": %llu, \"end_visited\": %llu, \"end_runtime_ns\": %llu, "
	       "\"end_time_ns\": %llu, ", phase, (unsigned long long)p->seq,
	       (unsigned long long)p->pages_scanned, (unsigned long long)p->pages_skipped,
	       (unsigned long long)p->pages_policy_skipped,
	       (unsigned long long)(p->pages_scanned + p->pages_skipped + p->pages_policy_skipped),
	       (unsigned long long)p->runtime_ns,
	       (unsigned long long)(p->start_visited_total - origin->start_visited_total +
				    p->pages_scanned + p->pages_skipped + p->pages_policy_skipped),
	       (unsigned long long)(p->start_runtime_total_ns - origin->start_runtime_total_ns +
				    p->runtime_ns),
	       (unsigned long long)(p->end_ns - origin->start_ns));
	print_state(&p->state);
	printf("}");
}

/* The samples of the run so far, from @origin, as [visited, runtime, time, sharing, ...]. */
static void print_samples(const struct pass_reader *r, const struct ksm_pass_cost *origin)
{
	size_t i;
	bool first = true;

	printf("\"sample_fields\": [\"visited\", \"runtime_ns\", \"time_ns\", \"pages_sharing\", "
	       "\"pages_shared\", \"zero_pages\", \"general_profit\"], \"samples\": [");
	for (i = 0; i < r->nsamples; i++) {
		const struct ksm_scan_sample *s = &r->sample[i];

		/* Before the run's first pass: its idle wait, nothing visited. */
		if (s->time_ns < origin->start_ns)
			continue;
		printf("%s[%llu, %llu, %llu, %llu, %llu, %llu, %lld]", first ? "" : ", ",
		       (unsigned long long)(s->pages_visited - origin->start_visited_total),
		       (unsigned long long)(s->runtime_ns - origin->start_runtime_total_ns),
		       (unsigned long long)(s->time_ns - origin->start_ns),
		       (unsigned long long)s->state.pages_sharing,
		       (unsigned long long)s->state.pages_shared,
		       (unsigned long long)s->state.zero_pages,
		       (long long)s->state.general_profit);
		first = false;
	}
	printf("]");
}

static bool same_sharing(const struct ksm_pass_cost *a, const struct ksm_pass_cost *b)
{
	return a->state.pages_sharing == b->state.pages_sharing &&
	       a->state.pages_shared == b->state.pages_shared;
}

static int next_in_order(struct pass_reader *r, struct ksm_pass_cost *pass,
			 const struct ksm_pass_cost *last, bool have_last)
{
	int err = pass_reader_next(r, pass, PASS_TIMEOUT_MS);

	/* A pass the recorder did not see whole would leave a gap in the counts. */
	if (!err && have_last && pass->seq != last->seq + 1) {
		fprintf(stderr, "ksm-converge: pass %llu missing\n",
			(unsigned long long)last->seq + 1);
		return REPORTED;
	}
	return err;
}

/* Where a run is: its first pass (the origin of its figures) and its last. */
struct run_state {
	struct ksm_pass_cost origin, last;
	unsigned long passes;
};

/* The next pass, printed as part of @phase (inside the "passes" array). */
static int take_pass(struct pass_reader *r, struct run_state *s, struct ksm_pass_cost *pass,
		     const char *phase)
{
	int err = next_in_order(r, pass, &s->last, s->passes > 0);

	if (err)
		return err;
	if (!s->passes++)
		s->origin = *pass;
	print_pass(pass, &s->origin, phase);
	printf(", ");
	return 0;
}

/*
 * Passes until pages_sharing reaches @sharing, or it did not change for
 * stall_passes, or after max_passes: whether it reached it.
 */
static int converge(struct pass_reader *r, const struct options *o, struct run_state *s,
		    unsigned long sharing, const char *phase, bool *converged)
{
	unsigned long n, stalled = 0;
	struct ksm_pass_cost pass;
	int err;

	for (n = 0; n < o->max_passes; n++) {
		err = take_pass(r, s, &pass, phase);
		if (err)
			return err;
		stalled = n && same_sharing(&pass, &s->last) ? stalled + 1 : 0;
		s->last = pass;
		*converged = pass.state.pages_sharing >= sharing;
		if (*converged || stalled >= o->stall_passes)
			break;
	}
	return 0;
}

/* w2-dyn: more passes over the converged processes, as they are. */
static int settle(struct pass_reader *r, const struct options *o, struct run_state *s)
{
	struct ksm_pass_cost pass;
	unsigned long n;
	int err;

	for (n = 0; n < o->settle_passes; n++) {
		err = take_pass(r, s, &pass, "settle");
		if (err)
			return err;
		s->last = pass;
	}
	return 0;
}

/* The oracle: every page looked at in every pass, until nothing changes. */
static int oracle(struct pass_reader *r, struct run_state *s, unsigned long *oracle_passes)
{
	unsigned long n, steady = 0, smart_scan = 0;
	struct ksm_pass_cost pass;
	int err;

	err = ksm_read("smart_scan", &smart_scan) ?: ksm_write("smart_scan", 0);
	for (n = 0; !err && n < ORACLE_MAX_PASSES && steady < ORACLE_STEADY_PASSES; n++) {
		err = take_pass(r, s, &pass, "oracle");
		if (err)
			break;
		steady = same_sharing(&pass, &s->last) ? steady + 1 : 0;
		s->last = pass;
	}
	*oracle_passes = n;
	return err ?: ksm_write("smart_scan", smart_scan);
}

/* Start processes @first to @last - 1 of the layout; 0 or REPORTED. */
static int start_processes(const struct options *o, pid_t *procs, unsigned long first,
			   unsigned long last)
{
	unsigned long i;

	for (i = first; i < last; i++) {
		struct process_setup setup = { .o = o, .index = i };

		procs[i] = start_process(setup_process, &setup);
		if (procs[i] < 0) {
			fprintf(stderr, "ksm-converge: cannot start process %lu%s%s\n", i,
				o->cgroup ? " in " : "", o->cgroup ? o->cgroup : "");
			return REPORTED;
		}
	}
	return 0;
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	/* The clock of bpf_ktime_get_ns(), which the recorder stamps with. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * w2-dyn: settle, then the joining processes arrive; their arrival, on the
 * run's clock, goes in @join_ns. The sharing to reach is then @after's.
 */
static int join(struct pass_reader *r, const struct options *o, struct run_state *s,
		pid_t *procs, __u64 *join_ns)
{
	int err = settle(r, o, s) ?:
		  start_processes(o, procs, o->processes, o->processes + o->join);

	*join_ns = monotonic_ns() - s->origin.start_ns;
	return err;
}

static void print_join(const struct options *o, const struct target *before,
		       const struct target *after, __u64 join_ns)
{
	printf(", \"join\": {\"processes\": %lu, \"settle_passes\": %lu, \"time_ns\": %llu, "
	       "\"before_sharing\": %lu, \"before_shared\": %lu, \"new_candidates\": %lu}",
	       o->join, o->settle_passes, (unsigned long long)join_ns, before->sharing,
	       before->shared, after->candidates - before->candidates);
}

static int run_workload(struct pass_reader *r, const struct options *o)
{
	pid_t procs[MAX_PROCESSES] = { 0 };
	unsigned long max_page_sharing = 256, oracle_passes = 0, total = o->processes;
	bool dynamic = o->workload == W2_DYN, converged = false;
	struct run_state s = { .passes = 0 };
	struct target first, t;
	__u64 join_ns = 0;
	int err;

	/* run=2 unmerges and frees what an earlier run left behind. */
	err = ksm_write("run", 2) ?: ksm_write("use_zero_pages", 0) ?:
	      ksm_read("max_page_sharing", &max_page_sharing);
	if (err)
		return err;
	if (dynamic)
		total += o->join;
	first = compute_target(o, o->processes, max_page_sharing);
	t = compute_target(o, total, max_page_sharing);
	err = start_processes(o, procs, 0, o->processes);
	if (err) {
		stop_processes(procs, o->processes);
		return err;
	}
	/* Nothing scans yet: what the recorder sent so far is not this run's. */
	err = pass_reader_skip(r, 0, PASS_TIMEOUT_MS) ?: pass_reader_take_samples(r);
	pass_reader_clear_samples(r);
	printf("{\"label\": \"%s\", \"workload\": \"%s\", \"processes\": %lu, "
	       "\"pages_per_process\": %lu, \"cgroup\": \"%s\", \"target_sharing\": %lu, "
	       "\"target_shared\": %lu, \"candidates\": %lu, \"max_page_sharing\": %lu, "
	       "\"passes\": [", o->label, workload_names[o->workload], total, o->pages,
	       o->cgroup ? o->cgroup : "", t.sharing, t.shared, t.candidates, max_page_sharing);
	err = err ?: ksm_write("run", 1) ?:
	      converge(r, o, &s, first.sharing, "converge", &converged);
	if (dynamic)
		err = err ?: join(r, o, &s, procs, &join_ns) ?:
		      converge(r, o, &s, t.sharing, "join", &converged);
	err = err ?: oracle(r, &s, &oracle_passes);
	err = err ?: pass_reader_take_samples(r);
	printf("null], ");
	if (!err) {
		print_samples(r, &s.origin);
		printf(", \"converged\": %s, \"oracle\": {\"passes\": %lu, ",
		       converged ? "true" : "false", oracle_passes);
		print_state(&s.last.state);
		printf(", \"reached\": %s}", s.last.state.pages_sharing == t.sharing &&
		       s.last.state.pages_shared == t.shared ? "true" : "false");
		if (dynamic)
			print_join(o, &first, &t, join_ns);
	}
	printf("}\n");
	fflush(stdout);
	stop_processes(procs, total);
	ksm_write("run", 2);
	return err;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		unsigned long *val = NULL;
		const char **text = NULL;

		if (!strcmp(argv[i], "--processes"))
			val = &o->processes;
		else if (!strcmp(argv[i], "--pages"))
			val = &o->pages;
		else if (!strcmp(argv[i], "--max-passes"))
			val = &o->max_passes;
		else if (!strcmp(argv[i], "--stall-passes"))
			val = &o->stall_passes;
		else if (!strcmp(argv[i], "--join"))
			val = &o->join;
		else if (!strcmp(argv[i], "--settle-passes"))
			val = &o->settle_passes;
		else if (!strcmp(argv[i], "--cgroup"))
			text = &o->cgroup;
		else if (!strcmp(argv[i], "--label"))
			text = &o->label;
		else if (!strcmp(argv[i], "--workload")) {
			unsigned int w;

			if (++i == argc)
				return -1;
			for (w = 0; w < sizeof(workload_names) / sizeof(workload_names[0]); w++)
				if (!strcmp(argv[i], workload_names[w]))
					break;
			if (w == sizeof(workload_names) / sizeof(workload_names[0]))
				return -1;
			o->workload = w;
			continue;
		} else
			return -1;
		if (++i == argc)
			return -1;
		if (text)
			*text = argv[i];
		else if (parse_ulong(argv[i], val) || !*val)
			return -1;
	}
	/* Labels go into JSON as they are. */
	if (strpbrk(o->label, "\"\\") || (o->cgroup && strpbrk(o->cgroup, "\"\\")))
		return -1;
	return o->processes + o->join > MAX_PROCESSES || o->processes < 2 || o->pages < 4 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct options o = { .workload = W1, .processes = 8, .pages = 8192, .max_passes = 40,
			     .stall_passes = 12, .join = 2, .settle_passes = 8, .label = "" };
	/* Large (its queue of passes): not on the stack. */
	static struct pass_reader reader;
	unsigned long run = 0, use_zero_pages = 0;
	int err;

	if (parse_options(argc, argv, &o))
		usage();
	if (o.cgroup && access(o.cgroup, W_OK)) {
		fprintf(stderr, "ksm-converge: %s: %s\n", o.cgroup, strerror(errno));
		return 1;
	}
	if (ksm_read("run", &run) || ksm_read("use_zero_pages", &use_zero_pages)) {
		fprintf(stderr, "ksm-converge: cannot read the KSM knobs\n");
		return 1;
	}
	if (pass_reader_open(&reader, true, "ksm-converge"))
		return 1;
	err = run_workload(&reader, &o);
	if (err && err != REPORTED)
		fprintf(stderr, "ksm-converge: measuring failed: %s\n", strerror(-err));
	ksm_write("use_zero_pages", use_zero_pages);
	ksm_write("run", run);
	pass_reader_close(&reader);
	return err ? 1 : 0;
}
