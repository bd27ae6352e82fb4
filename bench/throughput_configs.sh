#!/bin/sh
# In the guest: upstream's own KSM timing tests (ksm_tests of the same 6.12
# source: -P merge, -H merge of huge pages, -D unmerge, -C copy-on-write)
# under each KSM configuration, and their variant (ksm-sharing-time: M, a
# merge timed to the expected sharing; U, an unmerge and W, copy-on-write
# writes with ksmd stopped), ROUNDS times, the configurations interleaved so
# that each round meets the same state of the guest.
#
#   throughput_configs.sh BUILD_DIR CONFIGS ROUNDS SIZE_MIB
#
# CONFIGS: comma-separated; "none" (no policy), "stats" (no policy, ksmctl's
# statistics collected: BPF programs on the ksm tracepoints), "stats+sharing"
# (the same with who shares with whom: stats enable sharing on), or NAME: the
# shipped policy BUILD_DIR/bpf/NAME.bpf.o, loaded with ksmctl before each
# round's tests and unloaded after, alone (policy load starts the statistics
# too; they are stopped). Every test starts from upstream's default knobs. Each run
# prints "p4-run CONFIG ROUND TEST STATUS" after ksm_tests' own output, which
# scripts/bench_throughput.py reads.
set -eu

KSM=/sys/kernel/mm/ksm

[ $# -eq 4 ] || { echo "usage: throughput_configs.sh BUILD_DIR CONFIGS ROUNDS SIZE_MIB" >&2; exit 2; }
build=$1 configs=$2 rounds=$3 size=$4
ksm_tests=$build/selftests/upstream/ksm_tests
sharing_time=$build/bench/ksm-sharing-time
. "$(dirname "$0")/policy_alone.sh"

# Upstream's defaults (mm/ksm.c), as a fresh boot has them.
defaults() {
	echo 2 >$KSM/run
	echo 100 >$KSM/pages_to_scan
	echo 20 >$KSM/sleep_millisecs
	echo 1 >$KSM/smart_scan
	echo 0 >$KSM/use_zero_pages
}

round=1
while [ "$round" -le "$rounds" ]; do
	for config in $(echo "$configs" | tr , ' '); do
		defaults
		case $config in
		none) ;;
		stats) "$build/ksmctl" stats enable >&2 ;;
		stats+sharing) "$build/ksmctl" stats enable sharing on >&2 ;;
		*) load_policy_alone "$build" "$build/bpf/$config.bpf.o" ;;
		esac
		for test in P H D C M U W; do
			case $test in
			C) set -- "$ksm_tests" -C ;;
			M) set -- "$sharing_time" merge "$size" ;;
			U) set -- "$sharing_time" unmerge "$size" ;;
			W) set -- "$sharing_time" cow ;;
			*) set -- "$ksm_tests" "-$test" -s "$size" ;;
			esac
			status=0
			"$@" || status=$?
			echo "p4-run $config $round $test $status"
		done
		case $config in
		none) ;;
		stats | stats+sharing) "$build/ksmctl" stats disable >&2 ;;
		*) "$build/ksmctl" policy unload >&2 ;;
		esac
	done
	round=$((round + 1))
done
