#!/bin/sh
# Runs inside the guest: each guest test program in turn, each bounded in time
# (600 s; three times that on the debug kernel, which KASAN, lockdep and
# kmemleak slow down about that much), its KTAP output framed by markers the
# host-side harness (run_tests.py) reads.
#   guest-tests.sh BINDIR TEST...
bindir=$1
shift
limit=${KSM_TEST_TIMEOUT:-600}
case ${KSM_KERNEL_VARIANT:-} in *debug) limit=$((limit * 3)) ;; esac
for t in "$@"; do
	echo "# ksm-bpf: begin $t"
	timeout -s KILL "$limit" "$bindir/$t"
	echo "# ksm-bpf: end $t status=$?"
done
