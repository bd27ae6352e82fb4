#!/usr/bin/env python3
"""Run every test: Criterion unit tests on the host, then the guest tests in one
boot of the kernel, and end with one line "N passed, M failed".

    run_tests.py [--unit-only | --guest-only] [--variant V] [--fuzz-seconds N] [TEST ...]

The guest tests are the programs build/selftests/guest/ksm_*; each prints KTAP.
Every case its plan (1..N) announces and that never reports (the program
crashed or hung, or the guest died) fails, one by one; so does a program that
exits non-zero though every case it reported said ok. A report in the guest's
kernel log fails the run as one more case, "guest_kernel_log_clean". Two more
cases check that the VM runner does catch a kernel report and a panicked guest.

A skipped Criterion test is reported and is not a pass: it fails unless
ALLOWED_SKIPS allows it. Self-checks of the harness ("harness_*") run its
parsing on real Criterion and KTAP output with those faults.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import vm  # noqa: E402

BUILD = os.path.join(TOP, "build", "selftests")

def guest_tests():
    """Every guest test program the Makefile built (named ksm_*)."""
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(BUILD, "guest", "ksm_*")))

CRITERION_SYNTHESIS = re.compile(
    r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
CRITERION_SKIP = re.compile(r"^\[SKIP\] (\S+): (.*)$", re.M)
CRITERION_FAIL = re.compile(r"^\[FAIL\] (\S+):", re.M)

# Criterion tests that may skip, and only when not run as root: (program,
# suite::test) -> why. Any other skip counts as a failure.
ALLOWED_SKIPS = {
    ("test_ksmctl", "knob::set_writes_all"): "writing knobs needs root",
    ("test_ksmctl", "knob::set_restores_what_it_wrote_when_the_kernel_refuses"):
        "writing knobs needs root",
    ("test_ksmctl", "cgroup::effective_cap"): "setting a cgroup needs root",
    ("test_ksmctl", "policy::load_names_what_the_file_is"): "policy load needs root",
}


def skip_allowed(program, test):
    return os.geteuid() != 0 and (program, test) in ALLOWED_SKIPS
KTAP_PLAN = re.compile(r"^1\.\.(\d+)$")
KTAP_RESULT = re.compile(r"^(not ok|ok) (\d+) (\S+)(.*)$")
MARK_BEGIN = re.compile(r"^# ksm-bpf: begin (\S+)$")
MARK_END = re.compile(r"^# ksm-bpf: end (\S+) status=(\d+)$")


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = []
        self.skipped = []

    def add(self, name, ok, skipped=False):
        if skipped:
            self.skipped.append(name)
        elif ok:
            self.passed += 1
        else:
            self.failed.append(name)


def run_unit_tests(tally):
    tests = sorted(glob.glob(os.path.join(BUILD, "unit", "test_*")))
    if not tests:
        sys.exit("run_tests.py: no unit tests built; run 'make selftests'")
    for t in tests:
        name = os.path.basename(t)
        proc = subprocess.run([t, "--verbose=0"], capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        sys.stdout.write(out)
        parse_criterion(name, out, proc.returncode, tally)


def parse_criterion(name, out, status, tally, allowed=skip_allowed):
    """Count the tests of one Criterion program from its output and exit status."""
    m = CRITERION_SYNTHESIS.search(out)
    if not m:
        tally.add(f"unit/{name}/(no synthesis, status {status})", False)
        return
    tested, passing, failing, crashing = map(int, m.groups())
    tally.passed += passing
    failed = CRITERION_FAIL.findall(out)
    failed += ["(failed)"] * (failing + crashing - len(failed))
    tally.failed += [f"unit/{name}/{t}" for t in failed]
    # Criterion counts a skipped test nowhere in its synthesis.
    for test, why in CRITERION_SKIP.findall(out):
        if allowed(name, test):
            tally.add(f"unit/{name}/{test}", True, skipped=True)
        else:
            print(f"# unit/{name}: {test} was skipped ({why.strip()}): not a pass")
            tally.add(f"unit/{name}/{test} (skipped)", False)
    if status != 0 and not failed:
        tally.add(f"unit/{name}/(exit status {status}, yet no test failed)", False)


def check_docs(tally):
    """The man page renders without warnings; the completion script parses."""
    man = os.path.join(TOP, "docs", "ksmctl.8")
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", man], capture_output=True,
                       text=True)
    sys.stdout.write(p.stderr)
    tally.add("docs/ksmctl.8_renders_cleanly", p.returncode == 0 and not p.stderr)
    p = subprocess.run(["bash", "-n", os.path.join(TOP, "ctl", "ksmctl.bash-completion")],
                       capture_output=True, text=True)
    sys.stdout.write(p.stderr)
    tally.add("ctl/ksmctl.bash-completion_parses", p.returncode == 0)


def knob_lists():
    """The writable knobs as ksmctl (ctl/knob.c), its completion and its man page
    list them."""
    with open(os.path.join(TOP, "ctl", "knob.c")) as f:
        c = re.findall(r'^\t\{ "([a-z_]+)", KNOB_', f.read(), re.M)
    with open(os.path.join(TOP, "ctl", "ksmctl.bash-completion")) as f:
        m = re.search(r"_ksmctl_writable_knobs='([^']*)'", f.read())
        completion = m.group(1).split() if m else []
    with open(os.path.join(TOP, "docs", "ksmctl.8")) as f:
        text = f.read()
    start = text.index("The writable knobs and the values they take:")
    section = text[start:text.index(".RE", start)]
    man = []
    for tp in re.findall(r"^\.TP\n(\.BR? .*)$", section, re.M):
        man += [w for w in re.findall(r"[a-z_\\-]+", tp.split(None, 1)[1].replace("\\-", "-"))
                if "_" in w or w == "run"]
    return c, completion, man


def check_knob_lists(tally):
    """One knob list: ksmctl's, its completion's and its man page's are the same."""
    c, completion, man = knob_lists()
    ok = bool(c) and c == completion and sorted(c) == sorted(man)
    if not ok:
        print(f"# knobs: ctl/knob.c {c}\n#  completion {completion}\n#  man page {man}")
    tally.add("knob_lists_agree", ok)


def check_setup_script(tally):
    """scripts/setup.sh on made-up machines (selftests/setup/test_setup.sh, KTAP):
    each case, and every case of its plan, counted."""
    p = subprocess.run(["bash", os.path.join(TOP, "selftests", "setup", "test_setup.sh")],
                       capture_output=True, text=True)
    sys.stdout.write(p.stdout + p.stderr)
    plan, seen = 0, 0
    for line in p.stdout.splitlines():
        m = KTAP_PLAN.match(line)
        if m:
            plan = int(m.group(1))
        m = KTAP_RESULT.match(line)
        if m:
            seen += 1
            tally.add(f"setup/{m.group(3)}", m.group(1) == "ok")
    if not plan or seen != plan:
        tally.add(f"setup/(plan {plan}, {seen} reported)", False)
    elif p.returncode:
        tally.add(f"setup/(exit status {p.returncode}, yet no case failed)", False)


def check_fuzz(tally, seconds):
    """libFuzzer over ksmctl's parsers (selftests/fuzz/) for @seconds (0: the
    corpus replayed once); a crash, a sanitizer report or a broken promise of
    the target fails, with the input saved as build/fuzz/crash-*."""
    fuzzer = os.path.join(BUILD, "fuzz", "fuzz_ksmctl")
    name = f"fuzz_ksmctl_{seconds}s" if seconds else "fuzz_ksmctl_corpus"
    if not os.path.exists(fuzzer):
        tally.add(f"{name} (not built: run 'make selftests')", False)
        return
    p = subprocess.run(["bash", os.path.join(TOP, "selftests", "fuzz", "run.sh"), fuzzer,
                        str(seconds)], capture_output=True, text=True)
    lines = p.stderr.splitlines()
    if p.returncode:
        sys.stdout.write("\n".join(lines[-60:]) + "\n")
    runs = [l for l in lines if l.startswith("stat::number_of_executed_units")]
    print(f"# {name}: status {p.returncode}, {runs[0].split()[-1] if runs else '?'} inputs run")
    tally.add(name, p.returncode == 0)


def check_vmlinux_btf_checker(tally):
    """scripts/check_vmlinux_btf.py passes what it must and catches what it must:
    ___N copies are no difference, a changed series type or a wrong kfunc
    prototype is, and each is named."""
    script = os.path.join(TOP, "scripts", "check_vmlinux_btf.py")
    bpftool = os.path.join(TOP, "build", "tools", "bin", "bpftool")
    vmlinux = os.path.join(TOP, "build", "kernel-patched", "vmlinux")
    names = ["vmlinux_btf_check_tolerates_dedup_copies",
             "vmlinux_btf_check_names_a_changed_type",
             "vmlinux_btf_check_names_a_wrong_kfunc"]
    if not (os.path.exists(bpftool) and os.path.exists(vmlinux)):
        for n in names:
            tally.add(n, False, skipped=True)
        return
    with open(os.path.join(TOP, "vmlinux-btf", "vmlinux.h")) as f:
        header = f.read()
    sources = sorted(glob.glob(os.path.join(TOP, "bpf", "*.bpf.c")) +
                     glob.glob(os.path.join(TOP, "include", "*.h")))

    def check(text, extra_source=None):
        with tempfile.TemporaryDirectory() as d:
            h = os.path.join(d, "vmlinux.h")
            with open(h, "w") as f:
                f.write(text)
            srcs = list(sources)
            if extra_source:
                srcs.append(os.path.join(d, "extra.bpf.c"))
                with open(srcs[-1], "w") as f:
                    f.write(extra_source)
            p = subprocess.run([sys.executable, script, bpftool, vmlinux, h, *srcs],
                               capture_output=True, text=True)
            return p.returncode, p.stdout + p.stderr

    status, out = check(header.replace("struct mm_struct ", "struct mm_struct___2 "))
    tally.add(names[0], status == 0 and "match the kernel" in out)
    status, out = check(header.replace("(*scan_mm)(", "(*scan_mm_renamed)(", 1))
    tally.add(names[1], status == 1 and "struct ksm_policy_ops: defined differently" in out)
    status, out = check(header, "extern u64 bpf_ksm_mm_tgid(struct mm_struct *mm) __ksym;\n")
    tally.add(names[2], status == 1 and "kfunc bpf_ksm_mm_tgid: declared u64" in out)


def check_harness(tally):
    """The harness's own counting, on real output with the faults it must catch.

    Criterion: a program with a passing, a skipped and a failing test, and the
    same program exiting non-zero after a passing test. KTAP: programs run by
    guest-tests.sh (here on the host: it is only a loop) that exit non-zero
    with every case ok, report fewer cases than their plan, or die with the
    loop as a guest that dies would.
    """
    prog = os.path.join(BUILD, "harness", "criterion_selfcheck")
    names = ["harness_criterion_skip_is_not_a_pass",
             "harness_criterion_allowed_skip_is_reported",
             "harness_criterion_nonzero_exit_fails",
             "harness_ktap_nonzero_exit_with_all_ok_fails",
             "harness_ktap_cases_that_never_ran_fail",
             "harness_ktap_cut_off_program_fails_each_case"]
    if not os.path.exists(prog):
        for n in names:
            tally.add(n, False)
        return

    def criterion(allowed, env=None, args=()):
        p = subprocess.run([prog, "--verbose=0", *args], capture_output=True, text=True,
                           env=dict(os.environ, **(env or {})))
        t = Tally()
        with open(os.devnull, "w") as quiet:
            saved, sys.stdout = sys.stdout, quiet
            try:
                parse_criterion("criterion_selfcheck", p.stdout + p.stderr, p.returncode, t,
                                allowed)
            finally:
                sys.stdout = saved
        return t

    u = "unit/criterion_selfcheck/selfcheck::"
    t = criterion(lambda prog, test: False)
    tally.add(names[0], t.passed == 1 and not t.skipped and
              sorted(t.failed) == [u + "fails", u + "skips (skipped)"])
    t = criterion(lambda prog, test: test == "selfcheck::skips")
    tally.add(names[1], t.passed == 1 and t.skipped == [u + "skips"] and
              t.failed == [u + "fails"])
    t = criterion(lambda prog, test: True, {"SELFCHECK_EXIT": "3"}, ["--filter=selfcheck/passes"])
    tally.add(names[2], t.passed == 1 and
              t.failed == ["unit/criterion_selfcheck/(exit status 3, yet no test failed)"])

    ktap = {
        "ksm_allok": "1..2\nok 1 a\nok 2 b\n'; exit 1",
        "ksm_short": "1..4\nok 1 a\nnot ok 2 b\n'; exit 1",
        "ksm_dies": "1..3\nok 1 a\n'; kill -9 $KSM_SELFCHECK_LOOP; sleep 5",
        "ksm_after": "1..1\nok 1 a\n'",
    }
    with tempfile.TemporaryDirectory() as d:
        for name, body in ktap.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(f"#!/bin/sh\nprintf 'KTAP version 1\\n{body}\n")
            os.chmod(os.path.join(d, name), 0o755)
        loop = os.path.join(TOP, "selftests", "harness", "guest-tests.sh")
        out = subprocess.run(["sh", "-c", 'KSM_SELFCHECK_LOOP=$$ exec sh "$@"', "sh", loop, d,
                              *ktap], capture_output=True, text=True, timeout=60).stdout
    t = Tally()
    parse_ktap(out, t, set(ktap))
    tally.add(names[3], "ksm_allok/(exit status 1, though every case said ok)" in t.failed)
    tally.add(names[4], [f for f in t.failed if f.startswith("ksm_short/")] ==
              ["ksm_short/b", "ksm_short/case 3 (never ran: status 1)",
               "ksm_short/case 4 (never ran: status 1)"])
    tally.add(names[5], t.passed == 4 and [f for f in t.failed if f.startswith(
        ("ksm_dies/", "ksm_after/"))] == [
            "ksm_dies/case 2 (never ran: the guest's output ended)",
            "ksm_dies/case 3 (never ran: the guest's output ended)",
            "ksm_after/(never ran)"])


def parse_ktap(output, tally, programs):
    """Count the cases of each program's KTAP block in the guest's output.

    @programs: the programs that were to run; those never begun fail once each.
    """
    current, plan, seen, not_ok = None, 0, set(), 0

    def end(status):
        """The program ended with @status, or None: the output stops in it."""
        how = f"status {status}" if status is not None else "the guest's output ended"
        # Each case of the plan that never reported (a crash, a hang, a
        # dead guest) failed; without a plan, the program as one case.
        missing = sorted(set(range(1, max(plan, 1) + 1)) - seen)
        tally.failed += [f"{current}/case {i} (never ran: {how})" for i in missing]
        if status not in (None, "0") and not missing and not not_ok:
            tally.failed.append(f"{current}/(exit {how}, though every case said ok)")
        programs.discard(current)

    for line in output.splitlines():
        line = line.rstrip("\r")
        m = MARK_BEGIN.match(line)
        if m:
            if current is not None:
                end(None)
            current, plan, seen, not_ok = m.group(1), 0, set(), 0
            continue
        if current is None:
            continue
        m = KTAP_PLAN.match(line)
        if m:
            plan = int(m.group(1))
            continue
        m = KTAP_RESULT.match(line)
        if m:
            seen.add(int(m.group(2)))
            not_ok += m.group(1) != "ok"
            tally.add(f"{current}/{m.group(3)}", m.group(1) == "ok",
                      skipped="# SKIP" in m.group(4))
            continue
        m = MARK_END.match(line)
        if m:
            end(m.group(2))
            current = None
    if current is not None:
        end(None)
    for p in sorted(programs):
        tally.add(f"{p}/(never ran)", False)


def run_guest_tests(tally, variant, tests):
    missing = [t for t in tests if not os.path.exists(os.path.join(BUILD, "guest", t))]
    if missing:
        sys.exit(f"run_tests.py: guest tests not built: {' '.join(missing)}; run 'make selftests'")
    source = subprocess.run(["bash", os.path.join(TOP, "scripts", "kernel.sh"), "source"],
                            capture_output=True, text=True).stdout.strip()
    print(f"# kernel source: {source or '(unknown)'}")
    logdir = os.path.join(TOP, "build", "logs")
    os.makedirs(logdir, exist_ok=True)
    log_path = os.path.join(logdir, f"guest-tests-{variant}.log")
    cmd = ["sh", os.path.join(TOP, "selftests", "harness", "guest-tests.sh"),
           os.path.join(BUILD, "guest")] + tests
    t0 = time.monotonic()
    with open(log_path, "wb+") as log:
        # Each test is bounded in the guest (guest-tests.sh); the guest, by their sum.
        per_test = 600 * (3 if variant == "debug" else 1)
        status, reports = vm.run(cmd, variant=variant, stdout=log,
                                 timeout=per_test * len(tests) + 300)
        log.seek(0)
        output = log.read().decode(errors="replace")
    sys.stdout.write(output)
    print(f"# guest tests took {time.monotonic() - t0:.0f} s (log: {os.path.relpath(log_path, TOP)})")
    parse_ktap(output, tally, set(tests))
    tally.add("guest_kernel_log_clean", not reports and status != vm.EXIT_GUEST_LOST)


def check_vm_runner(tally, variant):
    """The VM runner itself: a kernel report fails a run, a dead guest is seen.

    Userspace may write to the kernel log (printk.devkmsg=on), which gives a
    report without breaking the kernel; sysrq-c gives a real panic.
    """
    devnull = open(os.devnull, "wb")
    status, reports = vm.run(
        ["sh", "-c", "echo 'WARNING: CPU: 0 PID: 1 at harness self-test' >/dev/kmsg"],
        variant=variant, stdout=devnull, timeout=300)
    tally.add("vm_runner_fails_on_kernel_report", status == vm.EXIT_KERNEL_REPORT and
              any("harness self-test" in r for r in reports))
    status, _ = vm.run(["sh", "-c", "echo c >/proc/sysrq-trigger"], variant=variant,
                       stdout=devnull, timeout=300)
    tally.add("vm_runner_fails_on_guest_panic", status == vm.EXIT_GUEST_LOST)


# The benchmarks' pipelines, each with --smoke: both kernels boot and every
# check of the driver holds; the figures are make bench's (docs/benchmarks.md),
# not CI's. (test name, driver, what it checks)
BENCH_SMOKES = [
    ("bench_smoke", "bench.py", "ksmd CPU per visited page (make bench --smoke): the pass "
     "recorder loads on each kernel, every measurement matches its layout"),
    ("bench_converge_smoke", "bench_converge.py", "convergence (make bench-converge "
     "--smoke): every workload; the patched kernel's W1 counts equal the baseline's pass by "
     "pass, the oracle reaches the sharing computed from each layout"),
    ("bench_throughput_smoke", "bench_throughput.py", "throughput (make bench-throughput "
     "THROUGHPUT_ARGS=--smoke): upstream's ksm_tests give a figure for every run, "
     "without a policy, with the statistics and with the no-op policy"),
]


def check_bench_smoke(tally, name, script, what):
    print(f"# the benchmark pipeline of {what}")
    p = subprocess.run([sys.executable, os.path.join(TOP, "scripts", script), "--smoke"],
                       cwd=TOP, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        print((p.stdout + p.stderr)[-4000:])
    tally.add(name, p.returncode == 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unit-only", action="store_true")
    ap.add_argument("--guest-only", action="store_true")
    ap.add_argument("--variant", default=os.environ.get("VARIANT", "patched"))
    ap.add_argument("--fuzz-seconds", type=int, default=0,
                    help="run the libFuzzer target this long (0: replay its corpus)")
    ap.add_argument("tests", nargs="*", help="guest tests (default: all built)")
    args = ap.parse_args()

    tally = Tally()
    if not args.guest_only:
        run_unit_tests(tally)
        check_docs(tally)
        check_knob_lists(tally)
        check_vmlinux_btf_checker(tally)
        check_harness(tally)
        check_setup_script(tally)
        check_fuzz(tally, args.fuzz_seconds)
    if not args.unit_only:
        run_guest_tests(tally, args.variant, args.tests or guest_tests())
        if not args.tests and args.variant == "patched":
            # ksmctl on a stock kernel: stats and knobs work, policies say why not.
            print("# ksmctl on the baseline kernel (upstream 6.12, no series)")
            run_guest_tests(tally, "baseline", ["ksm_ksmctl"])
            for name, script, what in BENCH_SMOKES:
                check_bench_smoke(tally, name, script, what)
        if not args.tests:
            print("# checking the VM runner's kernel-log checks (two expected failures follow)")
            check_vm_runner(tally, args.variant)
    for name in tally.skipped:
        print(f"SKIPPED: {name}")
    for name in tally.failed:
        print(f"FAILED: {name}")
    skipped = f", {len(tally.skipped)} skipped" if tally.skipped else ""
    print(f"{tally.passed} passed, {len(tally.failed)} failed{skipped}")
    sys.exit(1 if tally.failed else 0)


if __name__ == "__main__":
    main()
