#!/bin/sh
# Runs inside the guest (see scripts/vm.py): the command, then the kernel log
# and the command's exit status into RUNDIR, a directory shared with the host.
# KSM_CACHE tells the tests where the project's Python packages are.
rundir=$1
KSM_CACHE=$2
export KSM_CACHE
shift 2
"$@"
status=$?
dmesg >"$rundir/dmesg" 2>&1
echo "$status" >"$rundir/status"
exit "$status"
