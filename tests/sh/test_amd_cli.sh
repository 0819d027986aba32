#!/bin/sh
# The AMD side of the tool: `create --amd-dir` (raw layout, refusals) and
# `get B amd ...` (VCEK by chip id and TCB or from a report, every output
# format, chains, CRLs, the trustee export), real data at a pinned time.
. "$(dirname "$0")/lib.sh"

unset COLBUNDLE_TRUST COLBUNDLE_CONF COLBUNDLE_PASSWORD_FILE
exit_is() {
	_name=$1; _want=$2; shift 2
	"$@" >"$T/.out" 2>&1; _got=$?
	if [ "$_got" = "$_want" ]; then ok "$_name"; else not_ok "$_name" "expected exit $_want, got $_got: $(tail -2 "$T/.out" | tr '\n' ' ')"; fi
}

cd "$T" || exit 1
"$COLB" keygen --out k --no-password >/dev/null 2>&1 || { not_ok "keygen"; done_testing; exit 1; }

# ---- real Milan data, checked on 2025-06-01 -------------------------------
RAT=2025-06-01T12:00:00Z
HW=3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d
mkdir -p real/Milan/vcek/$HW
cp "$REAL/amd/milan/cert_chain.pem" real/Milan/
openssl crl -in "$REAL/amd/milan/crl.pem" -outform der -out real/Milan/crl.der
cp "$REAL/amd/vcek/milan-b0-vcek.der" real/Milan/vcek/$HW/4405000000000002.der
exit_is "create --amd-dir accepts the real Milan layout" 0 \
	"$COLB" create --out real.colb --key k.key --amd-dir real --created 2025-06-01T00:00:00Z --version 1 --valid-for 400
R="--trust k.pub --at $RAT"
exit_is "get amd vcek --report finds and checks the real Milan VCEK" 0 \
	"$COLB" get real.colb amd vcek --report "$REAL/amd/vcek/milan-b0-report.bin" --product Milan --out v.der $R
cmp -s v.der "$REAL/amd/vcek/milan-b0-vcek.der" && ok "the VCEK served is the real one, byte for byte" ||
	not_ok "the VCEK served is the real one, byte for byte"
exit_is "get amd vcek by chip id and TCB" 0 \
	"$COLB" get real.colb amd vcek --product Milan --chip-id $HW --tcb 4405000000000002 --format pem --out v.pem $R
openssl x509 -in v.pem -noout 2>/dev/null && ok "--format pem is a PEM certificate" || not_ok "--format pem is a PEM certificate"
exit_is "a TCB the bundle lacks is not found (exit 3)" 3 \
	"$COLB" get real.colb amd vcek --product Milan --chip-id $HW --tcb 4405000000000003 $R
"$COLB" get real.colb amd vcek --product Milan --chip-id $HW --tcb 4405000000000002 --format thim $R >thim.json 2>/dev/null
python3 -c 'import json,sys; d=json.load(open("thim.json")); assert list(d)==["vcekCert","tcbm","certificateChain","cacheControl"]; assert d["tcbm"]=="4405000000000002"' 2>/dev/null &&
	ok "--format thim: THIM's keys in order, tcbm = REPORTED_TCB" || not_ok "--format thim" "$(head -c 200 thim.json)"
exit_is "get amd vcek --format certtable" 0 \
	"$COLB" get real.colb amd vcek --product Milan --chip-id $HW --tcb 4405000000000002 --format certtable --out t.bin $R
[ "$(od -An -tx1 -N4 t.bin | tr -d ' ')" = 63da758d ] && ok "the certificate table starts with the VCEK GUID" ||
	not_ok "the certificate table starts with the VCEK GUID"
"$COLB" get real.colb amd chain --product Milan $R >chain.pem 2>/dev/null
cmp -s chain.pem "$REAL/amd/milan/cert_chain.pem" && ok "get amd chain serves the KDS cert_chain bytes" ||
	not_ok "get amd chain serves the KDS cert_chain bytes"
"$COLB" get real.colb amd crl --product Milan $R >crl.der 2>/dev/null
cmp -s crl.der real/Milan/crl.der && ok "get amd crl serves the DER CRL" || not_ok "get amd crl serves the DER CRL"
"$COLB" get real.colb amd tcbs --product Milan --chip-id $HW $R >tcbs.txt 2>/dev/null
grep -q '^4405000000000002 ' tcbs.txt && ok "get amd tcbs lists the chip's TCB" || not_ok "get amd tcbs lists the chip's TCB"
exit_is "get amd trustee writes the offline store" 0 "$COLB" get real.colb amd trustee --out-dir store $R
[ -f store/vcek/$HW/bl02_tee00_snp05_ucode68_vcek.der ] && ok "trustee names: decimal SPLs, two digits" ||
	not_ok "trustee names: decimal SPLs, two digits" "$(find store -type f)"
exit_is "the trustee store is itself an --amd-dir input" 0 \
	"$COLB" create --out store.colb --key k.key --amd-dir store --created 2025-06-01T00:00:00Z --version 1
cp "$REAL/amd/vcek/milan-b0-report.bin" bad.bin
printf '\001' | dd of=bad.bin bs=1 seek=100 conv=notrunc 2>/dev/null
exit_is "a report whose signature fails is refused (exit 1)" 1 \
	"$COLB" get real.colb amd vcek --report bad.bin --product Milan $R
# past the real Milan CRL's nextUpdate (2026-05-12), the bundle itself still valid
printf 'trust = k.pub\nfreshness = warn\n' >warn.conf
printf 'trust = k.pub\nfreshness = enforce\n' >enforce.conf
COLBUNDLE_CONF=warn.conf "$COLB" get real.colb amd chain --product Milan --at 2026-06-01T00:00:00Z >/dev/null 2>warn.err &&
	grep -q stale warn.err && ok "WARN freshness serves a stale product and says so" ||
	not_ok "WARN freshness serves a stale product and says so" "$(cat warn.err)"
exit_is "ENFORCE freshness refuses once the CRL is stale" 1 \
	env COLBUNDLE_CONF=enforce.conf "$COLB" get real.colb amd chain --product Milan --at 2026-06-01T00:00:00Z
grep -q nextUpdate "$T/.out" && ok "the refusal names the stale CRL" || not_ok "the refusal names the stale CRL" "$(cat "$T/.out")"

# ---- refusals at create ----------------------------------------------------
mkdir -p wrong/Milan && cp -r real/Milan/vcek wrong/Milan/ && cp "$REAL/amd/genoa/cert_chain.pem" wrong/Milan/
exit_is "create refuses a Genoa chain filed as Milan's" 1 \
	"$COLB" create --out w.colb --key k.key --amd-dir wrong --created 2025-06-01T00:00:00Z
grep -q "ARK-Milan" "$T/.out" && ok "the refusal names the item and the reason" || not_ok "the refusal names the item" "$(cat "$T/.out")"
mkdir -p mis/Milan/vcek/$HW && cp real/Milan/cert_chain.pem mis/Milan/ &&
	cp "$REAL/amd/vcek/milan-b0-vcek.der" mis/Milan/vcek/$HW/4405000000000003.der
exit_is "create refuses a VCEK filed under another TCB" 1 \
	"$COLB" create --out w.colb --key k.key --amd-dir mis --created 2025-06-01T00:00:00Z

# ---- synthetic fleet: test ARKs, the revoked ASK ---------------------------
"$PKIGEN" --out gen --seed amd-cli --intel 0 --amd 3 >/dev/null 2>&1 || not_ok "colb-pkigen"
ARKS="--amd-ark gen/roots/amd-Milan-ark.der --amd-ark gen/roots/amd-Genoa-ark.der --amd-ark gen/roots/amd-Turin-ark.der"
exit_is "create refuses the test PKI without its ARKs" 1 \
	"$COLB" create --out g.colb --key k.key --amd-dir gen/amd --created 2025-12-01T12:00:00Z
exit_is "create accepts the test PKI with --amd-ark" 0 \
	"$COLB" create --out g.colb --key k.key --amd-dir gen/amd --created 2025-12-01T12:00:00Z $ARKS
exit_is "create refuses a chain through the revoked Genoa ASK" 1 \
	"$COLB" create --out rv.colb --key k.key --amd-dir gen/amd-revoked --created 2025-12-01T12:00:00Z $ARKS
grep -q "revoked" "$T/.out" && ok "the refusal says revoked" || not_ok "the refusal says revoked" "$(cat "$T/.out")"
G="--trust k.pub --at 2025-12-02T00:00:00Z $ARKS"
exit_is "get amd vcek --report on a Turin v3 report (product from CPUID)" 0 \
	"$COLB" get g.colb amd vcek --report gen/reports/turin-2.bin --out tv.der $G
exit_is "get amd vcek --report on a VLEK-signed report returns the VLEK" 0 \
	"$COLB" get g.colb amd vcek --report gen/reports/genoa-vlek.bin --out vl.der $G
cmp -s vl.der gen/amd/Genoa/vlek/TestCSP/*.der && ok "the VLEK served is the one filed" || not_ok "the VLEK served is the one filed"
exit_is "get amd chain --vlek" 0 "$COLB" get g.colb amd chain --product Turin --vlek $G
exit_is "get amd vcek without --tcb or --report is a usage error" 2 \
	"$COLB" get g.colb amd vcek --product Milan --chip-id $HW $G
done_testing
