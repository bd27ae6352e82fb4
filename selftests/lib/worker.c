// SPDX-License-Identifier: GPL-2.0
#include "worker.h"
#include "ksm_util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_GET_MEMORY_MERGE
#define PR_GET_MEMORY_MERGE 68
#endif

struct msg {
	char cmd;
	uint64_t arg;
};

int region_map(struct region *r, size_t pages, uint64_t seed)
{
	r->page_size = sysconf(_SC_PAGESIZE);
	r->pages = pages;
	r->seed = seed;
	r->addr = mmap(NULL, pages * r->page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->addr == MAP_FAILED)
		return -errno;
	/* KSM does not merge inside huge pages; keep the test on small ones. */
	madvise(r->addr, pages * r->page_size, MADV_NOHUGEPAGE);
	return 0;
}

void region_unmap(struct region *r)
{
	if (r->addr && r->addr != MAP_FAILED)
		munmap(r->addr, r->pages * r->page_size);
	r->addr = NULL;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len ? 0 : -EIO;
}

/* The bytes a worker writes into a page it is told to overwrite. */
#define SCRIBBLE 0x5a

static void *volatile_writer(void *arg)
{
	const struct region *r = arg;
	struct timespec pause = { 0, 1000000 };
	unsigned char v = 0;

	for (;;) {
		memset(r->addr, v++, r->page_size);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static bool region_intact(const struct region *r, unsigned int flags,
			  const bool *written)
{
	size_t i;

	for (i = 0; i < r->pages; i++) {
		const char *p = region_page(r, i);
		bool ok;

		if (i == 0 && (flags & W_VOLATILE))
			continue;
		if (written[i])
			ok = p[0] == SCRIBBLE && !memcmp(p, p + 1, r->page_size - 1);
		else if (flags & W_ZERO)
			ok = !p[0] && !memcmp(p, p + 1, r->page_size - 1);
		else
			ok = check_pattern(p, r->page_size, r->page_size,
					   r->seed + i * 0x100000001ULL);
		if (!ok)
			return false;
	}
	return true;
}

static int64_t fork_and_check(const struct region *r, unsigned int flags,
			      const bool *written)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(region_intact(r, flags, written) ? 0 : 1);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * A worker must not hold the test's descriptors: a BPF link inherited by
 * fork would keep a policy attached after the test closed it.
 */
static void close_inherited_fds(int keep1, int keep2)
{
	int fd, max = sysconf(_SC_OPEN_MAX);

	for (fd = 3; fd < max && fd < 65536; fd++)
		if (fd != keep1 && fd != keep2)
			close(fd);
}

static void worker_main(int cmd_fd, int resp_fd, const struct region *r,
			unsigned int flags)
{
	size_t len = r->pages * r->page_size, i;
	bool *written = calloc(r->pages, sizeof(*written));
	pthread_t thread;
	struct msg m;
	int64_t ret;

	close_inherited_fds(cmd_fd, resp_fd);

	/* Each page gets its own seed so no two pages of one worker are equal. */
	for (i = 0; i < r->pages; i++) {
		if (flags & W_ZERO)
			memset(region_page(r, i), 0, r->page_size);
		else
			fill_pattern(region_page(r, i), r->page_size, r->page_size,
				     r->seed + i * 0x100000001ULL);
	}
	ret = 0;
	if ((flags & W_MADVISE) && madvise(r->addr, len, MADV_MERGEABLE))
		ret = -errno;
	if (!ret && (flags & W_VOLATILE) &&
	    pthread_create(&thread, NULL, volatile_writer, (void *)r))
		ret = -EAGAIN;
	if (write_full(resp_fd, &ret, sizeof(ret)) || ret)
		_exit(1);

	while (!read_full(cmd_fd, &m, sizeof(m))) {
		switch (m.cmd) {
		case WC_WRITE:
			ret = -EINVAL;
			if (m.arg < r->pages) {
				memset(region_page(r, m.arg), SCRIBBLE, r->page_size);
				written[m.arg] = true;
				ret = 0;
			}
			break;
		case WC_CHECK:
			ret = region_intact(r, flags, written);
			break;
		case WC_UNMERGE:
			ret = madvise(r->addr, len, MADV_UNMERGEABLE) ? -errno : 0;
			break;
		case WC_FORK:
			ret = fork_and_check(r, flags, written);
			break;
		case WC_GET_MERGE:
			ret = prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0);
			if (ret < 0)
				ret = -errno;
			break;
		case WC_QUIT:
			_exit(0);
		default:
			ret = -EINVAL;
		}
		if (write_full(resp_fd, &ret, sizeof(ret)))
			break;
	}
	_exit(0);
}

int worker_start(struct worker *w, const struct region *r, unsigned int flags)
{
	int cmd[2], resp[2];
	int64_t ready;

	w->pid = -1;
	if (pipe(cmd))
		return -errno;
	if (pipe(resp)) {
		close(cmd[0]);
		close(cmd[1]);
		return -errno;
	}
	w->pid = fork();
	if (w->pid < 0)
		return -errno;
	if (w->pid == 0) {
		close(cmd[1]);
		close(resp[0]);
		worker_main(cmd[0], resp[1], r, flags);
	}
	close(cmd[0]);
	close(resp[1]);
	w->cmd_fd = cmd[1];
	w->resp_fd = resp[0];
	if (read_full(w->resp_fd, &ready, sizeof(ready)))
		return -EIO;
	return (int)ready;
}

int64_t worker_cmd(struct worker *w, enum worker_cmd cmd, uint64_t arg)
{
	struct msg m = { .cmd = cmd, .arg = arg };
	int64_t ret;

	if (w->pid <= 0)
		return -ESRCH;
	if (write_full(w->cmd_fd, &m, sizeof(m)) ||
	    read_full(w->resp_fd, &ret, sizeof(ret)))
		return -EIO;
	return ret;
}

void worker_stop(struct worker *w)
{
	struct msg m = { .cmd = WC_QUIT };

	if (w->pid <= 0)
		return;
	if (write_full(w->cmd_fd, &m, sizeof(m)))
		kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	close(w->cmd_fd);
	close(w->resp_fd);
	w->pid = -1;
}

size_t pages_shared_by(const struct worker *w, int n, const struct region *r,
		       size_t first, size_t count)
{
	size_t i, shared = 0;
	int j;

	for (i = first; i < first + count && i < r->pages; i++) {
		int64_t pfn = pagemap_pfn(w[0].pid, region_page(r, i));

		for (j = 1; pfn >= 0 && j < n; j++)
			if (pagemap_pfn(w[j].pid, region_page(r, i)) != pfn)
				pfn = -1;
		shared += pfn >= 0;
	}
	return shared;
}

bool all_pages_shared(const struct worker *w, int n, const struct region *r, size_t first)
{
	return pages_shared_by(w, n, r, first, r->pages) == r->pages - first;
}

struct shared_wait {
	const struct worker *w;
	int n;
	const struct region *r;
};

static bool shared_cond(void *arg)
{
	const struct shared_wait *sw = arg;

	return all_pages_shared(sw->w, sw->n, sw->r, 0);
}

int workers_wait_shared(const struct worker *w, int n, const struct region *r)
{
	struct shared_wait sw = { w, n, r };

	return ksm_wait_until(shared_cond, &sw, MERGE_MAX_SCANS, MERGE_TIMEOUT_MS);
}

int workers_start(struct worker *w, int n, const struct region *r, unsigned int flags)
{
	int i, err;

	for (i = 0; i < n; i++)
		w[i].pid = -1;
	for (i = 0; i < n; i++) {
		err = worker_start(&w[i], r, flags);
		if (err)
			return err;
	}
	return 0;
}

void workers_stop(struct worker *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		worker_stop(&w[i]);
}

struct merging_wait {
	pid_t pid;
	long pages;
	long seen;
};

static bool merging_cond(void *arg)
{
	struct merging_wait *mw = arg;
	struct ksm_proc_stat st;

	mw->seen = ksm_proc_stat(mw->pid, &st) ? -1 : st.merging_pages;
	return mw->seen == mw->pages;
}

int worker_wait_merging_pages(const struct worker *w, long pages)
{
	struct merging_wait mw = { w->pid, pages, -1 };

	return ksm_wait_until(merging_cond, &mw, MERGE_MAX_SCANS, MERGE_TIMEOUT_MS);
}
