/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl: what the object files (policy.c, stats.c, knob.c, status.c, cgroup.c,
 * estimate.c) share:
 * the command table, output mode, errors and exit codes, and the paths.
 */
#ifndef KSMCTL_H
#define KSMCTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#define KSMCTL_VERSION "0.2"

/* Exit codes (ksmctl(8), EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* the operation failed */
	EXIT_USAGE = 2,		/* bad usage or bad input */
	EXIT_UNSUPPORTED = 3,	/* the running kernel lacks what is needed */
	EXIT_PERM = 4,		/* permission denied */
};

/* Where things live; tests point them elsewhere. */
extern const char *ksm_sysfs_dir;	/* /sys/kernel/mm/ksm */
extern const char *ksm_bpffs_dir;	/* /sys/fs/bpf/ksm */
extern const char *proc_dir;		/* /proc */
extern const char *cgroup_root_dir;	/* /sys/fs/cgroup: the cgroup2 root */

/* Global options. */
extern bool json_output, pretty_output, debug_output;

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
};

/*
 * Run the command of @cmds that *@argv names (any unique prefix), with the
 * arguments after it; no argument runs the first command. An unknown or
 * ambiguous command is a usage error.
 */
int cmd_select(const struct cmd *cmds, const char *object, int argc, char **argv);
/* True when @arg is a prefix (of at least one character) of @word. */
bool is_prefix(const char *arg, const char *word);

/* One line "ksmctl: ..." on stderr; returns @code. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For command-line parsing: usage error naming the object's help. */
int usage_error(const char *object, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same for the command @cmd of @object: "OBJECT CMD: ..." */
int cmd_usage_error(const char *object, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Refuse privileged work to users without CAP_SYS_ADMIN and CAP_BPF. */
int require_admin(const char *what);
/*
 * A kernel file (sysfs, cgroupfs) as one read() into @buf (NUL-terminated,
 * at most @len - 1 bytes), or @value as one write(): 0 or -errno.
 */
int file_read_text(const char *path, char *buf, size_t len);
int file_write_text(const char *path, const char *value);
/* The same for what needs CAP_SYS_ADMIN alone (the kernel's cgroup files). */
int require_sys_admin(const char *what);

/* strerror() that knows libbpf's own error codes (LIBBPF_ERRNO__*). */
const char *bpf_strerror(int err);

/* Print @obj (taking the reference) as JSON on stdout, plain or pretty. */
void json_print(json_object *obj);

/* "/sys/fs/bpf/ksm/" + @name into @buf. */
const char *bpffs_path(char *buf, size_t len, const char *name);
/* Remove the directory @name under ksm_bpffs_dir and the pins in it. */
void unpin_dir(const char *name);
/* Make sure the bpf filesystem is mounted and ksm_bpffs_dir exists. */
int bpffs_prepare(void);

/* Object entry points. */
int do_policy(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_knob(int argc, char **argv);
int do_status(int argc, char **argv);
int do_cgroup(int argc, char **argv);
int do_estimate(int argc, char **argv);


#endif /* KSMCTL_H */
