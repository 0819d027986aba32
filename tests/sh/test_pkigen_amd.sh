#!/bin/sh
# The AMD half of colb-pkigen, checked with the openssl CLI as a verifier
# would: chains, CRLs, the VCEK extensions and where each VCEK is filed, SNP
# report signatures, and determinism (same seed -> same bytes, whatever the
# thread count).
. "$(dirname "$0")/../sh/lib.sh"

# Everything is checked at a pinned time (a day after the generator's --now),
# never at the wall clock.
NOW=2025-12-01T00:00:00Z
AT=$(( $(date -u -d "$NOW" +%s) + 86400 ))
V="-attime $AT"
OUT=$T/a
"$PKIGEN" --out "$OUT" --seed amd-test --now "$NOW" --intel 0 --amd 9 --threads 2 >"$T/gen.log" 2>&1 ||
	{ not_ok "colb-pkigen runs" "$(cat "$T/gen.log")"; done_testing; exit 1; }
ok "colb-pkigen writes an AMD fleet"

# bytes of a file as lowercase hex: hexof FILE OFFSET COUNT
hexof() { od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
# reverses a hex string byte-wise (little-endian <-> big-endian)
revhex() { echo "$1" | sed 's/../& /g' | tr ' ' '\n' | grep . | tac | tr -d '\n'; }
first_pem() { awk '/BEGIN/{n++} n==1' "$1"; }
second_pem() { awk '/BEGIN/{n++} n==2' "$1"; }

for P in Milan Genoa Turin; do
	D=$OUT/amd/$P
	openssl x509 -inform der -in "$OUT/roots/amd-$P-ark.der" -out "$T/ark-$P.pem"
	first_pem "$D/cert_chain.pem" >"$T/ask-$P.pem"
	first_pem "$D/vlek_cert_chain.pem" >"$T/asvk-$P.pem"
	second_pem "$D/cert_chain.pem" >"$T/chain-ark-$P.pem"

	check "$P: cert_chain.pem ends with the ARK of roots/" cmp -s "$T/ark-$P.pem" "$T/chain-ark-$P.pem"
	check "$P: ARK is self-signed" openssl verify $V -CAfile "$T/ark-$P.pem" "$T/ark-$P.pem"
	check "$P: ARK subject names the product" sh -c \
		"openssl x509 -in '$T/ark-$P.pem' -noout -subject | grep -q 'CN *= *ARK-$P'"
	check "$P: ASK is signed by the ARK" openssl verify $V -CAfile "$T/ark-$P.pem" "$T/ask-$P.pem"
	check "$P: ASVK is signed by the ARK" openssl verify $V -CAfile "$T/ark-$P.pem" "$T/asvk-$P.pem"
	check "$P: ASK signature is RSASSA-PSS SHA-384 salt 48 with explicit trailerField" sh -c \
		"openssl x509 -in '$T/ask-$P.pem' -noout -text | grep -q 'Trailer Field: 0x01\$' &&
		 openssl x509 -in '$T/ask-$P.pem' -noout -text | grep -q 'Salt Length: 0x30'"
	check "$P: CRL verifies with the ARK" sh -c \
		"openssl crl -inform der -in '$D/crl.der' -CAfile '$T/ark-$P.pem' -noout 2>&1 | grep -q 'verify OK'"

	# every VCEK: signed by the ASK, serial 0, filed under its hwid and TCB
	nv=0 bad=""
	for v in "$D"/vcek/*/*.der; do
		nv=$((nv + 1))
		hwid=$(basename "$(dirname "$v")")
		tcbm=$(basename "$v" .der)
		openssl x509 -inform der -in "$v" -out "$T/v.pem"
		openssl verify $V -CAfile "$T/ark-$P.pem" -untrusted "$T/ask-$P.pem" "$T/v.pem" >/dev/null 2>&1 ||
			bad="$bad $v:chain"
		openssl x509 -in "$T/v.pem" -noout -serial | grep -qx 'serial=00' || bad="$bad $v:serial"
		openssl asn1parse -inform der -in "$v" >"$T/v.asn1"
		ext_hwid=$(grep -A1 ':1.3.6.1.4.1.3704.1.4$' "$T/v.asn1" | sed -n 's/.*\[HEX DUMP\]://p' | tr A-F a-f)
		[ "$ext_hwid" = "$hwid" ] || bad="$bad $v:hwid($ext_hwid)"
		spl() { grep -A1 ":1.3.6.1.4.1.3704.1.3.$1\$" "$T/v.asn1" | sed -n 's/.*\[HEX DUMP\]:0201//p; s/.*\[HEX DUMP\]:020200//p'; }
		b0=$(echo "$tcbm" | cut -c15-16) b1=$(echo "$tcbm" | cut -c13-14) b2=$(echo "$tcbm" | cut -c11-12)
		b3=$(echo "$tcbm" | cut -c9-10) b6=$(echo "$tcbm" | cut -c3-4) b7=$(echo "$tcbm" | cut -c1-2)
		if [ "$P" = Turin ]; then
			want="$b0 $b1 $b2 $b3 $b7" got="$(spl 9) $(spl 1) $(spl 2) $(spl 3) $(spl 8)"
			[ ${#hwid} = 16 ] || bad="$bad $v:hwid-length"
			grep -q ':1.3.6.1.4.1.3704.1.3.4$' "$T/v.asn1" && bad="$bad $v:spl4-on-turin"
			grep -A1 ':1.3.6.1.4.1.3704.1.1$' "$T/v.asn1" | grep -q 'DUMP\]:020101' || bad="$bad $v:structVersion"
		else
			want="$b0 $b1 $b6 $b7" got="$(spl 1) $(spl 2) $(spl 3) $(spl 8)"
			[ ${#hwid} = 128 ] || bad="$bad $v:hwid-length"
			grep -A1 ':1.3.6.1.4.1.3704.1.1$' "$T/v.asn1" | grep -q 'DUMP\]:020100' || bad="$bad $v:structVersion"
			grep -q 'cont \[ 3 \]' "$T/v.asn1" || bad="$bad $v:trailerField"
		fi
		[ "$(echo "$want" | tr A-F a-f)" = "$(echo "$got" | tr A-F a-f)" ] || bad="$bad $v:tcb(want $want got $got)"
	done
	if [ "$nv" -gt 0 ] && [ -z "$bad" ]; then ok "$P: $nv VCEKs chain to the ARK, serial 0, filed under their hwid and TCB"
	else not_ok "$P: VCEKs" "count $nv;$bad"; fi

	vl=$(ls "$D"/vlek/*/*.der 2>/dev/null | head -1)
	openssl x509 -inform der -in "$vl" -out "$T/vlek.pem" 2>/dev/null
	check "$P: the VLEK is signed by the ASVK" openssl verify $V -CAfile "$T/ark-$P.pem" -untrusted "$T/asvk-$P.pem" "$T/vlek.pem"
	check "$P: the VLEK carries csp_id and no hwid" sh -c \
		"openssl asn1parse -inform der -in '$vl' | grep -q ':1.3.6.1.4.1.3704.1.5\$' &&
		 ! openssl asn1parse -inform der -in '$vl' | grep -q ':1.3.6.1.4.1.3704.1.4\$'"
done

check "the Genoa CRL lists the revoked ASK (serial 020001)" sh -c \
	"openssl crl -inform der -in '$OUT/amd/Genoa/crl.der' -noout -text | grep -q 'Serial Number: 020001'"
first_pem "$OUT/amd-revoked/Genoa/cert_chain.pem" >"$T/rask.pem"
check "the revoked ASK is signed by the Genoa ARK and has serial 020001" sh -c \
	"openssl verify $V -CAfile '$T/ark-Genoa.pem' '$T/rask.pem' && openssl x509 -in '$T/rask.pem' -noout -serial | grep -qx serial=020001"
rv=$(ls "$OUT"/amd-revoked/Genoa/vcek/*/*.der | head -1)
openssl x509 -inform der -in "$rv" -out "$T/rv.pem"
openssl crl -inform der -in "$OUT/amd/Genoa/crl.der" -out "$T/crl-Genoa.pem"
check "a VCEK through the revoked ASK verifies without the CRL" \
	openssl verify $V -CAfile "$T/ark-Genoa.pem" -untrusted "$T/rask.pem" "$T/rv.pem"
cat "$T/ark-Genoa.pem" "$T/crl-Genoa.pem" >"$T/ca+crl.pem"
check "the ASK of that chain is refused with the CRL, as revoked" sh -c \
	"! openssl verify $V -crl_check -CAfile '$T/ca+crl.pem' '$T/rask.pem' >'$T/rv.out' 2>&1 &&
	 grep -q 'certificate revoked' '$T/rv.out'"
check "the current Genoa ASK passes the same CRL check" \
	openssl verify $V -crl_check -CAfile "$T/ca+crl.pem" "$T/ask-Genoa.pem"

# SNP reports: fields in place and the signature by the chip's VCEK
nr=0 bad=""
for r in "$OUT"/reports/milan-*.bin "$OUT"/reports/genoa-*.bin "$OUT"/reports/turin-*.bin; do
	case $r in *-vlek.bin) continue ;; esac
	nr=$((nr + 1))
	[ "$(wc -c <"$r")" = 1184 ] || bad="$bad $r:size"
	[ "$(hexof "$r" 0 4)" = 03000000 ] || bad="$bad $r:version"
	fam=$(hexof "$r" $((0x188)) 1)
	case $(basename "$r") in
	milan-*) P=Milan hl=64 ;; genoa-*) P=Genoa hl=64 ;; *) P=Turin hl=8 ;;
	esac
	case $P in Turin) [ "$fam" = 1a ] || bad="$bad $r:family" ;; *) [ "$fam" = 19 ] || bad="$bad $r:family" ;; esac
	hwid=$(hexof "$r" $((0x1a0)) $hl)
	tcbm=$(revhex "$(hexof "$r" $((0x180)) 8)")
	v=$OUT/amd/$P/vcek/$hwid/$tcbm.der
	if [ ! -f "$v" ]; then bad="$bad $r:no-vcek-for-$hwid/$tcbm"; continue; fi
	openssl x509 -inform der -in "$v" -pubkey -noout >"$T/vk.pem"
	head -c $((0x2a0)) "$r" >"$T/body.bin"
	printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
		"$(revhex "$(hexof "$r" $((0x2a0)) 72)")" "$(revhex "$(hexof "$r" $((0x2e8)) 72)")" >"$T/sig.cnf"
	openssl asn1parse -genconf "$T/sig.cnf" -out "$T/sig.der" >/dev/null
	openssl dgst -sha384 -verify "$T/vk.pem" -signature "$T/sig.der" "$T/body.bin" >/dev/null 2>&1 ||
		bad="$bad $r:signature"
	# a flipped byte in the signed part must break it
	printf '\001' | dd of="$T/body.bin" bs=1 seek=80 conv=notrunc 2>/dev/null
	openssl dgst -sha384 -verify "$T/vk.pem" -signature "$T/sig.der" "$T/body.bin" >/dev/null 2>&1 &&
		bad="$bad $r:tamper-accepted"
done
if [ "$nr" -ge 6 ] && [ -z "$bad" ]; then ok "$nr SNP reports are signed by the VCEK filed under their CHIP_ID and REPORTED_TCB"
else not_ok "SNP reports" "count $nr;$bad"; fi

# the fleet fragment, merged into fleet.json under "amd" (or not yet merged)
F=$OUT/fleet.json
[ -f "$OUT/fleet-amd.json" ] && F=$OUT/fleet-amd.json
check "the fleet file lists the AMD chips and reports" sh -c \
	"grep -q 'reports/milan-0.bin' '$F' && grep -q '\"product\": *\"Turin\"' '$F' &&
	 grep -q '\"chip_id\": *\"[0-9a-f]\{16\}\"' '$F' && grep -q '\"chip_id\": *\"[0-9a-f]\{128\}\"' '$F'"

"$PKIGEN" --out "$T/b" --seed amd-test --now "$NOW" --intel 0 --amd 9 --threads 1 >/dev/null 2>&1
check "same seed, other thread count: identical AMD tree" \
	diff -r "$OUT/amd" "$T/b/amd"
check "same seed: identical reports, roots and revoked-ASK layout" sh -c \
	"diff -r '$OUT/reports' '$T/b/reports' && diff -r '$OUT/roots' '$T/b/roots' && diff -r '$OUT/amd-revoked' '$T/b/amd-revoked'"
done_testing
