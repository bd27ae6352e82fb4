#!/usr/bin/env python3
"""ksmd's CPU time per scanned page: baseline kernel vs patched, no policy vs policy.

One run boots the baseline kernel (upstream 6.12, no series) and the patched
kernel in turn, BOOTS times each, and runs bench/ksm_scan_cost.c in the guest
(see its comment for the workload). On the patched kernel every round
measures both "none" and "policy" (bpf/default.bpf.o: every hook attached,
each answering the default), in alternating order; the policy's cost is the
median of the per-round ratios policy/none, so drift within a boot cancels.
Patched vs baseline without a policy compares boots: medians over all rounds,
with the per-boot medians shown for their spread.

Under TCG (no usable KVM) the guest runs with QEMU's instruction counting:
its clock advances 1 ns per guest instruction, so ksmd's "CPU time" is the
number of instructions it executed, the same from one run to the next and
unaffected by the host's load (but blind to cache misses). Under KVM it is
real CPU time: run it on an idle machine.

Results go to stdout and build/bench/results.json. The exit status is 1 when
the no-op policy costs more than the series' target (3% more CPU per page).

    scripts/bench.py [--boots N] [--rounds N] [--scans N] [--processes N] [--pages N]
"""
import argparse
import io
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join("build", "bench", "ksm-scan-cost")
POLICY = os.path.join("build", "bpf", "default.bpf.o")
POLICY_TARGET = 1.03


def run_guest(variant, args, with_policy, boot):
    cmd = [BENCH, "--rounds", str(args.rounds), "--scans", str(args.scans),
           "--processes", str(args.processes), "--pages", str(args.pages)]
    if with_policy:
        cmd.append(POLICY)
    out = io.BytesIO()
    # One vCPU: ksmd is off the CPU whenever the benchmark reads its clock.
    status, _ = vm.run(cmd, variant=variant, cpus=1, memory="2G", stdout=out, icount=True)
    text = out.getvalue().decode(errors="replace")
    rows = [dict(json.loads(line), boot=boot)
            for line in text.splitlines() if line.startswith("{")]
    if status != 0 or not rows:
        sys.stderr.write(text)
        sys.exit(f"bench: the {variant} guest failed (status {status})")
    return rows


def per_page(rows, mode):
    return [r["ns_per_page"] for r in rows if r["mode"] == mode]


def paired_ratios(rows):
    """policy/none within each round (both measured back to back)."""
    by_round = {}
    for r in rows:
        by_round.setdefault((r["boot"], r["round"]), {})[r["mode"]] = r["ns_per_page"]
    return [m["policy"] / m["none"] for m in by_round.values() if len(m) == 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boots", type=int, default=2, help="boots of each kernel")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--scans", type=int, default=4, help="full scans per measurement")
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--pages", type=int, default=4096, help="pages per process")
    args = ap.parse_args()
    os.chdir(TOP)
    for f in (BENCH, POLICY):
        if not os.path.exists(f):
            sys.exit(f"bench: {f} is missing: run 'make bench'")

    baseline, patched = [], []
    for boot in range(1, args.boots + 1):
        baseline += run_guest("baseline", args, with_policy=False, boot=boot)
        patched += run_guest("patched", args, with_policy=True, boot=boot)

    base_none = statistics.median(per_page(baseline, "none"))
    patched_none = statistics.median(per_page(patched, "none"))
    patched_policy = statistics.median(per_page(patched, "policy"))
    ratios = paired_ratios(patched)
    policy_ratio = statistics.median(ratios)
    kernel_ratio = patched_none / base_none

    results = {
        "workload": {"processes": args.processes, "pages_per_process": args.pages,
                     "full_scans_per_measurement": args.scans, "rounds": args.rounds,
                     "boots": args.boots},
        "ns_per_page": {"baseline": base_none, "patched": patched_none,
                        "patched_policy": patched_policy},
        "ratio_patched_vs_baseline": kernel_ratio,
        "ratio_policy_vs_none": policy_ratio,
        "ratio_policy_vs_none_per_round": ratios,
        "policy_target": POLICY_TARGET,
        "measurements": {"baseline": baseline, "patched": patched},
    }
    os.makedirs(os.path.join("build", "bench"), exist_ok=True)
    with open(os.path.join("build", "bench", "results.json"), "w") as f:
        json.dump(results, f, indent=2)

    def per_boot(rows):
        """Median ns per page of each boot, without a policy."""
        medians = []
        for b in range(1, args.boots + 1):
            boot = [r["ns_per_page"] for r in rows if r["boot"] == b and r["mode"] == "none"]
            medians.append(f"{statistics.median(boot):.0f}")
        return " ".join(medians)

    ok = policy_ratio <= POLICY_TARGET
    unit = "instructions" if not vm.kvm_boots(vm.find_kernel("patched", None)) else "ns"
    print(f"ksmd CPU per scanned page, in {unit} ({args.processes} processes x {args.pages} "
          f"pages, half merged; median of {args.boots} boots x {args.rounds} rounds x "
          f"{args.scans} full scans)")
    print(f"  baseline kernel, no policy      {base_none:10.0f}   "
          f"(per boot: {per_boot(baseline)})")
    print(f"  patched kernel,  no policy      {patched_none:10.0f}   "
          f"x{kernel_ratio:.3f} of baseline (per boot: {per_boot(patched)})")
    print(f"  patched kernel,  no-op policy   {patched_policy:10.0f}   "
          f"x{policy_ratio:.3f} of no policy (paired per round: "
          f"{min(ratios):.3f} .. {max(ratios):.3f})")
    print(f"no-op policy cost: {(policy_ratio - 1) * 100:+.1f}% "
          f"(target <= {(POLICY_TARGET - 1) * 100:.0f}%): {'ok' if ok else 'OVER TARGET'}")
    print("details: build/bench/results.json")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
