#!/usr/bin/env bash
# The kernel pipeline: Debian's linux-source-6.12 + kernel/patches + kernel/config.
#
#   kernel.sh tree              unpack the source into build/linux as a git tree
#                               (commit "baseline" = pristine source) and git-am the series
#   kernel.sh build [VARIANT]   build a kernel, or reuse it from the cache; prints its directory
#   kernel.sh key [VARIANT]     print the cache key of a variant
#   kernel.sh patches           regenerate kernel/patches from build/linux (git format-patch)
#   kernel.sh checkpatch        run checkpatch.pl --strict over kernel/patches
#   kernel.sh tools             build libbpf and bpftool from the same source (cached)
#   kernel.sh kselftests        the kernel's KSM selftests' sources: upstream's, patched, and
#                               the series' own; prints their directory
#   kernel.sh bpf-kselftests    the series' BPF selftest with test_progs' sources; prints
#                               their directory
#   kernel.sh source            which linux-source-6.12 the kernels are built from, and why
#
# Variants: patched (default; the series applied), baseline (same config, no series),
# debug (patched + kernel/config/debug.config: KASAN, lockdep, DEBUG_VM),
# baseline-debug (baseline + debug.config: reproduces upstream bugs the series fixes),
# and patched-jump-label, baseline-jump-label (+ kernel/config/jump-label.config:
# static keys patched into the code, as distributions build them; for the
# benchmarks' one-vCPU guests only).
#
# Built kernels live in $KSM_CACHE/kernels/VARIANT-KEY, keyed by the source version,
# the series (or, while a developer has unexported changes in build/linux, the diff
# itself), the config fragments and the toolchain; build/kernel-VARIANT points there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/lib.sh

# The source version: the one pinned in kernel/source-version, or the 6.12.y that
# set-up fell back to when the archive no longer serves it (build/source-version).
PINNED=$(cat kernel/source-version)
SRCVER=$PINNED
if [ "$(sed -n 's/^pinned=//p' build/source-version 2>/dev/null)" = "$PINNED" ]; then
	SRCVER=$(sed -n 's/^used=//p' build/source-version)
fi
# What the cache keys name: the pinned version, and the one used when another.
SRCID=$PINNED
[ "$SRCVER" = "$PINNED" ] || SRCID="$PINNED used $SRCVER"
TARBALL=/usr/src/linux-source-6.12.tar.xz
TREE=$top/build/linux
GITID=(-c user.name=ksm-bpf -c user.email=ksm-bpf@localhost)
JOBS=$(($(nproc) + 1))

export CCACHE_DIR=$KSM_CACHE/ccache CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=true
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
# A fixed build identity keeps rebuilds byte-stable and ccache-friendly.
export KBUILD_BUILD_TIMESTAMP="2024-11-17 00:00:00 UTC" KBUILD_BUILD_USER=ksm-bpf KBUILD_BUILD_HOST=ksm-bpf

tgit() { git -C "$TREE" "${GITID[@]}" "$@"; }
series_hash() {
	local p=(kernel/patches/*.patch)
	if [ -e "${p[0]}" ]; then cat "${p[@]}"; fi | sha256sum | cut -c1-16
}

check_source() {
	local have
	have=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	[ "$have" = "$SRCVER" ] ||
		die "linux-source-6.12 $SRCVER is needed (installed: ${have:-none}); run 'make setup'"
}

# Which source the kernels are built from, for every log that shows a build.
source_said() {
	if [ "$SRCVER" = "$PINNED" ]; then
		echo "linux-source-6.12 $SRCVER (as pinned)"
	else
		echo "linux-source-6.12 $SRCVER, not the pinned $PINNED (the archive no longer serves it)"
	fi
}

# True when build/linux holds exactly the series it was made from: no local work.
tree_at_series() {
	[ "$(tgit rev-parse HEAD)" = "$(cat "$TREE/.git/ksm-head")" ] &&
		[ -z "$(tgit status --porcelain)" ]
}

apply_series() {
	tgit reset -q --hard baseline
	local p=(kernel/patches/*.patch)
	if [ -e "${p[0]}" ]; then
		info "applying ${#p[@]} patches"
		tgit am -q --whitespace=error-all "${p[@]/#/$top/}" || {
			tgit am --abort || true
			[ "$SRCVER" = "$PINNED" ] ||
				die "kernel/patches does not apply to linux-source-6.12 $SRCVER, which set-up took because the archive no longer serves the pinned $PINNED: rebase the series onto it (docs/pipeline.md, Changing the kernel) and pin it in kernel/source-version"
			die "kernel/patches does not apply to linux-source-6.12 $SRCVER"
		}
	fi
	series_hash >"$TREE/.git/ksm-series"
	tgit rev-parse HEAD >"$TREE/.git/ksm-head"
}

cmd_tree() {
	check_source
	if [ ! -d "$TREE/.git" ]; then
		info "unpacking linux-source-6.12 $SRCVER into build/linux"
		rm -rf "$TREE.tmp" && mkdir -p "$TREE.tmp"
		tar -C "$TREE.tmp" -xf "$TARBALL" --strip-components=1
		# Debian's .gitignore ignores everything at the top level (its
		# packaging repository has only debian/ there): new files of the
		# series would be invisible to git. Drop that rule from the baseline.
		sed -i -e '/^# Debian packaging: ignore everything/,/^!\/debian\/$/d' "$TREE.tmp/.gitignore"
		git -C "$TREE.tmp" init -q
		git -C "$TREE.tmp" add -A -f
		git -C "$TREE.tmp" "${GITID[@]}" commit -q -m "Linux $(make -s -C "$TREE.tmp" kernelversion) (Debian linux-source-6.12 $SRCVER)"
		git -C "$TREE.tmp" tag baseline
		echo "$SRCVER" >"$TREE.tmp/.git/ksm-source-version"
		mv "$TREE.tmp" "$TREE"
		apply_series
		return
	fi
	[ "$(cat "$TREE/.git/ksm-source-version")" = "$SRCVER" ] ||
		die "build/linux was made from another source version; remove it and run 'make kernel'"
	if tree_at_series; then
		if [ "$(series_hash)" != "$(cat "$TREE/.git/ksm-series")" ]; then
			info "kernel/patches changed: re-applying the series to build/linux"
			apply_series
		fi
	elif [ "$(series_hash)" != "$(cat "$TREE/.git/ksm-series")" ]; then
		info "warning: build/linux has local work and kernel/patches changed too; building build/linux as it is"
	else
		info "build/linux has local changes: building them ('make kernel-patches' exports them)"
	fi
}

fragments() {
	echo kernel/config/ksm-bpf.config
	is_baseline "$1" || echo kernel/config/series.config
	case $1 in
	*debug) echo kernel/config/debug.config ;;
	*jump-label) echo kernel/config/jump-label.config ;;
	esac
}

# The variants built from the pristine source, without the series.
is_baseline() {
	case $1 in baseline | baseline-debug | baseline-jump-label) return 0 ;; *) return 1 ;; esac
}

toolchain_id() {
	{ gcc --version | head -1; pahole --version; } | sha256sum | cut -c1-16
}

cmd_key() {
	local variant=${1:-patched} series
	case $variant in
	baseline | baseline-debug | baseline-jump-label) series=none ;;
	patched | debug | patched-jump-label)
		if [ -d "$TREE/.git" ] && ! tree_at_series; then
			# Unexported work in build/linux: key by the code itself.
			series=dev-$({
				tgit diff baseline
				tgit ls-files -o --exclude-standard -z | (cd "$TREE" && xargs -0r sha256sum)
			} | sha256sum | cut -c1-16)
		else
			series=$(series_hash)
		fi
		;;
	*) die "unknown kernel variant '$variant' (patched, baseline, debug, baseline-debug, patched-jump-label or baseline-jump-label)" ;;
	esac
	{
		echo "$SRCID $variant $series $(toolchain_id)"
		cat $(fragments "$variant")
	} | sha256sum | cut -c1-16
}

# Every option the fragments set must survive olddefconfig.
check_config() {
	local config=$1 frag line opt val bad=0
	shift
	for frag in "$@"; do
		while IFS= read -r line; do
			case $line in CONFIG_*=*) ;; *) continue ;; esac
			opt=${line%%=*} val=${line#*=}
			if [ "$val" = n ]; then
				! grep -q "^$opt=" "$config" && continue
			else
				grep -qx "$line" "$config" && continue
			fi
			echo "config: $frag asks for $line, got: $(grep -E "^(# )?$opt[= ]" "$config" || echo unset)" >&2
			bad=1
		done <"$frag"
	done
	[ $bad = 0 ] || die "the kernel config does not have what kernel/config asks for"
}

cmd_build() {
	local variant=${1:-patched} key out src obj log
	# An existing tree may need the series re-applied; a cached kernel needs no tree.
	[ ! -d "$TREE/.git" ] || cmd_tree
	key=$(cmd_key "$variant")
	out=$KSM_CACHE/kernels/$variant-$key
	if [ ! -f "$out/bzImage" ]; then
		cmd_tree
		if is_baseline "$variant"; then
			src=$top/build/linux-baseline
			[ -d "$src" ] || tgit worktree add -q --detach "$src" baseline
		else
			src=$TREE
		fi
		obj=$top/build/obj-$variant
		log=$top/build/kernel-$variant.log
		mkdir -p "$obj"
		info "configuring the $variant kernel (tinyconfig + $(fragments "$variant" | xargs))"
		make -s -C "$src" O="$obj" tinyconfig >/dev/null
		# shellcheck disable=SC2046
		"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" $(fragments "$variant") >/dev/null
		make -s -C "$src" O="$obj" olddefconfig >/dev/null
		check_config "$obj/.config" $(fragments "$variant")
		info "building the $variant kernel with -j$JOBS (log: build/kernel-$variant.log)"
		local t0=$SECONDS
		if ! make -C "$src" O="$obj" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" bzImage >"$log" 2>&1; then
			tail -n 40 "$log" >&2
			die "kernel build failed (full log: build/kernel-$variant.log)"
		fi
		info "built in $((SECONDS - t0)) s; $(ccache -s | grep -iE 'hits|misses' | head -2 | xargs)"
		rm -rf "$out.tmp" && mkdir -p "$out.tmp"
		cp "$obj/arch/x86/boot/bzImage" "$obj/vmlinux" "$obj/System.map" "$out.tmp/"
		cp "$obj/.config" "$out.tmp/config"
		cat >"$out.tmp/info" <<-EOF
			variant=$variant
			key=$key
			source=linux-source-6.12 $SRCVER
			pinned=linux-source-6.12 $PINNED
			kernelversion=$(make -s -C "$src" kernelversion)
			series=$(is_baseline "$variant" && echo none || series_hash)
			patches=$(is_baseline "$variant" && echo 0 || ls kernel/patches/*.patch 2>/dev/null | wc -l)
		EOF
		rm -rf "$out" && mv "$out.tmp" "$out"
	else
		info "the $variant kernel is cached ($out)"
	fi
	info "kernel source: $(source_said)"
	mkdir -p build
	ln -sfn "$out" "build/kernel-$variant"
	echo "$out"
}

cmd_patches() {
	[ -d "$TREE/.git" ] || die "no build/linux tree: run 'make kernel' first"
	[ -z "$(tgit status --porcelain --untracked-files=no)" ] ||
		die "build/linux has uncommitted changes: commit them (git -C build/linux commit) first"
	rm -f kernel/patches/*.patch
	tgit format-patch -q --zero-commit --no-signature -o "$top/kernel/patches" baseline..HEAD
	series_hash >"$TREE/.git/ksm-series"
	tgit rev-parse HEAD >"$TREE/.git/ksm-head"
	info "kernel/patches: $(ls kernel/patches/*.patch 2>/dev/null | wc -l) patches"
	ls kernel/patches/*.patch 2>/dev/null | sed 's|^|  |' >&2 || true
}

# checkpatch.pl and the data files it reads, from build/linux or else the tarball.
checkpatch_dir() {
	if [ -f "$TREE/scripts/checkpatch.pl" ]; then
		echo "$TREE"
		return
	fi
	local d=$top/build/checkpatch
	if [ ! -f "$d/scripts/checkpatch.pl" ]; then
		mkdir -p "$d"
		tar -C "$d" -xf "$TARBALL" --strip-components=1 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	fi
	echo "$d"
}

cmd_checkpatch() {
	local p=(kernel/patches/*.patch) d
	if [ ! -e "${p[0]}" ]; then
		info "checkpatch: the series is empty"
		return
	fi
	check_source
	d=$(checkpatch_dir)
	# checkpatch reads a file git tracks as source, not as a patch (its
	# git_is_single_file()); with no git repository in sight it cannot.
	# For the same reason it cannot look up the upstream commits that
	# Fixes: tags name (UNKNOWN_COMMIT_ID): build/linux has no history.
	GIT_DIR=/nonexistent perl "$d/scripts/checkpatch.pl" --strict --no-tree --quiet \
		--show-types --ignore UNKNOWN_COMMIT_ID "${p[@]}" ||
		die "checkpatch.pl --strict reports problems in kernel/patches"
	info "checkpatch --strict: ${#p[@]} patches clean"
}

# The diffs of kernel/patches, in series order, of the files whose path matches
# the ERE $1 and not the ERE $2 (if given).
series_diffs() {
	local p=(kernel/patches/*.patch)
	[ -e "${p[0]}" ] || return 0
	awk -v want="$1" -v skip="${2:-}" '
		FNR == 1 { on = 0 }
		/^diff --git / { f = substr($3, 3); on = (f ~ want && (skip == "" || f !~ skip)) }
		on' "${p[@]}"
}

# What the series changes of libbpf, bpftool and their UAPI headers (tools/, but
# not the selftests under tools/testing/, which they do not build from).
tools_series_id() {
	series_diffs '^tools/' '^tools/testing/' | sha256sum | cut -c1-16
}

# libbpf (static, with headers) and bpftool from the kernel source, cached by
# source version and by what the series changes of them.
cmd_tools() {
	local out=$KSM_CACHE/tools/$SRCVER-$(toolchain_id)-$(tools_series_id)
	if [ ! -x "$out/bin/bpftool" ]; then
		cmd_tree
		local w=$top/build/tools-obj
		rm -rf "$w" "$out.tmp" && mkdir -p "$w/libbpf" "$w/bpftool" "$out.tmp"
		info "building libbpf and bpftool from linux-source-6.12 $SRCVER"
		make -s -C "$TREE/tools/lib/bpf" -j"$JOBS" OUTPUT="$w/libbpf/" BUILD_STATIC_ONLY=1 \
			DESTDIR="$out.tmp" prefix= libdir_relative=lib install >"$w/libbpf.log" 2>&1 ||
			{ tail -n 30 "$w/libbpf.log" >&2; die "libbpf build failed"; }
		# Feature detection calls plain "clang"; point it at clang-16.
		mkdir -p "$w/bin"
		ln -sf "$(command -v clang-16)" "$w/bin/clang"
		ln -sf "$(command -v llvm-strip-16)" "$w/bin/llvm-strip"
		PATH=$w/bin:$PATH make -s -C "$TREE/tools/bpf/bpftool" -j"$JOBS" OUTPUT="$w/bpftool/" \
			CLANG=clang-16 LLC=llc-16 LLVM_STRIP=llvm-strip-16 >"$w/bpftool.log" 2>&1 ||
			{ tail -n 30 "$w/bpftool.log" >&2; die "bpftool build failed"; }
		mkdir -p "$out.tmp/bin" && cp "$w/bpftool/bpftool" "$out.tmp/bin/"
		rm -rf "$out" && mv "$out.tmp" "$out"
	fi
	# The UAPI BPF headers of the same tree: the system's are older.
	if [ ! -f "$out/include/linux/bpf.h" ]; then
		cmd_tree >/dev/null
		mkdir -p "$out/include/linux"
		cp "$TREE"/tools/include/uapi/linux/{bpf.h,bpf_common.h,btf.h} "$out/include/linux/"
	fi
	mkdir -p build
	ln -sfn "$out" build/tools
	echo "$out"
}

# The kernel's own KSM selftests (tools/testing/selftests/mm) and what they need to
# build outside the kernel tree: the UAPI headers newer than Debian 12's (PAGEMAP_SCAN,
# PR_SET_MEMORY_MERGE) and one header of the kernel itself. Pristine files of the same
# source (build/linux's baseline commit, or else the tarball), then the fixes from
# upstream in selftests/upstream/*.patch. Then the selftests the series adds
# (KSELFTEST_SERIES_FILES), as kernel/patches writes them: they test the patched
# kernel, and build next to upstream's with the same headers.
KSELFTEST_FILES=(
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/mm/ksm_functional_tests.c
	tools/testing/selftests/mm/ksm_tests.c
	tools/testing/selftests/mm/vm_util.c
	tools/testing/selftests/mm/vm_util.h
	tools/testing/selftests/mm/thp_settings.c
	tools/testing/selftests/mm/thp_settings.h
	tools/include/uapi/linux/fs.h
	tools/include/uapi/linux/prctl.h
	tools/include/uapi/linux/userfaultfd.h
	include/vdso/time64.h
)
KSELFTEST_SERIES_FILES=(
	tools/testing/selftests/mm/ksm_cgroup_tests.c
)
# Upstream's files the series adds tests to: built with them (the guest's
# ksm_upstream runs them on the patched kernel only).
KSELFTEST_SERIES_CHANGED=(
	tools/testing/selftests/mm/ksm_functional_tests.c
)

# An ERE alternation of the given paths, their dots escaped.
paths_ere() {
	printf '%s|' "$@" | sed 's/[.]/\\./g; s/|$//'
}

# The diffs of kernel/patches that touch KSELFTEST_SERIES_FILES, in series order.
series_kselftest_diffs() {
	series_diffs "^($(paths_ere "${KSELFTEST_SERIES_FILES[@]}"))\$"
}

# ... and KSELFTEST_SERIES_CHANGED.
series_kselftest_changes() {
	series_diffs "^($(paths_ere "${KSELFTEST_SERIES_CHANGED[@]}"))\$"
}

# Copy FILEs (paths of the source, directories too) of the pristine source into DIR:
# from build/linux's baseline commit when it is of this source, else from the tarball.
#   pristine_files DIR WHAT FILE...
pristine_files() {
	local dir=$1 what=$2
	shift 2
	if [ -d "$TREE/.git" ] && [ "$(cat "$TREE/.git/ksm-source-version")" = "$SRCVER" ]; then
		tgit archive baseline -- "$@" | tar -C "$dir" -x
	else
		check_source
		info "extracting $what from linux-source-6.12 $SRCVER"
		tar -C "$dir" -xf "$TARBALL" --strip-components=1 "${@/#/linux-source-6.12/}"
	fi
}

# Apply in DIR the series' diffs that FUNC prints, and check that they made each
# FILE (the files of the list named LIST).
#   apply_series_diffs DIR FUNC LIST FILE...
apply_series_diffs() {
	local dir=$1 diffs=$2 list=$3 f
	shift 3
	"$diffs" >"$dir/series.diff"
	if [ -s "$dir/series.diff" ]; then
		patch -s -d "$dir" -p1 <"$dir/series.diff" ||
			die "kernel/patches: the diffs of $list do not apply"
	fi
	rm "$dir/series.diff"
	for f in "$@"; do
		[ -f "$dir/$f" ] || die "kernel/patches does not add $f ($list)"
	done
}

cmd_kselftests() {
	local d=$top/build/kselftests/src p stamp
	stamp="$SRCVER $(cat selftests/upstream/*.patch | sha256sum | cut -c1-16)"
	stamp+=" series $({ series_kselftest_changes; series_kselftest_diffs; } |
		sha256sum | cut -c1-16)"
	if [ "$(cat "$d/.stamp" 2>/dev/null)" != "$stamp" ]; then
		rm -rf "$d.tmp" && mkdir -p "$d.tmp"
		pristine_files "$d.tmp" "the kernel's KSM selftests" "${KSELFTEST_FILES[@]}"
		# The series' tests in upstream's files, then upstream's later fixes.
		apply_series_diffs "$d.tmp" series_kselftest_changes KSELFTEST_SERIES_CHANGED \
			"${KSELFTEST_SERIES_CHANGED[@]}"
		for p in selftests/upstream/*.patch; do
			patch -s -d "$d.tmp" -p1 <"$p" || die "$p does not apply"
		done
		# Files the series adds: made from its diffs alone.
		apply_series_diffs "$d.tmp" series_kselftest_diffs KSELFTEST_SERIES_FILES \
			"${KSELFTEST_SERIES_FILES[@]}"
		echo "$stamp" >"$d.tmp/.stamp"
		rm -rf "$d" && mv "$d.tmp" "$d"
	fi
	echo "$d"
}

# The BPF selftest the series adds (BPF_KSELFTEST_SERIES_FILES) and what the kernel's
# BPF test runner, test_progs, needs to build with that test alone (BPF_KSELFTEST_FILES:
# its framework and helpers, some of them symlinks to the files that follow them, the
# tools/ headers and libbpf's internal ones): pristine
# files of the same source, then the series' diffs of them (the UAPI and libbpf that
# the test uses come from the series too), then selftests/upstream/bpf/*.patch.
BPF_KSELFTEST_DIR=tools/testing/selftests/bpf
BPF_KSELFTEST_FILES=(
	$BPF_KSELFTEST_DIR/test_progs.c
	$BPF_KSELFTEST_DIR/test_progs.h
	$BPF_KSELFTEST_DIR/testing_helpers.c
	$BPF_KSELFTEST_DIR/testing_helpers.h
	$BPF_KSELFTEST_DIR/cgroup_helpers.c
	$BPF_KSELFTEST_DIR/cgroup_helpers.h
	$BPF_KSELFTEST_DIR/trace_helpers.c
	$BPF_KSELFTEST_DIR/trace_helpers.h
	$BPF_KSELFTEST_DIR/network_helpers.c
	$BPF_KSELFTEST_DIR/network_helpers.h
	$BPF_KSELFTEST_DIR/json_writer.c
	$BPF_KSELFTEST_DIR/json_writer.h
	$BPF_KSELFTEST_DIR/bpf_util.h
	$BPF_KSELFTEST_DIR/test_iptunnel_common.h
	$BPF_KSELFTEST_DIR/disasm.h
	kernel/bpf/disasm.h
	tools/bpf/bpftool/json_writer.c
	tools/bpf/bpftool/json_writer.h
	tools/include
	tools/arch/x86/include
	tools/lib/bpf
)
BPF_KSELFTEST_SERIES_FILES=(
	$BPF_KSELFTEST_DIR/prog_tests/ksm_policy.c
	$BPF_KSELFTEST_DIR/progs/ksm_policy.c
	$BPF_KSELFTEST_DIR/progs/ksm_policy_tcp_ca.c
)

# The diffs of kernel/patches to BPF_KSELFTEST_FILES and BPF_KSELFTEST_SERIES_FILES.
series_bpf_kselftest_diffs() {
	series_diffs "^($(paths_ere "${BPF_KSELFTEST_FILES[@]}" "${BPF_KSELFTEST_SERIES_FILES[@]}"))(/.*)?\$"
}

cmd_bpf_kselftests() {
	local d=$top/build/bpf-kselftests/src p stamp
	stamp="$SRCVER $(cat selftests/upstream/bpf/*.patch | sha256sum | cut -c1-16)"
	stamp+=" series $(series_bpf_kselftest_diffs | sha256sum | cut -c1-16)"
	if [ "$(cat "$d/.stamp" 2>/dev/null)" != "$stamp" ]; then
		rm -rf "$d.tmp" && mkdir -p "$d.tmp"
		pristine_files "$d.tmp" "test_progs and its headers" "${BPF_KSELFTEST_FILES[@]}"
		apply_series_diffs "$d.tmp" series_bpf_kselftest_diffs BPF_KSELFTEST_SERIES_FILES \
			"${BPF_KSELFTEST_SERIES_FILES[@]}"
		for p in selftests/upstream/bpf/*.patch; do
			patch -s -d "$d.tmp" -p1 <"$p" || die "$p does not apply"
		done
		echo "$stamp" >"$d.tmp/.stamp"
		rm -rf "$d" && mv "$d.tmp" "$d"
	fi
	echo "$d"
}

case ${1:-} in
tree) cmd_tree ;;
build) cmd_build "${2:-patched}" ;;
key) cmd_key "${2:-patched}" ;;
patches) cmd_patches ;;
checkpatch) cmd_checkpatch ;;
tools) cmd_tools ;;
kselftests) cmd_kselftests ;;
bpf-kselftests) cmd_bpf_kselftests ;;
source) source_said ;;
*) die "usage: kernel.sh tree|build [VARIANT]|key [VARIANT]|patches|checkpatch|tools|kselftests|bpf-kselftests|source" ;;
esac
