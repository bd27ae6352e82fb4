#!/usr/bin/env python3
"""ksmctl refuses bad input whole (issue 14, R5), in the guest (KTAP output).

Every command with malformed arguments, objects that are not a policy
(missing, empty, truncated, not ELF, an x86 program, BPF of the other byte
order, a struct_ops of another type, a program the verifier rejects), pins
removed from under /sys/fs/bpf/ksm, and unprivileged callers. Each refusal
must be exactly one line naming the problem (with --json, one {"error": ...}
on stdout), the documented exit status, and no change to anything: the KSM
knobs and counters, the /sys/fs/bpf/ksm tree (pins by inode), every cgroup's
memory.ksm_* files and `ksmctl --json policy show` are compared before and
after. ksmd is stopped meanwhile, so that its counters stand still.
"""
import os
import shutil
import subprocess
import sys


# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403

ROOT = "ksm-bad-input"
DEFAULT = f"{BPF}/default.bpf.o"
BAD_BPF = os.path.join(TOP, "build", "selftests", "bpf")
SCRATCH = "/tmp/ksm-bad-input"


# --- the state a refused command must leave as it was ---

def snapshot():
    """Everything ksmctl could change, as a dict of name -> value."""
    state = {}
    for name in sorted(os.listdir(KSM)):
        state[f"ksm/{name}"] = read(f"{KSM}/{name}")
    if os.path.exists(PIN):
        for d, dirs, files in os.walk(PIN):
            for n in dirs + files:
                path = os.path.join(d, n)
                state[f"pin {os.path.relpath(path, PIN)}"] = os.lstat(path).st_ino
    else:
        state["pin /sys/fs/bpf/ksm"] = "absent"
    for d, _, files in os.walk(CGROUP):
        for n in files:
            if n.startswith("memory.ksm_"):
                state[f"cgroup {cg(d)}/{n}"] = read(os.path.join(d, n))
    rc, out, err = ksmctl("--json", "policy", "show", check=False)
    state["policy show"] = (rc, out)
    return state


def expect_unchanged(before, what):
    after = snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    expect(not changed, f"{what} changed " + "; ".join(
        f"{k}: {before.get(k, '(none)')!r} -> {after.get(k, '(none)')!r}" for k in changed[:4]))


def refused(args, status, words, user=None, json_too=True):
    """@args fail with @status and one line holding @words, plain and with
    --json, and nothing changes."""
    before = snapshot()
    for a in ([args, ["--json", *args]] if json_too else [args]):
        expect_error(a, status, words, user=user)
        expect_unchanged(before, f"ksmctl {' '.join(a)}{' as nobody' if user else ''}")


def ksmd_stopped():
    """A clean slate, then ksmd stopped: its counters stand still."""
    clean_slate()
    write(f"{KSM}/run", 0)


def with_state():
    """What a bad command could disturb: a policy, statistics, a cgroup's settings."""
    ksmd_stopped()
    a, = fresh_cgroups(ROOT, "a")
    ksmctl("policy", "load", DEFAULT)
    ksmctl("cgroup", "set", cg(a), "merge", "on", "domain", "tenant-a", "max-pages", "100")
    return cg(a)


# --- cases ---

def case_malformed_arguments_change_nothing():
    a = with_state()
    cases = [
        # Global options and objects.
        (["-x", "status"], 2, ["unknown option '-x'"]),
        (["--jsn", "status"], 2, ["unknown option '--jsn'"]),
        (["--pretty=yes", "status"], 2, ["'--pretty' takes no value"]),
        (["bogus"], 2, ["unknown object 'bogus'"]),
        (["status", "now"], 2, ["takes no arguments"]),
        # policy
        (["policy", "frobnicate"], 2, ["unknown command 'frobnicate'"]),
        (["policy", "load"], 2, ["needs a BPF object file"]),
        (["policy", "load", DEFAULT], 1, ["already", "replace"]),
        (["policy", "load", DEFAULT, "map"], 2, ["'map' needs a value"]),
        (["policy", "load", DEFAULT, "mapp", "m"], 2, ["unknown keyword 'mapp'"]),
        (["policy", "load", DEFAULT, "name", ""], 2, ["name", "1 to 63"]),
        (["policy", "load", DEFAULT, "name", "x" * 64], 2, ["name", "1 to 63"]),
        (["policy", "load", DEFAULT, "cgroup", "/nonexistent"], 2, ["/nonexistent",
                                                                    "not a cgroup"]),
        (["policy", "load", DEFAULT, "cgroup", f"{a}/../a"], 2, ["not a cgroup"]),
        (["policy", "replace"], 2, ["needs a BPF object file"]),
        (["policy", "replace", DEFAULT, "name", "a", "name", "b"], 2, ["'name' given twice"]),
        (["policy", "replace", DEFAULT, "--map", "m"], 2, ["'--map' is written 'map'"]),
        (["policy", "unload", "now"], 2, ["unknown keyword 'now'"]),
        # tunables: refused before anything is loaded
        (["policy", "replace", f"{BPF}/trust_stable.bpf.o", "set", "trust_firstsight=1"], 2,
         ["no tunable 'trust_firstsight'", "trust_first_sight"]),
        (["policy", "replace", f"{BPF}/trust_stable.bpf.o", "set", "trust_first_sight=2"], 2,
         ["bool"]),
        (["policy", "replace", f"{BPF}/trust_stable.bpf.o", "set", "trust_first_sight"], 2,
         ["not NAME=VALUE"]),
        (["policy", "replace", f"{BPF}/adaptive.bpf.o", "set", "skip_max=-1"], 2,
         ["4-byte integer"]),
        (["policy", "replace", DEFAULT, "set", "a=1"], 2, ["no tunables"]),
        (["policy", "unload", "cgroup"], 2, ["'cgroup' needs a value"]),
        (["policy", "unload", "cgroup", "/nonexistent"], 2, ["not a cgroup"]),
        (["policy", "unload", "cgroup", a], 1, ["no policy of cgroup", a]),
        (["policy", "show", "all"], 2, ["takes no arguments"]),
        # stats
        (["stats", "frob"], 2, ["unknown command 'frob'"]),
        (["stats", "top", "0"], 2, ["top", "'0'", "from 1"]),
        (["stats", "top", "-1"], 2, ["top", "'-1'"]),
        (["stats", "top", "99999999999999999999"], 2, ["top"]),
        (["stats", "pid", "1x"], 2, ["pid", "'1x'"]),
        (["stats", "sort", "nope"], 2, ["sort", "'nope'", "merged"]),
        (["stats", "format", "xml"], 2, ["format", "'xml'", "prometheus"]),
        (["stats", "watch", "1", "format", "json"], 2, ["watch"]),
        (["stats", "format", "prometheus", "pid", "1"], 2, ["no pid"], "plain"),
        (["stats", "format", "prometheus"], 2, ["--json and format prometheus"], "json"),
        (["stats", "--top", "5"], 2, ["'--top' is written 'top'"]),
        (["stats", "cgroup", "pid", "1"], 2, ["unknown keyword 'pid'"]),
        (["stats", "cgroup", "cgroup", "/nonexistent"], 2, ["not a cgroup"]),
        (["stats", "sharing", "top", "x"], 2, ["top", "'x'"]),
        (["stats", "sharing", "sort", "pid"], 2, ["unknown keyword 'sort'"]),
        (["stats", "enable", "max-procs", "0"], 2, ["max-procs", "'0'"]),
        (["stats", "enable", "max-procs", "99999999"], 2, ["max-procs"]),
        (["stats", "enable", "max-procs", "100"], 1, ["already enabled", "disable"]),
        # The policy started the statistics without who shares with whom.
        (["stats", "enable", "sharing", "maybe"], 2, ["sharing", "'maybe'", "off", "on"]),
        (["stats", "enable", "max-mappings", "16"], 2, ["max-mappings", "sharing on"]),
        (["stats", "enable", "sharing", "on"], 1, ["already enabled with sharing off",
                                                   "disable"]),
        (["stats", "sharing"], 1, ["not collected", "sharing off", "stats enable sharing on"]),
        (["stats", "disable", "now"], 2, ["takes no arguments"]),
        # knob
        (["knob", "frob"], 2, ["unknown command 'frob'"]),
        (["knob", "list", "all"], 2, ["takes no arguments"]),
        (["knob", "get", "no_such_knob"], 2, ["'no_such_knob' is not a KSM knob"]),
        (["knob", "get", "../run"], 2, ["'../run' is not a KSM knob"]),
        (["knob", "get", ""], 2, ["'' is not a KSM knob"]),
        (["knob", "get", "pages_to_scan", "nope"], 2, ["'nope' is not a KSM knob"]),
        (["knob", "set"], 2, ["NAME VALUE pairs"]),
        (["knob", "set", "run"], 2, ["NAME VALUE pairs"]),
        (["knob", "set", "run", "3"], 2, ["run", "'3'", "0 1 2"]),
        (["knob", "set", "pages_to_scan", " 5"], 2, ["pages_to_scan", "' 5'"]),
        (["knob", "set", "pages_to_scan", "0x10"], 2, ["pages_to_scan", "'0x10'"]),
        (["knob", "set", "sleep_millisecs", "99999999999"], 2, ["sleep_millisecs"]),
        (["knob", "set", "pages_to_scan", "300", "run", "9"], 2, ["run", "'9'"]),
        (["knob", "set", "pages_to_scan", "300", "pages_to_scan", "400"], 2,
         ["'pages_to_scan' given twice"]),
        (["knob", "set", "pages_shared", "1"], 2, ["not a writable"]),
        (["knob", "set", "policy", "x"], 2, ["not a writable"]),
        # cgroup
        (["cgroup", "frob"], 2, ["unknown command 'frob'"]),
        (["cgroup", "set"], 2, ["wants a cgroup"]),
        (["cgroup", "set", a], 2, ["nothing to set"]),
        (["cgroup", "set", a, "merge", "maybe"], 2, ["merge", "'maybe'"]),
        (["cgroup", "set", a, "merge", "on", "merge", "off"], 2, ["'merge' given twice"]),
        (["cgroup", "set", a, "merge=on"], 2, ["'merge=on' is written 'merge on'"]),
        (["cgroup", "set", a, "domain", "no/slash"], 2, ["domain", "'no/slash'"]),
        (["cgroup", "set", a, "domain", "x" * 64], 2, ["domain", "1 to 63"]),
        (["cgroup", "set", a, "max-pages", "0"], 2, ["max-pages", "'0'"]),
        (["cgroup", "set", a, "max-pages", "-1"], 2, ["max-pages", "'-1'"]),
        (["cgroup", "set", a, "max-pages", "99999999999999999999"], 2, ["max-pages"]),
        (["cgroup", "set", "/nonexistent", "merge", "on"], 2, ["/nonexistent",
                                                             "not a cgroup"]),
        (["cgroup", "set", f"{a}/..", "merge", "on"], 2, ["not a cgroup"]),
        (["cgroup", "set", "/", "merge", "on"], 2, ["root cgroup"]),
        (["cgroup", "show", "/nonexistent"], 2, ["not a cgroup"]),
        (["cgroup", "show", a, a], 2, ["at most one cgroup"]),
    ]
    for args, status, words, *only in cases:
        if only == ["json"]:
            args = ["--json", *args]
        refused(args, status, words, json_too=not only)


def object_files():
    """(path, exit status, words) of files that are not a policy ksmctl can load."""
    os.makedirs(SCRATCH, exist_ok=True)
    with open(DEFAULT, "rb") as f:
        good = f.read()

    def scratch(name, data):
        path = os.path.join(SCRATCH, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    return [
        ("/nonexistent.bpf.o", 2, ["/nonexistent.bpf.o", "No such file"]),
        (SCRATCH, 2, ["not a file"]),
        (scratch("empty.bpf.o", b""), 2, ["empty", "not a BPF object"]),
        (scratch("text.bpf.o", b"just text\n"), 2, ["not ELF", "not a BPF object"]),
        (scratch("header-cut.bpf.o", good[:40]), 2, ["truncated", "40 bytes"]),
        (scratch("half.bpf.o", good[:len(good) // 2]), 2, ["truncated", "section headers"]),
        (KSMCTL, 2, ["an ELF file for x86-64", "not a BPF object"]),
        (f"{BAD_BPF}/default-bpfeb.bpf.o", 2, ["other byte order", "bpfeb"]),
        (f"{BAD_BPF}/bad_wrong_ops.bpf.o", 2, ["no ksm_policy_ops struct_ops map"]),
        (f"{BPF}/ksm_stats.bpf.o", 2, ["no ksm_policy_ops struct_ops map"]),
        (f"{BAD_BPF}/bad_verifier.bpf.o", 1, ["the verifier rejected", "read_past_ctx"]),
        (f"{BAD_BPF}/bad_flags.bpf.o", 1, ["Invalid argument", "flags has bit(s) 0x4000000000000000",
                                           "override_smart_scan"]),
    ]


def case_bad_objects_are_named_and_change_nothing():
    """Each file refused by load (no policy), load for a cgroup, and replace
    (a policy loaded: it stays)."""
    ksmd_stopped()
    a, = fresh_cgroups(ROOT, "a")
    files = object_files()
    for path, status, words in files:
        print(f"# policy load {os.path.basename(path)}: "
              f"{ksmctl('policy', 'load', path, check=False)[2].strip()}", flush=True)
        refused(["policy", "load", path], status, words)
        refused(["policy", "load", path, "cgroup", cg(a)], status, words)
    ksmctl("policy", "load", DEFAULT)
    for path, status, words in files:
        refused(["policy", "replace", path], status, words)
    refused(["policy", "replace", TEST_POLICIES, "map", "unlinked"], 2,
            ["unlinked", "BPF link", "KSM_POLICY()"])
    refused(["policy", "replace", TEST_POLICIES, "map", "nope"], 2,
            ["no ksm_policy_ops map named 'nope'", "skip_all"])
    expect(policy_name() == "default", f"the policy is {policy_name()}, not default")
    shutil.rmtree(SCRATCH)


# The commands that read the pins; on each missing pin, each either works or
# fails with one line, and none changes anything.
READERS = [["policy", "show"], ["status"], ["stats"], ["stats", "cgroup"],
           ["stats", "sharing"], ["stats", "format", "prometheus"], ["knob", "list"],
           ["cgroup", "show"]]


def remove_pin(rel):
    path = os.path.join(PIN, rel) if rel else PIN
    if os.path.isdir(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def case_missing_pins_are_said_and_change_nothing():
    """Each pin under /sys/fs/bpf/ksm removed behind ksmctl's back; reading
    commands work or say what is missing; unload and replace of a policy whose
    pin is gone refuse; load and stats enable start over."""
    for rel in ("policy", "policy_maps", "procs", "cgroups", "totals", "sharing", "stats", ""):
        with_state()
        expect(os.path.exists(os.path.join(PIN, rel)), f"no pin {rel} to remove")
        remove_pin(rel)
        if rel in ("policy", ""):
            # The last reference to the link was the pin: the kernel detaches
            # the policy, but from a work item (bpf_link_put()).
            wait_for(lambda: policy_name() == "none", "the policy to detach", timeout=30)
        for args in READERS:
            before = snapshot()
            rc, out, err = ksmctl(*args, check=False)
            lines = err.strip().splitlines()
            expect(rc == 0 or (rc in (1, 3) and len(lines) == 1 and
                               lines[0].startswith("ksmctl: ")),
                   f"{rel or 'ksm'} removed: ksmctl {' '.join(args)}: status {rc}, {err!r}")
            expect_unchanged(before, f"{rel or 'ksm'} removed: ksmctl {' '.join(args)}")
        if rel in ("policy", ""):
            refused(["policy", "unload"], 1, ["no policy is loaded"])
            refused(["policy", "replace", DEFAULT], 1, ["no policy loaded by ksmctl"])
        if rel in ("procs", ""):
            refused(["stats"], 1, ["not being collected", "stats enable"])
        # What was removed comes back whole.
        if rel in ("policy", ""):
            ksmctl("policy", "load", DEFAULT)
        ksmctl("stats", "enable")
        expect(ksmctl_json("policy", "show")["pinned"], f"{rel or 'ksm'} removed: not pinned "
               "again")
        ksmctl("stats")


def case_unprivileged_callers_are_refused():
    """As nobody: every command that changes something says permission denied
    and changes nothing; even its bad input is not looked at first."""
    a = with_state()
    for args in (["policy", "load", DEFAULT], ["policy", "load", DEFAULT, "cgroup", a],
                 ["policy", "replace", DEFAULT], ["policy", "unload"],
                 ["policy", "unload", "cgroup", a], ["policy", "load", "/nonexistent.bpf.o"],
                 ["stats", "enable"], ["stats", "disable"],
                 ["stats", "enable", "max-procs", "10"],
                 ["knob", "set", "pages_to_scan", "100"], ["knob", "set", "run", "1"],
                 ["cgroup", "set", a, "merge", "off"],
                 ["cgroup", "set", a, "domain", "isolated", "max-pages", "max"]):
        refused(args, 4, ["permission denied", "root"], user=NOBODY)
    # Statistics live under root's /sys/fs/bpf/ksm: a reader is told so.
    refused(["stats"], 4, ["permission denied"], user=NOBODY)


def reset():
    clean_slate()
    if os.path.exists(f"{CGROUP}/{ROOT}"):
        remove_cgroup(f"{CGROUP}/{ROOT}")
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    status = run_cases([
        case_malformed_arguments_change_nothing,
        case_bad_objects_are_named_and_change_nothing,
        case_missing_pins_are_said_and_change_nothing,
        case_unprivileged_callers_are_refused,
    ], reset=reset)
    reset()
    sys.exit(status)
