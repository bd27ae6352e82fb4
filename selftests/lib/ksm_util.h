/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for KSM tests: the /sys/kernel/mm/ksm knobs, waiting for ksmd by
 * full scans, PFNs from /proc/PID/pagemap and per-process KSM counters.
 *
 * Parsing is kept apart from I/O so that the unit tests can check it on
 * made-up input, and the sysfs root can be pointed at a fake directory.
 */
#ifndef KSM_UTIL_H
#define KSM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KSM_SYSFS_DEFAULT_ROOT "/sys/kernel/mm/ksm"

/* Where the knobs are read from; tests of this library point it elsewhere. */
void ksm_set_sysfs_root(const char *root);

/* Strict parse of a decimal unsigned value with optional trailing newline. */
int parse_ulong(const char *s, unsigned long *val);

/* A file's text without its trailing newline; 0 or -errno. */
int file_read_text(const char *path, char *buf, size_t len);
/* Write @text to the file @path (truncated) in one write(); 0 or -errno. */
int file_write_text(const char *path, const char *text);

int ksm_read(const char *knob, unsigned long *val);
/* A knob's text without its trailing newline. */
int ksm_read_text(const char *knob, char *buf, size_t len);
int ksm_write(const char *knob, unsigned long val);

/* The knobs a test changes, saved and restored as one. */
struct ksm_knobs {
	unsigned long run;
	unsigned long pages_to_scan;
	unsigned long sleep_millisecs;
	unsigned long use_zero_pages;
	unsigned long merge_across_nodes;
	bool valid;	/* set by ksm_save_knobs() */
};
int ksm_save_knobs(struct ksm_knobs *k);
int ksm_restore_knobs(const struct ksm_knobs *k);

/*
 * Save the knobs, unmerge everything (run=2) so that nothing of earlier tests
 * remains, and make ksmd scan fast; ksm_test_end() restores the knobs.
 */
int ksm_test_begin(struct ksm_knobs *saved);
void ksm_test_end(const struct ksm_knobs *saved);

/*
 * Wait until ksmd has completed @scans more full scans, or @timeout_ms passed.
 * Returns 0, or -ETIMEDOUT.
 */
int ksm_wait_full_scans(unsigned long scans, unsigned int timeout_ms);

/*
 * Wait, one full scan at a time, until @cond(@arg) holds: at most @max_scans
 * full scans and @timeout_ms in all. Returns 0 when it holds, else -ETIMEDOUT.
 */
int ksm_wait_until(bool (*cond)(void *arg), void *arg, unsigned long max_scans,
		   unsigned int timeout_ms);

/* Milliseconds on the monotonic clock. */
unsigned long ksm_now_ms(void);

/* A /proc/PID/pagemap entry: bit 63 present, bit 62 swapped, bits 0-54 PFN. */
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_PFN_MASK	((1ULL << 55) - 1)

/* PFN of a present page, or -ENOENT (not present) / -EPERM (PFN hidden). */
int64_t pagemap_entry_pfn(uint64_t entry);
/* PFN of @addr in @pid (0 = self); negative errno on failure. */
int64_t pagemap_pfn(pid_t pid, const void *addr);

/*
 * Is the frame @pfn a ksm page (/proc/kpageflags KPF_KSM)? 1, 0 or a negative
 * errno. Upstream 6.12 says yes for every anonymous page; the series fixes it.
 */
int kpageflags_ksm(int64_t pfn);

/* Fields of /proc/PID/ksm_stat; absent fields read as 0, unknown ones are ignored. */
struct ksm_proc_stat {
	long rmap_items;
	long zero_pages;
	long merging_pages;
	long process_profit;
};
int ksm_stat_parse(const char *text, struct ksm_proc_stat *st);
int ksm_proc_stat(pid_t pid, struct ksm_proc_stat *st);

/* Fill @len bytes with a pattern that is distinct per page and per @seed. */
void fill_pattern(void *buf, size_t len, size_t page_size, uint64_t seed);
/* True if @buf holds exactly the pattern fill_pattern() wrote. */
bool check_pattern(const void *buf, size_t len, size_t page_size, uint64_t seed);

#endif /* KSM_UTIL_H */
