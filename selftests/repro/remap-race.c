// SPDX-License-Identifier: GPL-2.0
/*
 * Reproduces, on a kernel without the series, the use-after-free that the
 * series' first patch ("mm/ksm: look at a merge candidate's anon_vma only
 * under RCU") fixes. Run on a KASAN kernel; selftests/repro/reproduce.py
 * boots one and reads its log.
 *
 *   ksm-remap-race [--duration S] [--tenants N] [--pages N] [--hog-mb N]
 *
 * The race: ksmd finds a candidate page under mmap_read_lock, keeps a
 * reference, drops the lock to search the trees, and takes it again to
 * merge. If meanwhile the range was unmapped (its anon_vma freed) and mapped
 * afresh, find_mergeable_vma() returns the new VMA and page_address_in_vma()
 * reads the old page's anon_vma. anon_vma is SLAB_TYPESAFE_BY_RCU: KASAN
 * (CONFIG_SLUB_RCU_DEBUG) sees the read only once a grace period has passed
 * since the free, so ksmd must also be held off the lock that long.
 *
 * Each tenant therefore runs two threads on one mm:
 *  - the remapper moves a spare region, already faulted (its own anon_vma)
 *    and holding the same content, over the target range with
 *    mremap(MREMAP_FIXED): unmap and map in one hold of mmap_lock, so the
 *    new VMA is complete by the time ksmd gets the lock back; then it
 *    prepares the next spare;
 *  - the hog keeps mmap_lock for writing as long as it can (mprotect() of a
 *    large populated region, back and forth), so that ksmd, queued behind
 *    it, waits out a grace period.
 * Two donors keep the same content merged, so it is in the stable tree and
 * every new page of the target is a candidate at once: ksmd's checksum of
 * the address still holds, since the content never changes.
 *
 * Ends after S seconds, or as soon as the kernel log shows a KASAN report.
 * Exits 0 when it ran (the verdict is the host's, from the kernel log), 1 on
 * a setup failure, and reports how many remaps it did.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ksm_util.h"

#define TARGET_ADDR	((void *)0x200000000000UL)
#define SPARE_ADDR	((void *)0x300000000000UL)
#define KMSG_CHECK_MS	500

struct race_opts {
	unsigned int duration_s, tenants, pages, hog_mb;
};

/* Shared by all processes (MAP_SHARED): stop flag and counts. */
struct race_shared {
	volatile int stop;
	unsigned long long remaps, hog_rounds;
};

static struct race_shared *shared;
static size_t page_size;

/* Page i of every region: the same bytes in every process. */
static void fill(char *p, unsigned int pages)
{
	unsigned int i;

	for (i = 0; i < pages; i++)
		memset(p + (size_t)i * page_size, 0x40 + (i % 64), page_size);
}

static char *map_filled(void *at, unsigned int pages, bool fixed)
{
	char *p = mmap(at, (size_t)pages * page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (fixed ? MAP_FIXED_NOREPLACE : 0), -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	fill(p, pages);
	if (madvise(p, (size_t)pages * page_size, MADV_MERGEABLE)) {
		munmap(p, (size_t)pages * page_size);
		return NULL;
	}
	return p;
}

struct hog_arg {
	char *region;
	size_t len;
};

static void *hog(void *arg)
{
	struct hog_arg *h = arg;

	while (!shared->stop) {
		mprotect(h->region, h->len, PROT_READ);
		mprotect(h->region, h->len, PROT_READ | PROT_WRITE);
		__atomic_add_fetch(&shared->hog_rounds, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int tenant(const struct race_opts *o)
{
	size_t len = (size_t)o->pages * page_size;
	struct hog_arg h = { .len = (size_t)o->hog_mb << 20 };
	pthread_t thread;
	char *spare;

	/* The hog's region: populated, not mergeable, so ksmd never visits it. */
	h.region = mmap(NULL, h.len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (h.region == MAP_FAILED || !map_filled(TARGET_ADDR, o->pages, true))
		return 1;
	if (pthread_create(&thread, NULL, hog, &h))
		return 1;
	while (!shared->stop) {
		spare = map_filled(SPARE_ADDR, o->pages, true);
		if (!spare)
			break;
		if (mremap(spare, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, TARGET_ADDR) !=
		    TARGET_ADDR)
			break;
		__atomic_add_fetch(&shared->remaps, 1, __ATOMIC_RELAXED);
	}
	shared->stop = 1;
	pthread_join(thread, NULL);
	return 0;
}

static int donor(const struct race_opts *o)
{
	if (!map_filled(NULL, o->pages, false))
		return 1;
	while (!shared->stop)
		usleep(100000);
	return 0;
}

/* True once the kernel log has a KASAN report (read from where it was at start). */
static bool kasan_reported(int kmsg)
{
	char rec[4096];
	ssize_t n;

	while ((n = read(kmsg, rec, sizeof(rec) - 1)) != 0) {
		if (n < 0) {
			if (errno == EPIPE)	/* records overwritten: go on */
				continue;
			return false;		/* EAGAIN: nothing more yet */
		}
		rec[n] = '\0';
		if (strstr(rec, "BUG: KASAN"))
			return true;
	}
	return false;
}

static pid_t spawn(int (*fn)(const struct race_opts *), const struct race_opts *o)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(o));
	return pid;
}

static void usage(void)
{
	fprintf(stderr, "usage: ksm-remap-race [--duration S] [--tenants N] [--pages N] [--hog-mb N]\n");
	exit(2);
}

static unsigned int positive(const char *s)
{
	unsigned long v;

	if (parse_ulong(s, &v) || !v || v > 1U << 20) {
		fprintf(stderr, "ksm-remap-race: '%s' is not a number from 1 to %u\n", s, 1U << 20);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "tenants", required_argument, NULL, 't' },
		{ "pages", required_argument, NULL, 'p' },
		{ "hog-mb", required_argument, NULL, 'm' },
		{}
	};
	struct race_opts o = { .duration_s = 120, .tenants = 2, .pages = 16, .hog_mb = 32 };
	unsigned long deadline, found_at = 0;
	struct ksm_knobs saved;
	pid_t pids[64];
	unsigned int n = 0, i;
	int c, kmsg, bad = 0, status;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.duration_s = positive(optarg); break;
		case 't': o.tenants = positive(optarg); break;
		case 'p': o.pages = positive(optarg); break;
		case 'm': o.hog_mb = positive(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || o.tenants > 60)
		usage();
	page_size = sysconf(_SC_PAGESIZE);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (shared == MAP_FAILED || kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0) {
		perror("ksm-remap-race: setup");
		return 1;
	}
	if (ksm_test_begin(&saved) || ksm_write("pages_to_scan", 64) ||
	    ksm_write("sleep_millisecs", 1)) {
		perror("ksm-remap-race: KSM knobs");
		return 1;
	}
	for (i = 0; i < 2; i++)
		pids[n++] = spawn(donor, &o);
	for (i = 0; i < o.tenants; i++)
		pids[n++] = spawn(tenant, &o);
	deadline = ksm_now_ms() + o.duration_s * 1000UL;
	while (!shared->stop && ksm_now_ms() < deadline) {
		usleep(KMSG_CHECK_MS * 1000);
		if (kasan_reported(kmsg)) {
			found_at = ksm_now_ms();
			break;
		}
	}
	shared->stop = 1;
	for (i = 0; i < n; i++) {
		if (pids[i] <= 0 || waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	}
	ksm_test_end(&saved);
	printf("# remap-race: %llu remaps, %llu hog rounds, KASAN report: %s\n",
	       shared->remaps, shared->hog_rounds,
	       found_at ? "yes" : "none within the duration");
	if (bad)
		fprintf(stderr, "ksm-remap-race: a process failed to start, set up or exit\n");
	return bad;
}
