#!/usr/bin/env python3
"""PNG plots of a convergence run (build/bench/converge.json, scripts/bench_converge.py).

Per workload: the percentage of the achievable sharing against the pages ksmd
visited (per candidate page) and against ksmd's CPU time, one line per
configuration; for w2-dyn, the same against the guest seconds and ksmd's CPU
since the new processes joined; and the P3 bars: visited pages per candidate
to 95% and 100%, with upstream's ~1.96 and the physical limit ~0.96 for W1.
Written beside the JSON: converge-WORKLOAD.png and converge-bars.png.

matplotlib is installed by `make setup` into the project's virtualenv; without
it this says so and writes nothing (exit status 0: the figures are in the JSON).

    scripts/plot_converge.py [build/bench/converge.json]
"""
import json
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    plt = None


def label(run):
    return "baseline (upstream)" if run["variant"] == "baseline" else f"patched {run['config']}"


def convergence_curve(run):
    """(visited per candidate, ksmd CPU, % of the achievable) in the convergence phase."""
    converge = [p for p in run["passes"] if p["phase"] == "converge"]
    end = converge[-1]["end_visited"] if converge else 0
    points = sorted({(p["end_visited"], p["end_runtime_ns"], p["pages_sharing"])
                     for p in converge} |
                    {(s[0], s[1], s[3]) for s in run["samples"] if s[0] <= end})
    return ([v / run["candidates"] for v, _, _ in points],
            [r for _, r, _ in points],
            [100 * s / run["target_sharing"] for _, _, s in points])


def plot_workload(runs, name, unit, out):
    fig, (by_pages, by_cpu) = plt.subplots(1, 2, figsize=(13, 5))
    for run in runs:
        x, cpu, pct = convergence_curve(run)
        style = "--" if run["variant"] == "baseline" else "-"
        by_pages.step(x, pct, style, where="post", label=label(run))
        by_cpu.step([c / 1e6 for c in cpu], pct, style, where="post", label=label(run))
    for ax in (by_pages, by_cpu):
        ax.axhline(95, color="grey", linewidth=0.5)
        ax.set_ylabel("% of the achievable pages_sharing")
        ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
    by_pages.set_xlabel("pages visited per candidate page")
    by_cpu.set_xlabel(f"ksmd CPU (million {unit})")
    by_pages.legend(fontsize=7)
    r = runs[0]
    fig.suptitle(f"{name}: {r['processes']} processes x {r['pages_per_process']} pages")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_join(data, out):
    """w2-dyn over time: % of the new achievable since the join, by seconds and by CPU."""
    fig, (by_time, by_cpu) = plt.subplots(1, 2, figsize=(13, 5))
    for cfg, f in data["figures"]["w2-dyn"].items():
        points = f["since_join"]
        style = "--" if cfg == "baseline" else "-"
        by_time.step([t for t, _, _ in points], [p for _, _, p in points], style,
                     where="post", label=cfg)
        by_cpu.step([r / 1e6 for _, r, _ in points], [p for _, _, p in points], style,
                    where="post", label=cfg)
    for ax in (by_time, by_cpu):
        ax.axhline(95, color="grey", linewidth=0.5)
        ax.set_ylabel("% of the new achievable pages_sharing")
        ax.grid(alpha=0.3)
    # Linear to 1 s, then logarithmic: adaptive takes a minute, the others seconds.
    by_time.set_xscale("symlog", linthresh=1)
    by_time.set_xlim(left=0)
    by_time.set_xlabel("guest seconds since the new processes joined")
    by_cpu.set_xlabel(f"ksmd CPU since they joined (million {data['unit']})")
    by_time.legend(fontsize=7, loc="lower right")
    fig.suptitle("w2-dyn: two processes join a converged w2")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_bars(data, out):
    # w2-dyn's figures are per new candidate, on another scale: its own plot.
    names = [n for n in data["figures"] if n != "w2-dyn"]
    configs = list(dict.fromkeys(c for row in data["figures"].values() for c in row))
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 5), squeeze=False)
    for ax, name in zip(axes[0], names):
        row = data["figures"][name]
        for i, level in enumerate((95, 100)):
            values = [(row[c][f"to_{level}"] or {}).get("per_candidate", 0) if c in row else 0
                      for c in configs]
            ax.bar([j + i * 0.4 for j in range(len(configs))], values, 0.4, label=f"to {level}%")
        if name.startswith("w1"):
            ax.axhline(data["lines"]["upstream_w1"], color="red", linestyle="--",
                       label="upstream ~1.96")
            ax.axhline(data["lines"]["physical_w1"], color="green", linestyle=":",
                       label="physical limit ~0.96")
        ax.set_xticks([j + 0.2 for j in range(len(configs))])
        ax.set_xticklabels(configs, rotation=60, ha="right", fontsize=7)
        ax.set_title(name)
        ax.set_ylabel("visited pages per candidate (0: never reached)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "bench", "converge.json")
    if plt is None:
        print("plot_converge: matplotlib is not installed (run 'make setup', which installs it "
              "into the virtualenv): no plots, the figures are in " + path)
        return
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"plot_converge: {path}: {e}")
    out_dir = os.path.dirname(path)
    written = []
    for name in data["figures"]:
        runs = [r for r in data["runs"] if r["name"] == name]
        out = os.path.join(out_dir, f"converge-{name}.png")
        if name == "w2-dyn":
            plot_join(data, out)
        else:
            plot_workload(runs, name, data["unit"], out)
        written.append(out)
    if any(n != "w2-dyn" for n in data["figures"]):
        out = os.path.join(out_dir, "converge-bars.png")
        plot_bars(data, out)
        written.append(out)
    print("plots: " + ", ".join(written))


if __name__ == "__main__":
    main()
