#!/bin/sh
# install verifies every Intel and AMD item; status reports the stalest
# collateral item and warns ahead of its nextUpdate (the sample fleet,
# samples/fleet, generated at 2026-11-29).
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
F="$TOP/samples/fleet"
ROOTS="--intel-root $F/roots/intel-root.der --amd-ark $F/roots/amd-Milan-ark.der --amd-ark $F/roots/amd-Genoa-ark.der --amd-ark $F/roots/amd-Turin-ark.der"
"$COLB" keygen --out k --no-password >/dev/null 2>&1
"$COLB" create --out fleet.colb --key k.key --intel-dir "$F/intel" --amd-dir "$F/amd" $ROOTS \
	--created 2026-11-29T00:00:00Z --version 1 >/dev/null || not_ok "create the sample fleet's bundle"
"$COLB" create --out amd.colb --key k.key --amd-dir "$F/amd" $ROOTS \
	--created 2026-11-29T00:00:00Z --version 2 >/dev/null || not_ok "create an AMD-only bundle"

"$COLB" install fleet.colb --store S --trust k.pub --at 2026-11-30T00:00:00Z >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "certificate chain does not verify" "$T/err" && ok "install verifies the Intel items: a test PKI's root is refused unless trusted" ||
	not_ok "install verifies the Intel items: a test PKI's root is refused unless trusted" "rc=$rc $(cat "$T/err")"
check "install accepts the fleet's bundle with its roots" "$COLB" install fleet.colb --store S --trust k.pub $ROOTS --at 2026-11-30T00:00:00Z

st() { "$COLB" status --store S $ROOTS "$@"; }
st --at 2026-11-30T00:00:00Z --json >"$T/out"; rc=$?
[ $rc = 0 ] && grep -q '"stalest":{"path":"intel/crl/platform.der","next_update":"2026-12-30T00:00:00Z","days_left":30}' "$T/out" &&
	grep -q '"pckcerts":6' "$T/out" && grep -q '"vcek":8' "$T/out" &&
	ok "status: OK, the stalest item and the counts per kind" ||
	not_ok "status: OK, the stalest item and the counts per kind" "rc=$rc $(cat "$T/out")"
st --at 2026-12-25T00:00:00Z >"$T/out"; rc=$?
[ $rc = 1 ] && grep -q "WARNING.*intel/crl/platform.der passes nextUpdate at 2026-12-30T00:00:00Z, in 5 days" "$T/out" &&
	ok "status: WARNING ahead of a nextUpdate" || not_ok "status: WARNING ahead of a nextUpdate" "rc=$rc $(head -1 "$T/out")"
st --at 2026-12-25T00:00:00Z --warn-days 3 >/dev/null; rc=$?
[ $rc = 0 ] && ok "status: --warn-days narrows the window" || not_ok "status: --warn-days narrows the window" "rc=$rc"
st --at 2026-12-31T00:00:00Z >"$T/out"; rc=$?
[ $rc = 2 ] && grep -q "CRITICAL.*past nextUpdate" "$T/out" && ok "status: CRITICAL once collateral is past nextUpdate" ||
	not_ok "status: CRITICAL once collateral is past nextUpdate" "rc=$rc $(head -1 "$T/out")"

check "an AMD-only bundle installs" "$COLB" install amd.colb --store S $ROOTS --at 2026-11-30T00:00:00Z
st --at 2026-11-30T00:00:00Z --json >"$T/out"
grep -q '"stalest":{"path":"amd/[A-Za-z]*/crl.der"' "$T/out" && ok "status: the stalest AMD CRL" ||
	not_ok "status: the stalest AMD CRL" "$(cat "$T/out")"
done_testing
