#!/usr/bin/env python3
"""Check that the committed vmlinux.h still describes the kernel just built.

Two BTF dumps of the same source are not byte-identical: pahole's deduplication
leaves different numbers of '___2' copies from one build to the next. What BPF code
depends on is narrower: the definitions of the types it names, the series' own
types, and the prototypes of the kfuncs it declares. This compares those:

  - every struct, union, enum and typedef named in the BPF sources, and every
    type of the series (its name contains "ksm"), defined alike in both headers
    once '___N' suffixes are dropped;
  - every kfunc declared '__ksym' in the sources present in the kernel's BTF
    with the same return and argument types.

    check_vmlinux_btf.py BPFTOOL VMLINUX COMMITTED_H SOURCE...

Exit 0 when they agree; 1 with one line per difference otherwise.
"""
import re
import subprocess
import sys

SUFFIX = re.compile(r"___\d+\b")
TOPLEVEL = re.compile(
    r"^(?:(struct|union|enum) (\w+) \{.*?^\}(?: __attribute__\(\(\w+\)\))?;"
    r"|typedef (?:[^;{]|\{[^}]*\})*?\b(\w+)(?:\)\(.*?\))?(?:\[\d*\])*;)$",
    re.S | re.M)
ENUM_CONST = re.compile(r"^\t(\w+) = ", re.M)
KSYM_DECL = re.compile(r"extern\s+([^;()]+?)\s*\b(\w+)\s*\(([^;]*?)\)\s*__ksym\s*;", re.S)


def definitions(header):
    """'struct X', 'enum X', typedef name -> set of definitions, normalised;
    enum constant -> its enum's key."""
    defs, consts = {}, {}
    for m in TOPLEVEL.finditer(header):
        kind = m.group(1)
        name = SUFFIX.sub("", m.group(2) or m.group(3))
        key = f"{kind} {name}" if kind else name
        defs.setdefault(key, set()).add(SUFFIX.sub("", m.group(0)))
        if kind == "enum":
            for c in ENUM_CONST.findall(m.group(0)):
                consts[SUFFIX.sub("", c)] = key
    return defs, consts


def names_used(sources, defs, consts):
    """The types the sources name, plus every type of the series."""
    used = set()
    for text in sources:
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
        for kind, name in re.findall(r"\b(struct|union|enum)\s+(\w+)", text):
            if f"{kind} {name}" in defs:
                used.add(f"{kind} {name}")
        for word in re.findall(r"\b\w+\b", text):
            if word in consts:
                used.add(consts[word])
            elif word in defs:
                used.add(word)
    used |= {n for n in defs if "ksm" in n.lower()}
    return used


def c_type(types, tid):
    """A C spelling of BTF type tid, from bpftool's raw dump, for comparison."""
    if tid == 0:
        return "void"
    kind, name, ref = types[tid]
    if kind in ("PTR",):
        return c_type(types, ref) + " *"
    if kind in ("CONST", "VOLATILE", "RESTRICT"):
        return kind.lower() + " " + c_type(types, ref)
    if kind in ("STRUCT", "UNION", "ENUM", "ENUM64", "FWD"):
        tag = {"ENUM64": "enum", "FWD": "struct"}.get(kind, kind.lower())
        return f"{tag} {name}"
    return name


def kernel_kfuncs(bpftool, vmlinux):
    """kfunc name -> (return type, [argument types]) from the kernel's BTF."""
    raw = subprocess.run([bpftool, "btf", "dump", "file", vmlinux, "format", "raw"],
                         check=True, capture_output=True, text=True).stdout
    types, protos, funcs = {}, {}, {}
    cur = None
    for line in raw.splitlines():
        m = re.match(r"\[(\d+)\] (\w+) '([^']*)'(.*)", line)
        if m:
            tid, kind, name, rest = int(m.group(1)), m.group(2), m.group(3), m.group(4)
            ref = re.search(r"(?:type_id|ret_type_id)=(\d+)", rest)
            types[tid] = (kind, name, int(ref.group(1)) if ref else 0)
            cur = None
            if kind == "FUNC_PROTO":
                protos[tid] = []
                cur = protos[tid]
            elif kind == "FUNC":
                funcs[name] = int(ref.group(1))
            continue
        m = re.match(r"\s+'[^']*' type_id=(\d+)", line)
        if m and cur is not None:
            cur.append(int(m.group(1)))
    out = {}
    for name, proto in funcs.items():
        ret = types[proto][2]
        out[name] = (c_type(types, ret), [c_type(types, a) for a in protos.get(proto, [])])
    return out


def spelled(decl):
    """Normalise a C type as written in a declaration: no names, single spaces."""
    decl = re.sub(r"\s+", " ", decl.replace("*", " * ")).strip()
    words = decl.split(" ")
    # A trailing identifier after the type is the parameter's name.
    if len(words) > 1 and re.fullmatch(r"\w+", words[-1]) and words[-2] not in ("struct", "union", "enum"):
        words = words[:-1]
    return " ".join(words)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__.strip().splitlines()[-3].strip())
    bpftool, vmlinux, committed_path = sys.argv[1:4]
    sources = [open(p).read() for p in sys.argv[4:]]
    fresh = subprocess.run([bpftool, "btf", "dump", "file", vmlinux, "format", "c"],
                           check=True, capture_output=True, text=True).stdout
    with open(committed_path) as f:
        committed = f.read()
    cdefs, cconsts = definitions(committed)
    fdefs, _ = definitions(fresh)
    problems = []
    checked = names_used(sources, cdefs, cconsts)
    for name in sorted(checked):
        if name not in fdefs:
            problems.append(f"{name}: in {committed_path} but not in the kernel's BTF")
        elif not cdefs[name] & fdefs[name]:
            problems.append(f"{name}: defined differently in {committed_path} and the kernel")
    kfuncs = kernel_kfuncs(bpftool, vmlinux)
    declared = 0
    for text in sources:
        for ret, name, args in KSYM_DECL.findall(text):
            declared += 1
            if name not in kfuncs:
                problems.append(f"kfunc {name}: declared but not in the kernel's BTF")
                continue
            want_ret, want_args = kfuncs[name]
            have_args = [spelled(a) for a in args.split(",") if a.strip() not in ("", "void")]
            have = (spelled(ret), have_args)
            if have != (want_ret, want_args):
                problems.append(f"kfunc {name}: declared {have[0]} ({', '.join(have[1])}), "
                                f"the kernel has {want_ret} ({', '.join(want_args)})")
    for p in problems:
        print(f"vmlinux-btf: {p}", file=sys.stderr)
    if problems:
        print("error: vmlinux-btf/vmlinux.h or a kfunc declaration is stale: "
              "run 'make vmlinux-btf' and commit it", file=sys.stderr)
        return 1
    print(f"vmlinux-btf: {len(checked)} types and {declared} kfunc declarations match the kernel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
