#!/bin/sh
# The synthetic PKI generator at benchmark scale: 10,000 Intel platforms and
# 10,000 AMD chips (target: under two minutes on two cores). RSA-4096 signing
# of the VCEKs dominates; the generator spreads it over every core.
# Also reports one thread against all of them, measured in the same run.
set -eu
B=${B:-build}
TOP=${COLB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PKIGEN="$TOP/$B/colb-pkigen"
N=${BENCH_PKIGEN_N:-10000}
out=$(mktemp -d /tmp/colbbench.XXXXXX)
trap 'rm -rf "$out"' EXIT

secs() { date +%s.%N; }
t0=$(secs)
"$PKIGEN" --out "$out/all" --intel "$N" --amd "$N" >/dev/null
t1=$(secs)
all=$(awk "BEGIN{print $t1 - $t0}")
files=$(find "$out/all" -type f | wc -l)
bytes=$(du -sb "$out/all" | cut -f1)
rm -rf "$out/all"
# A tenth of the fleet on one thread and on all of them, for the scaling
# ratio (both runs pay the same fixed cost: the RSA-4096 CA keys).
n1=$((N / 10))
t0=$(secs)
"$PKIGEN" --out "$out/one" --intel "$n1" --amd "$n1" --threads 1 >/dev/null
t1=$(secs)
"$PKIGEN" --out "$out/many" --intel "$n1" --amd "$n1" >/dev/null
t2=$(secs)
one=$(awk "BEGIN{print $t1 - $t0}")
many=$(awk "BEGIN{print $t2 - $t1}")
printf 'pkigen: %d Intel platforms + %d AMD chips in %.1f s (target < 120 s): %d files, %d MB\n' \
	"$N" "$N" "$all" "$files" $((bytes / 1048576))
printf 'pkigen: a tenth of the fleet: %.1f s on one thread, %.1f s on all cores (%.2fx)\n' \
	"$one" "$many" "$(awk "BEGIN{print $one / $many}")"
