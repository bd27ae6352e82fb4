/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmctl: the arguments of a command, as bpftool takes them: keywords, each
 * followed by its value (`ksmctl stats top 5 sort merged`), in any order, each
 * at most once. A command describes its keywords in a table; args_parse()
 * fills in the values and refuses, with one message naming the problem, an
 * unknown keyword, a keyword without its value, a keyword given twice and a
 * value its parser does not take. No kernel or file access.
 */
#ifndef KSMCTL_ARGS_H
#define KSMCTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

struct arg;

/*
 * Reads @text into @a->dest: 0, or -1 with what is wrong with @text in @err
 * (the message then reads "KEYWORD: " and @err).
 */
typedef int (*arg_parser)(const struct arg *a, const char *text, char *err, size_t errlen);

struct arg {
	const char *keyword;
	arg_parser parse;
	void *dest;
	unsigned long max;		/* args_count(): the largest value taken */
	const char *const *choices;	/* args_choice(): NULL-terminated */
	bool given;			/* set by args_parse() */
};

/* The value as it is: @dest is a const char **. */
int args_string(const struct arg *a, const char *text, char *err, size_t errlen);
/* A whole number from 1 to @a->max, decimal, no sign: @dest is an unsigned long *. */
int args_count(const struct arg *a, const char *text, char *err, size_t errlen);
/* One of @a->choices: @dest is an int *, the index of the choice. */
int args_choice(const struct arg *a, const char *text, char *err, size_t errlen);

/*
 * Parse @argv (@argc words: KEYWORD VALUE ...) by the table @args (@n
 * entries; none: the command takes no arguments). 0, or -1 with one message
 * in @err.
 */
int args_parse_msg(struct arg *args, size_t n, int argc, char **argv, char *err,
		   size_t errlen);
/*
 * The same, a failure reported as a usage error of the command @cmd of
 * @object (NULL: an object without commands): "ksmctl: OBJECT CMD: MESSAGE
 * (see 'ksmctl OBJECT help')" and EXIT_USAGE.
 */
int args_parse(const char *object, const char *cmd, struct arg *args, size_t n, int argc,
	       char **argv);

#define ARGS_N(table) (sizeof(table) / sizeof((table)[0]))

#endif /* KSMCTL_ARGS_H */
