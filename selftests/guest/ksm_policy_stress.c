// SPDX-License-Identifier: GPL-2.0
/*
 * Attach, replace, detach and eject policies over and over while ksmd scans
 * and processes map, merge, fork, exit and unmap. Every process checks all
 * of its memory after merges, after copy-on-write and when it stops: no byte
 * may differ from what it wrote. The kernel must stay quiet (the harness
 * fails the run on any report: run it on the debug kernel for KASAN and
 * lockdep) and KSM must work afterwards.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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
#define MERGE_WAIT_MS 200	/* how long a churner waits for its pages to merge */
#define STOP_WAIT_MS 20000	/* how long a stopped churner may take to verify and exit */
#define CHURN_MAX_PAGE (1 << 16)

/*
 * What the churners (and their forked children) found, in memory shared with
 * the test. Counters are updated atomically: children add to their parent's.
 */
struct churn_report {
	unsigned long long bytes_verified;
	unsigned long long checks;
	unsigned long long merged_checks;	/* checks while some of its pages were merged */
	unsigned long long mismatches;
	unsigned long long rounds;
	int exit_verified;			/* verified its memory once more when stopped */
	int bad_claimed;
	char first_bad[160];
};

static volatile sig_atomic_t churn_stop;

static void churn_on_term(int sig)
{
	(void)sig;
	churn_stop = 1;
}

/* Pages of the region that share their frame with another of its pages. */
static int churn_merged_pages(const char *p, long ps)
{
	uint64_t entries[CHURN_PAGES];
	int fd, i, j, merged = 0;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, entries, sizeof(entries), (uintptr_t)p / ps * sizeof(entries[0])) !=
	    sizeof(entries)) {
		close(fd);
		return 0;
	}
	close(fd);
	for (i = 0; i < CHURN_PAGES; i++) {
		int64_t pfn = pagemap_entry_pfn(entries[i]);

		for (j = 0; pfn > 0 && j < CHURN_PAGES; j++)
			if (j != i && pagemap_entry_pfn(entries[j]) == pfn) {
				merged++;
				break;
			}
	}
	return merged;
}

/*
 * Compare the whole region with what this process wrote: page i holds the
 * pattern of seed 0xd00d + i % 4 (so every fourth page is the same and KSM
 * can merge them), with its first byte flipped when flips[i] says so. A
 * mismatch is counted and the first one is described in the report.
 */
static bool churn_verify(struct churn_report *rep, const char *p, long ps,
			 const unsigned char *flips, const char *when)
{
	static char want[CHURN_MAX_PAGE];
	int merged = churn_merged_pages(p, ps);
	size_t i, off;

	for (i = 0; i < CHURN_PAGES; i++) {
		fill_pattern(want, ps, ps, 0xd00d + i % 4);
		want[0] ^= flips[i];
		if (!memcmp(p + i * ps, want, ps))
			continue;
		for (off = 0; p[i * ps + off] == want[off]; off++)
			;
		__atomic_add_fetch(&rep->mismatches, 1, __ATOMIC_RELAXED);
		if (!__atomic_exchange_n(&rep->bad_claimed, 1, __ATOMIC_ACQ_REL))
			snprintf(rep->first_bad, sizeof(rep->first_bad),
				 "pid %d, %s: page %zu byte %zu is 0x%02x, wrote 0x%02x "
				 "(%d pages merged)", getpid(), when, i, off,
				 (unsigned char)p[i * ps + off], (unsigned char)want[off], merged);
		return false;
	}
	__atomic_add_fetch(&rep->bytes_verified, (unsigned long long)CHURN_PAGES * ps,
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&rep->checks, 1, __ATOMIC_RELAXED);
	if (merged)
		__atomic_add_fetch(&rep->merged_checks, 1, __ATOMIC_RELAXED);
	return true;
}

/* Wait up to @ms for some pages of the region to be merged. */
static void churn_wait_merged(const char *p, long ps, unsigned int ms)
{
	unsigned long end = ksm_now_ms() + ms;
	struct timespec tick = { 0, 5 * 1000000L };

	while (!churn_stop && !churn_merged_pages(p, ps) && ksm_now_ms() < end)
		nanosleep(&tick, NULL);
}

/*
 * Map identical memory, let it merge, fork, write, unmap, until told to stop
 * (SIGTERM). Every process checks all of its memory after the merges, after
 * each copy-on-write (its own and its child's) and when it stops.
 */
static void churn(unsigned int seed, struct churn_report *rep)
{
	long ps = sysconf(_SC_PAGESIZE);
	bool ok = true;

	if (ps > CHURN_MAX_PAGE)
		_exit(3);
	signal(SIGTERM, churn_on_term);
	srand(seed);
	while (ok) {
		size_t len = CHURN_PAGES * ps;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned char flips[CHURN_PAGES] = {0};
		pid_t child;
		size_t i;
		int status;

		if (p == MAP_FAILED)
			_exit(1);
		for (i = 0; i < CHURN_PAGES; i++)
			fill_pattern(p + i * ps, ps, ps, 0xd00d + i % 4);
		madvise(p, len, MADV_MERGEABLE);
		/* Every other round long enough for ksmd to merge, else briefly. */
		churn_wait_merged(p, ps, rep->rounds % 2 ? rand() % 20 : MERGE_WAIT_MS);
		ok &= churn_verify(rep, p, ps, flips, "after merging");
		child = fork();
		if (child == 0) {
			/* Inherit the (maybe merged) pages, write one, check all. */
			i = (rand() + CHURN_PAGES / 2) % CHURN_PAGES;	/* not the parent's */
			ok = churn_verify(rep, p, ps, flips, "child, inherited");
			p[i * ps] ^= 1;
			flips[i] ^= 1;
			ok &= churn_verify(rep, p, ps, flips, "child, after its write");
			_exit(ok ? 0 : 2);
		}
		if (child > 0) {
			ok &= waitpid(child, &status, 0) == child && WIFEXITED(status) &&
			      !WEXITSTATUS(status);
			/* Its copy-on-write must not show here. */
			ok &= churn_verify(rep, p, ps, flips, "after the child's write");
		}
		i = rand() % CHURN_PAGES;
		p[i * ps] ^= 1;
		flips[i] ^= 1;
		ok &= churn_verify(rep, p, ps, flips, "after its own write");
		if (rand() % 2) {
			madvise(p, len / 2, MADV_UNMERGEABLE);
			ok &= churn_verify(rep, p, ps, flips, "after unmerging half");
		}
		__atomic_add_fetch(&rep->rounds, 1, __ATOMIC_RELAXED);
		if (churn_stop) {
			ok &= churn_verify(rep, p, ps, flips, "when stopped");
			rep->exit_verified = ok;
			munmap(p, len);
			break;
		}
		munmap(p, len);
	}
	_exit(ok ? 0 : 2);
}

/* Stop the churners: each verifies its memory a last time and exits; 0 if all did. */
static int churners_stop(pid_t *pids, char *why, size_t len)
{
	unsigned long end = ksm_now_ms() + STOP_WAIT_MS;
	int i, status, bad = 0;

	for (i = 0; i < CHURNERS; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (i = 0; i < CHURNERS; i++) {
		pid_t r = 0;

		while (pids[i] > 0 && !(r = waitpid(pids[i], &status, WNOHANG)) &&
		       ksm_now_ms() < end)
			usleep(10000);
		if (pids[i] <= 0)
			continue;
		if (r != pids[i]) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
			snprintf(why, len, "churner %d did not stop within %d ms", pids[i],
				 STOP_WAIT_MS);
			bad = 1;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			snprintf(why, len, "churner %d ended with status 0x%x", pids[i], status);
			bad = 1;
		}
		pids[i] = 0;
	}
	return bad ? -1 : 0;
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
	struct churn_report *rep = MAP_FAILED, sum = {0};
	struct ksm_knobs knobs = {0};
	pid_t pids[CHURNERS] = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	char why[160] = "";
	unsigned long end;
	int i, rounds = 0, err = 0;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!ksm_write("pages_to_scan", 256), "cannot set pages_to_scan");
	skel = test_policies__open_and_load();
	KTAP_EXPECT(skel, "cannot load the test policies");
	rep = mmap(NULL, CHURNERS * sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	KTAP_EXPECT(rep != MAP_FAILED, "mmap failed");
	for (i = 0; i < CHURNERS; i++) {
		pids[i] = fork();
		KTAP_EXPECT(pids[i] >= 0, "fork failed");
		if (pids[i] == 0)
			churn(i + 1, &rep[i]);
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

	/* Every process found its memory as it wrote it, all along. */
	err = churners_stop(pids, why, sizeof(why));
	for (i = 0; i < CHURNERS; i++) {
		sum.bytes_verified += rep[i].bytes_verified;
		sum.checks += rep[i].checks;
		sum.merged_checks += rep[i].merged_checks;
		sum.mismatches += rep[i].mismatches;
		sum.rounds += rep[i].rounds;
		sum.exit_verified += rep[i].exit_verified;
		if (rep[i].first_bad[0])
			ktap_diag("churner %d: %s", i, rep[i].first_bad);
	}
	ktap_diag("verified %llu bytes in %llu checks (%llu with merged pages) over %llu rounds; "
		  "%llu mismatches", sum.bytes_verified, sum.checks, sum.merged_checks, sum.rounds,
		  sum.mismatches);
	KTAP_EXPECT(!sum.mismatches, "%llu checks found memory that is not what was written",
		    sum.mismatches);
	KTAP_EXPECT(!err, "%s", why);
	KTAP_EXPECT(sum.exit_verified == CHURNERS, "%d of %d churners verified their memory "
		    "when stopped", sum.exit_verified, CHURNERS);
	/* The checks saw merged memory, not only memory ksmd never got to. */
	KTAP_EXPECT(sum.merged_checks > 0, "no check found merged pages");

	/* Afterwards: no policy, and KSM merges as upstream. */
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
	if (rep != MAP_FAILED)
		munmap(rep, CHURNERS * sizeof(*rep));
	test_policies__destroy(skel);
	ksm_test_end(&knobs);
	return result;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(policies_change_under_churn),
};
KTAP_MAIN(cases)
