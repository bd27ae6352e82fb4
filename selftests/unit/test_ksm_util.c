// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the KSM test library: parsing, fake-sysfs knob I/O, patterns. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_files.h"
#include "ksm_util.h"

static char root[64];

static void write_file(const char *knob, const char *text)
{
	fake_file_write(root, knob, text);
}

static void fake_sysfs(void)
{
	strcpy(root, "/tmp/ksm-util-test.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	ksm_set_sysfs_root(root);
	write_file("run", "1\n");
	write_file("pages_to_scan", "100\n");
	write_file("sleep_millisecs", "20\n");
	write_file("use_zero_pages", "0\n");
	write_file("full_scans", "7\n");
}

static void fake_sysfs_remove(void)
{
	char cmd[128];

	ksm_set_sysfs_root(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

Test(parse_ulong, accepts_decimal_with_newline)
{
	unsigned long v;

	cr_assert_eq(parse_ulong("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(parse_ulong("4096\n", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(parse_ulong("18446744073709551615", &v), 0);
	cr_assert_eq(v, 18446744073709551615UL);
}

Test(parse_ulong, rejects_junk)
{
	unsigned long v = 42;

	cr_assert_eq(parse_ulong("", &v), -EINVAL);
	cr_assert_eq(parse_ulong("-1", &v), -EINVAL);
	cr_assert_eq(parse_ulong(" 1", &v), -EINVAL);
	cr_assert_eq(parse_ulong("12abc", &v), -EINVAL);
	cr_assert_eq(parse_ulong("1\n\n", &v), -EINVAL);
	cr_assert_eq(parse_ulong("18446744073709551616", &v), -ERANGE);
	cr_assert_eq(parse_ulong(NULL, &v), -EINVAL);
	cr_assert_eq(v, 42, "a failed parse must not touch the value");
}

Test(knobs, read_and_write, .init = fake_sysfs, .fini = fake_sysfs_remove)
{
	unsigned long v;

	cr_assert_eq(ksm_read("pages_to_scan", &v), 0);
	cr_assert_eq(v, 100);
	cr_assert_eq(ksm_write("pages_to_scan", 5000), 0);
	cr_assert_eq(ksm_read("pages_to_scan", &v), 0);
	cr_assert_eq(v, 5000);
}

Test(knobs, read_text_strips_newline, .init = fake_sysfs, .fini = fake_sysfs_remove)
{
	char buf[16];

	write_file("policy", "skip_all\n");
	cr_assert_eq(ksm_read_text("policy", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "skip_all");
	write_file("policy", "a-name-longer-than-the-buffer\n");
	cr_assert_eq(ksm_read_text("policy", buf, 5), 0);
	cr_assert_str_eq(buf, "a-na", "truncated, still terminated");
	cr_assert_eq(ksm_read_text("policy", buf, 0), -EINVAL);
}

Test(knobs, bad_names, .init = fake_sysfs, .fini = fake_sysfs_remove)
{
	unsigned long v;

	cr_assert_eq(ksm_read("no_such_knob", &v), -ENOENT);
	cr_assert_eq(ksm_read("../run", &v), -EINVAL);
	cr_assert_eq(ksm_read("", &v), -EINVAL);
	cr_assert_eq(ksm_write("a/b", 1), -EINVAL);
}

Test(knobs, garbage_value, .init = fake_sysfs, .fini = fake_sysfs_remove)
{
	unsigned long v;

	write_file("pages_to_scan", "many\n");
	cr_assert_eq(ksm_read("pages_to_scan", &v), -EINVAL);
}

Test(knobs, save_and_restore, .init = fake_sysfs, .fini = fake_sysfs_remove)
{
	struct ksm_knobs saved = {0};
	unsigned long v;

	cr_assert_eq(ksm_restore_knobs(&saved), -EINVAL, "restoring nothing saved must fail");
	cr_assert_eq(ksm_save_knobs(&saved), 0);
	cr_assert(saved.valid);
	cr_assert_eq(saved.merge_across_nodes, 1, "absent without NUMA: reads as the default");
	ksm_write("pages_to_scan", 1);
	ksm_write("sleep_millisecs", 1);
	ksm_write("run", 0);
	cr_assert_eq(ksm_restore_knobs(&saved), 0);
	ksm_read("pages_to_scan", &v);
	cr_assert_eq(v, 100);
	ksm_read("sleep_millisecs", &v);
	cr_assert_eq(v, 20);
	ksm_read("run", &v);
	cr_assert_eq(v, 1);
}

Test(knobs, wait_times_out_when_ksmd_is_idle, .init = fake_sysfs, .fini = fake_sysfs_remove)
{
	cr_assert_eq(ksm_wait_full_scans(0, 0), 0);
	cr_assert_eq(ksm_wait_full_scans(1, 30), -ETIMEDOUT);
}

static bool always(void *arg)
{
	(*(int *)arg)++;
	return true;
}

static bool never(void *arg)
{
	(*(int *)arg)++;
	return false;
}

Test(knobs, wait_until_checks_before_waiting, .init = fake_sysfs, .fini = fake_sysfs_remove)
{
	int calls = 0;

	cr_assert_eq(ksm_wait_until(always, &calls, 5, 10), 0);
	cr_assert_eq(calls, 1);
	calls = 0;
	cr_assert_eq(ksm_wait_until(never, &calls, 5, 20), -ETIMEDOUT);
	cr_assert_geq(calls, 2, "the condition is checked again after the wait");
}

Test(pagemap, entry_decoding)
{
	cr_assert_eq(pagemap_entry_pfn(PM_PRESENT | 0x1234), 0x1234);
	cr_assert_eq(pagemap_entry_pfn(PM_PRESENT | PM_PFN_MASK), (int64_t)PM_PFN_MASK);
	/* Soft-dirty and exclusive bits (55, 56) are not part of the PFN. */
	cr_assert_eq(pagemap_entry_pfn(PM_PRESENT | (3ULL << 55) | 7), 7);
	cr_assert_eq(pagemap_entry_pfn(0x1234), -ENOENT);
	cr_assert_eq(pagemap_entry_pfn(PM_PRESENT | PM_SWAP | 5), -ENOENT);
	cr_assert_eq(pagemap_entry_pfn(PM_PRESENT), -EPERM);
}

Test(pagemap, own_page_is_present_after_touch)
{
	static char page[1 << 16] __attribute__((aligned(4096)));
	int64_t pfn;

	page[0] = 1;
	pfn = pagemap_pfn(0, page);
	/* Unprivileged runs see PFN 0 reported as -EPERM; root sees the PFN. */
	cr_assert(pfn > 0 || pfn == -EPERM, "pagemap_pfn = %lld", (long long)pfn);
}

Test(ksm_stat, parses_kernel_format)
{
	struct ksm_proc_stat st;

	cr_assert_eq(ksm_stat_parse("ksm_rmap_items 10\nksm_zero_pages 2\n"
				    "ksm_merging_pages 8\nksm_process_profit -4096\n", &st), 0);
	cr_assert_eq(st.rmap_items, 10);
	cr_assert_eq(st.zero_pages, 2);
	cr_assert_eq(st.merging_pages, 8);
	cr_assert_eq(st.process_profit, -4096);
}

Test(ksm_stat, ignores_unknown_fields_and_rejects_garbage)
{
	struct ksm_proc_stat st;

	cr_assert_eq(ksm_stat_parse("ksm_merging_pages 1\nksm_merge_any: no\n"
				    "ksm_new_field 3\n", &st), 0);
	cr_assert_eq(st.merging_pages, 1);
	cr_assert_eq(ksm_stat_parse("ksm_merging_pages x\n", &st), -EINVAL);
	cr_assert_eq(ksm_stat_parse("ksm_merging_pages 1 2\n", &st), -EINVAL);
	cr_assert_eq(ksm_stat_parse("", &st), -ENODATA);
	cr_assert_eq(ksm_stat_parse("garbage\n", &st), -ENODATA);
}

Test(pattern, distinct_per_page_and_seed)
{
	enum { PS = 4096 };
	static char a[2 * PS], b[2 * PS];

	fill_pattern(a, sizeof(a), PS, 1);
	fill_pattern(b, sizeof(b), PS, 1);
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "same seed, same bytes");
	cr_assert_neq(memcmp(a, a + PS, PS), 0, "pages of one region differ");
	cr_assert(check_pattern(a, sizeof(a), PS, 1));
	fill_pattern(b, sizeof(b), PS, 2);
	cr_assert_neq(memcmp(a, b, PS), 0, "seeds differ, bytes differ");
	cr_assert_not(check_pattern(b, sizeof(b), PS, 1));
	a[PS + 17] ^= 1;
	cr_assert_not(check_pattern(a, sizeof(a), PS, 1), "one flipped bit is seen");
}
