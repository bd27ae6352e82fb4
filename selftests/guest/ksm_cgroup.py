#!/usr/bin/env python3
"""Per-cgroup KSM in the guest, as KTAP: the kernel's memory.ksm_merge,
memory.ksm_domain and memory.ksm_max_pages, set through ksmctl or directly.

The workers are unmodified unless a case says so: they never madvise, so
what merges does because of the cgroup's setting. Tenants are cgroups
under /sys/fs/cgroup/ksmtest/, with the memory controller enabled. Whether
two processes share memory is read from the PFNs of their regions
(/proc/PID/pagemap), and every worker checks its own pages at the end.

Names on the command line (without "case_") run only those cases.
"""
import os
import subprocess
import sys
import time


# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403

ROOT = "ksmtest"
MERGE, DOMAIN, MAX = "memory.ksm_merge", "memory.ksm_domain", "memory.ksm_max_pages"


def setup(*names):
    """Fresh cgroups ROOT/NAME... with the memory controller, no policy, ksmd fast."""
    clean_slate()
    cgs = fresh_cgroups(ROOT, *names)
    for c in cgs:
        expect(files(c) == ("inherit", "inherit"), f"{c} starts with {files(c)}")
    return cgs


def sub(parent, name):
    """A child cgroup of @parent with the memory controller."""
    enable_memory(parent)
    return make_cgroup(f"{os.path.relpath(parent, CGROUP)}/{name}")


def files(c):
    """What the kernel says the cgroup sets: (merge, domain)."""
    return read(f"{c}/{MERGE}"), read(f"{c}/{DOMAIN}")


def pairs_merge_apart(a, b, seed, then=None):
    """Two processes in each of cgroups @a and @b, same content: each pair
    merges, no frame is shared across, every page intact; then() runs while
    they hold their memory."""
    wa = [Worker(seed, a, plain=True), Worker(seed, a, plain=True)]
    wb = [Worker(seed, b, plain=True), Worker(seed, b, plain=True)]
    try:
        wait_shared(*wa)
        wait_shared(*wb)
        wait_scans(2)
        expect_apart(wa, wb, what="isolated cgroups")
        verify(*wa, *wb)
        if then:
            then()
    finally:
        stop(*wa, *wb)


def le_hex(value, size):
    return [f"{b:02x}" for b in value.to_bytes(size, "little")]


def ksm_stat(c):
    """memory.ksm_stat of the cgroup, as {key: value} (numbers as int)."""
    out = {}
    for line in read(f"{c}/memory.ksm_stat").splitlines():
        k, v = line.split()
        out[k] = int(v) if v.isdigit() else v
    return out


def cgset(c, *settings):
    return ksmctl("cgroup", "set", cg(c), *settings)[1]


def show(c=None):
    """ksmctl cgroup show, as {path: row}."""
    return {r["cgroup"]: r for r in ksmctl_json("cgroup", "show", *([cg(c)] if c else []))}


def stop(*workers):
    for w in workers:
        w.stop()


def merging_never(workers, seconds=3):
    """Nothing merges for a while (ksmd may have no process to scan at all)."""
    time.sleep(seconds)
    for w in workers:
        expect(w.merging() == 0, f"{w.pid} merges {w.merging()} pages")


def expect_unmerged(procs):
    """None of @procs merges, and no two share a frame."""
    wait_for(lambda: all(p.merging() == 0 for p in procs),
             lambda: "unmerged: " + ", ".join(f"{p.pid} merges {p.merging()}" for p in procs))
    expect_apart(*[[p] for p in procs], what="processes")


# --- merge ---

def case_merge_on_enrolls_unmodified_processes():
    a, = setup("a")
    ws = [Worker(1, a, plain=True), Worker(1, a, plain=True)]
    try:
        merging_never(ws)
        out = cgset(a, "merge", "on")
        expect(out.strip() == f"cgroup {cg(a)}: merge=on domain=inherit max-pages=max",
               f"set said: {out!r}")
        expect(files(a) == ("on", "inherit"), f"the kernel has {files(a)}")
        wait_shared(*ws)
        # Started in the cgroup later (moved in, then exec), and moved in later.
        ws.append(Worker(1, a, plain=True))
        ws.append(Worker(1, plain=True))
        ws[-1].move(a)
        wait_shared(*ws)
        verify(*ws)
        expect(policy_name() == "none", f"a policy was loaded: {policy_name()}")
    finally:
        stop(*ws)


def case_merge_off_beats_madvise_and_prctl_and_unmerges():
    a, = setup("a")
    # These ask for merging themselves, two ways.
    ws = [Worker(4, a), Worker(4, a), Worker(4, a, mode="prctl"), Worker(4, a, mode="prctl")]
    try:
        wait_shared(*ws)
        cgset(a, "merge", "off")
        expect(files(a) == ("off", "inherit"), f"the kernel has {files(a)}")
        expect_unmerged(ws)
        # Asking again, in it from the start, changes nothing.
        ws += [Worker(4, a), Worker(4, a, mode="prctl")]
        wait_scans(2)
        merging_never(ws, 0)
        expect_unmerged(ws)
        verify(*ws)
    finally:
        stop(*ws)


def case_inherit_follows_the_hierarchy():
    p, = setup("p")
    c = sub(p, "c")
    cgset(p, "merge", "on")
    ws = [Worker(6, c, plain=True), Worker(6, c, plain=True)]
    try:
        wait_shared(*ws)
        row = show(c)[cg(c)]
        expect(row["setting"]["merge"] == "inherit" and row["effective"]["merge"] == "on" and
               row["effective"]["merge_from"] == cg(p), f"cgroup show: {row}")
        # The child says off: off wins.
        cgset(c, "merge", "off")
        expect(files(c)[0] == "off", f"the kernel has {files(c)}")
        expect_unmerged(ws)
        # Back to inherit: the parent's on again.
        cgset(c, "merge", "inherit")
        wait_shared(*ws)
        # off above beats on below.
        cgset(p, "merge", "off")
        cgset(c, "merge", "on")
        expect_unmerged(ws)
        merging_never(ws)
        row = show(c)[cg(c)]
        expect(row["setting"]["merge"] == "on" and row["effective"]["merge"] == "off" and
               row["effective"]["merge_from"] == cg(p), f"cgroup show: {row}")
        verify(*ws)
    finally:
        stop(*ws)


# --- domain ---

def case_isolated_domains_share_nothing():
    a, b = setup("a", "b")
    for c in (a, b):
        cgset(c, "merge", "on", "domain", "isolated")
        expect(files(c) == ("on", "isolated"), f"the kernel has {files(c)}")
    pairs_merge_apart(a, b, 2)


def case_named_domain_joins_cgroups():
    a, b, c = setup("a", "b", "c")
    for x in (a, b):
        cgset(x, "merge", "on", "domain", "tenant-1")
    cgset(c, "merge", "on", "domain", "isolated")
    expect(files(a) == ("on", "tenant-1") and files(b) == ("on", "tenant-1"),
           f"the kernel has {files(a)}, {files(b)}")
    joined = [Worker(3, a, plain=True), Worker(3, b, plain=True)]
    alone = [Worker(3, c, plain=True), Worker(3, c, plain=True)]
    try:
        wait_shared(*joined)
        wait_shared(*alone)
        wait_scans(2)
        expect_apart(joined, alone, what="a named domain and an isolated cgroup")
        rows = show()
        for x in (a, b):
            r = rows[cg(x)]
            expect(r["setting"]["domain"] == "tenant-1" and
                   r["effective"]["domain"] == "tenant-1" and
                   r["effective"]["domain_from"] == cg(x), f"cgroup show: {r}")
        verify(*joined, *alone)
    finally:
        stop(*joined, *alone)


def case_a_child_of_an_isolated_cgroup_cannot_widen():
    p, o1, o2, o3 = setup("p", "o1", "o2", "o3")
    c0, c1, c2 = sub(p, "c0"), sub(p, "c1"), sub(p, "c2")
    cgset(p, "merge", "on", "domain", "isolated")
    cgset(c1, "domain", "shared")		# ignored: it stays in p's domain
    cgset(c2, "domain", "wide")		# a name below p isolates c2 alone
    cgset(o1, "merge", "on")		# the shared domain
    cgset(o2, "merge", "on", "domain", "wide")
    cgset(o3, "merge", "on", "domain", "wide")
    expect(files(c1) == ("inherit", "shared") and files(c2) == ("inherit", "wide"),
           f"the kernel has {files(c1)}, {files(c2)}")
    inside = [Worker(5, c0, plain=True), Worker(5, c1, plain=True)]
    named_inside = [Worker(5, c2, plain=True), Worker(5, c2, plain=True)]
    shared_out = [Worker(5, o1, plain=True), Worker(5, o1, plain=True)]
    named_out = [Worker(5, o2, plain=True), Worker(5, o3, plain=True)]
    ws = inside + named_inside + shared_out + named_out
    try:
        for g in (inside, named_inside, shared_out, named_out):
            wait_shared(*g)
        wait_scans(2)
        expect_apart(inside, named_inside, shared_out, named_out, what="domains")
        rows = show()
        expect(rows[cg(c1)]["effective"]["domain"] == "isolated" and
               rows[cg(c1)]["effective"]["domain_from"] == cg(p), f"{rows[cg(c1)]}")
        expect(rows[cg(c2)]["effective"]["domain"] == "isolated" and
               rows[cg(c2)]["effective"]["domain_from"] == cg(c2), f"{rows[cg(c2)]}")
        expect(rows[cg(o2)]["effective"]["domain"] == "wide", f"{rows[cg(o2)]}")
        verify(*ws)
    finally:
        stop(*ws)


def case_moving_a_process_between_domains():
    a, b, off = setup("a", "b", "off")
    for c in (a, b):
        cgset(c, "merge", "on", "domain", "isolated")
    cgset(off, "merge", "off")
    a1, a2, b1 = Worker(7, a, plain=True), Worker(7, a, plain=True), Worker(7, b, plain=True)
    ws = [a1, a2, b1]
    try:
        wait_shared(a1, a2)
        # A child forked now maps the merged pages of its parent.
        child = a1.fork()
        expect(shared(a1, child), "the forked child does not map its parent's pages")
        a2.move(b)
        child.move(b)
        wait_scans(2)
        expect_apart([a1], [a2, child, b1], what="the old domain and the moved processes")
        # They merge in their new domain, and still not with the old one.
        wait_shared(b1, a2, child)
        wait_scans(1)
        expect_apart([a1], [a2, child, b1], what="the old domain and the new one")
        verify(a1, a2, b1, child)
        # Into a cgroup that merges nothing: unmerged.
        child.move(off)
        wait_scans(2)
        expect(child.merging() == 0, f"the child merges {child.merging()} pages in 'off'")
        expect_apart([child], [a1], [a2, b1], what="the 'off' child and the others")
        verify(a1, a2, b1, child)
    finally:
        stop(*ws)


TRACE = "/sys/kernel/tracing"
EXDEV = 18


def move_to_be_scanned_last(proc, cgroup):
    """Move @proc to @cgroup, whose settings enrol it, so that ksmd scans it
    after every process it knows already: an enrolled process goes just
    behind ksmd's cursor, so ksmd is stopped at the head of its list until
    @proc is enrolled."""
    stop_ksmd_between_passes()
    try:
        proc.move(cgroup)
        wait_for(lambda: "mg" in proc.vm_flags(), f"{proc.pid} to be enrolled")
    finally:
        resume_ksmd()


def fork_and_merge_by_the_child(parent, tenant, cgroup):
    """A child of @parent, moved to @tenant's @cgroup, merges with the
    tenant: scanned after it, the child's pages are those ksmd would make
    ksm pages where they are."""
    child = parent.fork()
    expect(shared(parent, child), "the forked child does not map its parent's pages")
    move_to_be_scanned_last(child, cgroup)
    wait_shared(tenant, child)
    return child

def case_a_page_shared_by_fork_stays_in_its_domain():
    """Fork leaves a parent and its child mapping the same pages, not merged.
    Moved to another tenant's domain, the child merges with that tenant, but
    ksmd must not make such a page a ksm page where it is: the parent, whose
    cgroup merges nothing, would share that frame with the tenant. The
    kernel refuses (a merge event with error -EXDEV) and merges the other
    way round."""
    off, b = setup("off", "b")
    cgset(off, "merge", "off")
    cgset(b, "merge", "on", "domain", "isolated")
    tenant = Worker(29, b, plain=True)
    parent = Worker(29, off, plain=True)
    event = f"{TRACE}/events/ksm/ksm_merge_with_ksm_page/enable"
    write(event, 1)
    write(f"{TRACE}/trace", "")
    try:
        wait_scans(1)
        child = fork_and_merge_by_the_child(parent, tenant, b)
        wait_scans(2)
        expect_apart([parent], [tenant, child], what="the 'off' parent and the tenant")
        expect(f"error -{EXDEV}" in read(f"{TRACE}/trace"),
               "no merge was refused with -EXDEV: the order of the scan was not as "
               "this case needs, so nothing was tested")
        verify(parent, tenant, child)
    finally:
        write(event, 0)
        stop(tenant, parent)


def case_a_move_leaves_what_fork_shared_and_merges_none_of_it():
    """A child moved to another domain still maps what fork left it of its
    parent's pages: copy-on-write, not ksm pages (docs/cgroups.md). Once a
    tenant of its new domain appears, the child merges with the tenant and
    the parent keeps its frames."""
    a, b = setup("a", "b")
    cgset(a, "merge", "on", "domain", "a")
    cgset(b, "merge", "on", "domain", "b")
    parent = Worker(41, a, plain=True)
    tenant = None
    try:
        child = parent.fork()
        move_to_be_scanned_last(child, b)
        wait_scans(2)
        left = frames(parent) & frames(child)
        apart = [(i, ksm_frame(parent.pfn(i)), ksm_frame(child.pfn(i)))
                 for i in range(PAGES) if parent.pfn(i) != child.pfn(i)]
        expect(len(left) == PAGES, f"the moved child shares {len(left)} of {PAGES} frames "
               "with its parent, not all that fork left it (page, a ksm page in the "
               f"parent, in the child: {apart})")
        merged = [pfn for pfn in left if ksm_frame(pfn)]
        expect(not merged, f"frames fork left shared are ksm pages: {sorted(merged)[:5]}")
        kept = child.pfn(0)
        parent.write()
        expect(child.pfn(0) == kept and frames(parent) & frames(child) == left - {kept},
               "a write by the parent did not give it a copy of page 0 alone")
        tenant = Worker(41, b, plain=True)
        wait_shared(tenant, child)
        expect_apart([parent], [tenant, child], what="the parent and its child's new domain")
        expect(all(ksm_frame(pfn) for pfn in frames(tenant)),
               "the child and the tenant share frames that are not ksm pages")
        verify(parent, child, tenant)
    finally:
        stop(*[w for w in (tenant, parent) if w])


def parent_mapping_a_tenants_frames(seed):
    """Cgroups a (no settings), b (merge on) and iso (a domain of its own); a
    tenant in b, and a parent in a that never asks for merging, whose child,
    moved to b, merged the pages they share by fork where they are: the
    parent maps the tenant's frames, as upstream would have it. Returns
    (iso, tenant, parent, child); stop(tenant, parent) ends them."""
    a, b, iso = setup("a", "b", "iso")
    cgset(b, "merge", "on")
    cgset(iso, "domain", "isolated")
    tenant = Worker(seed, b, plain=True)
    parent = Worker(seed, a, plain=True)
    try:
        wait_scans(1)
        child = fork_and_merge_by_the_child(parent, tenant, b)
        expect(frames(parent) & frames(tenant), "the parent maps no frame of the tenant: "
               "the child's pages were not merged where they are, so nothing was tested")
    except BaseException:
        stop(tenant, parent)
        raise
    return iso, tenant, parent, child


def case_a_process_never_in_ksm_is_unmerged_when_moved():
    """A process that never asked for merging maps ksm pages when its child
    merged pages they share by fork. Moved to an isolated domain, it must be
    unmerged like a process in KSM."""
    iso, tenant, parent, child = parent_mapping_a_tenants_frames(31)
    try:
        parent.move(iso)
        wait_scans(2)
        expect_apart([parent], [tenant, child], what="the moved parent and the tenant")
        verify(parent, tenant, child)
    finally:
        stop(tenant, parent)


def case_an_unmerge_that_failed_is_tried_again():
    """The kernel unmerges a process moved out of its domain right away. If
    its new cgroup has no memory for the copies (memory.max 0, and the OOM
    killer may not take it) that fails; it must be tried again until it
    works, even for a process that never asked for merging, which ksmd does
    not scan."""
    iso, tenant, parent, child = parent_mapping_a_tenants_frames(37)
    try:
        write(f"{iso}/memory.max", 0)
        write(f"/proc/{parent.pid}/oom_score_adj", -1000)
        parent.move(iso)
        time.sleep(2)
        expect(frames(parent) & frames(tenant), "the parent was unmerged with memory.max 0: "
               "nothing failed, so nothing was tested")
        write(f"{iso}/memory.max", "max")
        wait_for(lambda: not (frames(parent) & frames(tenant)),
                 "the parent to be unmerged once its cgroup has memory for the copies")
        verify(parent, tenant, child)
    finally:
        stop(tenant, parent)


def case_a_swapped_ksm_page_is_copied_into_another_domain():
    """A merged page paged out while a pipe holds its frame stays in the swap
    cache, still a ksm page. Faulted back by its process after a move to
    another domain it is copied, never mapped again; in its own domain the
    same frame comes back (the control: it shows the page was in the cache)."""
    swap_on()
    a, b = setup("a", "b")
    cgset(a, "merge", "on")
    cgset(b, "merge", "on", "domain", "isolated")
    for moved in (False, True):
        w1, w2 = Worker(23, a, plain=True), Worker(23, a, plain=True)
        try:
            wait_shared(w1, w2)
            ksm_frame = w1.pfn(0)
            w2.stop()
            w1.swap_out_pinned()
            if moved:
                w1.move(b)
            wait_scans(2)
            expect(w1.swapped(0), "page 0 was faulted back before the process touched it")
            w1.verify()
            back = w1.pfn(0)
            if moved:
                expect(back != ksm_frame, "the moved process maps its old domain's ksm page")
            else:
                expect(back == ksm_frame, "page 0 came back in another frame: the ksm page "
                       "did not stay in the swap cache, so nothing was tested")
        finally:
            stop(w1, w2)


def case_isolation_holds_whatever_the_policy():
    a, b = setup("a", "b")
    for c in (a, b):
        cgset(c, "merge", "on", "domain", "isolated")
    wa = [Worker(20, a, plain=True), Worker(20, a, plain=True)]
    wb = [Worker(20, b, plain=True), Worker(20, b, plain=True)]
    ws = wa + wb

    def check(state):
        wait_scans(2)
        wait_shared(*wa)
        wait_shared(*wb)
        try:
            expect_apart(wa, wb, what="isolated cgroups")
        except Failed as e:
            raise Failed(f"{state}: {e}")
        verify(*ws)
        expect(files(a) == ("on", "isolated") and files(b) == ("on", "isolated"),
               f"{state}: the kernel has {files(a)}, {files(b)}")

    try:
        check("no policy")
        ksmctl("policy", "load", f"{BPF}/default.bpf.o")
        check("the default policy (everyone in policy domain 0)")
        # A policy that puts both tenants in one domain of its own.
        ksmctl("policy", "replace", TEST_POLICIES, "map", "domains_by_tgid")
        for w in ws:
            subprocess.run([BPFTOOL, "map", "update", "pinned", f"{PIN}/policy_maps/domains",
                            "key", "hex", *le_hex(w.pid, 4), "value", "hex", *le_hex(7, 8)],
                           check=True, capture_output=True)
        check("every process in policy domain 7")
        ksmctl("policy", "replace", TEST_POLICIES, "map", "error_test")
        wait_for(lambda: "gives up" in read(f"{KSM}/policy_exit"), "the policy to be ejected")
        check("an ejected policy")
        ksmctl("policy", "unload")
        check("unloaded")
    finally:
        stop(*ws)


def case_kernel_files_alone_isolate_without_ksmctl_or_bpf():
    a, b = setup("a", "b")
    expect(policy_name() == "none", f"a policy is attached: {policy_name()}")
    for c in (a, b):
        subprocess.run(["sh", "-c", f"echo on > {c}/{MERGE} && echo isolated > {c}/{DOMAIN}"],
                       check=True)
    # The kernel itself refuses what ksmctl would.
    bad = subprocess.run(["sh", "-c", f"echo no/slash > {a}/{DOMAIN}"], capture_output=True)
    expect(bad.returncode != 0 and files(a) == ("on", "isolated"),
           f"the kernel took a bad domain: {files(a)}")
    def no_bpf():
        pins = os.listdir(PIN) if os.path.exists(PIN) else []
        expect(policy_name() == "none" and not pins, f"BPF was used: {policy_name()}, {pins}")

    pairs_merge_apart(a, b, 21, then=no_bpf)


# --- ksmctl's settings over time ---

def case_settings_outlive_ksmctl_and_the_policy():
    a, b = setup("a", "b")
    cgset(a, "merge", "on", "domain", "isolated", "max-pages", "100000")
    cgset(b, "merge", "on", "domain", "isolated")
    expect(policy_name() == "none", f"setting loaded a policy: {policy_name()}")
    row = show(a)[cg(a)]
    expect(row["setting"] == {"merge": "on", "domain": "isolated", "max_pages": "100000"},
           f"cgroup show: {row}")
    # A policy comes and goes; the settings are the kernel's and stay.
    ksmctl("policy", "load", f"{BPF}/default.bpf.o")
    ksmctl("policy", "unload")
    expect(files(a) == ("on", "isolated") and files(b) == ("on", "isolated") and
           read(f"{a}/{MAX}") == "100000", f"the kernel has {files(a)}, {files(b)}")
    row = show(a)[cg(a)]
    expect(row["setting"] == {"merge": "on", "domain": "isolated", "max_pages": "100000"} and
           row["effective"]["merge"] == "on" and row["effective"]["domain"] == "isolated",
           f"cgroup show after the policy: {row}")
    # Processes started now are enrolled and kept apart by the kernel alone.
    pairs_merge_apart(a, b, 22)


def case_max_pages_holds():
    p, = setup("p")
    a = sub(p, "a")
    cap = 16
    # The parent's cap binds its child; the child's own is larger.
    cgset(p, "max-pages", str(cap))
    out = cgset(a, "merge", "on", "max-pages", "1000")
    expect(policy_name() == "none" and read(f"{p}/{MAX}") == str(cap) and
           read(f"{a}/{MAX}") == "1000", f"set said {out!r}, policy {policy_name()}")
    ws = [Worker(5, a, plain=True), Worker(5, a, plain=True)]
    try:
        wait_for(lambda: sum(w.merging() for w in ws) >= cap - 1, "merging up to the cap")
        wait_scans(4)
        total = sum(w.merging() for w in ws)
        st, pst = ksm_stat(a), ksm_stat(p)
        # Pairs merge two pages at once, joins one: the cap may leave one free.
        expect(cap - 1 <= total <= cap, f"{total} pages merged, cap {cap}")
        expect(st["merging_pages"] == total and pst["merging_pages"] == total,
               f"memory.ksm_stat says {st['merging_pages']} ({pst['merging_pages']} above), "
               f"the processes {total}")
        expect(pst["max_pages_denied"] > 0, f"no merge refused: {pst}")
        row = show(a)[cg(a)]
        expect(row["setting"]["max_pages"] == "1000" and
               row["effective"]["max_pages"] == str(cap) and
               row["effective"]["max_pages_from"] == cg(p) and
               row["stat"]["merging_pages"] == total, f"cgroup show: {row}")
        cgset(p, "max-pages", "max")
        wait_shared(*ws)
        expect(show(a)[cg(a)]["effective"]["max_pages"] == "1000", "the child's cap not shown")
        verify(*ws)
    finally:
        stop(*ws)


def case_cgroup_stats_are_kept_incrementally():
    a, = setup("a")
    ksmctl("stats", "enable")
    cgset(a, "merge", "on")
    ws = [Worker(8, a, plain=True), Worker(8, a, plain=True)]

    def row():
        return cgroup_rows().get(cg(a), {})

    try:
        wait_shared(*ws)
        wait_scans(2)
        r = row()
        expect(r.get("pages_sharing") == sum(w.merging() for w in ws), f"cgroup row {r}")
        # merge=on merges the whole processes: the interpreters' own equal
        # pages merge too, how many is not known; the regions' are among them.
        expect(r["bytes_saved"] > 0 and r["pages_merged"] >= 2 * PAGES, f"{r}")
        ws[0].write()
        # Likewise, the interpreters may write merged pages of their own.
        wait_for(lambda: row().get("cow_writes", 0) >= 1,
                 lambda: f"the COW to be counted: {row()}")
        ws[0].verify()
        ws[0].stop()
        wait_scans(2)
        r = row()
        expect(r.get("pages_sharing") == ws[1].merging(), f"after an exit: {r}")
        ws[1].verify()
    finally:
        stop(*ws)


def case_removing_a_cgroup_releases_its_state():
    a, = setup("a")
    ksmctl("stats", "enable")
    cgset(a, "merge", "on", "domain", "solo", "max-pages", "1000")
    ident = show(a)[cg(a)]["id"]
    ws = [Worker(9, a, plain=True), Worker(9, a, plain=True)]
    try:
        wait_shared(*ws)
        verify(*ws)
    finally:
        stop(*ws)
    os.rmdir(a)
    expect(all(r["id"] != ident for r in show().values()), "the removed cgroup is shown")
    expect(all(r["cgroup_id"] != ident for r in ksmctl_json("stats", "cgroup")),
           "the removed cgroup's statistics stayed")
    # A cgroup of the same name starts afresh; the name can be given again.
    a = make_cgroup(f"{ROOT}/a")
    expect(files(a) == ("inherit", "inherit") and read(f"{a}/{MAX}") == "max",
           f"the new cgroup has {files(a)}, max-pages {read(f'{a}/{MAX}')}")
    cgset(a, "domain", "solo")
    expect(files(a) == ("inherit", "solo"), f"the kernel has {files(a)}")


def case_bad_settings_are_refused():
    a, = setup("a")
    nomem = make_cgroup(f"{ROOT}/a2/inner")	# a2 does not give it the memory controller
    cgset(a, "merge", "on", "domain", "t1")
    before = files(a)

    def refused(args, status, words, user=None):
        expect_error(["cgroup", "set", *args], status, words, user=user)
        expect(files(a) == before, f"ksmctl {' '.join(args)} changed {files(a)}")

    refused([cg(a), "merge", "maybe"], 2, ["merge", "maybe"])
    refused([cg(a), "domain", "no/slash"], 2, ["domain", "no/slash"])
    refused([cg(a), "domain", ""], 2, ["domain"])
    refused([cg(a), "domain", "x" * 64], 2, ["domain", "63"])
    refused([cg(a), "domain", "a b"], 2, ["domain"])
    refused([cg(a), "max-pages", "-1"], 2, ["max-pages"])
    refused([cg(a), "max-pages", "lots"], 2, ["max-pages"])
    refused([cg(a), "max-pages", "0"], 2, ["max-pages"])
    refused([cg(a), "max-pages", "inherit"], 2, ["max-pages"])
    refused([cg(a), "max-pages", "2251799813685248"], 2, ["max-pages"])
    refused([cg(a), "colour", "blue"], 2, ["unknown keyword 'colour'"])
    refused([cg(a), "merge", "off", "domain", "bad/x"], 2, ["domain"])	# all or nothing
    refused([cg(a), "merge", "on", "merge", "off"], 2, ["'merge' given twice"])
    refused([cg(a)], 2, ["nothing to set"])
    refused([cg(a), "merge"], 2, ["'merge' needs a value"])
    refused([cg(a), "merge=on"], 2, ["'merge=on' is written 'merge on'"])	# the old form
    refused(["/no/such/cgroup", "merge", "on"], 2, ["not a cgroup"])
    refused(["/", "merge", "on"], 2, ["root cgroup"])
    refused([cg(nomem), "merge", "on"], 1, ["memory controller", "+memory",
                                            f"{CGROUP}/{ROOT}/a2/cgroup.subtree_control"])
    refused([cg(a), "merge", "off"], 4, ["permission denied"], user=NOBODY)
    refused([cg(a), "domain", "isolated", "max-pages", "5"], 4, ["permission denied"],
            user=NOBODY)
    nothing_left()
    # The kernel's own checks, whatever ksmctl does: values and the writer.
    for f, v in ((MAX, "-1"), (MAX, "lots"), (MERGE, "maybe"), (DOMAIN, "a/b")):
        r = subprocess.run(["sh", "-c", f"echo {v} > {a}/{f}"], capture_output=True)
        expect(r.returncode != 0 and files(a) == before and read(f"{a}/{MAX}") == "max",
               f"the kernel took {v} for {f}")
    r = subprocess.run(["sh", "-c", f"echo off > {a}/{MERGE}"], capture_output=True,
                       user=NOBODY, group=NOBODY, extra_groups=[])
    expect(r.returncode != 0 and files(a) == before, "an unprivileged write went through")


CASES = [
    case_merge_on_enrolls_unmodified_processes,
    case_merge_off_beats_madvise_and_prctl_and_unmerges,
    case_inherit_follows_the_hierarchy,
    case_isolated_domains_share_nothing,
    case_named_domain_joins_cgroups,
    case_a_child_of_an_isolated_cgroup_cannot_widen,
    case_moving_a_process_between_domains,
    case_a_page_shared_by_fork_stays_in_its_domain,
    case_a_move_leaves_what_fork_shared_and_merges_none_of_it,
    case_a_process_never_in_ksm_is_unmerged_when_moved,
    case_an_unmerge_that_failed_is_tried_again,
    case_a_swapped_ksm_page_is_copied_into_another_domain,
    case_isolation_holds_whatever_the_policy,
    case_kernel_files_alone_isolate_without_ksmctl_or_bpf,
    case_settings_outlive_ksmctl_and_the_policy,
    case_max_pages_holds,
    case_cgroup_stats_are_kept_incrementally,
    case_removing_a_cgroup_releases_its_state,
    case_bad_settings_are_refused,
]

if __name__ == "__main__":
    status = run_cases(CASES)
    if os.path.exists(f"{CGROUP}/{ROOT}"):
        remove_cgroup(f"{CGROUP}/{ROOT}")
    sys.exit(status)
