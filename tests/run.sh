#!/bin/sh
# Runs every test: the cmocka unit binaries (TAP output) and the shell tests
# (tests/sh/test_*.sh, TAP output too), then prints one summary line:
#   N passed, N failed
# Exit status is non-zero when anything failed.
set -u
B=${B:-build}
export B
export COLB_TOP="$(cd "$(dirname "$0")/.." && pwd)"
export CMOCKA_MESSAGE_OUTPUT=TAP
cd "$COLB_TOP" || exit 1
log=$(mktemp -d)
passed=0
failed=0
failed_names=""

count() { # $1 = TAP log, $2 = name, $3 = exit code
	p=$(grep -c '^ok ' "$1" || true)
	f=$(grep -c '^not ok ' "$1" || true)
	if [ "$3" != 0 ] && [ "$f" = 0 ]; then
		f=1 # crashed or failed outside a test case
		echo "not ok - $2 exited with status $3" >>"$1"
	fi
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then
		f=1 # a test program that ran nothing is a failure
		echo "not ok - $2 ran no test" >>"$1"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" != 0 ]; then
		failed_names="$failed_names $2"
		grep -E '^not ok|^# ' "$1" | head -40
	fi
	printf '%-36s %4d passed, %d failed\n' "$2" "$p" "$f"
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	"$t" >"$log/$name.tap" 2>"$log/$name.err"
	count "$log/$name.tap" "$name" $?
done
for t in tests/sh/test_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	sh "$t" >"$log/$name.tap" 2>"$log/$name.err"
	rc=$?
	count "$log/$name.tap" "$name" $rc
	[ $rc = 0 ] || tail -20 "$log/$name.err"
done
[ -z "$failed_names" ] || echo "failed:$failed_names"
rm -rf "$log"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
