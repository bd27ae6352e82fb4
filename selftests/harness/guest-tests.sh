#!/bin/sh
# Runs inside the guest: each guest test program in turn, each bounded in time,
# its KTAP output framed by markers the host-side harness (run_tests.py) reads.
#   guest-tests.sh BINDIR TEST...
bindir=$1
shift
for t in "$@"; do
	echo "# ksm-bpf: begin $t"
	timeout -s KILL "${KSM_TEST_TIMEOUT:-600}" "$bindir/$t"
	echo "# ksm-bpf: end $t status=$?"
done
