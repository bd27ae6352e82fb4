/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmarks' side of bench/ksm_pass_cost.bpf.c: find ksmd, load and
 * attach the recorder, and read its records of whole passes (and, when asked,
 * of points within them) in order. Shared by bench/ksm_scan_cost.c and
 * bench/ksm_converge.c.
 */
#ifndef KSM_PASS_READER_H
#define KSM_PASS_READER_H

#include <linux/types.h>
#include <stdbool.h>
#include <sys/types.h>

#include "ksm_pass_cost.h"

/* More than the passes ring buffer holds (bench/ksm_pass_cost.bpf.c). */
#define PASS_READER_MAX_PASSES 2048

struct ksm_pass_cost_bpf;
struct ring_buffer;

struct pass_reader {
	struct ksm_pass_cost_bpf *skel;
	struct ring_buffer *passes;
	struct ring_buffer *samples;	/* NULL unless asked for */
	pid_t ksmd;
	/* Pass records from the ring buffer, in order, not yet taken. */
	struct ksm_pass_cost queue[PASS_READER_MAX_PASSES];
	unsigned int queued, taken;
	/* Samples, all kept (grown as needed) until pass_reader_clear_samples(). */
	struct ksm_scan_sample *sample;
	size_t nsamples, sample_cap;
};

/* The pid of the ksmd thread, or -1. */
pid_t find_ksmd(void);

/*
 * Load and attach the recorder for ksmd, with samples within passes or not;
 * 0, or -1 with a message on stderr (prefixed with @who).
 */
int pass_reader_open(struct pass_reader *r, bool samples, const char *who);
void pass_reader_close(struct pass_reader *r);

/* The next pass that ends, waiting for it at most @timeout_ms; 0 or -errno. */
int pass_reader_next(struct pass_reader *r, struct ksm_pass_cost *pass,
		     unsigned long timeout_ms);
/* Let the passes now in progress end unmeasured, and @n more after them. */
int pass_reader_skip(struct pass_reader *r, unsigned long n, unsigned long timeout_ms);

/* Take the samples sent so far into r->sample; 0 or -errno. */
int pass_reader_take_samples(struct pass_reader *r);
void pass_reader_clear_samples(struct pass_reader *r);

/* Pages a policy skipped since the recorder was loaded, in passes ended. */
__u64 pass_reader_policy_skipped(const struct pass_reader *r);

#endif /* KSM_PASS_READER_H */
