// SPDX-License-Identifier: GPL-2.0
/*
 * R3's tenant (docs/reliability.md): a process ksmd is scanning, with a
 * thread that maps, touches and unmaps memory in a loop. mmap and munmap take
 * the process's mmap_lock for writing, so an iteration waits as long as ksmd
 * (or a policy program ksmd runs) holds it: the longest iteration is the
 * longest mmap_lock wait the tenant saw, plus its own work.
 *
 *   ksm-mmap-latency PAGES SEED
 *
 * Maps PAGES mergeable pages, half of them the same content (so ksmd merges
 * and scans), prints "ready", then runs the loop until stdin closes or says
 * "q"; "r" prints and resets "max_us N iterations N" (the longest iteration
 * in microseconds since the last "r"); "m SEED" rewrites the identical half
 * with the content of SEED, for ksmd to merge anew (answers "rewritten").
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ksm_util.h"

static unsigned long long max_us, iterations;
static volatile int stop;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000ULL + t.tv_nsec / 1000;
}

static void *writer(void *arg)
{
	long ps = sysconf(_SC_PAGESIZE);

	(void)arg;
	while (!stop) {
		unsigned long long t0 = now_us(), dt;
		char *p = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED) {
			memset(p, 1, 16 * ps);
			munmap(p, 16 * ps);
		}
		dt = now_us() - t0;
		pthread_mutex_lock(&lock);
		max_us = dt > max_us ? dt : max_us;
		iterations++;
		pthread_mutex_unlock(&lock);
		usleep(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long pages, seed;
	long ps = sysconf(_SC_PAGESIZE);
	char line[32], *p;
	pthread_t t;
	unsigned long i;

	if (argc != 3 || parse_ulong(argv[1], &pages) || parse_ulong(argv[2], &seed)) {
		fprintf(stderr, "usage: ksm-mmap-latency PAGES SEED\n");
		return 2;
	}
	p = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	/* Half identical (merged), half distinct (scanned, never merged). */
	for (i = 0; i < pages; i++)
		fill_pattern(p + i * ps, ps, ps, i % 2 ? seed : seed + 1 + i);
	if (madvise(p, pages * ps, MADV_MERGEABLE))
		return 1;
	if (pthread_create(&t, NULL, writer, NULL))
		return 1;
	printf("ready %lu\n", (unsigned long)p);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) && line[0] != 'q') {
		if (line[0] == 'm' && !parse_ulong(line + 2, &seed)) {
			for (i = 1; i < pages; i += 2)
				fill_pattern(p + i * ps, ps, ps, seed);
			printf("rewritten\n");
			fflush(stdout);
			continue;
		}
		if (line[0] != 'r')
			continue;
		pthread_mutex_lock(&lock);
		printf("max_us %llu iterations %llu\n", max_us, iterations);
		max_us = iterations = 0;
		pthread_mutex_unlock(&lock);
		fflush(stdout);
	}
	stop = 1;
	pthread_join(t, NULL);
	return 0;
}
