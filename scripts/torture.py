#!/usr/bin/env python3
"""`make torture`: R1-R4 (docs/reliability.md) for DURATION seconds in all.

R1, R3 and R4 run in one boot of the patched kernel, R2 in one boot of the
debug kernel (KASAN, lockdep, DEBUG_VM, DEBUG_LIST, kmemleak), each part for
its share of DURATION (selftests/lib/ksm_torture.py split()). A kernel
report in either guest fails the run (scripts/vm.py). Prints a summary and
keeps the figures in build/torture/results.json, the guests' output in
build/logs/torture-VARIANT.log.

    scripts/torture.py [--duration S] [--parts r1,r2,r3,r4]
"""
import argparse
import datetime
import json
import os
import re
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import vm  # noqa: E402

RUNNER = os.path.join(TOP, "build", "selftests", "torture", "torture.py")
VARIANT_OF = {"r1": "patched", "r2": "debug", "r3": "patched", "r4": "patched"}
SUMMARY = re.compile(r"^torture-summary (r\d) (\{.*\})$", re.M)
PART = re.compile(r"^torture-part (r\d) (ok|failed.*?) \((\d+) s\)$", re.M)
KERNEL = re.compile(r"^# kernel (\S+) ", re.M)


def boot(variant, parts, duration):
    logdir = os.path.join(TOP, "build", "logs")
    os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, f"torture-{variant}.log")
    t0 = time.monotonic()
    with open(path, "wb+") as log:
        status, reports = vm.run(["python3", RUNNER, str(duration), *parts], variant=variant,
                                 stdout=log, timeout=duration * 3 + 1800)
        log.seek(0)
        out = log.read().decode(errors="replace")
    sys.stdout.write(out)
    took = time.monotonic() - t0
    print(f"# {variant} guest: {took:.0f} s, status {status} (log: "
          f"{os.path.relpath(path, TOP)})", flush=True)
    return status, reports, out, took


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=600)
    ap.add_argument("--parts", default="r1,r2,r3,r4")
    args = ap.parse_args()
    parts = args.parts.split(",")
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "duration": args.duration, "parts": {}, "kernels": {}, "boots": {}}
    failed = []
    for variant in ("patched", "debug"):
        mine = [p for p in parts if VARIANT_OF[p] == variant]
        if not mine:
            continue
        status, reports, out, took = boot(variant, mine, args.duration)
        m = KERNEL.search(out)
        results["kernels"][variant] = m.group(1) if m else None
        results["boots"][variant] = {"status": status, "seconds": round(took),
                                     "kernel_reports": len(reports)}
        figures = {p: json.loads(j) for p, j in SUMMARY.findall(out)}
        verdicts = {p: (v, int(s)) for p, v, s in PART.findall(out)}
        for p in mine:
            verdict, secs = verdicts.get(p, ("never finished", 0))
            results["parts"][p] = {"variant": variant, "verdict": verdict, "seconds": secs,
                                   "figures": figures.get(p)}
            if verdict != "ok":
                failed.append(f"{p}: {verdict}")
        if reports:
            failed.append(f"{variant} kernel: {len(reports)} reports")
        elif status != 0 and not any(f.startswith(tuple(mine)) for f in failed):
            failed.append(f"{variant} guest: status {status}")
    out_dir = os.path.join(TOP, "build", "torture")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    print("\n== torture summary ==")
    for p in parts:
        r = results["parts"].get(p, {})
        fig = r.get("figures") or {}
        brief = {
            "r1": lambda: f"{fig['bytes_verified']} bytes verified, {fig['corruptions']} "
                          f"corruptions, pages_sharing peak {fig['pages_sharing_peak']}",
            "r2": lambda: f"{fig['loaded']}+{fig['replaced']} loads/replacements, "
                          f"{fig['ejected']} ejections (longest {fig['eject_max_s']} s), "
                          f"{fig['bytes_verified']} bytes verified, {fig['corruptions']} "
                          f"corruptions, kmemleak: {fig['kmemleak']}",
            "r3": lambda: f"{fig['ejected']} ejections (longest {fig['eject_max_s']} s, "
                          f"{fig['eject_max_full_scans']} full scans), longest mmap_lock "
                          f"wait {fig['writer_max_ms']} ms (bound {fig['writer_bound_ms']})",
            "r4": lambda: f"{fig['frames_sampled']} frames sampled in {fig['samples']} "
                          f"samples, {fig['moves']} moves, frames across domains: "
                          f"{fig['crossing']}",
        }[p]
        print(f"{p} ({r.get('variant', VARIANT_OF[p])}, {r.get('seconds', 0)} s): "
              f"{r.get('verdict', 'not run')}" + (f"; {brief()}" if fig else ""))
    for v, b in results["boots"].items():
        print(f"{v} kernel {results['kernels'].get(v)}: {b['kernel_reports']} kernel reports")
    print(f"torture: {'FAILED: ' + '; '.join(failed) if failed else 'passed'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
