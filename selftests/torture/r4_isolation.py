#!/usr/bin/env python3
"""R4, isolation under churn (docs/reliability.md): three memory cgroups,
each its own merge domain (`ksmctl cgroup set P merge on domain NAME`), with
processes of identical content; for DURATION seconds processes move between
them, fork, and policies come and go globally and per cgroup, while the
page frames of every process are sampled from pagemap: no frame may ever be
mapped from two domains, except one that fork left shared by copy-on-write
between a process and its child, which KSM has no part in (/proc/kpageflags
tells a ksm page from it). A process moved within the last two full scans is
left out of the samples: the kernel unmerges a moved process at once by a
kworker and again before ksmd scans it in its new domain (docs/cgroups.md).

    r4_isolation.py [DURATION]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import (CGROUP, Failed, Worker, cg, clean_slate, expect,  # noqa: E402
                       fresh_cgroups, full_scans, ksm_frame, ksmctl, remove_cgroup,
                       wait_shared)
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
    """The pid of the worker @m is, or was forked from: fork relatives may map
    the same frames by copy-on-write, which KSM has no part in."""
    return getattr(m.w, "parent", m.w).pid


def still_shared(pfn, *sides):
    """Does every member of @sides still map @pfn (read again, now)?"""
    try:
        return all(pfn in m.pfns() for m in sides)
    except (Failed, OSError):
        return False


def sample(members, domain_of):
    """Frames of the settled members, by domain: (frames sampled, merged frames
    seen inside a domain, frames KSM shares across domains, frames fork left
    shared across domains). A frame mapped from two domains is a crossing unless
    the two are fork relatives and it is not a ksm page. A ksm page is one for
    good once seen: mapped by both sides after that, it was one while both did."""
    owners, count, crossing, forked = {}, {}, [], set()
    known_ksm = {}      # pfn -> ksm page?, read once per sample

    def is_ksm(pfn):
        if pfn not in known_ksm:
            known_ksm[pfn] = ksm_frame(pfn)
        return known_ksm[pfn]

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
            seen = owners.setdefault(pfn, [])
            for od, of, om in seen:
                if od == d:
                    continue
                if of != f:
                    crossing.append((pfn, od, om.w.pid, d, m.w.pid, "unrelated"))
                elif not is_ksm(pfn):
                    forked.add(pfn)
                elif still_shared(pfn, om.w, m.w):
                    crossing.append((pfn, od, om.w.pid, d, m.w.pid, "ksm page"))
            seen.append((d, f, m))
    merged = sum(1 for pfn, n in count.items() if n > 1 and is_ksm(pfn))
    return sum(count.values()), merged, crossing, len(forked)


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
                            "merged_frames_seen", "fork_shared_frames_seen"), 0)
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
            frames, merged, crossing, forked = sample(members, domain_of)
            counts["samples"] += 1
            counts["frames_sampled"] += frames
            counts["merged_frames_seen"] += merged
            counts["fork_shared_frames_seen"] += forked
            expect(not crossing, f"frames mapped from two domains: {crossing[:5]} "
                   f"(pfn, first domain and pid, second domain and pid, why)")
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
          f"{counts['fork_shared_frames_seen']} left shared by fork across them, "
          f"{counts['moves']} moves, {counts['forks']} forks, {counts['policy_changes']} "
          f"policy changes; frames across domains: 0", flush=True)
    report("r4", dict(counts, duration_s=duration, crossing=0))
    expect(counts["merged_frames_seen"] > 0, "no merged frame seen: isolation was not tested")
    return counts


if __name__ == "__main__":
    standalone("r4", run, 120)
