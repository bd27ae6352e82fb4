#!/bin/sh
# In the guest: run bench/ksm_converge.c's workloads under each KSM
# configuration, one after the other, on the kernel this guest booted.
#
#   converge_configs.sh BUILD_DIR WORKLOADS CONFIGS [KSM-CONVERGE ARGS...]
#
# WORKLOADS: comma-separated w1, w1-ro, w1-cg (w1 in a cgroup that
# trust_stable and trust_adaptive are told to trust), w2, w2-dyn. CONFIGS: comma-separated
#   defaults   upstream's defaults (smart_scan=1, no policy, no advisor)
#   smart-off  smart_scan=0
#   advisor    smart_scan=1 and advisor_mode=scan-time (it sets pages_to_scan)
#   NAME       smart_scan=1 and the shipped policy BUILD_DIR/bpf/NAME.bpf.o,
#              loaded with ksmctl (its statistics stopped) and unloaded after
#   trust_stable-first-sight  trust_stable with trust_first_sight=true
#   w2-bound   smart_scan=1 and BUILD_DIR/bench/w2_bound.bpf.o, a policy told
#              w2's layout: the least a policy spends there
#   learn-offsets  smart_scan=1 and BUILD_DIR/bench/learn_offsets.bpf.o, which
#              learns from the first processes which offsets never merge
# (the last two: w2 and w2-dyn only; the other workloads are passed over)
# Every configuration starts from the same pace (PAGES_TO_SCAN, SLEEP_MS).
# One JSON line per run on stdout (scripts/bench_converge.py reads them);
# ksmctl and bpftool talk on stderr.
set -eu

PAGES_TO_SCAN=1000
SLEEP_MS=20
KSM=/sys/kernel/mm/ksm
CGROUP_ROOT=/sys/fs/cgroup
TRUSTED=$CGROUP_ROOT/ksm-bench-trusted

[ $# -ge 3 ] || { echo "usage: converge_configs.sh BUILD_DIR WORKLOADS CONFIGS [ARGS...]" >&2; exit 2; }
. "$(dirname "$0")/policy_alone.sh"
build=$1 workloads=$2 configs=$3
shift 3

trusted_cgroup() {
	if [ ! -e "$CGROUP_ROOT/cgroup.procs" ]; then
		mkdir -p "$CGROUP_ROOT"
		mount -t cgroup2 none "$CGROUP_ROOT"
	fi
	mkdir -p "$TRUSTED"
	# Its own memory cgroup: what a policy keys a process's cgroup by.
	echo +memory >"$CGROUP_ROOT/cgroup.subtree_control"
}

# List the trusted cgroup in trust_stable's map, trust_adaptive's too (docs/policies.md).
trust_cgroup() {
	id=$(stat -c %i "$TRUSTED")
	# shellcheck disable=SC2046
	"$build/tools/bin/bpftool" map update pinned /sys/fs/bpf/ksm/policy_maps/trusted_cgroups \
		key hex $(printf '%016x\n' "$id" | fold -w2 | tac | tr '\n' ' ') value hex 01 >&2
}

configure() {
	echo none >$KSM/advisor_mode
	echo $PAGES_TO_SCAN >$KSM/pages_to_scan
	echo $SLEEP_MS >$KSM/sleep_millisecs
	echo 1 >$KSM/smart_scan
	case $1 in
	defaults) ;;
	smart-off) echo 0 >$KSM/smart_scan ;;
	advisor) echo scan-time >$KSM/advisor_mode ;;
	trust_stable-first-sight)
		load_policy_alone "$build" "$build/bpf/trust_stable.bpf.o" set trust_first_sight=true
		trust_cgroup
		;;
	w2-bound) load_policy_alone "$build" "$build/bench/w2_bound.bpf.o" ;;
	learn-offsets) load_policy_alone "$build" "$build/bench/learn_offsets.bpf.o" ;;
	*)
		load_policy_alone "$build" "$build/bpf/$1.bpf.o"
		case $1 in trust_stable | trust_adaptive) trust_cgroup ;; esac
		;;
	esac
}

# What the policy counted (its .bss), on stderr: which pages it trusted,
# which processes it skipped, its pace.
policy_state() {
	for map in /sys/fs/bpf/ksm/policy_maps/*bss; do
		[ -e "$map" ] || continue
		"$build/tools/bin/bpftool" map dump pinned "$map" | sed "s/^/policy-state $1: /" >&2
	done
}

unconfigure() {
	case $1 in
	defaults | smart-off) ;;
	advisor) echo none >$KSM/advisor_mode ;;
	*)
		policy_state "$1 $2"
		"$build/ksmctl" policy unload >&2
		;;
	esac
}

trusted_cgroup
status=0
for config in $(echo "$configs" | tr , ' '); do
	for workload in $(echo "$workloads" | tr , ' '); do
		case $config,$workload in w2-bound,w1* | learn-offsets,w1*) continue ;; esac
		configure "$config"
		case $workload in
		w1-cg) set -- --workload w1 --cgroup "$TRUSTED" "$@" ;;
		*) set -- --workload "$workload" "$@" ;;
		esac
		echo "converge: $config $workload" >&2
		"$build/bench/ksm-converge" --label "$config $workload" "$@" || status=1
		# Drop the two or four arguments just added.
		case $workload in
		w1-cg) shift 4 ;;
		*) shift 2 ;;
		esac
		unconfigure "$config" "$workload"
		[ $status = 0 ] || break 2
	done
done
exit $status
