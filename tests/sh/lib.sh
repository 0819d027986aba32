# Shared by the shell tests: TAP output, a scratch directory, paths.
# Source it; then call `ok NAME` / `not_ok NAME WHY` / `check NAME CMD...`,
# and `done_testing` at the end.
set -u
: "${B:=build}"
TOP=${COLB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
COLB="$TOP/$B/colbundle"
PKIGEN="$TOP/$B/colb-pkigen"
REAL=${COLB_REAL:-$TOP/tests/data/real}
T=$(mktemp -d /tmp/colbtest.XXXXXX)
trap 'rm -rf "$T"' EXIT
_n=0
_fail=0
ok() { _n=$((_n + 1)); echo "ok $_n - $1"; }
not_ok() { _n=$((_n + 1)); _fail=$((_fail + 1)); echo "not ok $_n - $1"; [ $# -gt 1 ] && echo "# $2"; }
# check NAME CMD... : passes when CMD exits 0
check() { _name=$1; shift; if "$@" >"$T/.out" 2>&1; then ok "$_name"; else not_ok "$_name" "$(tail -3 "$T/.out" | tr '\n' ' ')"; fi; }
# refuse NAME CMD... : passes when CMD exits non-zero
refuse() { _name=$1; shift; if "$@" >"$T/.out" 2>&1; then not_ok "$_name" "expected a refusal, got success"; else ok "$_name"; fi; }
done_testing() { echo "1..$_n"; [ "$_fail" = 0 ]; }
