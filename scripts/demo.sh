#!/bin/bash
# The demo, run inside the guest by 'make run': three processes load the same
# 32 MiB "guest image" and one loads different data, as VMs in three cgroups
# (two in vm-a, one in vm-b, the odd one in vm-c). ksmctl estimates what
# merging them would save before anything is merged; then merging is turned
# on for their cgroups, ksmd merges the identical pages and the numbers show
# what it saved; ksmctl shows who saved what and who shares with whom, and a
# BPF policy is attached, shown and detached.
#   demo.sh PATH/TO/ksm-workload PATH/TO/ksmctl BPF_DIR
set -euo pipefail
workload=$1 ksmctl=$2 bpf=$3
ksm=/sys/kernel/mm/ksm
pages=8192	# 32 MiB of 4 KiB pages per process
kib=$(($(getconf PAGESIZE) / 1024))

rd() { cat "$ksm/$1"; }
mib() { echo "$(($1 * kib / 1024)) MiB"; }

echo "== ksm-bpf demo: Linux $(uname -r), KSM in ${ksm}"
echo 0 >"$ksm/run"
echo 4096 >"$ksm/pages_to_scan"
echo 20 >"$ksm/sleep_millisecs"
echo 1 >"$ksm/run"
echo "ksmd: run=$(rd run) pages_to_scan=$(rd pages_to_scan) sleep_millisecs=$(rd sleep_millisecs)"
echo "\$ ksmctl stats enable sharing on"
"$ksmctl" stats enable sharing on

cgroups=/sys/fs/cgroup
[ -e $cgroups/cgroup.procs ] || mount -t cgroup2 none $cgroups
mkdir -p $cgroups/demo/vm-a $cgroups/demo/vm-b $cgroups/demo/vm-c
# The memory controller gives them the KSM settings (memory.ksm_*).
echo +memory >$cgroups/cgroup.subtree_control
echo +memory >$cgroups/demo/cgroup.subtree_control
tmp=$(mktemp -d)
mkfifo "$tmp/hold"
exec 3<>"$tmp/hold"	# the workloads hold their memory while this stays open
pids=()
# A workload in cgroup demo/$1 with the data of seed $2, output to $tmp/$3.
start() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cgroups/demo/$1" \
		"$workload" $pages "$2" <&3 >"$tmp/$3" &
	pids+=($!)
}
start vm-a 42 w1
start vm-a 42 w2
start vm-b 42 w3
start vm-c 7 w4
trap 'kill "${pids[@]}" 2>/dev/null; wait; rmdir $cgroups/demo/vm-* $cgroups/demo; rm -rf "$tmp"' EXIT
while [ "$(cat "$tmp"/w* | wc -l)" -lt 4 ]; do sleep 0.1; done
echo "started 4 processes (pids ${pids[*]}), $(mib $pages) each: 3 with the same data"
echo "(2 in cgroup /demo/vm-a, 1 in /demo/vm-b), 1 different (/demo/vm-c); none asks for KSM"
echo
echo "\$ ksmctl estimate cgroup /demo   # what merging would save, merging nothing"
"$ksmctl" estimate cgroup /demo
echo
echo "\$ ksmctl cgroup set /demo merge on   # now merge them, as the estimate said"
"$ksmctl" cgroup set /demo merge on
echo
printf '%8s %12s %13s %14s\n' full_scans pages_shared pages_sharing general_profit
start=$(rd full_scans) last=-1 deadline=$((SECONDS + 300))
# Watch ksmd pass by pass until the sharing stops growing.
while [ $SECONDS -lt $deadline ]; do
	scans=$(($(rd full_scans) - start))
	if [ "$scans" != "$last" ]; then
		sharing=$(rd pages_sharing)
		printf '%8d %12d %13d %14s\n' "$scans" "$(rd pages_shared)" "$sharing" "$(mib $(($(rd general_profit) / kib / 1024)))"
		last=$scans
		[ "$sharing" -ge $((2 * pages)) ] && [ "$scans" -ge 3 ] && break
	fi
	sleep 0.2
done
echo
printf '%8s %18s %20s\n' pid ksm_merging_pages ksm_process_profit
for p in "${pids[@]}"; do
	printf '%8d %18d %20s\n' "$p" "$(cat /proc/$p/ksm_merging_pages)" \
		"$(awk '/ksm_process_profit/ { print int($2 / 1048576) " MiB" }' /proc/$p/ksm_stat)"
done
echo
echo "\$ ksmctl stats        # per process, from BPF programs on the ksm tracepoints"
"$ksmctl" stats
echo
echo "\$ ksmctl stats sharing   # who shares ksm pages with whom, per pair of cgroups"
"$ksmctl" stats sharing
echo
echo "\$ ksmctl policy load $bpf/default.bpf.o; ksmctl policy show"
"$ksmctl" policy load "$bpf/default.bpf.o"
"$ksmctl" policy show
echo
echo "\$ ksmctl status"
"$ksmctl" status
"$ksmctl" policy unload >/dev/null
"$ksmctl" stats disable >/dev/null
shared=$(rd pages_shared) sharing=$(rd pages_sharing)
echo
echo "4 x $(mib $pages) of anonymous memory: KSM keeps $shared shared pages for $((shared + sharing)) mappings,"
echo "saving $(mib "$sharing") ($sharing pages). The fourth process's data matches nothing and stays private."
[ "$sharing" -ge $((2 * pages)) ] || { echo "demo: KSM did not merge what it should have" >&2; exit 1; }
