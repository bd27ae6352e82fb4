#!/usr/bin/env bash
# scripts/setup.sh on made-up machines (KTAP): a copy of the set-up in a scratch
# tree, with fake apt-get, apt-cache, dpkg-query, uname and id first on a PATH
# that has only the plain tools besides, so nothing is installed and the real
# machine is not looked at. Which linux-source-6.12 set-up takes (the pinned one,
# or the 6.12.y the archive serves when the pin is gone), that it says so, and
# the message and exit status of each assumption that does not hold. Last,
# scripts/kernel.sh keys kernels of the pinned source as before and of a
# fallback by both versions.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/ksm-setup-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
P=$(cat "$top/kernel/source-version")	# the pinned version
NEWER=6.12.999-1~deb12u1
OLDER=6.12.1-1~deb12u1

# --- the fake machine: state files under $T/state ---
mkdir -p "$T/fake" "$T/tools" "$T/state"
for t in bash sh sed cat sort awk grep printf mkdir mv rm cut sha256sum dirname env \
	head tail xargs ls tr gcc pahole mktemp nproc; do
	p=$(command -v "$t") && ln -s "$p" "$T/tools/$t"
done
cat >"$T/fake/uname" <<'EOF'
#!/bin/sh
echo "${FAKE_ARCH:-x86_64}"
EOF
cat >"$T/fake/id" <<'EOF'
#!/bin/sh
echo "${FAKE_UID:-0}"
EOF
# dpkg-query -W -f=FORMAT PKG: from state/installed ("PKG VERSION" lines).
cat >"$T/fake/dpkg-query" <<'EOF'
#!/bin/sh
for pkg; do :; done
v=$(awk -v p="$pkg" '$1 == p { print $2 }' "$FAKE_STATE/installed")
[ -n "$v" ] || exit 1
case "$*" in *Status*) echo "installed $v" ;; *) echo "$v" ;; esac
EOF
# apt-cache madison|policy PKG: from state/archive ("PKG VERSION" lines).
cat >"$T/fake/apt-cache" <<'EOF'
#!/bin/sh
cmd=$1 pkg=$2
vs=$(awk -v p="$pkg" '$1 == p { print $2 }' "$FAKE_STATE/archive")
case $cmd in
madison) for v in $vs; do echo "$pkg | $v | http://deb.debian.org/debian bookworm/main"; done ;;
policy) echo "$pkg:"; echo "  Candidate: $(echo "$vs" | sort -rV | head -1 | grep . || echo '(none)')" ;;
esac
EOF
# apt-get update|install [-y...] PKG[=VERSION]...: logged; install marks them installed.
cat >"$T/fake/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >>"$FAKE_STATE/apt.log"
[ "$1" = install ] || exit 0
for a; do
	case $a in -*|install) continue ;; esac
	pkg=${a%%=*} v=${a#*=}
	[ "$v" != "$a" ] || v=$(awk -v p="$pkg" '$1 == p { print $2 }' "$FAKE_STATE/archive" | sort -rV | head -1)
	grep -v "^$pkg " "$FAKE_STATE/installed" >"$FAKE_STATE/i.tmp"
	echo "$pkg $v" >>"$FAKE_STATE/i.tmp"
	mv "$FAKE_STATE/i.tmp" "$FAKE_STATE/installed"
done
EOF
cat >"$T/fake/clang-16" <<'EOF'
#!/bin/sh
echo "clang version 16 (fake)"
EOF
chmod +x "$T/fake"/*
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$T/debian12"
printf 'ID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n' >"$T/ubuntu"

packages() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$top/setup/debian-packages.txt"; }

# A machine: every package installed but those named (linux-source-6.12 at
# $SOURCE or not at all) and an archive serving every package but those named
# in $GONE, linux-source-6.12 at $SERVED.
machine() {
	rm -rf "$T/tree" "$T/cache" && mkdir -p "$T/tree/scripts" "$T/tree/cache/venv"
	cp -r "$top/setup" "$top/kernel" "$T/tree/"
	cp "$top/scripts/setup.sh" "$top/scripts/lib.sh" "$top/scripts/kernel.sh" "$T/tree/scripts/"
	sha256sum "$top/setup/requirements.txt" | cut -c1-16 >"$T/tree/cache/venv/.req-hash"
	: >"$T/state/installed" && : >"$T/state/archive" && : >"$T/state/apt.log"
	for p in $(packages); do
		[ "$p" = linux-source-6.12 ] && continue
		case " ${MISSING:-} " in *" $p "*) ;; *) echo "$p 1.0" >>"$T/state/installed" ;; esac
		case " ${GONE:-} " in *" $p "*) ;; *) echo "$p 1.0" >>"$T/state/archive" ;; esac
	done
	[ -z "${SOURCE:-}" ] || echo "linux-source-6.12 $SOURCE" >>"$T/state/installed"
	for v in ${SERVED:-}; do echo "linux-source-6.12 $v" >>"$T/state/archive"; done
}

# Run set-up there: its status in $status, its messages in $out.
setup() {
	out=$(cd "$T/tree" && env -i PATH="${FAKE_PATH:-$T/fake:$T/tools}" HOME="$T" \
		KSM_CACHE="$T/tree/cache" FAKE_STATE="$T/state" FAKE_ARCH="${FAKE_ARCH:-}" \
		FAKE_UID="${FAKE_UID:-}" KSM_OS_RELEASE="${OS:-$T/debian12}" \
		KSM_PRETEND_SOURCE_GONE="${PRETEND:-0}" bash scripts/setup.sh 2>&1)
	status=$?
}

n=0 failed=0
result() {
	n=$((n + 1))
	if [ "$2" = ok ]; then
		echo "ok $n $1"
	else
		echo "# $1: $2"
		printf '%s\n' "$out" | sed 's/^/#   /'
		echo "not ok $n $1"
		failed=$((failed + 1))
	fi
}
# check NAME STATUS TEXT [RECORDED]: set-up exited STATUS, said TEXT, and
# recorded RECORDED as the source used.
check() {
	local why=ok
	if [ "$status" != "$2" ]; then
		why="exit status $status, wanted $2"
	elif ! grep -qF -- "$3" <<<"$out"; then
		why="did not say: $3"
	elif [ "$2" != 0 ] && [ "$(grep -c '^error: ' <<<"$out")" != 1 ]; then
		why="wanted one 'error:' line"
	elif [ $# -gt 3 ] && ! grep -qx "used=$4" "$T/tree/build/source-version" 2>/dev/null; then
		why="recorded $(cat "$T/tree/build/source-version" 2>/dev/null | tr '\n' ' '), wanted used=$4"
	fi
	result "$1" "$why"
}
# kernel.sh in the scratch tree: prints what it says.
kernel_sh() {
	(cd "$T/tree" && env -i PATH="$T/fake:$T/tools" HOME="$T" KSM_CACHE="$T/tree/cache" \
		bash scripts/kernel.sh "$@" 2>&1)
}

echo "KTAP version 1"
echo "1..16"

SOURCE=$P SERVED="$P $NEWER" machine; setup
check pinned_source_installed_is_used "0" "linux-source-6.12 $P (as pinned)" "$P"
result pinned_source_installed_needs_no_apt "$([ -s "$T/state/apt.log" ] && echo "apt ran: $(cat "$T/state/apt.log")" || echo ok)"

SERVED="$OLDER $P $NEWER" machine; setup
check pinned_source_served_is_installed "0" "(as pinned)" "$P"
result pinned_source_served_is_what_apt_installs "$(grep -q "linux-source-6.12=$P" "$T/state/apt.log" && echo ok || echo "apt.log: $(cat "$T/state/apt.log")")"

SERVED="$OLDER $NEWER" machine; setup
check fallback_when_the_pin_is_gone "0" "warning: the archive no longer serves linux-source-6.12 $P (pinned in kernel/source-version); using $NEWER" "$NEWER"
setup
check fallback_is_kept_and_said_on_the_next_run "0" "linux-source-6.12 $NEWER, not the pinned $P" "$NEWER"
key_fallback=$(kernel_sh key patched)
said_fallback=$(kernel_sh source)

SOURCE=$P SERVED="$P" machine
key_before=$(kernel_sh key patched)	# no build/source-version: as before set-up recorded one
setup
key_pinned=$(kernel_sh key patched)
out="keys: $key_before before set-up, $key_pinned of the pinned source, $key_fallback of $NEWER ($said_fallback)"
result kernel_key_of_the_pinned_source_is_unchanged \
	"$([ "$key_pinned" = "$key_before" ] && [ -n "$key_pinned" ] && echo ok || echo "the key changed")"
result kernel_key_and_source_of_a_fallback_name_it \
	"$([ "$key_fallback" != "$key_pinned" ] && [ "$said_fallback" = "linux-source-6.12 $NEWER, not the pinned $P (the archive no longer serves it)" ] && echo ok || echo "same key, or not said")"

SERVED="$OLDER $P" machine; PRETEND=1 setup
check pretending_the_pin_is_gone_takes_what_is_served "0" "using $OLDER" "$OLDER"

SERVED="6.1.99-1" machine; setup
check no_6_12_served_is_an_error "1" "error: the archive serves neither linux-source-6.12 $P (kernel/source-version) nor any other 6.12.y"

SOURCE=$P FAKE_ARCH=aarch64 machine; FAKE_ARCH=aarch64 setup
check not_x86_64_is_an_error "1" "error: ksm-bpf builds and boots x86_64 kernels only; this machine is aarch64"

SOURCE=$P machine; OS=$T/ubuntu setup
check not_debian_12_is_an_error "1" "error: set-up needs Debian 12 (bookworm) and its apt archive; this is Ubuntu 22.04.4 LTS"

SOURCE=$P MISSING=clang-16 machine; FAKE_UID=1000 setup
check missing_packages_need_root "1" "error: installing packages needs root (run 'sudo make setup')"

SOURCE=$P MISSING=clang-16 GONE=clang-16 machine; setup
check clang_16_not_installable_is_an_error "1" "error: not installable from the configured apt sources: clang-16"

mkdir -p "$T/noclang" && cp "$T/fake"/* "$T/noclang/" && rm "$T/noclang/clang-16"
SOURCE=$P machine; FAKE_PATH=$T/noclang:$T/tools setup
check clang_16_missing_from_path_is_an_error "1" "error: clang-16 is not on PATH"

mkdir -p "$T/noapt" && cp "$T/fake"/* "$T/noapt/" && rm "$T/noapt/apt-get"
SOURCE=$P machine; FAKE_PATH=$T/noapt:$T/tools setup
check no_apt_is_an_error "1" "error: set-up needs Debian's apt-get"

[ "$n" = 16 ] || echo "# ran $n cases, planned 16"
[ "$failed" = 0 ] && [ "$n" = 16 ]
