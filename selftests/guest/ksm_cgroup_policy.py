#!/usr/bin/env python3
"""BPF policies per memory cgroup in the guest, as KTAP: the policy of a
process's nearest cgroup decides for it, else the global policy; processes
under different policies never share a frame; a process that moves takes
its new cgroup's policy; an ejection disables that attachment alone; a
removed cgroup's policy is disabled with its own exit reason and ksmctl
drops its pins. Checked by page frames (pagemap) and the kernel's files.

Names on the command line (without "case_") run only those cases.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403

ROOT = "ksmcgpol"


def load(path, policy, *more):
    """A test policy (test_policies.bpf.o, map @policy) for cgroup @path."""
    return ksmctl("policy", "load", TEST_POLICIES, "map", policy, "cgroup", cg(path),
                  *more)[1]


def find_key(obj, key):
    """The value of @key anywhere in a JSON document (bpftool's BTF dump)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        obj = list(obj.values())
    if isinstance(obj, list):
        for v in obj:
            found = find_key(v, key)
            if found is not None:
                return found
    return None


def attached(path):
    return read(f"{path}/memory.ksm_policy")


def link_target(path):
    """The cgroup id `bpftool link show` gives for the policy link of @path."""
    pin = f"{PIN}/cgroup/{os.stat(path).st_ino}/policy"
    # All links, with their pins: 6.12's bpftool exits 255 after showing one.
    out = subprocess.run([BPFTOOL, "-j", "-f", "link", "show"], capture_output=True,
                         text=True, check=True)
    links = [k for k in json.loads(out.stdout) if pin in k.get("pinned", [])]
    expect(len(links) == 1, f"bpftool link show: {len(links)} links pinned at {pin}")
    return links[0].get("cgroup_id")


def shown():
    """`ksmctl --json policy show`: the global policy, and {cgroup: entry}."""
    out = ksmctl_json("policy", "show")
    return out, {c["cgroup"]: c for c in out["cgroups"]}


def case_each_policy_decides_for_its_own_processes():
    clean_slate()
    a, b, r = fresh_cgroups(ROOT, "a", "b", "r")
    ksmctl("policy", "load", f"{BPF}/default.bpf.o")
    load(a, "skip_all")             # scans none of a's processes
    load(b, "trust_stable")
    expect(attached(a) == "skip_all" and attached(b) == "trust_stable" and
           attached(r) == "none", f"memory.ksm_policy: {attached(a)}, {attached(b)}, "
           f"{attached(r)}")
    ws = [Worker(5, c) for c in (a, a, b, b, r, r)]
    try:
        wait_shared(ws[2], ws[3])   # b's policy merges them
        wait_shared(ws[4], ws[5])   # the global policy merges r's
        wait_scans(2)
        expect(not shared(ws[0], ws[1]) and ws[0].merging() == ws[1].merging() == 0,
               "a's processes merged under a policy that scans none of them")
        # Same content, different policies: never one frame.
        expect_apart(ws[2:4], ws[4:6], what="processes under b's and the global policy")
        glob_, cgs = shown()
        expect(glob_["name"] == "default" and cgs[cg(a)]["name"] == "skip_all" and
               cgs[cg(b)]["name"] == "trust_stable" and cg(r) not in cgs,
               f"policy show: {glob_['name']}, {sorted(cgs)}")
        expect(cgs[cg(a)]["pinned"] and cgs[cg(a)]["hooks"]["scan_mm"]["prog_name"],
               f"a's entry: {cgs[cg(a)]}")
        st = {c["cgroup"]: c["name"] for c in ksmctl_json("status")["policy"]["cgroups"]}
        expect(st == {cg(a): "skip_all", cg(b): "trust_stable"}, f"status: {st}")
        fam = metric_families(ksmctl("stats", "format", "prometheus")[1], False)
        expect(one(fam, "ksm_cgroup_policy_attached", cgroup=cg(b), policy="trust_stable") == 1,
               "the export does not name b's policy")
        verify(*ws)
    finally:
        for w in ws:
            w.stop()


def case_a_moved_process_takes_its_new_cgroups_policy():
    clean_slate()
    a, b = fresh_cgroups(ROOT, "a", "b")
    load(a, "skip_all")
    mover, stayer, other = Worker(6, a), Worker(6, b), Worker(6, b)
    try:
        wait_shared(stayer, other)  # no global policy: b merges as upstream
        expect(mover.merging() == 0, "a process under skip_all merged")
        mover.move(b)
        wait_shared(stayer, other, mover)
        mover.move(a)               # back under skip_all: out of b's domain
        wait_for(lambda: not shared(mover, stayer) and mover.merging() == 0,
                 "the process moved back to be unmerged")
        verify(mover, stayer, other)
    finally:
        for w in (mover, stayer, other):
            w.stop()


def case_nearest_cgroup_decides():
    clean_slate()
    top, = fresh_cgroups(ROOT, "top")
    enable_memory(top)              # then top itself holds no process (cgroup v2)
    inner = make_cgroup(f"{ROOT}/top/inner")
    other = make_cgroup(f"{ROOT}/top/other")
    load(top, "skip_all")
    load(inner, "trust_stable")
    ws = [Worker(7, inner), Worker(7, inner), Worker(7, other), Worker(7, other)]
    try:
        wait_shared(ws[0], ws[1])   # inner's own policy, not top's skip_all
        wait_scans(2)
        expect(not shared(ws[2], ws[3]) and ws[2].merging() == 0,
               "other's processes merged under top's skip_all")
        ksmctl("policy", "unload", "cgroup", cg(inner))
        # Now top's skip_all decides for inner too: its pages are unmerged.
        wait_for(lambda: ws[0].merging() == 0 and not shared(ws[0], ws[1]),
                 "inner's processes unmerged under top's policy")
        verify(*ws)
    finally:
        for w in ws:
            w.stop()


def case_an_ejection_disables_that_attachment_alone():
    clean_slate()
    a, b = fresh_cgroups(ROOT, "a", "b")
    ksmctl("policy", "load", f"{BPF}/default.bpf.o")
    global_exit = read(f"{KSM}/policy_exit")
    load(a, "bad_verdict")
    load(b, "trust_stable")
    ws = [Worker(8, a), Worker(8, a)]
    try:
        wait_for(lambda: attached(a) == "none", "a's policy to be ejected")
        expect("bad_verdict: invalid verdict" in read(f"{a}/memory.ksm_policy_exit"),
               f"a's exit: {read(f'{a}/memory.ksm_policy_exit')}")
        expect(attached(b) == "trust_stable" and policy_name() == "default",
               f"the others: b {attached(b)}, global {policy_name()}")
        expect(read(f"{b}/memory.ksm_policy_exit") == "none" and
               read(f"{KSM}/policy_exit") == global_exit, "another attachment has an exit")
        wait_shared(*ws)            # a's processes fall back to the global policy
        _, cgs = shown()
        expect("invalid verdict" in cgs[cg(a)]["last_exit"] and cgs[cg(a)]["name"] is None,
               f"policy show of a: {cgs[cg(a)]}")
        verify(*ws)
    finally:
        for w in ws:
            w.stop()


def case_removing_the_cgroup_releases_the_attachment():
    clean_slate()
    gone, = fresh_cgroups(ROOT, "gone")
    w = Worker(9, gone)
    load(gone, "skip_all")
    cid = os.stat(gone).st_ino
    pins = f"{PIN}/cgroup/{cid}"
    expect(os.path.exists(f"{pins}/policy"), f"no pin at {pins}")
    trace = "/sys/kernel/tracing"
    write(f"{trace}/events/ksm/ksm_policy_detach/enable", 1)
    write(f"{trace}/trace", "")
    try:
        w.move(CGROUP)
        os.rmdir(gone)
        wait_for(lambda: "cgroup removed" in read(f"{trace}/trace"),
                 "the detach event of the removed cgroup's policy")
        # It names the attachment: the cgroup's id.
        line = next(x for x in read(f"{trace}/trace").splitlines() if "cgroup removed" in x)
        expect(line.endswith(f"; cgroup {cid}"), f"the detach event says {line!r}")
        # The policy's exit() was told why: its recorded kind is KSM_EXIT_CGROUP_GONE.
        out = subprocess.run([BPFTOOL, "-j", "map", "dump", "pinned",
                              f"{pins}/policy_maps/bss"], capture_output=True, text=True)
        kind = find_key(json.loads(out.stdout or "null"), "exit_kind")
        expect(kind == 7, f"exit_kind {kind} in {out.stdout[:400]} {out.stderr[:200]}")
        _, cgs = shown()
        expect(not any(k.endswith("/gone") for k in cgs), f"policy show: {sorted(cgs)}")
        ksmctl("policy", "load", f"{BPF}/default.bpf.o")   # any policy command prunes
        expect(not os.path.exists(pins), f"{pins} left behind")
    finally:
        write(f"{trace}/events/ksm/ksm_policy_detach/enable", 0)
        w.stop()


def case_bad_attachments_are_refused():
    clean_slate()
    a, = fresh_cgroups(ROOT, "a")
    plain = make_cgroup(f"{ROOT}/a/plain")     # a has no +memory for its children
    expect_error(["policy", "load", TEST_POLICIES, "map", "count_a", "cgroup", cg(a)], 1,
                 ["pass_start", "global"])
    expect(attached(a) == "none", "a refused policy is attached")
    expect_error(["policy", "load", TEST_POLICIES, "map", "skip_all", "cgroup", "/"], 2,
                 ["root"])
    expect_error(["policy", "load", TEST_POLICIES, "map", "skip_all", "cgroup",
                  cg(plain)], 1, ["memory controller"])
    expect_error(["policy", "load", TEST_POLICIES, "map", "skip_all", "cgroup",
                  "/no/such"], 2, ["/no/such"])
    load(a, "skip_all")
    # The link targets the cgroup (BPF_F_CGROUP_FD), and keeps it when replaced.
    ident = os.stat(a).st_ino
    expect(link_target(a) == ident, f"bpftool: the link targets {link_target(a)}, not {ident}")
    expect_error(["policy", "load", TEST_POLICIES, "map", "trust_stable", "cgroup",
                  cg(a)], 1, ["already", "skip_all"])
    expect_error(["policy", "unload", "cgroup", cg(plain)], 1, ["memory controller"])
    ksmctl("policy", "replace", TEST_POLICIES, "map", "trust_stable", "cgroup", cg(a))
    expect(attached(a) == "trust_stable" and link_target(a) == ident,
           f"after replace: {attached(a)}, the link targets {link_target(a)}")
    expect(read(f"{a}/memory.ksm_policy_exit").startswith("skip_all: replaced"),
           f"a's exit: {read(f'{a}/memory.ksm_policy_exit')}")
    ksmctl("policy", "unload", "cgroup", cg(a))
    expect(attached(a) == "none" and not os.path.exists(f"{PIN}/cgroup"),
           "unload left the policy or its pins")
    expect_error(["policy", "unload", "cgroup", cg(a)], 1, ["no policy", cg(a)])


CASES = [
    case_each_policy_decides_for_its_own_processes,
    case_a_moved_process_takes_its_new_cgroups_policy,
    case_nearest_cgroup_decides,
    case_an_ejection_disables_that_attachment_alone,
    case_removing_the_cgroup_releases_the_attachment,
    case_bad_attachments_are_refused,
]


if __name__ == "__main__":
    sys.exit(run_cases_in(ROOT, CASES))
