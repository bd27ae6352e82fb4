// SPDX-License-Identifier: GPL-2.0
/*
 * Merging: identical pages of several processes become one KSM page, a later
 * process with the same content joins it through the stable tree, and zero
 * pages merge with the shared zero page when use_zero_pages is set, and
 * /proc/kpageflags tells the merged frames from other anonymous pages.
 */
#include <string.h>

#include "ksm_util.h"
#include "ktap.h"
#include "worker.h"

#define PAGES 32

/* Identical anonymous pages of two processes merge after MADV_MERGEABLE. */
static enum ktap_result merge_two_processes(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct ksm_proc_stat st;
	struct worker w[2] = {0};
	struct region r = {0};
	unsigned long shared0, sharing0, shared1, sharing1;
	int i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0x1001), "mmap failed");
	KTAP_EXPECT(!ksm_read("pages_shared", &shared0) &&
		    !ksm_read("pages_sharing", &sharing0), "cannot read counters");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "only %zu of %d pages share a PFN",
		    pages_shared_by(w, 2, &r, 0, PAGES), PAGES);
	KTAP_EXPECT(!ksm_read("pages_shared", &shared1) &&
		    !ksm_read("pages_sharing", &sharing1), "cannot read counters");
	KTAP_EXPECT(shared1 - shared0 == PAGES && sharing1 - sharing0 == PAGES,
		    "pages_shared +%ld, pages_sharing +%ld, want +%d each",
		    (long)(shared1 - shared0), (long)(sharing1 - sharing0), PAGES);
	for (i = 0; i < 2; i++) {
		KTAP_EXPECT(!ksm_proc_stat(w[i].pid, &st), "no ksm_stat");
		KTAP_EXPECT(st.merging_pages == PAGES, "worker %d: ksm_merging_pages %ld",
			    i, st.merging_pages);
		KTAP_EXPECT(worker_cmd(&w[i], WC_CHECK, 0) == 1, "worker %d reads wrong bytes", i);
	}
out:
	workers_stop(w, 2);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

/*
 * /proc/kpageflags says KPF_KSM for the merged frames and for no other
 * anonymous page (6.12 says it for every one: "fs/proc: report KPF_KSM only
 * for ksm pages").
 */
static enum ktap_result kpageflags_names_ksm_pages_only(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0}, own = {0};
	int64_t pfn;
	int i, ksm;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&own, 1, 0x5005), "mmap failed");
	memset(own.addr, 0x5a, own.page_size);
	pfn = pagemap_pfn(0, own.addr);
	ksm = kpageflags_ksm(pfn);
	KTAP_EXPECT(ksm == 0, "a page KSM never saw: KPF_KSM is %d (pfn %lld)", ksm,
		    (long long)pfn);
	KTAP_EXPECT(!region_map(&r, PAGES, 0x4004), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "the workers did not merge");
	for (i = 0; i < PAGES; i++) {
		ksm = kpageflags_ksm(pagemap_pfn(w[0].pid, region_page(&r, i)));
		KTAP_EXPECT(ksm == 1, "merged page %d: KPF_KSM is %d", i, ksm);
	}
	/* A write gives the writer an anonymous page of its own again. */
	KTAP_EXPECT(worker_cmd(&w[1], WC_WRITE, 0) == 0, "the write failed");
	ksm = kpageflags_ksm(pagemap_pfn(w[1].pid, r.addr));
	KTAP_EXPECT(ksm == 0, "a page copied on write: KPF_KSM is %d", ksm);
	for (i = 0; i < 2; i++)
		KTAP_EXPECT(worker_cmd(&w[i], WC_CHECK, 0) == 1, "worker %d reads wrong bytes", i);
out:
	workers_stop(w, 2);
	region_unmap(&r);
	region_unmap(&own);
	ksm_test_end(&knobs);
	return result;
}

/* A third process with the same content joins the existing KSM pages. */
static enum ktap_result third_process_joins_stable_tree(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[3] = {0};
	struct region r = {0};
	unsigned long shared0, sharing0, shared1, sharing1;
	size_t i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0x2002), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "the first two did not merge");
	KTAP_EXPECT(!ksm_read("pages_shared", &shared0) &&
		    !ksm_read("pages_sharing", &sharing0), "cannot read counters");
	KTAP_EXPECT(!worker_start(&w[2], &r, W_MADVISE), "third worker did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 3, &r), "the third did not join");
	for (i = 0; i < PAGES; i++)
		KTAP_EXPECT(pagemap_pfn(w[2].pid, region_page(&r, i)) ==
			    pagemap_pfn(w[0].pid, region_page(&r, i)), "page %zu", i);
	KTAP_EXPECT(!ksm_read("pages_shared", &shared1) &&
		    !ksm_read("pages_sharing", &sharing1), "cannot read counters");
	/* Joining adds sharers, not KSM pages. */
	KTAP_EXPECT(shared1 == shared0 && sharing1 - sharing0 == PAGES,
		    "pages_shared %lu -> %lu, pages_sharing %lu -> %lu",
		    shared0, shared1, sharing0, sharing1);
out:
	workers_stop(w, 3);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

/* With use_zero_pages, zero-filled pages map the shared zero page. */
static enum ktap_result zero_pages_use_zero_page(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct ksm_proc_stat st;
	struct worker w[2] = {0};
	struct region r = {0}, zero = {0};
	int64_t zero_pfn;
	int i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!ksm_write("run", 0) && !ksm_write("use_zero_pages", 1) &&
		    !ksm_write("run", 1), "cannot set use_zero_pages");
	/* Reading an untouched private page maps the zero page: learn its PFN. */
	KTAP_EXPECT(!region_map(&zero, 1, 0), "mmap failed");
	(void)*(volatile char *)zero.addr;
	zero_pfn = pagemap_pfn(0, zero.addr);
	KTAP_EXPECT(zero_pfn > 0, "no PFN for the zero page (%lld)", (long long)zero_pfn);
	KTAP_EXPECT(!region_map(&r, PAGES, 0), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE | W_ZERO), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "zero pages were not merged");
	KTAP_EXPECT(pagemap_pfn(w[0].pid, r.addr) == zero_pfn, "not the zero page");
	for (i = 0; i < 2; i++) {
		KTAP_EXPECT(!ksm_proc_stat(w[i].pid, &st), "no ksm_stat");
		KTAP_EXPECT(st.zero_pages == PAGES, "worker %d: ksm_zero_pages %ld",
			    i, st.zero_pages);
		KTAP_EXPECT(worker_cmd(&w[i], WC_CHECK, 0) == 1, "worker %d reads wrong bytes", i);
	}
out:
	workers_stop(w, 2);
	region_unmap(&r);
	region_unmap(&zero);
	ksm_test_end(&knobs);
	return result;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(merge_two_processes),
	KTAP_CASE(kpageflags_names_ksm_pages_only),
	KTAP_CASE(third_process_joins_stable_tree),
	KTAP_CASE(zero_pages_use_zero_page),
};
KTAP_MAIN(cases)
