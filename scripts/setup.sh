#!/usr/bin/env bash
# Install everything the project needs on a Debian 12 x86_64 machine: the packages
# listed in setup/debian-packages.txt, the kernel source, and the Python tools of
# setup/requirements.txt in a virtualenv under the cache dir. Idempotent: when
# everything is present it only checks, which takes a second.
#
# The kernel source is Debian's linux-source-6.12 at the version pinned in
# kernel/source-version. When the archive no longer serves that version (Debian
# keeps only the newest security release), the 6.12.y it serves is used instead,
# said loudly, and recorded in build/source-version for scripts/kernel.sh (which
# applies the series to it and keys the kernels it builds by both versions).
#
# For tests: KSM_OS_RELEASE (default /etc/os-release) is the file naming the
# distribution, and KSM_PRETEND_SOURCE_GONE=1 acts as if the archive no longer
# served the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

pinned=$(cat kernel/source-version)
record=build/source-version

# --- what set-up assumes, each said when it does not hold ---
arch=$(uname -m)
[ "$arch" = x86_64 ] ||
	die "ksm-bpf builds and boots x86_64 kernels only; this machine is $arch"
os_release=${KSM_OS_RELEASE:-/etc/os-release}
os=$(. "$os_release" 2>/dev/null && echo "${ID:-?} ${VERSION_ID:-?} ${PRETTY_NAME:-$os_release}") ||
	os="? ? (no $os_release)"
case $os in
"debian 12 "*) ;;
*) die "set-up needs Debian 12 (bookworm) and its apt archive; this is ${os#* * }" ;;
esac
for tool in apt-get apt-cache dpkg-query; do
	command -v "$tool" >/dev/null || die "set-up needs Debian's $tool, which is not on PATH"
done

need_root() {
	[ "$(id -u)" -eq 0 ] || die "$1 needs root (run 'sudo make setup')"
}

updated=
apt_update() {
	[ -n "$updated" ] && return
	need_root "installing packages"
	apt-get update -qq || die "apt-get update failed: check the network and /etc/apt/sources.list"
	updated=1
}

# The versions of linux-source-6.12 the archive serves, newest first.
served_sources() {
	apt-cache madison linux-source-6.12 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' |
		{ if [ "${KSM_PRETEND_SOURCE_GONE:-0}" = 1 ]; then grep -vxF -- "$pinned"; else cat; fi } |
		sort -urV
}

installed() {
	dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null || true
}

# --- the kernel source: the pinned version, else the 6.12.y the archive serves ---
source_now=$(installed linux-source-6.12)
used=
if [ "$source_now" = "installed $pinned" ]; then
	used=$pinned
elif [ -f "$record" ] && [ "$(sed -n 's/^pinned=//p' "$record")" = "$pinned" ] &&
	[ "$source_now" = "installed $(sed -n 's/^used=//p' "$record")" ]; then
	used=${source_now#installed }	# the fallback chosen before, still installed
else
	apt_update
	mapfile -t served < <(served_sources)
	if printf '%s\n' "${served[@]}" | grep -qxF -- "$pinned"; then
		used=$pinned
	else
		used=$(printf '%s\n' "${served[@]}" | grep -m1 '^6\.12\.' || true)
		[ -n "$used" ] ||
			die "the archive serves neither linux-source-6.12 $pinned (kernel/source-version) nor any other 6.12.y (apt-cache madison linux-source-6.12: ${served[*]:-nothing}); check that /etc/apt/sources.list has bookworm and bookworm-security"
		info "warning: the archive no longer serves linux-source-6.12 $pinned (pinned in kernel/source-version); using $used, which it serves. The series must apply to it and make test must pass (docs/pipeline.md)"
	fi
fi
mkdir -p build
printf 'pinned=%s\nused=%s\n' "$pinned" "$used" >"$record.tmp" && mv "$record.tmp" "$record"

# --- packages ---
mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' setup/debian-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
	want=""
	[ "$p" = linux-source-6.12 ] && want=$used
	case "$(installed "$p")" in
	"installed $want"*) ;;
	*) missing+=("$p${want:+=$want}") ;;
	esac
done

if [ ${#missing[@]} -gt 0 ]; then
	info "installing Debian packages: ${missing[*]}"
	apt_update
	gone=()
	for p in "${missing[@]}"; do
		[ "${p%%=*}" = linux-source-6.12 ] && continue	# chosen from what is served
		case $(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }') in
		"" | "(none)") gone+=("$p") ;;
		esac
	done
	[ ${#gone[@]} -eq 0 ] ||
		die "not installable from the configured apt sources: ${gone[*]} (Debian 12 bookworm's main archive has them; check /etc/apt/sources.list)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
fi
command -v clang-16 >/dev/null ||
	die "clang-16 is not on PATH though its package is installed: BPF programs and the fuzzer need it"
info "kernel source: linux-source-6.12 $used$([ "$used" = "$pinned" ] && echo " (as pinned)" ||
	echo ", not the pinned $pinned (the archive no longer serves it)")"

# virtme-ng and friends live in a private virtualenv so that the system Python
# (externally managed on Debian) is left alone.
venv=$KSM_CACHE/venv
req_hash=$(sha256sum setup/requirements.txt | cut -c1-16)
if [ "$(cat "$venv/.req-hash" 2>/dev/null)" != "$req_hash" ]; then
	info "installing Python tools into $venv"
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check -r setup/requirements.txt
	echo "$req_hash" >"$venv/.req-hash"
fi
