/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit tests stand in for kernel files (sysfs, cgroupfs) with plain files
 * under a temporary directory: write one, and check what a command left in
 * one (its first line).
 */
#ifndef FAKE_FILES_H
#define FAKE_FILES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static inline void fake_file_write(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fputs(text, f) >= 0 && !fclose(f), 1, "%s", path);
}

static inline void fake_file_expect(const char *dir, const char *name, const char *text)
{
	char path[256], buf[128] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_not_null(fgets(buf, sizeof(buf), f), "%s", path);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	cr_expect_str_eq(buf, text, "%s", name);
}

#endif /* FAKE_FILES_H */
