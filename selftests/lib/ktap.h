/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal KTAP (Documentation/dev-tools/ktap.rst) output for guest tests: each
 * program is one suite of named cases, run by ktap_run() in order.
 */
#ifndef KTAP_H
#define KTAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum ktap_result { KTAP_PASS, KTAP_FAIL, KTAP_SKIP };

struct ktap_case {
	const char *name;
	enum ktap_result (*run)(void);
};

/* A diagnostic line; shown by the harness when a case fails. */
static inline void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Fail the current case with a reason when @cond does not hold. */
#define KTAP_EXPECT(cond, fmt, ...)                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			ktap_diag("%s:%d: expected %s: " fmt, __FILE__,      \
				  __LINE__, #cond, ##__VA_ARGS__);           \
			result = KTAP_FAIL;                                  \
			goto out;                                            \
		}                                                            \
	} while (0)

static inline int ktap_run(const struct ktap_case *cases, int n)
{
	int i, failed = 0;

	printf("KTAP version 1\n1..%d\n", n);
	fflush(stdout);
	for (i = 0; i < n; i++) {
		struct timespec t0, t1;
		enum ktap_result r;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = cases[i].run();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ktap_diag("%s took %ld ms", cases[i].name,
			  (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);

		printf("%s %d %s%s\n", r == KTAP_FAIL ? "not ok" : "ok", i + 1,
		       cases[i].name, r == KTAP_SKIP ? " # SKIP" : "");
		fflush(stdout);
		failed += r == KTAP_FAIL;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#define KTAP_CASE(fn) { #fn, fn }
#define KTAP_MAIN(cases)                                                     \
	int main(void)                                                       \
	{                                                                    \
		return ktap_run(cases, sizeof(cases) / sizeof(cases[0]));    \
	}

#endif /* KTAP_H */
