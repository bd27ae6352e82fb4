#!/usr/bin/env python3
"""R2, policy churn (docs/reliability.md): for DURATION seconds, policies are
loaded, replaced and unloaded, globally and per memory cgroup, and test
policies that get themselves ejected are attached, while ksmd scans flat out
and R1 runs in three cgroups, one of them left to the global
policy. Meant for the debug kernel (KASAN, lockdep,
DEBUG_VM, kmemleak): the VM runner fails the run on any kernel report, and
kmemleak, where the kernel has it, must list nothing at the end.

    r2_policy_churn.py [DURATION]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import (CGROUP, cg, clean_slate, expect, fresh_cgroups, ksmctl,  # noqa: E402
                       remove_cgroup)
from ksm_torture import (EJECTING, CowTorture, steering, attached, flat_out,  # noqa: E402
                         kmemleak_leaks, kmemleak_ready, load, pick, report, seeded_rng,
                         standalone, torture_seed, unload, wait_ejected)
import r1_cow  # noqa: E402

ROOT = "torture2"


ACTIONS = ("load", "replace", "unload", "eject", "stats")


def churn_step(rng, action, where, counts, eject_times):
    """One policy change at @where (None: the global slot, else a cgroup)."""
    print(f"# r2: {action} at {where or 'the top'} ({attached(where)} attached)", flush=True)
    if action == "load":
        unload(where)
        load(*pick(rng, steering(where)), where)
        counts["loaded"] += 1
    elif action == "replace":
        if attached(where) == "none":
            load(*pick(rng, steering(where)), where)
        load(*pick(rng, steering(where)), where, replace=True)
        counts["replaced"] += 1
    elif action == "unload":
        unload(where)
        counts["unloaded"] += 1
    elif action == "eject":
        obj, m, reason = pick(rng, EJECTING)
        unload(where)
        load(obj, m, where)
        took, _ = wait_ejected(m, where)
        counts["ejected"] += 1
        eject_times.append(took)
        unload(where)
    else:
        # The statistics programs attach to and leave the ksm tracepoints.
        ksmctl("stats", "enable" if rng.randrange(2) else "disable", check=False)
        counts["stats_toggled"] += 1


def run(duration):
    rng = seeded_rng(torture_seed())
    clean_slate()
    r1_cow.zram_swap()
    leaks_checked = kmemleak_ready()
    variant = os.environ.get("KSM_KERNEL_VARIANT", "")
    expect(leaks_checked or variant != "debug", "the debug kernel has no kmemleak")
    # No policy ever attaches to c: the global slot decides for its processes,
    # so a policy ejected at the top always has pages to judge.
    a, b, c = fresh_cgroups(ROOT, "a", "b", "c")
    flat_out()
    counts = dict.fromkeys(("loaded", "replaced", "unloaded", "ejected", "stats_toggled"), 0)
    eject_times = []
    # R1 in each cgroup (same content: they merge across cgroups too).
    # R1 runs until stopped: the tour of every action may outlast DURATION. On
    # the debug kernel under TCG each ksmctl load takes tens of seconds: R1
    # lighter there, so that the churn gets through more changes.
    light = variant == "debug"
    r1s = [CowTorture(duration + 3600, procs=2 if light else 4, pages=128 if light else 192,
                      cgroup=cg(where), extra=["--op-sleep-us", "2000"] if light else [])
           for where in (a, b, c)]
    try:
        end = time.monotonic() + duration
        # Every action at every place once, then at random for the rest.
        tour = [(act, where) for where in (None, cg(a), cg(b)) for act in ACTIONS]
        while (tour or time.monotonic() < end) and all(r.p.poll() is None for r in r1s):
            act, where = tour.pop(0) if tour else (pick(rng, ACTIONS),
                                                   pick(rng, [None, cg(a), cg(b)]))
            churn_step(rng, act, where, counts, eject_times)
        for r in r1s:
            r.stop()
        results = [r.result(timeout=600) for r in r1s]
        expect(not tour, f"R1 ended before the churn went through every action: {tour}")
    finally:
        for r in r1s:
            r.kill()
        for where in (None, cg(a), cg(b)):
            unload(where)
        ksmctl("stats", "disable", check=False)
        clean_slate()
        remove_cgroup(f"{CGROUP}/{ROOT}")
    leaks = kmemleak_leaks() if leaks_checked else None
    figures = dict(counts, duration_s=duration,
                   bytes_verified=sum(r["bytes_verified"] for r in results),
                   corruptions=sum(r["corruptions"] for r in results),
                   pages_sharing_peak=max(r["pages_sharing_peak"] for r in results),
                   eject_max_s=round(max(eject_times), 3) if eject_times else None,
                   kmemleak=("not in this kernel" if leaks is None else
                             "nothing listed" if not leaks else f"{leaks.count('unreferenced')}"
                             " objects"))
    print(f"# r2: {counts['loaded']} loads, {counts['replaced']} replacements, "
          f"{counts['unloaded']} unloads, {counts['ejected']} ejections (longest "
          f"{figures['eject_max_s']} s), {counts['stats_toggled']} stats toggles in "
          f"{duration} s; kmemleak: {figures['kmemleak']}", flush=True)
    report("r2", figures)
    if leaks:
        print(leaks[:4000], flush=True)
    expect(not leaks, "kmemleak lists unreferenced objects")
    expect(counts["ejected"] and counts["loaded"] + counts["replaced"],
           "the churn never loaded or never ejected a policy")
    return figures


if __name__ == "__main__":
    standalone("r2", run, 120)
