#!/bin/sh
# Runs every libFuzzer target for FUZZ_SECONDS over its seed corpus
# (tests/fuzz/corpus/NAME, copied to a scratch dir so the tree stays clean).
set -eu
B=${B:-build}
secs=${FUZZ_SECONDS:-20}
status=0
for f in "$B"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d)
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
	dict=""
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	if "$f" $dict -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 "$work" >"$work.log" 2>&1; then
		echo "fuzz $name: clean for ${secs}s ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work.log" | awk '{print $2}') runs)"
		[ -n "$(grep -o 'stat::number_of_executed_units' "$work.log")" ] || echo "fuzz $name: clean for ${secs}s"
	else
		echo "fuzz $name: FAILED"; tail -30 "$work.log"; status=1
	fi
	rm -rf "$work" "$work.log"
done
exit $status
