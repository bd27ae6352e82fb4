#!/usr/bin/env python3
"""The kernel selftests the series adds, in the guest.

tools/testing/selftests/mm/ksm_cgroup_tests, which the series adds (built by
'make selftests' into build/selftests/series from kernel/patches, next to
upstream's KSM selftests: see KSELFTEST_SERIES_FILES in scripts/kernel.sh), runs
once with no policy attached. It prints KTAP; each of its tests is one case
here and must say ok: a skip is not a pass, and a test missing from its output
fails its case, so a patched kernel without the files, or a program that
stops early, cannot pass. One more case checks how it ended: its plan, its
totals, its exit status, the KSM knobs as it found them and none of its
cgroups left.

On the baseline kernel (KSM_KERNEL_VARIANT=baseline) the program must skip
as a whole, saying why, and change nothing.
"""
import glob
import os
import re
import sys

# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import (CGROUP, KTAP_RESULT, TOP, clean_slate, expect,  # noqa: E402
                       expect_nothing_left, kselftest_case, run_cases, run_kselftest_once)

SERIES = os.path.join(TOP, "build", "selftests", "series")
PROGRAM = "ksm_cgroup_tests"
TIMEOUT = 400	# seconds; it bounds each of its waits by ksmd's full scans and time

# Its tests, in order: (case name, the description it prints).
TESTS = [
    ("on_merges", "ksm_merge on in an ancestor merges processes that did not ask"),
    ("off_wins", "ksm_merge off wins over on: processes that asked merge nothing"),
    ("off_unmerges", "ksm_merge off unmerges what was merged"),
    ("domains_apart", "different ksm_domain: pages merge in each cgroup, never across"),
    ("domain_named", "the same ksm_domain name: pages merge across the cgroups"),
    ("cow", "data intact after merge and after a COW write"),
    ("max_pages", "ksm_max_pages caps the merged pages at exactly the cap"),
    ("fork_shared_parent_moved",
     "a parent that never asked is unmerged when moved to another domain"),
    ("fork_shared_parent_off", "pages shared by fork with a parent in 'off' merge the other way"),
]
SKIP_ON_BASELINE = "1..0 # SKIP no memory.ksm_merge"

VARIANT = os.environ.get("KSM_KERNEL_VARIANT", "")

_run = {}


def leftovers():
    return glob.glob(f"{CGROUP}/{PROGRAM}.*")


def run():
    """Run the program once (the first case that asks); what it did."""
    r = run_kselftest_once(_run, [os.path.join(SERIES, PROGRAM)], SERIES, TIMEOUT, leftovers)
    if "results" not in r:
        r["results"] = {}
        for line in r["out"].splitlines():
            m = KTAP_RESULT.match(line)
            if m:
                r["results"][m.group(3)] = "skip" if "# SKIP" in line else m.group(1)
    return r


def case_ended_clean():
    r = run()
    expect(f"1..{len(TESTS)}" in r["out"].splitlines(), f"no plan 1..{len(TESTS)}")
    unknown = set(r["results"]) - {d for _, d in TESTS}
    expect(not unknown, f"tests not listed here: {sorted(unknown)}")
    expect(re.search(rf"^# Totals: pass:{len(TESTS)} fail:0 xfail:0 xpass:0 skip:0 error:0$",
                     r["out"], re.M), "totals not all passed")
    expect(r["status"] == 0, f"exit status {r['status']}")
    expect_nothing_left(r)


def case_skips_without_the_series():
    r = run()
    expect(r["status"] == 4, f"exit status {r['status']}, not 4 (KSFT_SKIP)")
    expect(SKIP_ON_BASELINE in r["out"], f"no '{SKIP_ON_BASELINE}' in its output")
    expect_nothing_left(r)


if __name__ == "__main__":
    clean_slate()
    if VARIANT == "baseline":
        CASES = [case_skips_without_the_series]
    else:
        CASES = [kselftest_case(run, n, d, "ok") for n, d in TESTS] + [case_ended_clean]
    sys.exit(run_cases(CASES))
