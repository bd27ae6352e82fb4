#!/usr/bin/env bash
# Run the libFuzzer target over ksmctl's parsers for a fixed time.
#   run.sh FUZZER SECONDS     (0: only replay the corpus, each input once)
# The corpus grows in build/fuzz/corpus from the seeds in selftests/fuzz/corpus;
# an input that crashes is saved as build/fuzz/crash-* and the run fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
fuzzer=$1 seconds=$2
work=$top/build/fuzz
mkdir -p "$work/corpus"
case $seconds in '' | *[!0-9]*) echo "error: FUZZ_SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;; esac
if [ "$seconds" = 0 ]; then
	limit=(-runs=0)
else
	limit=(-max_total_time="$seconds")
fi
exec "$fuzzer" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-dict="$top/selftests/fuzz/ksmctl.dict" -artifact_prefix="$work/" \
	"$work/corpus" "$top/selftests/fuzz/corpus"
