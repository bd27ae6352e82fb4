/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Worker processes for KSM guest tests. A worker is a forked child that fills a
 * region with a pattern and then obeys one command at a time over a pipe, so a
 * test can watch its pages from outside (pagemap, ksm_stat) and make it write,
 * unmerge, fork or exit at chosen moments.
 *
 * The region is mapped by the test before the fork and left untouched there, so
 * it has the same address in every worker and no page is shared by fork.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum worker_flags {
	W_MADVISE = 1 << 0,	/* madvise(MADV_MERGEABLE) after filling */
	W_ZERO = 1 << 1,	/* fill with zeroes instead of the pattern */
	W_VOLATILE = 1 << 2,	/* a thread keeps rewriting page 0 */
};

enum worker_cmd {
	WC_WRITE = 'w',		/* arg: page to overwrite; reply 0 */
	WC_CHECK = 'c',		/* reply 1 if the content is as expected */
	WC_UNMERGE = 'u',	/* madvise(MADV_UNMERGEABLE); reply 0 or -errno */
	WC_FORK = 'k',		/* fork a child that checks the region and exits;
				 * reply its verdict (1 = intact) */
	WC_GET_MERGE = 'p',	/* reply prctl(PR_GET_MEMORY_MERGE) */
	WC_QUIT = 'q',
};

struct worker {
	pid_t pid;
	int cmd_fd;
	int resp_fd;
};

struct region {
	char *addr;
	size_t pages;
	size_t page_size;
	uint64_t seed;
};

int region_map(struct region *r, size_t pages, uint64_t seed);
void region_unmap(struct region *r);
static inline char *region_page(const struct region *r, size_t i)
{
	return r->addr + i * r->page_size;
}

/* Fork a worker over @r; returns once it has filled the region. */
int worker_start(struct worker *w, const struct region *r, unsigned int flags);
/* Send a command, wait for the reply. */
int64_t worker_cmd(struct worker *w, enum worker_cmd cmd, uint64_t arg);
/* Ask the worker to exit and reap it; safe on a worker that never started. */
void worker_stop(struct worker *w);

/* Pages (from @first, @count of them) that all @n workers map at one PFN. */
size_t pages_shared_by(const struct worker *w, int n, const struct region *r,
		       size_t first, size_t count);
/* True when all @n workers share every page from @first to the region's end. */
bool all_pages_shared(const struct worker *w, int n, const struct region *r, size_t first);

/*
 * How long a test waits for ksmd to merge what it should: counted in full
 * scans (merging needs two or three), bounded in time for slow TCG guests.
 */
#define MERGE_MAX_SCANS		30
#define MERGE_TIMEOUT_MS	120000

/* Start @n workers over one region; on error some may be running (stop them). */
int workers_start(struct worker *w, int n, const struct region *r, unsigned int flags);
void workers_stop(struct worker *w, int n);
/* Wait until all @n workers share every page of @r; 0 or -ETIMEDOUT. */
int workers_wait_shared(const struct worker *w, int n, const struct region *r);

/*
 * Wait until /proc/PID/ksm_merging_pages of @w reads @pages: the counter is
 * updated when ksmd next visits the pages, not when a write or an unmerge
 * breaks them. 0 or a negative errno.
 */
int worker_wait_merging_pages(const struct worker *w, long pages);

#endif /* WORKER_H */
