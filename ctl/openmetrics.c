// SPDX-License-Identifier: GPL-2.0
/* ksmctl: OpenMetrics and Prometheus text output (see openmetrics.h). */
#include "openmetrics.h"

void om_init(struct om_writer *w, FILE *f, enum om_format format)
{
	w->f = f;
	w->format = format;
	w->name = NULL;
	w->type = OM_GAUGE;
}

/* @s with the escapes of both formats: backslash, newline, and @quote if set. */
static void put_escaped(FILE *f, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (quote && *s == '"')
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* The name samples carry: a counter's ends in "_total" in both formats. */
static void put_sample_name(const struct om_writer *w)
{
	fprintf(w->f, "%s%s", w->name, w->type == OM_COUNTER ? "_total" : "");
}

void om_family(struct om_writer *w, const char *name, enum om_type type, const char *unit,
	       const char *help)
{
	const char *suffix = w->format == OM_PROMETHEUS && type == OM_COUNTER ? "_total" : "";

	w->name = name;
	w->type = type;
	fprintf(w->f, "# HELP %s%s ", name, suffix);
	put_escaped(w->f, help, false);
	fprintf(w->f, "\n# TYPE %s%s %s\n", name, suffix, type == OM_COUNTER ? "counter" : "gauge");
	if (unit && w->format == OM_OPENMETRICS)
		fprintf(w->f, "# UNIT %s %s\n", name, unit);
}

static void put_labels(const struct om_writer *w, const struct om_label *labels, size_t n)
{
	size_t i;

	if (!n)
		return;
	fputc('{', w->f);
	for (i = 0; i < n; i++) {
		fprintf(w->f, "%s%s=\"", i ? "," : "", labels[i].name);
		put_escaped(w->f, labels[i].value, true);
		fputc('"', w->f);
	}
	fputc('}', w->f);
}

void om_sample(struct om_writer *w, const struct om_label *labels, size_t n, long long value)
{
	put_sample_name(w);
	put_labels(w, labels, n);
	fprintf(w->f, " %lld\n", value);
}

void om_sample_float(struct om_writer *w, const struct om_label *labels, size_t n,
		     double value)
{
	put_sample_name(w);
	put_labels(w, labels, n);
	fprintf(w->f, " %.17g\n", value);
}

void om_end(struct om_writer *w)
{
	if (w->format == OM_OPENMETRICS)
		fputs("# EOF\n", w->f);
	fflush(w->f);
}
