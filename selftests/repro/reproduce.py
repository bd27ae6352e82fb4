#!/usr/bin/env python3
"""Reproduce the upstream bug the series' first patch fixes, and show it fixed.

Runs ksm-remap-race (selftests/repro/remap-race.c: see its comment for the
race) on two KASAN kernels of the same config: baseline-debug (the pristine
6.12 source) must report a use-after-free read in page_address_in_vma() by
ksmd; debug (the series applied) must report nothing in as many tries, each
for the same duration. A try on the baseline that ends without a report is
tried again (the race is timing-dependent), up to --tries boots.

Exit status: 0 when the baseline reported the bug and the patched kernel
stayed clean; 1 otherwise, saying which.

    selftests/repro/reproduce.py [--duration S] [--tries N] [-- PROGRAM ARGS...]
"""
import argparse
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import vm  # noqa: E402

PROGRAM = os.path.join("build", "selftests", "repro", "ksm-remap-race")
# What the baseline's report must name: the read, and who made it.
SIGNS = ("KASAN: slab-use-after-free", "page_address_in_vma", "ksmd")


def boot(variant, args):
    """One boot running the program: (its status, the kernel's reports)."""
    cmd = [PROGRAM, "--duration", str(args.duration)] + args.program_args
    return vm.run(cmd, variant=variant, cpus=2, memory="2G",
                  timeout=args.duration * 3 + 600)


def is_the_bug(report):
    return all(sign in report for sign in SIGNS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=180, help="seconds of racing per boot")
    ap.add_argument("--tries", type=int, default=3, help="boots of each kernel at most")
    ap.add_argument("program_args", nargs="*", help="more arguments for ksm-remap-race")
    args = ap.parse_args()
    os.chdir(TOP)
    if not os.path.exists(PROGRAM):
        sys.exit(f"reproduce: {PROGRAM} is missing: run 'make reproduce'")

    reproduced = None
    for i in range(1, args.tries + 1):
        status, reports = boot("baseline-debug", args)
        if any(is_the_bug(r) for r in reports):
            reproduced = i
            break
        if reports:
            sys.exit(f"reproduce: the baseline kernel reported something else (boot {i}): "
                     "see above")
        if status != 0:
            sys.exit(f"reproduce: the program failed on the baseline kernel (status {status})")
        print(f"# baseline-debug boot {i}: no report within {args.duration} s", flush=True)
    if reproduced is None:
        print(f"not reproduced: no report on the baseline kernel in {args.tries} boots of "
              f"{args.duration} s")
        return 1
    print(f"# baseline-debug: the use-after-free was reported in boot {reproduced}", flush=True)

    # As many boots of the patched kernel as the baseline needed: none may report.
    for i in range(1, reproduced + 1):
        status, reports = boot("debug", args)
        if reports or status != 0:
            print(f"not fixed: the patched kernel (debug) reported or failed in boot {i} "
                  f"(status {status})")
            return 1
    print(f"reproduced on baseline-debug in boot {reproduced}; debug stayed clean in "
          f"{reproduced} boot(s) of {args.duration} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
