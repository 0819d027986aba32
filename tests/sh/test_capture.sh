#!/bin/sh
# `colbundle capture` against colb-mock serving a colb-pkigen tree: a clean
# capture, each injected fault (429 + Retry-After, 500, reset, truncated body,
# wrong signature, wrong root, unknown platform), the API key, kill -9 and
# resume, --reuse, --json.
. "$(dirname "$0")/lib.sh"

MOCK="$TOP/$B/colb-mock"
PKI="$T/pki"
export SOURCE_DATE_EPOCH=1764633600 # fixed, so two captures of the same answers are the same bytes
AT=1764633600                       # validation time: one day after the generator's issue time

"$PKIGEN" --out "$PKI" --intel 4 --amd 3 >"$T/pkigen.log" 2>&1 || { not_ok "colb-pkigen runs" "$(tail -3 "$T/pkigen.log")"; done_testing; exit 1; }
"$COLB" keygen --out "$T/k" --no-password >/dev/null 2>&1 || { not_ok "keygen" ""; done_testing; exit 1; }

mock_pid=""
# start_mock [mock options...]: a fresh mock; sets $URL
start_mock() {
	stop_mock
	rm -f "$T/port" "$T/mock.log"
	"$MOCK" --root "$PKI" --port-file "$T/port" --log "$T/mock.log" --lifetime 300 "$@" 2>"$T/mock.err" &
	mock_pid=$!
	i=0
	while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	URL="http://127.0.0.1:$(cat "$T/port")"
}
stop_mock() {
	if [ -n "$mock_pid" ]; then
		kill "$mock_pid" 2>/dev/null
		wait "$mock_pid" 2>/dev/null
		mock_pid=""
	fi
}
trap 'stop_mock; rm -rf "$T"' EXIT

# capture OUT [options...]: the fleet from the mock, test roots, pinned time.
# capture_exec is the same as the process itself (for kill -9).
capture() { (capture_exec "$@"); }
capture_exec() {
	out=$1
	shift
	exec "$COLB" capture --fleet "$PKI/fleet.json" --pcs "$URL" --kds "$URL" \
		--root-crl "$URL/IntelSGXRootCA.der" --kds-interval 0 --backoff-ms 50 \
		--intel-root "$PKI/roots/intel-root.der" --amd-ark "$PKI/roots/amd-Milan-ark.der" \
		--amd-ark "$PKI/roots/amd-Genoa-ark.der" --amd-ark "$PKI/roots/amd-Turin-ark.der" \
		--at $AT --out "$out" --key "$T/k.key" --plain "$@"
}
verify() {
	"$COLB" verify "$1" --trust "$T/k.pub" --at $AT --intel-root "$PKI/roots/intel-root.der" \
		--amd-ark "$PKI/roots/amd-Milan-ark.der" --amd-ark "$PKI/roots/amd-Genoa-ark.der" \
		--amd-ark "$PKI/roots/amd-Turin-ark.der"
}
# log_count REGEX: mock log lines matching
log_count() { grep -c -- "$1" "$T/mock.log" 2>/dev/null || true; }

# ---- a clean capture ---------------------------------------------------------
start_mock
if capture "$T/clean.colb" >"$T/out" 2>"$T/err"; then
	ok "capture of the generated fleet succeeds"
else
	not_ok "capture of the generated fleet succeeds" "$(tail -5 "$T/err")"
fi
check "the captured bundle verifies" verify "$T/clean.colb"
if [ ! -e "$T/clean.colb.work" ]; then ok "the default work directory is removed after success"; else not_ok "the default work directory is removed after success"; fi
clean_requests=$(wc -l <"$T/mock.log")
n=$(wc -l <"$PKI/intel-pckid.csv")
got=$(log_count '^200 GET /sgx/certification/v4/pckcerts?')
if [ "$got" = "$n" ]; then ok "one pckcerts request per platform"; else not_ok "one pckcerts request per platform" "expected $n, got $got"; fi
got=$(log_count '^200 GET /vcek/v1/[A-Za-z]*/[0-9a-f]*?.*blSPL=')
if [ "$got" -ge 3 ]; then ok "VCEKs fetched with SPL parameters"; else not_ok "VCEKs fetched with SPL parameters" "got $got"; fi
if grep -q 'fmcSPL=' "$T/mock.log"; then ok "Turin VCEK requests carry fmcSPL"; else not_ok "Turin VCEK requests carry fmcSPL"; fi
grep -q '^capture: .* fetched' "$T/err" && ok "a summary line says what was fetched" || not_ok "a summary line says what was fetched" "$(tail -2 "$T/err")"

# ---- 429 with Retry-After -----------------------------------------------------
start_mock --fault '429:pckcerts:1:2'
t0=$(date +%s)
if capture "$T/r429.colb" >"$T/out" 2>"$T/err"; then ok "429 then success: capture succeeds"; else not_ok "429 then success: capture succeeds" "$(tail -3 "$T/err")"; fi
t1=$(date +%s)
if [ $((t1 - t0)) -ge 2 ]; then ok "Retry-After: 2 is honoured"; else not_ok "Retry-After: 2 is honoured" "finished after $((t1 - t0)) s"; fi
cmp -s "$T/clean.colb" "$T/r429.colb" && ok "the bundle after a 429 equals the clean one" || not_ok "the bundle after a 429 equals the clean one"

# ---- 500s, resets, truncated bodies: retried ----------------------------------
start_mock --fault '500:/tcb?:2' --fault 'reset:pckcrl:2' --fault 'truncate:qe/identity:1' --fault 'truncate:/crl:1'
if capture "$T/retry.colb" >"$T/out" 2>"$T/err"; then ok "500s, resets and truncated bodies are retried to success"; else not_ok "500s, resets and truncated bodies are retried to success" "$(tail -3 "$T/err")"; fi
[ "$(log_count '^500 .*fault=500')" = 2 ] && ok "the mock served two 500s" || not_ok "the mock served two 500s" "$(log_count '^500 ')"
[ "$(log_count 'fault=reset')" = 2 ] && ok "the mock reset two connections" || not_ok "the mock reset two connections"
[ "$(log_count 'fault=truncate')" = 2 ] && ok "the mock cut two bodies short" || not_ok "the mock cut two bodies short"
cmp -s "$T/clean.colb" "$T/retry.colb" && ok "the bundle after retries equals the clean one" || not_ok "the bundle after retries equals the clean one"

# ---- a request that times out is retried ------------------------------------------
start_mock --fault 'delay:pckcrl?ca=platform:1:3000'
if capture "$T/timeout.colb" --timeout 1 >"$T/out" 2>"$T/err"; then ok "a timed-out request is retried to success"; else not_ok "a timed-out request is retried to success" "$(tail -3 "$T/err")"; fi
grep -q 'retrying PCK platform CA CRL.*imeout' "$T/err" && ok "the retry after a timeout is logged" || not_ok "the retry after a timeout is logged" "$(grep retrying "$T/err" | head -2)"

# ---- a wrong signature: refused, named, no bundle ------------------------------
start_mock --fault 'badsig:fmspc=00906ED50000&update=standard'
if capture "$T/badsig.colb" >"$T/out" 2>"$T/err"; then
	not_ok "a TCB info with a wrong signature fails the capture" "it succeeded"
else
	ok "a TCB info with a wrong signature fails the capture"
fi
grep -q '00906ED50000' "$T/err" && ok "the failure names the item" || not_ok "the failure names the item" "$(tail -3 "$T/err")"
[ ! -e "$T/badsig.colb" ] && ok "no bundle is written after a wrong signature" || not_ok "no bundle is written after a wrong signature"

# a wrong signature on a VCEK
start_mock --fault 'badsig:blSPL=:1'
refuse "a VCEK with a wrong signature fails the capture" capture "$T/badvcek.colb"
grep -qi 'refused.*vcek' "$T/.out" && ok "the VCEK failure names a VCEK" || not_ok "the VCEK failure names a VCEK" "$(tail -3 "$T/.out")"
[ ! -e "$T/badvcek.colb" ] && ok "no bundle is written after a wrong VCEK signature" || not_ok "no bundle is written after a wrong VCEK signature"

# ---- a chain to the wrong root ---------------------------------------------------
start_mock --fault 'wrongroot:pckcrl?ca=processor'
refuse "a PCK CRL chained to the wrong root fails the capture" capture "$T/wrongroot.colb"
grep -qi 'processor' "$T/.out" && ok "the wrong-root failure names the processor CRL" || not_ok "the wrong-root failure names the processor CRL" "$(tail -3 "$T/.out")"
[ ! -e "$T/wrongroot.colb" ] && ok "no bundle is written after a wrong root" || not_ok "no bundle is written after a wrong root"

start_mock --fault 'wrongroot:/vcek/v1/Milan/cert_chain'
refuse "an AMD chain to the wrong ARK fails the capture" capture "$T/wrongark.colb"
[ ! -e "$T/wrongark.colb" ] && ok "no bundle is written after a wrong ARK" || not_ok "no bundle is written after a wrong ARK"

# ---- a platform the PCS does not know: reported, not retried ---------------------
start_mock
unknown=$(head -1 "$PKI/intel-pckid.csv" | awk -F, '{ e = $1; sub(/^./, (substr(e, 1, 1) == "0" ? "1" : "0"), e); printf "%s,%s,%s,%s,%s\n", e, $2, $3, $4, "00112233445566778899AABBCCDDEEFF" }')
echo "$unknown" >"$T/unknown.csv"
refuse "an unknown platform fails the capture" capture "$T/unknown.colb" --pckid-csv "$T/unknown.csv"
grep -q '00112233445566778899AABBCCDDEEFF.*404' "$T/.out" && ok "the 404 names the platform" || not_ok "the 404 names the platform" "$(grep -i fail "$T/.out" | head -3)"
[ "$(log_count "^404 GET /sgx/certification/v4/pckcerts?encrypted_ppid=$(echo "$unknown" | cut -d, -f1 | tr A-F a-f)")" = 1 ] &&
	ok "the 404 is not retried" || not_ok "the 404 is not retried" "$(log_count '^404 ')"
[ ! -e "$T/unknown.colb" ] && ok "no bundle is written when a platform is missing" || not_ok "no bundle is written when a platform is missing"

# ---- the API key: sent to the PCS, never shown -------------------------------------
printf 'k3y-s3cret-0123456789\n' >"$T/apikey"
start_mock --api-key-file "$T/apikey"
refuse "without the API key the PCS refuses the PCK requests" capture "$T/nokey.colb"
grep -q 'HTTP 401: the service wants an API key' "$T/.out" && ok "a 401 says an API key is needed" || not_ok "a 401 says an API key is needed" "$(grep FAILED "$T/.out" | head -1)"
if COLBUNDLE_PCS_API_KEY_FILE="$T/apikey" capture "$T/key.colb" >"$T/out" 2>"$T/err"; then ok "with COLBUNDLE_PCS_API_KEY_FILE the capture succeeds"; else not_ok "with COLBUNDLE_PCS_API_KEY_FILE the capture succeeds" "$(tail -3 "$T/err")"; fi
if grep -q 'k3y-s3cret' "$T/out" "$T/err" "$T/.out"; then not_ok "the API key appears in no output"; else ok "the API key appears in no output"; fi
if capture "$T/key2.colb" --api-key-file "$T/apikey" >"$T/out" 2>"$T/err"; then ok "--api-key-file works too"; else not_ok "--api-key-file works too" "$(tail -3 "$T/err")"; fi
refuse "an API key on the command line is refused" capture "$T/x.colb" --api-key k3y-s3cret-0123456789
[ "$(log_count 'GET /vcek.*key=1')" = 0 ] && ok "the key is never sent to KDS" || not_ok "the key is never sent to KDS"

# ---- kill -9 mid-way, then resume ---------------------------------------------------
start_mock --latency-ms 40
capture_exec "$T/resumed.colb" --work "$T/w" --connections 1 >"$T/out1" 2>"$T/err1" &
cpid=$!
i=0
while [ $i -lt 200 ]; do
	n=$(ls "$T/w/intel/sgx/pckcerts" 2>/dev/null | wc -l)
	[ "$n" -ge 4 ] && break
	sleep 0.05
	i=$((i + 1))
done
kill -9 $cpid 2>/dev/null
wait $cpid 2>/dev/null
if [ -e "$T/resumed.colb" ]; then not_ok "the killed capture wrote no bundle" "it finished before the kill"; else ok "the killed capture wrote no bundle"; fi
before=$(wc -l <"$T/mock.log")
if capture "$T/resumed.colb" --work "$T/w" >"$T/out" 2>"$T/err"; then ok "the capture resumes after kill -9"; else not_ok "the capture resumes after kill -9" "$(tail -3 "$T/err")"; fi
after=$(wc -l <"$T/mock.log")
grep -q 'resumed from' "$T/err" && [ "$(sed -n 's/.* \([0-9]*\) resumed from.*/\1/p' "$T/err")" -gt 0 ] &&
	ok "the resumed capture took answers from the work directory" || not_ok "the resumed capture took answers from the work directory" "$(tail -2 "$T/err")"
[ $((after - before)) -lt "$clean_requests" ] && ok "the resumed capture asked for less than a full one" ||
	not_ok "the resumed capture asked for less than a full one" "$((after - before)) requests, a full capture makes $clean_requests"
cmp -s "$T/clean.colb" "$T/resumed.colb" && ok "the resumed bundle equals an uninterrupted capture, byte for byte" ||
	not_ok "the resumed bundle equals an uninterrupted capture, byte for byte"
[ -d "$T/w" ] && ok "an explicit --work directory is kept" || not_ok "an explicit --work directory is kept"

# damaged answers in the work directory (a power loss) are fetched again
tcbfile=$(ls "$T"/w/intel/sgx/tcb/*/17.json | head -1)
pckfile=$(ls "$T"/w/intel/sgx/pckcerts/*.json | head -1)
head -c 100 "$tcbfile" >"$T/cut" && mv "$T/cut" "$tcbfile"
: >"$pckfile"
rm -f "$T/resumed.colb"
before=$(wc -l <"$T/mock.log")
if capture "$T/resumed.colb" --work "$T/w" >"$T/out" 2>"$T/err"; then ok "a capture over damaged work files succeeds"; else not_ok "a capture over damaged work files succeeds" "$(tail -3 "$T/err")"; fi
after=$(wc -l <"$T/mock.log")
[ $((after - before)) -ge 2 ] && [ $((after - before)) -lt 10 ] && ok "only the damaged answers are fetched again" || not_ok "only the damaged answers are fetched again" "$((after - before)) requests"
cmp -s "$T/clean.colb" "$T/resumed.colb" && ok "the bundle over repaired work files equals the clean one" || not_ok "the bundle over repaired work files equals the clean one"

# ---- --reuse: immutable items from an older bundle ------------------------------------
start_mock
if capture "$T/reuse.colb" --reuse "$T/clean.colb" --trust "$T/k.pub" >"$T/out" 2>"$T/err"; then ok "capture with --reuse succeeds"; else not_ok "capture with --reuse succeeds" "$(tail -3 "$T/err")"; fi
[ "$(log_count 'pckcerts?')" = 0 ] && ok "--reuse takes PCK certs from the old bundle" || not_ok "--reuse takes PCK certs from the old bundle" "$(log_count 'pckcerts?') requests"
[ "$(log_count 'blSPL=')" = 0 ] && ok "--reuse takes VCEKs from the old bundle" || not_ok "--reuse takes VCEKs from the old bundle" "$(log_count 'blSPL=') requests"
cmp -s "$T/clean.colb" "$T/reuse.colb" && ok "the bundle with reused items equals a fresh one" || not_ok "the bundle with reused items equals a fresh one"

# ---- --json for CI --------------------------------------------------------------------
if capture "$T/json.colb" --json >"$T/out" 2>"$T/err"; then ok "capture --json succeeds"; else not_ok "capture --json succeeds" "$(tail -3 "$T/err")"; fi
tail -1 "$T/out" | grep -q '"event":"summary","ok":true' && ok "--json ends with a summary event" || not_ok "--json ends with a summary event" "$(tail -1 "$T/out")"

# ---- platform_list.json instead of the CSV; an explicit evaluation number --------------
start_mock
awk -F, 'BEGIN { printf "[" } { printf "%s{\"enc_ppid\":\"%s\",\"pce_id\":\"%s\",\"cpu_svn\":\"%s\",\"pce_svn\":\"%s\",\"qe_id\":\"%s\",\"platform_manifest\":\"\"}", (NR > 1 ? "," : ""), $1, $2, $3, $4, $5 } END { print "]" }' \
	"$PKI/intel-pckid.csv" >"$PKI/platform_list.json"
sed 's/"pckid_csv":\["intel-pckid.csv"\],"platform_list":\[\]/"pckid_csv":[],"platform_list":["platform_list.json"]/' \
	"$PKI/fleet.json" >"$PKI/fleet-pl.json"
if grep -q '"platform_list":\["platform_list.json"\]' "$PKI/fleet-pl.json" &&
	capture "$T/pl.colb" --fleet "$PKI/fleet-pl.json" >"$T/out" 2>"$T/err"; then
	ok "a fleet naming a platform_list.json captures"
else
	not_ok "a fleet naming a platform_list.json captures" "$(tail -3 "$T/err")"
fi
cmp -s "$T/clean.colb" "$T/pl.colb" && ok "platform_list.json and the CSV give the same bundle" || not_ok "platform_list.json and the CSV give the same bundle"
if capture "$T/eval16.colb" --tcb standard,16 >"$T/out" 2>"$T/err" &&
	"$COLB" ls "$T/eval16.colb" --trust "$T/k.pub" --at $AT --intel-root "$PKI/roots/intel-root.der" \
		--amd-ark "$PKI/roots/amd-Milan-ark.der" --amd-ark "$PKI/roots/amd-Genoa-ark.der" \
		--amd-ark "$PKI/roots/amd-Turin-ark.der" >"$T/ls" 2>&1 &&
	grep -q 'intel/tcbinfo/sgx/00906ED50000/16.json' "$T/ls" && ! grep -q '/18.json' "$T/ls"; then
	ok "--tcb standard,16 takes evaluation number 16 and not the early set"
else
	not_ok "--tcb standard,16 takes evaluation number 16 and not the early set" "$(tail -3 "$T/err") $(grep tcbinfo "$T/ls" | head -3)"
fi
grep -q 'tcbEvaluationDataNumber=16' "$T/mock.log" && ok "an evaluation number is asked for as tcbEvaluationDataNumber" || not_ok "an evaluation number is asked for as tcbEvaluationDataNumber"

# ---- the baseline the bundle serves by default, and its minimum -------------------------
if capture "$T/early.colb" --tcb standard,early --baseline early --min-eval 17 >"$T/out" 2>"$T/err" &&
	"$COLB" get "$T/early.colb" intel tcbinfo --tee sgx --fmspc 00906ED50000 --trust "$T/k.pub" --at $AT \
		--intel-root "$PKI/roots/intel-root.der" --amd-ark "$PKI/roots/amd-Milan-ark.der" \
		--amd-ark "$PKI/roots/amd-Genoa-ark.der" --amd-ark "$PKI/roots/amd-Turin-ark.der" >"$T/tcb.json" 2>"$T/err" &&
	grep -q '"tcbEvaluationDataNumber":18' "$T/tcb.json"; then
	ok "--baseline early makes the early set the bundle's default"
else
	not_ok "--baseline early makes the early set the bundle's default" "$(tail -3 "$T/err")"
fi
capture "$T/bad.colb" --baseline soon >"$T/out" 2>"$T/err"
[ $? = 2 ] && grep -q -- "--baseline: 'soon'" "$T/err" && [ ! -e "$T/bad.colb" ] &&
	ok "a bad --baseline is a usage error before anything is fetched" ||
	not_ok "a bad --baseline is a usage error before anything is fetched" "$(cat "$T/err")"

# ---- a PCCS instead of the PCS: its /rootcacrl answers hex ------------------------------
start_mock
if "$COLB" capture --fleet "$PKI/fleet.json" --pccs "$URL" --kds "$URL" --kds-interval 0 \
	--intel-root "$PKI/roots/intel-root.der" --amd-ark "$PKI/roots/amd-Milan-ark.der" \
	--amd-ark "$PKI/roots/amd-Genoa-ark.der" --amd-ark "$PKI/roots/amd-Turin-ark.der" \
	--at $AT --out "$T/pccs.colb" --key "$T/k.key" --quiet >"$T/out" 2>"$T/err"; then
	ok "capture from a PCCS succeeds"
else
	not_ok "capture from a PCCS succeeds" "$(tail -3 "$T/err")"
fi
[ "$(log_count '^200 GET /sgx/certification/v4/rootcacrl')" = 1 ] && ok "the Root CA CRL comes from the PCCS's /rootcacrl" || not_ok "the Root CA CRL comes from the PCCS's /rootcacrl"
cmp -s "$T/clean.colb" "$T/pccs.colb" && ok "the PCCS bundle equals the PCS one" || not_ok "the PCCS bundle equals the PCS one"

if "$COLB" capture --fleet "$PKI/fleet.json" --thim "$URL" --root-crl "$URL/IntelSGXRootCA.der" --kds "$URL" \
	--kds-interval 0 --intel-root "$PKI/roots/intel-root.der" --amd-ark "$PKI/roots/amd-Milan-ark.der" \
	--amd-ark "$PKI/roots/amd-Genoa-ark.der" --amd-ark "$PKI/roots/amd-Turin-ark.der" \
	--at $AT --out "$T/thim.colb" --key "$T/k.key" --quiet >"$T/out" 2>"$T/err" && cmp -s "$T/clean.colb" "$T/thim.colb"; then
	ok "capture from a THIM gives the same bundle"
else
	not_ok "capture from a THIM gives the same bundle" "$(tail -3 "$T/err")"
fi
refuse "--pcs and --thim together are a usage error" "$COLB" capture --fleet "$PKI/fleet.json" --pcs "$URL" --thim "$URL" --out "$T/y.colb" --key "$T/k.key"

# ---- TDX TCB info not offered for an FMSPC: noted, not a failure --------------------------
start_mock --fault '404:/tdx/certification/v4/tcb?fmspc=00906ED50000'
if capture "$T/notdx.colb" >"$T/out" 2>"$T/err"; then ok "a TDX TCB info the service does not offer is not a failure"; else not_ok "a TDX TCB info the service does not offer is not a failure" "$(tail -3 "$T/err")"; fi
grep -q ' [1-9][0-9]* not offered' "$T/err" && ok "the summary counts what was not offered" || not_ok "the summary counts what was not offered" "$(tail -1 "$T/err")"

# ---- KDS pacing -------------------------------------------------------------------------
start_mock
chip1=$(grep -o '"chip_id": "[0-9a-f]*"' "$PKI/fleet.json" | head -1 | cut -d'"' -f4)
tcb1=$(grep -o '"tcb": "[0-9a-f]*"' "$PKI/fleet.json" | head -1 | cut -d'"' -f4)
prod1=$(grep -o '"product": "[A-Za-z]*"' "$PKI/fleet.json" | head -1 | cut -d'"' -f4)
t0=$(date +%s)
if "$COLB" capture --amd-chip "$prod1:$chip1:$tcb1" --kds "$URL" --kds-interval 1 \
	--amd-ark "$PKI/roots/amd-$prod1-ark.der" --at $AT --out "$T/paced.colb" --key "$T/k.key" --quiet >"$T/out" 2>"$T/err"; then
	ok "a paced KDS capture succeeds"
else
	not_ok "a paced KDS capture succeeds" "$(tail -3 "$T/err")"
fi
t1=$(date +%s)
kds=$(log_count 'GET /v[cl]ek/v1/')
if [ $((t1 - t0)) -ge $((kds - 1)) ] && [ "$kds" -ge 3 ]; then ok "--kds-interval 1 spaces $kds KDS requests a second apart"; else not_ok "--kds-interval 1 spaces KDS requests a second apart" "$kds requests in $((t1 - t0)) s"; fi

# ---- flag forms instead of a fleet file ------------------------------------------------
chip=$(grep -o '"chip_id": "[0-9a-f]*"' "$PKI/fleet.json" | head -1 | cut -d'"' -f4)
tcb=$(grep -o '"tcb": "[0-9a-f]*"' "$PKI/fleet.json" | head -1 | cut -d'"' -f4)
prod=$(grep -o '"product": "[A-Za-z]*"' "$PKI/fleet.json" | head -1 | cut -d'"' -f4)
if "$COLB" capture --pckid-csv "$PKI/intel-pckid.csv" --fmspc 00906ED50000 --amd-chip "$prod:$chip:$tcb" \
	--amd-report "$PKI/reports/$(ls "$PKI/reports" | grep -v vlek | head -1)" --tcb standard \
	--pcs "$URL" --kds "$URL" --root-crl "$URL/IntelSGXRootCA.der" --kds-interval 0 \
	--intel-root "$PKI/roots/intel-root.der" --amd-ark "$PKI/roots/amd-Milan-ark.der" \
	--amd-ark "$PKI/roots/amd-Genoa-ark.der" --amd-ark "$PKI/roots/amd-Turin-ark.der" \
	--at $AT --out "$T/flags.colb" --key "$T/k.key" --quiet >"$T/out" 2>"$T/err"; then
	ok "the flag forms of the inputs work"
else
	not_ok "the flag forms of the inputs work" "$(tail -3 "$T/err")"
fi
check "the flag-form bundle verifies" verify "$T/flags.colb"
refuse "a malformed --amd-chip is a usage error" "$COLB" capture --amd-chip Milan:xyz:0 --out "$T/y.colb" --key "$T/k.key"
head -1 "$PKI/intel-pckid.csv" >"$T/bad.csv"
echo "abc,0000" >>"$T/bad.csv"
"$COLB" capture --pckid-csv "$T/bad.csv" --out "$T/y.colb" --key "$T/k.key" >"$T/out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "bad.csv:2: expected EncPPID" "$T/out" && ok "a malformed CSV line is a usage error naming file and line" ||
	not_ok "a malformed CSV line is a usage error naming file and line" "exit $rc: $(cat "$T/out")"
echo '{"intel":{"pckid_csvs":[]}}' >"$T/badfleet.json"
"$COLB" capture --fleet "$T/badfleet.json" --out "$T/y.colb" --key "$T/k.key" >"$T/out" 2>&1
grep -q 'unknown key "pckid_csvs"' "$T/out" && ok "a fleet file with an unknown key is refused, naming the key" || not_ok "a fleet file with an unknown key is refused, naming the key" "$(cat "$T/out")"
[ ! -e "$T/y.colb" ] && [ ! -e "$T/y.colb.work" ] && ok "a refused fleet leaves no bundle and no work directory" || not_ok "a refused fleet leaves no bundle and no work directory"
refuse "--reuse without --trust is a usage error" "$COLB" capture --fleet "$PKI/fleet.json" --reuse "$T/clean.colb" --out "$T/y.colb" --key "$T/k.key"
refuse "capture without inputs is a usage error" "$COLB" capture --out "$T/y.colb" --key "$T/k.key"

stop_mock
done_testing
