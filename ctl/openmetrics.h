/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A writer of metric families in the OpenMetrics text format, or in the
 * Prometheus text format (0.0.4) that node_exporter's textfile collector
 * reads. The two differ in how a counter is named: OpenMetrics names the
 * family "x" and its samples "x_total"; Prometheus text names both
 * "x_total". Only the first has UNIT lines and the closing "# EOF".
 */
#ifndef KSMCTL_OPENMETRICS_H
#define KSMCTL_OPENMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum om_format { OM_OPENMETRICS, OM_PROMETHEUS };
enum om_type { OM_GAUGE, OM_COUNTER };

struct om_writer {
	FILE *f;
	enum om_format format;
	/* The family being written: its samples take its name and type. */
	const char *name;
	enum om_type type;
};

struct om_label {
	const char *name;
	const char *value;
};

void om_init(struct om_writer *w, FILE *f, enum om_format format);
/*
 * Begin family @name: a counter's without "_total"; with a @unit (or
 * NULL), @name ends in "_<unit>", as OpenMetrics wants.
 */
void om_family(struct om_writer *w, const char *name, enum om_type type, const char *unit,
	       const char *help);
/* A sample of the current family, with @n labels (values escaped). */
void om_sample(struct om_writer *w, const struct om_label *labels, size_t n, long long value);
void om_sample_float(struct om_writer *w, const struct om_label *labels, size_t n,
		     double value);
/* The end of the exposition ("# EOF" in OpenMetrics). */
void om_end(struct om_writer *w);

#endif /* KSMCTL_OPENMETRICS_H */
