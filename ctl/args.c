// SPDX-License-Identifier: GPL-2.0
/* ksmctl: keyword arguments, as bpftool takes them (see args.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "ksmctl.h"

int args_string(const struct arg *a, const char *text, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*(const char **)a->dest = text;
	return 0;
}

int args_count(const struct arg *a, const char *text, char *err, size_t errlen)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || !v || v > a->max) {
		snprintf(err, errlen, "'%s' is not a number from 1 to %lu", text, a->max);
		return -1;
	}
	*(unsigned long *)a->dest = v;
	return 0;
}

int args_choice(const struct arg *a, const char *text, char *err, size_t errlen)
{
	size_t len;
	int i;

	for (i = 0; a->choices[i]; i++) {
		if (!strcmp(text, a->choices[i])) {
			*(int *)a->dest = i;
			return 0;
		}
	}
	snprintf(err, errlen, "'%s' is none of ", text);
	for (i = 0; a->choices[i]; i++) {
		len = strlen(err);
		snprintf(err + len, errlen - len, "%s%s", i ? ", " : "", a->choices[i]);
	}
	return -1;
}

static struct arg *find(struct arg *args, size_t n, const char *word)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(word, args[i].keyword))
			return &args[i];
	return NULL;
}

/* "unknown keyword 'WORD': it takes a, b or c", or how an old form is written now. */
static void unknown(struct arg *args, size_t n, const char *word, char *err, size_t errlen)
{
	const char *eq;
	size_t len;

	if (!n) {
		snprintf(err, errlen, "unexpected '%s': it takes no arguments", word);
		return;
	}
	/* The forms of ksmctl before keywords: --top 5, merge=on. */
	if (word[0] == '-' && word[1] == '-' && find(args, n, word + 2)) {
		snprintf(err, errlen, "'%s' is written '%s' (keywords take no dashes)", word,
			 word + 2);
		return;
	}
	eq = strchr(word, '=');
	if (eq) {
		for (size_t i = 0; i < n; i++) {
			if (strlen(args[i].keyword) == (size_t)(eq - word) &&
			    !strncmp(word, args[i].keyword, eq - word)) {
				snprintf(err, errlen, "'%s' is written '%s %s'", word,
					 args[i].keyword, eq + 1);
				return;
			}
		}
	}
	snprintf(err, errlen, "unknown keyword '%s': it takes ", word);
	for (size_t i = 0; i < n; i++) {
		len = strlen(err);
		snprintf(err + len, errlen - len, "%s%s", !i ? "" : i + 1 < n ? ", " : " or ",
			 args[i].keyword);
	}
}

int args_parse_msg(struct arg *args, size_t n, int argc, char **argv, char *err,
		   size_t errlen)
{
	char why[256];

	for (size_t i = 0; i < n; i++)
		args[i].given = false;
	for (int i = 0; i < argc; i += 2) {
		struct arg *a = find(args, n, argv[i]);

		if (!a) {
			unknown(args, n, argv[i], err, errlen);
			return -1;
		}
		if (a->given) {
			snprintf(err, errlen, "'%s' given twice", a->keyword);
			return -1;
		}
		if (i + 1 == argc) {
			snprintf(err, errlen, "'%s' needs a value", a->keyword);
			return -1;
		}
		snprintf(why, sizeof(why), "'%s' is not a valid value", argv[i + 1]);
		if (a->parse(a, argv[i + 1], why, sizeof(why))) {
			snprintf(err, errlen, "%s: %s", a->keyword, why);
			return -1;
		}
		a->given = true;
	}
	return 0;
}

int args_parse(const char *object, const char *cmd, struct arg *args, size_t n, int argc,
	       char **argv)
{
	char err[512];

	if (!args_parse_msg(args, n, argc, argv, err, sizeof(err)))
		return 0;
	return cmd_usage_error(object, cmd, "%s", err);
}
