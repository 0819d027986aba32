#!/bin/sh
# Runs every benchmark in turn and prints its figures: the binaries
# $B/bench/bench_* (from tests/bench/bench_*.c) and the scripts
# tests/bench/bench_*.sh. Benchmarks are not tests: they print ratios to
# same-run baselines and targets; a benchmark that cannot run makes the whole
# run fail.
set -u
B=${B:-build}
export B
export COLB_TOP="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$COLB_TOP" || exit 1
failed=0
for b in "$B"/bench/bench_* tests/bench/bench_*.sh; do
	[ -f "$b" ] || continue
	case $b in
	*.sh) run="sh $b" ;;
	*) [ -x "$b" ] || continue; run=$b ;;
	esac
	echo "== $(basename "$b")"
	$run || { echo "$(basename "$b") failed"; failed=1; }
done
exit $failed
