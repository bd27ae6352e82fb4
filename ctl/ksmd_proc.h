/* SPDX-License-Identifier: GPL-2.0 */
/* ksmd, the kernel thread, as /proc (proc_dir) shows it. */
#ifndef KSMCTL_KSMD_PROC_H
#define KSMCTL_KSMD_PROC_H

/* The CPU time ksmd has used (user and system), in seconds: 0 or -errno. */
int ksmd_cpu_seconds(double *seconds);

#endif /* KSMCTL_KSMD_PROC_H */
