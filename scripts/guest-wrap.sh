#!/bin/sh
# Runs inside the guest (see scripts/vm.py): the command, then the kernel log
# and the command's exit status into RUNDIR, a directory shared with the host.
rundir=$1
shift
"$@"
status=$?
dmesg >"$rundir/dmesg" 2>&1
echo "$status" >"$rundir/status"
exit "$status"
