#!/usr/bin/env python3
"""Run a command in a VM booted on a kernel of this project, with virtme-ng.

The guest sees the host's filesystem (9p, copy-on-write) and runs as root.
The command finds the kernel variant it was booted on (patched, baseline,
debug, baseline-debug; empty for a --kernel of one's own) in KSM_KERNEL_VARIANT.
KVM is used when a kernel really boots under it here, TCG otherwise. After the command, the guest's
kernel log is checked: an Oops, BUG, WARNING, KASAN, UBSAN, lockdep or kmemleak
report fails the run (exit status 125) and is shown. Otherwise the exit status is
the command's.

    scripts/vm.py [--variant patched|baseline|debug|baseline-debug] [--kernel BZIMAGE]
                  [--cpus N] [--memory SIZE] [--timeout S] [--verbose] -- CMD [ARG...]
"""
import argparse
import fcntl
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("KSM_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ksm-bpf")
GUEST_WRAP = os.path.join(TOP, "scripts", "guest-wrap.sh")

# What a kernel log must never contain. Lockdep's reports start with
# "WARNING: possible ..." or "INFO: ..."; kmemleak's with "unreferenced object".
KERNEL_REPORT = re.compile(
    r"(Oops|BUG:|kernel BUG at|WARNING:|KASAN:|UBSAN:|general protection fault|"
    r"Kernel panic|INFO: (possible|inconsistent|task .* blocked)|"
    r"suspicious RCU usage|inconsistent lock state|unreferenced object|"
    r"watchdog: BUG: soft lockup|rcu: INFO:)")
EXIT_KERNEL_REPORT = 125
EXIT_GUEST_LOST = 124

KVM_GET_API_VERSION = 0xAE00


def kvm_boots(bzimage):
    """True when a kernel really boots under KVM here; KSM_BPF_KVM=0/1 overrides.

    /dev/kvm answering is not enough: under some nested hypervisors the BIOS
    runs but the kernel never prints a line. So boot the kernel once with no
    root (it panics at once and QEMU exits) and look for its banner. The
    answer is cached per host boot.
    """
    forced = os.environ.get("KSM_BPF_KVM")
    if forced in ("0", "1"):
        return forced == "1"
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != 12:
            return False
    except OSError:
        return False
    finally:
        os.close(fd)
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot_id = f.read().strip()
    cache = os.path.join(CACHE, "kvm-probe")
    try:
        with open(cache) as f:
            cached_id, answer = f.read().split()
        if cached_id == boot_id:
            return answer == "yes"
    except (OSError, ValueError):
        pass
    try:
        out = subprocess.run(
            ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "256M",
             "-nographic", "-no-reboot", "-kernel", bzimage,
             "-append", "console=ttyS0 panic=-1"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30).stdout
        ok = b"Linux version" in out
    except subprocess.TimeoutExpired:
        ok = False
    os.makedirs(CACHE, exist_ok=True)
    with open(cache, "w") as f:
        f.write(f"{boot_id} {'yes' if ok else 'no'}\n")
    if not ok:
        print("vm: /dev/kvm is present but a kernel does not boot under it; using TCG",
              file=sys.stderr)
    return ok


def find_vng():
    venv = os.path.join(CACHE, "venv", "bin", "vng")
    if os.access(venv, os.X_OK):
        return venv
    found = shutil.which("vng")
    if not found:
        sys.exit("vm.py: virtme-ng (vng) is not installed; run 'make setup'")
    return found


def find_kernel(variant, kernel):
    path = kernel or os.path.join(TOP, "build", f"kernel-{variant}", "bzImage")
    if not os.path.isfile(path):
        sys.exit(f"vm.py: no kernel at {path}; run 'make kernel VARIANT={variant}'")
    return os.path.realpath(path)


def kernel_info(variant):
    """The info file of build/kernel-VARIANT (variant, key, source, series...) as a dict."""
    info = {}
    with open(os.path.join(TOP, "build", f"kernel-{variant}", "info")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            info[key] = value
    return info


def kernel_reports(log):
    """The report blocks (a matching line and what follows it) in a kernel log."""
    lines = log.splitlines()
    reports = []
    i = 0
    while i < len(lines):
        if KERNEL_REPORT.search(lines[i]):
            reports.append("\n".join(lines[i:i + 40]))
            i += 40
        else:
            i += 1
    return reports


def relay(proc, out, deadline):
    """Copy the guest's output to out until it ends; False on timeout.

    QEMU writes the guest's stdout and stderr through /proc/self/fd/N, each
    with its own file offset: given a regular file they overwrite each other.
    A pipe has no offsets, so QEMU gets one and we copy.
    """
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if not sel.select(timeout=min(left, 5)):
            continue
        data = os.read(proc.stdout.fileno(), 65536)
        if not data:
            return True
        out.write(data)
        out.flush()


def run(cmd, variant="patched", kernel=None, cpus=2, memory="2G", timeout=1800,
        stdout=None, verbose=False, icount=False):
    """Boot, run cmd (a list) in the guest, check the kernel log.

    Returns (status, reports): the command's exit status (or EXIT_* codes) and
    the kernel reports found. The command's output goes to stdout (a file
    object, default: ours). With icount and TCG, the guest's clock counts
    instructions (1 ns each): CPU time in the guest becomes a deterministic
    measure of work, whatever else the host does.
    """
    bzimage = find_kernel(variant, kernel)
    os.makedirs(os.path.join(TOP, "build"), exist_ok=True)
    rundir = tempfile.mkdtemp(prefix="vm-", dir=os.path.join(TOP, "build"))
    kvm = kvm_boots(bzimage)
    argv = [find_vng(), "--run", bzimage, "--force-9p", "--cpus", str(cpus),
            "--memory", memory, "--rwdir", rundir, "--cwd", os.getcwd(),
            # A panic reboots, and virtme-ng's QEMU exits instead of rebooting.
            "--append", "panic=-1 printk.devkmsg=on"]
    if not kvm:
        argv.append("--disable-kvm")
        if icount:
            argv += ["--qemu-opts", "-icount shift=0,sleep=off"]
    if verbose:
        argv.append("--verbose")
    guest_variant = "" if kernel else variant
    argv += ["--exec", shlex.join(["sh", GUEST_WRAP, rundir, CACHE, guest_variant] + list(cmd))]
    print(f"vm: booting {os.path.relpath(bzimage, TOP) if bzimage.startswith(TOP) else bzimage}"
          f" ({'KVM' if kvm else 'TCG'}, {cpus} CPUs, {memory})", file=sys.stderr, flush=True)
    out = stdout.buffer if hasattr(stdout, "buffer") else (stdout or sys.stdout.buffer)
    # vng starts virtme-run (and its helpers) through PATH: put its own bin/ first,
    # so a virtualenv's copy works without anyone's PATH pointing at it.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(argv[0]), env.get("PATH", os.defpath)])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env)
    if relay(proc, out, time.monotonic() + timeout):
        status = proc.wait()
    else:
        proc.kill()
        proc.wait()
        print(f"vm: the guest did not finish within {timeout} s", file=sys.stderr)
        status = EXIT_GUEST_LOST

    try:
        with open(os.path.join(rundir, "dmesg"), errors="replace") as f:
            log = f.read()
        with open(os.path.join(rundir, "status")) as f:
            status = int(f.read().strip() or EXIT_GUEST_LOST)
    except (OSError, ValueError):
        print("vm: the guest ended without writing its kernel log (crash, panic or "
              "timeout); scripts/vm.py --verbose shows its console", file=sys.stderr)
        return EXIT_GUEST_LOST, []
    finally:
        shutil.rmtree(rundir, ignore_errors=True)

    reports = kernel_reports(log)
    for r in reports:
        print("vm: the guest kernel reported:\n" + r, file=sys.stderr)
    if reports:
        status = EXIT_KERNEL_REPORT
        saved = os.path.join(TOP, "build", "logs", f"guest-dmesg-{os.path.basename(rundir)}.log")
        os.makedirs(os.path.dirname(saved), exist_ok=True)
        with open(saved, "w") as f:
            f.write(log)
        print(f"vm: the whole guest kernel log is in {os.path.relpath(saved, TOP)}",
              file=sys.stderr)
    return status, reports


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default=os.environ.get("VARIANT", "patched"),
                    choices=["patched", "baseline", "debug", "baseline-debug",
                             "patched-jump-label", "baseline-jump-label"])
    ap.add_argument("--kernel", help="a bzImage to boot instead of the variant's")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--memory", default="2G")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds")
    ap.add_argument("--verbose", action="store_true", help="show the guest's console")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command given")
    status, _ = run(cmd, args.variant, args.kernel, args.cpus, args.memory, args.timeout,
                    verbose=args.verbose)
    sys.exit(status)


if __name__ == "__main__":
    main()
