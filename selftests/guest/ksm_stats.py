#!/usr/bin/env python3
"""ksmctl's statistics in the guest, as KTAP: exact under churn, and the
metric export read back by the parsers Prometheus' own Python client has
(OpenMetrics, and the text format node_exporter's textfile collector reads).

The kernel's own per-process figures (/proc/PID/ksm_merging_pages,
/proc/PID/ksm_stat) are the truth every figure is checked against.
KSM_STATS_CHURN_SECONDS sets how long the churn lasts (default 150).

Names on the command line (without "case_") run only those cases.
"""
import collections
import os
import random
import sys
import time


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403

ROOT = "ksmstats"
CHURN_SECONDS = int(os.environ.get("KSM_STATS_CHURN_SECONDS", "150"))
# The map holds fewer processes than the churn keeps alive.
MAX_PROCS = 24
MOST_WORKERS = 34


def kernel_view():
    """Every process the kernel says KSM knows: pid -> (cgroup, sharing, saved)."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            d = mm_dir(int(pid))
            stat = dict(line.split() for line in read(f"{d}/ksm_stat").splitlines())
            sharing = int(read(f"{d}/ksm_merging_pages"))
            cgroup = read(f"{d}/cgroup").split("::", 1)[1]
        except (OSError, IndexError, ValueError):
            continue
        if int(stat.get("ksm_rmap_items", 0)) or sharing:
            out[int(pid)] = (cgroup, sharing, int(stat.get("ksm_process_profit", 0)))
    return out


def rows_by_pid():
    rows = ksmctl_json("stats")
    pids = [r["pid"] for r in rows]
    dup = [p for p, n in collections.Counter(pids).items() if n > 1]
    expect(not dup, f"processes shown twice: {dup}")
    return {r["pid"]: r for r in rows}


def expect_exact(what):
    """ksmctl's rows, process and cgroup, against the kernel's figures now."""
    kernel = kernel_view()
    rows = rows_by_pid()
    missing = set(kernel) - set(rows)
    expect(not missing, f"{what}: processes KSM knows are not shown: {sorted(missing)}")
    for pid, (cgroup, sharing, saved) in kernel.items():
        r = rows[pid]
        expect((r["cgroup"], r["pages_sharing"], r["bytes_saved"]) == (cgroup, sharing, saved),
               f"{what}: pid {pid}: ksmctl says {r['cgroup']}, {r['pages_sharing']} pages, "
               f"{r['bytes_saved']} bytes; the kernel {cgroup}, {sharing}, {saved}")
    want = collections.defaultdict(lambda: [0, 0])
    for cgroup, sharing, saved in kernel.values():
        want[cgroup][0] += sharing
        want[cgroup][1] += saved
    got = cgroup_rows()
    for cgroup, (sharing, saved) in want.items():
        r = got.get(cgroup)
        expect(r and (r["pages_sharing"], r["bytes_saved"]) == (sharing, saved),
               f"{what}: cgroup {cgroup}: ksmctl says {r}, the kernel's sum is {sharing} "
               f"pages, {saved} bytes")
        shown = sum(1 for x in rows.values() if x["cgroup"] == cgroup)
        expect(r["procs"] == shown, f"{what}: cgroup {cgroup} counts {r['procs']} processes, "
               f"{shown} are shown")
    return rows, got


def merged_pair(a, b):
    return a.pfn(0) == b.pfn(0)


def counted_merged_pair(seed, cgroup, whole=True):
    """Two workers of SEED in CGROUP, merged (WHOLE: every page) while the
    statistics count; stopped again if they do not merge."""
    ksmctl("stats", "enable")
    first, second = Worker(seed, cgroup), Worker(seed, cgroup)
    try:
        wait_for(lambda: merged_pair(first, second) and
                 (not whole or first.merging() == second.merging() == PAGES),
                 "the pair to merge whole" if whole else "the pair to merge")
    except BaseException:
        first.stop()
        second.stop()
        raise
    return first, second


def diag(text):
    print(f"# {text}", flush=True)


def case_figures_stay_exact_under_churn():
    clean_slate()
    a, b, c = fresh_cgroups(ROOT, "a", "b", "c")
    ksmctl("stats", "enable", "max-procs", str(MAX_PROCS))
    rng = random.Random(12)
    # First, so that the map has room for them.
    canary = [Worker(40, a), Worker(40, a)]
    orphan, partner = Workload(41, leader_exits=True), Workload(41)
    pool, extra, extra_n, cow_done, reads = [], None, 0, 0, 0
    try:
        for w in (orphan, partner):
            w.move(b)
        wait_shared(*canary)
        wait_for(lambda: merged_pair(orphan, partner), "the orphan to merge")
        expect(state_of(f"/proc/{orphan.pid}/task/{orphan.pid}") == "Z",
               "the orphan's leader thread did not exit")
        # More processes than the map holds, from the start.
        while len(pool) < MAX_PROCS + 4:
            pool.append(Worker(rng.choice((50, 51)), rng.choice((a, b, c))))
        deadline = time.monotonic() + CHURN_SECONDS
        while time.monotonic() < deadline:
            act = rng.randrange(9)
            homes = [a, b, c] + ([extra] if extra else [])
            if act == 0 and len(pool) < MOST_WORKERS:
                pool.append(Worker(rng.choice((50, 51)), rng.choice(homes)))
            elif act == 1 and len(pool) > MAX_PROCS:
                w = pool.pop(rng.randrange(len(pool)))
                w.verify()
                w.stop()
            elif act == 2 and pool:
                rng.choice(pool).fork()
            elif act == 3 and pool:
                rng.choice(pool).move(rng.choice(homes))
            elif act == 4 and pool:
                rng.choice(pool).write()
            elif act == 5 and merged_pair(*canary):
                # One copy-on-write each, and their contents are equal again.
                for w in canary:
                    w.write()
                cow_done += 1
            elif act == 6:
                if extra is None:
                    extra_n += 1
                    extra = make_cgroup(f"{ROOT}/x{extra_n}")
                else:
                    for w in pool:
                        if w.pid in map(int, read(f"{extra}/cgroup.procs").split()):
                            w.move(a)
                    remove_cgroup(extra)
                    extra = None
            elif act == 7:
                rows_by_pid()		# reading during churn: no duplicates, no error
                reads += 1
            else:
                time.sleep(0.2)
        if extra:
            remove_cgroup(extra)
        wait_scans(2)
        write(f"{KSM}/run", 0)		# the figures hold still while they are compared
        rows, cgroups = expect_exact("after the churn")
        # Exact without churn (case_cow_writes_are_counted_exactly); here no
        # fault may go uncounted, but one more than the canary's own writes
        # can be (see the issue notes on a +1 seen once): at least, not exact.
        for w in canary:
            r = rows[w.pid]
            expect(r["tracked"] and r["cow_writes"] >= cow_done,
                   f"{w.pid} made {cow_done} copy-on-write faults, ksmctl counts {r}; "
                   f"both: {[rows[c.pid]['cow_writes'] for c in canary]}")
        # Its PAGES pages merged once each with its partner's (nothing else has
        # their content, and nothing wrote them since).
        r = rows[orphan.pid]
        expect(r["tracked"] and r["pages_merged"] == PAGES,
               f"the process whose leader exited lost its counters: {r}")
        st = ksmctl_json("status")["stats"]
        expect(st["dropped_process_events"] > 0, f"more processes than the map holds, and "
               f"nothing dropped: {st}")
        # mm_folds has the procs map's size: copy-on-write counts wait for exits.
        expect(st["deferred_cow_folds"] > 0, f"copy-on-write folds found room for more "
               f"processes than the map holds: {st}")
        untracked = [p for p, r in rows.items() if not r["tracked"]]
        expect(untracked and all(rows[p]["pages_merged"] is None for p in untracked),
               f"processes without counters are not shown as such: {untracked}")
        expect(sum(r["untracked_procs"] for r in cgroups.values()) == len(untracked),
               "the cgroups' untracked processes do not add up")
        err = ksmctl("stats")[2]
        expect("maps were full" in err and "copy-on-write counts" in err,
               f"'ksmctl stats' did not say the maps were full: {err!r}")
        expect(not any(p.startswith("(removed") for p in cgroups),
               f"a removed cgroup is still shown: {list(cgroups)}")
        for w in canary + pool:
            w.verify()
        diag(f"{CHURN_SECONDS} s of churn, {len(pool)} workers at the end, {cow_done} canary "
             f"COWs, {reads} reads during it, {len(untracked)} untracked, "
             f"{st['dropped_process_events']} process events dropped")
    finally:
        write(f"{KSM}/run", 1)
        for w in canary + pool + [orphan, partner]:
            w.stop()


def case_cow_writes_are_counted_exactly():
    """Two processes write their merged page in turn: each write is one
    copy-on-write of a KSM page, and the statistics count exactly those."""
    clean_slate()
    ksmctl("stats", "enable")
    pair = [Worker(70), Worker(70)]
    rounds = 0
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if merged_pair(*pair):
                for w in pair:
                    w.write()
                rounds += 1
            else:
                time.sleep(0.05)
        rows = rows_by_pid()
        got = [rows[w.pid]["cow_writes"] for w in pair]
        expect(rounds > 0 and got == [rounds, rounds],
               f"{rounds} copy-on-write faults each, counted {got}")
        for w in pair:
            w.verify()
    finally:
        for w in pair:
            w.stop()


def cow_counts(*paths):
    """(cow_writes, unshares) of each cgroup directory's row, None without one."""
    rows = cgroup_rows()
    return {cg(p): (rows[cg(p)]["cow_writes"], rows[cg(p)]["unshares"])
            if cg(p) in rows else None for p in paths}


def case_cow_counts_stay_with_the_cgroup_they_were_made_in():
    """The kernel counts a process's copy-on-write breaks and unshares; the
    statistics fold them into its cgroup when ksmd scans it, when it moves
    and when it exits. With ksmd stopped only the move and the exit do: a
    process's row has its counts at once, and each cgroup exactly the
    counts made while the process was in it."""
    clean_slate()
    a, b = fresh_cgroups(ROOT, "a", "b")
    mover, stayer = counted_merged_pair(74, a)
    try:
        write(f"{KSM}/run", 0)		# from here on no pass folds anything
        before = cow_counts(a, b)
        expect(before == {cg(a): (0, 0), cg(b): None}, f"before any write: {before}")
        mover.write()			# page 0: one copy-on-write, made in a
        got = ksmctl_json("stats", "pid", str(mover.pid))[0]
        expect((got["cow_writes"], got["unshares"]) == (1, 0), f"the mover's row: {got}")
        expect(cow_counts(a, b)[cg(a)] == (0, 0), "a break reached the cgroup without a fold")
        mover.move(b)			# folds what it made in a into a
        moved = cow_counts(a, b)
        expect(moved == {cg(a): (1, 0), cg(b): (0, 0)}, f"after the move: {moved}")
        stayer.write()			# the last mapping of page 0's ksm page: a break too
        stayer.verify()
        stayer.stop()			# folds at its exit, into a
        gone = cow_counts(a, b)
        expect(gone == {cg(a): (2, 0), cg(b): (0, 0)}, f"after the exit: {gone}")
        write(f"{KSM}/run", 2)		# unshares the mover's PAGES - 1 merged pages, in b
        mover.verify()
        got = ksmctl_json("stats", "pid", str(mover.pid))[0]
        expect((got["cow_writes"], got["unshares"]) == (1, PAGES - 1), f"the mover: {got}")
        mover.stop()
        final = cow_counts(a, b)
        expect(final == {cg(a): (2, 0), cg(b): (0, PAGES - 1)}, f"after the unmerge: {final}")
    finally:
        write(f"{KSM}/run", 1)
        mover.stop()
        stayer.stop()


def case_cow_counts_fold_when_a_process_execs():
    """An exec drops the process's mm (ksm_exit) while the process lives on:
    the breaks of the old program count in its cgroup then, with ksmd
    stopped, and the process's row starts again from the new mm's."""
    clean_slate()
    (a,) = fresh_cgroups(ROOT, "exec")
    execer, other = counted_merged_pair(75, a, whole=False)
    try:
        write(f"{KSM}/run", 0)
        execer.write()
        counts = cow_counts(a)
        expect(counts == {cg(a): (0, 0)}, f"before: {counts}")
        execer.exec_sleep()
        counts = cow_counts(a)
        expect(counts == {cg(a): (1, 0)}, f"after the exec: {counts}")
        stat = read(f"/proc/{execer.pid}/ksm_stat")
        expect("ksm_cow_writes 0\n" in stat, f"the new mm's counts: {stat}")
        other.verify()
    finally:
        write(f"{KSM}/run", 1)
        execer.stop()
        other.stop()


def case_cow_counts_of_a_forked_child_stay_where_it_broke_them():
    """A child inherits its parent's KSM pages, forks a grandchild, and each
    breaks one before ksmd ever scans them (ksmd stopped): followed from their
    forks (the child's ksm_merging_pages still reads 0 when the grandchild is
    made), their breaks count in the cgroup they were made in when they move,
    and nowhere else when they exit."""
    clean_slate()
    a, b = fresh_cgroups(ROOT, "parent", "moved")
    parent, partner = counted_merged_pair(76, a)
    try:
        write(f"{KSM}/run", 0)		# the children are never scanned
        child = parent.fork()
        grandchild = child.fork()
        for c in (child, grandchild):
            c.write()			# page 0: one copy-on-write in each mm
            got = ksmctl_json("stats", "pid", str(c.pid))[0]
            expect((got["cow_writes"], got["unshares"]) == (1, 0), f"{c.pid}'s row: {got}")
        child.move(b)
        grandchild.move(b)
        moved = cow_counts(a, b)
        expect(moved == {cg(a): (2, 0), cg(b): (0, 0)}, f"after the children's move: {moved}")
        for c in (child, grandchild):
            c.verify()
            c.stop()
            wait_for(lambda: has_exited(c.pid), f"{c.pid}'s exit")
        gone = cow_counts(a, b)
        expect(gone == {cg(a): (2, 0), cg(b): (0, 0)}, f"after the children's exit: {gone}")
        parent.verify()
        partner.verify()
    finally:
        write(f"{KSM}/run", 1)
        parent.stop()
        partner.stop()


def pinned_entry(name, key):
    """The entry of map PIN/NAME (procs or cgroups) for KEY, as bpftool shows it."""
    return next((e["formatted"]["value"] for e in pinned_map(f"{PIN}/{name}")
                 if e["formatted"]["key"] == key), None)


def case_last_seen_is_the_last_pass():
    """last_seen_ns of a process and of its cgroup is the time of the last pass
    that scanned it: one reading of the clock for both, moving on with each pass,
    and still while ksmd is stopped."""
    clean_slate()
    (cgroup,) = fresh_cgroups(ROOT, "seen")
    ksmctl("stats", "enable")
    w = Worker(72, cgroup=cgroup)
    try:
        cgid = os.stat(cgroup).st_ino
        wait_for(lambda: (pinned_entry("procs", w.pid) or {}).get("counters", {})
                 .get("passes", 0) > 0, "the worker's first pass to be counted")
        wait_scans(1)
        first = pinned_entry("procs", w.pid)["last_seen_ns"]
        wait_scans(2)
        write(f"{KSM}/run", 0)		# returns once ksmd's batch is over
        proc, group = pinned_entry("procs", w.pid), pinned_entry("cgroups", cgid)
        now = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
        diag(f"last_seen_ns {first}, then {proc['last_seen_ns']} (process) and "
             f"{group['last_seen_ns']} (cgroup); now {now}")
        expect(proc["first_seen_ns"] <= first < proc["last_seen_ns"] <= now,
               f"first_seen {proc['first_seen_ns']}, last_seen {first} then "
               f"{proc['last_seen_ns']}, now {now}")
        expect(group["last_seen_ns"] == proc["last_seen_ns"],
               f"the cgroup's last pass {group['last_seen_ns']}, its one process's "
               f"{proc['last_seen_ns']}")
        time.sleep(0.5)
        expect(pinned_entry("procs", w.pid)["last_seen_ns"] == proc["last_seen_ns"],
               "last_seen_ns moved while ksmd was stopped")
        w.verify()
    finally:
        w.stop()
        write(f"{KSM}/run", 1)


def case_export_parses_and_says_what_the_kernel_says():
    clean_slate()
    a, b = fresh_cgroups(ROOT, "a", "b")
    write(f"{b}/memory.ksm_domain", "isolated")
    ksmctl("stats", "enable")
    ksmctl("policy", "load", f"{BPF}/default.bpf.o")
    ws = [Worker(60, a), Worker(60, a), Worker(60, b), Worker(60, b)]
    try:
        wait_shared(ws[0], ws[1])
        wait_shared(ws[2], ws[3])
        wait_scans(2)
        write(f"{KSM}/run", 0)
        text = {fmt: ksmctl("stats", "format", fmt)[1] for fmt in ("openmetrics", "prometheus")}
        kernel = kernel_view()
        for fmt, om in (("openmetrics", True), ("prometheus", False)):
            fam = metric_families(text[fmt], om)
            # Both parsers name a counter's family without _total, its samples with.
            total = "_total"
            expect(fam["ksm_full_scans"].type == "counter", f"{fmt}: full_scans")
            f = fam["ksm_sharing_pages"]
            expect(f.type == "gauge" and f.unit == ("pages" if om else ""), f"{fmt}: {f}")
            expect(one(fam, "ksm_sharing_pages") == int(read(f"{KSM}/pages_sharing")),
                   f"{fmt}: pages_sharing")
            expect(one(fam, "ksm_full_scans" + total) == int(read(f"{KSM}/full_scans")),
                   f"{fmt}: full_scans")
            expect(one(fam, "ksm_policy_attached", policy="default") == 1, f"{fmt}: policy")
            expect(one(fam, "ksm_stats_dropped_events" + total, map="procs") == 0,
                   f"{fmt}: drops")
            for path, domain in ((a, "shared"), (b, f"isolated({cg(b)})")):
                pids = [w.pid for w in ws if w.pid in kernel and kernel[w.pid][0] == cg(path)]
                expect(len(pids) == 2, f"{fmt}: the workers of {cg(path)} are {pids}")
                want = sum(v[1] for v in kernel.values() if v[0] == cg(path))
                got = one(fam, "ksm_cgroup_sharing_pages", cgroup=cg(path), domain=domain)
                expect(got == want, f"{fmt}: {cg(path)} shares {got} pages, the kernel says "
                       f"{want}")
                # Its two workers' PAGES pages merged once each, with each
                # other: the other pair has the same content in another domain.
                got = one(fam, "ksm_cgroup_merged_pages" + total, cgroup=cg(path),
                          domain=domain)
                expect(got == 2 * PAGES, f"{fmt}: {got} merged pages in {cg(path)}, wanted "
                       f"{2 * PAGES}")
            for w in ws:
                got = one(fam, "ksm_process_sharing_pages", pid=str(w.pid),
                          comm=read(f"/proc/{w.pid}/comm"), cgroup=kernel[w.pid][0])
                expect(got == kernel[w.pid][1] == PAGES, f"{fmt}: {w.pid} shares {got}")
        expect(text["openmetrics"].endswith("# EOF\n"), "no # EOF")
        for w in ws:
            w.verify()
    finally:
        write(f"{KSM}/run", 1)
        for w in ws:
            w.stop()


def case_bad_export_arguments_are_refused():
    clean_slate()
    expect_error(["stats", "format", "xml"], 2, ["format", "xml"])
    expect_error(["--json", "stats", "format", "openmetrics"], 2, ["--json", "openmetrics"])
    expect_error(["stats", "format", "openmetrics", "watch", "1"], 2, ["watch"])
    expect_error(["stats", "format", "prometheus", "pid", "1"], 2, ["pid"])
    expect_error(["stats", "enable", "max-procs", "0"], 2, ["max-procs", "'0'"])
    expect_error(["stats", "enable", "max-procs"], 2, ["'max-procs' needs a value"])
    expect_error(["stats", "enable", "max-procs", "5", "max-procs", "6"], 2, ["twice"])
    ksmctl("stats", "enable", "max-procs", "100")
    expect_error(["stats", "enable", "max-procs", "200"], 1, ["already", "100", "disable"])


CASES = [
    case_export_parses_and_says_what_the_kernel_says,
    case_bad_export_arguments_are_refused,
    case_cow_writes_are_counted_exactly,
    case_cow_counts_stay_with_the_cgroup_they_were_made_in,
    case_cow_counts_fold_when_a_process_execs,
    case_cow_counts_of_a_forked_child_stay_where_it_broke_them,
    case_last_seen_is_the_last_pass,
    case_figures_stay_exact_under_churn,
]


if __name__ == "__main__":
    sys.exit(run_cases_in(ROOT, CASES))
