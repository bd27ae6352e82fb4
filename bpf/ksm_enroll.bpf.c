// SPDX-License-Identifier: GPL-2.0
/*
 * enroll: turn KSM on or off for one running process, on behalf of an
 * administrator (`ksmctl cgroup set` runs it for each process of the cgroup
 * through BPF_PROG_TEST_RUN). Built into ksmctl.
 */
#include "vmlinux.h"
#include "ksm_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

struct ksm_enroll_args {
	s32 pid;
	s32 enable;
	s32 ret;	/* out: 0, -ESRCH (no such process, or no memory), -ENOMEM */
};

SEC("syscall")
int enroll(struct ksm_enroll_args *args)
{
	struct task_struct *task = bpf_task_from_pid(args->pid);

	if (!task) {
		args->ret = -3;	/* -ESRCH */
		return 0;
	}
	args->ret = bpf_ksm_set_merge(task, args->enable);
	bpf_task_release(task);
	return 0;
}
