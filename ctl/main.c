// SPDX-License-Identifier: GPL-2.0
/*
 * ksmctl: control and observe KSM and its BPF policies.
 *
 *   ksmctl [OPTIONS] OBJECT COMMAND [KEYWORD VALUE]...
 *
 * Options and the object table; one file per object, shared helpers in common.c,
 * keyword arguments in args.c.
 */
#include <bpf/libbpf.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "ksmctl.h"

/* libbpf's messages, the verifier's log among them, only with --debug. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return debug_output ? vfprintf(stderr, fmt, ap) : 0;
}

static void main_help(void)
{
	fprintf(stderr,
		"Usage: ksmctl [OPTIONS] OBJECT { COMMAND [KEYWORD VALUE]... | help }\n"
		"\n"
		"       OBJECT := { policy | stats | knob | cgroup | estimate | status }\n"
		"       OPTIONS := { -j|--json | -p|--pretty | -d|--debug | -h|--help |\n"
		"                    -V|--version }\n"
		"\n"
		"       ksmctl OBJECT help   the commands of OBJECT and their keywords\n"
		"       (as bpftool: ksmctl stats top 5 sort merged)\n");
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	main_help();
	return EXIT_OK;
}

static const struct cmd objects[] = {
	{ "help", do_help },
	{ "policy", do_policy },
	{ "stats", do_stats },
	{ "knob", do_knob },
	{ "status", do_status },
	{ "cgroup", do_cgroup },
	{ "estimate", do_estimate },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	/* Options end at the object: the rest belongs to its command. */
	opterr = 0;	/* an unknown option is one line of ours, not getopt's and the usage */
	while ((opt = getopt_long(argc, argv, "+jpdhV", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json_output = true;
			break;
		case 'p':
			json_output = pretty_output = true;
			break;
		case 'd':
			debug_output = true;
			break;
		case 'h':
			main_help();
			return EXIT_OK;
		case 'V':
			if (json_output) {
				json_object *o = json_object_new_object();

				json_object_object_add(o, "version",
						       json_object_new_string(KSMCTL_VERSION));
				json_print(o);
			} else {
				printf("ksmctl %s\n", KSMCTL_VERSION);
			}
			return EXIT_OK;
		default:
			/* -j before a bad option still asks for a JSON error. */
			if (strncmp(argv[optind - 1], "--", 2))
				return usage_error(NULL, "unknown option '-%c'", optopt);
			if (strchr(argv[optind - 1], '=') && optopt)
				return usage_error(NULL, "option '%.*s' takes no value",
						   (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
			return usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	libbpf_set_print(libbpf_print);
	if (argc < 1) {
		main_help();
		return EXIT_USAGE;
	}
	return cmd_select(objects, NULL, argc, argv);
}
