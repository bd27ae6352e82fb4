/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmarks' workload processes: a child that sets up its memory, says
 * it is ready and waits to be killed. Shared by bench/ksm_scan_cost.c and
 * bench/ksm_converge.c.
 */
#ifndef BENCH_PROCESS_H
#define BENCH_PROCESS_H

#include <sys/types.h>

/*
 * Fork a child that runs @setup(@arg) (0: ready; anything else: it exits
 * with status 1) and then waits to be killed. Returns its pid once it is
 * ready, or -1 (the child, if any, is reaped).
 */
pid_t start_process(int (*setup)(void *arg), void *arg);

/* Kill and reap the processes of @procs that were started, and clear them. */
void stop_processes(pid_t *procs, unsigned long n);

#endif /* BENCH_PROCESS_H */
