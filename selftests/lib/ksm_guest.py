"""What the Python guest tests share: the paths of the project's programs,
ksmctl runs and their errors, KSM's knobs, worker processes, cgroups, and
running cases as KTAP.
"""
import collections
import glob
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time


def _top():
    d = os.path.dirname(os.path.abspath(__file__))
    while d != "/" and not (os.path.exists(os.path.join(d, "Makefile")) and
                            os.path.isdir(os.path.join(d, "ctl"))):
        d = os.path.dirname(d)
    return d


TOP = _top()
KSMCTL = os.path.join(TOP, "build", "ksmctl")
WORKLOAD = os.path.join(TOP, "build", "selftests", "guest", "ksm-workload")
BPFTOOL = os.path.join(TOP, "build", "tools", "bin", "bpftool")
BPF = os.path.join(TOP, "build", "bpf")
TEST_POLICIES = os.path.join(TOP, "build", "selftests", "bpf", "test_policies.bpf.o")
# The policies bpf/ ships, each BPF/NAME.bpf.o.
SHIPPED_POLICIES = ("default", "adaptive", "trust_stable", "trust_adaptive", "zero_only")
KSM = "/sys/kernel/mm/ksm"
PIN = "/sys/fs/bpf/ksm"
CGROUP = "/sys/fs/cgroup"
PAGE = os.sysconf("SC_PAGESIZE")
PAGES = 64
NOBODY = 65534
# Time limits are this many times longer on the debug kernel, which KASAN,
# lockdep and kmemleak slow down about that much (as guest-tests.sh allows).
SLOWDOWN = 3 if os.environ.get("KSM_KERNEL_VARIANT", "").endswith("debug") else 1

# A process with PAGES pages of content SEED that obeys stdin. It offers them to
# KSM with madvise(MADV_MERGEABLE) (MODE "madvise", the default), with
# prctl(PR_SET_MEMORY_MERGE) ("prctl"), or not at all ("plain"). Commands:
# "w" writes one byte of page 0 (a COW of a merged page); "v" checks every
# page holds what it wrote; "f" forks a child that keeps the mapping, checks
# it on SIGUSR1, writes page 0 on SIGUSR2 and forks a child of its own, which
# does the same, on SIGHUP, answering on the same stdout;
# "s" pins page 0's frame in a pipe (vmsplice) and pages it out (MADV_PAGEOUT):
# reclaim cannot free a frame with a reference, so it stays in the swap cache
# while the process maps a swap entry; "e" execs sleep (the mm goes, the
# process stays); "q" exits.
WORKER = r"""
import ctypes, mmap, os, signal, sys
pages, seed = int(sys.argv[1]), int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else "madvise"
ps = mmap.PAGESIZE
libc = ctypes.CDLL(None, use_errno=True)
pinned = []
m = mmap.mmap(-1, pages * ps, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
base = ctypes.addressof(ctypes.c_char.from_buffer(m))
# What page i holds: its first byte, then fill[i]. Never a page's copy in the
# heap: a process a cgroup enrols whole would merge its region with it.
fill = [(seed + i) % 251 + 1 for i in range(pages)]
first = list(fill)
for i in range(pages):
    ctypes.memset(base + i * ps, fill[i], ps)
if mode == "madvise":
    m.madvise(mmap.MADV_MERGEABLE)
elif mode == "prctl":
    if libc.prctl(67, 1, 0, 0, 0):          # PR_SET_MEMORY_MERGE
        sys.exit(f"prctl: errno {ctypes.get_errno()}")

def holds(view, i):
    # Compared in blocks shorter than a page, for the reason above.
    block, at = bytes([fill[i]]) * 1024, i * ps
    return view[at] == first[i] and view[at + 1:at + 1024] == block[1:] and \
        all(view[at + k:at + k + 1024] == block for k in range(1024, ps, 1024))

def verify():
    with memoryview(m) as view:
        bad = [i for i in range(pages) if not holds(view, i)]
    return "ok" if not bad else f"{len(bad)} pages differ, the first {bad[0]}"

def write():
    m[0] = (m[0] + 1) % 256
    first[0] = m[0]

print("ready", base, flush=True)
for line in sys.stdin:
    if line.startswith("w"):
        write()
        print("done", flush=True)
    elif line.startswith("v"):
        print("verified", os.getpid(), verify(), flush=True)
    elif line.startswith("f"):
        # Blocked and waited for: a signal sent right after "forked" is not
        # lost, as it can be to a handler just before pause().
        asks = {signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP}
        signal.pthread_sigmask(signal.SIG_BLOCK, asks)
        pid = os.fork()
        while pid == 0:		# in a child, and again in each child it forks
            print("forked", os.getpid(), flush=True)
            pid = None
            while pid is None:
                ask = signal.sigwait(asks)
                if ask == signal.SIGUSR1:
                    print("verified", os.getpid(), verify(), flush=True)
                elif ask == signal.SIGUSR2:
                    write()
                    print("wrote", os.getpid(), flush=True)
                elif os.fork() == 0:
                    pid = 0
        signal.pthread_sigmask(signal.SIG_UNBLOCK, asks)
    elif line.startswith("s"):
        class iovec(ctypes.Structure):
            _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
        rfd, wfd = os.pipe()
        pinned.append((rfd, wfd))
        iov = iovec(base, ps)
        spliced = libc.vmsplice(wfd, ctypes.byref(iov), 1, 0)
        m.madvise(21, 0, ps)                     # MADV_PAGEOUT
        print("swapped", spliced, flush=True)
    elif line.startswith("e"):
        os.execv("/bin/sleep", ["sleep", "3600"])
    elif line.startswith("q"):
        break
"""


class Failed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Failed(msg)


def ksmctl_for(user):
    """ksmctl for @user: for another user than root, a copy in a directory every
    user may enter (the tree may be in a private home or a mktemp directory)."""
    if not user:
        return KSMCTL
    d = "/tmp/ksmctl-any-user"
    path = os.path.join(d, "ksmctl")
    if not os.path.exists(path):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        shutil.copy(KSMCTL, path)
        os.chmod(path, 0o755)
    return path


def ksmctl(*args, user=None, check=True):
    """Run ksmctl (as @user if given); returns (status, stdout, stderr)."""
    kw = {"user": user, "group": user, "extra_groups": []} if user else {}
    p = subprocess.run([ksmctl_for(user), *args], capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise Failed(f"ksmctl {' '.join(args)}: status {p.returncode}: {p.stderr.strip()}")
    return p.returncode, p.stdout, p.stderr


def ksmctl_json(*args):
    return json.loads(ksmctl("--json", *args)[1])


def cgroup_rows():
    """`ksmctl stats cgroup`'s rows by cgroup path (/a/b)."""
    return {r["cgroup"]: r for r in ksmctl_json("stats", "cgroup")}


def pinned_map(path):
    """The entries of the BPF map pinned at PATH, as `bpftool -j map dump` gives them."""
    return json.loads(subprocess.run([BPFTOOL, "-j", "map", "dump", "pinned", path],
                                     capture_output=True, text=True, check=True).stdout)


def expect_error(args, status, words, user=None):
    """A bad input: the exit status, one line on stderr naming the problem (with
    --json, {"error": ...} on stdout and nothing on stderr, as bpftool does)."""
    rc, out, err = ksmctl(*args, user=user, check=False)
    expect(rc == status, f"ksmctl {' '.join(args)}: status {rc}, wanted {status} "
           f"({err.strip() or out.strip()})")
    if "--json" in args:
        try:
            line = json.loads(out)["error"]
        except (ValueError, KeyError, TypeError):
            raise Failed(f"ksmctl {' '.join(args)}: wanted a JSON error, got {out!r}")
        expect(not err, f"ksmctl {' '.join(args)}: stderr {err!r} besides the JSON error")
    else:
        lines = err.strip().splitlines()
        expect(len(lines) == 1 and lines[0].startswith("ksmctl: "),
               f"ksmctl {' '.join(args)}: wanted one 'ksmctl: ' line, got {err!r}")
        line = lines[0]
    for w in words:
        expect(w in line, f"ksmctl {' '.join(args)}: '{w}' not in {line!r}")


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def policy_name():
    return read(f"{KSM}/policy")


BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"


class BpfStats:
    """kernel.bpf_stats_enabled=1 for a case, as it was afterwards."""

    def __enter__(self):
        self.saved = read(BPF_STATS)
        write(BPF_STATS, 1)

    def __exit__(self, *exc):
        write(BPF_STATS, self.saved)


def hook_runs():
    """The loaded policy's programs' run counts, per hook (kernel.bpf_stats_enabled=1)."""
    show = ksmctl_json("policy", "show")
    expect(show.get("run_stats"), f"policy show has no run counts: {show}")
    return {h: v["run_cnt"] for h, v in show["hooks"].items()}


def runs_since(before):
    return {h: n - before.get(h, 0) for h, n in hook_runs().items()}


def ksm_state():
    return " ".join(f"{k}={read(f'{KSM}/{k}')}" for k in
                    ("run", "full_scans", "pages_shared", "pages_sharing", "pages_unshared",
                     "pages_volatile", "policy", "policy_exit"))


def wait_for(cond, what, timeout=60, poll=0.1):
    """Poll @cond; on time-out fail naming @what (a string, or a callable for one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(poll)
    what = what() if callable(what) else what
    raise Failed(f"timed out waiting for {what} ({ksm_state()})")


def shared(a, b):
    """True when every page of a's region is b's page (same PFN)."""
    try:
        return all(a.pfn(i) == b.pfn(i) for i in range(PAGES))
    except (Failed, OSError):
        return False


def wait_shared(*procs):
    """All of @procs (same seed) map their regions at the same PFNs.

    A process KSM merges as a whole (merge=on) merges more than its region,
    so /proc/PID/ksm_merging_pages says little: the PFNs say it exactly.
    """
    wait_for(lambda: all(shared(procs[0], p) for p in procs[1:]),
             lambda: f"regions shared with {procs[0].state()}: " + "; ".join(
                 f"{p.state()}, shared {shared(procs[0], p)}" for p in procs[1:]))


def wait_merged(*workers):
    wait_for(lambda: all(w.merging() == PAGES for w in workers),
             lambda: "merging: " + ", ".join(f"{w.pid} merges {w.merging()}" for w in workers))


def state_of(proc_dir):
    """The state letter of /proc/PID or /proc/PID/task/TID (R, S, Z...)."""
    return read(f"{proc_dir}/stat").rsplit(")", 1)[1].split()[0]


def has_exited(pid):
    """@pid is a zombie or gone: its mm has gone with its exit."""
    try:
        return state_of(f"/proc/{pid}") in ("Z", "X")
    except OSError:
        return True


def mm_dir(pid):
    """/proc/PID, or /proc/PID/task/TID of a live thread when the leader has
    exited (a zombie leader has no mm: its pagemap and ksm files say nothing)."""
    d = f"/proc/{pid}"
    if state_of(d) != "Z":
        return d
    for tid in os.listdir(f"{d}/task"):
        t = f"{d}/task/{tid}"
        if state_of(t) != "Z":
            return t
    return d


class Proc:
    """A process mapping a worker's region at @addr: where its pages are."""

    def __init__(self, pid, addr):
        self.pid, self.addr = pid, addr

    def pfn(self, page=0):
        """The PFN of one of its pages (pagemap: bits 0-54 when present)."""
        with open(f"{mm_dir(self.pid)}/pagemap", "rb") as f:
            f.seek((self.addr // PAGE + page) * 8)
            entry = int.from_bytes(f.read(8), "little")
        expect(entry >> 63, f"page {page} of {self.pid} not present")
        return entry & ((1 << 55) - 1)

    def pfns(self):
        return {self.pfn(i) for i in range(PAGES)}

    def swapped(self, page=0):
        """Is the page swapped out (pagemap bit 62)?"""
        with open(f"{mm_dir(self.pid)}/pagemap", "rb") as f:
            f.seek((self.addr // PAGE + page) * 8)
            return bool(int.from_bytes(f.read(8), "little") >> 62 & 1)

    def vm_flags(self):
        """The VmFlags of its region's VMA ("mg": mergeable), for diagnostics."""
        try:
            with open(f"{mm_dir(self.pid)}/smaps") as f:
                inside = False
                for line in f:
                    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                        start, end = (int(x, 16) for x in line.split()[0].split("-"))
                        inside = start <= self.addr < end
                    elif inside and line.startswith("VmFlags:"):
                        return line.split(":", 1)[1].split()
        except OSError:
            pass
        return []

    def state(self):
        """What KSM did to it, for failure messages."""
        return (f"{self.pid}: merging {self.merging()}, "
                f"{'mergeable' if 'mg' in self.vm_flags() else 'not mergeable'}")

    def move(self, cgroup):
        write(f"{cgroup}/cgroup.procs", self.pid)

    def merging(self):
        try:
            return int(read(f"{mm_dir(self.pid)}/ksm_merging_pages"))
        except OSError:
            return -1


class Worker(Proc):
    """A process with PAGES pages of content @seed, madvised unless @plain.

    @mode: "madvise", "prctl" or "plain" (@plain is "plain"). In @cgroup (a
    directory) from the start when given: the shell that runs it moves itself
    there first, then execs the worker.
    """

    def __init__(self, seed, cgroup=None, plain=False, mode=None):
        mode = mode or ("plain" if plain else "madvise")
        argv = [sys.executable, "-c", WORKER, str(PAGES), str(seed), mode]
        if cgroup:
            argv = ["sh", "-c", f'echo $$ > {cgroup}/cgroup.procs && exec "$@"', "sh"] + argv
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().split()
        expect(line[:1] == ["ready"], "worker did not start")
        super().__init__(self.p.pid, int(line[1]))
        self.children = []
        self.execd = False

    def _command(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def _answer(self, pid):
        line = self.p.stdout.readline().split(maxsplit=2)
        expect(line[:2] == ["verified", str(pid)], f"{pid} answered {line}")
        return line[2].strip()

    def write(self):
        self._command("w")
        expect(self.p.stdout.readline().strip() == "done", "worker did not write")

    def verify(self):
        """The worker reads its pages back: each must hold what it wrote."""
        self._command("v")
        res = self._answer(self.pid)
        expect(res == "ok", f"worker {self.pid}: {res}")

    def swap_out_pinned(self):
        """Page 0 out to swap, its frame kept in the swap cache by a pipe."""
        self._command("s")
        line = self.p.stdout.readline().split()
        expect(line == ["swapped", str(PAGE)], f"worker could not pin page 0: {line}")
        expect(self.swapped(0), f"page 0 of {self.pid} was not swapped out")

    def exec_sleep(self):
        """The worker execs sleep: its mm goes, the process stays (stop() kills it)."""
        before = os.readlink(f"/proc/{self.pid}/exe")
        self._command("e")
        wait_for(lambda: os.readlink(f"/proc/{self.pid}/exe") != before, "the exec")
        self.execd = True

    def fork(self):
        """A child of the worker, sharing its pages as fork leaves them."""
        self._command("f")
        return self._forked("worker")

    def _forked(self, who):
        """The child that @who (this worker or one of its children) just forked."""
        line = self.p.stdout.readline().split()
        expect(line[:1] == ["forked"], f"{who} did not fork: {line}")
        child = Child(int(line[1]), self)
        self.children.append(child)
        return child

    def stop(self):
        for c in self.children:
            c.stop()
        if self.execd:
            self.p.kill()		# it obeys no more
        if self.p.poll() is None:
            try:
                self.p.stdin.write("q\n")
                self.p.stdin.close()
            except OSError:
                pass
            self.p.wait(timeout=30)


class Child(Proc):
    """A forked child of a Worker; it answers on its parent's stdout."""

    def __init__(self, pid, parent):
        super().__init__(pid, parent.addr)
        self.parent = parent

    def verify(self):
        os.kill(self.pid, signal.SIGUSR1)
        res = self.parent._answer(self.pid)
        expect(res == "ok", f"child {self.pid}: {res}")

    def write(self):
        """The child writes its page 0, as Worker.write() does."""
        os.kill(self.pid, signal.SIGUSR2)
        line = self.parent.p.stdout.readline().split()
        expect(line == ["wrote", str(self.pid)], f"child {self.pid} answered {line}")

    def fork(self):
        """A child of this child, sharing its pages as fork leaves them."""
        os.kill(self.pid, signal.SIGHUP)
        return self.parent._forked(f"child {self.pid}")

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def clean_slate(smart_scan=0):
    """No policy, no statistics, nothing registered with KSM, ksmd fast.

    smart_scan is off by default: it scans a page that failed to merge only
    every few passes, and two identical pages whose skip cycles are out of
    phase (workers started a few passes apart under TCG) may then never be
    looked at in the same pass, so never merge (upstream behaviour).
    """
    if os.path.exists(f"{PIN}/policy"):
        ksmctl("policy", "unload", check=False)
    # Memory cgroups' policies: their pins go, which detaches them.
    shutil.rmtree(f"{PIN}/cgroup", ignore_errors=True)
    ksmctl("stats", "disable", check=False)
    write(f"{KSM}/run", 2)
    write(f"{KSM}/smart_scan", smart_scan)
    write(f"{KSM}/use_zero_pages", 0)
    write(f"{KSM}/pages_to_scan", 4096)
    write(f"{KSM}/sleep_millisecs", 10)
    write(f"{KSM}/run", 1)


def swap_on(size="64M"):
    """A swap device on zram, once per boot (the test kernels build zram in)."""
    with open("/proc/swaps") as f:
        if "/dev/zram0" in f.read():
            return
    expect(os.path.exists("/sys/block/zram0"), "no zram device: the kernel lacks CONFIG_ZRAM")
    write("/sys/block/zram0/disksize", size)
    for cmd in (["mkswap", "/dev/zram0"], ["swapon", "/dev/zram0"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        expect(r.returncode == 0, f"{' '.join(cmd)}: {r.stderr.strip()}")


def project_packages():
    """Put the project's PyPI packages (setup/requirements.txt, in the
    virtualenv under KSM_CACHE, which scripts/vm.py passes) on sys.path."""
    cache = os.environ.get("KSM_CACHE", "")
    found = glob.glob(os.path.join(cache, "venv", "lib", "python3*", "site-packages"))
    expect(cache and found, f"no virtualenv under KSM_CACHE={cache!r}: run 'make setup'")
    sys.path.append(found[0])


def verify(*workers):
    """Each worker reads its pages back: each must hold what it wrote."""
    for w in workers:
        w.verify()


def cgroup_of(pid):
    """The cgroup of @pid as ksmctl names it: /a/b."""
    return read(f"{mm_dir(pid)}/cgroup").split("::", 1)[1]


def ksm_page_pairs(mappers):
    """{(cgroup a, cgroup b): ksm pages both map} (a <= b; a == b: pages the
    cgroup maps more than once), as `ksmctl stats sharing` counts them, from
    @mappers: for each frame, the cgroups of its mappings. Where no process
    forks, a frame two mappings share is a ksm page."""
    pairs = collections.Counter()
    for cgroups in mappers:
        if len(cgroups) < 2:
            continue
        n = collections.Counter(cgroups)
        pairs.update((c, c) for c, k in n.items() if k > 1)
        pairs.update(itertools.combinations(sorted(n), 2))
    return dict(pairs)


KPF_KSM = 21     # include/uapi/linux/kernel-page-flags.h


def ksm_frame(pfn):
    """Is the frame a ksm page (/proc/kpageflags)? On 6.12 this needs the
    series' fix "fs/proc: report KPF_KSM only for ksm pages": without it every
    anonymous page says KSM."""
    with open("/proc/kpageflags", "rb") as f:
        f.seek(pfn * 8)
        return bool(int.from_bytes(f.read(8), "little") >> KPF_KSM & 1)


def frames(*procs):
    out = set()
    for p in procs:
        out |= p.pfns()
    return out


def expect_apart(*groups, what="groups"):
    """No frame of one group of processes is a frame of another."""
    for i, g in enumerate(groups):
        for h in groups[i + 1:]:
            common = frames(*g) & frames(*h)
            expect(not common, f"{len(common)} frames shared between {what} "
                   f"{[p.pid for p in g]} and {[p.pid for p in h]}")


def metric_families(text, openmetrics):
    """An exposition parsed by Prometheus' own client: OpenMetrics, or the
    text format node_exporter's textfile collector reads. name -> family."""
    project_packages()
    if openmetrics:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    else:
        from prometheus_client.parser import text_string_to_metric_families
    return {f.name: f for f in text_string_to_metric_families(text)}


def one(families, name, **labels):
    """The value of the sample @name with @labels (all of its labels)."""
    for f in families.values():
        for s in f.samples:
            if s.name == name and s.labels == labels:
                return s.value
    raise Failed(f"no sample {name}{labels}")


class Workload(Proc):
    """build/.../ksm-workload: a C process with @pages pages of content @seed,
    madvised unless not @madvise; with @leader_exits its main thread exits at
    once and another thread holds the memory until stop(). @options are more
    of its options (--repeat N, --zero Z, --volatile V); in @cgroup (a
    directory) from the start when given, as Worker."""

    def __init__(self, seed, leader_exits=False, cgroup=None, madvise=True, pages=PAGES,
                 options=()):
        argv = [WORKLOAD] + (["--madvise"] if madvise else []) + \
            (["--leader-exits"] if leader_exits else []) + [str(o) for o in options] + \
            [str(pages), str(seed)]
        if cgroup:
            argv = ["sh", "-c", f'echo $$ > {cgroup}/cgroup.procs && exec "$@"', "sh"] + argv
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        line = self.p.stdout.readline()
        expect(line.startswith("addr="), f"ksm-workload said {line!r}")
        super().__init__(self.p.pid, int(line.split()[0][len("addr="):], 16))

    def verify(self):
        """It checks its pages: each must hold what it wrote."""
        self.p.stdin.write("v\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().strip()
        expect(line == "verified ok", f"ksm-workload {self.pid}: {line!r}")

    def threads(self):
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def stop(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(timeout=30)


def nothing_left():
    expect(policy_name() == "none", f"a policy is attached: {policy_name()}")
    expect(not os.path.exists(f"{PIN}/policy"), "the policy pin is left")
    expect(not os.path.exists(f"{PIN}/policy_maps"), "the policy's maps are left pinned")


def make_cgroup(name):
    """/sys/fs/cgroup/NAME (cgroup2 is mounted if it is not)."""
    if not os.path.exists(f"{CGROUP}/cgroup.procs"):
        os.makedirs(CGROUP, exist_ok=True)
        subprocess.run(["mount", "-t", "cgroup2", "none", CGROUP], check=True)
    path = f"{CGROUP}/{name}"
    os.makedirs(path, exist_ok=True)
    return path


def enable_memory(parent):
    """Give the children of @parent the memory controller, hence the KSM files."""
    write(f"{parent}/cgroup.subtree_control", "+memory")


def fresh_cgroups(root, *names):
    """Empty cgroups ROOT/NAME..., all with the memory controller."""
    if os.path.exists(f"{CGROUP}/{root}"):
        remove_cgroup(f"{CGROUP}/{root}")
    top = make_cgroup(root)
    enable_memory(CGROUP)
    enable_memory(top)
    return [make_cgroup(f"{root}/{n}") for n in names]


def cg(path):
    """A cgroup directory as ksmctl and /proc/PID/cgroup name it: /a/b."""
    return "/" + os.path.relpath(path, CGROUP)


def remove_cgroup(path):
    """Move what is left to the root, then remove the cgroup and its children."""
    for d, subdirs, _ in sorted(os.walk(path), key=lambda e: -e[0].count("/")):
        try:
            with open(f"{d}/cgroup.procs") as f:
                for pid in f.read().split():
                    write(f"{CGROUP}/cgroup.procs", pid)
        except OSError:
            pass
        os.rmdir(d)


def full_scans():
    return int(read(f"{KSM}/full_scans"))


def wait_scans(n, timeout=60):
    """Let ksmd finish @n more full scans."""
    start = full_scans()
    wait_for(lambda: full_scans() >= start + n, f"{n} more full scans", timeout)


def stop_ksmd_between_passes(timeout=60):
    """Stop ksmd with its cursor at the head of its list, between two passes.
    With batches longer than a pass, every batch ends a pass; the batch that
    was running when the length changed is let finish first. What is then
    given to ksmd (a process enrolled, a page rewritten) is first seen in
    the next pass, whatever ksmd was doing. resume_ksmd() starts it again."""
    write(f"{KSM}/pages_to_scan", 1 << 20)
    wait_scans(1, timeout)
    write(f"{KSM}/run", 0)      # returns when the batch running, so a pass, is done


def resume_ksmd(pages_to_scan=4096):
    write(f"{KSM}/run", 1)
    write(f"{KSM}/pages_to_scan", pages_to_scan)


# A result line of KTAP output (kselftest programs): status, number, description.
KTAP_RESULT = re.compile(r"^(ok|not ok) (\d+)\s*(.*)$")


def run_kselftest(argv, cwd, timeout):
    """Run a kselftest program in @cwd; its status and output (stdout, then
    stderr). Fails with the tail of its output if it does not end in @timeout s."""
    try:
        p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout
        raise Failed(f"{' '.join(argv)} did not finish in {timeout} s: {(out or '')[-800:]}")
    return p.returncode, p.stdout + p.stderr


# The KSM knobs a kselftest may change and must restore.
KSELFTEST_KNOBS = ("run", "pages_to_scan", "sleep_millisecs", "smart_scan", "use_zero_pages")


def kselftest_knobs():
    return {k: read(f"{KSM}/{k}") for k in KSELFTEST_KNOBS if os.path.exists(f"{KSM}/{k}")}


def run_kselftest_once(state, argv, cwd, timeout, leftovers):
    """Run a kselftest program on the first call only, with no policy attached,
    and print its output; @state (the caller's dict) then holds its status and
    output, the knobs before and after, the policy after it and what
    @leftovers() finds. Every call fails if the program did not end."""
    if not state:
        if os.path.exists(f"{KSM}/policy"):
            expect(policy_name() == "none", f"policy {policy_name()} attached")
        before = kselftest_knobs()
        t0 = time.monotonic()
        try:
            status, out = run_kselftest(argv, cwd, timeout)
        except Failed as e:
            # Recorded once: the cases that follow fail without running it again.
            status, out = None, str(e)
        took = time.monotonic() - t0
        for line in out.splitlines():
            print(f"#   {line}", flush=True)
        print(f"# {os.path.basename(argv[0])} took {took:.1f} s, exit status {status}",
              flush=True)
        state.update(status=status, out=out, before=before, after=kselftest_knobs(),
                     policy=policy_name() if os.path.exists(f"{KSM}/policy") else None,
                     leftovers=leftovers())
    if state["status"] is None:
        raise Failed(state["out"])
    return state


def kselftest_case(run, name, key, passed):
    """A case that fails unless @run()'s result for @key (a test or subtest of a
    kselftest program) is @passed, as that program says it."""
    def case():
        result = run()["results"].get(key)
        expect(result is not None, f"no result for '{key}'")
        expect(result == passed, f"'{key}': {result}")
    case.__name__ = f"case_{name}"
    return case


def expect_nothing_left(r):
    """A kselftest run (run_kselftest_once()) restored the KSM knobs and left no cgroup."""
    expect(r["after"] == r["before"], f"KSM knobs {r['after']}, before {r['before']}")
    expect(not r["leftovers"], f"cgroups left: {r['leftovers']}")


def run_cases(cases, reset=clean_slate):
    """Each case in turn, as KTAP, @reset after each; the exit status for the program.

    Names on the command line (without "case_") run only those cases.
    """
    if sys.argv[1:]:
        cases = [c for c in cases if c.__name__[len("case_"):] in sys.argv[1:]]
    knobs = ("pages_to_scan", "sleep_millisecs", "smart_scan", "use_zero_pages", "run")
    saved = {k: read(f"{KSM}/{k}") for k in knobs}
    print(f"KTAP version 1\n1..{len(cases)}", flush=True)
    failed = 0
    for i, case in enumerate(cases, 1):
        name = case.__name__[len("case_"):]
        t0 = time.monotonic()
        try:
            case()
            ok = True
        except (Failed, OSError, subprocess.SubprocessError, json.JSONDecodeError,
                KeyError, IndexError, TypeError, StopIteration) as e:
            print(f"# {name}: {type(e).__name__}: {e}", flush=True)
            ok = False
        reset()
        print(f"# {name} took {(time.monotonic() - t0) * 1000:.0f} ms")
        print(f"{'ok' if ok else 'not ok'} {i} {name}", flush=True)
        failed += not ok
    write(f"{KSM}/run", 2)
    for k in knobs:
        write(f"{KSM}/{k}", saved[k])
    return 1 if failed else 0


def run_cases_in(root, cases):
    """run_cases() for a test whose cases make cgroups under /sys/fs/cgroup/@root:
    a clean slate and no such cgroup after each case and at the end."""
    def reset():
        clean_slate()
        if os.path.exists(f"{CGROUP}/{root}"):
            remove_cgroup(f"{CGROUP}/{root}")
    status = run_cases(cases, reset=reset)
    if os.path.exists(f"{CGROUP}/{root}"):
        remove_cgroup(f"{CGROUP}/{root}")
    return status
