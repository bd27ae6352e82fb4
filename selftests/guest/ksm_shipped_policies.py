#!/usr/bin/env python3
"""The shipped policies (bpf/zero_only, trust_stable, adaptive, trust_adaptive) in the guest.

KTAP output, cases per policy; trust_adaptive, stacked from trust_stable
and adaptive, is put through each part's cases and the stacking rule's.
Each policy is loaded with the real ksmctl and judged by what the kernel
says (/proc/PID/ksm_merging_pages, /sys/kernel/mm/ksm/full_scans) and by
the policy's own maps, read with bpftool. Workers are processes forked from this one that map anonymous
memory through ctypes (so they can also mprotect it) and offer it to KSM.
"""
import ctypes
import json
import mmap
import os
import subprocess
import sys
import threading
import time


# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import (BPF, BPFTOOL, KSM, KSMCTL, PAGES, PIN, BpfStats, Failed,  # noqa: E402
                       clean_slate as _clean_slate, expect, full_scans, hook_runs,
                       ksmctl_json, make_cgroup, read, run_cases, runs_since, wait_for,
                       wait_scans, write)

PIN_MAPS = f"{PIN}/policy_maps"
HALF = PAGES // 2

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS = 1, 2, 0x02, 0x20
MADV_MERGEABLE, MADV_NOHUGEPAGE = 12, 15


def worker(kind, seed, opts, cgroup):
    """The body of a worker process: offer PAGES pages to KSM, then wait.

    kind: same     page i holds byte (seed + i) % 251 + 1: equal across workers of one seed
          one      every page holds byte seed % 255 + 1: all equal, within the process too
          unique   random pages
          halfzero the first half zero-filled (written, so faulted in), the rest as "same"
    opts: "ro"        mprotect(PROT_READ) once filled (ctypes: Python's mmap cannot)
          "churn=MS"  every MS ms rewrite one byte of the next page with its own value:
                      a copy-on-write of a merged page that leaves it mergeable again
    """
    if cgroup:
        write(f"{cgroup}/cgroup.procs", 0)	# this process
    page = mmap.PAGESIZE
    size = PAGES * page
    addr = libc.mmap(None, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    # Small pages only: what is merged and counted is then exactly PAGES pages.
    libc.madvise(addr, size, MADV_NOHUGEPAGE)
    values = []
    for i in range(PAGES):
        if kind == "unique":
            ctypes.memmove(addr + i * page, os.urandom(page), page)
            values.append(None)
            continue
        if kind == "one":
            v = seed % 255 + 1
        elif kind == "halfzero" and i < HALF:
            v = 0
        else:
            v = (seed + i) % 251 + 1
        ctypes.memset(addr + i * page, v, page)
        values.append(v)
    if libc.madvise(addr, size, MADV_MERGEABLE):
        raise OSError(ctypes.get_errno(), "madvise")
    if "ro" in opts and libc.mprotect(addr, size, PROT_READ):
        raise OSError(ctypes.get_errno(), "mprotect")
    churn = [int(o[6:]) / 1000 for o in opts if o.startswith("churn=")]
    if churn:
        def rewrite():
            i = 0
            while True:
                ctypes.memset(addr + i * page, values[i], 1)
                i = (i + 1) % PAGES
                time.sleep(churn[0])
        threading.Thread(target=rewrite, daemon=True).start()


def diag(msg):
    print(f"# {msg}", flush=True)


def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, text=True)
    if p.returncode != 0:
        raise Failed(f"{' '.join(argv)}: status {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def ksmctl(*args):
    return run(KSMCTL, *args)


def bpftool_json(*args):
    return json.loads(run(BPFTOOL, "-j", *args))


class Worker:
    """A worker process, forked from this one (a fresh Python takes seconds under TCG)."""
    quit_fds = set()	# the parent's ends, which no child must keep open

    def __init__(self, kind, seed=0, *opts, cgroup=None):
        ready_r, ready_w = os.pipe()
        quit_r, quit_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            status = 1
            try:
                os.close(ready_r)
                for fd in Worker.quit_fds | {quit_w}:
                    os.close(fd)
                worker(kind, seed, opts, cgroup)
                os.write(ready_w, b"ready")
                os.read(quit_r, 1)	# until stop() or our end closes it
                status = 0
            except BaseException as e:
                os.write(2, f"worker {kind}: {e}\n".encode())
            os._exit(status)
        os.close(ready_w)
        os.close(quit_r)
        self.quit = quit_w
        Worker.quit_fds.add(quit_w)
        ready = os.read(ready_r, 5)
        os.close(ready_r)
        expect(ready == b"ready", f"worker {kind} did not start")

    def merging(self):
        try:
            return int(read(f"/proc/{self.pid}/ksm_merging_pages"))
        except OSError:
            return -1

    def stop(self):
        if self.quit is not None:
            Worker.quit_fds.discard(self.quit)
            try:
                os.write(self.quit, b"q")
            except OSError:	# it is gone already
                pass
            os.close(self.quit)
            self.quit = None
            os.waitpid(self.pid, 0)


class Workers(list):
    """Workers stopped on the way out of a with block, whatever happens."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for w in self:
            w.stop()


def policy_name():
    return read(f"{KSM}/policy")


def load(policy):
    ksmctl("policy", "load", f"{BPF}/{policy}.bpf.o")
    expect(policy_name() == policy, f"the kernel's policy is {policy_name()}, not {policy}")


def policy_maps():
    """The loaded policy's maps, pinned by ksmctl: name -> bpftool's words for it.

    ksmctl pins a policy's maps under /sys/fs/bpf/ksm/policy_maps/, the
    global variables' as "bss", "data" and "rodata".
    """
    show = json.loads(ksmctl("--json", "policy", "show"))
    expect(show.get("pinned"), f"policy show: {show}")
    maps = {n: ["pinned", f"{PIN_MAPS}/{n}"] for n in show.get("maps") or []}
    expect(all(os.path.exists(ref[1]) for ref in maps.values()),
           f"ksmctl shows maps {sorted(maps)} that are not in {PIN_MAPS}")
    return maps


def pinned(maps, name):
    expect(name in maps, f"ksmctl did not pin the map {name} (pinned: {sorted(maps)})")
    return maps[name]


def bss(maps):
    """The policy's global variables (its .bss map), name -> value."""
    ref = pinned(maps, "bss")
    out = {}
    for entry in bpftool_json("map", "dump", *ref):
        for var in entry["formatted"]["value"].get(".bss", []):
            out.update(var)
    return out


def le_hex(value, size):
    return ["hex"] + [f"{b:02x}" for b in value.to_bytes(size, "little")]


def proc_state(maps, pid):
    """adaptive's entry for a tgid, or None."""
    p = subprocess.run([BPFTOOL, "-j", "map", "lookup", *pinned(maps, "procs"), "key",
                        *le_hex(pid, 4)], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)["formatted"]["value"]


def trust_cgroup(maps, cgroup):
    """List @cgroup (and the cgroups below it) in trusted_cgroups."""
    run(BPFTOOL, "map", "update", *pinned(maps, "trusted_cgroups"),
        "key", *le_hex(os.stat(cgroup).st_ino, 8), "value", "hex", "01")


def skipped_passes(pid):
    """The passes the kernel skipped @pid in (ksmctl's statistics, which
    'ksmctl policy load' started, count the ksm_mm_scanned events)."""
    return ksmctl_json("stats", "pid", str(pid))[0]["policy_skipped_passes"]


def clean_slate():
    """As every guest test, but smart_scan on: trust_stable is compared with it."""
    _clean_slate(smart_scan=1)


# --- cases ---

def case_zero_only_merges_zero_pages_only():
    clean_slate()
    load("zero_only")
    flags = ksmctl_json("policy", "show")["flags"]
    expect(flags == [], f"ksmctl policy show: flags {flags}")
    # Half zero pages, half content equal across the two: only the zeros merge
    # (use_zero_pages=0: zero pages merge into a KSM page like any content).
    with Workers([Worker("halfzero", 5), Worker("halfzero", 5)]) as ws:
        a, b = ws
        wait_for(lambda: a.merging() == HALF and b.merging() == HALF, "the zero pages to merge")
        wait_scans(3)
        expect(a.merging() == HALF and b.merging() == HALF,
               f"after 3 more scans: merging {a.merging()} and {b.merging()}, wanted {HALF}")
        # The other half is mergeable: without the policy, it merges.
        ksmctl("policy", "unload")
        wait_for(lambda: a.merging() == PAGES and b.merging() == PAGES,
                 "the non-zero pages to merge once the policy is gone")


def passes_to_merge(*opts, cgroups=(None, None)):
    """Full scans from ksmd's start until two equal workers are merged."""
    write(f"{KSM}/run", 2)		# nothing registered, full_scans back to 0
    with Workers() as ws:
        ws += [Worker("same", 9, *opts, cgroup=cg) for cg in cgroups]
        start = full_scans()
        write(f"{KSM}/run", 1)
        wait_for(lambda: all(w.merging() == PAGES for w in ws), "the workers to merge",
                 poll=0.01)
        return full_scans() - start


def passes_and_hook_runs(*opts, cgroups=(None, None)):
    """passes_to_merge(), and the policy's hook runs meanwhile (kernel.bpf_stats_enabled)."""
    with BpfStats():
        before = hook_runs()
        passes = passes_to_merge(*opts, cgroups=cgroups)
        return passes, runs_since(before)


def passes_without_page_calls(what, *opts, cgroups=(None, None)):
    """passes_to_merge(), checking that scan_vma answered for the workers' VMAs
    and scan_page was asked about none of their pages."""
    passes, runs = passes_and_hook_runs(*opts, cgroups=cgroups)
    expect(runs["scan_page"] == 0 and runs["scan_vma"] > 0, f"{what}: runs {runs}")
    return passes


def trust_merges_static_memory_sooner(policy):
    """trust_stable's part, alone or stacked."""
    clean_slate()
    # A pass per 200 ms: a poll sees the merge in the pass it happened in.
    write(f"{KSM}/sleep_millisecs", 200)
    base = passes_to_merge("ro")
    load(policy)
    flags = ksmctl_json("policy", "show")["flags"]
    expect(flags == ["override_smart_scan"], f"ksmctl policy show: flags {flags}")
    maps = policy_maps()
    # scan_vma answers for every VMA: read-only and trusted ones are trusted
    # whole, writable memory of untrusted processes is left to upstream whole.
    # scan_page (trust_first_sight's) is never asked about a page.
    read_only = passes_without_page_calls("read-only memory", "ro")
    untrusted = passes_without_page_calls("untrusted writable memory")
    # Listed: the cgroup of one worker (one lookup) and the parent of the
    # other's (a walk of the map): both must be trusted to merge in one scan.
    cg = make_cgroup("ksm-trusted")
    inner = make_cgroup("ksm-trusted/inner")
    try:
        trust_cgroup(maps, cg)
        trusted = passes_without_page_calls("memory of trusted cgroups", cgroups=(cg, inner))
    finally:
        os.rmdir(inner)
        os.rmdir(cg)
    counters = bss(maps)
    diag(f"full scans to merge: no policy {base}, read-only {read_only}, "
         f"writable {untrusted}, writable in a trusted cgroup {trusted}; {counters}")
    expect(read_only < base, f"read-only memory: {read_only} scans, {base} without the policy")
    expect(trusted < base, f"trusted cgroup: {trusted} scans, {base} without the policy")
    expect(untrusted >= base, f"writable untrusted memory merged sooner ({untrusted} scans)")
    # A VMA is counted each batch it is vouched for in until its pages are ksm
    # pages: at least once for each of the two read-only workers and the two
    # trusted ones; how many batches that took is ksmd's pace.
    expect(counters["vmas_read_only"] >= 2, f"vmas_read_only: {counters}")
    expect(counters["vmas_trusted"] >= 2, f"vmas_trusted: {counters}")
    expect(counters["pages_first_sight"] == 0, f"pages_first_sight: {counters}")
    # Once per pass per trusted process: how many passes ran before the
    # workers were stopped is the scheduler's.
    expect(counters["mms_trusted"] >= 2, f"mms_trusted: {counters}")


def adaptive_skips_idle_processes_and_paces(policy):
    """adaptive's part, alone or stacked."""
    clean_slate()
    # Smart scan backs off from pages that keep being copied (a page's age is
    # never reset): m's churned pages would be looked at less and less often.
    write(f"{KSM}/smart_scan", 0)
    load(policy)
    maps = policy_maps()
    with Workers() as ws:
        # u never merges; m's pages all merge, and one is copied on write
        # every 10 ms, so m has something to merge in nearly every pass.
        u = Worker("unique", 0)
        m = Worker("one", 3, "churn=10")
        ws += [u, m]
        wait_for(lambda: (proc_state(maps, u.pid) or {}).get("passes_skipped", 0) > 0
                 and m.merging() > 0, "the unique process to be skipped")
        su, sm = proc_state(maps, u.pid), proc_state(maps, m.pid)
        # No page is asked about: scan_vma answers for whole VMAs.
        with BpfStats():
            before = hook_runs()
            wait_scans(8)
            runs = runs_since(before)
        expect(runs.get("scan_page", 0) == 0 and runs["scan_vma"] > 0,
               f"adaptive's hooks run: {runs}")
        # ksmd holds still while the policy's maps and the merge counts are
        # read, so they agree. The counts are read first: m's churn goes on
        # while ksmd is held and, given long enough, copies every page off
        # the ksm page, whose stale node ksmd drops with all of m's mappings
        # the moment it runs again.
        write(f"{KSM}/run", 0)
        u_merging, m_merging = u.merging(), m.merging()
        su2, sm2 = proc_state(maps, u.pid), proc_state(maps, m.pid)
        counters = bss(maps)
        kernel_skips = skipped_passes(u.pid)
        write(f"{KSM}/run", 1)
        diag(f"unique {su2}")
        diag(f"merging {sm2}, {m_merging} pages merged")
        expect(su2["passes_skipped"] > su["passes_skipped"], f"u no longer skipped: {su2}")
        expect(kernel_skips == su2["passes_skipped"],
               f"the kernel skipped u {kernel_skips} times, the policy {su2['passes_skipped']}")
        expect(su2["merges_total"] == 0 and u_merging == 0, f"u merged: {su2}")
        expect(sm2["merges_total"] > sm["merges_total"] and m_merging > 0,
               f"m stopped merging: {sm} then {sm2}, {m_merging} pages merged")
        # u and m are all that is registered: every skip is one of theirs. How
        # many times u backed off depends on how many passes ran.
        expect(counters["mms_skipped"] == su2["passes_skipped"] + sm2["passes_skipped"] and
               counters["backoffs"] >= 1, f"counters: {counters}")
        # What the kernel tells scan_mm() of a process's merges goes to its
        # entry: u and m are all that is registered, and both have one.
        credited = su2["merges_total"] + sm2["merges_total"]
        expect(counters["merges_seen"] == credited,
               f"{credited} merges credited, {counters['merges_seen']} seen: {counters}")

        # Nothing merges any more: each pass slows ksmd down one step.
        m.stop()
        wait_for(lambda: bss(maps)["pace_level"] >= 3, "ksmd to be slowed down 3 steps")
        counters = bss(maps)
        diag(f"slowed down: {counters}")
        sleep_ms = counters["pace_sleep_ms"]
        expect(sleep_ms >= 200, f"3 steps down, yet a sleep of {sleep_ms} ms: {counters}")
        # The kernel sleeps what the policy asked (and more, as it slows on), not 10 ms.
        n = full_scans()
        wait_for(lambda: full_scans() > n, "a full scan", poll=0.005)
        t0 = time.monotonic()
        wait_for(lambda: full_scans() > n + 1, "a full scan", poll=0.005)
        gap = (time.monotonic() - t0) * 1000
        expect(gap >= sleep_ms / 2, f"{gap:.0f} ms between full scans; the policy sleeps "
               f"{sleep_ms} ms or more")

        # KSM starts over (run=2 unmerges all and forgets every page): so does
        # the policy. Its first pass scans u again at the sysfs pace, whose long
        # sleep afterwards leaves time to look before the next pass.
        write(f"{KSM}/run", 0)
        before = proc_state(maps, u.pid)
        expect(before["backoff"] > 0, f"u is not backing off: {before}")
        write(f"{KSM}/sleep_millisecs", 2000)
        write(f"{KSM}/run", 2)
        write(f"{KSM}/run", 1)
        wait_for(lambda: full_scans() >= 1, "the first pass after run=2", poll=0.005)
        write(f"{KSM}/run", 0)
        after, counters = proc_state(maps, u.pid), bss(maps)
        diag(f"after run=2 and one pass: {after}; {counters}")
        expect(full_scans() == 1, f"{full_scans()} passes, not one, before ksmd stopped")
        expect(after["backoff"] == after["skip_left"] == 0 and
               after["passes_scanned"] == before["passes_scanned"] + 1 and
               after["passes_skipped"] == before["passes_skipped"],
               f"u's history outlived run=2: {before} then {after}")
        expect(counters["pace_level"] == 0 and counters["pace_sleep_ms"] == 0,
               f"the pace outlived run=2: {counters}")
        write(f"{KSM}/run", 1)
    ksmctl("policy", "unload")


def adaptive_merges_a_new_copy_in_the_pass_that_meets_it(policy):
    """adaptive's part, alone or stacked."""
    clean_slate()
    # A batch covers a whole pass (3 x PAGES pages), so between batches ksmd's
    # cursor is at the head and a process that joins then is met by the very
    # next pass; the sleep after it leaves time to stop ksmd before another.
    write(f"{KSM}/pages_to_scan", 10000)
    write(f"{KSM}/sleep_millisecs", 500)
    load(policy)
    maps = policy_maps()
    with Workers([Worker("same", 11), Worker("same", 11)]) as ws:
        wait_for(lambda: all(w.merging() == PAGES for w in ws), "the two seeds to merge")
        # Nothing merges any more: ksmd is slowed down.
        wait_for(lambda: bss(maps)["pace_level"] >= 1, "ksmd to be slowed down")
        write(f"{KSM}/run", 0)
        before = bss(maps)
        new = Worker("same", 11)
        ws += [new]
        start = full_scans()
        write(f"{KSM}/run", 1)
        wait_for(lambda: full_scans() > start, "the pass that meets the new process",
                 poll=0.005)
        write(f"{KSM}/run", 0)
        after, scans = bss(maps), full_scans() - start
        diag(f"after the pass that met it: {new.merging()} of {PAGES} merged; "
             f"{before} then {after}")
        expect(scans == 1, f"{scans} passes ran, not one, before ksmd stopped")
        # Upstream, and adaptive without merge_known_first_sight, merge it a pass later.
        expect(new.merging() == PAGES,
               f"{new.merging()} of {PAGES} pages merged in the pass that met the new process")
        # One batch, one pass: the new process's one VMA is met once.
        expect(after["vmas_first_sight"] - before["vmas_first_sight"] == 1,
               f"first-sight verdicts: {before} then {after}")
        expect(after["joins_seen"] - before["joins_seen"] == 1 and after["pace_level"] == 0,
               f"the join did not restore the sysfs pace: {before} then {after}")
        write(f"{KSM}/run", 1)
    ksmctl("policy", "unload")


def case_trust_stable_merges_static_memory_sooner():
    trust_merges_static_memory_sooner("trust_stable")


def case_adaptive_skips_idle_processes_and_paces():
    adaptive_skips_idle_processes_and_paces("adaptive")


def case_adaptive_merges_a_new_copy_in_the_pass_that_meets_it():
    adaptive_merges_a_new_copy_in_the_pass_that_meets_it("adaptive")


# trust_adaptive: each part does in the stack what it does alone.
def case_trust_adaptive_trusts_as_trust_stable():
    trust_merges_static_memory_sooner("trust_adaptive")


def case_trust_adaptive_skips_and_paces_as_adaptive():
    adaptive_skips_idle_processes_and_paces("trust_adaptive")


def case_trust_adaptive_merges_a_new_copy_as_adaptive():
    adaptive_merges_a_new_copy_in_the_pass_that_meets_it("trust_adaptive")


def case_trust_adaptive_skips_idle_trusted_processes():
    """The stacking rule: trust wins over first sight; a skip wins over trust."""
    clean_slate()
    write(f"{KSM}/smart_scan", 0)
    # A pass per 200 ms: a poll sees the merge in the pass it happened in.
    write(f"{KSM}/sleep_millisecs", 200)
    load("trust_adaptive")
    maps = policy_maps()
    cg = make_cgroup("ksm-trusted")
    try:
        trust_cgroup(maps, cg)
        # New equal processes: adaptive's first sight (the stable tree only)
        # merges them a pass after the first; in the trusted cgroup
        # trust_stable's KSM_VMA_STABLE wins and merges them in the first.
        untrusted = passes_to_merge()
        trusted = passes_to_merge(cgroups=(cg, cg))
        diag(f"full scans to merge: untrusted {untrusted}, trusted {trusted}")
        expect(trusted < untrusted,
               f"trusted copies merged after {trusted} full scans, untrusted ones after {untrusted}")
        # A trusted process whose pages never merge is skipped all the same,
        # and trust_stable judges it in every pass, skipped or not.
        write(f"{KSM}/run", 2)
        before = bss(maps)
        with Workers([Worker("unique", 0, cgroup=cg)]) as ws:
            u = ws[0]
            write(f"{KSM}/run", 1)
            wait_for(lambda: (proc_state(maps, u.pid) or {}).get("passes_skipped", 0) > 0,
                     "the idle trusted process to be skipped")
            write(f"{KSM}/run", 0)
            st, counters, kernel_skips = proc_state(maps, u.pid), bss(maps), skipped_passes(u.pid)
            u_merging = u.merging()
            write(f"{KSM}/run", 1)
        diag(f"idle trusted process {st}; {counters}")
        expect(kernel_skips == st["passes_skipped"],
               f"the kernel skipped u {kernel_skips} times, adaptive {st['passes_skipped']}")
        judged = counters["mms_trusted"] - before["mms_trusted"]
        expect(judged == st["passes_scanned"] + st["passes_skipped"],
               f"u trusted in {judged} passes, scanned in {st['passes_scanned']}, "
               f"skipped in {st['passes_skipped']}")
        expect(st["merges_total"] == 0 and u_merging == 0, f"the unique process merged: {st}")
    finally:
        os.rmdir(cg)
    ksmctl("policy", "unload")


def case_trust_adaptive_asks_about_pages_for_first_sight():
    """With trust_first_sight, the page verdicts of trust_stable stacked on
    adaptive's VMA verdict: a new page trusted (KSM_PAGE_STABLE) over first
    sight (KSM_PAGE_STABLE_ONLY), so two new writable copies merge in the
    pass that first sees them, as under trust_stable alone."""
    clean_slate()
    write(f"{KSM}/sleep_millisecs", 200)
    base = passes_to_merge()
    ksmctl("policy", "load", f"{BPF}/trust_adaptive.bpf.o", "set", "trust_first_sight=true")
    passes, runs = passes_and_hook_runs()
    counters = bss(policy_maps())
    diag(f"full scans to merge: no policy {base}, trust_first_sight {passes}; runs {runs}; {counters}")
    expect(passes < base, f"first sight: {passes} scans, {base} without the policy")
    expect(runs["scan_page"] > 0 and counters["pages_first_sight"] >= PAGES,
           f"scan_page was not asked about the new pages: {runs}, {counters}")
    expect(counters["vmas_first_sight"] >= 2, f"adaptive did not see the new VMAs: {counters}")
    ksmctl("policy", "unload")


CASES = [
    case_zero_only_merges_zero_pages_only,
    case_trust_stable_merges_static_memory_sooner,
    case_adaptive_skips_idle_processes_and_paces,
    case_adaptive_merges_a_new_copy_in_the_pass_that_meets_it,
    case_trust_adaptive_trusts_as_trust_stable,
    case_trust_adaptive_skips_and_paces_as_adaptive,
    case_trust_adaptive_merges_a_new_copy_as_adaptive,
    case_trust_adaptive_skips_idle_trusted_processes,
    case_trust_adaptive_asks_about_pages_for_first_sight,
]


if __name__ == "__main__":
    sys.exit(run_cases(CASES, reset=clean_slate))
