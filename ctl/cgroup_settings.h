/* SPDX-License-Identifier: GPL-2.0 */
/* ksmctl cgroup: parsing KEY=VALUE settings and applying them to a stored one. */
#ifndef KSMCTL_CGROUP_SETTINGS_H
#define KSMCTL_CGROUP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "ksm_cgroup.h"

#define CGROUP_PATH_LEN 256

/* Which attributes a `cgroup set` gives. */
#define CGROUP_SET_MERGE	(1U << 0)
#define CGROUP_SET_DOMAIN	(1U << 1)
#define CGROUP_SET_MAX		(1U << 2)

/*
 * merge=on|off|inherit domain=shared|isolated|inherit|NAME
 * max-pages=N|none|inherit, each at most once, into @s and @mask.
 * 0, or -1 with a message in @err.
 */
int cgroup_setting_parse(int argc, char **argv, struct ksm_cgroup_setting *s,
			 unsigned int *mask, char *err, size_t errlen);
/* Apply the attributes of @mask from @s to @stored, the setting of @cgroup_id. */
void cgroup_setting_merge(struct ksm_cgroup_setting *stored, const struct ksm_cgroup_setting *s,
			  unsigned int mask, __u64 cgroup_id);
/* True when every attribute inherits: the entry can go. */
bool cgroup_setting_empty(const struct ksm_cgroup_setting *s);

#endif /* KSMCTL_CGROUP_SETTINGS_H */
