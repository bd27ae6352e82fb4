// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl's keyword arguments (ctl/args.c): values in any order, and one
 * message naming each problem: an unknown keyword, a missing value, a
 * keyword given twice, a bad number or choice, a value a parser refuses,
 * the forms before keywords (--top 5, merge=on); as a usage error with
 * --json too.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <limits.h>
#include <string.h>

#include "args.h"
#include "ksmctl.h"

static const char *const colours[] = { "red", "green", "blue", NULL };

/* A command with every kind of keyword; what it parsed, and the message. */
struct cmd_args {
	const char *file;
	unsigned long top;
	int colour;
	const char *even;
	struct arg args[4];
	char err[512];
};

/* A value of its own parser: an even number of characters. */
static int parse_even(const struct arg *a, const char *text, char *err, size_t errlen)
{
	if (strlen(text) % 2) {
		snprintf(err, errlen, "'%s' has an odd length", text);
		return -1;
	}
	return args_string(a, text, err, errlen);
}

/* A parser that says nothing about why it refuses. */
static int parse_never(const struct arg *a, const char *text, char *err, size_t errlen)
{
	(void)a;
	(void)text;
	(void)err;
	(void)errlen;
	return -1;
}

static int parse(struct cmd_args *c, int argc, ...)
{
	char *argv[16];
	va_list ap;

	memset(c, 0, sizeof(*c));
	c->colour = -1;
	c->args[0] = (struct arg){ .keyword = "file", .parse = args_string, .dest = &c->file };
	c->args[1] = (struct arg){ .keyword = "top", .parse = args_count, .dest = &c->top,
				   .max = 100 };
	c->args[2] = (struct arg){ .keyword = "colour", .parse = args_choice, .dest = &c->colour,
				   .choices = colours };
	c->args[3] = (struct arg){ .keyword = "even", .parse = parse_even, .dest = &c->even };
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	return args_parse_msg(c->args, 4, argc, argv, c->err, sizeof(c->err));
}

Test(args, keywords_in_any_order_each_optional)
{
	struct cmd_args c;

	cr_assert_eq(parse(&c, 0), 0);
	cr_expect_null(c.file);
	cr_expect_eq(c.top, 0);
	cr_expect_eq(c.colour, -1);
	cr_expect_not(c.args[0].given || c.args[1].given || c.args[2].given || c.args[3].given);

	cr_assert_eq(parse(&c, 8, "even", "ab", "colour", "blue", "top", "100", "file", "x.o"), 0,
		     "%s", c.err);
	cr_expect_str_eq(c.file, "x.o");
	cr_expect_eq(c.top, 100);
	cr_expect_eq(c.colour, 2);
	cr_expect_str_eq(c.even, "ab");
	cr_expect(c.args[0].given && c.args[1].given && c.args[2].given && c.args[3].given);

	cr_assert_eq(parse(&c, 2, "top", "1"), 0);
	cr_expect_eq(c.top, 1);
	cr_expect(c.args[1].given);
	cr_expect_not(c.args[0].given);
	/* A value may look like a keyword: it is the value. */
	cr_assert_eq(parse(&c, 2, "file", "top"), 0);
	cr_expect_str_eq(c.file, "top");
	cr_expect_not(c.args[1].given);
}

Test(args, unknown_keyword_names_it_and_the_keywords)
{
	struct cmd_args c;

	cr_expect_eq(parse(&c, 2, "size", "3"), -1);
	cr_expect_str_eq(c.err, "unknown keyword 'size': it takes file, top, colour or even");
	/* Keywords are exact: no prefixes, no other case. */
	cr_expect_eq(parse(&c, 2, "to", "3"), -1);
	cr_expect_str_eq(c.err, "unknown keyword 'to': it takes file, top, colour or even");
	cr_expect_eq(parse(&c, 2, "TOP", "3"), -1);
	cr_expect_eq(parse(&c, 1, ""), -1);
	/* After good ones, still refused, and nothing counts as given past it. */
	cr_expect_eq(parse(&c, 4, "top", "3", "x.bpf.o", "y"), -1);
	cr_expect_str_eq(c.err, "unknown keyword 'x.bpf.o': it takes file, top, colour or even");
}

Test(args, the_forms_before_keywords_say_how_they_are_written)
{
	struct cmd_args c;

	cr_expect_eq(parse(&c, 2, "--top", "3"), -1);
	cr_expect_str_eq(c.err, "'--top' is written 'top' (keywords take no dashes)");
	cr_expect_eq(parse(&c, 1, "colour=red"), -1);
	cr_expect_str_eq(c.err, "'colour=red' is written 'colour red'");
	/* Not a keyword behind the dashes or before '=': just unknown. */
	cr_expect_eq(parse(&c, 2, "--size", "3"), -1);
	cr_expect(strstr(c.err, "unknown keyword '--size'"), "%s", c.err);
	cr_expect_eq(parse(&c, 1, "size=3"), -1);
	cr_expect(strstr(c.err, "unknown keyword 'size=3'"), "%s", c.err);
	cr_expect_eq(parse(&c, 1, "-t"), -1);
	cr_expect(strstr(c.err, "unknown keyword '-t'"), "%s", c.err);
}

Test(args, missing_value)
{
	struct cmd_args c;

	cr_expect_eq(parse(&c, 1, "top"), -1);
	cr_expect_str_eq(c.err, "'top' needs a value");
	cr_expect_eq(parse(&c, 3, "colour", "red", "file"), -1);
	cr_expect_str_eq(c.err, "'file' needs a value");
}

Test(args, repeated_keyword)
{
	struct cmd_args c;

	cr_expect_eq(parse(&c, 4, "top", "3", "top", "3"), -1);
	cr_expect_str_eq(c.err, "'top' given twice");
	cr_expect_eq(parse(&c, 6, "file", "a", "top", "1", "file", "b"), -1);
	cr_expect_str_eq(c.err, "'file' given twice");
	/* Twice without a value the second time: it is the repeat that is said. */
	cr_expect_eq(parse(&c, 3, "top", "3", "top"), -1);
	cr_expect_str_eq(c.err, "'top' given twice");
}

Test(args, bad_numbers)
{
	static const char *const bad[] = {
		"0", "101", "-1", "+5", " 5", "5 ", "5x", "0x10", "", "1e3",
		"18446744073709551616", "99999999999999999999999",
	};
	struct cmd_args c;
	char want[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse(&c, 2, "top", bad[i]), -1, "top '%s' was taken", bad[i]);
		snprintf(want, sizeof(want), "top: '%s' is not a number from 1 to 100", bad[i]);
		cr_expect_str_eq(c.err, want);
		cr_expect_eq(c.top, 0, "top '%s' was stored", bad[i]);
	}
	cr_expect_eq(parse(&c, 2, "top", "007"), 0);
	cr_expect_eq(c.top, 7);
}

Test(args, bad_choice_lists_the_choices)
{
	struct cmd_args c;

	cr_expect_eq(parse(&c, 2, "colour", "Red"), -1);
	cr_expect_str_eq(c.err, "colour: 'Red' is none of red, green, blue");
	cr_expect_eq(parse(&c, 2, "colour", ""), -1);
	cr_expect_eq(c.colour, -1);
	cr_expect_eq(parse(&c, 2, "colour", "green"), 0);
	cr_expect_eq(c.colour, 1);
}

Test(args, a_parser_of_its_own_says_why)
{
	struct cmd_args c;

	cr_expect_eq(parse(&c, 2, "even", "abc"), -1);
	cr_expect_str_eq(c.err, "even: 'abc' has an odd length");
	/* One that says nothing: the message still names the value. */
	c.args[3].parse = parse_never;
	cr_expect_eq(args_parse_msg(c.args, 4, 2, (char *[]){ "even", "ab", NULL }, c.err,
				    sizeof(c.err)), -1);
	cr_expect_str_eq(c.err, "even: 'ab' is not a valid value");
}

Test(args, a_command_without_keywords)
{
	char err[256];

	cr_expect_eq(args_parse_msg(NULL, 0, 0, (char *[]){ NULL }, err, sizeof(err)), 0);
	cr_expect_eq(args_parse_msg(NULL, 0, 1, (char *[]){ "now", NULL }, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "unexpected 'now': it takes no arguments");
}

Test(args, a_long_list_of_keywords_is_cut_not_overrun)
{
	struct arg many[40];
	char err[64], word[40][8];

	for (int i = 0; i < 40; i++) {
		snprintf(word[i], sizeof(word[i]), "kw%d", i);
		many[i] = (struct arg){ .keyword = word[i], .parse = args_string };
	}
	cr_expect_eq(args_parse_msg(many, 40, 1, (char *[]){ "x", NULL }, err, sizeof(err)), -1);
	cr_expect_eq(strlen(err), sizeof(err) - 1);
	cr_expect(!strncmp(err, "unknown keyword 'x': it takes kw0, kw1", 38), "%s", err);
}

/* As the objects report it: one line on stderr, exit status 2. */
Test(args, usage_error_names_object_and_command, .init = cr_redirect_stderr)
{
	unsigned long top = 0;
	struct arg args[] = { { .keyword = "top", .parse = args_count, .dest = &top, .max = 9 } };

	cr_expect_eq(args_parse("stats", "show", args, 1, 2, (char *[]){ "top", "10", NULL }),
		     EXIT_USAGE);
	cr_expect_eq(args_parse("status", NULL, NULL, 0, 1, (char *[]){ "x", NULL }), EXIT_USAGE);
	fflush(stderr);
	cr_expect_stderr_eq_str(
		"ksmctl: stats show: top: '10' is not a number from 1 to 9 (see 'ksmctl stats help')\n"
		"ksmctl: status: unexpected 'x': it takes no arguments (see 'ksmctl status help')\n");
}

/* With --json, the error is {"error": ...} on stdout and nothing on stderr. */
Test(args, usage_error_is_json_with_json, .init = cr_redirect_stdout)
{
	struct arg args[] = { { .keyword = "map", .parse = args_string } };

	json_output = true;
	cr_expect_eq(args_parse("policy", "load", args, 1, 1, (char *[]){ "map", NULL }),
		     EXIT_USAGE);
	json_output = false;
	fflush(stdout);
	cr_expect_stdout_eq_str(
		"{\"error\":\"policy load: 'map' needs a value (see 'ksmctl policy help')\"}\n");
}
