// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_pass_cost: what each full scan of ksmd costs, recorded exactly at its
 * boundaries, for bench/ksm_scan_cost.c.
 *
 * ksm:ksm_start_scan and ksm:ksm_stop_scan are upstream tracepoints, fired by
 * ksmd itself at the start and the end of a pass, so this object loads on the
 * baseline kernel as on the patched one (it uses nothing of the series).
 * At each it takes ksmd's CPU time and the kernel's own counters behind sysfs
 * pages_scanned and pages_skipped (static in mm/ksm.c: read through their
 * kallsyms addresses), and at the stop it sends one struct ksm_pass_cost with
 * what KSM shares then (pages_sharing, pages_shared, zero pages, general_profit).
 * On the patched kernel it also counts the pages a BPF policy skipped, which
 * sysfs does not show: the pass's ksm_pass.pages_skipped, a weak symbol that is
 * 0 on the unpatched kernel. With sample_switches set, it also sends a struct
 * ksm_scan_sample each time ksmd leaves the CPU, for convergence within a pass
 * (bench/ksm_converge.c); bench/ksm_scan_cost.c leaves it off.
 *
 * ksmd's CPU time at a boundary: se.sum_exec_runtime is exact only when the
 * scheduler has just updated it, at a switch (or a tick). So take it when
 * ksmd goes on the CPU and add the guest clock since; under QEMU's -icount
 * that clock counts instructions, so the figure is ksmd's instruction count,
 * interrupts it took included, as the scheduler counts it without
 * CONFIG_IRQ_TIME_ACCOUNTING (neither kernel has it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "ksm_pass_cost.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader: only ksmd's switches matter. */
const volatile __s32 ksmd_pid;
/* Set by the loader: send a ksm_scan_sample each time ksmd leaves the CPU. */
const volatile bool sample_switches;

extern const void ksm_pages_scanned __ksym;
extern const void ksm_pages_skipped __ksym;
extern const void ksm_pages_sharing __ksym;
extern const void ksm_pages_shared __ksym;
extern const void ksm_zero_pages __ksym;
extern const void ksm_rmap_items __ksym;
/* The series' per-pass figures (struct ksm_policy_pass): absent upstream. */
extern const void ksm_pass __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} passes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} samples SEC(".maps");

/*
 * When ksmd last went on the CPU (0: not yet seen), its runtime then, and the
 * pass in progress from its start (valid once ksmd was seen going on). Not
 * static: clang would split a static struct into scalars, which the
 * kernel's BTF check refuses.
 */
__u64 on_cpu_since, runtime_then;
struct ksm_pass_cost open_pass;
bool open_valid;
/*
 * Policy skips of the passes ended since load, and whether a pass is in
 * progress (ksm_pass holds the last pass's figures from its stop until the
 * next start).
 */
__u64 policy_skipped_done;
bool in_pass;

static __u64 ksmd_runtime(void)
{
	return runtime_then + (bpf_ktime_get_ns() - on_cpu_since);
}

static __u64 read_counter(const void *addr)
{
	unsigned long val = 0;

	bpf_probe_read_kernel(&val, sizeof(val), addr);
	return val;
}

/* Pages a policy skipped in the pass in progress, or in the last one. */
static __u64 pass_policy_skipped(void)
{
	if (!&ksm_pass)
		return 0;
	return read_counter((const char *)&ksm_pass +
			    bpf_core_field_offset(struct ksm_policy_pass, pages_skipped));
}

static void read_sharing(struct ksm_sharing_state *st)
{
	st->pages_sharing = read_counter(&ksm_pages_sharing);
	st->pages_shared = read_counter(&ksm_pages_shared);
	st->zero_pages = read_counter(&ksm_zero_pages);
	st->rmap_items = read_counter(&ksm_rmap_items);
	/* As general_profit_show() in mm/ksm.c. */
	st->general_profit = (__s64)(st->pages_sharing + st->zero_pages) * 4096 -
			     (__s64)(st->rmap_items * bpf_core_type_size(struct ksm_rmap_item));
}

static __u64 visited_now(void)
{
	return read_counter(&ksm_pages_scanned) + read_counter(&ksm_pages_skipped) +
	       policy_skipped_done + (in_pass ? pass_policy_skipped() : 0);
}

/* ksmd leaves the CPU: where convergence stands. */
static void send_sample(void)
{
	struct ksm_scan_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);

	if (!s)
		return;
	s->seq = open_pass.seq;
	s->runtime_ns = ksmd_runtime();
	s->pages_visited = visited_now();
	s->time_ns = bpf_ktime_get_ns();
	read_sharing(&s->state);
	bpf_ringbuf_submit(s, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ksmd_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (next->pid == ksmd_pid) {
		on_cpu_since = bpf_ktime_get_ns();
		/* Just brought up to date by the switch out, and unchanged since. */
		runtime_then = next->se.sum_exec_runtime;
	} else if (prev->pid == ksmd_pid) {
		if (open_valid)
			open_pass.switches++;
		/* Still this side of the switch: the runtime is not yet updated. */
		if (sample_switches && on_cpu_since)
			send_sample();
	}
	return 0;
}

SEC("tp_btf/ksm_start_scan")
int BPF_PROG(pass_start, int seq, __u32 rmap_entries)
{
	struct task_struct *task = bpf_get_current_task_btf();

	open_valid = task->pid == ksmd_pid && on_cpu_since;
	if (!open_valid)
		return 0;
	open_pass.seq = seq;
	open_pass.runtime_ns = ksmd_runtime();
	open_pass.start_runtime_total_ns = open_pass.runtime_ns;
	/* ksm_pass still holds the last pass's figures here: not in_pass yet. */
	open_pass.start_visited_total = visited_now();
	open_pass.start_ns = bpf_ktime_get_ns();
	in_pass = true;
	open_pass.sum_exec_runtime_ns = task->se.sum_exec_runtime;
	open_pass.pages_scanned = read_counter(&ksm_pages_scanned);
	open_pass.pages_skipped = read_counter(&ksm_pages_skipped);
	open_pass.switches = 0;
	return 0;
}

SEC("tp_btf/ksm_stop_scan")
int BPF_PROG(pass_stop, int seq, __u32 rmap_entries)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ksm_pass_cost *rec;

	if (!open_valid || task->pid != ksmd_pid || seq != open_pass.seq)
		return 0;
	open_valid = false;
	in_pass = false;
	policy_skipped_done += pass_policy_skipped();
	rec = bpf_ringbuf_reserve(&passes, sizeof(*rec), 0);
	if (!rec)
		return 0;
	rec->seq = seq;
	rec->runtime_ns = ksmd_runtime() - open_pass.runtime_ns;
	rec->sum_exec_runtime_ns = task->se.sum_exec_runtime - open_pass.sum_exec_runtime_ns;
	rec->pages_scanned = read_counter(&ksm_pages_scanned) - open_pass.pages_scanned;
	rec->pages_skipped = read_counter(&ksm_pages_skipped) - open_pass.pages_skipped;
	rec->pages_policy_skipped = pass_policy_skipped();
	rec->start_runtime_total_ns = open_pass.start_runtime_total_ns;
	rec->start_visited_total = open_pass.start_visited_total;
	rec->start_ns = open_pass.start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	read_sharing(&rec->state);
	rec->rmap_items = rmap_entries;
	rec->switches = open_pass.switches;
	/* The reader polls: waking it at every pass would add to ksmd's time. */
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return 0;
}
