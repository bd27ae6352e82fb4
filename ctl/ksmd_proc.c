// SPDX-License-Identifier: GPL-2.0
/* ksmd, the kernel thread, as /proc shows it (see ksmd_proc.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksmctl.h"
#include "ksmd_proc.h"

/* The pid of the kernel thread named ksmd (a child of kthreadd, pid 2), or 0. */
static long ksmd_pid(void)
{
	DIR *d = opendir(proc_dir);
	struct dirent *e;
	long pid = 0;

	if (!d)
		return 0;
	while (!pid && (e = readdir(d))) {
		char path[PATH_MAX], stat[512], *close_paren;
		long ppid;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", proc_dir, e->d_name);
		if (file_read_text(path, stat, sizeof(stat)) || strncmp(strchr(stat, '(') ?: "",
									  "(ksmd)", 6))
			continue;
		close_paren = strrchr(stat, ')');
		if (close_paren && sscanf(close_paren + 2, "%*c %ld", &ppid) == 1 && ppid == 2)
			pid = strtol(e->d_name, NULL, 10);
	}
	closedir(d);
	return pid;
}

int ksmd_cpu_seconds(double *seconds)
{
	unsigned long long utime, stime;
	char path[PATH_MAX], stat[1024], *p;
	long pid = ksmd_pid(), ticks = sysconf(_SC_CLK_TCK);
	int err;

	if (!pid)
		return -ESRCH;
	snprintf(path, sizeof(path), "%s/%ld/stat", proc_dir, pid);
	err = file_read_text(path, stat, sizeof(stat));
	if (err)
		return err;
	/* After "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	p = strrchr(stat, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &utime, &stime) != 2)
		return -EINVAL;
	*seconds = (double)(utime + stime) / (ticks > 0 ? ticks : 100);
	return 0;
}
