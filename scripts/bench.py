#!/usr/bin/env python3
"""ksmd's CPU time per visited page: the unpatched kernel against the patched one.

One run boots the baseline kernel (upstream 6.12, no series) and the patched
kernel in turn, BOOTS times each, alternating, and runs bench/ksm_scan_cost.c
in each guest (see its comment for the page mixes and the cases). That program
records every full scan of ksmd exactly at its boundaries, with the BPF
program bench/ksm_pass_cost.bpf.c on the upstream tracepoints ksm_start_scan
and ksm_stop_scan: ksmd's CPU time and the pages it visited (scanned plus
skipped by smart_scan, which cost CPU too).

On the baseline each case is measured once nothing is attached ("never"). On
the patched kernel, first "never" (nothing attached since boot), then, after
bpf/default.bpf.o (every hook answering the default) was attached, "policy"
and, after it was detached, "detached". Each boot gives a median per case and
mode; a figure is the median over boots, its ratio to the baseline's the ratio
of those medians, and the 95% interval of that ratio a bootstrap over boots.
A target is met when the interval's upper bound is within it: +1% for both
modes without a policy, +3% with the no-op policy.

Under TCG (no usable KVM) the guest runs with QEMU's instruction counting on
one vCPU: its clock advances 1 ns per guest instruction, so ksmd's CPU time is
the number of instructions it executed, the same from one run to the next and
unaffected by the host's load (but blind to cache misses). Under KVM it is
real CPU time: run it on an idle machine.

Results: a table on stdout, build/bench/results.json and one file per boot
(build/bench/boot-NN-VARIANT.json). The exit status is 1 when a target is
missed. --smoke checks the pipeline only: one boot each, tiny sizes, no
targets, its files in build/bench/smoke/.

    scripts/bench.py [--boots N] [--rounds N] [--passes N] [--processes N]
                     [--pages N] [--cases CASE,...] [--smoke]
"""
import argparse
import glob
import json
import os
import random
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common  # noqa: E402
from bench_common import OUT  # noqa: E402

BENCH = os.path.join(OUT, "ksm-scan-cost")
POLICY = os.path.join("build", "bpf", "default.bpf.o")
CASES = "half,ksm,tail,half+smart,ksm+smart,tail+smart"
MODES = ("never", "detached", "policy")
# Each mode of the patched kernel against the baseline without a policy.
TARGETS = {"never": 1.01, "detached": 1.01, "policy": 1.03}
SMOKE = {"boots": 1, "rounds": 1, "passes": 1, "processes": 2, "pages": 256}


def run_guest(variant, args, boot):
    """The measurements of one boot, also written to build/bench/boot-NN-VARIANT.json."""
    cmd = [BENCH, "--rounds", str(args.rounds), "--passes", str(args.passes),
           "--processes", str(args.processes), "--pages", str(args.pages),
           "--cases", args.cases]
    if variant == "patched":
        cmd.append(POLICY)
    t0 = time.monotonic()
    status, text = bench_common.run_measured(cmd, variant, timeout=1800)
    rows = [dict(json.loads(line), boot=boot, variant=variant)
            for line in text.splitlines() if line.startswith("{")]
    if status != 0 or not rows:
        sys.stderr.write(text)
        sys.exit(f"bench: the {variant} guest of boot {boot} failed (status {status})")
    check_rows(rows, args)
    with open(os.path.join(args.results, f"boot-{boot:02d}-{variant}.json"), "w") as f:
        json.dump({"variant": variant, "boot": boot, "seconds": round(time.monotonic() - t0),
                   "kernel": bench_common.kernel_info(variant), "measurements": rows}, f, indent=2)
    return rows


def check_rows(rows, args):
    """Every pass visited the whole layout, and what merges had merged."""
    layout = args.processes * args.pages
    sharing = {"half": (args.processes - 1) * ((args.pages + 1) // 2),
               "ksm": (args.processes - 1) * args.pages, "tail": 0}
    for r in rows:
        what = f"{r['variant']} boot {r['boot']}, {r['case']} {r['mode']} round {r['round']}"
        if r["pages_visited"] != r["passes"] * layout:
            sys.exit(f"bench: {what}: {r['pages_visited']} pages visited in {r['passes']} "
                     f"passes, not {layout} each: something else is mergeable in the guest")
        if r["pages_sharing"] != sharing[r["mix"]]:
            sys.exit(f"bench: {what}: pages_sharing {r['pages_sharing']}, expected "
                     f"{sharing[r['mix']]}: merging had not settled")


def compare(baseline, patched, cases):
    """Per case: the baseline's figure and, per mode, the patched kernel's against it."""
    rng = random.Random(13)
    out = {}
    for case in cases:
        base = bench_common.boot_medians(baseline, "ns_per_visited", case=case, mode="never")
        entry = {"baseline": {"ns_per_visited": statistics.median(base), "per_boot": base}}
        for mode in MODES:
            pat = bench_common.boot_medians(patched, "ns_per_visited", case=case, mode=mode)
            ratio = statistics.median(pat) / statistics.median(base)
            lo, hi = bench_common.ratio_interval(base, pat, rng)
            entry[mode] = {"ns_per_visited": statistics.median(pat), "per_boot": pat,
                           "ratio": ratio, "interval_95": [lo, hi], "target": TARGETS[mode],
                           "met": hi <= TARGETS[mode]}
        out[case] = entry
    return out


def print_table(figures, args, unit, minutes):
    print(f"ksmd CPU per visited page, in {unit} ({args.processes} processes x {args.pages} "
          f"pages; median of {args.boots} boots per kernel; ratio to the unpatched kernel "
          f"with its bootstrap 95% interval)")
    print(f"{'case':<12} {'kernel, mode':<28} {'per page':>10} {'ratio':>7} "
          f"{'95% interval':>17} {'target':>7}  verdict")
    names = {"never": "patched, never attached", "detached": "patched, detached",
             "policy": "patched, no-op policy"}
    for case, entry in figures.items():
        print(f"{case:<12} {'baseline':<28} {entry['baseline']['ns_per_visited']:10.1f}")
        for mode in MODES:
            m = entry[mode]
            verdict = "-" if args.smoke else "ok" if m["met"] else "MISSED"
            print(f"{'':<12} {names[mode]:<28} {m['ns_per_visited']:10.1f} {m['ratio']:7.4f} "
                  f"[{m['interval_95'][0]:.4f}, {m['interval_95'][1]:.4f}] "
                  f"{(m['target'] - 1) * 100:+6.0f}%  {verdict}")
    print(f"took {minutes:.1f} min; details: {args.results}/results.json, "
          f"{args.results}/boot-*.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boots", type=int, default=5, help="fresh boots of each kernel")
    ap.add_argument("--rounds", type=int, default=1, help="measurements per mode and boot")
    ap.add_argument("--passes", type=int, default=2,
                    help="full scans per measurement (with smart_scan: whole 9-scan periods)")
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--pages", type=int, default=4096, help="pages per process")
    ap.add_argument("--cases", default=CASES, help="page mixes half|ksm|tail, +smart for "
                    "smart_scan=1")
    args = bench_common.parse_args(ap, SMOKE, "one boot each, tiny sizes, no targets")
    for name in ("boots", "rounds", "passes", "processes", "pages"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    # Checked here too: the guest would only say so after a boot.
    for case in args.cases.split(","):
        if not re.fullmatch(r"(half|ksm|tail)(\+smart)?", case):
            ap.error(f"--cases: unknown case '{case}' (half, ksm, tail, each with +smart or not)")
    bench_common.enter_tree((BENCH, POLICY), "bench", "bench")
    for old in glob.glob(os.path.join(args.results, "boot-*.json")):
        os.remove(old)

    t0 = time.monotonic()
    baseline, patched = [], []
    for boot in range(1, args.boots + 1):
        baseline += run_guest("baseline", args, boot)
        patched += run_guest("patched", args, boot)
    minutes = (time.monotonic() - t0) / 60

    cases = list(dict.fromkeys(r["case"] for r in baseline))
    figures = compare(baseline, patched, cases)
    unit = bench_common.cpu_unit()
    results = {
        **bench_common.results_header(unit, args.smoke, minutes),
        "workload": {"processes": args.processes, "pages_per_process": args.pages,
                     "passes_per_measurement": args.passes, "rounds": args.rounds,
                     "boots": args.boots, "cases": cases},
        "figures": figures,
        "measurements": {"baseline": baseline, "patched": patched},
    }
    with open(os.path.join(args.results, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print_table(figures, args, unit, minutes)
    missed = [f"{case} {mode}" for case, entry in figures.items() for mode in MODES
              if not entry[mode]["met"]]
    bench_common.fail_on_missed(missed, args.smoke, "interval's upper bound over the target")


if __name__ == "__main__":
    main()
