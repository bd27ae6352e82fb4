// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write of KSM pages: a write gives the writer a private copy and
 * leaves the other sharers' bytes alone; fork and exit of a sharer leave the
 * remaining sharers merged and intact.
 */
#include "ksm_util.h"
#include "ktap.h"
#include "worker.h"

#define PAGES 16

/* Writing to a merged page gives the writer a private copy. */
static enum ktap_result write_gives_private_copy(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	int64_t before;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0x3003), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "did not merge");
	before = pagemap_pfn(w[0].pid, r.addr);
	KTAP_EXPECT(worker_cmd(&w[0], WC_WRITE, 0) == 0, "write failed");
	KTAP_EXPECT(pagemap_pfn(w[0].pid, r.addr) != before, "the writer still maps the KSM page");
	KTAP_EXPECT(pagemap_pfn(w[1].pid, r.addr) == before, "the other sharer lost the KSM page");
	KTAP_EXPECT(worker_cmd(&w[0], WC_CHECK, 0) == 1, "the writer reads wrong bytes");
	KTAP_EXPECT(worker_cmd(&w[1], WC_CHECK, 0) == 1, "the other sharer sees the write");
	/* The untouched pages stay merged. */
	KTAP_EXPECT(pages_shared_by(w, 2, &r, 1, PAGES) == PAGES - 1, "other pages unmerged");
	KTAP_EXPECT(!worker_wait_merging_pages(&w[0], PAGES - 1),
		    "writer's ksm_merging_pages is not %d", PAGES - 1);
out:
	workers_stop(w, 2);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

/* A sharer that forks a short-lived child leaves every sharer intact. */
static enum ktap_result fork_and_exit_leave_others_intact(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	int i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0x4004), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "did not merge");
	/* The child inherits the KSM pages, reads them and exits. */
	KTAP_EXPECT(worker_cmd(&w[0], WC_FORK, 0) == 1, "the forked child read wrong bytes");
	KTAP_EXPECT(!ksm_wait_full_scans(2, 30000), "ksmd stalled");
	KTAP_EXPECT(all_pages_shared(w, 2, &r, 0), "pages were unmerged");
	for (i = 0; i < 2; i++)
		KTAP_EXPECT(worker_cmd(&w[i], WC_CHECK, 0) == 1, "worker %d reads wrong bytes", i);
out:
	workers_stop(w, 2);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

/* A sharer that exits leaves the others merged and intact. */
static enum ktap_result exit_leaves_others_intact(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct ksm_proc_stat st;
	struct worker w[3] = {0};
	struct region r = {0};
	int i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0x5005), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 3, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 3, &r), "did not merge");
	worker_stop(&w[0]);
	KTAP_EXPECT(!ksm_wait_full_scans(2, 30000), "ksmd stalled");
	KTAP_EXPECT(all_pages_shared(w + 1, 2, &r, 0), "pages were unmerged");
	for (i = 1; i < 3; i++) {
		KTAP_EXPECT(worker_cmd(&w[i], WC_CHECK, 0) == 1, "worker %d reads wrong bytes", i);
		KTAP_EXPECT(!ksm_proc_stat(w[i].pid, &st) && st.merging_pages == PAGES,
			    "worker %d: ksm_merging_pages %ld", i, st.merging_pages);
	}
out:
	workers_stop(w, 3);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(write_gives_private_copy),
	KTAP_CASE(fork_and_exit_leave_others_intact),
	KTAP_CASE(exit_leaves_others_intact),
};
KTAP_MAIN(cases)
