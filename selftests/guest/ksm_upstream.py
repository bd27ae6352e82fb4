#!/usr/bin/env python3
"""The kernel's own KSM selftests under every shipped policy, in the guest.

tools/testing/selftests/mm/ksm_functional_tests and ksm_tests of the same 6.12
source (built by 'make selftests' into build/selftests/upstream, with the test
the series adds to ksm_functional_tests and the fixes of selftests/upstream/)
run on the patched kernel with no policy, then with each
policy of bpf/ loaded by ksmctl: one KTAP case per policy and program run. A
policy is loaded once for all the programs, as it would stay loaded on a host:
what it learned in one program (idle processes, a slower pace) meets the next.

A policy may legitimately refuse what an upstream test demands: REFUSED names
each such (policy, test), why, and the words the test's failure must show. Such
a test must fail, and for that reason: if it passes, or fails otherwise, the
case fails (the list is then out of date, or the policy broke something else).
Every other upstream test must pass; a skip is not a pass.
"""
import os
import re
import sys

# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import (BPF, KSM, KTAP_RESULT, SHIPPED_POLICIES, SLOWDOWN, TOP,  # noqa: E402
                       clean_slate, expect, ksmctl, policy_name, read, run_cases,
                       run_kselftest, write)

UPSTREAM = os.path.join(TOP, "build", "selftests", "upstream")
# Seconds per upstream program; ksm_functional_tests waits for scans forever.
TIMEOUT = 300 * SLOWDOWN

POLICIES = ["none", *SHIPPED_POLICIES]

# ksm_functional_tests: one program, these tests in this order (it has userfaultfd).
# test_cow_counts is the series' (kernel/patches), in upstream's file.
FUNCTIONAL = ["test_unmerge", "test_unmerge_zero_pages", "test_cow_counts",
              "test_unmerge_discarded",
              "test_unmerge_uffd_wp", "test_prot_none", "test_prctl", "test_prctl_fork",
              "test_prctl_fork_exec", "test_prctl_unmerge"]

# ksm_tests: one test per run, with options that finish in seconds under TCG
# (run_vmtests.sh uses -s 100). Left out: -N needs two NUMA nodes; -U writes its
# two merged pages and waits for one full scan before it wants no ksm page left,
# but that scan may be the one already past the pages when they were written (a
# race of the test, seen with no policy; ksm_functional_tests covers unmerging).
KSM_TESTS = [
    ("merge", ["-M", "-p", "10"]),
    ("zero_page_merge", ["-Z", "-p", "10", "-z", "0"]),
    ("zero_page_merge_use_zero_pages", ["-Z", "-p", "10", "-z", "1"]),
    ("merge_time", ["-P", "-s", "4"]),
    ("merge_time_huge_pages", ["-H", "-s", "4"]),
    ("cow_time", ["-C"]),
]

ZERO_ONLY = ("zero_only merges only zero-filled pages; this test's pages are filled "
             "with 0xcf or '*' and must merge")
NO_MERGE = "No pages got merged"
# (policy, upstream test) -> (what the failing test prints, why the policy refuses it).
REFUSED = {
    ("zero_only", "test_unmerge"): (NO_MERGE, ZERO_ONLY),
    ("zero_only", "test_cow_counts"): (NO_MERGE, ZERO_ONLY),
    ("zero_only", "test_unmerge_discarded"): (NO_MERGE, ZERO_ONLY),
    ("zero_only", "test_unmerge_uffd_wp"): (NO_MERGE, ZERO_ONLY),
    ("zero_only", "test_prot_none"): (NO_MERGE, ZERO_ONLY),
    ("zero_only", "test_prctl_fork"): (NO_MERGE, ZERO_ONLY + " (in the forked child)"),
    ("zero_only", "test_prctl_fork_exec"): (NO_MERGE, ZERO_ONLY + " (in the exec'd child)"),
    ("zero_only", "test_prctl_unmerge"): (NO_MERGE, ZERO_ONLY),
    ("zero_only", "merge"): ("not ok 1 KSM merging", ZERO_ONLY),
}
# Upstream tests that pass under zero_only only because they do not check that
# anything merged: the time tests (they wait for two full scans and measure).

def run_upstream(argv):
    """Run an upstream program in its directory (the fork+exec test execs
    ./ksm_functional_tests); its status and output."""
    return run_kselftest(argv, UPSTREAM, TIMEOUT)


def split_functional(out):
    """ksm_functional_tests' output per test: name -> (result, its lines). Its
    failure messages lack a newline, so a "# [RUN]" may follow on the same line."""
    tests, current = {}, None
    for line in out.replace("# [RUN]", "\n# [RUN]").splitlines():
        m = re.match(r"^# \[RUN\] (\w+)", line)
        if m:
            current = m.group(1)
            tests[current] = [None, []]
            continue
        if current is None:
            continue
        tests[current][1].append(line)
        m = KTAP_RESULT.match(line)
        if m and tests[current][0] is None:
            tests[current][0] = "skip" if "# SKIP" in line else m.group(1)
    return {name: (res, lines) for name, (res, lines) in tests.items()}


def judge(policy, test, result, lines):
    """One upstream test's result against what is expected under @policy; a
    line for the log, and whether it is as expected."""
    text = "\n".join(lines)
    refused = REFUSED.get((policy, test))
    if refused:
        words, why = refused
        if result == "not ok" and words in text:
            return f"{test}: fails as expected under {policy}: {why}", True
        return (f"{test}: expected to fail under {policy} ('{words}': {why}), "
                f"got {result or 'no result'}: {text[-400:]!r}"), False
    if result == "ok":
        return f"{test}: ok", True
    return f"{test}: {result or 'no result'}: {text[-600:]!r}", False


def with_policy(policy, body):
    """@body() with @policy attached all along (the kernel's view), none for "none".
    The first case of a policy loads it; the next ones find it still attached."""
    if policy_name() != policy:
        clean_slate()
        if policy != "none":
            ksmctl("policy", "load", f"{BPF}/{policy}.bpf.o")
    expect(policy_name() == policy, f"policy {policy_name()} attached, wanted {policy}")
    body()
    # Ejected half-way (the kernel's watchdog, an error): the run proves nothing.
    expect(policy_name() == policy, f"the policy was {policy_name()} after the run, wanted "
           f"{policy} (policy_exit: {read(f'{KSM}/policy_exit')})")


def reset_knobs():
    """Between cases: the knobs as clean_slate() leaves them (the upstream programs
    change some and leave use_zero_pages set), the policy left attached."""
    for knob, value in (("smart_scan", 0), ("use_zero_pages", 0), ("pages_to_scan", 4096),
                        ("sleep_millisecs", 10), ("run", 1)):
        write(f"{KSM}/{knob}", value)


def functional_case(policy):
    def body():
        status, out = run_upstream(["./ksm_functional_tests"])
        tests = split_functional(out)
        expect(list(tests) == FUNCTIONAL, f"tests run: {list(tests)}\n{out[-1500:]}")
        bad = []
        for name in FUNCTIONAL:
            line, ok = judge(policy, name, *tests[name])
            print(f"# {line}", flush=True)
            bad += [] if ok else [name]
        expect(not bad, f"not as expected under {policy}: {', '.join(bad)}")
        failed = sum(tests[n][0] != "ok" for n in FUNCTIONAL)
        expect((status == 0) == (failed == 0), f"exit status {status} with {failed} failed")

    def case():
        with_policy(policy, body)
    case.__name__ = f"case_{policy}_ksm_functional_tests"
    return case


def ksm_tests_case(policy, name, args):
    def body():
        status, out = run_upstream(["./ksm_tests"] + args)
        results = [KTAP_RESULT.match(line) for line in out.splitlines()]
        results = [m for m in results if m]
        result = None
        if len(results) == 1:
            result = "skip" if "# SKIP" in results[0].group(0) else results[0].group(1)
        line, ok = judge(policy, name, result, out.splitlines())
        took = re.findall(r"Total time: +([0-9.]+ s)", out)
        print(f"# ksm_tests {' '.join(args)}: {line}{' in ' + took[0] if took else ''}",
              flush=True)
        expect(ok, f"ksm_tests {' '.join(args)} not as expected under {policy}")
        expect((status == 0) == (result == "ok"), f"exit status {status} with {result}")

    def case():
        with_policy(policy, body)
    case.__name__ = f"case_{policy}_ksm_tests_{name}"
    return case


CASES = []
for _policy in POLICIES:
    CASES.append(functional_case(_policy))
    CASES += [ksm_tests_case(_policy, n, a) for n, a in KSM_TESTS]


if __name__ == "__main__":
    status = run_cases(CASES, reset=reset_knobs)
    if policy_name() != "none":
        ksmctl("policy", "unload", check=False)
    ksmctl("stats", "disable", check=False)
    sys.exit(status)
