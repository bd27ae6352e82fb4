#!/bin/sh
# Runs inside the guest (see scripts/vm.py): the command, then the kernel log
# and the command's exit status into RUNDIR, a directory shared with the host.
# KSM_CACHE tells the tests where the project's Python packages are,
# KSM_KERNEL_VARIANT which kernel the host booted (empty: one of the user's).
rundir=$1
KSM_CACHE=$2
KSM_KERNEL_VARIANT=$3
export KSM_CACHE KSM_KERNEL_VARIANT
shift 3
"$@"
status=$?
dmesg >"$rundir/dmesg" 2>&1
echo "$status" >"$rundir/status"
exit "$status"
