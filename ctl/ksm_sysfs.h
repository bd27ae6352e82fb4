/* SPDX-License-Identifier: GPL-2.0 */
/* /sys/kernel/mm/ksm (ksm_sysfs_dir): its files, read and written one at a time. */
#ifndef KSMCTL_KSM_SYSFS_H
#define KSMCTL_KSM_SYSFS_H

#include <stddef.h>

/* A sysfs read as a one-line value: "[none] scan-time" -> "none". */
void knob_clean_value(char *text);
/* Read or write one knob under ksm_sysfs_dir; 0 or a negative errno. */
int knob_read(const char *name, char *buf, size_t len);
int knob_write(const char *name, const char *value);
/* A numeric knob (full_scans, run, ...) into @value: 0 or a negative errno. */
int knob_read_number(const char *name, long long *value);

#endif /* KSMCTL_KSM_SYSFS_H */
