#!/usr/bin/env python3
"""Convergence against upstream KSM: pages visited and ksmd CPU to reach the sharing a workload can achieve.

Issue 13, P2 and P3. One run boots the unpatched kernel (baseline) once and
the patched kernel once, each with one vCPU under QEMU's -icount (as
scripts/bench.py), and runs bench/converge_configs.sh in the guest: every
workload of bench/ksm_converge.c under every configuration, from the same
pace (pages_to_scan, sleep_millisecs; the advisor sets its own pages_to_scan).

    baseline   upstream defaults (smart_scan=1)
    patched    defaults without a policy: its pass-by-pass counts must equal
               the baseline's exactly (checked for w1, w1-ro, w1-cg; w2's
               rewriting threads race with ksmd, so there they may differ);
               smart_scan=0; the advisor (scan-time); each shipped policy;
               trust_stable with trust_first_sight=true (ksmctl's 'set');
               and the benchmark's own policies (w2 and w2-dyn only), reported
               beside the targets, not candidates for them: w2-bound
               (bench/w2_bound.bpf.c), told w2's layout, skips each page that
               never merges and merges each other on its first visit, the
               least any policy spends there; learn-offsets
               (bench/learn_offsets.bpf.c) learns per offset which pages never
               merge from the first processes and skips them in the others

For each run: the pages ksmd visited (scanned + smart_scan-skipped +
policy-skipped), its CPU time and the guest clock when pages_sharing first
reached 95% and 100% of what the layout can merge, per candidate page (a
page that merges), exact at each batch (bench/ksm_pass_cost.bpf.c samples
each time ksmd leaves the CPU); and whether the oracle (smart_scan off until
nothing changes for 2 passes) reached the computed sharing. w2-dyn (two
processes join a converged w2) is measured from their arrival, per new
candidate, with ksmd's steady-state cost before it (CPU per pass and per
second).

Checks that fail the run (exit 1): a guest that fails, patched without a
policy differing from the baseline, a configuration without a policy whose
oracle misses the computed sharing, and (not with --smoke) the targets:
W1 read-only and trusted-cgroup: the best policy <= 1.3 visited pages per
candidate to 95%; W2: the best shipped policy reaches 95% with at most half
the visited pages and half the ksmd CPU of upstream defaults.

Results: a table, build/bench/converge.json, the guests' raw lines in
build/bench/converge-VARIANT.jsonl, and PNG plots (scripts/plot_converge.py,
when matplotlib is installed). --smoke: tiny sizes, the defaults only on each
kernel, no targets: the pipeline and the checks, in a couple of minutes, its
files in build/bench/smoke/.

    scripts/bench_converge.py [--workloads w1,w1-ro,w1-cg,w2,w2-dyn] [--configs ...]
                              [--processes N] [--pages N] [--smoke]
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common  # noqa: E402
import vm  # noqa: E402
from bench_common import OUT  # noqa: E402

PROGRAM = os.path.join(OUT, "ksm-converge")
GUEST_RUNNER = os.path.join("bench", "converge_configs.sh")
WORKLOADS = "w1,w1-ro,w1-cg,w2,w2-dyn"
POLICIES = bench_common.SHIPPED_POLICIES
# Shipped policies with a tunable set (bench/converge_configs.sh): config -> object.
TUNED = {"trust_stable-first-sight": "trust_stable"}
POLICY_CONFIGS = POLICIES + tuple(TUNED)
# The benchmark's own policies (w2 and w2-dyn only): not candidates for the targets.
BENCH_POLICIES = {"w2-bound": "build/bench/w2_bound.bpf.o",
                  "learn-offsets": "build/bench/learn_offsets.bpf.o"}
CONFIGS = ("defaults", "smart-off", "advisor") + POLICY_CONFIGS + tuple(BENCH_POLICIES)
NO_POLICY = ("defaults", "smart-off", "advisor")
LEVELS = (0.95, 1.0)
W1_TARGET = 1.3       # visited pages per candidate to 95%, best policy, w1-ro and w1-cg
W2_TARGET = 0.5       # of upstream's visited pages and ksmd CPU to 95%, best shipped policy
UPSTREAM_W1 = 1.96    # the figures: a page's first visit never merges
PHYSICAL_W1 = 0.96
# Per-pass counts that must not differ between the baseline and patched, no policy.
SAME_FIELDS = ("pages_scanned", "pages_skipped", "pages_visited", "pages_sharing", "pages_shared")
SMOKE = {"processes": 4, "pages": 256, "configs": "defaults"}


def guest_runs(variant, args, configs):
    """The runs of one boot: the JSON objects bench/ksm_converge.c printed."""
    cmd = ["sh", GUEST_RUNNER, "build", args.workloads, ",".join(configs),
           "--processes", str(args.processes), "--pages", str(args.pages)]
    status, text = bench_common.run_measured(cmd, variant,
                                             os.path.join(args.results,
                                                          f"converge-{variant}.jsonl"))
    runs = []
    for line in text.splitlines():
        if line.startswith("{"):
            run = json.loads(line)
            run["variant"] = variant
            run["config"], run["name"] = run["label"].split(" ", 1)
            run["passes"] = [p for p in run["passes"] if p]
            runs.append(run)
    if status != 0 or not runs:
        sys.stderr.write(text)
        sys.exit(f"bench-converge: the {variant} guest failed (status {status})")
    return runs


def curve(run, phases=("converge",)):
    """(visited, runtime_ns, time_ns, pages_sharing) at every point of @phases (which follow
    each other from the run's start)."""
    converge = [p for p in run["passes"] if p["phase"] in phases]
    end = converge[-1]["end_visited"] if converge else 0
    points = [(p["end_visited"], p["end_runtime_ns"], p["end_time_ns"], p["pages_sharing"])
              for p in converge]
    points += [tuple(s[:4]) for s in run["samples"] if s[0] <= end]
    return sorted(set(points))


STEADY_PASSES = 6   # w2-dyn: the last settle passes (of 8), for ksmd's steady-state cost


def since_join(run):
    """w2-dyn: the points from the joining processes' arrival, each taken from the last
    point before it (visited, runtime_ns, time_ns from the arrival; pages_sharing)."""
    join_ns = run["join"]["time_ns"]
    points = curve(run, ("converge", "settle", "join"))
    before = [p for p in points if p[2] <= join_ns]
    v0, r0 = (before[-1][0], before[-1][1]) if before else (0, 0)
    return [(v - v0, r - r0, t - join_ns, sharing) for v, r, t, sharing in points
            if t > join_ns]


def steady_state(run):
    """ksmd's cost per pass and per second over the last settle passes (the converged
    system before the join), or None."""
    settle = [p for p in run["passes"] if p["phase"] in ("converge", "settle")]
    if len(settle) <= STEADY_PASSES or not any(p["phase"] == "settle" for p in settle):
        return None
    last = settle[-STEADY_PASSES:]
    runtime = sum(p["runtime_ns"] for p in last)
    seconds = (last[-1]["end_time_ns"] - settle[-STEADY_PASSES - 1]["end_time_ns"]) / 1e9
    return {"passes": len(last), "runtime_ns_per_pass": runtime / len(last),
            "visited_per_pass": sum(p["pages_visited"] for p in last) / len(last),
            "seconds_per_pass": seconds / len(last), "runtime_ns_per_s": runtime / seconds}


def reach(points, target_sharing, level):
    """The first point where pages_sharing >= level x the achievable, or None."""
    for visited, runtime, clock, sharing in points:
        if sharing >= level * target_sharing:
            return {"visited": visited, "runtime_ns": runtime, "time_ns": clock}
    return None


def figures(run):
    dynamic = "join" in run
    points = since_join(run) if dynamic else curve(run)
    candidates = run["join"]["new_candidates"] if dynamic else run["candidates"]
    out = {"oracle_reached": run["oracle"]["reached"], "converged": run["converged"],
           "passes": sum(p["phase"] == "converge" for p in run["passes"]),
           # How far it got: a configuration may never reach 95%.
           "oracle_percent": 100 * run["oracle"]["pages_sharing"] / run["target_sharing"]}
    for level in LEVELS:
        hit = reach(points, run["target_sharing"], level)
        if hit:
            hit["per_candidate"] = hit["visited"] / candidates
        out[f"to_{round(level * 100)}"] = hit
    if dynamic:
        out["steady"] = steady_state(run)
        # For the plot over time: seconds, ksmd CPU and % of the new achievable.
        out["since_join"] = [(t / 1e9, r, 100 * s / run["target_sharing"])
                             for _, r, t, s in points]
    return out


def same_as_baseline(baseline, patched):
    """Workload -> None when the pass-by-pass counts agree, else the first difference."""
    out = {}
    for name, base in baseline.items():
        pat = patched.get(name)
        if pat is None:
            continue
        a = [{k: p[k] for k in SAME_FIELDS} for p in base["passes"]]
        b = [{k: p[k] for k in SAME_FIELDS} for p in pat["passes"]]
        diff = None
        if len(a) != len(b):
            diff = f"{len(a)} passes on the baseline, {len(b)} patched"
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    diff = f"pass {i}: baseline {x}, patched {y}"
                    break
        out[name] = diff
    return out


def check_targets(table):
    """The issue's targets: (what, figure, limit, met)."""
    results = []
    for name in ("w1-ro", "w1-cg"):
        best = [(f["to_95"]["per_candidate"], cfg) for cfg, f in table.get(name, {}).items()
                if cfg in POLICY_CONFIGS and f["to_95"]]
        if best:
            value, cfg = min(best)
            results.append((f"{name}: best policy ({cfg}) visited pages per candidate to 95%",
                            value, W1_TARGET, value <= W1_TARGET))
    w2 = table.get("w2", {})
    upstream = w2.get("baseline", {}).get("to_95")
    best = [(f["to_95"]["visited"], cfg) for cfg, f in w2.items()
            if cfg in POLICY_CONFIGS and f["to_95"]]
    if upstream and best:
        _, cfg = min(best)
        hit = w2[cfg]["to_95"]
        for key, what in (("visited", "visited pages"), ("runtime_ns", "ksmd CPU")):
            ratio = hit[key] / upstream[key]
            results.append((f"w2: best shipped policy ({cfg}) {what} to 95%, of upstream's",
                            ratio, W2_TARGET, ratio <= W2_TARGET))
    return results


def bench_policy_ratios(table):
    """What the benchmark's own policies took to 95% of w2 and w2-dyn, of upstream's,
    beside the target."""
    out = []
    for name in ("w2", "w2-dyn"):
        row = table.get(name, {})
        upstream = row.get("baseline", {}).get("to_95")
        for cfg in BENCH_POLICIES:
            hit = row.get(cfg, {}).get("to_95")
            if upstream and hit:
                out.append({"workload": name, "config": cfg,
                            "visited": hit["visited"] / upstream["visited"],
                            "runtime_ns": hit["runtime_ns"] / upstream["runtime_ns"]})
    return out


def fmt_hit(f, level, key, scale, width, digits):
    """@f's figure @key (divided by @scale) where it reached @level%, or '-'."""
    hit = f[f"to_{level}"]
    return f"{hit[key] / scale:{width}.{digits}f}" if hit else f"{'-':>{width}}"


def fmt_oracle(f):
    return f"{'reached' if f['oracle_reached'] else 'MISSED'} ({f['oracle_percent']:.1f}%)"


def print_table(table, unit, args, minutes):
    print(f"Convergence: {args.processes} processes x {args.pages} pages; visited pages per "
          f"candidate, ksmd CPU (M{unit}) and guest time (ms) to 95% and 100% of the "
          "achievable sharing; '-' never reached")
    print(f"{'workload':<8} {'configuration':<24} {'95%':>7} {'100%':>7} {'CPU 95%':>9} "
          f"{'CPU 100%':>9} {'ms 95%':>8} {'ms 100%':>8}  oracle (% of the achievable)")
    for name, row in table.items():
        if name == "w2-dyn":
            continue
        for cfg, f in row.items():
            print(f"{name:<8} {cfg:<24} {fmt_hit(f, 95, 'per_candidate', 1, 7, 3)} "
                  f"{fmt_hit(f, 100, 'per_candidate', 1, 7, 3)} "
                  f"{fmt_hit(f, 95, 'runtime_ns', 1e6, 9, 1)} "
                  f"{fmt_hit(f, 100, 'runtime_ns', 1e6, 9, 1)} "
                  f"{fmt_hit(f, 95, 'time_ns', 1e6, 8, 0)} "
                  f"{fmt_hit(f, 100, 'time_ns', 1e6, 8, 0)}  {fmt_oracle(f)}")
    if "w2-dyn" in table:
        print_join_table(table["w2-dyn"], unit)
    print(f"took {minutes:.1f} min; details: {args.results}/converge.json")


def print_join_table(row, unit):
    print(f"w2-dyn: from the joining processes' arrival: visited pages per new candidate, "
          f"ksmd CPU (M{unit}), guest seconds to 95% and 100% of the new achievable; before "
          f"the join, steady state over the last {STEADY_PASSES} passes: ksmd CPU per pass "
          f"(M{unit}), seconds per pass, CPU per second (M{unit}/s)")
    print(f"{'configuration':<26} {'95%':>6} {'100%':>6} {'CPU 95%':>8} {'CPU 100%':>8} "
          f"{'s 95%':>7} {'s 100%':>7} {'CPU/pass':>8} {'s/pass':>7} {'CPU/s':>7}  oracle")
    for cfg, f in row.items():
        st = f["steady"]
        steady = (f"{st['runtime_ns_per_pass'] / 1e6:8.1f} {st['seconds_per_pass']:7.2f} "
                  f"{st['runtime_ns_per_s'] / 1e6:7.1f}" if st else f"{'-':>8} {'-':>7} {'-':>7}")
        print(f"{cfg:<26} {fmt_hit(f, 95, 'per_candidate', 1, 6, 2)} "
              f"{fmt_hit(f, 100, 'per_candidate', 1, 6, 2)} "
              f"{fmt_hit(f, 95, 'runtime_ns', 1e6, 8, 1)} "
              f"{fmt_hit(f, 100, 'runtime_ns', 1e6, 8, 1)} "
              f"{fmt_hit(f, 95, 'time_ns', 1e9, 7, 2)} "
              f"{fmt_hit(f, 100, 'time_ns', 1e9, 7, 2)} {steady}  {fmt_oracle(f)}")


def plot(path):
    """The PNG plots, with the virtualenv's Python (matplotlib is installed there)."""
    python = os.path.join(vm.CACHE, "venv", "bin", "python")
    if not os.access(python, os.X_OK):
        python = sys.executable
    subprocess.run([python, os.path.join("scripts", "plot_converge.py"), path], check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default=WORKLOADS, help="of " + WORKLOADS.replace(",", ", "))
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help="the patched kernel's (the baseline runs defaults): " + ", ".join(CONFIGS))
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--pages", type=int, default=8192, help="pages per process")
    args = bench_common.parse_args(ap, SMOKE, "tiny sizes, defaults only, no targets")
    for name in args.workloads.split(","):
        if name not in WORKLOADS.split(","):
            ap.error(f"--workloads: unknown workload '{name}' ({WORKLOADS})")
    configs = args.configs.split(",")
    for cfg in configs:
        if cfg not in CONFIGS:
            ap.error(f"--configs: unknown configuration '{cfg}' ({', '.join(CONFIGS)})")
    if "defaults" not in configs:
        configs.insert(0, "defaults")
    if not 2 <= args.processes <= 64 or args.pages < 4:
        ap.error("--processes must be 2 to 64 and --pages at least 4")
    bench_common.enter_tree(
        [PROGRAM, "build/ksmctl", "build/tools/bin/bpftool"] +
        [f"build/bpf/{TUNED.get(c, c)}.bpf.o" for c in POLICY_CONFIGS if c in configs] +
        [BENCH_POLICIES[c] for c in BENCH_POLICIES if c in configs],
        "bench-converge", "bench-converge")

    t0 = time.monotonic()
    runs = guest_runs("baseline", args, ["defaults"]) + guest_runs("patched", args, configs)
    minutes = (time.monotonic() - t0) / 60

    table, problems = {}, []
    for run in runs:
        cfg = "baseline" if run["variant"] == "baseline" else f"patched {run['config']}"
        table.setdefault(run["name"], {})[cfg] = figures(run)
        if run["config"] in NO_POLICY and not run["oracle"]["reached"]:
            problems.append(f"{run['name']} {cfg}: the oracle reached pages_sharing "
                            f"{run['oracle']['pages_sharing']}, pages_shared "
                            f"{run['oracle']['pages_shared']}, not the layout's "
                            f"{run['target_sharing']}, {run['target_shared']}")
    # Short names: "patched <policy>" -> "<policy>" where that is clear.
    for row in table.values():
        for cfg in list(row):
            short = cfg.replace("patched ", "")
            if short in POLICY_CONFIGS or short in BENCH_POLICIES:
                row[short] = row.pop(cfg)
    equal = same_as_baseline(
        {r["name"]: r for r in runs if r["variant"] == "baseline"},
        {r["name"]: r for r in runs if r["variant"] == "patched" and r["config"] == "defaults"})
    for name, diff in equal.items():
        # w2's rewriting threads race with ksmd: there the counts may differ.
        if diff and not name.startswith("w2"):
            problems.append(f"{name}: patched without a policy differs from the baseline: {diff}")
    targets = [] if args.smoke else check_targets(table)
    bench_policies = bench_policy_ratios(table)
    unit = bench_common.cpu_unit()
    results = {
        **bench_common.results_header(unit, args.smoke, minutes),
        "workload": {"processes": args.processes, "pages_per_process": args.pages,
                     "workloads": args.workloads.split(","), "configs": configs},
        "lines": {"upstream_w1": UPSTREAM_W1, "physical_w1": PHYSICAL_W1},
        "figures": table,
        "same_as_baseline": equal,
        "targets": [{"what": w, "value": v, "limit": lim, "met": met}
                    for w, v, lim, met in targets],
        "bench_policies": bench_policies,
        "problems": problems,
        "runs": runs,
    }
    path = os.path.join(args.results, "converge.json")
    with open(path, "w") as f:
        json.dump(results, f)
    print_table(table, unit, args, minutes)
    for name, diff in equal.items():
        print(f"{name}: patched without a policy, pass by pass, "
              f"{'equals the baseline' if not diff else 'differs: ' + diff}")
    for what, value, limit, met in targets:
        print(f"target: {what}: {value:.3f} (<= {limit}) {'met' if met else 'MISSED'}")
    for b in bench_policies:
        print(f"bench policy: {b['workload']}: {b['config']} to 95%, of upstream's: "
              f"visited pages {b['visited']:.3f}, ksmd CPU {b['runtime_ns']:.3f}")
    plot(path)
    for p in problems:
        print("bench-converge: " + p, file=sys.stderr)
    if problems or not all(t[3] for t in targets):
        sys.exit(1)


if __name__ == "__main__":
    main()
