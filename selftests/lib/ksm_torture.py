"""What the torture drivers (selftests/torture/, docs/reliability.md) share:
their programs and policies, R1 run as a process, ksmd flat out, policies
loaded and ejected through ksmctl, the kernel log and kmemleak.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

from ksm_guest import (BPF, CGROUP, KSM, SHIPPED_POLICIES, TEST_POLICIES, TOP, Failed,
                       expect, full_scans, ksmctl, ksmctl_json, read, write)

TORTURE = os.path.join(TOP, "build", "selftests", "torture")
COW_TORTURE = os.path.join(TORTURE, "ksm-cow-torture")
MMAP_LATENCY = os.path.join(TORTURE, "ksm-mmap-latency")
TORTURE_POLICIES = os.path.join(TOP, "build", "selftests", "bpf", "torture_policies.bpf.o")
KMEMLEAK = "/sys/kernel/debug/kmemleak"

# Policies that only steer what ksmd does (churned by R2 and R4): the shipped
# ones, and maps of test_policies.bpf.o. (file, map or None)
SHIPPED = [(os.path.join(BPF, f"{n}.bpf.o"), None) for n in SHIPPED_POLICIES]
STEERING = SHIPPED + [(TEST_POLICIES, m) for m in
                      ("skip_all", "deny_merge", "domains_by_tgid", "trust_stable",
                       "zero_only", "count_a", "skip_pages")]
# Those a memory cgroup may have too: not those with pass_start or pass_end
# (ksmd's pace is global; the kernel refuses them with EINVAL).
PACING = {"default", "adaptive", "trust_adaptive", "count_a"}


def steering(cgroup):
    return [(o, m) for o, m in STEERING
            if not cgroup or (m or os.path.basename(o).split(".")[0]) not in PACING]


# Test policies that get themselves ejected, and the reason the kernel gives.
EJECTING = [(TEST_POLICIES, "error_test", "error"), (TEST_POLICIES, "bad_verdict",
                                                      "invalid verdict")]


def split(duration):
    """How `make torture DURATION=S` shares S seconds out: R1, R2, R3, R4."""
    return {"r1": duration * 25 // 100, "r2": duration * 40 // 100,
            "r3": duration * 10 // 100, "r4": duration * 25 // 100}


def report(part, figures):
    """One line the host-side summary (scripts/torture.py) reads."""
    print(f"torture-summary {part} {json.dumps(figures, sort_keys=True)}", flush=True)


def flat_out():
    """ksmd as fast as it goes: no sleep between batches, big batches."""
    write(f"{KSM}/pages_to_scan", 16384)
    write(f"{KSM}/sleep_millisecs", 0)
    write(f"{KSM}/run", 1)


def policy_args(obj, mapname):
    return [obj] + (["map", mapname] if mapname else [])


def load(obj, mapname=None, cgroup=None, replace=False):
    """ksmctl policy load/replace; cgroup is a path as ksmctl names it (/a/b)."""
    args = ["policy", "replace" if replace else "load", *policy_args(obj, mapname)]
    return ksmctl(*args, *(["cgroup", cgroup] if cgroup else []))


def unload(cgroup=None):
    return ksmctl("policy", "unload", *(["cgroup", cgroup] if cgroup else []), check=False)


def attached(cgroup=None):
    """The policy deciding at the top or for memory cgroup @cgroup (/a/b)."""
    return read(f"{CGROUP}{cgroup}/memory.ksm_policy" if cgroup else f"{KSM}/policy")


def last_exit(cgroup=None):
    return read(f"{CGROUP}{cgroup}/memory.ksm_policy_exit" if cgroup else f"{KSM}/policy_exit")


def shown_exit(cgroup=None):
    """What `ksmctl policy show` says about why the policy stopped."""
    out = ksmctl_json("policy", "show")
    if not cgroup:
        return out["last_exit"]
    for c in out.get("cgroups", []):
        if c["cgroup"] == cgroup:
            return c["last_exit"]
    return None


def wait_ejected(name, cgroup=None, timeout=120):
    """Wait until the policy @name is no longer attached; seconds and full scans it took."""
    t0, s0 = time.monotonic(), full_scans()
    while attached(cgroup) == name:
        if time.monotonic() - t0 > timeout:
            raise Failed(f"{name} was not ejected within {timeout} s ({full_scans() - s0} "
                         f"full scans; {ksmd_state()})")
        time.sleep(0.02)
    return time.monotonic() - t0, full_scans() - s0


def ksmd_state():
    """What ksmd is doing, for a failure message."""
    state = " ".join(f"{k}={read(f'{KSM}/{k}')}" for k in (
        "run", "full_scans", "pages_scanned", "pages_to_scan", "sleep_millisecs", "policy",
        "policy_exit"))
    pid = subprocess.run(["pgrep", "-x", "ksmd"], capture_output=True, text=True).stdout.split()
    for p in pid[:1]:
        for f in ("wchan", "stack"):
            try:
                state += f"; ksmd {f}: " + read(f"/proc/{p}/{f}").replace("\n", " | ")
            except OSError:
                pass
    return state


def kernel_log():
    return subprocess.run(["dmesg"], capture_output=True, text=True).stdout


def kmemleak_ready():
    """kmemleak on and its boot-time suspects set aside; False without kmemleak."""
    if not os.path.exists("/sys/kernel/debug/kmemleak") and os.path.isdir("/sys/kernel/debug"):
        subprocess.run(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"],
                       capture_output=True)
    if not os.path.exists(KMEMLEAK):
        return False
    write(KMEMLEAK, "scan")
    write(KMEMLEAK, "clear")
    return True


def kmemleak_leaks():
    """Scan (twice: an object must stay unreferenced longer than kmemleak's
    minimum age, 5 s) and return what kmemleak lists, '' when nothing."""
    write(KMEMLEAK, "scan")
    time.sleep(6)
    write(KMEMLEAK, "scan")
    with open(KMEMLEAK) as f:
        return f.read().strip()


class CowTorture:
    """R1 (ksm-cow-torture) as a process, in memory cgroup @cgroup if given,
    below ksmd's priority (nice 10, ksmd's is 5) so that the drivers and
    ksmd keep up with its processes in a slow guest."""

    def __init__(self, duration, procs=8, pages=256, seed=0x5eed, cgroup=None, extra=()):
        argv = ["nice", "-n", "10", COW_TORTURE, "--duration", str(duration), "--procs", str(procs),
                "--max-procs", str(procs * 2), "--pages", str(pages), "--seed", str(seed),
                *extra]
        if cgroup:
            argv = ["sh", "-c", f'echo $$ > {CGROUP}{cgroup}/cgroup.procs && exec "$@"',
                    "sh"] + argv
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)

    def stop(self):
        """End its churn now (SIGTERM): its processes check and exit as at the end."""
        if self.p.poll() is None:
            self.p.terminate()

    def result(self, timeout):
        """Its figures; fails on any difference, crash or a run that merged nothing."""
        out, _ = self.p.communicate(timeout=timeout)
        summary = None
        for line in out.splitlines():
            if line.startswith("r1-summary "):
                summary = json.loads(line.split(" ", 1)[1])
            else:
                print(line, flush=True)
        expect(summary is not None, f"ksm-cow-torture said no summary (status "
               f"{self.p.returncode})")
        expect(summary["corruptions"] == 0, f"{summary['corruptions']} corruptions")
        expect(summary["crashes"] == 0 and not summary["lost"],
               f"{summary['crashes']} processes crashed, lost: {summary['lost']}")
        expect(summary["errors"] == 0, f"{summary['errors']} system calls failed")
        expect(summary["pages_sharing_peak"] > 0, "KSM merged nothing during R1")
        expect(self.p.returncode == 0, f"ksm-cow-torture exited {self.p.returncode}")
        return summary

    def kill(self):
        """Its processes, all of them (they are its process group), end now."""
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


class Tenant:
    """R3's tenant (ksm-mmap-latency): @pages mergeable pages and an mmap writer."""

    def __init__(self, pages, seed):
        self.p = subprocess.Popen([MMAP_LATENCY, str(pages), str(seed)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        expect(self.p.stdout.readline().startswith("ready"), "the tenant did not start")

    def longest(self):
        """The longest mmap+munmap iteration since the last call, in ms, and how many."""
        self.p.stdin.write("r\n")
        self.p.stdin.flush()
        words = self.p.stdout.readline().split()
        expect(words[:1] == ["max_us"], f"the tenant said {words}")
        return int(words[1]) / 1000, int(words[3])

    def rewrite(self, seed):
        """Its identical pages get new content (seed @seed): new merges for ksmd."""
        self.p.stdin.write(f"m {seed}\n")
        self.p.stdin.flush()
        expect(self.p.stdout.readline().strip() == "rewritten", "the tenant did not rewrite")

    def stop(self):
        if self.p.poll() is None:
            self.p.stdin.write("q\n")
            self.p.stdin.close()
            self.p.wait(timeout=60)


def pick(rng, items):
    return items[rng.randrange(len(items))]


def seeded_rng(seed=None):
    """A random source whose seed is printed, so a run can be repeated."""
    seed = seed if seed is not None else int(time.time())
    print(f"# random seed {seed} (KSM_TORTURE_SEED={seed} repeats this run)", flush=True)
    return random.Random(seed)


def standalone(part, run, default):
    """A driver run by itself: `PART.py [DURATION]`; exit 1 on a failed check."""
    try:
        run(int(sys.argv[1]) if sys.argv[1:] else default)
    except Failed as e:
        print(f"# {part} failed: {e}", flush=True)
        sys.exit(1)


def torture_seed():
    s = os.environ.get("KSM_TORTURE_SEED")
    return int(s) if s else None

