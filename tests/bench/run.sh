#!/bin/sh
# Runs every benchmark binary ($B/bench/bench_*) in turn and prints its
# figures. Benchmarks are not tests: they print ratios to same-run baselines
# and targets; a benchmark that cannot run makes the whole run fail.
set -u
B=${B:-build}
export B
export COLB_TOP="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$COLB_TOP" || exit 1
failed=0
for b in "$B"/bench/bench_*; do
	[ -x "$b" ] && [ -f "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" || { echo "$(basename "$b") failed"; failed=1; }
done
exit $failed
