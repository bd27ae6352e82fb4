// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmarks' workload processes: see bench_process.h.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_process.h"

pid_t start_process(int (*setup)(void *arg), void *arg)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		if (setup(arg) || write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	close(ready[0]);
	return pid;
}

void stop_processes(pid_t *procs, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (procs[i] > 0) {
			kill(procs[i], SIGKILL);
			waitpid(procs[i], NULL, 0);
		}
		procs[i] = 0;
	}
}
