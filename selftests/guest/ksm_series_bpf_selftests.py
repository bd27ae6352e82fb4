#!/usr/bin/env python3
"""The BPF selftest the series adds, in the guest.

tools/testing/selftests/bpf/prog_tests/ksm_policy.c, which the series adds,
built into the kernel's own runner test_progs with no other test ('make
selftests' into build/selftests/series from kernel/patches: see
BPF_KSELFTEST_SERIES_FILES in scripts/kernel.sh), runs once with no policy
attached. Each of its subtests is one case here and must say OK: a skip is
not a pass, and a subtest missing from its output fails its case, so a
patched kernel without the files, or a runner that stops early, cannot
pass. One more case checks how it ended: its summary, its exit status, the
KSM knobs as it found them, no policy attached and none of its cgroups left.

On the baseline kernel (KSM_KERNEL_VARIANT=baseline) the test must skip as
a whole, saying why, and change nothing.
"""
import glob
import os
import re
import sys

# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import (CGROUP, TOP, clean_slate, expect,  # noqa: E402
                       expect_nothing_left, kselftest_case, run_cases, run_kselftest_once)

SERIES = os.path.join(TOP, "build", "selftests", "series")
PROGRAM = "test_progs"
TEST = "ksm_policy"
TIMEOUT = 400	# seconds; each wait of the test is bounded by 60 s

# Its subtests, in order; each is a case of the same name.
SUBTESTS = [
    "global_link",
    "attach_without_link",
    "cgroup_link",
    "cgroup_link_not_supported",
    "invalid_verdict_ejects",
    "invalid_vma_verdict_ejects",
    "policy_error_ejects",
    "failing_init_refuses",
    "hooks_called_while_merging",
    "stable_only_on_first_sight",
    "smart_scan_first",
    "trusted_merge_skips_checksum",
    "vma_left_to_upstream",
    "vma_verdict_stable",
    "vma_verdict_stable_only",
    "skip_keeps_pages_apart",
    "domain_change",
    "fork_into_another_domain",
    "swap_into_another_domain",
]
SKIP_REASON = "no /sys/kernel/mm/ksm/policy: a kernel without ksm_policy_ops"

# test_progs' result lines: "#1/2     ksm_policy/attach_without_link:OK", "#1       ksm_policy:OK".
SUBTEST_RESULT = re.compile(rf"^#\d+/\d+\s+{TEST}/(\S+):(OK|FAIL|SKIP)$")
TEST_RESULT = re.compile(rf"^#\d+\s+{TEST}:(OK|FAIL|SKIP)$")

VARIANT = os.environ.get("KSM_KERNEL_VARIANT", "")

_run = {}


def leftovers():
    return glob.glob(f"{CGROUP}/cgroup-test-work-dir*")


def run():
    """Run the program once (the first case that asks); what it did."""
    r = run_kselftest_once(_run, [os.path.join(SERIES, PROGRAM), "-v", "-t", TEST],
                           SERIES, TIMEOUT, leftovers)
    if "results" not in r:
        r["results"], r["overall"] = {}, []
        for line in r["out"].splitlines():
            m = SUBTEST_RESULT.match(line)
            if m:
                r["results"][m.group(1)] = m.group(2)
            m = TEST_RESULT.match(line)
            if m:
                r["overall"].append(m.group(1))
    return r


def case_ended_clean():
    r = run()
    unknown = set(r["results"]) - set(SUBTESTS)
    expect(not unknown, f"subtests not listed here: {sorted(unknown)}")
    expect(r["overall"] == ["OK"], f"{TEST}: {r['overall']}")
    summary = f"Summary: 1/{len(SUBTESTS)} PASSED, 0 SKIPPED, 0 FAILED"
    expect(summary in r["out"].splitlines(), f"no '{summary}'")
    expect(r["status"] == 0, f"exit status {r['status']}")
    expect(r["policy"] == "none", f"policy {r['policy']} left attached")
    expect_nothing_left(r)


def case_skips_without_the_series():
    r = run()
    expect(r["status"] == 0, f"exit status {r['status']}")
    expect(r["overall"] == ["SKIP"], f"{TEST}: {r['overall']}, not SKIP")
    expect(not r["results"], f"subtests ran: {r['results']}")
    expect(SKIP_REASON in r["out"], f"no '{SKIP_REASON}' in its output")
    expect(re.search(r"^Summary: \d+/0 PASSED, 1 SKIPPED, 0 FAILED$", r["out"], re.M),
           "no summary of one skipped test")
    expect_nothing_left(r)


if __name__ == "__main__":
    clean_slate()
    if VARIANT == "baseline":
        CASES = [case_skips_without_the_series]
    else:
        CASES = [kselftest_case(run, s, s, "OK") for s in SUBTESTS] + [case_ended_clean]
    sys.exit(run_cases(CASES))
