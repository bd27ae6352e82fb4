// SPDX-License-Identifier: GPL-2.0
/*
 * ksm-sharing-time: upstream's ksm_tests timings (-P, -D, -C), timed to the
 * expected sharing and with ksmd kept out of the windows it is not part of
 * (issue 13, P4's variant).
 *
 *   ksm-sharing-time merge|unmerge SIZE_MIB
 *   ksm-sharing-time cow
 *
 * ksm_tests times a merge as two full scans from madvise(), whatever merged
 * and whenever, and polls full_scans without pause, so that on one CPU the
 * poller takes turns with ksmd; its unmerge and copy-on-write windows are a
 * few tens of milliseconds in which one of ksmd's batches falls or does not.
 * Here, at ksm_tests' pace (pages_to_scan 10, sleep_millisecs 0):
 *
 *   merge    SIZE MiB of identical pages ('*', as ksm_tests): the time from
 *            madvise(MADV_MERGEABLE) to the merge that completes them, as
 *            bench/ksm_merge_clock.bpf.c stamps it (a poller that sleeps in
 *            between reads /proc/self/ksm_merging_pages until every page is
 *            merged; it sees that only a tick late), and the clock must have
 *            seen exactly as many merges;
 *   unmerge  the same merge, then ksmd stopped (run=0 keeps what merged), and
 *            the time of madvise(MADV_UNMERGEABLE), which must leave every
 *            page in a frame of its own and every byte as it was;
 *   cow      2000 pairs of identical pages (as ksm_tests -C), merged, ksmd
 *            stopped, and the time to write one byte into one page of each
 *            pair; every page must then read as written.
 *
 * The output has ksm_tests' lines ("Total time: S s", "Average speed: X
 * MiB/s"; for cow after "Merged pages:"), so one parser reads both. The knobs
 * are restored at the end. Exit status 1 when a check fails.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ksm_merge_clock.skel.h"
#include "ksm_util.h"

/* ksm_tests' pace: its default page_count, and no sleep. */
#define PAGES_TO_SCAN 10
#define POLL_US 1000
#define MERGE_TIMEOUT_S 300
/* Upstream merges in two full scans; a configuration that merges nothing gives up here. */
#define MERGE_MAX_SCANS 4
#define COW_PAIRS 2000

static long page_size;
static struct ksm_merge_clock_bpf *clock_skel;

/* CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns(). */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* /proc/self/ksm_merging_pages through an open descriptor, or -1. */
static long merging_pages(int fd)
{
	char buf[32];
	unsigned long val;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return parse_ulong(buf, &val) ? -1 : (long)val;
}

/*
 * Offer @len bytes at @area to KSM, start ksmd and wait until @want of its
 * pages are merged. Returns the seconds from madvise() to the last merge, or
 * a negative value.
 */
static double merge_until(char *area, size_t len, long want)
{
	struct timespec poll = { .tv_nsec = POLL_US * 1000L };
	int fd = open("/proc/self/ksm_merging_pages", O_RDONLY);
	unsigned long scans0, scans = 0;
	double t0, t, last;
	long have = 0;

	clock_skel->bss->merges = 0;

	if (fd < 0 || ksm_read("full_scans", &scans0)) {
		perror("ksm-sharing-time: ksm_merging_pages, full_scans");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	t0 = now_s();
	if (madvise(area, len, MADV_MERGEABLE) || ksm_write("run", 1)) {
		perror("ksm-sharing-time: MADV_MERGEABLE, run=1");
		close(fd);
		return -1;
	}
	for (t = t0; t - t0 < MERGE_TIMEOUT_S; t = now_s()) {
		have = merging_pages(fd);
		if (have < 0 || have >= want || ksm_read("full_scans", &scans) ||
		    scans - scans0 > MERGE_MAX_SCANS)
			break;
		nanosleep(&poll, NULL);
	}
	close(fd);
	if (have != want) {
		fprintf(stderr, "ksm-sharing-time: %ld of %ld pages merged after %lu full scans, "
			"%.1f s\n", have, want, scans - scans0, t - t0);
		printf("# %ld of %ld pages merged after %lu full scans\n",
		       have, want, scans - scans0);
		return -1;
	}
	last = clock_skel->bss->last_merge_ns / 1e9;
	if ((long)clock_skel->bss->merges != want || last < t0) {
		fprintf(stderr, "ksm-sharing-time: the merge clock saw %llu merges for %ld pages\n",
			(unsigned long long)clock_skel->bss->merges, want);
		return -1;
	}
	return last - t0;
}

static int cmp_pfn(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Does each of the @pages pages at @area have a frame of its own? (The
 * unmerge leaves ksmd's rmap_items, hence ksm_merging_pages, until ksmd
 * runs again; the frames say what it did.)
 */
static bool frames_distinct(const char *area, long pages)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t *entries = calloc(pages, sizeof(*entries));
	int64_t *pfns = calloc(pages, sizeof(*pfns));
	off_t off = (uintptr_t)area / page_size * sizeof(uint64_t);
	bool ok = fd >= 0 && entries && pfns &&
		  pread(fd, entries, pages * sizeof(*entries), off) ==
		  (ssize_t)(pages * sizeof(*entries));

	for (long i = 0; ok && i < pages; i++) {
		pfns[i] = pagemap_entry_pfn(entries[i]);
		ok = pfns[i] > 0;
	}
	if (ok) {
		qsort(pfns, pages, sizeof(*pfns), cmp_pfn);
		for (long i = 1; ok && i < pages; i++)
			ok = pfns[i] != pfns[i - 1];
	}
	if (fd >= 0)
		close(fd);
	free(entries);
	free(pfns);
	return ok;
}

static void print_speed(size_t bytes, double secs)
{
	printf("# Total size:    %zu MiB\n", bytes >> 20);
	printf("# Total time:    %.9f s\n", secs);
	printf("# Average speed:  %.3f MiB/s\n", (bytes / 1048576.0) / secs);
}

/* @len bytes of private anonymous memory, or NULL (said). */
static char *map_area(size_t len)
{
	char *area = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (area == MAP_FAILED) {
		perror("ksm-sharing-time: mmap");
		return NULL;
	}
	return area;
}

/* Stop ksmd, keeping what merged, and start the clock of what follows. */
static int stop_ksmd(double *t0)
{
	if (ksm_write("run", 0)) {
		perror("ksm-sharing-time: run=0");
		return -1;
	}
	*t0 = now_s();
	return 0;
}

/*
 * The merge, and for @unmerge then the unmerge with ksmd stopped. A ksm page
 * has at most max_page_sharing mappings: of identical pages, one left over
 * when the rest fill whole ksm pages stays unmerged.
 */
static int merge_test(size_t len, bool unmerge)
{
	long pages = len / page_size;
	unsigned long max_sharing;
	char *area = map_area(len);
	double secs, t0;

	if (!area)
		return 1;
	if (ksm_read("max_page_sharing", &max_sharing)) {
		perror("ksm-sharing-time: max_page_sharing");
		return 1;
	}
	memset(area, '*', len);
	secs = merge_until(area, len, pages - (pages % max_sharing == 1));
	if (secs < 0)
		return 1;
	if (!unmerge) {
		print_speed(len, secs);
		return 0;
	}
	if (stop_ksmd(&t0))
		return 1;
	if (madvise(area, len, MADV_UNMERGEABLE)) {
		perror("ksm-sharing-time: MADV_UNMERGEABLE");
		return 1;
	}
	secs = now_s() - t0;
	if (!frames_distinct(area, pages)) {
		fprintf(stderr, "ksm-sharing-time: pages still share frames after MADV_UNMERGEABLE\n");
		return 1;
	}
	for (size_t off = 0; off < len; off += page_size) {
		if (memcmp(area + off, area, page_size) || area[off] != '*') {
			fprintf(stderr, "ksm-sharing-time: page %zu changed by the unmerge\n",
				off / page_size);
			return 1;
		}
	}
	print_speed(len, secs);
	return 0;
}

/* Page i of pair p: p + 1 bytes of '+' at its start, as ksm_tests -C. */
static bool pair_page_ok(const char *page, size_t p, char first)
{
	if (page[0] != first)
		return false;
	for (size_t i = 1; i < (size_t)page_size; i++)
		if (page[i] != (i <= p ? '+' : 0))
			return false;
	return true;
}

static int cow_test(void)
{
	size_t len = 2 * COW_PAIRS * page_size;
	char *area = map_area(len);
	double secs, t0;

	if (!area)
		return 1;
	for (size_t p = 0; p < COW_PAIRS; p++) {
		memset(area + 2 * p * page_size, '+', p + 1);
		memset(area + (2 * p + 1) * page_size, '+', p + 1);
	}
	if (merge_until(area, len, 2 * COW_PAIRS) < 0 || stop_ksmd(&t0))
		return 1;
	for (size_t p = 0; p < COW_PAIRS; p++)
		area[2 * p * page_size] = '-';
	secs = now_s() - t0;
	for (size_t p = 0; p < COW_PAIRS; p++) {
		if (!pair_page_ok(area + 2 * p * page_size, p, '-') ||
		    !pair_page_ok(area + (2 * p + 1) * page_size, p, '+')) {
			fprintf(stderr, "ksm-sharing-time: pair %zu does not read as written\n", p);
			return 1;
		}
	}
	printf("# Merged pages:\n");
	printf("# Total time:     %.9f s\n", secs);
	return 0;
}

int main(int argc, char **argv)
{
	struct ksm_knobs saved;
	unsigned long mib = 0;
	int status;

	page_size = sysconf(_SC_PAGESIZE);
	if (argc == 2 && !strcmp(argv[1], "cow"))
		;
	else if (argc != 3 || (strcmp(argv[1], "merge") && strcmp(argv[1], "unmerge")) ||
		 parse_ulong(argv[2], &mib) || !mib || mib > 4096) {
		fprintf(stderr, "usage: ksm-sharing-time merge|unmerge SIZE_MIB (1 to 4096), "
			"or ksm-sharing-time cow\n");
		return 2;
	}
	clock_skel = ksm_merge_clock_bpf__open_and_load();
	if (!clock_skel || ksm_merge_clock_bpf__attach(clock_skel)) {
		fprintf(stderr, "ksm-sharing-time: cannot load or attach the merge clock\n");
		return 1;
	}
	if (ksm_save_knobs(&saved) || ksm_write("run", 2) ||
	    ksm_write("sleep_millisecs", 0) || ksm_write("pages_to_scan", PAGES_TO_SCAN)) {
		perror("ksm-sharing-time: the KSM knobs");
		return 1;
	}
	if (!strcmp(argv[1], "cow"))
		status = cow_test();
	else
		status = merge_test(mib << 20, !strcmp(argv[1], "unmerge"));
	if (ksm_restore_knobs(&saved))
		perror("ksm-sharing-time: restoring the KSM knobs");
	ksm_merge_clock_bpf__destroy(clock_skel);
	return status;
}
