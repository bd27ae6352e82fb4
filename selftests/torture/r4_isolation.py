#!/usr/bin/env python3
"""R4, isolation under churn (docs/reliability.md): three memory cgroups,
each its own merge domain (`ksmctl cgroup set P merge on domain NAME`), with
processes of identical content; for DURATION seconds processes move between
them, fork, and policies come and go globally and per cgroup, while the
page frames of every process are sampled from pagemap: no frame may ever be
mapped from two domains by processes that are not fork relatives (those share
by copy-on-write what fork left them, which KSM has no part in). A process moved within the last two full scans is
left out of the samples: the kernel unmerges a moved process at once by a
kworker and again before ksmd scans it in its new domain (docs/cgroups.md).

    r4_isolation.py [DURATION]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import (CGROUP, Failed, Worker, cg, clean_slate, expect,  # noqa: E402
                       fresh_cgroups, full_scans, ksmctl, remove_cgroup, wait_shared)
from ksm_torture import (EJECTING, load, steering, pick, report, seeded_rng,  # noqa: E402
                         standalone, torture_seed, unload)

ROOT = "torture4"
DOMAINS = ("d1", "d2", "d3")
SEED = 0x44


class Member:
    """A worker and the cgroup it is in, and when it last moved (full scans)."""

    def __init__(self, worker, cgroup):
        self.w, self.cgroup, self.moved_at = worker, cgroup, -10

    def settled(self):
        return full_scans() >= self.moved_at + 2


def family(m):
    """Fork relatives share frames by copy-on-write, which no domain undoes and
    KSM has no part in: the pid of the worker @m is, or was forked from."""
    return getattr(m.w, "parent", m.w).pid


def sample(members, domain_of):
    """Frames of the settled members, by domain: (frames sampled, merged frames
    seen inside a domain, frames mapped from two domains by processes that are
    not fork relatives)."""
    owners, count, merged, crossing = {}, {}, 0, []
    for m in members:
        if not m.settled():
            continue
        try:
            pfns = m.w.pfns()
        except (Failed, OSError):
            continue        # a page not present (being unmerged or swapped): next time
        if not m.settled():
            continue        # moved while we read it
        d, f = domain_of[m.cgroup], family(m)
        for pfn in pfns:
            count[pfn] = count.get(pfn, 0) + 1
            seen = owners.setdefault(pfn, set())
            other = next(((od, op) for od, of, op in seen if od != d and of != f), None)
            if other:
                crossing.append((pfn, other[0], other[1], d, m.w.pid))
            seen.add((d, f, m.w.pid))
    merged = sum(1 for n in count.values() if n > 1)
    return sum(count.values()), merged, crossing


def run(duration, per_domain=2):
    rng = seeded_rng(torture_seed())
    clean_slate()
    cgroups = fresh_cgroups(ROOT, *DOMAINS)
    domain_of = {}
    for c, d in zip(cgroups, DOMAINS):
        ksmctl("cgroup", "set", cg(c), "merge", "on", "domain", d)
        domain_of[c] = d
    members = [Member(Worker(SEED, c, plain=True), c) for c in cgroups for _ in range(per_domain)]
    workers = list(members)
    children = []
    counts = dict.fromkeys(("moves", "forks", "policy_changes", "samples", "frames_sampled",
                            "merged_frames_seen"), 0)
    try:
        # Each domain merges inside before the churn begins.
        for c in cgroups:
            wait_shared(*[m.w for m in members if m.cgroup == c])
        end = time.monotonic() + duration
        places = [None] + [cg(c) for c in cgroups]
        # A move, a fork, a policy change at every place, then at random.
        tour = ["move", "fork"] + [("policy", w) for w in places]
        while tour or time.monotonic() < end:
            action = tour.pop(0) if tour else pick(rng, ["move"] * 3 + ["fork"] + [
                ("policy", w) for w in places] + ["sample"] * 3)
            if action == "move":
                m = pick(rng, members)
                m.cgroup = pick(rng, [c for c in cgroups if c != m.cgroup])
                m.w.move(m.cgroup)
                m.moved_at = full_scans()
                counts["moves"] += 1
            elif action == "fork" and len(children) < 4:
                parent = pick(rng, workers)
                child = Member(parent.w.fork(), parent.cgroup)
                child.moved_at = parent.moved_at
                children.append(child)
                members.append(child)
                counts["forks"] += 1
            elif action[0] == "policy":
                where = action[1]
                obj, m, *_ = pick(rng, steering(where) + EJECTING)
                unload(where)
                if rng.randrange(3):
                    load(obj, m, where)
                counts["policy_changes"] += 1
            time.sleep(rng.uniform(0.05, 0.3))
            frames, merged, crossing = sample(members, domain_of)
            counts["samples"] += 1
            counts["frames_sampled"] += frames
            counts["merged_frames_seen"] += merged
            expect(not crossing, f"frames mapped from two domains: {crossing[:5]} "
                   f"(pfn, first domain and pid, second domain and pid)")
        # And every process still holds what it wrote.
        for m in members:
            m.w.verify()
    finally:
        for m in workers:
            m.w.stop()
        for where in [None] + [cg(c) for c in cgroups]:
            unload(where)
        clean_slate()
        remove_cgroup(f"{CGROUP}/{ROOT}")
    print(f"# r4: {counts['samples']} samples, {counts['frames_sampled']} frames sampled, "
          f"{counts['merged_frames_seen']} merged frames seen inside domains, "
          f"{counts['moves']} moves, {counts['forks']} forks, {counts['policy_changes']} "
          f"policy changes; frames across domains: 0", flush=True)
    report("r4", dict(counts, duration_s=duration, crossing=0))
    expect(counts["merged_frames_seen"] > 0, "no merged frame seen: isolation was not tested")
    return counts


if __name__ == "__main__":
    standalone("r4", run, 120)
