#!/usr/bin/env bash
# Run a command as a new user's plain root shell would: the system PATH only, no
# variables inherited from this shell, and a HOME (and XDG_CACHE_HOME) of its own,
# so nothing installed under the caller's home directory or PATH is found by chance.
# KSM_CACHE is kept (default: the caller's cache) so that no kernel is rebuilt;
# pass KSM_CACHE=$(mktemp -d) for the full fresh-machine check.
#
#   plain-env.sh COMMAND [ARG...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: plain-env.sh COMMAND [ARG...]" >&2; exit 2; }
cache=${KSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-bpf}
home=$(mktemp -d /tmp/ksm-bpf-home.XXXXXX)
trap 'rm -rf "$home"' EXIT
status=0
env -i HOME="$home" XDG_CACHE_HOME="$home/.cache" KSM_CACHE="$cache" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 TERM=dumb ${CI:+CI="$CI"} "$@" || status=$?
exit "$status"
