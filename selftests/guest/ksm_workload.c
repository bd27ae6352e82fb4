// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-workload: a program that knows nothing of KSM (unless told --madvise).
 * It maps PAGES anonymous pages, fills page i with the pattern of seed
 * SEED + i * 0x100000001 (what the test workers use too), prints the address,
 * and holds the memory until its standard input closes or SECONDS pass.
 * With --leader-exits a second thread holds it and the main thread calls
 * pthread_exit() at once: the process lives on without its leader.
 * For a layout of known duplicates: --repeat N gives each content N pages
 * in a row (page i holds content i / N); --zero Z maps Z more pages, filled
 * with zeroes; --volatile V maps V more pages, which a thread rewrites with
 * new contents every few milliseconds. A line "v" on its standard input has
 * it check its pages and the zero pages, and answer "verified ok" or
 * "verified bad N" (the pages that do not hold what it wrote).
 *
 *   ksm-workload [--madvise] [--leader-exits] [--hold SECONDS] [--repeat N]
 *                [--zero Z] [--volatile V] PAGES SEED
 */
#include "ksm_util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned long hold;
static char *volatile_area;
static unsigned long volatile_pages;
/* What it wrote, to check. */
static char *main_area, *zero_area;
static unsigned long main_pages, main_seed, main_repeat = 1, zero_pages;

static void verify(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned long bad = 0, i, j;

	for (i = 0; i < main_pages; i++)
		bad += !check_pattern(main_area + i * ps, ps, ps,
				      main_seed + i / main_repeat * 0x100000001ULL);
	for (i = 0; i < zero_pages; i++) {
		for (j = 0; j < (unsigned long)ps && !zero_area[i * ps + j]; j++)
			;
		bad += j < (unsigned long)ps;
	}
	if (bad)
		printf("verified bad %lu\n", bad);
	else
		printf("verified ok\n");
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: ksm-workload [--madvise] [--leader-exits] [--hold SECONDS] "
		"[--repeat N] [--zero Z] [--volatile V] PAGES SEED\n");
	exit(2);
}

/* Hold the memory until stdin closes (or the time is up), then end the process. */
static void *hold_memory(void *arg)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	char buf[64];

	(void)arg;
	for (;;) {
		int n = poll(&pfd, 1, hold ? (int)hold * 1000 : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (n = read(0, buf, sizeof(buf))) <= 0)
			break;
		if (buf[0] == 'v')
			verify();
	}
	exit(0);
}

/* Rewrite the volatile pages, each pass with new contents, until the end. */
static void *churn(void *arg)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned long round = 0;

	(void)arg;
	for (;; round++) {
		for (unsigned long i = 0; i < volatile_pages; i++)
			memset(volatile_area + i * ps + round % (ps / 64) * 64, (int)(round + i), 64);
		usleep(5000);
	}
	return NULL;
}

/* @n more anonymous pages, each touched: 0 or exits. */
static char *map_more(unsigned long n, long ps, int fill)
{
	char *p = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("ksm-workload: mmap");
		exit(1);
	}
	madvise(p, n * ps, MADV_NOHUGEPAGE);
	for (unsigned long i = 0; i < n; i++)
		memset(p + i * ps, fill, ps);
	return p;
}

int main(int argc, char **argv)
{
	unsigned long pages, seed, i, repeat = 1, zero = 0;
	pthread_t churner;
	long ps = sysconf(_SC_PAGESIZE);
	bool do_madvise = false, leader_exits = false;
	pthread_t holder;
	char *addr;
	int argi = 1;

	for (; argi < argc && argv[argi][0] == '-'; argi++) {
		if (!strcmp(argv[argi], "--madvise"))
			do_madvise = true;
		else if (!strcmp(argv[argi], "--leader-exits"))
			leader_exits = true;
		else if (!strcmp(argv[argi], "--hold") && argi + 1 < argc &&
			 !parse_ulong(argv[argi + 1], &hold))
			argi++;
		else if (!strcmp(argv[argi], "--repeat") && argi + 1 < argc &&
			 !parse_ulong(argv[argi + 1], &repeat) && repeat)
			argi++;
		else if (!strcmp(argv[argi], "--zero") && argi + 1 < argc &&
			 !parse_ulong(argv[argi + 1], &zero))
			argi++;
		else if (!strcmp(argv[argi], "--volatile") && argi + 1 < argc &&
			 !parse_ulong(argv[argi + 1], &volatile_pages))
			argi++;
		else
			usage();
	}
	if (argc - argi != 2 || parse_ulong(argv[argi], &pages) || !pages ||
	    parse_ulong(argv[argi + 1], &seed))
		usage();

	addr = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED) {
		perror("ksm-workload: mmap");
		return 1;
	}
	madvise(addr, pages * ps, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		fill_pattern(addr + i * ps, ps, ps, seed + i / repeat * 0x100000001ULL);
	if (zero)
		zero_area = map_more(zero, ps, 0);
	main_area = addr;
	main_pages = pages;
	main_seed = seed;
	main_repeat = repeat;
	zero_pages = zero;
	if (volatile_pages) {
		volatile_area = map_more(volatile_pages, ps, 0x5a);
		if (pthread_create(&churner, NULL, churn, NULL)) {
			fprintf(stderr, "ksm-workload: pthread_create failed\n");
			return 1;
		}
	}
	if (do_madvise && madvise(addr, pages * ps, MADV_MERGEABLE)) {
		perror("ksm-workload: madvise(MADV_MERGEABLE)");
		return 1;
	}
	printf("addr=%p pages=%lu\n", (void *)addr, pages);
	fflush(stdout);
	if (!leader_exits)
		hold_memory(NULL);
	if (pthread_create(&holder, NULL, hold_memory, NULL)) {
		fprintf(stderr, "ksm-workload: pthread_create failed\n");
		return 1;
	}
	pthread_exit(NULL);
}
