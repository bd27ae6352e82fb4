// SPDX-License-Identifier: GPL-2.0
/*
 * Reading bench/ksm_pass_cost.bpf.c's records: see ksm_pass_reader.h.
 */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksm_pass_reader.h"
#include "ksm_pass_cost.skel.h"
#include "ksm_util.h"

#define POLL_US 50000

pid_t find_ksmd(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	pid_t pid = -1;

	while (proc && (d = readdir(proc))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "ksmd\n"))
			pid = atoi(d->d_name);
		fclose(f);
		if (pid > 0)
			break;
	}
	if (proc)
		closedir(proc);
	return pid;
}

static int on_pass(void *ctx, void *data, size_t size)
{
	struct pass_reader *r = ctx;

	if (size < sizeof(r->queue[0]) || r->queued == PASS_READER_MAX_PASSES)
		return -E2BIG;
	memcpy(&r->queue[r->queued++], data, sizeof(r->queue[0]));
	return 0;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct pass_reader *r = ctx;

	if (size < sizeof(r->sample[0]))
		return -E2BIG;
	if (r->nsamples == r->sample_cap) {
		size_t cap = r->sample_cap ? r->sample_cap * 2 : 4096;
		struct ksm_scan_sample *grown = realloc(r->sample, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		r->sample = grown;
		r->sample_cap = cap;
	}
	memcpy(&r->sample[r->nsamples++], data, sizeof(r->sample[0]));
	return 0;
}

int pass_reader_open(struct pass_reader *r, bool samples, const char *who)
{
	memset(r, 0, sizeof(*r));
	r->ksmd = find_ksmd();
	if (r->ksmd < 0) {
		fprintf(stderr, "%s: no ksmd thread\n", who);
		return -1;
	}
	r->skel = ksm_pass_cost_bpf__open();
	if (r->skel) {
		r->skel->rodata->ksmd_pid = r->ksmd;
		r->skel->rodata->sample_switches = samples;
	}
	if (!r->skel || ksm_pass_cost_bpf__load(r->skel) || ksm_pass_cost_bpf__attach(r->skel)) {
		fprintf(stderr, "%s: cannot load or attach the pass recorder: %s\n", who,
			strerror(errno));
		pass_reader_close(r);
		return -1;
	}
	r->passes = ring_buffer__new(bpf_map__fd(r->skel->maps.passes), on_pass, r, NULL);
	if (samples)
		r->samples = ring_buffer__new(bpf_map__fd(r->skel->maps.samples), on_sample,
					      r, NULL);
	if (!r->passes || (samples && !r->samples)) {
		fprintf(stderr, "%s: cannot read the recorder's ring buffers: %s\n", who,
			strerror(errno));
		pass_reader_close(r);
		return -1;
	}
	return 0;
}

void pass_reader_close(struct pass_reader *r)
{
	ring_buffer__free(r->samples);
	ring_buffer__free(r->passes);
	ksm_pass_cost_bpf__destroy(r->skel);
	free(r->sample);
	memset(r, 0, sizeof(*r));
}

int pass_reader_take_samples(struct pass_reader *r)
{
	int err = r->samples ? ring_buffer__consume(r->samples) : 0;

	return err < 0 ? err : 0;
}

void pass_reader_clear_samples(struct pass_reader *r)
{
	r->nsamples = 0;
}

int pass_reader_next(struct pass_reader *r, struct ksm_pass_cost *pass,
		     unsigned long timeout_ms)
{
	unsigned long deadline = ksm_now_ms() + timeout_ms;
	int err;

	while (r->taken == r->queued) {
		r->queued = r->taken = 0;
		/* Samples too, so that their ring buffer never fills while we wait. */
		err = pass_reader_take_samples(r);
		if (!err)
			err = ring_buffer__consume(r->passes);
		if (err < 0)
			return err;
		if (r->taken < r->queued)
			break;
		if (ksm_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(POLL_US);
	}
	*pass = r->queue[r->taken++];
	return 0;
}

int pass_reader_skip(struct pass_reader *r, unsigned long n, unsigned long timeout_ms)
{
	struct ksm_pass_cost pass;
	int err = ring_buffer__consume(r->passes);

	if (err < 0)
		return err;
	r->taken = r->queued;
	while (n--) {
		err = pass_reader_next(r, &pass, timeout_ms);
		if (err)
			return err;
	}
	return 0;
}

__u64 pass_reader_policy_skipped(const struct pass_reader *r)
{
	return r->skel->bss->policy_skipped_done;
}
