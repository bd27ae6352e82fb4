// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_policy_ops: each hook and rule proved with a small policy from
 * selftests/bpf/test_policies.bpf.c, attached through a BPF link.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ksm_util.h"
#include "ktap.h"
#include "worker.h"
#include "test_policies.skel.h"
#include "test_policies.h"

#define PAGES 16
#define IDLE_SCANS 4

/* Values of enum ksm_page_verdict (include/linux/ksm_policy.h). */
#define KSM_PAGE_DEFAULT	0
#define KSM_PAGE_STABLE		2
#define KSM_PAGE_STABLE_ONLY	3

/* Values of enum ksm_policy_exit_kind (include/linux/ksm_policy.h). */
#define KSM_EXIT_UNREG		1
#define KSM_EXIT_REPLACED	2
#define KSM_EXIT_ERROR		3
#define KSM_EXIT_BAD_VERDICT	4
#define KSM_EXIT_WATCHDOG	6

static struct test_policies *skel;

/* A fresh skeleton per case, so that globals and exit records start at 0. */
static int open_policies(void (*configure)(struct test_policies *))
{
	skel = test_policies__open();
	if (!skel)
		return -errno;
	if (configure)
		configure(skel);
	return test_policies__load(skel);
}

static void close_policies(void)
{
	test_policies__destroy(skel);
	skel = NULL;
}

/*
 * What most cases need: KSM set up, one worker with @pages pages of @seed,
 * the test policies open and the one named @policy attached.
 */
struct stage {
	struct ksm_knobs knobs;
	struct worker w[1];
	struct region r;
	struct bpf_link *link;
};

static const char *stage_begin(struct stage *s, size_t pages, uint64_t seed,
			       const char *policy)
{
	memset(s, 0, sizeof(*s));
	if (ksm_test_begin(&s->knobs))
		return "cannot set up ksm";
	if (region_map(&s->r, pages, seed))
		return "mmap failed";
	if (workers_start(s->w, 1, &s->r, W_MADVISE))
		return "worker did not start";
	if (open_policies(NULL))
		return "cannot load the test policies";
	s->link = bpf_map__attach_struct_ops(bpf_object__find_map_by_name(skel->obj, policy));
	return s->link ? NULL : "attach failed";
}

static void stage_end(struct stage *s)
{
	bpf_link__destroy(s->link);
	workers_stop(s->w, 1);
	region_unmap(&s->r);
	close_policies();
	ksm_test_end(&s->knobs);
}

static bool policy_is(const char *name)
{
	char buf[80];

	return !ksm_read_text("policy", buf, sizeof(buf)) && !strcmp(buf, name);
}

static bool policy_gone(void *arg)
{
	(void)arg;
	return policy_is("none");
}

/* A policy that skips every process: nothing merges until it is detached. */
static enum ktap_result skip_all_merges_nothing(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	struct bpf_link *link = NULL;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!open_policies(NULL), "cannot load the test policies");
	link = bpf_map__attach_struct_ops(skel->maps.skip_all);
	KTAP_EXPECT(link, "attach failed: %s", strerror(errno));
	KTAP_EXPECT(policy_is("skip_all"), "/sys/kernel/mm/ksm/policy does not name it");
	KTAP_EXPECT(!region_map(&r, PAGES, 0xb001), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!ksm_wait_full_scans(IDLE_SCANS, 60000), "ksmd stalled");
	KTAP_EXPECT(pages_shared_by(w, 2, &r, 0, PAGES) == 0, "pages merged under skip_all");
	KTAP_EXPECT(skel->bss->scan_mm_calls > 0, "scan_mm() was never called");

	/* Detach: upstream behaviour again, and exit() told why. */
	bpf_link__destroy(link);
	link = NULL;
	KTAP_EXPECT(policy_is("none"), "still attached after detach");
	KTAP_EXPECT(skel->bss->exit_kind == KSM_EXIT_UNREG, "exit kind %u",
		    skel->bss->exit_kind);
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "no merging after detach");
out:
	bpf_link__destroy(link);
	workers_stop(w, 2);
	region_unmap(&r);
	close_policies();
	ksm_test_end(&knobs);
	return result;
}

static pid_t deny_pids[2];

static void configure_deny(struct test_policies *s)
{
	s->rodata->deny_a = deny_pids[0];
	s->rodata->deny_b = deny_pids[1];
}

/* A merge hook that denies one pair keeps it apart while others merge. */
static enum ktap_result merge_hook_denies_a_pair(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker denied[2] = {0}, allowed[2] = {0};
	struct region rd = {0}, ra = {0};
	struct bpf_link *link = NULL;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&rd, PAGES, 0xb002) && !region_map(&ra, PAGES, 0xb003),
		    "mmap failed");
	/* Stop ksmd until the policy knows the pair's pids. */
	KTAP_EXPECT(!ksm_write("run", 0), "cannot stop ksmd");
	KTAP_EXPECT(!workers_start(denied, 2, &rd, W_MADVISE) &&
		    !workers_start(allowed, 2, &ra, W_MADVISE), "workers did not start");
	deny_pids[0] = denied[0].pid;
	deny_pids[1] = denied[1].pid;
	KTAP_EXPECT(!open_policies(configure_deny), "cannot load the test policies");
	link = bpf_map__attach_struct_ops(skel->maps.deny_merge);
	KTAP_EXPECT(link, "attach failed: %s", strerror(errno));
	KTAP_EXPECT(!ksm_write("run", 1), "cannot start ksmd");
	KTAP_EXPECT(!workers_wait_shared(allowed, 2, &ra), "the allowed pair did not merge");
	KTAP_EXPECT(!ksm_wait_full_scans(IDLE_SCANS, 60000), "ksmd stalled");
	KTAP_EXPECT(pages_shared_by(denied, 2, &rd, 0, PAGES) == 0, "the denied pair merged");
	KTAP_EXPECT(skel->bss->denied >= PAGES, "merge() denied only %llu merges",
		    (unsigned long long)skel->bss->denied);
out:
	bpf_link__destroy(link);
	workers_stop(denied, 2);
	workers_stop(allowed, 2);
	region_unmap(&rd);
	region_unmap(&ra);
	close_policies();
	ksm_test_end(&knobs);
	return result;
}

/* Two domains with identical content: each merges inside, none across. */
static enum ktap_result domains_never_share_a_page(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[4] = {0};
	struct region r = {0};
	struct bpf_link *link = NULL;
	int i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0xb004), "mmap failed");
	KTAP_EXPECT(!ksm_write("run", 0), "cannot stop ksmd");
	KTAP_EXPECT(!workers_start(w, 4, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!open_policies(NULL), "cannot load the test policies");
	for (i = 0; i < 4; i++)
		KTAP_EXPECT(!test_policies_set_domain(skel, w[i].pid, i < 2 ? 1 : 2),
			    "map update failed");
	link = bpf_map__attach_struct_ops(skel->maps.domains_by_tgid);
	KTAP_EXPECT(link, "attach failed: %s", strerror(errno));
	KTAP_EXPECT(!ksm_write("run", 1), "cannot start ksmd");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "domain 1 did not merge inside");
	KTAP_EXPECT(!workers_wait_shared(w + 2, 2, &r), "domain 2 did not merge inside");
	KTAP_EXPECT(!ksm_wait_full_scans(IDLE_SCANS, 60000), "ksmd stalled");
	for (i = 0; i < PAGES; i++)
		KTAP_EXPECT(pagemap_pfn(w[0].pid, region_page(&r, i)) !=
			    pagemap_pfn(w[2].pid, region_page(&r, i)),
			    "page %d is shared across domains", i);

	/* Moving a process to the other domain unmerges it from the first. */
	KTAP_EXPECT(!test_policies_set_domain(skel, w[1].pid, 2), "map update failed");
	KTAP_EXPECT(!workers_wait_shared(w + 1, 3, &r), "the moved process did not join domain 2");
	KTAP_EXPECT(pages_shared_by(w, 2, &r, 0, PAGES) == 0,
		    "the moved process still shares with domain 1");

	/*
	 * Detached: every process goes back to domain 0 and all four merge
	 * (ksmd stops comparing domains once none is left). Attached again:
	 * the processes are apart again, as domains are compared again.
	 */
	bpf_link__destroy(link);
	link = NULL;
	KTAP_EXPECT(!workers_wait_shared(w, 4, &r), "after detach the four did not merge");
	link = bpf_map__attach_struct_ops(skel->maps.domains_by_tgid);
	KTAP_EXPECT(link, "attach again failed: %s", strerror(errno));
	KTAP_EXPECT(!ksm_wait_full_scans(IDLE_SCANS, 60000), "ksmd stalled");
	KTAP_EXPECT(!workers_wait_shared(w + 1, 3, &r), "domain 2 did not merge inside again");
	for (i = 0; i < PAGES; i++)
		KTAP_EXPECT(pagemap_pfn(w[0].pid, region_page(&r, i)) !=
			    pagemap_pfn(w[1].pid, region_page(&r, i)),
			    "page %d is shared across domains after attaching again", i);
	for (i = 0; i < 4; i++)
		KTAP_EXPECT(worker_cmd(&w[i], WC_CHECK, 0) == 1, "worker %d reads wrong bytes", i);
out:
	bpf_link__destroy(link);
	workers_stop(w, 4);
	region_unmap(&r);
	close_policies();
	ksm_test_end(&knobs);
	return result;
}

/*
 * Pages a policy calls stable merge in the first pass; without it they need
 * a second pass (the checksum must be seen unchanged). ksmd is stopped
 * right after one pass, with batches small enough that the second pass
 * cannot reach the second process before it stops.
 */
static size_t shared_after_one_pass(bool trust)
{
	struct worker w[2] = {0};
	struct region r = {0};
	struct bpf_link *link = NULL;
	size_t shared = (size_t)-1;

	if (ksm_write("run", 2) || ksm_write("pages_to_scan", 4) ||
	    region_map(&r, PAGES, trust ? 0xb005 : 0xb006) ||
	    workers_start(w, 2, &r, W_MADVISE))
		goto out;
	if (trust) {
		if (open_policies(NULL))
			goto out;
		link = bpf_map__attach_struct_ops(skel->maps.trust_stable);
		if (!link)
			goto out;
	}
	if (ksm_write("run", 1) || ksm_wait_full_scans(1, 60000) || ksm_write("run", 0))
		goto out;
	shared = pages_shared_by(w, 2, &r, 0, PAGES);
out:
	bpf_link__destroy(link);
	if (trust)
		close_policies();
	workers_stop(w, 2);
	region_unmap(&r);
	return shared;
}

/* The STABLE verdict merges a static region in fewer full scans. */
static enum ktap_result stable_verdict_merges_sooner(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	size_t plain, trusted;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	plain = shared_after_one_pass(false);
	trusted = shared_after_one_pass(true);
	ktap_diag("after one pass: %zu pages merged without the policy, %zu with it",
		  plain, trusted);
	KTAP_EXPECT(plain == 0, "upstream merged in one pass");
	KTAP_EXPECT(trusted == PAGES, "trust_stable merged %zu of %d", trusted, PAGES);
out:
	ksm_test_end(&knobs);
	return result;
}

static void set_first_pass_verdict(struct test_policies *t, int verdict)
{
	t->bss->first_pass_verdict = verdict;
}

/*
 * Under first_visit_only (@verdict in a process's first pass, every page
 * skipped after), start one process with the content two merged processes
 * share and two with content KSM has not seen, and count what each kind
 * merged: it can only have merged on its first visit. Also the processes
 * pass_end() heard join.
 */
static const char *first_visit_merges(int verdict, size_t *known, size_t *unknown,
				      uint64_t *joined)
{
	struct worker w[3] = {0}, u[2] = {0};	/* w: two seeds, then the new one */
	struct region rk = {0}, ru = {0};
	struct bpf_link *link = NULL;
	const char *err = NULL;

	if (region_map(&rk, PAGES, 0xb010) || region_map(&ru, PAGES, 0xb011))
		err = "mmap failed";
	else if (workers_start(w, 2, &rk, W_MADVISE) || workers_wait_shared(w, 2, &rk))
		err = "the seed processes did not merge";
	else if (open_policies(NULL))
		err = "cannot load the test policies";
	if (err)
		goto out;
	set_first_pass_verdict(skel, verdict);
	link = bpf_map__attach_struct_ops(skel->maps.first_visit_only);
	/*
	 * ksmd stopped while they join: they join side by side, so one pass
	 * meets all three for the first time (the two of new content could
	 * otherwise first be seen in different passes and never pair).
	 */
	if (!link || ksm_write("run", 0) || workers_start(w + 2, 1, &rk, W_MADVISE) ||
	    workers_start(u, 2, &ru, W_MADVISE) || ksm_write("run", 1))
		err = "attach or the new processes failed";
	/* The pass in progress, the one that first sees them, one more. */
	else if (ksm_wait_full_scans(3, 60000))
		err = "ksmd stalled";
	else if (worker_cmd(&w[2], WC_CHECK, 0) != 1 || worker_cmd(&u[0], WC_CHECK, 0) != 1 ||
		 worker_cmd(&u[1], WC_CHECK, 0) != 1)
		err = "a process's memory does not read as written";
	if (err)
		goto out;
	*known = pages_shared_by(w, 3, &rk, 0, PAGES);
	*unknown = pages_shared_by(u, 2, &ru, 0, PAGES);
	*joined = skel->bss->mms_joined;
out:
	bpf_link__destroy(link);
	close_policies();
	workers_stop(w, 3);
	workers_stop(u, 2);
	region_unmap(&rk);
	region_unmap(&ru);
	return err;
}

/*
 * KSM_PAGE_STABLE_ONLY merges a page on its first visit with a ksm page of
 * the same content, and keeps content KSM does not share yet out of the
 * unstable tree; KSM_PAGE_DEFAULT merges neither on a first visit,
 * KSM_PAGE_STABLE both. pass_end() hears of each process that joined.
 */
static enum ktap_result stable_only_merges_known_content_on_first_visit(void)
{
	static const struct {
		int verdict;
		const char *name;
		size_t known, unknown;
	} cases[] = {
		{ KSM_PAGE_STABLE_ONLY, "KSM_PAGE_STABLE_ONLY", PAGES, 0 },
		{ KSM_PAGE_DEFAULT, "KSM_PAGE_DEFAULT", 0, 0 },
		{ KSM_PAGE_STABLE, "KSM_PAGE_STABLE", PAGES, PAGES },
	};
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t known = 0, unknown = 0;
		uint64_t joined = 0;
		const char *err = first_visit_merges(cases[i].verdict, &known, &unknown, &joined);

		KTAP_EXPECT(!err, "%s: %s", cases[i].name, err);
		ktap_diag("%s on first visits: %zu of %d pages of shared content merged, "
			  "%zu of %d of new content; %llu processes joined", cases[i].name,
			  known, PAGES, unknown, PAGES, (unsigned long long)joined);
		KTAP_EXPECT(known == cases[i].known && unknown == cases[i].unknown,
			    "%s: expected %zu and %zu merged", cases[i].name,
			    cases[i].known, cases[i].unknown);
		KTAP_EXPECT(joined == 3, "%s: pass_end() heard %llu processes join, not 3",
			    cases[i].name, (unsigned long long)joined);
	}
out:
	ksm_test_end(&knobs);
	return result;
}

/* kfunc bpf_ksm_page_is_zero(): a zero-only policy merges only zero pages. */
static enum ktap_result zero_only_policy(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker z[2] = {0}, p[2] = {0};
	struct region rz = {0}, rp = {0};
	struct bpf_link *link = NULL;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!open_policies(NULL), "cannot load the test policies");
	link = bpf_map__attach_struct_ops(skel->maps.zero_only);
	KTAP_EXPECT(link, "attach failed: %s", strerror(errno));
	KTAP_EXPECT(!region_map(&rz, PAGES, 0) && !region_map(&rp, PAGES, 0xb007), "mmap failed");
	KTAP_EXPECT(!workers_start(z, 2, &rz, W_MADVISE | W_ZERO) &&
		    !workers_start(p, 2, &rp, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(z, 2, &rz), "zero pages did not merge");
	KTAP_EXPECT(!ksm_wait_full_scans(IDLE_SCANS, 60000), "ksmd stalled");
	KTAP_EXPECT(pages_shared_by(p, 2, &rp, 0, PAGES) == 0, "non-zero pages merged");
out:
	bpf_link__destroy(link);
	workers_stop(z, 2);
	workers_stop(p, 2);
	region_unmap(&rz);
	region_unmap(&rp);
	close_policies();
	ksm_test_end(&knobs);
	return result;
}

/*
 * A policy that ejects itself (kfunc) or returns a bad verdict is disabled,
 * says why, and KSM carries on merging.
 */
static enum ktap_result ejected(struct bpf_map *map, const char *want_exit,
				size_t want_len, unsigned int want_kind, uint64_t seed)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	struct bpf_link *link = NULL;
	char exit_text[300];

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	link = bpf_map__attach_struct_ops(map);
	KTAP_EXPECT(link, "attach failed: %s", strerror(errno));
	KTAP_EXPECT(!region_map(&r, PAGES, seed), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!ksm_wait_until(policy_gone, NULL, MERGE_MAX_SCANS, MERGE_TIMEOUT_MS),
		    "the policy was not ejected");
	KTAP_EXPECT(!ksm_read_text("policy_exit", exit_text, sizeof(exit_text)),
		    "no policy_exit");
	ktap_diag("policy_exit: %s", exit_text);
	KTAP_EXPECT(want_len ? !strncmp(exit_text, want_exit, want_len) :
		    !strcmp(exit_text, want_exit), "want \"%s\"", want_exit);
	KTAP_EXPECT(skel->bss->exit_kind == want_kind, "exit() saw kind %u, want %u",
		    skel->bss->exit_kind, want_kind);
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "no merging after the ejection");
	/* Detaching the ejected policy's link is harmless. */
	bpf_link__destroy(link);
	link = NULL;
	KTAP_EXPECT(skel->bss->exit_kind == want_kind, "exit() ran again");
out:
	bpf_link__destroy(link);
	workers_stop(w, 2);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

static enum ktap_result error_kfunc_ejects(void)
{
	enum ktap_result r;

	if (open_policies(NULL))
		return KTAP_FAIL;
	r = ejected(skel->maps.error_test, "error_test: error: test policy gives up", 0,
		    KSM_EXIT_ERROR, 0xb008);
	close_policies();
	return r;
}

static enum ktap_result invalid_verdict_ejects(void)
{
	enum ktap_result r;

	if (open_policies(NULL))
		return KTAP_FAIL;
	r = ejected(skel->maps.bad_verdict,
		    "bad_verdict: invalid verdict: scan_page() returned 7", 0,
		    KSM_EXIT_BAD_VERDICT, 0xb009);
	close_policies();
	return r;
}

/* A policy whose programs hold ksmd over a second in one batch is ejected. */
static enum ktap_result watchdog_ejects_a_slow_policy(void)
{
	static const char want[] = "slow: watchdog: ran ";
	enum ktap_result r;

	if (open_policies(NULL))
		return KTAP_FAIL;
	r = ejected(skel->maps.slow, want, strlen(want), KSM_EXIT_WATCHDOG, 0xb00c);
	close_policies();
	return r;
}

static unsigned long long skipped_pages(void)
{
	return __atomic_load_n(&skel->bss->scan_page_calls, __ATOMIC_RELAXED);
}

/*
 * Pages a policy skips count against pages_to_scan, as scanned pages do:
 * with batches of 100 pages a second apart, the policy never sees more than
 * a batch's worth at a time, however large the process. (Were skips free,
 * one batch would walk all of it under one mmap_lock hold.) Sysfs
 * policy_pages_skipped counts each of them.
 */
static enum ktap_result skipped_pages_count_against_the_batch(void)
{
	enum ktap_result result = KTAP_PASS;
	unsigned long long last = 0, now, most = 0;
	unsigned long t0, sysfs0 = 0, sysfs1 = 0;
	struct stage s;
	const char *err;

	KTAP_EXPECT(!ksm_read("policy_pages_skipped", &sysfs0), "no policy_pages_skipped");
	KTAP_EXPECT(!(err = stage_begin(&s, 4096, 0xb00d, "skip_pages")), "%s", err);
	KTAP_EXPECT(!ksm_write("pages_to_scan", 100) && !ksm_write("sleep_millisecs", 1000),
		    "cannot slow ksmd down");
	/* Let a batch of the old pace end before counting. */
	usleep(300000);
	last = skipped_pages();
	for (t0 = ksm_now_ms(); ksm_now_ms() - t0 < 4000; usleep(50000)) {
		now = skipped_pages();
		if (now - last > most)
			most = now - last;
		last = now;
	}
	ktap_diag("%llu pages skipped in 4 s, at most %llu between two looks 50 ms apart",
		  last, most);
	KTAP_EXPECT(last >= 100, "the policy saw only %llu pages", last);
	KTAP_EXPECT(most <= 200, "%llu pages skipped within 50 ms: skips are free", most);
	/* With ksmd stopped, sysfs has counted every skip the policy made. */
	KTAP_EXPECT(!ksm_write("run", 0) && !ksm_read("policy_pages_skipped", &sysfs1),
		    "cannot stop ksmd or read policy_pages_skipped");
	KTAP_EXPECT(sysfs1 - sysfs0 == skipped_pages(),
		    "policy_pages_skipped grew by %lu, the policy skipped %llu",
		    sysfs1 - sysfs0, skipped_pages());
	KTAP_EXPECT(worker_cmd(&s.w[0], WC_CHECK, 0) == 1, "the worker reads wrong bytes");
out:
	stage_end(&s);
	return result;
}

/*
 * With smart scan on, what the policy @name was asked about while ksmd made
 * 8 passes over a worker's unique pages, and by how much sysfs pages_scanned
 * and pages_skipped (smart scan's skips) grew meanwhile. Stopping ksmd
 * (run=0 waits for its batch) keeps the counters and the calls together.
 */
static const char *count_asks(struct bpf_map *policy, unsigned long long *asked,
			      unsigned long *scanned, unsigned long *skipped)
{
	unsigned long scanned0, skipped0;
	struct bpf_link *link;
	const char *err = NULL;

	if (ksm_write("run", 0) || ksm_read("pages_scanned", &scanned0) ||
	    ksm_read("pages_skipped", &skipped0))
		return "cannot stop ksmd or read its counters";
	skel->bss->scan_page_calls = 0;
	link = bpf_map__attach_struct_ops(policy);
	if (!link)
		return "attach failed";
	if (ksm_write("run", 1) || ksm_wait_full_scans(8, 120000))
		err = "ksmd did not make 8 passes";
	else if (ksm_write("run", 0) || ksm_read("pages_scanned", scanned) ||
		 ksm_read("pages_skipped", skipped))
		err = "cannot stop ksmd or read its counters";
	*asked = skel->bss->scan_page_calls;
	bpf_link__destroy(link);
	*scanned -= scanned0;
	*skipped -= skipped0;
	return err;
}

static void set_unknown_flag(struct test_policies *t)
{
	t->struct_ops.count_pages->flags = 1ULL << 1;
}

/*
 * A policy is not asked about the pages smart scan skips, unless it has
 * KSM_POLICY_OVERRIDE_SMART_SCAN: then it is asked about every page. A flag
 * the kernel does not know refuses the attach.
 */
static enum ktap_result smart_scan_skips_before_the_policy_is_asked(void)
{
	enum ktap_result result = KTAP_PASS;
	unsigned long smart_scan = 0, scanned = 0, skipped = 0;
	unsigned long long asked = 0;
	struct bpf_link *link;
	bool restore = false;
	struct stage s;
	const char *err;
	int ret;

	KTAP_EXPECT(!(err = stage_begin(&s, 1024, 0xb00f, "count_pages")), "%s", err);
	bpf_link__destroy(s.link);
	s.link = NULL;
	KTAP_EXPECT(!ksm_read("smart_scan", &smart_scan), "cannot read smart_scan");
	restore = true;
	KTAP_EXPECT(!ksm_write("smart_scan", 1), "cannot turn smart_scan on");

	err = count_asks(skel->maps.count_pages, &asked, &scanned, &skipped);
	ktap_diag("without the flag: asked %llu, scanned %lu, smart scan skipped %lu",
		  asked, scanned, skipped);
	KTAP_EXPECT(!err, "%s", err);
	KTAP_EXPECT(skipped > 0, "smart scan skipped nothing in 8 passes");
	KTAP_EXPECT(asked == scanned, "asked about %llu pages, %lu scanned", asked, scanned);

	err = count_asks(skel->maps.count_pages_override, &asked, &scanned, &skipped);
	ktap_diag("with KSM_POLICY_OVERRIDE_SMART_SCAN: asked %llu, scanned %lu, skipped %lu",
		  asked, scanned, skipped);
	KTAP_EXPECT(!err, "%s", err);
	KTAP_EXPECT(skipped > 0, "smart scan skipped nothing in 8 passes");
	KTAP_EXPECT(asked == scanned + skipped, "asked about %llu pages, %lu scanned, %lu skipped",
		    asked, scanned, skipped);
	KTAP_EXPECT(worker_cmd(&s.w[0], WC_CHECK, 0) == 1, "the worker reads wrong bytes");

	close_policies();
	ret = open_policies(set_unknown_flag);
	link = ret ? NULL : bpf_map__attach_struct_ops(skel->maps.count_pages);
	if (!ret && !link)
		ret = -errno;
	bpf_link__destroy(link);
	KTAP_EXPECT(ret == -EINVAL, "a policy with an unknown flag: %d, not -EINVAL", ret);
out:
	stage_end(&s);
	if (restore)
		ksm_write("smart_scan", smart_scan);
	return result;
}

/* One policy at a time: a second attach fails with EBUSY. */
static enum ktap_result second_attach_fails(void)
{
	enum ktap_result result = KTAP_PASS;
	struct bpf_link *first = NULL, *second = NULL;

	KTAP_EXPECT(!open_policies(NULL), "cannot load the test policies");
	first = bpf_map__attach_struct_ops(skel->maps.count_a);
	KTAP_EXPECT(first, "attach failed: %s", strerror(errno));
	second = bpf_map__attach_struct_ops(skel->maps.count_b);
	KTAP_EXPECT(!second && errno == EBUSY, "second attach: %s",
		    second ? "succeeded" : strerror(errno));
	KTAP_EXPECT(policy_is("count_a"), "the first policy was displaced");
out:
	bpf_link__destroy(second);
	bpf_link__destroy(first);
	close_policies();
	return result;
}

/* Link update swaps policies atomically; the old one is told it was replaced. */
static enum ktap_result replace_swaps_policies(void)
{
	enum ktap_result result = KTAP_PASS;
	struct stage s;
	const char *err;
	__u64 passes;

	KTAP_EXPECT(!(err = stage_begin(&s, PAGES, 0xb00a, "count_a")), "%s", err);
	KTAP_EXPECT(!ksm_wait_full_scans(2, 60000), "ksmd stalled");
	KTAP_EXPECT(!bpf_link__update_map(s.link, skel->maps.count_b), "update: %s",
		    strerror(errno));
	KTAP_EXPECT(policy_is("count_b"), "count_b is not the policy");
	KTAP_EXPECT(skel->bss->exit_kind == KSM_EXIT_REPLACED, "count_a's exit kind %u",
		    skel->bss->exit_kind);
	passes = skel->bss->passes;
	KTAP_EXPECT(!ksm_wait_full_scans(2, 60000), "ksmd stalled");
	KTAP_EXPECT(skel->bss->passes > passes, "count_b's pass_start() never ran");
out:
	stage_end(&s);
	return result;
}

/*
 * bpf_ksm_policy_error() in the init() of a replacement fails that update
 * alone: the live policy stays, is not ejected, and is not told anything.
 */
static enum ktap_result error_in_init_spares_the_live_policy(void)
{
	enum ktap_result result = KTAP_PASS;
	char exit_text[300];
	struct stage s;
	const char *err;
	__u64 passes;
	int ret;

	KTAP_EXPECT(!(err = stage_begin(&s, PAGES, 0xb00f, "count_a")), "%s", err);
	ret = bpf_link__update_map(s.link, skel->maps.init_error);
	KTAP_EXPECT(ret == -EINVAL, "update: %s", ret ? strerror(-ret) : "succeeded");
	KTAP_EXPECT(policy_is("count_a"), "count_a is no longer the policy");
	KTAP_EXPECT(!ksm_read_text("policy_exit", exit_text, sizeof(exit_text)) &&
		    !strcmp(exit_text, "init_error: error: test init gives up (in init())"),
		    "policy_exit: %s", exit_text);
	/* count_a goes on: its pass_start() runs, and it was never told to stop. */
	passes = skel->bss->passes;
	KTAP_EXPECT(!ksm_wait_full_scans(2, 60000), "ksmd stalled");
	KTAP_EXPECT(policy_is("count_a"), "count_a was ejected later");
	KTAP_EXPECT(skel->bss->passes > passes, "count_a's pass_start() stopped running");
	KTAP_EXPECT(skel->bss->exit_kind == 0, "count_a was told it stopped (kind %u)",
		    skel->bss->exit_kind);
out:
	stage_end(&s);
	return result;
}

/* An ejected policy's link can still be updated to another policy. */
static enum ktap_result replace_after_an_ejection(void)
{
	enum ktap_result result = KTAP_PASS;
	struct stage s;
	const char *err;
	int ret;

	KTAP_EXPECT(!(err = stage_begin(&s, PAGES, 0xb00e, "error_test")), "%s", err);
	KTAP_EXPECT(!ksm_wait_until(policy_gone, NULL, MERGE_MAX_SCANS, MERGE_TIMEOUT_MS),
		    "the policy was not ejected");
	ret = bpf_link__update_map(s.link, skel->maps.count_b);
	KTAP_EXPECT(!ret, "update after the ejection: %s", strerror(-ret));
	KTAP_EXPECT(policy_is("count_b"), "count_b is not the policy");
	KTAP_EXPECT(!ksm_wait_full_scans(2, 60000), "ksmd stalled");
	KTAP_EXPECT(skel->bss->passes > 0, "count_b's pass_start() never ran");
out:
	stage_end(&s);
	return result;
}

/* Without a BPF link (a plain struct_ops map update) the attach is refused. */
static enum ktap_result attach_without_a_link_refused(void)
{
	enum ktap_result result = KTAP_PASS;
	struct bpf_link *link = NULL;

	KTAP_EXPECT(!open_policies(NULL), "cannot load the test policies");
	link = bpf_map__attach_struct_ops(skel->maps.unlinked);
	KTAP_EXPECT(!link && errno == EOPNOTSUPP, "attach: %s",
		    link ? "succeeded" : strerror(errno));
	KTAP_EXPECT(policy_is("none"), "a policy is attached");
out:
	bpf_link__destroy(link);
	close_policies();
	return result;
}

#define LINK_CGROUP "/sys/fs/cgroup/ksm_policy_link"

/* Attach @map with a link that targets the cgroup @dir; NULL with errno. */
static struct bpf_link *attach_at(struct bpf_map *map, const char *dir, __u32 flags)
{
	LIBBPF_OPTS(bpf_struct_ops_opts, opts, .flags = flags);
	struct bpf_link *link;
	int fd, err;

	fd = open(dir, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	opts.target_fd = fd;
	link = bpf_map__attach_struct_ops_opts(map, &opts);
	err = errno;
	close(fd);
	errno = err;
	return link;
}

/*
 * A link may target a memory cgroup (BPF_F_CGROUP_FD): the policy attaches
 * there, not globally, the link says where, and an update keeps it there.
 * The root, a file that is no cgroup and unknown flags are refused, never
 * turned into a global attach.
 */
static enum ktap_result a_link_targets_a_memory_cgroup(void)
{
	enum ktap_result result = KTAP_PASS;
	struct bpf_link *link = NULL, *bad = NULL;
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char buf[80] = "";
	struct stat st;

	file_write_text("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	rmdir(LINK_CGROUP);
	KTAP_EXPECT(!mkdir(LINK_CGROUP, 0755) && !stat(LINK_CGROUP, &st), "mkdir %s: %s",
		    LINK_CGROUP, strerror(errno));
	KTAP_EXPECT(!open_policies(NULL), "cannot load the test policies");
	link = attach_at(skel->maps.skip_all, LINK_CGROUP, BPF_F_CGROUP_FD);
	KTAP_EXPECT(link, "attach to %s: %s", LINK_CGROUP, strerror(errno));
	KTAP_EXPECT(policy_is("none"), "the cgroup's policy is the global one too");
	file_read_text(LINK_CGROUP "/memory.ksm_policy", buf, sizeof(buf));
	KTAP_EXPECT(!strcmp(buf, "skip_all"), "memory.ksm_policy: '%s'", buf);
	memset(&info, 0, sizeof(info));
	KTAP_EXPECT(!bpf_link_get_info_by_fd(bpf_link__fd(link), &info, &len),
		    "link info: %s", strerror(errno));
	KTAP_EXPECT(info.struct_ops.cgroup_id == st.st_ino,
		    "the link names cgroup %llu, not %llu", (unsigned long long)
		    info.struct_ops.cgroup_id, (unsigned long long)st.st_ino);

	/* A replacement stays in the cgroup. */
	KTAP_EXPECT(!bpf_link__update_map(link, skel->maps.trust_stable), "update: %s",
		    strerror(errno));
	file_read_text(LINK_CGROUP "/memory.ksm_policy", buf, sizeof(buf));
	KTAP_EXPECT(!strcmp(buf, "trust_stable") && policy_is("none"),
		    "after the update: memory.ksm_policy '%s'", buf);

	/* Refused, and nothing attached globally instead. */
	bad = attach_at(skel->maps.zero_only, "/sys/fs/cgroup", BPF_F_CGROUP_FD);
	KTAP_EXPECT(!bad && errno == EINVAL, "attach to the root cgroup: %s",
		    bad ? "succeeded" : strerror(errno));
	bad = attach_at(skel->maps.zero_only, "/proc/self/stat", BPF_F_CGROUP_FD);
	KTAP_EXPECT(!bad && errno == EBADF, "attach to a file: %s",
		    bad ? "succeeded" : strerror(errno));
	bad = attach_at(skel->maps.zero_only, LINK_CGROUP, BPF_F_CGROUP_FD << 1);
	KTAP_EXPECT(!bad && errno == EINVAL, "attach with an unknown flag: %s",
		    bad ? "succeeded" : strerror(errno));
	KTAP_EXPECT(policy_is("none"), "a refused attach became global");

	bpf_link__destroy(link);
	link = NULL;
	file_read_text(LINK_CGROUP "/memory.ksm_policy", buf, sizeof(buf));
	KTAP_EXPECT(!strcmp(buf, "none"), "after detach: memory.ksm_policy '%s'", buf);
out:
	bpf_link__destroy(bad);
	bpf_link__destroy(link);
	close_policies();
	rmdir(LINK_CGROUP);
	return result;
}

/* Time of one full scan, from the start of the next one. */
static long full_scan_ms(void)
{
	unsigned long t0;

	if (ksm_wait_full_scans(1, 60000))
		return -1;
	t0 = ksm_now_ms();
	return ksm_wait_full_scans(1, 60000) ? -1 : (long)(ksm_now_ms() - t0);
}

static bool pace_set(void *arg)
{
	(void)arg;
	return skel->bss->passes >= 1;
}

/*
 * pass_start() may set ksmd's pace (here 1 page a batch, 100 ms apart) and
 * pass_end() sees the pass's counters; detaching gives the pace back. The
 * pages are merged first: smart scan would skip unmerged ones for free,
 * but ksm pages cost a batch each.
 */
static enum ktap_result pass_hooks_pace_ksmd(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	struct bpf_link *link = NULL;
	long plain, paced, after;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, 4, 0xb00b), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "did not merge");
	plain = full_scan_ms();
	KTAP_EXPECT(!open_policies(NULL), "cannot load the test policies");
	link = bpf_map__attach_struct_ops(skel->maps.pace);
	KTAP_EXPECT(link, "attach failed: %s", strerror(errno));
	/* Measure a pass that began with the policy's pass_start(). */
	KTAP_EXPECT(!ksm_wait_until(pace_set, NULL, MERGE_MAX_SCANS, MERGE_TIMEOUT_MS),
		    "pass_start() never ran");
	paced = full_scan_ms();
	bpf_link__destroy(link);
	link = NULL;
	after = full_scan_ms();
	ktap_diag("one full scan: %ld ms with sysfs pace, %ld ms with the policy's, %ld ms after",
		  plain, paced, after);
	/* 8 ksm pages, one per batch, 100 ms apart: at least 700 ms. */
	KTAP_EXPECT(plain >= 0 && paced >= 700 && paced > 5 * plain, "not paced");
	KTAP_EXPECT(after >= 0 && after * 5 < paced, "the pace outlived the policy");
	KTAP_EXPECT(skel->bss->pass_pages_scanned >= 8 && skel->bss->pass_mms_scanned >= 2,
		    "pass_end() saw %llu pages, %llu processes",
		    (unsigned long long)skel->bss->pass_pages_scanned,
		    (unsigned long long)skel->bss->pass_mms_scanned);
out:
	bpf_link__destroy(link);
	workers_stop(w, 2);
	region_unmap(&r);
	close_policies();
	ksm_test_end(&knobs);
	return result;
}

/* An init() that fails refuses the attach with its error, and says so. */
static enum ktap_result failing_init_refuses_attach(void)
{
	enum ktap_result result = KTAP_PASS;
	struct bpf_link *link = NULL;
	char exit_text[300];

	KTAP_EXPECT(!open_policies(NULL), "cannot load the test policies");
	link = bpf_map__attach_struct_ops(skel->maps.init_fail);
	KTAP_EXPECT(!link && errno == EINVAL, "attach: %s", link ? "succeeded" : strerror(errno));
	KTAP_EXPECT(policy_is("none"), "a policy is attached");
	KTAP_EXPECT(!ksm_read_text("policy_exit", exit_text, sizeof(exit_text)) &&
		    !strcmp(exit_text, "init_fail: init failed: init() returned -22"),
		    "policy_exit: %s", exit_text);
out:
	bpf_link__destroy(link);
	close_policies();
	return result;
}

/* Loading a policy needs privileges: nobody without capabilities is refused. */
static enum ktap_result unprivileged_load_refused(void)
{
	enum ktap_result result = KTAP_PASS;
	int status = -1;
	pid_t pid;

	pid = fork();
	KTAP_EXPECT(pid >= 0, "fork failed");
	if (pid == 0) {
		struct test_policies *s;

		/* Leaving uid 0 drops every capability. */
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		libbpf_set_print(NULL);
		s = test_policies__open_and_load();
		_exit(s ? 1 : (errno == EPERM ? 0 : 3));
	}
	KTAP_EXPECT(waitpid(pid, &status, 0) == pid, "waitpid failed");
	KTAP_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "unprivileged load: status %d (1: loaded, 2: setuid failed, 3: not EPERM)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
out:
	return result;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(skip_all_merges_nothing),
	KTAP_CASE(merge_hook_denies_a_pair),
	KTAP_CASE(domains_never_share_a_page),
	KTAP_CASE(stable_verdict_merges_sooner),
	KTAP_CASE(stable_only_merges_known_content_on_first_visit),
	KTAP_CASE(zero_only_policy),
	KTAP_CASE(error_kfunc_ejects),
	KTAP_CASE(invalid_verdict_ejects),
	KTAP_CASE(watchdog_ejects_a_slow_policy),
	KTAP_CASE(skipped_pages_count_against_the_batch),
	KTAP_CASE(smart_scan_skips_before_the_policy_is_asked),
	KTAP_CASE(error_in_init_spares_the_live_policy),
	KTAP_CASE(replace_after_an_ejection),
	KTAP_CASE(attach_without_a_link_refused),
	KTAP_CASE(a_link_targets_a_memory_cgroup),
	KTAP_CASE(second_attach_fails),
	KTAP_CASE(replace_swaps_policies),
	KTAP_CASE(pass_hooks_pace_ksmd),
	KTAP_CASE(failing_init_refuses_attach),
	KTAP_CASE(unprivileged_load_refused),
};
KTAP_MAIN(cases)
