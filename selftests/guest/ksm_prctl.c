// SPDX-License-Identifier: GPL-2.0
/*
 * prctl(PR_SET_MEMORY_MERGE): a process opts in all its anonymous memory, the
 * setting survives exec, so a program that never heard of KSM is merged, and
 * it is inherited by children on fork.
 */
#include "ksm_util.h"
#include "ktap.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif

#define PAGES 16
#define SEED 0x9009

struct program {
	pid_t pid;
	int in_fd;		/* its stdin: closing it ends the program */
	char *addr;
};

static char workload[PATH_MAX];

/* Start ksm-workload with merging set by prctl before exec. */
static int program_start(struct program *p)
{
	char pages[16], seed[24], line[128];
	int in[2], out[2];
	FILE *f;
	int ok;

	snprintf(pages, sizeof(pages), "%d", PAGES);
	snprintf(seed, sizeof(seed), "%d", SEED);
	/* Close-on-exec, or the next program would hold this one's stdin open. */
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0))
			_exit(126);
		execl(workload, "ksm-workload", pages, seed, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	f = fdopen(out[0], "r");
	ok = f && fgets(line, sizeof(line), f) && sscanf(line, "addr=%p", (void **)&p->addr) == 1;
	if (f)
		fclose(f);
	return ok ? 0 : -EIO;
}

static void program_stop(struct program *p)
{
	if (p->pid <= 0)
		return;
	close(p->in_fd);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}


static bool programs_shared(void *arg)
{
	struct program *p = arg;
	long ps = sysconf(_SC_PAGESIZE);
	int i;

	for (i = 0; i < PAGES; i++) {
		int64_t pfn = pagemap_pfn(p[0].pid, p[0].addr + i * ps);

		if (pfn < 0 || pfn != pagemap_pfn(p[1].pid, p[1].addr + i * ps))
			return false;
	}
	return true;
}

/* A program that never calls madvise is merged after prctl + exec. */
static enum ktap_result prctl_merges_unmodified_program(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct program p[2] = {0};
	struct ksm_proc_stat st;
	int i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	for (i = 0; i < 2; i++)
		KTAP_EXPECT(!program_start(&p[i]), "ksm-workload %d did not start", i);
	KTAP_EXPECT(!ksm_wait_until(programs_shared, p, MERGE_MAX_SCANS, MERGE_TIMEOUT_MS),
		    "the programs' pages did not merge");
	for (i = 0; i < 2; i++)
		KTAP_EXPECT(!ksm_proc_stat(p[i].pid, &st) && st.merging_pages >= PAGES,
			    "program %d: ksm_merging_pages %ld", i, st.merging_pages);
out:
	for (i = 0; i < 2; i++)
		program_stop(&p[i]);
	ksm_test_end(&knobs);
	return result;
}

/* Children forked after prctl inherit it, and their memory merges. */
static enum ktap_result prctl_inherited_on_fork(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	bool set = false;
	int i;

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!region_map(&r, PAGES, 0xa00a), "mmap failed");
	KTAP_EXPECT(!prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0), "prctl: %s", strerror(errno));
	set = true;
	/* No W_MADVISE: only the inherited prctl makes them mergeable. */
	KTAP_EXPECT(!workers_start(w, 2, &r, 0), "workers did not start");
	for (i = 0; i < 2; i++)
		KTAP_EXPECT(worker_cmd(&w[i], WC_GET_MERGE, 0) == 1,
			    "worker %d: PR_GET_MEMORY_MERGE is not 1", i);
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "did not merge");
out:
	workers_stop(w, 2);
	if (set)
		prctl(PR_SET_MEMORY_MERGE, 0, 0, 0, 0);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(prctl_merges_unmodified_program),
	KTAP_CASE(prctl_inherited_on_fork),
};

int main(int argc, char **argv)
{
	char *slash;

	/* ksm-workload is built next to this program. */
	(void)argc;
	if (!realpath(argv[0], workload) || !(slash = strrchr(workload, '/')) ||
	    slash - workload + sizeof("/ksm-workload") > sizeof(workload)) {
		fprintf(stderr, "ksm_prctl: cannot locate ksm-workload\n");
		return 1;
	}
	strcpy(slash, "/ksm-workload");
	return ktap_run(cases, sizeof(cases) / sizeof(cases[0]));
}
