// SPDX-License-Identifier: GPL-2.0
/*
 * Attach, replace, detach and eject policies over and over while ksmd scans
 * and processes map, merge, fork, exit and unmap. The kernel must stay
 * quiet (the harness fails the run on any report: run it on the debug
 * kernel for KASAN and lockdep) and KSM must work afterwards.
 */
#include <bpf/libbpf.h>
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
#include "ktap.h"
#include "worker.h"
#include "test_policies.skel.h"
#include "test_policies.h"

#define CHURNERS 4
#define CHURN_PAGES 32
#define DURATION_S 6

/* Map identical memory, let it merge a little, fork, write, unmap: forever. */
static void churn(unsigned int seed)
{
	long ps = sysconf(_SC_PAGESIZE);

	srand(seed);
	for (;;) {
		size_t len = CHURN_PAGES * ps;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct timespec pause = { 0, (rand() % 20) * 1000000L };
		pid_t child;
		size_t i;

		if (p == MAP_FAILED)
			_exit(1);
		for (i = 0; i < CHURN_PAGES; i++)
			fill_pattern(p + i * ps, ps, ps, 0xd00d + i % 4);
		madvise(p, len, MADV_MERGEABLE);
		nanosleep(&pause, NULL);
		child = fork();
		if (child == 0) {
			/* Inherit the (maybe merged) pages, write some, exit. */
			p[(rand() % CHURN_PAGES) * ps] ^= 1;
			_exit(0);
		}
		if (child > 0)
			waitpid(child, NULL, 0);
		p[(rand() % CHURN_PAGES) * ps] ^= 1;
		if (rand() % 2)
			madvise(p, len / 2, MADV_UNMERGEABLE);
		munmap(p, len);
	}
}

/* The policy changes ksmd sees while the churners run. */
static int policy_round(struct test_policies *skel, const pid_t *pids, int round)
{
	struct bpf_map *seq[] = {
		skel->maps.domains_by_tgid, skel->maps.trust_stable,
		skel->maps.deny_merge, skel->maps.skip_all, skel->maps.zero_only,
	};
	struct bpf_link *link;
	struct timespec pause = { 0, 30 * 1000000L };
	int i, err = 0;

	for (i = 0; i < CHURNERS; i++)
		test_policies_set_domain(skel, pids[i], (round + i) % 3);
	link = bpf_map__attach_struct_ops(seq[round % 5]);
	if (!link)
		return -errno;
	nanosleep(&pause, NULL);
	/* Replace it with the next one, then detach. */
	if (bpf_link__update_map(link, seq[(round + 1) % 5]))
		err = -errno;
	nanosleep(&pause, NULL);
	bpf_link__destroy(link);

	/* Every few rounds, a policy that gets itself ejected. */
	if (!err && round % 4 == 3) {
		link = bpf_map__attach_struct_ops(round % 8 == 3 ? skel->maps.error_test :
						  skel->maps.bad_verdict);
		if (!link)
			return -errno;
		nanosleep(&pause, NULL);
		bpf_link__destroy(link);
	}
	return err;
}

static enum ktap_result policies_change_under_churn(void)
{
	enum ktap_result result = KTAP_PASS;
	struct test_policies *skel = NULL;
	struct ksm_knobs knobs = {0};
	pid_t pids[CHURNERS] = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	unsigned long end;
	int i, rounds = 0, err = 0;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!ksm_write("pages_to_scan", 256), "cannot set pages_to_scan");
	skel = test_policies__open_and_load();
	KTAP_EXPECT(skel, "cannot load the test policies");
	for (i = 0; i < CHURNERS; i++) {
		pids[i] = fork();
		KTAP_EXPECT(pids[i] >= 0, "fork failed");
		if (pids[i] == 0)
			churn(i + 1);
	}
	end = ksm_now_ms() + DURATION_S * 1000;
	while (ksm_now_ms() < end && !err) {
		/* KSM_STRESS_CHURN_ONLY=1: the same churn with no policy, for comparison. */
		if (getenv("KSM_STRESS_CHURN_ONLY")) {
			usleep(100000);
			continue;
		}
		err = policy_round(skel, pids, rounds++);
	}
	ktap_diag("%d policy rounds in %d s with %d churning processes", rounds,
		  DURATION_S, CHURNERS);
	KTAP_EXPECT(!err, "round %d: %s", rounds, strerror(-err));
	{
		char name[80];

		KTAP_EXPECT(!ksm_read_text("policy", name, sizeof(name)) && !strcmp(name, "none"),
			    "policy after the rounds: %s", name);
	}

	/* Afterwards: no policy, and KSM merges as upstream. */
	for (i = 0; i < CHURNERS; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
		pids[i] = 0;
	}
	KTAP_EXPECT(!ksm_write("pages_to_scan", 4096), "cannot set pages_to_scan");
	KTAP_EXPECT(!region_map(&r, 16, 0xd001), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "KSM does not merge after the churn");
out:
	for (i = 0; i < CHURNERS; i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
	workers_stop(w, 2);
	region_unmap(&r);
	test_policies__destroy(skel);
	ksm_test_end(&knobs);
	return result;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(policies_change_under_churn),
};
KTAP_MAIN(cases)
