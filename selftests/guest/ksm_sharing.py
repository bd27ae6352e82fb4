#!/usr/bin/env python3
"""`ksmctl stats sharing` in the guest, as KTAP: the ksm pages each pair of
cgroups maps, checked against the PFNs the processes map (pagemap) after
ksmd's full passes, through merges, a copy-on-write, a move between cgroups
and an exit; a merge domain that holds; and counts that say when they are
not exact (ksm pages older than the statistics, a full map, a ksm page of
more cgroups than are followed).

Names on the command line (without "case_") run only those cases.
"""
import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403

ROOT = "ksmsharing"
# Page contents (ksm_guest's WORKER): seed s fills its pages with bytes s..s+PAGES-1
# (mod 251), so these seeds share no page with each other.
X, Y = 0, 100


def pagemap_pairs(procs):
    """What the PFNs of the workers' pages say, as ksm_page_pairs() counts them."""
    mappers = collections.defaultdict(list)
    for p in procs:
        c = cgroup_of(p.pid)
        for i in range(PAGES):
            mappers[p.pfn(i)].append(c)
    return ksm_page_pairs(mappers.values())


def ksmctl_pairs():
    """What `ksmctl --json stats sharing` says, the same way, and the rest of it."""
    out = ksmctl_json("stats", "sharing")
    pairs = {}
    for p in out["pairs"]:
        key = tuple(sorted((p["cgroup_a"]["path"], p["cgroup_b"]["path"])))
        expect(key not in pairs, f"pair {key} shown twice")
        pairs[key] = p["ksm_pages"]
    return pairs, out


def expect_pairs(procs, want, what):
    """After two full passes ksmd has seen every change: ksmctl's pairs must be
    the pagemap's, and both the layout's (@want, by cgroup directory)."""
    wait_scans(2)
    want = {tuple(sorted((cg(a), cg(b)))): n for (a, b), n in want.items()}
    seen = pagemap_pairs(procs)
    got, out = ksmctl_pairs()
    expect(seen == want, f"{what}: the PFNs say {seen}, the layout {want}")
    expect(got == seen, f"{what}: ksmctl says {got}, the PFNs {seen}")
    expect(out["exact"] and out["inexact_reason"] is None, f"{what}: not exact: {out}")
    expect(out["across_domains_ksm_pages"] == 0, f"{what}: pages across domains: {out}")
    for p in procs:
        p.verify()


def case_pairs_follow_merges_writes_moves_and_exits():
    clean_slate()
    a, b, c, d = fresh_cgroups(ROOT, "a", "b", "c", "d")
    write(f"{d}/memory.ksm_domain", "isolated")
    ksmctl("stats", "enable", "sharing", "on")
    a1, a2, b1 = Worker(X, a), Worker(X, a), Worker(X, b)
    b2, c1 = Worker(Y, b), Worker(Y, c)
    d1, d2 = Worker(X, d), Worker(X, d)
    procs = [a1, a2, b1, b2, c1, d1, d2]
    try:
        wait_shared(a1, a2, b1)
        wait_shared(b2, c1)
        wait_shared(d1, d2)
        # d's pages are X's too, but d is a domain of its own.
        expect(not shared(a1, d1), "an isolated cgroup shares with another")
        expect_pairs(procs, {(a, a): PAGES, (a, b): PAGES, (b, c): PAGES, (d, d): PAGES},
                     "merged")

        b1.write()      # page 0 of b1 copied on write
        expect_pairs(procs, {(a, a): PAGES, (a, b): PAGES - 1, (b, c): PAGES,
                             (d, d): PAGES}, "after a write")

        c1.move(a)      # same domain: its mappings stay, now a's
        expect_pairs(procs, {(a, a): PAGES, (a, b): 2 * PAGES - 1, (d, d): PAGES},
                     "after a move")

        a2.stop()       # a keeps X through a1 alone
        procs.remove(a2)
        expect_pairs(procs, {(a, b): 2 * PAGES - 1, (d, d): PAGES}, "after an exit")

        text = ksmctl("stats", "sharing", "format", "openmetrics")[1]
        fam = metric_families(text, True)
        expect(one(fam, "ksm_sharing_exact") == 1, "openmetrics: not exact")
        expect(one(fam, "ksm_cgroup_pair_shared_pages", cgroup_a=cg(a), domain_a="shared",
                   cgroup_b=cg(b), domain_b="shared") == 2 * PAGES - 1, "openmetrics: a-b")
        expect(one(fam, "ksm_cgroup_pair_shared_pages", cgroup_a=cg(d),
                   domain_a=f"isolated({cg(d)})", cgroup_b=cg(d),
                   domain_b=f"isolated({cg(d)})") == PAGES, "openmetrics: d itself")
        # The fleet export has them too.
        fam = metric_families(ksmctl("stats", "format", "prometheus")[1], False)
        expect(one(fam, "ksm_cgroup_pair_shared_pages", cgroup_a=cg(a), domain_a="shared",
                   cgroup_b=cg(b), domain_b="shared") == 2 * PAGES - 1, "prometheus: a-b")
        table = ksmctl("stats", "sharing")[1]
        expect("across merge domains: 0" in table and "not exact" not in table,
               f"the table says {table!r}")

        write(f"{KSM}/run", 2)      # unmerge all: every mapping leaves
        got, out = ksmctl_pairs()
        expect(got == {}, f"after unmerging everything ksmctl says {got}")
    finally:
        for p in procs:
            p.stop()


def case_counts_say_when_they_are_not_exact():
    clean_slate()
    a, b = fresh_cgroups(ROOT, "a", "b")
    early = [Worker(X, a), Worker(X, b)]
    late = []
    try:
        wait_shared(*early)
        ksmctl("stats", "enable", "sharing", "on")       # ksm pages exist already
        _, out = ksmctl_pairs()
        expect(not out["exact"] and out["partial"] and "existed" in out["inexact_reason"],
               f"older ksm pages: {out}")
        expect("not exact: ksm pages existed" in ksmctl("stats", "sharing")[1],
               "the table does not say it is not exact")

        ksmctl("stats", "disable")
        for w in early:
            w.stop()
        write(f"{KSM}/run", 2)      # no ksm page left
        write(f"{KSM}/run", 1)
        ksmctl("stats", "enable", "sharing", "on", "max-mappings", "16")
        late = [Worker(Y, a), Worker(Y, b)]
        wait_shared(*late)
        wait_scans(2)
        _, out = ksmctl_pairs()
        expect(not out["partial"], f"partial though enabled before any merge: {out}")
        expect(not out["exact"] and out["dropped_mappings"] > 0 and
               "full" in out["inexact_reason"], f"a full map: {out}")
        fam = metric_families(ksmctl("stats", "sharing", "format", "openmetrics")[1], True)
        expect(one(fam, "ksm_sharing_exact") == 0, "openmetrics says exact")
        expect(one(fam, "ksm_sharing_missed_mappings_total", reason="map_full") ==
               out["dropped_mappings"], "openmetrics: missed mappings")
    finally:
        for w in early + late:
            w.stop()


def case_a_page_of_too_many_cgroups_is_counted_as_crowded():
    clean_slate()
    n = 9       # one more than a ksm page's cgroups followed
    groups = fresh_cgroups(ROOT, *(f"g{i}" for i in range(n)))
    ksmctl("stats", "enable", "sharing", "on")
    ws = []
    try:
        ws = [Worker(X, g) for g in groups]
        wait_shared(*ws)
        wait_scans(2)
        got, out = ksmctl_pairs()
        expect(out["crowded_mappings"] == PAGES and not out["exact"] and
               "more than 8 cgroups" in out["inexact_reason"], f"crowded: {out}")
        # Each page counts for the pairs of the 8 cgroups it follows.
        expect(sum(got.values()) == PAGES * 8 * 7 // 2, f"pairs of the followed cgroups: {got}")
        for w in ws:
            w.verify()
    finally:
        for w in ws:
            w.stop()


def case_off_unless_asked_for():
    """The statistics without `sharing on`, as `policy load` starts them, have
    no programs on the rmap events, and `stats sharing` says how to get them."""
    clean_slate()
    ksmctl("policy", "load", f"{BPF}/default.bpf.o")
    links = os.listdir(f"{PIN}/stats")
    expect("process_exit" in links and not {"ksm_rmap_join", "ksm_rmap_leave"} & set(links),
           f"links of the statistics a policy started: {links}")
    expect(ksmctl_json("stats", "enable")["sharing"] is False, "sharing on after policy load")
    expect_error(["stats", "sharing"], 1, ["sharing off", "stats enable sharing on"])
    ksmctl("policy", "unload")
    ksmctl("stats", "disable")
    out = ksmctl_json("stats", "enable", "sharing", "on")
    links = os.listdir(f"{PIN}/stats")
    expect(out["sharing"] is True and {"ksm_rmap_join", "ksm_rmap_leave"} <= set(links),
           f"stats enable sharing on: {out}, links {links}")
    expect(ksmctl_json("stats", "sharing")["exact"], "sharing with no ksm page is not exact")
    ksmctl("stats", "disable")


def case_bad_arguments_are_refused():
    clean_slate()
    ksmctl("stats", "enable", "sharing", "on")
    expect_error(["stats", "sharing", "format", "xml"], 2, ["xml"])
    expect_error(["stats", "sharing", "top"], 2, ["top"])
    expect_error(["stats", "sharing", "cgroup", "/no/such/cgroup"], 2, ["/no/such/cgroup"])
    expect_error(["stats", "sharing", "color", "red"], 2, ["color"])
    expect_error(["--json", "stats", "sharing", "format", "openmetrics"], 2,
                 ["--json", "openmetrics"])
    ksmctl("stats", "disable")
    expect_error(["stats", "sharing"], 1, ["stats enable"])


CASES = [
    case_pairs_follow_merges_writes_moves_and_exits,
    case_counts_say_when_they_are_not_exact,
    case_a_page_of_too_many_cgroups_is_counted_as_crowded,
    case_off_unless_asked_for,
    case_bad_arguments_are_refused,
]


if __name__ == "__main__":
    sys.exit(run_cases_in(ROOT, CASES))
