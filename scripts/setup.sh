#!/usr/bin/env bash
# Install everything the project needs on a Debian machine: the packages listed in
# setup/debian-packages.txt (the kernel source at the version in kernel/source-version)
# and the Python tools of setup/requirements.txt in a virtualenv under the cache dir.
# Idempotent: when everything is present it only checks, which takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

srcver=$(cat kernel/source-version)
mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' setup/debian-packages.txt)

missing=()
for p in "${pkgs[@]}"; do
	want=""
	[ "$p" = linux-source-6.12 ] && want=$srcver
	have=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p" 2>/dev/null || true)
	case "$have" in
	"installed $want"*) ;;
	*) missing+=("$p${want:+=$want}") ;;
	esac
done

if [ ${#missing[@]} -gt 0 ]; then
	info "installing Debian packages: ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || die "installing packages needs root (run 'sudo make setup')"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

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
