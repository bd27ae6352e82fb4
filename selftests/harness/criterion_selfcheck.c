// SPDX-License-Identifier: GPL-2.0
/*
 * A Criterion program for the harness's self-checks (run_tests.py
 * check_harness()): one test passes, one skips, one fails. With
 * SELFCHECK_EXIT=N the program exits N whatever its tests did.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

Test(selfcheck, passes)
{
	cr_assert(1);
}

Test(selfcheck, skips)
{
	cr_skip_test("skipped on purpose");
}

Test(selfcheck, fails)
{
	cr_assert(0, "fails on purpose");
}

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	const char *forced = getenv("SELFCHECK_EXIT");
	int result = 0;

	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return forced ? atoi(forced) : result;
}
