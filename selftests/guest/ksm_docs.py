#!/usr/bin/env python3
"""Every command and example of the docs, run in the guest (KTAP, one case per
document, and one for what the complete example policy is said to do).

The documents are README.md, docs/*.md and the man page docs/ksmctl.8. Every
fenced block of a Markdown document and every example (.EX ... .EE) of the
man page is one of:

  - commands (```sh, and the man page's examples, whose lines starting with
    "# " are commands and the others what the command prints): run with
    bash -eu -o pipefail, as root, in a scratch directory laid out like the
    source tree (build/bpf/*.bpf.o, vmlinux-btf/, include/, build/tools/),
    with ksmctl and bpftool on PATH, each block from a clean slate (no
    policy, no statistics, ksmd running fast). The block must succeed, and
    every line the man page shows a command print must be in what it
    printed;
  - a file the following blocks use (a complete policy, say), marked
    <!-- file: PATH --> (in the man page: .\\" file: PATH) right before it: it
    is written to PATH in the scratch directory, and a later block of the
    same document must name PATH;
  - marked <!-- not-run: REASON --> right before it, when it cannot run as
    is in a test (it needs Prometheus, systemd, builds a kernel, is a
    fragment or an example of output).

A block of commands may be preceded by <!-- setup: COMMANDS --> (what a real
host has and the guest has not: its cgroups, a loaded policy, a process),
run first in the same shell, and by <!-- interrupt: SECONDS --> when it runs
until interrupted (^C): it gets SIGINT after SECONDS, which is then success.
A block that is none of these fails its document, so nothing is skipped
silently. The clang commands that build a policy must use the project's
BPF flags (the Makefile's BPF_CFLAGS).
"""
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

# The shared helpers: selftests/lib, or build/selftests/lib for installed copies.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
from ksm_guest import *  # noqa: E402,F401,F403

SCRATCH = "/tmp/ksm-docs"
BLOCK_TIMEOUT = 600
MARKER = re.compile(r"^(not-run|file|setup|interrupt):(.*)$", re.S)


class Block:
    def __init__(self, doc, line, lang, text, markers):
        self.doc, self.line, self.lang, self.text = doc, line, lang, text
        self.markers = markers

    def where(self):
        return f"{os.path.relpath(self.doc, TOP)}:{self.line}"


def add_marker(markers, text, where):
    """A marker comment's text into @markers; False if it is not a marker."""
    m = MARKER.match(text.strip())
    if not m:
        return False
    key, value = m.group(1), m.group(2).strip()
    if key == "setup":
        markers.setdefault("setup", []).append(value)
    elif key in markers:
        raise Failed(f"{where}: '{key}' given twice for one block")
    else:
        markers[key] = value
    return True


def read_lines(path):
    with open(path) as f:
        return f.read().split("\n")


def markdown_blocks(path):
    """The fenced blocks of a Markdown file, with the markers right before each."""
    blocks, markers, lines, i = [], {}, read_lines(path), 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)```(\S*)\s*$", line)
        if fence:
            indent, lang, start = fence.group(1), fence.group(2), i + 1
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            blocks.append(Block(path, start, lang, "\n".join(body) + "\n", markers))
            markers = {}
        elif line.lstrip().startswith("<!--"):
            start = i
            text = line.lstrip()[4:]
            while "-->" not in text and i + 1 < len(lines):
                i += 1
                text += "\n" + lines[i]
            if not add_marker(markers, text[:text.index("-->")], f"{path}:{start + 1}"):
                markers = {}
        elif line.strip():
            markers = {}		# a marker stands right before its block
        i += 1
    return blocks


def roff_text(line):
    """A line of a man page's example as it is shown and typed."""
    for escape, char in (("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\&", ""),
                         ("\\fB", ""), ("\\fI", ""), ("\\fR", ""), ("\\fP", ""),
                         ("\\e", "\\")):
        line = line.replace(escape, char)
    return line


def man_blocks(path):
    """The examples (.EX ... .EE) of a man page, with the markers (.\\" KEY: ...)
    right before each."""
    blocks, markers, lines, i = [], {}, read_lines(path), 0
    while i < len(lines):
        line = lines[i]
        if line == ".EX":
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i] != ".EE":
                body.append(roff_text(lines[i]))
                i += 1
            blocks.append(Block(path, start, "man", "\n".join(body) + "\n", markers))
            markers = {}
        elif line.startswith('.\\"'):
            add_marker(markers, line[3:], f"{path}:{i + 1}")
        elif line and not re.match(r"^\.(PP|RS|IP)\b", line):
            markers = {}
        i += 1
    return blocks


def man_commands(block):
    """[(command, [lines it prints])] of a man page example."""
    cmds = []
    for line in block.text.rstrip("\n").split("\n"):
        if line.startswith("# "):
            cmds.append((line[2:], []))
        elif cmds:
            cmds[-1][1].append(line.rstrip())
        else:
            raise Failed(f"{block.where()}: output '{line}' before any command")
    return cmds


def makefile_bpf_flags():
    """The Makefile's CLANG and BPF_CFLAGS, $(B) as build."""
    with open(os.path.join(TOP, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    clang = re.search(r"^CLANG := (\S+)", text, re.M).group(1)
    flags = re.search(r"^BPF_CFLAGS := (.*)$", text, re.M).group(1).replace("$(B)", "build")
    return clang, flags.split()


def check_bpf_flags(block):
    """Each clang command that builds BPF uses the project's compiler and flags."""
    clang, flags = makefile_bpf_flags()
    problems = []
    for cmd in block.text.replace("\\\n", " ").split("\n"):
        words = shlex.split(cmd, comments=True) if "-target" in cmd else []
        if "bpf" not in words:
            continue
        missing = [f for f in flags if f not in words]
        if words[0] != clang or missing:
            problems.append(f"{block.where()}: '{' '.join(words[:3])} ...' is not built as the "
                            f"Makefile builds BPF ({clang} {' '.join(flags)}): "
                            f"{'missing ' + ' '.join(missing) if missing else words[0]}")
    return problems


def scratch_of(doc):
    return os.path.join(SCRATCH, re.sub(r"[^a-z0-9]+", "_", os.path.relpath(doc, TOP).lower()))


def make_scratch(doc):
    """For @doc, a directory laid out like the source tree, the built objects
    in it, and a bin/ with ksmctl and bpftool."""
    top = scratch_of(doc)
    if os.path.exists(top):
        shutil.rmtree(top)
    for d in ("bin", "bpf", "build/bpf"):
        os.makedirs(f"{top}/{d}")
    for d in ("vmlinux-btf", "include", "selftests", "build/tools", "build/selftests"):
        os.symlink(os.path.join(TOP, d), f"{top}/{d}")
    for f in glob.glob(os.path.join(TOP, "bpf", "*")):
        os.symlink(f, f"{top}/bpf/{os.path.basename(f)}")
    for f in glob.glob(os.path.join(BPF, "*.bpf.o")):
        os.symlink(f, f"{top}/build/bpf/{os.path.basename(f)}")
    os.symlink(KSMCTL, f"{top}/build/ksmctl")
    os.symlink(KSMCTL, f"{top}/bin/ksmctl")
    os.symlink(BPFTOOL, f"{top}/bin/bpftool")
    return top


# Helpers a setup may call.
PRELUDE = r"""
wait_full_scans() {	# N more full scans of ksmd
	local end=$(( $(cat /sys/kernel/mm/ksm/full_scans) + $1 ))
	while [ "$(cat /sys/kernel/mm/ksm/full_scans)" -lt "$end" ]; do sleep 0.1; done
}
ksm_process() {		# a process offering 64 pages of content SEED to KSM: its pid in $pid
	sleep 3600 | "$KSM_WORKLOAD" --madvise 64 "$1" >/dev/null &
	pid=$!
}
vm_process() {		# a process that knows nothing of KSM in cgroup CGROUP: 512 pages of SEED
	sh -c 'echo $$ >"/sys/fs/cgroup$1/cgroup.procs" && sleep 3600 | "$2" 512 "$3" >/dev/null' \
		sh "$1" "$KSM_WORKLOAD" "$2" &
}
"""
COMMAND_MARK = "@@ksm-docs command "


def run_script(block, script, interrupt=None):
    """Run @script for @block: (status, output); everything it started is
    killed afterwards."""
    top = scratch_of(block.doc)
    env = dict(os.environ, PATH=f"{top}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}",
               KSM_WORKLOAD=WORKLOAD)
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(["bash", "-eu", "-o", "pipefail", "-c", script], cwd=top,
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
        timeout = float(interrupt) if interrupt else BLOCK_TIMEOUT
        try:
            status = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGINT if interrupt else signal.SIGKILL)
            status = p.wait()
            if interrupt:
                status = "interrupted"
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out.seek(0)
        return status, out.read()


def run_block(block):
    """Run a block of commands: a list of problems (empty: it did what it says)."""
    setup = "\n".join(block.markers.get("setup", []))
    interrupt = block.markers.get("interrupt")
    if interrupt is not None and not re.fullmatch(r"\d+", interrupt):
        return [f"{block.where()}: interrupt: '{interrupt}' is not a number of seconds"]
    if block.lang == "man":
        cmds = man_commands(block)
        body = "".join(f"printf '\\n{COMMAND_MARK}{i}\\n'\n{cmd}\n"
                       for i, (cmd, _) in enumerate(cmds))
    else:
        cmds, body = [], block.text
    script = f"{PRELUDE}\n{setup}\nprintf '\\n{COMMAND_MARK}start\\n'\n{body}"
    clean_slate()
    status, out = run_script(block, script, interrupt)
    shown = out.split(f"{COMMAND_MARK}start\n", 1)[-1]
    ok = status == 0 or (interrupt and status == "interrupted")
    problems = [] if ok else [f"{block.where()}: exit status {status} (setup and block "
                              f"as run: {len(setup.splitlines())} + "
                              f"{len(body.splitlines())} lines); it printed:\n{out.strip()}"]
    for i, (cmd, want) in enumerate(cmds):
        part = shown.split(f"{COMMAND_MARK}{i}\n", 1)[-1].split(f"\n{COMMAND_MARK}")[0]
        got = [line.rstrip() for line in part.split("\n")]
        for line in want:
            if line not in got:
                problems.append(f"{block.where()}: '{cmd}' printed no line '{line}':\n{part}")
    print(f"# {block.where()}: {'ran' if ok else 'FAILED'}"
          f"{' until interrupted' if interrupt else ''}", flush=True)
    return problems


def check_document(path):
    """Run every block of @path; fail naming each that does not do what it says."""
    blocks = man_blocks(path) if path.endswith(".8") else markdown_blocks(path)
    top = make_scratch(path)
    make_cgroup(".")			# cgroup2 mounted, as on any host
    cgroups_before = set(os.listdir(CGROUP))
    problems, files = [], {}
    try:
        for b in blocks:
            if "not-run" in b.markers:
                if len(b.markers) > 1 or not b.markers["not-run"]:
                    problems.append(f"{b.where()}: not-run needs a reason and nothing else")
                continue
            if "file" in b.markers:
                name = b.markers["file"]
                os.makedirs(os.path.dirname(f"{top}/{name}"), exist_ok=True)
                with open(f"{top}/{name}", "w") as f:
                    f.write(b.text)
                files[name] = b
                continue
            if b.lang not in ("sh", "man"):
                problems.append(f"{b.where()}: a ```{b.lang} block neither run, nor a file, "
                                f"nor marked <!-- not-run: REASON -->")
                continue
            problems += check_bpf_flags(b)
            problems += run_block(b)
            for name in list(files):
                if name in b.text:
                    del files[name]
        for name, b in files.items():
            problems.append(f"{b.where()}: file {name} is used by no block after it")
    finally:
        clean_slate()
        for d in set(os.listdir(CGROUP)) - cgroups_before:
            if os.path.isdir(f"{CGROUP}/{d}"):
                remove_cgroup(f"{CGROUP}/{d}")
    for p in problems:
        print("# " + p.replace("\n", "\n#   "), flush=True)
    expect(not problems, f"{len(problems)} of {len(blocks)} blocks do not work as written")


def documents():
    return [os.path.join(TOP, "README.md")] + \
        sorted(glob.glob(os.path.join(TOP, "docs", "*.md"))) + \
        sorted(glob.glob(os.path.join(TOP, "docs", "*.8")))


def doc_case(path):
    def case():
        check_document(path)
    case.__name__ = f"case_{os.path.basename(scratch_of(path))}"
    return case


def case_the_tenants_example_does_what_it_says():
    """writing-a-policy.md: "With two processes holding the same 64 pages in
    tenant1 (one of them in a cgroup below it), one in tenant2 and one
    unlisted, the first two merge all 64 pages and the others none." With
    the object its document's case built."""
    obj = os.path.join(scratch_of(os.path.join(TOP, "docs", "writing-a-policy.md")),
                       "tenants.bpf.o")
    expect(os.path.exists(obj), f"no {obj}: the case of writing-a-policy.md did not build it")
    clean_slate()
    t1, sub, t2, other = fresh_cgroups("docs-tenants", "tenant1", "tenant1/sub", "tenant2",
                                       "other")
    workers = []
    try:
        ksmctl("policy", "load", obj)
        for cgroup, domain in ((t1, 1), (t2, 2)):
            cgid = os.stat(cgroup).st_ino
            subprocess.run([BPFTOOL, "map", "update", "pinned", f"{PIN}/policy_maps/tenants",
                            "key", *le_bytes(cgid), "value", *le_bytes(domain)], check=True)
        workers = [Worker(61, c) for c in (t1, sub, t2, other)]
        a, b, c, d = workers
        wait_shared(a, b)
        wait_merged(a, b)
        wait_scans(3)
        expect(c.merging() == 0 and d.merging() == 0,
               f"tenant2's {c.state()}; the unlisted {d.state()}")
        expect(not (c.pfns() | d.pfns()) & a.pfns() and not c.pfns() & d.pfns(),
               "pages shared across tenants")
    finally:
        for w in workers:
            w.stop()
        clean_slate()
        remove_cgroup(f"{CGROUP}/docs-tenants")


def case_the_example_queries_name_exported_metrics():
    """The Prometheus queries of the docs (not run: no Prometheus here) name
    only metrics that `ksmctl stats format prometheus` exports, with the
    statistics enabled (who shares with whom too), a policy loaded and a
    process in a cgroup merging."""
    clean_slate()
    queries = [b for p in documents() if not p.endswith(".8")
               for b in markdown_blocks(p) if b.lang == "promql"]
    expect(queries, "no ```promql block in the docs")
    cgroup = make_cgroup("docs-metrics")
    workers = []
    try:
        ksmctl("stats", "enable", "sharing", "on")
        ksmctl("policy", "load", f"{BPF}/default.bpf.o")
        workers = [Worker(71, cgroup), Worker(71, cgroup)]
        wait_merged(*workers)
        text = ksmctl("stats", "format", "prometheus")[1]
    finally:
        for w in workers:
            w.stop()
        clean_slate()
        remove_cgroup(cgroup)
    exported = set(re.findall(r"^# TYPE (\S+)", text, re.M))
    missing = [f"{b.where()}: {name}" for b in queries
               for name in re.findall(r"\b(ksm_[a-z_]+)", b.text) if name not in exported]
    expect(not missing, f"not exported: {', '.join(missing)}")


def le_bytes(value):
    """A u64 as bpftool takes it: bytes in the machine's order (x86: little-endian)."""
    return [f"0x{b:02x}" for b in value.to_bytes(8, "little")]


CASES = [doc_case(p) for p in documents()] + [case_the_tenants_example_does_what_it_says,
                                              case_the_example_queries_name_exported_metrics]

if __name__ == "__main__":
    sys.exit(run_cases(CASES))
