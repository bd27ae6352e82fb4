// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-workload: a program that knows nothing of KSM (unless told --madvise).
 * It maps PAGES anonymous pages, fills page i with the pattern of seed
 * SEED + i * 0x100000001 (what the test workers use too), prints the address,
 * and holds the memory until its standard input closes or SECONDS pass.
 * With --leader-exits a second thread holds it and the main thread calls
 * pthread_exit() at once: the process lives on without its leader.
 *
 *   ksm-workload [--madvise] [--leader-exits] [--hold SECONDS] PAGES SEED
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

static void usage(void)
{
	fprintf(stderr, "usage: ksm-workload [--madvise] [--leader-exits] [--hold SECONDS] "
		"PAGES SEED\n");
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
		if (n <= 0 || read(0, buf, sizeof(buf)) <= 0)
			break;
	}
	exit(0);
}

int main(int argc, char **argv)
{
	unsigned long pages, seed, i;
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
		fill_pattern(addr + i * ps, ps, ps, seed + i * 0x100000001ULL);
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
