// SPDX-License-Identifier: GPL-2.0
/* ksmctl: reading and writing /sys/kernel/mm/ksm (see ksm_sysfs.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksm_sysfs.h"
#include "ksmctl.h"

void knob_clean_value(char *text)
{
	char *open = strchr(text, '['), *close;
	size_t n = strlen(text);

	while (n && text[n - 1] == '\n')
		text[--n] = '\0';
	/* "[none] scan-time": the bracketed choice is the value. */
	if (open && (close = strchr(open, ']'))) {
		memmove(text, open + 1, close - open - 1);
		text[close - open - 1] = '\0';
		return;
	}
	for (; *text; text++)
		if (*text == '\n')
			*text = ';';
}

int knob_read(const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", ksm_sysfs_dir, name);
	err = file_read_text(path, buf, len);
	if (!err)
		knob_clean_value(buf);
	return err;
}

int knob_write(const char *name, const char *value)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", ksm_sysfs_dir, name);
	return file_write_text(path, value);
}

int knob_read_number(const char *name, long long *value)
{
	char buf[64];
	int err = knob_read(name, buf, sizeof(buf));

	if (err)
		return err;
	*value = atoll(buf);
	return 0;
}
