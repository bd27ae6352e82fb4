# Shared shell helpers; sourced, not run.
# All built artefacts that outlive a checkout (kernels, tools, ccache, the Python
# virtualenv) are kept under one cache directory, outside the repository.
KSM_CACHE=${KSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksm-bpf}
mkdir -p "$KSM_CACHE"

info() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
