#!/usr/bin/env python3
"""Merge throughput against upstream KSM: upstream's own ksm_tests timings.

Issue 13, P4. One run boots the unpatched kernel (baseline) and the patched
kernel in turn, BOOTS times each, alternating, with QEMU's -icount under TCG
(the guest clock then counts instructions: the figures do not depend on the
host's load) on one vCPU, and runs bench/throughput_configs.sh: ksm_tests of the same 6.12
source, -P (merge), -H (merge of an area of huge pages) and -D (unmerge), each
over SIZE MiB and read as MiB/s, and -C (copy-on-write of 2000 merged pages,
read as seconds), and their variant, bench/ksm_sharing_time.c: M (the merge
timed to the expected sharing, its poller asleep in between), U (the unmerge)
and W (the writes of -C) with ksmd stopped, ROUNDS times per boot. The
baseline runs them without a
policy; the patched kernel without a policy ("none"), with ksmctl's
statistics collected ("stats": BPF programs on the ksm tracepoints, as
`ksmctl stats enable` and `policy load` start them; "stats+sharing": with
who shares with whom too, `stats enable sharing on`), and with each shipped
policy loaded by ksmctl, alone (policy load starts the statistics too; the
runner stops them).

Each boot gives a median per configuration and test; a figure is the median
over boots, its ratio to the baseline's the ratio of those medians, with a
bootstrap 95% interval over boots. Targets, on the interval's bound: without a
policy >= 0.99x the baseline's MiB/s, with any policy >= 0.97x; the time to
break COW of merged pages <= 1.01x, with or without a policy. A test that
fails (ksm_tests gives up after its scan time limit) misses its target.
zero_only merges none of ksm_tests' pages: its figures are shown, with no
target (M, U and W, which wait for the merge, give up after 4 full scans).

ksm_tests times two full scans from madvise() (-P, -H, and -D's merge
before it times the unmerge), at its own pace (pages_to_scan 10,
sleep_millisecs 0), polling full_scans without pause. On one vCPU, ksmd's
batches that fall inside a timed window (the unmerge of -D, the writes of
-C) count in it: a ksmd that costs more per batch shows there too, and
whether one falls inside is settled per boot. U and W keep ksmd out.

Results: a table, build/bench/throughput.json and the guests' raw output in
build/bench/throughput-boot-NN-VARIANT.log. Exit status 1 when a target is
missed. --smoke: one boot each, small sizes, no policy, the statistics and
the no-op policy, no targets, its files in build/bench/smoke/.

    scripts/bench_throughput.py [--boots N] [--rounds N] [--size MIB]
                                [--configs none,POLICY,...] [--smoke]
"""
import argparse
import json
import os
import random
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common  # noqa: E402

GUEST_RUNNER = os.path.join("bench", "throughput_configs.sh")
KSM_TESTS = os.path.join("build", "selftests", "upstream", "ksm_tests")
POLICIES = bench_common.SHIPPED_POLICIES
CONFIGS = ("none", "stats", "stats+sharing") + POLICIES
SHARING_TIME = os.path.join("build", "bench", "ksm-sharing-time")
# test -> (what is read, unit, higher is better): ksm_tests' options, and
# ksm-sharing-time's M, U, W.
TESTS = {"P": ("-P merge", "MiB/s", True), "H": ("-H merge, huge pages", "MiB/s", True),
         "D": ("-D unmerge", "MiB/s", True), "C": ("-C COW of merged pages", "s", False),
         "M": ("M merge to the sharing", "MiB/s", True),
         "U": ("U unmerge, ksmd stopped", "MiB/s", True),
         "W": ("W COW, ksmd stopped", "s", False)}
COW_TESTS = ("C", "W")
TARGET_NONE, TARGET_POLICY, TARGET_COW = 0.99, 0.97, 1.01
# Policies that merge none of ksm_tests' pages (as ksm_upstream.py's REFUSED):
# their runs time scans that merge nothing, so no target applies.
MERGES_NOTHING = {"zero_only": "merges only zero-filled pages; ksm_tests fills its "
                               "pages with '*' or '+', so nothing merged"}
SMOKE = {"boots": 1, "rounds": 1, "size": 4, "configs": "none,stats,stats+sharing,default"}

RUN_LINE = re.compile(r"^p4-run (\S+) (\d+) ([%s]) (\d+)$" % "".join(TESTS))
SPEED = re.compile(r"Average speed:\s+([0-9.]+) MiB/s")
TIME = re.compile(r"Total time:\s+([0-9.]+) s")


def parse_runs(text, variant, boot):
    """The runs a guest printed: one dict per ksm_tests run, its figure (MiB/s,
    or for -C the seconds to break COW of the merged pages) or why it has none."""
    runs, lines = [], []
    for line in text.splitlines():
        m = RUN_LINE.match(line.strip())
        if not m:
            lines.append(line)
            continue
        config, rnd, test, status = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        body = "\n".join(lines)
        lines = []
        if test in COW_TESTS:
            merged = body.split("Merged pages:", 1)
            found = TIME.findall(merged[1]) if len(merged) == 2 else []
        else:
            found = SPEED.findall(body)
        run = {"variant": variant, "boot": boot, "config": config, "round": rnd, "test": test,
               "status": status, "value": float(found[-1]) if status == 0 and found else None}
        if run["value"] is None:
            said = [x.strip("# ").strip() for x in body.splitlines() if x.startswith("#")]
            run["why"] = said[-1] if said else f"exit status {status}, no figure"
        runs.append(run)
    return runs


def run_guest(variant, configs, args, boot):
    """One boot's runs; its raw output goes to build/bench/throughput-boot-NN-VARIANT.log."""
    cmd = ["sh", GUEST_RUNNER, "build", ",".join(configs), str(args.rounds), str(args.size)]
    status, text = bench_common.run_measured(
        cmd, variant, os.path.join(args.results, f"throughput-boot-{boot:02d}-{variant}.log"))
    runs = parse_runs(text, variant, boot)
    want = len(configs) * args.rounds * len(TESTS)
    if status != 0 or len(runs) != want:
        sys.stderr.write(text[-4000:])
        sys.exit(f"bench-throughput: the {variant} guest of boot {boot} failed (status {status}, "
                 f"{len(runs)} of {want} runs)")
    return runs


def target(config, test):
    """The bound the ratio to the baseline must keep (None: no target), and on
    which side. The statistics are held to a policy's bound: they run BPF
    programs too."""
    higher_is_better = TESTS[test][2]
    side = "at least" if higher_is_better else "at most"
    if config in MERGES_NOTHING:
        return None, side
    if not higher_is_better:
        return TARGET_COW, side
    return (TARGET_NONE if config == "none" else TARGET_POLICY), side


def compare(baseline, patched, configs):
    rng = random.Random(4)
    out = {}
    for test in TESTS:
        base = bench_common.boot_medians(baseline, "value", config="none", test=test)
        entry = {"baseline": {"median": statistics.median(base) if None not in base else None,
                              "per_boot": base}}
        for config in configs:
            pat = bench_common.boot_medians(patched, "value", config=config, test=test)
            bound, side = target(config, test)
            row = {"per_boot": pat, "target": bound, "side": side}
            if config in MERGES_NOTHING:
                row["not_comparable"] = MERGES_NOTHING[config]
            if None in base or None in pat:
                failed = [r for r in baseline + patched if r["test"] == test and
                          r["value"] is None and r["config"] in ("none", config)]
                # Without a target (it merges nothing), a test that waits
                # for merging has no figure and misses nothing.
                row.update(median=None, ratio=None, interval_95=None, met=bound is None,
                           why=failed[0]["why"] if failed else "no figure")
            else:
                lo, hi = bench_common.ratio_interval(base, pat, rng)
                row.update(median=statistics.median(pat),
                           ratio=statistics.median(pat) / statistics.median(base),
                           interval_95=[lo, hi],
                           met=(bound is None or
                                (lo >= bound if side == "at least" else hi <= bound)))
            entry[config] = row
        out[test] = entry
    return out


def print_table(figures, configs, args, minutes):
    print(f"ksm_tests on the patched kernel against the unpatched one (median of {args.boots} "
          f"boots x {args.rounds} rounds; -P/-H/-D over {args.size} MiB; ratio with its "
          "bootstrap 95% interval)")
    print(f"{'test':<22} {'configuration':<14} {'figure':>12} {'ratio':>7} "
          f"{'95% interval':>17} {'target':>10}  verdict")
    for test, entry in figures.items():
        name, unit, _ = TESTS[test]
        base = entry["baseline"]["median"]
        print(f"{name:<22} {'baseline':<14} "
              f"{(f'{base:.3f} {unit}' if base is not None else 'failed'):>12}")
        for config in configs:
            r = entry[config]
            bound = ("none" if r["target"] is None else
                     f"{'>=' if r['side'] == 'at least' else '<='}{r['target']:.2f}x")
            if r["ratio"] is None:
                verdict = ("-" if args.smoke else "merges nothing" if r["target"] is None
                           else "MISSED")
                print(f"{'':<22} {config:<14} {'no figure':>12} {'':>7} {'':>17} {bound:>10}  "
                      f"{verdict} ({r['why']})")
                continue
            verdict = ("-" if args.smoke else "merges nothing" if r["target"] is None
                       else "ok" if r["met"] else "MISSED")
            lo, hi = r["interval_95"]
            print(f"{'':<22} {config:<14} {r['median']:12.3f} {r['ratio']:7.4f} "
                  f"[{lo:.4f}, {hi:.4f}] {bound:>10}  {verdict}")
    print(f"took {minutes:.1f} min; details: {args.results}/throughput.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boots", type=int, default=5, help="fresh boots of each kernel")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each test per boot")
    ap.add_argument("--size", type=int, default=32, help="MiB merged by -P, -H and -D")
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help="on the patched kernel: none (no policy), stats, stats+sharing, "
                         "shipped policies")
    args = bench_common.parse_args(ap, SMOKE, "one boot each, small sizes, no targets")
    for name in ("boots", "rounds", "size"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    configs = args.configs.split(",")
    for c in configs:
        if c not in CONFIGS:
            ap.error(f"--configs: unknown configuration '{c}' (one of {', '.join(CONFIGS)})")
    if "none" not in configs:
        ap.error("--configs: 'none' is needed: the patched kernel without a policy")
    bench_common.enter_tree([KSM_TESTS, SHARING_TIME, os.path.join("build", "ksmctl")] +
                            [os.path.join("build", "bpf", f"{c}.bpf.o")
                             for c in configs if c in POLICIES], "bench-throughput", "bench")

    t0 = time.monotonic()
    baseline, patched = [], []
    for boot in range(1, args.boots + 1):
        baseline += run_guest("baseline", ["none"], args, boot)
        patched += run_guest("patched", configs, args, boot)
    minutes = (time.monotonic() - t0) / 60

    figures = compare(baseline, patched, configs)
    clock = ("real time (KVM)" if bench_common.cpu_unit() == "ns"
             else "the guest clock, 1 ns per instruction (TCG -icount)")
    results = {
        **bench_common.results_header(f"MiB/s and seconds of {clock}", args.smoke, minutes),
        "workload": {"size_mib": args.size, "boots": args.boots, "rounds": args.rounds,
                     "tests": {t: {"what": v[0], "unit": v[1]} for t, v in TESTS.items()},
                     "configs": configs},
        "figures": figures,
        "runs": {"baseline": baseline, "patched": patched},
    }
    with open(os.path.join(args.results, "throughput.json"), "w") as f:
        json.dump(results, f, indent=2)
    print_table(figures, configs, args, minutes)
    failed = [r for r in baseline + patched
              if r["value"] is None and r["config"] not in MERGES_NOTHING]
    if args.smoke and failed:
        sys.exit(f"bench-throughput: {len(failed)} runs gave no figure, first "
                 f"{failed[0]['variant']} {failed[0]['config']} {failed[0]['test']}: "
                 f"{failed[0]['why']}")
    missed = [f"{TESTS[t][0].split()[0]} {c}" for t, entry in figures.items() for c in configs
              if not entry[c]["met"]]
    bench_common.fail_on_missed(missed, args.smoke, "interval's bound on the wrong side of "
                                "the target, or the test failed")


if __name__ == "__main__":
    main()
