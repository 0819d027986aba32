#!/bin/sh
# make demo: the whole mission on one machine, on the built-in sample fleet
# (samples/fleet, made by colb-pkigen: TEST KEYS ONLY).
#
#   pipeline side: keygen -> capture from a PCS/KDS stand-in -> signed bundle
#   site side:     install into a store -> status
#   serving:       the quote provider library, loaded as Intel's QVL loads it,
#                  and `colbundle serve`, asked with curl
# Everything served is checked with OpenSSL, independently of colbundle.
# Everything started here is stopped at the end; nothing outside a scratch
# directory is touched.
set -eu
B=${B:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
COLB="$TOP/$B/colbundle"
MOCK="$TOP/$B/colb-mock"
QPL_CLIENT="$TOP/$B/samples/qpl_client"
FLEET="$TOP/samples/fleet"
W=$(mktemp -d /tmp/colbundle-demo.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }
wait_file() { i=0; while [ ! -s "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; [ -s "$1" ]; }

# The sample fleet's test roots stand in for Intel's and AMD's real ones;
# colbundle accepts them only because they are named explicitly.
ROOTS="--intel-root $FLEET/roots/intel-root.der"
for p in Milan Genoa Turin; do ROOTS="$ROOTS --amd-ark $FLEET/roots/amd-$p-ark.der"; done
start=$(date +%s)

say "1/6 Pipeline: a publisher signing key"
# (no password: this demo's key is thrown away with its scratch directory)
"$COLB" keygen --out "$W/publisher" --no-password 2>/dev/null

say "2/6 Pipeline: Intel PCS and AMD KDS stand-ins on loopback (the sample fleet)"
"$MOCK" --root "$FLEET" --port-file "$W/mock.port" --latency-ms 5 --lifetime 600 2>"$W/mock.err" &
pids="$pids $!"
wait_file "$W/mock.port" || fail "the PCS/KDS stand-in did not start: $(cat "$W/mock.err")"
URL="http://127.0.0.1:$(cat "$W/mock.port")"
echo "serving the sample fleet's PCS v4 and KDS answers at $URL"

say "3/6 Pipeline: capture the fleet, validate every item, sign the bundle"
# shellcheck disable=SC2086
"$COLB" capture --fleet "$FLEET/fleet.json" --pcs "$URL" --kds "$URL" \
	--root-crl "$URL/IntelSGXRootCA.der" --kds-interval 0 $ROOTS \
	--publisher "colbundle demo pipeline" --valid-for 30 \
	--out "$W/fleet.colb" --key "$W/publisher.key" || fail "capture failed"
# shellcheck disable=SC2086
"$COLB" inspect "$W/fleet.colb" --trust "$W/publisher.pub" $ROOTS

say "4/6 Site: install the bundle into a store (verified in full, atomic, anti-rollback)"
# shellcheck disable=SC2086
"$COLB" install "$W/fleet.colb" --store "$W/store" --trust "$W/publisher.pub" $ROOTS || fail "install failed"
# shellcheck disable=SC2086
"$COLB" status --store "$W/store" --trust "$W/publisher.pub" $ROOTS || true

say "5/6 Serving: the quote provider library, loaded as Intel's QVL loads it"
cat >"$W/colbundle.conf" <<EOF
# the demo site's configuration (see colbundle.conf(5))
store = $W/store
trust = $W/publisher.pub
intel_root = $FLEET/roots/intel-root.der
log_level = error
EOF
FMSPC=$(tr -d ' \n' <"$FLEET/fleet.json" | sed -n 's/.*"fmspcs":\["\([0-9A-Fa-f]\{12\}\)".*/\1/p')
[ -n "$FMSPC" ] || fail "no FMSPC in the sample fleet"
mkdir -p "$W/qpl"
COLBUNDLE_CONF="$W/colbundle.conf" LD_LIBRARY_PATH="$TOP/$B" \
	"$QPL_CLIENT" "$FMSPC" "$FLEET/roots/intel-root.der" "$W/qpl" || fail "the provider library's answer did not check out"
qpl_ok=1

say "6/6 Serving: colbundle serve on the PCS, KDS and THIM paths, asked with curl"
# shellcheck disable=SC2086
"$COLB" serve --store "$W/store" --listen 127.0.0.1:0 --port-file "$W/serve.port" \
	--trust "$W/publisher.pub" $ROOTS 2>"$W/serve.err" &
pids="$pids $!"
wait_file "$W/serve.port" || fail "serve did not start: $(cat "$W/serve.err")"
S="http://127.0.0.1:$(cat "$W/serve.port")"
curl -sf -D "$W/tcb.hdr" -o "$W/tcb.json" "$S/sgx/certification/v4/tcb?fmspc=$FMSPC" || fail "GET tcb failed"
cmp -s "$W/tcb.json" "$W/qpl/tcb_info.json" && same_tcb=1 || same_tcb=0
echo "GET /sgx/certification/v4/tcb?fmspc=$FMSPC: $(wc -c <"$W/tcb.json") bytes, $(grep -c -i '^TCB-Info-Issuer-Chain:' "$W/tcb.hdr") issuer-chain header"
[ $same_tcb = 1 ] && echo "  the same bytes as the provider library served" || fail "serve and the provider library disagree"

# A Milan chip of the fleet: its VCEK over KDS's path, checked with OpenSSL
# against the ARK of the sample PKI (ASK from serve's cert_chain).
chip=$(tr -d ' \n' <"$FLEET/fleet.json" | grep -o '{"product":"Milan","chip_id":"[0-9a-f]*","tcb":"[0-9a-f]*"}' | head -1)
hwid=$(echo "$chip" | sed 's/.*"chip_id":"\([0-9a-f]*\)".*/\1/')
tcbm=$(echo "$chip" | sed 's/.*"tcb":"\([0-9a-f]*\)".*/\1/')
# tcbm is most significant byte first: ucode, snp, 4 reserved, tee, bl (Milan)
ucode=$(printf '%d' "0x$(echo "$tcbm" | cut -c1-2)")
snp=$(printf '%d' "0x$(echo "$tcbm" | cut -c3-4)")
tee=$(printf '%d' "0x$(echo "$tcbm" | cut -c13-14)")
bl=$(printf '%d' "0x$(echo "$tcbm" | cut -c15-16)")
curl -sf -o "$W/vcek.der" "$S/vcek/v1/Milan/$hwid?blSPL=$bl&teeSPL=$tee&snpSPL=$snp&ucodeSPL=$ucode" || fail "GET vcek failed"
curl -sf -o "$W/chain.pem" "$S/vcek/v1/Milan/cert_chain" || fail "GET cert_chain failed"
awk '/BEGIN/{n++} n==1' "$W/chain.pem" >"$W/ask.pem"
openssl x509 -inform DER -in "$W/vcek.der" -out "$W/vcek.pem"
openssl x509 -inform DER -in "$FLEET/roots/amd-Milan-ark.der" -out "$W/ark.pem"
if openssl verify -CAfile "$W/ark.pem" -untrusted "$W/ask.pem" "$W/vcek.pem" >/dev/null 2>&1; then
	vcek_ok=1
	echo "GET /vcek/v1/Milan/<hwid>?blSPL=$bl&teeSPL=$tee&snpSPL=$snp&ucodeSPL=$ucode: VCEK verifies with openssl (ARK -> ASK -> VCEK)"
else
	fail "the served VCEK does not verify with openssl"
fi
curl -sf "$S/metadata/THIM/amd/certification?product=Milan&hwid=$hwid&tcbm=$tcbm" >"$W/thim.json" || fail "GET THIM failed"
grep -q "\"tcbm\":\"$(echo "$tcbm" | tr a-f A-F)\"\|\"tcbm\":\"$tcbm\"" "$W/thim.json" && echo "GET /metadata/THIM/amd/certification: THIM JSON with tcbm $tcbm"
curl -sf "$S/metrics" | grep -E '^colbundle_bundle_version|^colbundle_bundle_expiry' || true

end=$(date +%s)
say "Summary"
# shellcheck disable=SC2086
files=$("$COLB" ls "$W/fleet.colb" --trust "$W/publisher.pub" $ROOTS | wc -l)
echo "bundle:            $(wc -c <"$W/fleet.colb") bytes, $files files, signed by $(sed -n 's/.*public key //p' "$W/publisher.pub" | head -1)"
echo "installed:         $W/store (current.colb, state.json)"
echo "provider library:  $( [ "${qpl_ok:-0}" = 1 ] && echo 'collateral verified with OpenSSL' )"
echo "serve:             TCB info identical to the library's; VCEK chain verified with OpenSSL$( [ "${vcek_ok:-0}" = 1 ] || echo ' (FAILED)')"
echo "demo:              done in $((end - start)) s; everything it started is stopped"
