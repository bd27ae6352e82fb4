"""What the benchmark drivers (scripts/bench.py, bench_converge.py,
bench_throughput.py) share: their --smoke and --jump-label options (the
smoke run's files go to build/bench/smoke/), the check that what the guest
runs was built, the measuring guest, the header of their results (date,
unit, the kernels measured), per-boot medians and the bootstrap interval of
a ratio over boots."""
import datetime
import io
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join("build", "bench")


# The kernels a driver calls "baseline" and "patched": the test kernels, or
# with --jump-label the *-jump-label variants (static keys patched into the
# code, as distributions build them; scripts/kernel.sh).
KERNELS = {"baseline": "baseline", "patched": "patched"}

# The shipped policies (build/bpf/NAME.bpf.o) the convergence and throughput
# benchmarks measure, in the order of their tables.
SHIPPED_POLICIES = ("default", "trust_stable", "zero_only", "adaptive", "trust_adaptive")


def parse_args(ap, smoke, what):
    """@ap's arguments, with --smoke (@what: what it does), which sets @smoke's
    values, and --jump-label, which sets KERNELS."""
    ap.add_argument("--smoke", action="store_true", help="check the pipeline: " + what)
    ap.add_argument("--jump-label", action="store_true",
                    help="measure the kernels built with CONFIG_JUMP_LABEL "
                         "('make kernel VARIANT=baseline-jump-label' and patched-jump-label)")
    args = ap.parse_args()
    if args.smoke:
        for key, value in smoke.items():
            setattr(args, key, value)
    if args.jump_label:
        for label in KERNELS:
            KERNELS[label] = label + "-jump-label"
    # A pipeline check never replaces a measurement's files, nor does a
    # measurement of the other kernels.
    args.results = os.path.join(OUT, "smoke") if args.smoke else OUT
    if args.jump_label:
        args.results = os.path.join(args.results, "jump-label")
        os.makedirs(args.results, exist_ok=True)
    return args


def kernel_info(label):
    """The info file of the kernel a driver calls @label ("baseline" or "patched")."""
    return vm.kernel_info(KERNELS[label])


def enter_tree(files, who, target):
    """Work from the top of the tree, where each of @files must be: else say which
    is missing and which make target builds it."""
    os.chdir(TOP)
    for f in files:
        if not os.path.exists(f):
            sys.exit(f"{who}: {f} is missing: run 'make {target}'")
    os.makedirs(os.path.join(OUT, "smoke"), exist_ok=True)


def cpu_unit():
    """What ksmd's "runtime" counts: CPU time under KVM, instructions under TCG's -icount."""
    return "ns" if vm.kvm_boots(vm.find_kernel(KERNELS["patched"], None)) else "instructions"


def results_header(unit, smoke, minutes):
    """The first fields of a results file: when, in what unit, on which kernels."""
    return {
        "date": datetime.date.today().isoformat(),
        "unit": unit,
        "smoke": smoke,
        "minutes": round(minutes, 1),
        "kernels": {label: kernel_info(label) for label in KERNELS},
    }


RESAMPLES = 10000


def boot_medians(rows, value, **match):
    """Per boot, in boot order, the median of @value over the rows whose fields
    equal @match's; None for a boot where a matching row has no figure."""
    out = []
    for b in sorted({r["boot"] for r in rows}):
        vals = [r[value] for r in rows
                if r["boot"] == b and all(r[k] == v for k, v in match.items())]
        out.append(None if None in vals or not vals else statistics.median(vals))
    return out


def ratio_interval(base, other, rng):
    """A percentile bootstrap 95% interval of median(@other) / median(@base), each
    a list of per-boot figures, resampled over boots."""
    ratios = sorted(statistics.median(rng.choices(other, k=len(other))) /
                    statistics.median(rng.choices(base, k=len(base)))
                    for _ in range(RESAMPLES))
    return ratios[int(0.025 * RESAMPLES)], ratios[int(0.975 * RESAMPLES) - 1]


def fail_on_missed(missed, smoke, how):
    """Exit 1 naming the @missed targets (@how: what missing one means), unless
    it was a --smoke run, which has no targets."""
    if missed and not smoke:
        print(f"targets missed ({how}): " + ", ".join(missed))
        sys.exit(1)


def run_measured(cmd, variant, raw_path=None, timeout=3600):
    """Boot the kernel KERNELS[@variant] and run @cmd in it, on one vCPU under
    -icount with TCG (the guest clock then counts instructions, ksmd's CPU
    time its instructions alone; with two vCPUs, an idle one's timers can go
    unserved for seconds). Its output is kept in @raw_path if given. Returns
    the exit status and the output."""
    out = io.BytesIO()
    status, _ = vm.run(cmd, variant=KERNELS[variant], cpus=1, memory="2G", stdout=out,
                       icount=True, timeout=timeout)
    text = out.getvalue().decode(errors="replace")
    if raw_path:
        with open(raw_path, "w") as f:
            f.write(text)
    return status, text
