#!/usr/bin/env python3
"""ksmctl end to end, in the guest (KTAP output, one case per function).

Drives the real binary (build/ksmctl) against the real kernel: policies are
loaded, replaced and unloaded; statistics are checked against the kernel's
own per-process counters, through ksmctl, bpftool and perf; every bad input
must give one line on stderr, the documented exit code, and leave nothing
behind.
"""
import json
import os
import re
import select
import subprocess
import sys
import time


# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403


def watch_screens(argv, want, timeout):
    """Screens (cleared and redrawn) the command draws until WANT or TIMEOUT s."""
    clear = b"\033[H\033[2J"
    w = subprocess.Popen(argv, stdout=subprocess.PIPE)
    out, deadline = b"", time.monotonic() + timeout
    try:
        while out.count(clear) < want and time.monotonic() < deadline:
            if select.select([w.stdout], [], [], 0.5)[0]:
                chunk = os.read(w.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
    finally:
        w.terminate()
        w.communicate()
    return out.count(clear)


# --- cases ---

def case_bad_input_is_refused_whole():
    clean_slate()
    bogus = "/tmp/ksmctl-not-bpf.o"
    with open(bogus, "w") as f:
        f.write("just text\n")
    expect_error(["policy", "load", "/nonexistent.bpf.o"], 2, ["/nonexistent.bpf.o"])
    expect_error(["policy", "load", bogus], 2, ["not a BPF object"])
    expect_error(["policy", "load", f"{BPF}/ksm_stats.bpf.o"], 2, ["no ksm_policy_ops"])
    expect_error(["policy", "load", TEST_POLICIES], 2, ["'map MAP'", "skip_all"])
    expect_error(["policy", "load", TEST_POLICIES, "map", "nope"], 2, ["nope"])
    expect_error(["policy", "load", TEST_POLICIES, "map", "unlinked"], 2,
                 ["unlinked", "BPF link", "KSM_POLICY()"])
    expect_error(["policy", "load", f"{BPF}/default.bpf.o", "name", "x" * 64], 2,
                 ["name", "1 to 63 characters"])
    # Keywords: each error named, and the options before keywords say how they are written.
    expect_error(["policy", "load", f"{BPF}/default.bpf.o", "map"], 2, ["'map' needs a value"])
    expect_error(["policy", "load", f"{BPF}/default.bpf.o", "--map", "m"], 2,
                 ["'--map' is written 'map'"])
    expect_error(["policy", "load", f"{BPF}/default.bpf.o", "name", "a", "name", "b"], 2,
                 ["'name' given twice"])
    expect_error(["policy", "load", f"{BPF}/default.bpf.o", "mapp", "m"], 2,
                 ["unknown keyword 'mapp'", "map, name, cgroup or set"])
    expect_error(["--json", "stats", "top", "0"], 2, ["top", "'0'", "from 1"])
    expect_error(["stats", "--top", "5"], 2, ["'--top' is written 'top'"])
    expect_error(["stats", "cgroup", "pid", "1"], 2, ["unknown keyword 'pid'"])
    expect_error(["status", "now"], 2, ["takes no arguments"])
    expect_error(["policy", "unload"], 1, ["no policy"])
    expect_error(["policy", "frobnicate"], 2, ["frobnicate"])
    expect_error(["knob", "set", "pages_to_scan", "0"], 2, ["pages_to_scan", "'0'"])
    expect_error(["knob", "set", "pages_to_scan", "300", "run", "9"], 2, ["run"])
    expect(read(f"{KSM}/pages_to_scan") == "4096", "a knob was written despite a bad value")
    expect_error(["knob", "set", "pages_shared", "1"], 2, ["not a writable"])
    expect_error(["knob", "get", "no_such_knob"], 2, ["no_such_knob"])
    expect_error(["bogus"], 2, ["bogus"])
    nothing_left()
    os.unlink(bogus)


def case_unprivileged_user_is_refused():
    clean_slate()
    for args in (["policy", "load", f"{BPF}/default.bpf.o"], ["policy", "unload"],
                 ["stats", "enable"], ["knob", "set", "pages_to_scan", "100"]):
        expect_error(args, 4, ["permission denied"], user=NOBODY)
    nothing_left()
    expect(not os.path.exists(f"{PIN}/procs"), "stats were enabled by an unprivileged user")
    expect(read(f"{KSM}/pages_to_scan") == "4096", "an unprivileged user set a knob")
    # status works for everyone; figures it cannot read are not shown as zeroes.
    ksmctl("stats", "enable")
    rc, out, err = ksmctl("status", user=NOBODY, check=False)
    expect(rc == 0 and "root sees them" in out, f"status as nobody: {rc} {out!r} {err!r}")
    st = json.loads(ksmctl("--json", "status", user=NOBODY)[1])["stats"]
    expect(st["enabled"] is None and "policy_ejections" not in st,
           f"status --json as nobody: {st}")
    # So do the commands that only read (ksmctl(8)): policy show leaves out the programs.
    ksmctl("policy", "load", f"{BPF}/default.bpf.o")
    rc, out, err = ksmctl("policy", "show", user=NOBODY, check=False)
    expect(rc == 0 and "policy: default" in out and "permission denied" in err,
           f"policy show as nobody: {rc} {out!r} {err!r}")
    for args in (["knob", "list"], ["knob", "get", "pages_to_scan"], ["cgroup", "show"]):
        rc, out, err = ksmctl(*args, user=NOBODY, check=False)
        expect(rc == 0 and out, f"{' '.join(args)} as nobody: {rc} {out!r} {err!r}")
    ksmctl("policy", "unload")


def case_load_show_replace_unload():
    clean_slate()
    out = ksmctl("policy", "load", f"{BPF}/default.bpf.o")[1]
    expect("loaded default" in out, f"load said {out!r}")
    expect(policy_name() == "default", f"kernel policy is {policy_name()}")
    expect(os.path.exists(f"{PIN}/policy"), "not pinned")
    expect(os.path.exists(f"{PIN}/procs"), "statistics did not start with the policy")
    show = ksmctl_json("policy", "show")
    expect(show["name"] == "default" and show["pinned"], f"show: {show}")
    expect(set(show["hooks"]) == {"scan_mm", "scan_vma", "scan_page", "merge", "pass_start",
                                  "pass_end", "init", "exit"}, f"hooks: {show['hooks']}")
    expect(all(h["prog_id"] > 0 for h in show["hooks"].values()), f"hooks: {show['hooks']}")
    expect_error(["policy", "load", f"{BPF}/default.bpf.o"], 1, ["already", "replace"])
    # Replace, choosing one of several policies and naming it.
    ksmctl("policy", "replace", TEST_POLICIES, "map", "zero_only", "name", "zeros")
    expect(policy_name() == "zeros", f"after replace: {policy_name()}")
    maps = ksmctl_json("policy", "show")["maps"]
    expect("domains" in maps and os.path.exists(f"{PIN}/policy_maps/domains"),
           f"the policy's maps are not pinned: {maps}")
    expect(read(f"{KSM}/policy_exit").startswith("default: replaced"),
           f"exit of the replaced policy: {read(f'{KSM}/policy_exit')}")
    # A refused replacement leaves the policy as it was.
    expect_error(["policy", "replace", "/nonexistent.bpf.o"], 2, ["/nonexistent.bpf.o"])
    expect(policy_name() == "zeros", "a failed replace changed the policy")
    out = ksmctl("policy", "unload")[1]
    expect("unloaded zeros" in out and "unloaded" in read(f"{KSM}/policy_exit"), out)
    nothing_left()


def case_policy_outlives_ksmctl_and_merges_as_upstream():
    """ksmctl has exited once the policy is loaded: the kernel keeps it attached
    (its own view, /sys/kernel/mm/ksm/policy) and runs its programs (their run
    counts, kernel.bpf_stats_enabled=1) while pages merge as with no policy."""
    clean_slate()
    a = b = None
    with BpfStats():
        try:
            ksmctl("policy", "load", f"{BPF}/default.bpf.o")
            shown = ksmctl_json("policy", "show")
            expect(shown["name"] == "default" and shown["pinned"] and shown["run_stats"],
                   f"policy show: {shown}")
            before = hook_runs()
            a, b = Worker(7), Worker(7)
            wait_merged(a, b)
            expect(policy_name() == "default", f"the kernel's policy is {policy_name()}")
            runs = runs_since(before)
            # Each pass, process and page went through the policy while they merged;
            # init ran once, when it was attached, and exit not yet.
            expect(all(runs[h] > 0 for h in ("scan_mm", "scan_vma", "scan_page", "pass_start",
                                             "pass_end")),
                   f"hooks that did not run while pages merged: {runs}")
            # Each of the PAGES merges asked merge() first (a merge that fails is
            # asked again later: more calls are possible, fewer are not).
            expect(runs["merge"] >= PAGES, f"merge() ran {runs['merge']} times for {PAGES} "
                   f"merges: {runs}")
            expect(before["init"] == 1 and runs["init"] == 0 and before["exit"] == 0 and
                   runs["exit"] == 0, f"init/exit runs: {before} then {runs}")
        finally:
            for w in (a, b):
                if w:
                    w.stop()
    ksmctl("policy", "unload")
    expect(policy_name() == "none", f"after unload: {policy_name()}")


def case_stats_match_the_kernel():
    clean_slate()
    ksmctl("stats", "enable")
    cg = make_cgroup("ksmctl-test")
    a, b = Worker(11, cg), Worker(11, cg)
    try:
        wait_merged(a, b)
        # ksm_merging_pages is updated by the scan; give it one more pass.
        full = int(read(f"{KSM}/full_scans"))
        wait_for(lambda: int(read(f"{KSM}/full_scans")) >= full + 2, "two more scans")
        rows = {r["pid"]: r for r in ksmctl_json("stats", "show", "cgroup", "/ksmctl-test")}
        expect(set(rows) == {a.pid, b.pid}, f"rows for {sorted(rows)}")
        for w in (a, b):
            r = rows[w.pid]
            expect(r["pages_sharing"] == w.merging(), f"sharing {r['pages_sharing']} "
                   f"vs /proc/{w.pid}/ksm_merging_pages {w.merging()}")
            # Two fresh workers with the same PAGES distinct pages: each page
            # merged once, into a new ksm page of two (no join of an existing one).
            expect(r["pages_merged"] == PAGES and r["pages_joined"] == 0,
                   f"merged {r['pages_merged']}, joined {r['pages_joined']}")
            # Every pass looks at all PAGES pages of the region (smart_scan is
            # off); how many passes ran is the scheduler's.
            expect(r["passes"] > 0 and r["pages_scanned"] == PAGES * r["passes"],
                   f"scanned {r['pages_scanned']} pages in {r['passes']} passes")
            expect(r["cgroup"] == "/ksmctl-test" and r["comm"].startswith("python"), f"{r}")
            expect(r["bytes_saved"] > 0, f"saved {r['bytes_saved']}")
        a.write()
        wait_for(lambda: ksmctl_json("stats", "pid", str(a.pid))[0]["cow_writes"] == 1,
                 "the COW to be counted", timeout=30)
        # The cgroup has it once ksmd has scanned the process again.
        wait_for(lambda: cgroup_rows()["/ksmctl-test"]["cow_writes"] == 1,
                 "the COW to reach the cgroup", timeout=30)
        cgs = cgroup_rows()
        expect(cgs["/ksmctl-test"]["procs"] == 2, f"cgroup row {cgs.get('/ksmctl-test')}")
        # bpftool shows the pinned map with its field names (BTF).
        dump = subprocess.run([BPFTOOL, "map", "dump", "pinned", f"{PIN}/procs"],
                              capture_output=True, text=True, check=True).stdout
        expect("pages_merged" in dump and "cow_writes" in dump, f"bpftool: {dump[:300]}")
        # An exited process leaves the map (the BPF program sees its exit).
        a.stop()
        keys = {e["formatted"]["key"] for e in pinned_map(f"{PIN}/procs")}
        expect(a.pid not in keys and b.pid in keys, f"keys after exit: {sorted(keys)}")
        # The table is readable and --top limits it.
        table = ksmctl("stats", "top", "1", "sort", "merged")[1].splitlines()
        expect(table[0].split()[:3] == ["PID", "COMM", "CGROUP"] and len(table) == 2,
               f"table: {table}")
        # watch redraws until interrupted: a second screen within 20 s (a debug
        # kernel takes seconds for ksmctl's first).
        screens = watch_screens([KSMCTL, "stats", "watch", "1"], 2, 20)
        expect(screens >= 2, f"watch drew {screens} screens in 20 s")
        # What a policy skips is counted per process.
        ksmctl("policy", "load", TEST_POLICIES, "map", "skip_all")
        wait_for(lambda: ksmctl_json("stats", "pid", str(b.pid))[0]
                 ["policy_skipped_passes"] > 0, "skipped passes to be counted", timeout=30)
        ksmctl("policy", "unload")
    finally:
        a.stop()
        b.stop()
    ksmctl("stats", "disable")
    expect(not os.path.exists(f"{PIN}/procs"), "stats disable left the map")
    expect_error(["stats"], 1, ["stats enable"])
    os.rmdir(cg)


def case_perf_trace_sees_the_events():
    clean_slate()
    a, b = Worker(21), Worker(21)
    try:
        p = subprocess.run(["perf", "trace", "-a", "-e", "ksm:ksm_merge_page,ksm:ksm_mm_scanned",
                            "--", "sleep", "2"], capture_output=True, text=True, timeout=120)
        out = p.stdout + p.stderr
        # perf prints the fields by name: "ksm:ksm_mm_scanned(tgid: 129 (python3), ..."
        tgids = {int(t) for t in re.findall(r"ksm:ksm_mm_scanned\(tgid: (\d+)", out)}
        expect({a.pid, b.pid} <= tgids, f"tgids {sorted(tgids)} in perf trace: {out[-600:]}")
    finally:
        a.stop()
        b.stop()


def case_knobs_and_status():
    clean_slate()
    ksmctl("knob", "set", "pages_to_scan", "1000", "sleep_millisecs", "20")
    expect(ksmctl("knob", "get", "pages_to_scan")[1].strip() == "1000", "knob get")
    knobs = {k["name"]: k for k in ksmctl_json("knob", "list")}
    expect(knobs["sleep_millisecs"]["value"] == 20 and knobs["sleep_millisecs"]["writable"],
           f"{knobs.get('sleep_millisecs')}")
    expect(not knobs["pages_shared"]["writable"], "pages_shared writable")
    st = ksmctl_json("status")
    expect(st["run"] == "running" and st["policy"]["supported"] and
           st["policy"]["name"] is None and not st["stats"]["enabled"], f"status: {st}")
    ksmctl("policy", "load", f"{BPF}/default.bpf.o")
    st = ksmctl_json("status")
    # The statistics a policy starts leave who shares with whom out.
    expect(st["policy"]["name"] == "default" and st["stats"]["enabled"] and
           st["stats"]["sharing"] is False, f"status: {st}")
    ksmctl("policy", "unload")
    clean_slate()


# --- a stock kernel (the baseline: upstream 6.12 without the series) ---

def case_stock_kernel_policy_commands_say_what_is_missing():
    clean_slate()
    expect_error(["policy", "load", f"{BPF}/default.bpf.o"], 3, ["ksm_policy_ops"])
    expect_error(["policy", "show"], 3, ["ksm_policy_ops"])
    st = ksmctl_json("status")
    expect(not st["policy"]["supported"] and st["run"] == "running", f"status: {st}")
    expect(not os.path.exists(f"{PIN}/policy"), "something was pinned")
    # Per-cgroup KSM: the memory controller is there, the kernel's KSM files are not.
    cg = make_cgroup("ksmctl-stock-cg")
    write(f"{CGROUP}/cgroup.subtree_control", "+memory")
    expect(os.path.exists(f"{cg}/memory.current") and
           not os.path.exists(f"{cg}/memory.ksm_merge"), "memory.ksm_merge on a stock kernel?")
    try:
        expect_error(["cgroup", "set", "/ksmctl-stock-cg", "merge", "on"], 3,
                     ["memory.ksm_merge"])
        expect_error(["cgroup", "set", "/ksmctl-stock-cg", "domain", "isolated"], 3,
                     ["memory.ksm_merge"])
        expect_error(["cgroup", "set", "/ksmctl-stock-cg", "max-pages", "10"], 3,
                     ["memory.ksm_merge"])
        expect(ksmctl_json("cgroup", "show") == [], "cgroup show lists settings")
    finally:
        os.rmdir(cg)


def case_stock_kernel_stats_and_knobs_work():
    clean_slate()
    ksmctl("knob", "set", "pages_to_scan", "2000")
    expect(ksmctl("knob", "get", "pages_to_scan")[1].strip() == "2000", "knob get")
    write(f"{KSM}/pages_to_scan", 4096)
    # Who shares with whom needs the series' rmap events: refused, nothing started.
    expect_error(["stats", "enable", "sharing", "on"], 3, ["ksm_rmap_join", "sharing on"])
    expect(not os.path.exists(f"{PIN}/procs"), "a refused 'sharing on' started the statistics")
    out = ksmctl("stats", "enable")[1]
    expect("upstream ksm events" in out and "sharing off" in out, f"stats enable: {out}")
    cg = make_cgroup("ksmctl-stock")
    a, b = Worker(31, cg), Worker(31, cg)
    try:
        wait_merged(a, b)
        rows = {r["pid"]: r for r in ksmctl_json("stats", "show", "cgroup", "/ksmctl-stock")}
        for w in (a, b):
            r = rows.get(w.pid)
            # Each page merged once (the upstream event of the kernel's merge of
            # two pages names both processes).
            expect(r and r["pages_merged"] == PAGES and r["pages_sharing"] == w.merging(),
                   f"row of {w.pid}: {r}")
            expect(r["cgroup"] == "/ksmctl-stock", f"row of {w.pid}: {r}")
            expect(r["cow_writes"] is None and r["policy_skipped_pages"] is None,
                   f"an upstream kernel has no such counters: {r}")
        cgs = cgroup_rows()
        expect(cgs["/ksmctl-stock"]["pages_merged"] == 2 * PAGES,
               f"cgroup row: {cgs.get('/ksmctl-stock')}")
        table = ksmctl("stats")[1]
        expect("SHARING" in table and "COW" not in table and "SKIPPED" not in table,
               f"the table shows columns this kernel has no events for:\n{table}")
        metrics = ksmctl("stats", "format", "prometheus")[1]
        # No family of `stats sharing` (ksm_sharing_pages is the global figure).
        expect("ksm_cgroup_sharing_pages{" in metrics and "cow_writes" not in metrics and
               "ksm_sharing_exact" not in metrics and "ksm_cgroup_pair" not in metrics,
               f"the export on a stock kernel:\n{metrics}")
        expect_error(["stats", "sharing"], 3, ["ksm_rmap_join"])
    finally:
        a.stop()
        b.stop()
    ksmctl("stats", "disable")
    os.rmdir(cg)


STOCK_CASES = [
    case_stock_kernel_policy_commands_say_what_is_missing,
    case_stock_kernel_stats_and_knobs_work,
]

CASES = [
    case_bad_input_is_refused_whole,
    case_unprivileged_user_is_refused,
    case_load_show_replace_unload,
    case_policy_outlives_ksmctl_and_merges_as_upstream,
    case_stats_match_the_kernel,
    case_perf_trace_sees_the_events,
    case_knobs_and_status,
]


# The kernel the cases are for, as the host booted it (scripts/vm.py says which):
# the series' cases on patched and debug, the stock kernel's on baseline.
VARIANT = os.environ.get("KSM_KERNEL_VARIANT", "")
SERIES = {"patched": True, "debug": True, "baseline": False}.get(VARIANT)


def series_markers():
    """What the series adds that a stock kernel lacks: the policy knobs, and the
    struct_ops type in the kernel's BTF."""
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        btf = f.read()
    return {"/sys/kernel/mm/ksm/policy": os.path.exists(f"{KSM}/policy"),
            "/sys/kernel/mm/ksm/policy_exit": os.path.exists(f"{KSM}/policy_exit"),
            "ksm_policy_ops in BTF": b"\0ksm_policy_ops\0" in btf}


def case_kernel_is_the_one_expected():
    expect(SERIES is not None, f"KSM_KERNEL_VARIANT is {VARIANT!r}: run this through "
           "scripts/vm.py (or set it to patched, debug or baseline)")
    markers = series_markers()
    wrong = [m for m, present in markers.items() if present != SERIES]
    expect(not wrong, f"a {VARIANT} kernel {'without' if SERIES else 'with'} "
           f"{', '.join(wrong)}")


if __name__ == "__main__":
    sys.exit(run_cases([case_kernel_is_the_one_expected] +
                       (STOCK_CASES if SERIES is False else CASES)))
