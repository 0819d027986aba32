#!/bin/sh
# The Intel half of colb-pkigen, checked with the openssl CLI the way a
# verifier would: chains to the test root, signatures over the exact JSON
# bytes, SGX extensions, CRLs, the revoked PCK, and determinism.
. "$(dirname "$0")/lib.sh"

AT=1764633600 # 2025-12-02, one day after the generator's fixed issue time
OUT="$T/pki"
N=14

# ---- helpers --------------------------------------------------------------
pdecode() { # percent-decoding, stdin to stdout
	awk 'BEGIN { h = "0123456789ABCDEF" }
	{ s = $0; o = ""
	  while ((i = index(s, "%")) > 0) {
		o = o substr(s, 1, i - 1)
		c = (index(h, toupper(substr(s, i + 1, 1))) - 1) * 16 + index(h, toupper(substr(s, i + 2, 1))) - 1
		o = o sprintf("%c", c); s = substr(s, i + 3)
	  }
	  printf "%s", o s }'
}
hdr() { # FILE NAME -> decoded value
	sed -n "s/^$2: //p" "$1" | tr -d '\r' | pdecode
}
first_cert() { sed -n '1,/-----END CERTIFICATE-----/p'; }
last_cert() { awk '/-----BEGIN CERTIFICATE-----/ { b = "" } { b = b $0 "\n" } END { printf "%s", b }'; }
pck_cert() { # pckcerts.json TCBM -> PEM of that cert
	awk -v T="$2" 'BEGIN { RS = "\"tcbm\":\"" } NR > 1 {
		split($0, a, "\""); if (a[1] == T) { c = $0; sub(/^[^"]*","cert":"/, "", c); sub(/".*/, "", c); print c } }' "$1" |
		pdecode
}
# verify_signed BODY WRAPPER: ECDSA over the exact inner-object bytes, with
# the TCB Signing cert of the body's .hdr chain.
verify_signed() {
	body=$1
	wrapper=$2
	size=$(wc -c <"$body")
	pre=$((${#wrapper} + 4)) # {"wrapper":
	head -c $((size - 144)) "$body" | tail -c +$((pre + 1)) >"$T/inner"
	tail -c 144 "$body" | grep -q '^,"signature":"[0-9a-f]\{128\}"}$' || return 1
	head -c "$pre" "$body" | grep -q "^{\"$wrapper\":\$" || return 1
	sig=$(tail -c 130 "$body" | head -c 128)
	r=$(echo "$sig" | cut -c1-64)
	s=$(echo "$sig" | cut -c65-128)
	printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" >"$T/sig.cnf"
	openssl asn1parse -genconf "$T/sig.cnf" -out "$T/sig.der" -noout >/dev/null || return 1
	chain_name=$3
	hdr "$body.hdr" "$chain_name" | first_cert >"$T/signer.pem"
	hdr "$body.hdr" "$chain_name" | last_cert >"$T/chainroot.pem"
	cmp -s "$T/chainroot.pem" "$T/root.pem" || return 1
	openssl verify -attime $AT -CAfile "$T/root.pem" "$T/signer.pem" >/dev/null || return 1
	openssl x509 -in "$T/signer.pem" -noout -subject | grep -q 'CN = Intel SGX TCB Signing' || return 1
	openssl x509 -in "$T/signer.pem" -pubkey -noout >"$T/signer.pub"
	openssl dgst -sha256 -verify "$T/signer.pub" -signature "$T/sig.der" "$T/inner" >/dev/null
}

# ---- generation -----------------------------------------------------------
check "colb-pkigen writes $N Intel platforms" "$PKIGEN" --out "$OUT" --seed intel-test --intel $N --amd 0
I="$OUT/intel"
openssl x509 -inform der -in "$OUT/roots/intel-root.der" -out "$T/root.pem"

missing=""
for f in sgx/pckcrl/processor.der sgx/pckcrl/processor.der.hdr sgx/pckcrl/platform.der \
	sgx/pckcrl/platform.der.hdr rootcacrl.der tcb-sets.json sgx/fmspcs.json \
	sgx/tcbevaluationdatanumbers.json tdx/tcbevaluationdatanumbers.json; do
	[ -s "$I/$f" ] || missing="$missing $f"
done
for e in 16 17 18; do
	for k in sgx/identity/qe sgx/identity/qve sgx/identity/qae tdx/identity/td_qe; do
		[ -s "$I/$k/$e.json" ] && [ -s "$I/$k/$e.json.hdr" ] || missing="$missing $k/$e.json"
	done
done
[ -z "$missing" ] && ok "every Intel layout file is there" || not_ok "every Intel layout file is there" "missing:$missing"
np=$(ls "$I"/sgx/pckcerts/*-0000.json | wc -l)
[ "$np" = $N ] && ok "one pckcerts answer per platform" || not_ok "one pckcerts answer per platform" "expected $N, got $np"
nf=$(ls "$I/sgx/tcb" | wc -l)
[ "$nf" -ge 4 ] && ok "platforms spread over several FMSPCs" || not_ok "platforms spread over several FMSPCs" "got $nf"
grep -q '"standard":17,"early":18' "$I/tcb-sets.json" && ok "tcb-sets names standard 17 and early 18" ||
	not_ok "tcb-sets names standard 17 and early 18" "$(cat "$I/tcb-sets.json")"
lines=$(wc -l <"$OUT/intel-pckid.csv")
bad=$(grep -cv '^[0-9a-f]\{768\},0000,[0-9a-f]\{32\},[0-9a-f]\{4\},[0-9a-f]\{32\}$' "$OUT/intel-pckid.csv")
[ "$lines" = $N ] && [ "$bad" = 0 ] && ok "PCK Cert ID CSV has one well-formed row per platform" ||
	not_ok "PCK Cert ID CSV has one well-formed row per platform" "$lines rows, $bad malformed"
grep -q '"intel": {"pckid_csv":\["intel-pckid.csv"\]' "$OUT/fleet.json" && [ ! -e "$OUT/fleet-intel.json" ] &&
	ok "fleet.json carries the intel fragment" || not_ok "fleet.json carries the intel fragment" "$(head -c 300 "$OUT/fleet.json")"

# ---- the root and the CAs ----------------------------------------------------
openssl x509 -in "$T/root.pem" -noout -subject | grep -q 'CN = Intel SGX Root CA, O = colbundle TEST PKI' &&
	ok "root DN is Intel's, marked TEST" || not_ok "root DN is Intel's, marked TEST" "$(openssl x509 -in "$T/root.pem" -noout -subject)"
check "root is self-signed and valid" openssl verify -attime $AT -CAfile "$T/root.pem" "$T/root.pem"
openssl x509 -in "$T/root.pem" -noout -text >"$T/root.txt"
grep -q 'CA:TRUE, pathlen:1' "$T/root.txt" && grep -q 'Certificate Sign, CRL Sign' "$T/root.txt" &&
	grep -q 'URI:https://certificates.trustedservices.intel.com/IntelSGXRootCA.der' "$T/root.txt" &&
	ok "root extensions as Intel's" || not_ok "root extensions as Intel's" "see root.txt"

# ---- pckcerts: chain, extensions, headers -------------------------------------
pck_ok=0
pck_bad=""
for j in "$I"/sgx/pckcerts/*-0000.json; do
	qe=$(basename "$j" -0000.json)
	hdr "$j.hdr" SGX-PCK-Certificate-Issuer-Chain | first_cert >"$T/ca.pem"
	type=$(sed -n 's/^SGX-PCK-Certificate-CA-Type: //p' "$j.hdr" | tr -d '\r')
	fmspc=$(sed -n 's/^SGX-FMSPC: //p' "$j.hdr" | tr -d '\r')
	tcbms=$(grep -o '"tcbm":"[0-9A-F]\{36\}"' "$j" | cut -d'"' -f4)
	[ "$(echo "$tcbms" | wc -l)" -ge 5 ] || pck_bad="$pck_bad $qe:levels"
	for m in $tcbms; do
		pck_cert "$j" "$m" >"$T/leaf.pem"
		openssl verify -attime $AT -CAfile "$T/root.pem" -untrusted "$T/ca.pem" "$T/leaf.pem" >/dev/null 2>&1 ||
			{ pck_bad="$pck_bad $qe/$m:chain"; continue; }
		case $type in
		processor) cn='Intel SGX PCK Processor CA' ;;
		platform) cn='Intel SGX PCK Platform CA' ;;
		*) cn='?' ;;
		esac
		openssl x509 -in "$T/leaf.pem" -noout -issuer | grep -q "CN = $cn" || pck_bad="$pck_bad $qe/$m:issuer"
		# The SGX extension decodes: FMSPC, PCE ID, CPUSVN and PCESVN match the answer.
		off=$(openssl asn1parse -in "$T/leaf.pem" | awk '/:1.2.840.113741.1.13.1$/ { getline; sub(/:.*/, ""); print $1 }')
		openssl asn1parse -in "$T/leaf.pem" -strparse "$off" >"$T/ext.txt" 2>/dev/null || { pck_bad="$pck_bad $qe/$m:der"; continue; }
		got_fmspc=$(awk '/:1.2.840.113741.1.13.1.4$/ { getline; sub(/.*:/, ""); print }' "$T/ext.txt")
		got_cpusvn=$(awk '/:1.2.840.113741.1.13.1.2.18$/ { getline; sub(/.*:/, ""); print }' "$T/ext.txt")
		got_pceid=$(awk '/:1.2.840.113741.1.13.1.3$/ { getline; sub(/.*:/, ""); print }' "$T/ext.txt")
		[ "$got_fmspc" = "$fmspc" ] && [ "$got_cpusvn" = "$(echo "$m" | cut -c1-32)" ] && [ "$got_pceid" = 0000 ] ||
			pck_bad="$pck_bad $qe/$m:ext($got_fmspc,$got_cpusvn,$got_pceid)"
		if [ "$type" = platform ]; then
			grep -q ':1.2.840.113741.1.13.1.6$' "$T/ext.txt" || pck_bad="$pck_bad $qe/$m:no-instance-id"
		fi
		openssl x509 -in "$T/leaf.pem" -noout -text | grep -q "pckcrl?ca=$type&encoding=der" ||
			pck_bad="$pck_bad $qe/$m:cdp"
		pck_ok=$((pck_ok + 1))
	done
done
[ -z "$pck_bad" ] && ok "all $pck_ok PCK certs chain to the test root with decodable SGX extensions" ||
	not_ok "all PCK certs chain to the test root with decodable SGX extensions" "$pck_bad"
grep -l 'SGX-PCK-Certificate-CA-Type: platform' "$I"/sgx/pckcerts/*.hdr >/dev/null &&
	grep -l 'SGX-PCK-Certificate-CA-Type: processor' "$I"/sgx/pckcerts/*.hdr >/dev/null &&
	ok "both PCK CAs issue platforms" || not_ok "both PCK CAs issue platforms"

# ---- signed JSON ------------------------------------------------------------------
sig_bad=""
nsig=0
for f in "$I"/sgx/tcb/*/*.json "$I"/tdx/tcb/*/*.json; do
	verify_signed "$f" tcbInfo TCB-Info-Issuer-Chain || sig_bad="$sig_bad ${f#$I/}"
	nsig=$((nsig + 1))
done
for f in "$I"/sgx/identity/*/*.json "$I"/tdx/identity/*/*.json; do
	verify_signed "$f" enclaveIdentity SGX-Enclave-Identity-Issuer-Chain || sig_bad="$sig_bad ${f#$I/}"
	nsig=$((nsig + 1))
done
for f in "$I"/sgx/tcbevaluationdatanumbers.json "$I"/tdx/tcbevaluationdatanumbers.json; do
	verify_signed "$f" tcbEvaluationDataNumbers TCB-Evaluation-Data-Numbers-Issuer-Chain || sig_bad="$sig_bad ${f#$I/}"
	nsig=$((nsig + 1))
done
[ -z "$sig_bad" ] && ok "all $nsig TCB info, identity and eval-number signatures verify over the exact bytes" ||
	not_ok "all TCB info, identity and eval-number signatures verify" "$sig_bad"

# A flipped byte inside a signed object must break its signature.
f=$(ls "$I"/sgx/tcb/*/17.json | head -1)
cp "$f" "$T/flip.json" && cp "$f.hdr" "$T/flip.json.hdr"
sed -i 's/"pcesvn":13/"pcesvn":14/' "$T/flip.json"
if verify_signed "$T/flip.json" tcbInfo TCB-Info-Issuer-Chain; then not_ok "a changed TCB info fails the check"; else ok "a changed TCB info fails the check"; fi

e17=$(ls "$I"/sgx/tcb/*/17.json | head -1)
grep -q '"tcbEvaluationDataNumber":17,' "$e17" && grep -q '^{"tcbInfo":{"id":"SGX","version":3,"issueDate":"' "$e17" &&
	ok "TCB info is filed under its evaluation number, in Intel's key order" || not_ok "TCB info filing and key order" "$(head -c 200 "$e17")"
grep -q '"tdxModule":{"mrsigner":' "$(ls "$I"/tdx/tcb/*/18.json | head -1)" && ok "TDX TCB info carries tdxModule" ||
	not_ok "TDX TCB info carries tdxModule"

# ---- CRLs ---------------------------------------------------------------------------
for ca in processor platform; do
	hdr "$I/sgx/pckcrl/$ca.der.hdr" SGX-PCK-CRL-Issuer-Chain | first_cert >"$T/$ca-ca.pem"
	check "$ca CRL is signed by the PCK $ca CA" openssl crl -inform der -in "$I/sgx/pckcrl/$ca.der" -CAfile "$T/$ca-ca.pem" -noout
done
check "root CA CRL is signed by the root" openssl crl -inform der -in "$I/rootcacrl.der" -CAfile "$T/root.pem" -noout

nrev=$(grep -vc '^#' "$OUT/intel-revoked.txt")
[ "$nrev" = 2 ] && ok "intel-revoked.txt names one revoked PCK per CA" || not_ok "intel-revoked.txt names one revoked PCK per CA" "got $nrev"
grep -v '^#' "$OUT/intel-revoked.txt" >"$T/revoked"
while read -r ca qe pceid tcbm serial; do
	pck_cert "$I/sgx/pckcerts/$qe-$pceid.json" "$tcbm" >"$T/rev.pem"
	got=$(openssl x509 -in "$T/rev.pem" -noout -serial | cut -d= -f2)
	openssl crl -inform der -in "$I/sgx/pckcrl/$ca.der" -out "$T/$ca.crl.pem"
	hdr "$I/sgx/pckcrl/$ca.der.hdr" SGX-PCK-CRL-Issuer-Chain >"$T/$ca-chain.pem"
	if [ "$got" = "$serial" ] && openssl crl -in "$T/$ca.crl.pem" -noout -text | grep -q "Serial Number: $serial" &&
		openssl verify -attime $AT -crl_check -CRLfile "$T/$ca.crl.pem" -CAfile "$T/root.pem" \
			-untrusted "$T/$ca-chain.pem" "$T/rev.pem" 2>&1 | grep -q 'certificate revoked'; then
		ok "the $ca CRL revokes PCK $serial of $qe"
	else
		not_ok "the $ca CRL revokes PCK $serial of $qe" "cert serial $got"
	fi
done <"$T/revoked"

# ---- determinism ----------------------------------------------------------------------
check "same seed, one thread" "$PKIGEN" --out "$T/a" --seed intel-det --intel 9 --amd 0 --threads 1
check "same seed, two threads" "$PKIGEN" --out "$T/b" --seed intel-det --intel 9 --amd 0 --threads 2
check "same seed gives the same bytes whatever the thread count" diff -r "$T/a" "$T/b"
check "another seed" "$PKIGEN" --out "$T/c" --seed intel-other --intel 9 --amd 0 --threads 2
refuse "another seed gives other keys" cmp -s "$T/a/roots/intel-root.der" "$T/c/roots/intel-root.der"

done_testing
