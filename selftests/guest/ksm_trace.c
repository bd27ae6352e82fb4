// SPDX-License-Identifier: GPL-2.0
/*
 * The ksm tracepoints of the series name the process and its cgroup: merges
 * (new and joined), COW unshares, policy verdicts, attach and detach. Each
 * case records through tracefs and checks the fields of the events.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ksm_util.h"
#include "ktap.h"
#include "worker.h"
#include "test_policies.skel.h"

#define PAGES 8
#define TRACEFS "/sys/kernel/tracing"
#define CGROUP_ROOT "/sys/fs/cgroup"
#define TEST_CGROUP CGROUP_ROOT "/ksm-trace-test"

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static int trace_events(const char *events, bool on)
{
	char path[256], copy[256], *ev, *save;
	int err = 0;

	snprintf(copy, sizeof(copy), "%s", events);
	for (ev = strtok_r(copy, " ", &save); ev && !err; ev = strtok_r(NULL, " ", &save)) {
		snprintf(path, sizeof(path), TRACEFS "/events/ksm/%s/enable", ev);
		err = write_file(path, on ? "1" : "0");
	}
	return err;
}

/* Mount tracefs if needed and start recording @events from an empty buffer. */
static int trace_start(const char *events)
{
	if (access(TRACEFS "/events", F_OK) &&
	    mount("nodev", TRACEFS, "tracefs", 0, NULL))
		return -errno;
	return write_file(TRACEFS "/trace", "") ?: trace_events(events, true);
}

/* Stop recording; the caller frees the text. */
static char *trace_stop(const char *events)
{
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	trace_events(events, false);
	fd = open(TRACEFS "/trace", O_RDONLY);
	if (fd < 0 || !buf) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *more = realloc(buf, cap *= 2);

			if (!more)
				break;
			buf = more;
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* Lines of @trace holding every one of the words in @want (NULL-ended). */
static int count_lines(const char *trace, const char *const *want)
{
	const char *line = trace;
	int count = 0;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512];
		int i, ok = 1;

		snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1),
			 line);
		for (i = 0; want[i] && ok; i++)
			ok = strstr(buf, want[i]) != NULL;
		count += ok;
		line = nl ? nl + 1 : NULL;
	}
	return count;
}

/* A cgroup v2 id is the inode number of its directory. */
static unsigned long long cgroup_id(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (unsigned long long)st.st_ino;
}

static int cgroup_setup(void)
{
	if (access(CGROUP_ROOT "/cgroup.procs", F_OK) &&
	    mount("none", CGROUP_ROOT, "cgroup2", 0, NULL))
		return -errno;
	if (mkdir(TEST_CGROUP, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static void cgroup_enter(pid_t pid, const char *cgroup)
{
	char path[256], text[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	snprintf(text, sizeof(text), "%d", pid);
	write_file(path, text);
}

#define MERGE_EVENTS "ksm_merge_page ksm_cow_unshare"

/* Merge and COW events carry the right tgid and cgroup id. */
static enum ktap_result merge_and_cow_events_name_the_process(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct worker w[2] = {0};
	struct region r = {0};
	unsigned long long cgid;
	char *trace = NULL, tgid0[32], tgid1[32], cg[48], addr[32];

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!cgroup_setup(), "no cgroup2: %s", strerror(errno));
	cgid = cgroup_id(TEST_CGROUP);
	KTAP_EXPECT(cgid > 1, "no id for " TEST_CGROUP);
	KTAP_EXPECT(!trace_start(MERGE_EVENTS), "cannot start tracing: %s", strerror(errno));
	KTAP_EXPECT(!region_map(&r, PAGES, 0xc001), "mmap failed");
	KTAP_EXPECT(!ksm_write("run", 0), "cannot stop ksmd");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	cgroup_enter(w[1].pid, TEST_CGROUP);
	KTAP_EXPECT(!ksm_write("run", 1), "cannot start ksmd");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "did not merge");
	KTAP_EXPECT(worker_cmd(&w[0], WC_WRITE, 0) == 0, "write failed");
	trace = trace_stop(MERGE_EVENTS);
	KTAP_EXPECT(trace, "cannot read the trace");

	snprintf(tgid0, sizeof(tgid0), "tgid %d ", w[0].pid);
	snprintf(tgid1, sizeof(tgid1), "tgid %d ", w[1].pid);
	snprintf(cg, sizeof(cg), "cgroup %llu ", cgid);
	snprintf(addr, sizeof(addr), "addr %p ", r.addr);
	{
		const char *merged0[] = { "ksm_merge_page:", tgid0, "domain 0", NULL };
		const char *merged1[] = { "ksm_merge_page:", tgid1, cg, NULL };
		const char *cow[] = { "ksm_cow_unshare:", tgid0, addr, "write", NULL };

		KTAP_EXPECT(count_lines(trace, merged0) == PAGES, "%d merge events for %s",
			    count_lines(trace, merged0), tgid0);
		KTAP_EXPECT(count_lines(trace, merged1) == PAGES,
			    "%d merge events for %s in %s", count_lines(trace, merged1),
			    tgid1, cg);
		KTAP_EXPECT(count_lines(trace, cow) == 1, "%d COW events for %s at %s",
			    count_lines(trace, cow), tgid0, addr);
	}
out:
	if (result == KTAP_FAIL && trace)
		ktap_diag("trace:\n%.2000s", trace);
	free(trace);
	trace_events(MERGE_EVENTS, false);
	workers_stop(w, 2);
	rmdir(TEST_CGROUP);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

#define POLICY_EVENTS "ksm_policy_verdict ksm_policy_attach ksm_policy_detach ksm_merge_page"

/* Verdict, attach and detach events of a policy. */
static enum ktap_result policy_events(void)
{
	enum ktap_result result = KTAP_PASS;
	struct ksm_knobs knobs = {0};
	struct test_policies *skel = NULL;
	struct bpf_link *link = NULL;
	struct worker w[2] = {0};
	struct region r = {0};
	char *trace = NULL, tgid[32];

	KTAP_EXPECT(!ksm_test_begin(&knobs), "cannot set up ksm");
	KTAP_EXPECT(!trace_start(POLICY_EVENTS), "cannot start tracing: %s", strerror(errno));
	skel = test_policies__open_and_load();
	KTAP_EXPECT(skel, "cannot load the test policies");
	/* Attached first: every page of the workers must meet the policy. */
	link = bpf_map__attach_struct_ops(skel->maps.trust_stable);
	KTAP_EXPECT(link, "attach failed: %s", strerror(errno));
	KTAP_EXPECT(!region_map(&r, PAGES, 0xc002), "mmap failed");
	KTAP_EXPECT(!workers_start(w, 2, &r, W_MADVISE), "workers did not start");
	KTAP_EXPECT(!workers_wait_shared(w, 2, &r), "did not merge");
	bpf_link__destroy(link);
	link = NULL;
	trace = trace_stop(POLICY_EVENTS);
	KTAP_EXPECT(trace, "cannot read the trace");
	snprintf(tgid, sizeof(tgid), "tgid %d ", w[0].pid);
	{
		const char *attach[] = { "ksm_policy_attach:", "\"trust_stable\"", NULL };
		const char *detach[] = { "ksm_policy_detach:", "\"trust_stable\" unloaded", NULL };
		const char *verdict[] = { "ksm_policy_verdict:", "scan_page verdict 2", tgid, NULL };

		KTAP_EXPECT(count_lines(trace, attach) == 1, "no attach event");
		KTAP_EXPECT(count_lines(trace, detach) == 1, "no detach event");
		KTAP_EXPECT(count_lines(trace, verdict) >= PAGES, "%d verdict events for %s",
			    count_lines(trace, verdict), tgid);
	}
out:
	if (result == KTAP_FAIL && trace)
		ktap_diag("trace:\n%.2000s", trace);
	free(trace);
	trace_events(POLICY_EVENTS, false);
	bpf_link__destroy(link);
	test_policies__destroy(skel);
	workers_stop(w, 2);
	region_unmap(&r);
	ksm_test_end(&knobs);
	return result;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(merge_and_cow_events_name_the_process),
	KTAP_CASE(policy_events),
};
KTAP_MAIN(cases)
