#!/usr/bin/env python3
"""`ksmctl estimate` in the guest, as KTAP: what merging would save, and which
cgroups would share pages, measured while ksmd merges nothing; then checked
against what real merging of the same processes reaches (sysfs and
memory.ksm_stat, within 2%) and the ksm pages they then map (pagemap), with
and without a merge domain between the cgroups. The processes know nothing of
KSM: the estimate leaves them as it found them (settings, enrolment, BPF).

Names on the command line (without "case_") run only those cases.
"""
import collections
import ctypes
import json
import mmap
import os
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403

ROOT = "ksmestimate"
P = 256             # pages of each workload's main area
S, T = 1000, 5000   # seeds of contents that no other seed here shares
ZERO, VOLATILE = 8, 16
TOLERANCE = 0.02    # the bound: within 2% of real merging


_ZERO_AREA = mmap.mmap(-1, PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


def zero_pfn():
    """The frame of the shared zero page: what a read of untouched memory maps."""
    _ZERO_AREA[0]   # a read fault maps the zero page
    addr = ctypes.addressof(ctypes.c_char.from_buffer(_ZERO_AREA))
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(addr // PAGE * 8)
        entry = struct.unpack("<Q", f.read(8))[0]
    return entry & ((1 << 55) - 1)


def anon_frames(pid):
    """{(pid, address): frame} of every anonymous page @pid maps now, where
    ksmd could merge (private mappings, not the vdso's)."""
    out = {}
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pm:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else ""
            if fields[1][3] != "p" or name in ("[vvar]", "[vdso]", "[vsyscall]"):
                continue
            pm.seek(start // PAGE * 8)
            data = pm.read((end - start) // PAGE * 8)
            for i, (e,) in enumerate(struct.iter_unpack("<Q", data)):
                # Present, and not a file page nor shared anonymous memory.
                if e >> 63 & 1 and not e >> 61 & 1:
                    out[(pid, start + i * PAGE)] = e & ((1 << 55) - 1)
    return out


def merged_layout(procs):
    """What the frames say after merging: pages_sharing (every mapping of a ksm
    page but one) and {(cgroup a, cgroup b): ksm pages both map} (a <= b; a == b:
    pages the cgroup maps more than once), as `stats sharing` counts them. No
    process here forks, so a frame mapped twice is a ksm page."""
    zero = zero_pfn()
    mappers = collections.defaultdict(list)
    for p in procs:
        c = cgroup_of(p.pid)
        for frame in anon_frames(p.pid).values():
            if frame != zero:
                mappers[frame].append(c)
    sharing = sum(len(cgroups) - 1 for cgroups in mappers.values())
    return sharing, ksm_page_pairs(mappers.values())


def estimate_pairs(est, same_domain=None):
    return {tuple(sorted((p["cgroup_a"], p["cgroup_b"]))): p["ksm_pages"]
            for p in est["pairs"] if same_domain is None or p["same_domain"] == same_domain}


def close(estimated, real, what):
    """Within the 2% the estimate promises (and never off by more than that)."""
    print(f"# {what}: estimated {estimated}, merging reached {real}", flush=True)
    expect(abs(estimated - real) <= TOLERANCE * max(real, 1),
           f"{what}: estimated {estimated}, merging reached {real}")


def expect_pairs_close(estimated, real):
    expect(set(estimated) == set(real), f"pairs: estimated {estimated}, merged {real}")
    for k in real:
        close(estimated[k], real[k], f"pair {k}")


def one_ksm_page_per_content():
    """max_page_sharing above every content's copies here: ksmd makes one ksm
    page of each, as the pairs count them."""
    clean_slate()
    write(f"{KSM}/run", 2)
    write(f"{KSM}/max_page_sharing", 4096)
    write(f"{KSM}/run", 1)


def stop_all(procs):
    for p in procs:
        p.stop()
    write(f"{KSM}/run", 2)
    write(f"{KSM}/max_page_sharing", 256)


def workloads(a, b, c):
    """Known duplicates: within a process (a1 holds each content twice), across
    processes of one cgroup (a1, a2), across cgroups (a-b, b-c), zero pages (b2,
    c1) and volatile pages (c1); none of them madvised."""
    opts = dict(madvise=False, pages=P)
    return [Workload(S, cgroup=a, options=("--repeat", 2), **opts),
            Workload(S, cgroup=a, **opts),
            Workload(S, cgroup=b, **opts),
            Workload(T, cgroup=b, options=("--zero", ZERO), **opts),
            Workload(T, cgroup=c, options=("--zero", ZERO, "--volatile", VOLATILE), **opts)]


def rmap_items(pid):
    for line in read(f"/proc/{pid}/ksm_stat").splitlines():
        if line.startswith("ksm_rmap_items"):
            return int(line.split()[1])
    return 0


def estimate_programs():
    out = subprocess.run([BPFTOOL, "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return [p["name"] for p in json.loads(out) if p.get("name", "").startswith("estimate_")]


def run_estimate(cgroups, *more, watch=None):
    """`ksmctl --json estimate` of @cgroups; @watch(procs) while it runs."""
    args = [KSMCTL, "--json", "estimate"] + [w for c in cgroups for w in ("cgroup", cg(c))] + \
        [str(m) for m in more]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while p.poll() is None:
        if watch:
            watch()
        time.sleep(0.2)
    out, err = p.communicate()
    expect(p.returncode == 0, f"estimate: status {p.returncode}: {err.strip()}")
    return json.loads(out)


def expect_untouched(procs, cgroups):
    """Nothing merged, nothing left: settings back, no program, no enrolment."""
    for c in cgroups:
        expect(read(f"{c}/memory.ksm_merge") == "inherit",
               f"{cg(c)}: memory.ksm_merge is {read(f'{c}/memory.ksm_merge')}")
    expect(not estimate_programs(), f"programs left: {estimate_programs()}")
    expect(int(read(f"{KSM}/pages_sharing")) == 0, "something merged")
    # ksmd forgets, at its next pass, what it tracked of memory nobody offered
    # (then it idles, with no process left to scan).
    wait_for(lambda: all(rmap_items(p.pid) == 0 for p in procs), "rmap_items to go")
    for p in procs:
        p.verify()


def merge_for_real(top, procs):
    """Merge the same processes (memory.ksm_merge on above them) until ksmd has
    nothing more to merge."""
    write(f"{top}/memory.ksm_merge", "on")
    last = -1
    for _ in range(30):
        wait_scans(2)
        now = int(read(f"{KSM}/pages_sharing"))
        if now == last and now:
            break
        last = now
    for p in procs:
        p.verify()


def watcher(procs):
    def watch():
        for p in procs:
            expect(p.merging() <= 0, f"{p.pid} merged while observed")
        expect(int(read(f"{KSM}/pages_sharing")) == 0, "pages merged while observed")
    return watch


def case_estimate_matches_merging():
    one_ksm_page_per_content()
    a, b, c = fresh_cgroups(ROOT, "a", "b", "c")
    procs = workloads(a, b, c)
    try:
        est = run_estimate([a, b, c], watch=watcher(procs))
        expect(est["pages"] >= 5 * P + 2 * ZERO, f"pages compared: {est['pages']}")
        expect(est["exact"], f"not exact: {est['not_exact_because']}")
        expect_untouched(procs, [a, b, c])

        by = {e["cgroup"]: e for e in est["cgroups"]}
        pairs = estimate_pairs(est)
        # The layout, at least: other memory of the processes (libc, stacks) adds.
        want = {(cg(a), cg(a)): P // 2, (cg(a), cg(b)): P, (cg(b), cg(c)): P}
        for k, n in want.items():
            expect(pairs.get(k, 0) >= n, f"pair {k}: {pairs.get(k)} < {n}")
        expect(by[cg(c)]["volatile_pages"] >= VOLATILE, f"c's volatile pages: {by[cg(c)]}")
        expect(est["with_domains"] == est["without_domains"], f"no domains, yet {est}")
        expect(est["run"]["ksmd_cpu_seconds"] >= 0 and est["pages"] ==
               sum(e["pages"] for e in est["cgroups"]), f"totals: {est}")

        merge_for_real(f"{CGROUP}/{ROOT}", procs)
        sharing, real_pairs = merged_layout(procs)
        close(est["with_domains"]["pages_sharing"], int(read(f"{KSM}/pages_sharing")),
              "pages_sharing")
        expect(sharing == int(read(f"{KSM}/pages_sharing")),
               f"the frames say {sharing} pages_sharing, sysfs {read(f'{KSM}/pages_sharing')}")
        for x in (a, b, c):
            real = int(dict(line.split() for line in
                            read(f"{x}/memory.ksm_stat").splitlines())["merging_pages"])
            close(by[cg(x)]["merging_pages"], real, f"{cg(x)} merging_pages")
        expect_pairs_close(pairs, real_pairs)
    finally:
        stop_all(procs)


def case_domain_cost():
    """b in a domain of its own: the estimate says what a-b would have shared,
    and with the domain what merging then reaches."""
    one_ksm_page_per_content()
    a, b, c = fresh_cgroups(ROOT, "a", "b", "c")
    write(f"{b}/memory.ksm_domain", "isolated")
    procs = workloads(a, b, c)
    try:
        est = run_estimate([a, b, c], "passes", 3)
        expect(est["run"]["passes"] == 3, f"passes: {est['run']}")
        by = {e["cgroup"]: e for e in est["cgroups"]}
        expect(by[cg(b)]["domain"] == f"isolated({cg(b)})", f"b's domain: {by[cg(b)]}")
        apart = estimate_pairs(est, same_domain=False)
        expect(apart.get((cg(a), cg(b)), 0) >= P and apart.get((cg(b), cg(c)), 0) >= P,
               f"what the boundary forbids: {apart}")
        domains = {d["domain"]: d for d in est["domains"]}
        expect(set(domains) == {"shared", f"isolated({cg(b)})"} and
               domains["shared"]["cgroups"] == 2 and
               sum(d["pages_sharing"] for d in domains.values()) ==
               est["with_domains"]["pages_sharing"], f"per domain: {domains}")
        cost = est["without_domains"]["pages_sharing"] - est["with_domains"]["pages_sharing"]
        expect(cost >= 2 * P, f"the domain costs {cost} pages, the layout says >= {2 * P}")
        expect_untouched(procs, [a, b, c])

        merge_for_real(f"{CGROUP}/{ROOT}", procs)
        sharing, real_pairs = merged_layout(procs)
        close(est["with_domains"]["pages_sharing"], sharing, "pages_sharing with the domain")
        expect_pairs_close(estimate_pairs(est, same_domain=True), real_pairs)
    finally:
        stop_all(procs)


def case_composes_with_loaded_policies():
    """A global policy that merges zero pages only, and one attached to a: no
    policy is asked about observed processes, so the estimate sees what ksmd
    itself would merge; both stay attached, and nothing merges."""
    clean_slate()
    a, b = fresh_cgroups(ROOT, "a", "b")
    ksmctl("policy", "load", f"{BPF}/zero_only.bpf.o")
    ksmctl("policy", "load", f"{BPF}/trust_stable.bpf.o", "cgroup", cg(a))
    procs = [Workload(S, cgroup=a, madvise=False, pages=P),
             Workload(S, cgroup=b, madvise=False, pages=P)]
    try:
        est = run_estimate([a, b], watch=watcher(procs))
        pairs = estimate_pairs(est)
        expect(pairs.get((cg(a), cg(b)), 0) >= P, f"a-b under policies: {pairs}")
        expect(policy_name() == "zero_only", f"the global policy is now {policy_name()}")
        expect(read(f"{a}/memory.ksm_policy") == "trust_stable",
               f"a's policy is now {read(f'{a}/memory.ksm_policy')}")
        expect_untouched(procs, [a, b])
    finally:
        for p in procs:
            p.stop()


def case_refusals_and_interruption():
    clean_slate()
    a, b, off, on = fresh_cgroups(ROOT, "a", "b", "off", "on")
    write(f"{off}/memory.ksm_merge", "off")
    expect_error(["estimate"], 2, ["give the cgroups"])
    expect_error(["estimate", "cgroup", cg(a), "passes", "1"], 2, ["passes", "at least 2"])
    expect_error(["estimate", "cgroup", cg(a), "cgroup", cg(a)], 2, ["given twice"])
    expect_error(["estimate", "cgroup", "/no/such/cgroup"], 2, ["/no/such/cgroup"])
    expect_error(["estimate", "cgroup", cg(a)], 1, ["no process", cg(a)])
    expect_error(["--json", "estimate", "cgroup", cg(a), "format", "prometheus"], 2,
                 ["choose one"])
    expect_error(["estimate", "cgroup", cg(a)], 4, ["estimate"], user=NOBODY)
    expect_error(["estimate", "cgroup", cg(off)], 1, ["merging is off", cg(off)])
    # A cgroup whose processes merge already would be unmerged: refused.
    merged = [Worker(7, on), Worker(7, on)]
    write(f"{on}/memory.ksm_merge", "on")
    try:
        wait_shared(*merged)
        expect_error(["estimate", "cgroup", cg(on)], 1, ["merged pages", cg(on)])
    finally:
        for w in merged:
            w.stop()
    write(f"{b}/memory.ksm_merge", "observe")
    expect_error(["estimate", "cgroup", cg(b), "cgroup", cg(a)], 1, ["observed already", cg(b)])
    expect(read(f"{a}/memory.ksm_merge") == "inherit", "a refused estimate changed a")
    write(f"{b}/memory.ksm_merge", "inherit")
    write(f"{KSM}/run", 0)
    expect_error(["estimate", "cgroup", cg(a)], 1, ["not running"])
    write(f"{KSM}/run", 1)

    # Interrupted: settings restored, nothing left.
    w = Workload(S, cgroup=a, madvise=False)
    try:
        p = subprocess.Popen([KSMCTL, "estimate", "cgroup", cg(a), "passes", "1000"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: read(f"{a}/memory.ksm_merge") == "observe", "the estimate to begin")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        expect(p.returncode == 1 and "stopped by signal 2" in err and not out,
               f"interrupted: status {p.returncode}, {err!r}, {out!r}")
        # Too slow a pass for the time given.
        write(f"{KSM}/pages_to_scan", 1)
        write(f"{KSM}/sleep_millisecs", 1000)
        expect_error(["estimate", "cgroup", cg(a), "timeout", "2"], 1, ["no result in 2 s"])
        write(f"{KSM}/pages_to_scan", 4096)
        write(f"{KSM}/sleep_millisecs", 10)
        expect_untouched([w], [a])
    finally:
        w.stop()


if __name__ == "__main__":
    sys.exit(run_cases_in(ROOT, [case_estimate_matches_merging, case_domain_cost,
                                 case_composes_with_loaded_policies,
                                 case_refusals_and_interruption]))
