// SPDX-License-Identifier: GPL-2.0
/*
 * Unmerging and the volatility filter: MADV_UNMERGEABLE and run=2 break KSM
 * pages back into private copies; a page that keeps changing never merges.
 */
#include "ksm_util.h"
#include "ktap.h"
#include "worker.h"

#define PAGES 16

/* MADV_UNMERGEABLE gives the caller private copies again. */
static enum ktap_result madv_unmergeable_unmerges(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0x6006), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "did not merge");
	KTAP_EXPECT(worker_cmd(&w[0], WC_UNMERGE, 0) == 0, "MADV_UNMERGEABLE failed");
	KTAP_EXPECT(pages_shared_by(w, 2, &r, 0, PAGES) == 0, "pages still shared");
	KTAP_EXPECT(!worker_wait_merging_pages(&w[0], 0), "ksm_merging_pages is not 0");
	/* Nor does it merge again: the range is no longer mergeable. */
	KTAP_EXPECT(!ksm_wait_full_scans(3, 30000), "ksmd stalled");
	KTAP_EXPECT(pages_shared_by(w, 2, &r, 0, PAGES) == 0, "pages merged again");
	KTAP_EXPECT(worker_cmd(&w[0], WC_CHECK, 0) == 1, "unmerged worker reads wrong bytes");
	KTAP_EXPECT(worker_cmd(&w[1], WC_CHECK, 0) == 1, "other worker reads wrong bytes");
out:
	workers_stop(w, 2);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

/* Writing 2 to run unmerges every KSM page in the system. */
static enum ktap_result run_2_unmerges_all(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	unsigned long shared = 1, sharing = 1;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0x7007), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "did not merge");
	KTAP_EXPECT(!ksm_write("run", 2), "writing run=2 failed");
	KTAP_EXPECT(!ksm_read("pages_shared", &shared) && !ksm_read("pages_sharing", &sharing),
		    "cannot read counters");
	KTAP_EXPECT(shared == 0 && sharing == 0, "pages_shared %lu, pages_sharing %lu",
		    shared, sharing);
	KTAP_EXPECT(pages_shared_by(w, 2, &r, 0, PAGES) == 0, "pages still shared");
	KTAP_EXPECT(worker_cmd(&w[0], WC_CHECK, 0) == 1 && worker_cmd(&w[1], WC_CHECK, 0) == 1,
		    "wrong bytes after unmerge");
out:
	workers_stop(w, 2);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

/* A page rewritten all the time is never merged; its stable neighbours are. */
static enum ktap_result volatile_page_not_merged(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct ksm_proc_stat st;
	struct worker w[2] = {0};
	struct region r = {0};
	int i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0x8008), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE | W_VOLATILE), "workers did not start");
	for (i = 0; i < 10 && pages_shared_by(w, 2, &r, 1, PAGES) != PAGES - 1; i++)
		KTAP_EXPECT(!ksm_wait_full_scans(3, 60000), "ksmd stalled");
	KTAP_EXPECT(pages_shared_by(w, 2, &r, 1, PAGES) == PAGES - 1, "stable pages did not merge");
	KTAP_EXPECT(!ksm_wait_full_scans(3, 60000), "ksmd stalled");
	for (i = 0; i < 2; i++)
		KTAP_EXPECT(!ksm_proc_stat(w[i].pid, &st) && st.merging_pages == PAGES - 1,
			    "worker %d: ksm_merging_pages %ld, want %d", i, st.merging_pages,
			    PAGES - 1);
	KTAP_EXPECT(pages_shared_by(w, 2, &r, 0, 1) == 0, "the volatile page is shared");
out:
	workers_stop(w, 2);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(madv_unmergeable_unmerges),
	KTAP_CASE(run_2_unmerges_all),
	KTAP_CASE(volatile_page_not_merged),
};
KTAP_MAIN(cases)
