/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BPF programs of the policy ksmctl attached: from the pinned link, its
 * struct_ops map, and there the program of each hook, with its run counts
 * (which the kernel keeps only while kernel.bpf_stats_enabled is 1).
 */
#ifndef KSMCTL_POLICY_PROGS_H
#define KSMCTL_POLICY_PROGS_H

#include <linux/types.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * The attached policy's name, "" when none (/sys/kernel/mm/ksm/policy): 0,
 * or -ENOENT when the kernel has no policies, or another -errno.
 */
int policy_current(char *name, size_t len);

/* The BPF link of the attached policy, under ksm_bpffs_dir. */
#define POLICY_PIN "policy"

/* The hooks, in the order of struct ksm_policy_ops. */
#define POLICY_HOOKS 8
extern const char *const policy_hooks[POLICY_HOOKS];

/* The flags of struct ksm_policy_ops, bit by bit (KSM_POLICY_*). */
#define POLICY_FLAGS 1
#define POLICY_FLAGS_KNOWN ((1ULL << POLICY_FLAGS) - 1)
_Static_assert(POLICY_FLAGS < 64, "POLICY_FLAGS_KNOWN shifts by POLICY_FLAGS");
extern const char *const policy_flag_names[POLICY_FLAGS];

struct policy_prog {
	__u32 id;			/* 0: the policy has no program for the hook */
	char name[128];			/* its whole function name */
	__u64 run_cnt, run_time_ns;	/* while kernel.bpf_stats_enabled was 1 */
};

struct policy_progs {
	char pin[PATH_MAX];
	bool pinned;			/* ksmctl's link is there (and readable) */
	__u32 link_id, map_id;
	time_t attached;		/* when the pin was made */
	bool run_stats;			/* kernel.bpf_stats_enabled is 1 now */
	__u64 flags;			/* of its ops: bit i is policy_flag_names[i] */
	struct policy_prog hook[POLICY_HOOKS];
};

/* Fill @p: 0, or -errno when the pin cannot be opened (-ENOENT: none). */
int policy_progs_read(struct policy_progs *p);
/* The same for the link pinned at @pin (a memory cgroup's policy). */
int policy_progs_read_pin(const char *pin, struct policy_progs *p);

#endif /* KSMCTL_POLICY_PROGS_H */
