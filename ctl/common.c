// SPDX-License-Identifier: GPL-2.0
/*
 * What every ksmctl object uses: command selection by unique prefix, errors
 * with exit codes, the privilege check, JSON printing and the bpffs pins.
 */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "ksmctl.h"
#include "output.h"

#define BPF_FS_MAGIC 0xcafe4a11

const char *ksm_sysfs_dir = "/sys/kernel/mm/ksm";
const char *ksm_bpffs_dir = "/sys/fs/bpf/ksm";
const char *proc_dir = "/proc";
const char *cgroup_root_dir = "/sys/fs/cgroup";
bool json_output, pretty_output, debug_output;

bool is_prefix(const char *arg, const char *word)
{
	size_t n = strlen(arg);

	return n && n <= strlen(word) && !strncmp(arg, word, n);
}

int cmd_select(const struct cmd *cmds, const char *object, int argc, char **argv)
{
	const struct cmd *found = NULL;
	int i;

	if (argc < 1)
		return cmds[0].func(0, argv);
	for (i = 0; cmds[i].name; i++) {
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].func(argc - 1, argv + 1);
		if (!is_prefix(argv[0], cmds[i].name))
			continue;
		if (found)
			return usage_error(object, "'%s' is ambiguous (%s, %s, ...)",
					   argv[0], found->name, cmds[i].name);
		found = &cmds[i];
	}
	if (found)
		return found->func(argc - 1, argv + 1);
	return usage_error(object, "unknown %s '%s'", object ? "command" : "object", argv[0]);
}

/* An error: a line on stderr, or with --json, {"error": ...} on stdout as bpftool does. */
static void vfail(const char *fmt, va_list ap)
{
	char msg[1024];
	json_object *o;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!json_output) {
		fprintf(stderr, "ksmctl: %s\n", msg);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(msg));
	json_print(o);
}

int fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	return code;
}

static int vusage_error(const char *object, const char *cmd, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!object)
		return fail(EXIT_USAGE, "%s (see 'ksmctl help')", msg);
	return fail(EXIT_USAGE, "%s%s%s: %s (see 'ksmctl %s help')", object, cmd ? " " : "",
		    cmd ?: "", msg, object);
}

int usage_error(const char *object, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vusage_error(object, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

int cmd_usage_error(const char *object, const char *cmd, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vusage_error(object, cmd, fmt, ap);
	va_end(ap);
	return ret;
}

static int require_caps(const char *what, bool need_bpf)
{
	cap_flag_value_t admin = CAP_CLEAR, bpf = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps) {
		cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &admin);
		cap_get_flag(caps, CAP_BPF, CAP_EFFECTIVE, &bpf);
		cap_free(caps);
	}
	if (admin == CAP_SET && (bpf == CAP_SET || !need_bpf))
		return 0;
	return fail(EXIT_PERM, "%s: permission denied (needs CAP_SYS_ADMIN%s: run as root)", what,
		    need_bpf ? " and CAP_BPF" : "");
}

int require_admin(const char *what)
{
	return require_caps(what, true);
}

int require_sys_admin(const char *what)
{
	return require_caps(what, false);
}

int file_read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int file_write_text(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

const char *bpf_strerror(int err)
{
	static char buf[128];

	if (err < 0)
		err = -err;
	if (err < __LIBBPF_ERRNO__START)
		return strerror(err);
	if (libbpf_strerror(err, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "libbpf error %d", err);
	return buf;
}

void json_print(json_object *obj)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty_output ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
				     JSON_C_TO_STRING_PLAIN);

	puts(json_object_to_json_string_ext(obj, flags));
	json_object_put(obj);
}

const char *bpffs_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", ksm_bpffs_dir, name);
	return buf;
}

void unpin_dir(const char *name)
{
	char dir[PATH_MAX];
	struct dirent *d;
	DIR *dp;

	dp = opendir(bpffs_path(dir, sizeof(dir), name));
	while (dp && (d = readdir(dp)))
		if (d->d_name[0] != '.')
			unlinkat(dirfd(dp), d->d_name, 0);
	if (dp)
		closedir(dp);
	rmdir(dir);
}

int bpffs_prepare(void)
{
	char parent[256], *slash;
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s", ksm_bpffs_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	/* As bpftool does: mount the bpf filesystem where it is missing. */
	if (statfs(parent, &fs) == 0 && fs.f_type != BPF_FS_MAGIC &&
	    mount("bpf", parent, "bpf", 0, "mode=0700"))
		return fail(EXIT_FAIL, "cannot mount the bpf filesystem on %s: %s",
			    parent, strerror(errno));
	if (mkdir(ksm_bpffs_dir, 0700) && errno != EEXIST)
		return fail(EXIT_FAIL, "cannot create %s: %s", ksm_bpffs_dir, strerror(errno));
	return 0;
}


const char *const output_format_names[] = {
	[FORMAT_TABLE] = "table", [FORMAT_JSON] = "json",
	[FORMAT_OPENMETRICS] = "openmetrics", [FORMAT_PROMETHEUS] = "prometheus", NULL,
};

int output_format_settle(const char *object, const char *cmd, int *format)
{
	if (json_output && *format != FORMAT_TABLE && *format != FORMAT_JSON)
		return cmd_usage_error(object, cmd, "--json and format %s: choose one",
				       output_format_names[*format]);
	if (json_output)
		*format = FORMAT_JSON;
	return 0;
}
