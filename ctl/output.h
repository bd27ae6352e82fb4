/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl: the output formats a report command takes (`format F`), and how
 * they go with --json.
 */
#ifndef KSMCTL_OUTPUT_H
#define KSMCTL_OUTPUT_H

enum output_format { FORMAT_TABLE, FORMAT_JSON, FORMAT_OPENMETRICS, FORMAT_PROMETHEUS };

/* "table", "json", "openmetrics", "prometheus", NULL: args_choice()'s choices. */
extern const char *const output_format_names[];

/*
 * The format of command @cmd of @object given `format` *@format and --json:
 * --json means json, and goes with no other. 0, or a usage error said.
 */
int output_format_settle(const char *object, const char *cmd, int *format);

#endif /* KSMCTL_OUTPUT_H */
