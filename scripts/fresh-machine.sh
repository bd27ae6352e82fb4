#!/usr/bin/env bash
# The fresh-machine check: what a new user does, from nothing. A clone of HEAD in a
# temporary directory, an empty cache (so everything is built: packages checked,
# virtme-ng installed, both kernels, libbpf and bpftool), a plain environment, then
# the README's two commands, `make run` and `make test`. Takes 30-45 minutes on 2
# cores. Run it before resolving anything that touches set-up, the kernel config or
# the pipeline.
#
#   scripts/fresh-machine.sh [WORKDIR]    (default: a new directory under /tmp)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/ksm-bpf-fresh.XXXXXX)}
mkdir -p "$work"
git clone -q "$top" "$work/src"
mkdir -p "$work/cache"
cd "$work/src"
for target in run test; do
	echo "==> fresh machine: make $target (clone and cache in $work)" >&2
	KSM_CACHE=$work/cache bash scripts/plain-env.sh make "$target" ||
		{ echo "error: 'make $target' failed on a fresh machine (see above; $work is kept)" >&2; exit 1; }
done
echo "==> fresh machine: make run and make test passed; rm -rf $work to free the space" >&2
