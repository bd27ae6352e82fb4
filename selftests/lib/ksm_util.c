// SPDX-License-Identifier: GPL-2.0
#include "ksm_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *sysfs_root = KSM_SYSFS_DEFAULT_ROOT;

void ksm_set_sysfs_root(const char *root)
{
	sysfs_root = root ? root : KSM_SYSFS_DEFAULT_ROOT;
}

int parse_ulong(const char *s, unsigned long *val)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v > ULONG_MAX)
		return -ERANGE;
	if (*end == '\n')
		end++;
	if (*end)
		return -EINVAL;
	*val = v;
	return 0;
}

static int knob_path(char *buf, size_t len, const char *knob)
{
	if (!knob || !*knob || strchr(knob, '/'))
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/%s", sysfs_root, knob) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int file_read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int file_write_text(const char *path, const char *text)
{
	ssize_t n, len = strlen(text);
	int fd, err;

	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	err = n < 0 ? -errno : n != len ? -EIO : 0;
	close(fd);
	return err;
}

int ksm_read_text(const char *knob, char *buf, size_t len)
{
	char path[PATH_MAX];
	int err;

	err = knob_path(path, sizeof(path), knob);
	return err ?: file_read_text(path, buf, len);
}

int ksm_read(const char *knob, unsigned long *val)
{
	char buf[64];
	int err = ksm_read_text(knob, buf, sizeof(buf));

	return err ?: parse_ulong(buf, val);
}

int ksm_write(const char *knob, unsigned long val)
{
	char path[PATH_MAX], buf[32];
	int err;

	err = knob_path(path, sizeof(path), knob);
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "%lu\n", val);
	return file_write_text(path, buf);
}

#define KNOBS(X) X(run) X(pages_to_scan) X(sleep_millisecs) X(use_zero_pages) \
		 X(merge_across_nodes)

int ksm_save_knobs(struct ksm_knobs *k)
{
	int err = 0;

#define SAVE(name) err = err ?: ksm_read(#name, &k->name);
	KNOBS(SAVE)
#undef SAVE
	/* merge_across_nodes exists only with CONFIG_NUMA. */
	if (err == -ENOENT) {
		k->merge_across_nodes = 1;
		err = 0;
	}
	k->valid = !err;
	return err;
}

int ksm_restore_knobs(const struct ksm_knobs *k)
{
	int err;

	if (!k->valid)
		return -EINVAL;
	/* Stop ksmd first: use_zero_pages and friends are refused while merged. */
	err = ksm_write("run", 0);
	err = err ?: ksm_write("pages_to_scan", k->pages_to_scan);
	err = err ?: ksm_write("sleep_millisecs", k->sleep_millisecs);
	err = err ?: ksm_write("use_zero_pages", k->use_zero_pages);
	return err ?: ksm_write("run", k->run);
}

int ksm_test_begin(struct ksm_knobs *saved)
{
	int err = ksm_save_knobs(saved);

	/*
	 * run=2 synchronously unmerges everything and frees what exited
	 * processes of earlier tests left behind: each test starts clean.
	 */
	err = err ?: ksm_write("run", 2);
	err = err ?: ksm_write("pages_to_scan", 4096);
	err = err ?: ksm_write("sleep_millisecs", 10);
	return err ?: ksm_write("run", 1);
}

void ksm_test_end(const struct ksm_knobs *saved)
{
	ksm_restore_knobs(saved);
}

unsigned long ksm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000UL + ts.tv_nsec / 1000000;
}

int ksm_wait_full_scans(unsigned long scans, unsigned int timeout_ms)
{
	unsigned long start, cur, deadline = ksm_now_ms() + timeout_ms;
	int err;

	err = ksm_read("full_scans", &start);
	if (err)
		return err;
	for (;;) {
		err = ksm_read("full_scans", &cur);
		if (err)
			return err;
		if (cur - start >= scans)
			return 0;
		if (ksm_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

int ksm_wait_until(bool (*cond)(void *arg), void *arg, unsigned long max_scans,
		   unsigned int timeout_ms)
{
	unsigned long deadline = ksm_now_ms() + timeout_ms, left;
	unsigned long i;
	int err;

	for (i = 0; i <= max_scans; i++) {
		if (cond(arg))
			return 0;
		if (i == max_scans)
			break;
		left = deadline > ksm_now_ms() ? deadline - ksm_now_ms() : 0;
		err = ksm_wait_full_scans(1, left);
		if (err)
			return cond(arg) ? 0 : err;
	}
	return -ETIMEDOUT;
}

int64_t pagemap_entry_pfn(uint64_t entry)
{
	if (!(entry & PM_PRESENT) || (entry & PM_SWAP))
		return -ENOENT;
	/* Without CAP_SYS_ADMIN the kernel reports present pages with PFN 0. */
	if (!(entry & PM_PFN_MASK))
		return -EPERM;
	return entry & PM_PFN_MASK;
}

int64_t pagemap_pfn(pid_t pid, const void *addr)
{
	char path[64];
	uint64_t entry;
	off_t off;
	int fd;
	ssize_t n;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	off = (uintptr_t)addr / sysconf(_SC_PAGESIZE) * sizeof(entry);
	n = pread(fd, &entry, sizeof(entry), off);
	close(fd);
	if (n != sizeof(entry))
		return n < 0 ? -errno : -EIO;
	return pagemap_entry_pfn(entry);
}

#define KPF_KSM 21	/* include/uapi/linux/kernel-page-flags.h */

int kpageflags_ksm(int64_t pfn)
{
	uint64_t flags;
	ssize_t n;
	int fd;

	if (pfn < 0)
		return (int)pfn;
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0)
		return -errno;
	n = pread(fd, &flags, sizeof(flags), pfn * sizeof(flags));
	close(fd);
	if (n != sizeof(flags))
		return n < 0 ? -errno : -EIO;
	return !!(flags & (1ULL << KPF_KSM));
}

int ksm_stat_parse(const char *text, struct ksm_proc_stat *st)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
		{ "ksm_rmap_items", offsetof(struct ksm_proc_stat, rmap_items) },
		{ "ksm_zero_pages", offsetof(struct ksm_proc_stat, zero_pages) },
		{ "ksm_merging_pages", offsetof(struct ksm_proc_stat, merging_pages) },
		{ "ksm_process_profit", offsetof(struct ksm_proc_stat, process_profit) },
	};
	const char *line = text;
	int found = 0;

	memset(st, 0, sizeof(*st));
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *sp = memchr(line, ' ', len);
		size_t i, klen = sp ? (size_t)(sp - line) : len;

		/* Unknown lines (newer kernels add "ksm_merge_any: yes") are skipped. */
		for (i = 0; sp && i < sizeof(fields) / sizeof(fields[0]); i++) {
			char *end;
			long v;

			if (strlen(fields[i].key) != klen || strncmp(line, fields[i].key, klen))
				continue;
			errno = 0;
			v = strtol(sp + 1, &end, 10);
			if (errno || end == sp + 1 || end != line + len)
				return -EINVAL;
			*(long *)((char *)st + fields[i].off) = v;
			found++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return found ? 0 : -ENODATA;
}

int ksm_proc_stat(pid_t pid, struct ksm_proc_stat *st)
{
	char path[64], buf[512];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", pid ? pid : getpid());
	err = file_read_text(path, buf, sizeof(buf));
	return err ?: ksm_stat_parse(buf, st);
}

/* splitmix64: cheap, and no two (seed, page, word) give the same stream. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t pattern_word(uint64_t seed, size_t page, size_t word)
{
	return mix(mix(seed) ^ (page << 20) ^ word);
}

void fill_pattern(void *buf, size_t len, size_t page_size, uint64_t seed)
{
	uint64_t *w = buf;
	size_t i, per_page = page_size / sizeof(*w);

	for (i = 0; i < len / sizeof(*w); i++)
		w[i] = pattern_word(seed, i / per_page, i % per_page);
}

bool check_pattern(const void *buf, size_t len, size_t page_size, uint64_t seed)
{
	const uint64_t *w = buf;
	size_t i, per_page = page_size / sizeof(*w);

	for (i = 0; i < len / sizeof(*w); i++)
		if (w[i] != pattern_word(seed, i / per_page, i % per_page))
			return false;
	return true;
}
