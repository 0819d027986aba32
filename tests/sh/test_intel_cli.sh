#!/bin/sh
# Intel end to end: create --intel-dir from a synthetic PKI, `get intel ...`
# returns the vendor's exact bytes, PCK selection refuses revoked certs,
# fleet-status / diff, and create refuses every kind of bad Intel input
# naming the item.
. "$(dirname "$0")/lib.sh"

P="$T/pki"
"$PKIGEN" --out "$P" --seed intel-cli --intel 12 --amd 0 >/dev/null 2>&1 || { not_ok "colb-pkigen runs"; done_testing; exit 1; }
CREATED=2025-12-02T00:00:00Z
"$COLB" keygen --out "$T/k" --no-password >/dev/null 2>&1
ROOT="$P/roots/intel-root.der"
TR="--trust $T/k.pub --at $CREATED --intel-root $ROOT"

mk() { # mk OUT INTEL_DIR [extra create args]
	out=$1 dir=$2
	shift 2
	"$COLB" create --out "$out" --key "$T/k.key" --intel-dir "$dir" --intel-root "$ROOT" --created $CREATED "$@"
}
copy() { rm -rf "$T/in" && cp -r "$P/intel" "$T/in"; }

check "create packs the synthetic Intel collateral" mk "$T/b.colb" "$P/intel" --pckid-csv "$P/intel-pckid.csv"
B="$T/b.colb"

# ---- exact bytes ----------------------------------------------------------------
FM=00906ED50000
"$COLB" get "$B" intel tcbinfo --tee sgx --fmspc $FM $TR >"$T/o" 2>/dev/null &&
	cmp -s "$T/o" "$P/intel/sgx/tcb/$FM/17.json" && ok "tcbinfo at the baseline (standard = 17) is the exact body" ||
	not_ok "tcbinfo at the baseline (standard = 17) is the exact body"
"$COLB" get "$B" intel tcbinfo --tee tdx --fmspc $FM --eval 18 $TR >"$T/o" 2>/dev/null &&
	cmp -s "$T/o" "$P/intel/tdx/tcb/$FM/18.json" && ok "tdx tcbinfo --eval 18 is the exact body" ||
	not_ok "tdx tcbinfo --eval 18 is the exact body"
"$COLB" get "$B" intel tcbinfo --tee sgx --fmspc $FM --baseline early $TR >"$T/o" 2>/dev/null &&
	cmp -s "$T/o" "$P/intel/sgx/tcb/$FM/18.json" && ok "--baseline early serves 18" || not_ok "--baseline early serves 18"
"$COLB" get "$B" intel identity --kind qe $TR >"$T/o" 2>/dev/null && cmp -s "$T/o" "$P/intel/sgx/identity/qe/17.json" &&
	ok "QE identity matches the baseline's number" || not_ok "QE identity matches the baseline's number"
"$COLB" get "$B" intel identity --kind td_qe --eval 16 $TR >"$T/o" 2>/dev/null &&
	cmp -s "$T/o" "$P/intel/tdx/identity/td_qe/16.json" && ok "TD_QE identity --eval 16" || not_ok "TD_QE identity --eval 16"
"$COLB" get "$B" intel pckcrl --ca platform --encoding der $TR >"$T/o" 2>/dev/null &&
	cmp -s "$T/o" "$P/intel/sgx/pckcrl/platform.der" && ok "pckcrl DER is the exact CRL" || not_ok "pckcrl DER is the exact CRL"
"$COLB" get "$B" intel pckcrl --ca processor $TR 2>/dev/null | openssl crl -noout 2>/dev/null &&
	ok "pckcrl PEM parses" || not_ok "pckcrl PEM parses"
"$COLB" get "$B" intel rootcacrl $TR >"$T/o" 2>/dev/null && cmp -s "$T/o" "$P/intel/rootcacrl.der" &&
	ok "rootcacrl is the exact DER" || not_ok "rootcacrl is the exact DER"
refuse "an evaluation number not carried is not found" "$COLB" get "$B" intel tcbinfo --tee sgx --fmspc $FM --eval 15 $TR
"$COLB" get "$B" intel tcbinfo --tee sgx --fmspc $FM --eval 15 $TR >/dev/null 2>&1
[ $? = 3 ] && ok "not found exits 3" || not_ok "not found exits 3"
refuse "a site baseline not carried is refused" "$COLB" get "$B" intel tcbinfo --tee sgx --fmspc $FM --baseline 19 $TR

# ---- PCK selection ---------------------------------------------------------------
line=$(sed -n 1p "$P/intel-pckid.csv")
qe=$(echo "$line" | cut -d, -f5)
cpusvn=$(echo "$line" | cut -d, -f3)
svn=$(echo "$line" | cut -d, -f4)
pcesvn=$(( $(printf '%d' "0x$(echo "$svn" | cut -c3-4)$(echo "$svn" | cut -c1-2)") ))
"$COLB" get "$B" intel pckcert --qe-id "$qe" --pce-id 0000 --cpusvn "$cpusvn" --pcesvn $pcesvn $TR >"$T/pck.pem" 2>"$T/pck.err"
grep -q "SGX-TCBm: $(echo "$cpusvn" | tr a-f A-F)" "$T/pck.err" && openssl x509 -in "$T/pck.pem" -noout 2>/dev/null &&
	ok "pckcert at an exact level serves that level's cert" || not_ok "pckcert at an exact level serves that level's cert" "$(cat "$T/pck.err")"
read -r ca rqe rpce rtcbm serial <<EOF
$(grep -v '^#' "$P/intel-revoked.txt" | head -1)
EOF
rcpu=$(echo "$rtcbm" | cut -c1-32)
rsvn=$(printf '%d' "0x$(echo "$rtcbm" | cut -c35-36)$(echo "$rtcbm" | cut -c33-34)")
"$COLB" get "$B" intel pckcert --qe-id "$rqe" --pce-id "$rpce" --cpusvn "$rcpu" --pcesvn "$rsvn" $TR >"$T/o" 2>"$T/e"
rc=$?
[ $rc = 1 ] && grep -q revoked "$T/e" && [ ! -s "$T/o" ] && ok "a revoked PCK cert is never served" ||
	not_ok "a revoked PCK cert is never served" "exit $rc: $(cat "$T/e")"

# ---- fleet-status and diff ----------------------------------------------------------
"$COLB" fleet-status "$B" --fleet "$P/intel-pckid.csv" $TR >"$T/fs" 2>&1
n=$(grep -vc '^#' "$T/fs")
[ "$n" = 12 ] && grep -q UpToDate "$T/fs" && grep -q PCKRevoked "$T/fs" && ok "fleet-status lists every platform" ||
	not_ok "fleet-status lists every platform" "$(cat "$T/fs")"
"$COLB" diff "$B" "$B" --old-baseline standard --new-baseline early --fleet "$P/intel-pckid.csv" $TR >"$T/d" 2>&1
grep -q 'UpToDate (17) -> OutOfDate (18)' "$T/d" && ok "diff shows the platforms an early TCB set makes OutOfDate" ||
	not_ok "diff shows the platforms an early TCB set makes OutOfDate" "$(cat "$T/d")"

# ---- create refusals ---------------------------------------------------------------
refuse_create() { # NAME WHAT-THE-MESSAGE-NAMES CREATE-ARGS...
	name=$1 want=$2
	shift 2
	if mk "$T/x.colb" "$@" >"$T/cr" 2>&1; then
		not_ok "$name" "create succeeded"
	elif grep -q -- "$want" "$T/cr"; then
		ok "$name"
	else
		not_ok "$name" "message lacks '$want': $(cat "$T/cr")"
	fi
}
copy
sed -i 's/"pcesvn":13/"pcesvn":14/' "$T/in/sgx/tcb/$FM/17.json"
refuse_create "create refuses a TCB info whose signature fails" "sgx/tcb/$FM/17.json: signature" "$T/in"
copy
printf '\001' | dd of="$T/in/sgx/identity/qve/18.json" bs=1 seek=200 conv=notrunc 2>/dev/null
refuse_create "create refuses a changed identity" "identity/qve/18.json" "$T/in"
copy
mv "$T/in/sgx/tcb/$FM/16.json" "$T/in/sgx/tcb/$FM/19.json"
mv "$T/in/sgx/tcb/$FM/16.json.hdr" "$T/in/sgx/tcb/$FM/19.json.hdr"
refuse_create "create refuses a misfiled TCB info" "filed as evaluation number 19" "$T/in"
copy
refuse_create "create refuses items below --min-eval" "below --min-eval 17" "$T/in" --min-eval 17
refuse_create "create refuses a baseline the input does not carry" "no sgx TCB info at evaluation number 15" "$T/in" --baseline 15
touch "$T/in/sgx/notes.txt"
refuse_create "create refuses a file outside the layout" "notes.txt: not a file of the Intel raw layout" "$T/in"
copy
"$PKIGEN" --out "$T/other" --seed another-pki --intel 2 --amd 0 >/dev/null 2>&1
cp "$T/other/intel/sgx/identity/qe/17.json" "$T/other/intel/sgx/identity/qe/17.json.hdr" "$T/in/sgx/identity/qe/"
refuse_create "create refuses collateral signed under another root" "identity/qe/17.json: issuer chain ends at a root that is not the pinned" "$T/in"
copy
cp "$T/other/intel/sgx/pckcrl/processor.der" "$T/in/sgx/pckcrl/processor.der"
refuse_create "create refuses a CRL not signed by its chain's CA" "pckcrl/processor.der" "$T/in"
copy
# A TCB info whose chain is a PCK CA's: the signer must be the TCB Signing cert.
chain=$(sed -n 's/^SGX-PCK-CRL-Issuer-Chain: //p' "$T/in/sgx/pckcrl/processor.der.hdr")
printf 'TCB-Info-Issuer-Chain: %s\n' "$chain" >"$T/in/sgx/tcb/$FM/18.json.hdr"
refuse_create "create refuses a TCB info signed by anything but the TCB Signing cert" \
	"18.json: issuer chain starts at 'Intel SGX PCK Processor CA', expected 'Intel SGX TCB Signing'" "$T/in"
if "$COLB" create --out "$T/x.colb" --key "$T/k.key" --intel-dir "$P/intel" --created $CREATED >"$T/cr" 2>&1; then
	not_ok "without the test root, create refuses the test PKI" "create succeeded"
else
	grep -q 'pinned Intel SGX Root CA' "$T/cr" && ok "without the test root, create refuses the test PKI" ||
		not_ok "without the test root, create refuses the test PKI" "$(cat "$T/cr")"
fi

# ---- the reader re-validates: a bundle opened without the test root serves nothing --------
refuse "the reader refuses Intel items whose root it does not trust" \
	"$COLB" get "$B" intel tcbinfo --tee sgx --fmspc $FM --trust "$T/k.pub" --at $CREATED

done_testing
