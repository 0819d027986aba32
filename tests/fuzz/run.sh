#!/bin/sh
# Runs every libFuzzer target for FUZZ_SECONDS over its seed corpus
# (tests/fuzz/corpus/NAME, copied to a scratch directory so that the tree
# stays clean; crash artifacts are kept in $B/fuzz/artifacts/).
set -eu
B=${B:-build}
secs=${FUZZ_SECONDS:-20}
status=0
mkdir -p "$B/fuzz/artifacts"
for f in "$B"/fuzz/fuzz_*; do
	[ -x "$f" ] && [ -f "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d)
	if [ -d "tests/fuzz/corpus/$name" ]; then cp -r "tests/fuzz/corpus/$name/." "$work/"; fi
	dict=""
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	# shellcheck disable=SC2086
	if "$f" $dict -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$B/fuzz/artifacts/$name-" "$work" >"$work.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
		echo "fuzz $name: clean for ${secs}s (${runs:-?} runs)"
	else
		echo "fuzz $name: FAILED"
		grep -v '^#\|^INFO' "$work.log" | tail -40
		status=1
	fi
	rm -rf "$work" "$work.log"
done
exit $status
