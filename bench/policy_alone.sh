# Sourced by the guest runners (converge_configs.sh, throughput_configs.sh).
#
#   load_policy_alone BUILD_DIR OBJECT [KSMCTL POLICY LOAD ARGS...]
#
# Loads a policy with ksmctl and stops the statistics that `ksmctl policy
# load` starts too: their tracepoint programs would count in what is
# measured for the policy (docs/benchmarks.md, P4 measures them alone).
load_policy_alone() {
	_build=$1
	shift
	"$_build/ksmctl" policy load "$@" >&2
	"$_build/ksmctl" stats disable >&2
}
