// SPDX-License-Identifier: GPL-2.0
/*
 * R1, copy-on-write integrity under KSM (docs/reliability.md).
 *
 *   ksm-cow-torture [--duration S] [--procs N] [--max-procs N] [--pages N]
 *                   [--seed N] [--merge-timeout S] [--op-sleep-us N]
 *
 * N processes map the same seeded pseudo-random pages and offer them to KSM.
 * Once ksmd has merged them, every process for S seconds writes random pages,
 * forks (the child checks what it inherited and carries on as one more
 * process), exits, unmaps and maps again, moves its region with mremap, drops
 * pages (MADV_DONTNEED), toggles MADV_UNMERGEABLE/MADV_MERGEABLE and pages
 * ranges out to swap (MADV_PAGEOUT; a swap device must be on, or that part
 * is said not to run), and checks its whole region against what it knows it
 * wrote. Page i holds the stream of (seed, i, version), versions 0-3, so
 * identical pages keep appearing in other processes and keep merging.
 *
 * SIGTERM ends the churn early, as if S seconds had passed. Prints "# r1: ..." lines, then "r1-summary {JSON}". Exits 1 on any byte
 * that differs, any process that crashed or did not stop, or if KSM merged
 * nothing (pages_sharing never rose): a run that merged nothing tested nothing.
 * Each process sleeps --op-sleep-us (200) between operations, leaving the
 * CPUs some time for ksmd and for whoever drives the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ksm_util.h"

#define VERSIONS	4
#define ZEROED		0xff	/* version of a page dropped with MADV_DONTNEED */
#define STOP_WAIT_MS	120000	/* how long processes may take to verify and exit */

/* Shared by every process of the run (MAP_SHARED): what they did and found. */
struct r1_shared {
	int go, stop, population, bad_claimed;
	unsigned long long bytes_verified, checks, corruptions, crashes, errors;
	unsigned long long writes, forks, exits, remaps, moves, dontneeds;
	unsigned long long toggles, pageouts, swapped_seen;
	char first_bad[256];
};

struct r1_opts {
	unsigned int duration_s, procs, max_procs, pages, merge_timeout_s, op_sleep_us;
	uint64_t seed;
};

/* One process's view: its region and the version it wrote to each page. */
struct r1_proc {
	char *base;
	unsigned char *ver;
	uint64_t rng;
	bool swap;
};

static struct r1_shared *sh;
static volatile sig_atomic_t ended;	/* SIGTERM: end the churn now */
static struct r1_opts opt = {
	.duration_s = 60, .procs = 8, .max_procs = 16, .pages = 256,
	.merge_timeout_s = 120, .seed = 0x5eed, .op_sleep_us = 200,
};
static long ps;

#define ADD(field, n) __atomic_add_fetch(&sh->field, (n), __ATOMIC_RELAXED)

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct r1_proc *p)
{
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return p->rng;
}

/* What page @i of version @v holds: the same in every process of the run. */
static void content(uint64_t *buf, size_t i, unsigned char v)
{
	uint64_t x = splitmix(opt.seed ^ splitmix(i * VERSIONS + v));
	size_t k;

	if (v == ZEROED) {
		memset(buf, 0, ps);
		return;
	}
	for (k = 0; k < ps / sizeof(*buf); k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[k] = x;
	}
}

static void set_page(struct r1_proc *p, size_t i, unsigned char v)
{
	content((uint64_t *)(p->base + i * ps), i, v);
	p->ver[i] = v;
}

/* Check pages [@from, @to) against what this process wrote; false on a difference. */
static bool verify_range(struct r1_proc *p, size_t from, size_t to, const char *when)
{
	static uint64_t want[65536 / sizeof(uint64_t)];
	size_t i, off;

	for (i = from; i < to; i++) {
		const unsigned char *got = (const unsigned char *)p->base + i * ps;

		content(want, i, p->ver[i]);
		if (!memcmp(got, want, ps))
			continue;
		for (off = 0; got[off] == ((unsigned char *)want)[off]; off++)
			;
		ADD(corruptions, 1);
		if (!__atomic_exchange_n(&sh->bad_claimed, 1, __ATOMIC_ACQ_REL))
			snprintf(sh->first_bad, sizeof(sh->first_bad),
				 "pid %d, %s: page %zu (version %u) byte %zu is 0x%02x, "
				 "wrote 0x%02x", getpid(), when, i, p->ver[i], off, got[off],
				 ((unsigned char *)want)[off]);
		return false;
	}
	ADD(bytes_verified, (unsigned long long)(to - from) * ps);
	ADD(checks, 1);
	return true;
}

static bool verify_all(struct r1_proc *p, const char *when)
{
	return verify_range(p, 0, opt.pages, when);
}

/* A random range of the region: [*from, *from + *n). */
static void pick_range(struct r1_proc *p, size_t *from, size_t *n)
{
	*n = 1 + rnd(p) % (opt.pages / 8 + 1);
	*from = rnd(p) % (opt.pages - *n + 1);
}

static bool swap_on(void)
{
	char line[256];
	int lines = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1;	/* a header, then one line per device */
}

/* Pages of [@from, @from + @n) now swapped out (pagemap bit 62). */
static unsigned int swapped(struct r1_proc *p, size_t from, size_t n)
{
	uint64_t e[512];
	unsigned int k, count = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	n = n > 512 ? 512 : n;
	if (pread(fd, e, n * sizeof(e[0]),
		  ((uintptr_t)p->base / ps + from) * sizeof(e[0])) == (ssize_t)(n * sizeof(e[0])))
		for (k = 0; k < n; k++)
			count += !!(e[k] & PM_SWAP);
	close(fd);
	return count;
}

/* A system call that must work did not: the process stops, counted as an error. */
static bool failed(const char *what)
{
	int err = errno;

	ADD(errors, 1);
	if (!__atomic_exchange_n(&sh->bad_claimed, 1, __ATOMIC_ACQ_REL))
		snprintf(sh->first_bad, sizeof(sh->first_bad), "pid %d: %s: %s", getpid(), what,
			 strerror(err));
	return false;
}

/* A process dies: was it a crash? Exit 2 is a difference it has already counted. */
static void reaped(int status)
{
	/* Exit 2: a difference, 4: an error; each counted by the process itself. */
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) &&
				    WEXITSTATUS(status) != 2 && WEXITSTATUS(status) != 4)) {
		ADD(crashes, 1);
		if (!__atomic_exchange_n(&sh->bad_claimed, 1, __ATOMIC_ACQ_REL))
			snprintf(sh->first_bad, sizeof(sh->first_bad),
				 "a process ended with status 0x%x", status);
	}
}

static void reap_children(void)
{
	int status;

	while (waitpid(-1, &status, WNOHANG) > 0)
		reaped(status);
}

/* Unmap a range and map fresh memory there: version 0, mergeable again. */
static bool remap_range(struct r1_proc *p, size_t from, size_t n)
{
	char *at = p->base + from * ps;
	size_t i;

	if (munmap(at, n * ps))
		return failed("munmap");
	if (mmap(at, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) != at)
		return failed("mmap");
	for (i = from; i < from + n; i++)
		set_page(p, i, 0);
	if (madvise(at, n * ps, MADV_MERGEABLE))
		return failed("madvise(MADV_MERGEABLE) of a new mapping");
	ADD(remaps, 1);
	return true;
}

/*
 * Move the whole region elsewhere (mremap), merged pages and all. Merge
 * toggles split it into several VMAs and mremap moves one at a time: each
 * piece /proc/self/maps shows goes to the same offset of the new place.
 */
static bool move_region(struct r1_proc *p)
{
	uintptr_t base = (uintptr_t)p->base, len = (uintptr_t)opt.pages * ps, start, end;
	char *to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char line[512];
	bool ok = true;
	FILE *maps;

	if (to == MAP_FAILED)
		return failed("mmap for mremap");
	maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return failed("/proc/self/maps");
	while (ok && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || end <= base ||
		    start >= base + len)
			continue;
		start = start < base ? base : start;
		end = end > base + len ? base + len : end;
		ok = mremap((void *)start, end - start, end - start,
			    MREMAP_MAYMOVE | MREMAP_FIXED, to + (start - base)) ==
		     to + (start - base) || failed("mremap");
	}
	fclose(maps);
	if (!ok)
		return false;
	p->base = to;
	ADD(moves, 1);
	return true;
}

static void churn(struct r1_proc *p) __attribute__((noreturn));

static void churn(struct r1_proc *p)
{
	bool ok = true;

	while (ok && !__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		unsigned int op = rnd(p) % 100;
		size_t from, n, i;
		pid_t child;

		reap_children();
		if (opt.op_sleep_us)
			usleep(opt.op_sleep_us);
		pick_range(p, &from, &n);
		if (op < 25) {			/* random writes: copy-on-write */
			for (i = 0; i < n; i++)
				set_page(p, rnd(p) % opt.pages, rnd(p) % VERSIONS);
			ADD(writes, n);
		} else if (op < 45) {
			ok = verify_all(p, "checking");
		} else if (op < 50) {		/* fork: the child checks and carries on */
			if (__atomic_add_fetch(&sh->population, 1, __ATOMIC_ACQ_REL) >
			    (int)opt.max_procs) {
				__atomic_sub_fetch(&sh->population, 1, __ATOMIC_ACQ_REL);
				continue;
			}
			child = fork();
			if (child < 0) {
				__atomic_sub_fetch(&sh->population, 1, __ATOMIC_ACQ_REL);
				continue;
			}
			if (child == 0) {
				p->rng = splitmix(p->rng ^ getpid());
				ok = verify_all(p, "child after fork");
			} else {
				ADD(forks, 1);
				ok = verify_all(p, "parent after fork");
			}
		} else if (op < 53) {		/* exit, while enough remain */
			if (__atomic_sub_fetch(&sh->population, 1, __ATOMIC_ACQ_REL) <
			    (int)opt.procs / 2) {
				__atomic_add_fetch(&sh->population, 1, __ATOMIC_ACQ_REL);
				continue;
			}
			ok = verify_all(p, "exiting");
			ADD(exits, 1);
			_exit(ok ? 0 : 2);
		} else if (op < 58) {
			ok = remap_range(p, from, n) && verify_all(p, "after munmap and mmap");
		} else if (op < 61) {
			ok = move_region(p) && verify_all(p, "after mremap");
		} else if (op < 67) {
			ok = !madvise(p->base + from * ps, n * ps, MADV_DONTNEED) ||
			     failed("madvise(MADV_DONTNEED)");
			for (i = from; ok && i < from + n; i++)
				p->ver[i] = ZEROED;
			ADD(dontneeds, 1);
			ok = ok && verify_range(p, from, from + n, "after MADV_DONTNEED");
		} else if (op < 75) {
			int advice = rnd(p) % 2 ? MADV_UNMERGEABLE : MADV_MERGEABLE;

			ok = !madvise(p->base + from * ps, n * ps, advice) ||
			     failed(advice == MADV_MERGEABLE ? "madvise(MADV_MERGEABLE)" :
				    "madvise(MADV_UNMERGEABLE)");
			ADD(toggles, 1);
			ok = ok && verify_range(p, from, from + n, "after a merge toggle");
		} else if (op < 83 && p->swap) {
			madvise(p->base + from * ps, n * ps, MADV_PAGEOUT);
			ADD(pageouts, 1);
			ADD(swapped_seen, swapped(p, from, n));
			/* Reading them swaps them in. */
			ok = verify_range(p, from, from + n, "after swap out and in");
		} else {
			struct timespec t = { 0, (rnd(p) % 5 + 1) * 1000000L };

			nanosleep(&t, NULL);
		}
	}
	ok = ok && verify_all(p, "when stopped");
	__atomic_sub_fetch(&sh->population, 1, __ATOMIC_ACQ_REL);
	_exit(ok ? 0 : sh->errors ? 4 : 2);
}

static void on_term(int sig)
{
	(void)sig;
	ended = 1;
}

static pid_t start_process(unsigned int k)
{
	struct r1_proc p = { .swap = swap_on() };
	size_t len = (size_t)opt.pages * ps, i;
	pid_t pid = fork();

	if (pid)
		return pid;
	signal(SIGTERM, SIG_DFL);
	p.rng = splitmix(opt.seed + k + 1) | 1;
	p.ver = calloc(opt.pages, 1);
	p.base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!p.ver || p.base == MAP_FAILED)
		_exit(3);
	for (i = 0; i < opt.pages; i++)
		set_page(&p, i, 0);
	if (madvise(p.base, len, MADV_MERGEABLE))
		_exit(3);
	__atomic_add_fetch(&sh->population, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
		usleep(10000);
	if (!verify_all(&p, "after the first merge"))
		_exit(2);
	churn(&p);
}

static unsigned long sharing(void)
{
	unsigned long v = 0;

	ksm_read("pages_sharing", &v);
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: ksm-cow-torture [--duration S] [--procs N] [--max-procs N] "
		"[--pages N] [--seed N] [--merge-timeout S] [--op-sleep-us N]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "duration", 1, 0, 'd' }, { "procs", 1, 0, 'p' }, { "max-procs", 1, 0, 'm' },
		{ "pages", 1, 0, 'n' }, { "seed", 1, 0, 's' }, { "merge-timeout", 1, 0, 't' },
		{ "op-sleep-us", 1, 0, 'u' },
		{ 0 },
	};
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == '?' || parse_ulong(optarg, &v))
			usage();
		switch (c) {
		case 'd': opt.duration_s = v; break;
		case 'p': opt.procs = v; break;
		case 'm': opt.max_procs = v; break;
		case 'n': opt.pages = v; break;
		case 's': opt.seed = v; break;
		case 't': opt.merge_timeout_s = v; break;
		case 'u': opt.op_sleep_us = v; break;
		}
	}
	if (optind != argc || opt.procs < 2 || opt.max_procs < opt.procs || opt.pages < 8)
		usage();
}

int main(int argc, char **argv)
{
	unsigned long start, end, merged_ms = 0, peak = 0, s;
	unsigned int k, lost = 0;
	int status;
	bool fail;

	parse(argc, argv);
	ps = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Orphans of exited processes come back here to be reaped and judged. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Its own process group: the processes that do not stop can be ended. */
	setpgid(0, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 3;
	printf("# r1: %u processes of %u pages (seed %llu), up to %u, for %u s; swap %s\n",
	       opt.procs, opt.pages, (unsigned long long)opt.seed, opt.max_procs,
	       opt.duration_s, swap_on() ? "on: pages go out and come back" :
	       "off (no swap device): swap out and in not exercised");
	for (k = 0; k < opt.procs; k++)
		if (start_process(k) < 0)
			return 3;
	signal(SIGTERM, on_term);
	/* Identical memory merges before the churn begins. */
	start = ksm_now_ms();
	while (sharing() < (unsigned long)(opt.procs - 1) * opt.pages / 2 &&
	       ksm_now_ms() < start + opt.merge_timeout_s * 1000UL)
		usleep(20000);
	s = sharing();
	peak = s;
	merged_ms = ksm_now_ms() - start;
	printf("# r1: pages_sharing %lu after %lu ms (half of the %u identical pages: %u)\n",
	       s, merged_ms, (opt.procs - 1) * opt.pages, (opt.procs - 1) * opt.pages / 2);
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	end = ksm_now_ms() + opt.duration_s * 1000UL;
	while (ksm_now_ms() < end && !ended &&
	       !__atomic_load_n(&sh->corruptions, __ATOMIC_RELAXED)) {
		usleep(50000);
		s = sharing();
		peak = s > peak ? s : peak;
		while (waitpid(-1, &status, WNOHANG) > 0)
			reaped(status);
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	end = ksm_now_ms() + STOP_WAIT_MS;
	for (;;) {
		pid_t r = waitpid(-1, &status, WNOHANG);

		if (r > 0) {
			reaped(status);
			continue;
		}
		if (r < 0 && errno == ECHILD)
			break;
		if (ksm_now_ms() > end) {
			/* Whoever is left did not stop: a hang is a failure too. */
			lost = 1;
			signal(SIGTERM, SIG_IGN);
			kill(0, SIGTERM);
			while (wait(NULL) > 0)
				;
			break;
		}
		usleep(10000);
	}
	fail = sh->corruptions || sh->crashes || sh->errors || lost || !peak;
	printf("# r1: %llu checks, %llu bytes verified, %llu corruptions, %llu crashes, "
	       "%llu failed system calls%s\n",
	       sh->checks, sh->bytes_verified, sh->corruptions, sh->crashes, sh->errors,
	       lost ? ", processes that did not stop" : "");
	printf("# r1: %llu pages written, %llu forks, %llu exits, %llu munmap+mmap, %llu mremap, "
	       "%llu MADV_DONTNEED, %llu merge toggles, %llu page-outs (%llu pages seen "
	       "swapped)\n", sh->writes, sh->forks, sh->exits, sh->remaps, sh->moves,
	       sh->dontneeds, sh->toggles, sh->pageouts, sh->swapped_seen);
	printf("# r1: pages_sharing peaked at %lu\n", peak);
	if (sh->first_bad[0])
		printf("# r1: first failure: %s\n", sh->first_bad);
	if (!peak)
		printf("# r1: KSM merged nothing: nothing was tested\n");
	printf("r1-summary {\"bytes_verified\": %llu, \"checks\": %llu, \"corruptions\": %llu, "
	       "\"crashes\": %llu, \"errors\": %llu, \"lost\": %u, \"pages_sharing_peak\": %lu, "
	       "\"first_merge_ms\": %lu, \"forks\": %llu, \"exits\": %llu, \"writes\": %llu, "
	       "\"remaps\": %llu, \"moves\": %llu, \"dontneeds\": %llu, \"toggles\": %llu, "
	       "\"pageouts\": %llu, \"swapped_seen\": %llu, \"swap\": %s}\n",
	       sh->bytes_verified, sh->checks, sh->corruptions, sh->crashes, sh->errors, lost,
	       peak,
	       merged_ms, sh->forks, sh->exits, sh->writes, sh->remaps, sh->moves,
	       sh->dontneeds, sh->toggles, sh->pageouts, sh->swapped_seen,
	       swap_on() ? "true" : "false");
	return fail ? 1 : 0;
}
