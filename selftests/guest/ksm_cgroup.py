#!/usr/bin/env python3
"""Per-cgroup KSM (ksmctl cgroup, bpf/cgroup.bpf.c), in the guest, as KTAP.

The workers are unmodified unless a case says so: they never madvise, so
what merges does because of the cgroup's setting. Tenants are cgroups
under /sys/fs/cgroup/ksmtest/.
"""
import os
import sys
import time


# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403

ROOT = "ksmtest"


def setup(*names):
    """Fresh cgroups ROOT/NAME..., no policy, ksmd fast."""
    clean_slate()
    if os.path.exists(f"{CGROUP}/{ROOT}"):
        remove_cgroup(f"{CGROUP}/{ROOT}")
    write(f"{make_cgroup(ROOT)}/cgroup.subtree_control", "")
    return [make_cgroup(f"{ROOT}/{n}") for n in names]


def cg(path):
    return "/" + os.path.relpath(path, CGROUP)


def stop(*workers):
    for w in workers:
        w.stop()


def merging_never(workers, seconds=3):
    """Nothing merges for a while (ksmd may have no process to scan at all)."""
    time.sleep(seconds)
    for w in workers:
        expect(w.merging() == 0, f"{w.pid} merges {w.merging()} pages")


def shared(a, b):
    """True when every page of a's region is b's page (same PFN)."""
    try:
        return all(a.pfn(i) == b.pfn(i) for i in range(PAGES))
    except (Failed, OSError):
        return False


def wait_shared(*workers):
    """All of @workers (same seed) map their regions at the same PFNs.

    A process KSM merges as a whole (merge=on) merges more than its region,
    so /proc/PID/ksm_merging_pages says little: the PFNs say it exactly.
    """
    wait_for(lambda: all(shared(workers[0], w) for w in workers[1:]),
             lambda: "regions shared: " + ", ".join(
                 f"{w.pid}:{shared(workers[0], w)}" for w in workers[1:]))


def case_merge_on_enrolls_unmodified_processes():
    a, = setup("a")
    ws = [Worker(1, a, plain=True), Worker(1, a, plain=True)]
    try:
        merging_never(ws)
        out = ksmctl("cgroup", "set", cg(a), "merge=on")[1]
        expect("2 running processes changed" in out, f"set said: {out!r}")
        wait_shared(*ws)
        # Started in the cgroup later (moved in, then exec), and moved in later.
        ws.append(Worker(1, a, plain=True))
        ws.append(Worker(1, plain=True))
        ws[-1].move(a)
        wait_shared(*ws)
    finally:
        stop(*ws)


def case_isolated_domains_share_nothing():
    a, b = setup("a", "b")
    for c in (a, b):
        ksmctl("cgroup", "set", cg(c), "merge=on", "domain=isolated")
    ws = [Worker(2, a, plain=True), Worker(2, a, plain=True),
          Worker(2, b, plain=True), Worker(2, b, plain=True)]
    try:
        wait_shared(ws[0], ws[1])
        wait_shared(ws[2], ws[3])
        wait_scans(2)
        pa = {ws[0].pfn(i) for i in range(PAGES)}
        pb = {ws[2].pfn(i) for i in range(PAGES)}
        expect(not pa & pb, f"{len(pa & pb)} PFNs shared across isolated cgroups")
    finally:
        stop(*ws)


def case_named_domain_joins_cgroups():
    a, b = setup("a", "b")
    for c in (a, b):
        ksmctl("cgroup", "set", cg(c), "merge=on", "domain=tenant-1")
    ws = [Worker(3, a, plain=True), Worker(3, b, plain=True)]
    try:
        wait_shared(*ws)
        show = {r["cgroup"]: r for r in ksmctl_json("cgroup", "show")}
        expect(show[cg(a)]["setting"]["domain"] == "tenant-1" and
               show[cg(a)]["setting"]["domain_id"] == show[cg(b)]["setting"]["domain_id"],
               f"cgroup show: {show}")
    finally:
        stop(*ws)


def case_merge_off_overrides_madvise_and_unmerges():
    a, = setup("a")
    ws = [Worker(4, a), Worker(4, a)]		# these madvise themselves
    try:
        wait_shared(*ws)
        out = ksmctl("cgroup", "set", cg(a), "merge=off")[1]
        expect("2 running processes changed" in out, f"set said: {out!r}")
        wait_for(lambda: all(w.merging() == 0 for w in ws), "the cgroup to be unmerged")
        merging_never(ws)
    finally:
        stop(*ws)


def case_max_pages_holds():
    a, = setup("a")
    cap = 16
    ksmctl("cgroup", "set", cg(a), "merge=on", f"max-pages={cap}")
    ws = [Worker(5, a, plain=True), Worker(5, a, plain=True)]
    try:
        wait_for(lambda: sum(w.merging() for w in ws) >= cap, "merging up to the cap")
        wait_scans(4)
        total = sum(w.merging() for w in ws)
        expect(total <= cap, f"{total} pages merged, cap {cap}")
        ksmctl("cgroup", "set", cg(a), "max-pages=none")
        wait_shared(*ws)
    finally:
        stop(*ws)


def case_inherit_follows_the_hierarchy():
    parent, = setup("p")
    child = make_cgroup(f"{ROOT}/p/c")
    ksmctl("cgroup", "set", cg(parent), "merge=on")
    ws = [Worker(6, child, plain=True), Worker(6, child, plain=True)]
    try:
        wait_shared(*ws)
        eff = ksmctl_json("cgroup", "show", cg(child))[0]
        expect(eff["setting"]["merge"] == "inherit" and eff["effective"]["merge"] == "on",
               f"cgroup show: {eff}")
        # The child says off: it overrides the parent.
        ksmctl("cgroup", "set", cg(child), "merge=off")
        wait_for(lambda: all(w.merging() == 0 for w in ws), "the child to be unmerged")
    finally:
        stop(*ws)


def case_moving_a_process_changes_its_treatment():
    on, off = setup("on", "off")
    ksmctl("cgroup", "set", cg(on), "merge=on")
    ksmctl("cgroup", "set", cg(off), "merge=off")
    ws = [Worker(7, on, plain=True), Worker(7, on, plain=True)]
    try:
        wait_shared(*ws)
        ws[1].move(off)
        wait_for(lambda: ws[1].merging() == 0, "the moved process to be unmerged")
        merging_never(ws[1:])
        ws[1].move(on)
        wait_shared(*ws)
    finally:
        stop(*ws)


def case_cgroup_stats_are_kept_incrementally():
    a, = setup("a")
    ksmctl("cgroup", "set", cg(a), "merge=on")
    ws = [Worker(8, a, plain=True), Worker(8, a, plain=True)]
    try:
        wait_shared(*ws)
        wait_scans(2)
        row = {r["cgroup"]: r for r in ksmctl_json("stats", "cgroup")}[cg(a)]
        expect(row["pages_sharing"] == sum(w.merging() for w in ws), f"cgroup row {row}")
        expect(row["bytes_saved"] > 0 and row["pages_merged"] >= 2 * PAGES, f"{row}")
        ws[0].write()
        wait_for(lambda: {r["cgroup"]: r for r in ksmctl_json("stats", "cgroup")}[cg(a)]
                 ["cow_writes"] >= 1, lambda: f"the COW to be counted: "
                 f"{[r for r in ksmctl_json('stats', 'cgroup') if r['cgroup'] == cg(a)]}")
        ws[0].stop()
        wait_scans(2)
        row = {r["cgroup"]: r for r in ksmctl_json("stats", "cgroup")}[cg(a)]
        expect(row["pages_sharing"] == ws[1].merging(), f"after an exit: {row}")
    finally:
        stop(*ws)


def case_removing_a_cgroup_releases_its_state():
    a, = setup("a")
    ksmctl("cgroup", "set", cg(a), "merge=on", "domain=isolated", "max-pages=1000")
    ws = [Worker(9, a, plain=True), Worker(9, a, plain=True)]
    try:
        wait_shared(*ws)
    finally:
        stop(*ws)
    ident = ksmctl_json("cgroup", "show", cg(a))[0]["id"]
    os.rmdir(a)
    wait_for(lambda: all(r["id"] != ident for r in ksmctl_json("cgroup", "show")),
             "the removed cgroup's settings to go", timeout=10)
    expect(all(r["cgroup_id"] != ident for r in ksmctl_json("stats", "cgroup")),
           "the removed cgroup's statistics stayed")


def case_bad_settings_are_refused():
    a, = setup("a")
    expect_error(["cgroup", "set", cg(a), "merge=maybe"], 2, ["merge"])
    expect_error(["cgroup", "set", cg(a), "max-pages=0"], 2, ["max-pages"])
    expect_error(["cgroup", "set", cg(a), "domain=no/slash"], 2, ["domain"])
    expect_error(["cgroup", "set", cg(a), "colour=blue"], 2, ["colour"])
    expect_error(["cgroup", "set", "/no/such/cgroup", "merge=on"], 2, ["not a cgroup"])
    expect_error(["cgroup", "set", cg(a), "merge=on"], 4, ["permission denied"], user=NOBODY)
    nothing_left()
    ksmctl("policy", "load", f"{BPF}/default.bpf.o")
    expect_error(["cgroup", "set", cg(a), "merge=on"], 1, ["default", "cgroup policy"])
    ksmctl("policy", "unload")


CASES = [
    case_merge_on_enrolls_unmodified_processes,
    case_isolated_domains_share_nothing,
    case_named_domain_joins_cgroups,
    case_merge_off_overrides_madvise_and_unmerges,
    case_max_pages_holds,
    case_inherit_follows_the_hierarchy,
    case_moving_a_process_changes_its_treatment,
    case_cgroup_stats_are_kept_incrementally,
    case_removing_a_cgroup_releases_its_state,
    case_bad_settings_are_refused,
]

if __name__ == "__main__":
    status = run_cases(CASES)
    if os.path.exists(f"{CGROUP}/{ROOT}"):
        remove_cgroup(f"{CGROUP}/{ROOT}")
    sys.exit(status)
