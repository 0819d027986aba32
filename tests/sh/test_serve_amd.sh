#!/bin/sh
# colbundle serve: the AMD KDS paths and Azure THIM's AMD answer through a
# real HTTP client, bodies compared byte for byte with the bundle.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

NOW=2025-12-02T00:00:00Z
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

"$PKIGEN" --out "$T/pki" --intel 1 --amd 1 >/dev/null 2>&1 || { not_ok "colb-pkigen"; done_testing; exit 1; }
P="$T/pki"
"$COLB" keygen --no-password --out "$T/k" >/dev/null 2>&1
ARKS="--amd-ark $P/roots/amd-Milan-ark.der --amd-ark $P/roots/amd-Genoa-ark.der --amd-ark $P/roots/amd-Turin-ark.der"
TRUST="--trust $T/k.pub --at $NOW $ARKS"
# The KDS answers, filed in the bundle's naming (amd/<product>/...).
mkdir -p "$T/in" && cp -r "$P/amd" "$T/in/amd"
"$COLB" create --out "$T/b.colb" --key "$T/k.key" --dir "$T/in" --created 2025-12-01T00:00:00Z --version 1 \
	>/dev/null 2>"$T/create.err" || { not_ok "create the AMD bundle" "$(cat "$T/create.err")"; done_testing; exit 1; }

HWID=$(ls "$P/amd/Milan/vcek" | head -1)
TCBS=$(ls "$P/amd/Milan/vcek/$HWID" | sed 's/\.der$//' | sort)
TCB1=$(echo "$TCBS" | head -1)
TCBHI=$(echo "$TCBS" | tail -1)
# Milan/Genoa tcbm: byte 0 BL, 1 TEE, 6 SNP, 7 UCODE (hex digits, most significant byte first)
spl() { echo $((16#$(echo "$1" | cut -c"$2"))); }
BL=$(spl "$TCB1" 15-16) TEE=$(spl "$TCB1" 13-14) SNP=$(spl "$TCB1" 3-4) UC=$(spl "$TCB1" 1-2)
printf '127.0.0.1 Milan %s %s\n' "$HWID" "$TCB1" >"$T/thim.map"

"$COLB" serve "$T/b.colb" $TRUST --listen 127.0.0.1:0 --port-file "$T/port" --thim-map "$T/thim.map" \
	>"$T/out" 2>"$T/err" &
PIDS="$PIDS $!"
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$T/port" 2>/dev/null)"
[ -s "$T/port" ] && ok "serve starts with an AMD bundle" || { not_ok "serve starts" "$(cat "$T/err")"; done_testing; exit 1; }

get() { p=$1; shift; curl -s -g -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$URL$p"; }
hdr() { grep -i "^$1:" "$T/h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
bundle_file() { "$COLB" cat "$T/b.colb" "$1" $TRUST; }
expect_item() { # NAME PATH BUNDLE_PATH
	got=$(get "$2")
	if [ "$got" != 200 ]; then not_ok "$1" "expected 200, got $got ($(hdr Error-Message))"
	elif ! bundle_file "$3" | cmp -s - "$T/b"; then not_ok "$1" "body differs from $3"
	else ok "$1"; fi
}
expect_error() { # NAME STATUS PATH
	got=$(get "$3")
	if [ "$got" = "$2" ] && [ -n "$(hdr Error-Message)" ]; then ok "$1"; else not_ok "$1" "expected $2, got $got"; fi
}

V=/vcek/v1/Milan
VCEK1=amd/Milan/vcek/$HWID/$TCB1.der
expect_item "vcek by hwid and SPLs" "$V/$HWID?blSPL=$BL&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC" "$VCEK1"
expect_item "vcek: SPLs in another order, zero-padded" \
	"$V/$HWID?ucodeSPL=$(printf %02d "$UC")&snpSPL=$(printf %02d "$SNP")&teeSPL=$(printf %02d "$TEE")&blSPL=$(printf %02d "$BL")" "$VCEK1"
expect_item "vcek: upper-case hwid" "$V/$(echo "$HWID" | tr a-f A-F)?blSPL=$BL&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC" "$VCEK1"
hdr Content-Type | grep -q pkix-cert && ok "vcek is DER (application/pkix-cert)" || not_ok "vcek content type" "$(hdr Content-Type)"
expect_error "vcek at a TCB the bundle lacks is 404" 404 "$V/$HWID?blSPL=99&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC"
expect_error "vcek of an unknown chip is 404" 404 "$V/$(printf '%0128d' 7)?blSPL=$BL&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC"
expect_error "vcek without ucodeSPL is 400" 400 "$V/$HWID?blSPL=$BL&teeSPL=$TEE&snpSPL=$SNP"
expect_error "vcek with SPL 256 is 400" 400 "$V/$HWID?blSPL=256&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC"
expect_error "vcek with a signed SPL is 400" 400 "$V/$HWID?blSPL=%2B3&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC"
expect_error "vcek with fmcSPL on Milan is 400" 400 "$V/$HWID?fmcSPL=1&blSPL=$BL&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC"
expect_error "vcek with a 16-digit hwid on Milan is 400" 400 "$V/0011223344556677?blSPL=$BL&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC"
expect_error "vcek with a non-hex hwid is 400" 400 "$V/$(printf '%0127dg' 0)?blSPL=$BL&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC"
expect_error "Turin without fmcSPL is 400" 400 "/vcek/v1/Turin/0011223344556677?blSPL=1&teeSPL=0&snpSPL=1&ucodeSPL=1"
expect_error "an unknown product is 404" 404 "/vcek/v1/Naples/cert_chain"
for prod in Milan Genoa Turin; do
	expect_item "$prod cert_chain" "/vcek/v1/$prod/cert_chain" amd/$prod/cert_chain.pem
	expect_item "$prod crl" "/vcek/v1/$prod/crl" amd/$prod/crl.der
	expect_item "$prod vlek cert_chain" "/vlek/v1/$prod/cert_chain" amd/$prod/vlek_cert_chain.pem
done
VL=$(ls "$P/amd/Genoa/vlek/TestCSP" | sed 's/\.der$//' | head -1)
expect_item "vlek by provider and SPLs" \
	"/vlek/v1/Genoa/TestCSP?blSPL=$(spl "$VL" 15-16)&teeSPL=$(spl "$VL" 13-14)&snpSPL=$(spl "$VL" 3-4)&ucodeSPL=$(spl "$VL" 1-2)" \
	amd/Genoa/vlek/TestCSP/$VL.der
TV=$(ls "$P/amd/Turin/vlek/TestCSP" | sed 's/\.der$//' | head -1)
# Turin tcbm: byte 0 FMC, 1 BL, 2 TEE, 3 SNP, 7 UCODE
expect_item "Turin vlek with fmcSPL" \
	"/vlek/v1/Turin/TestCSP?fmcSPL=$(spl "$TV" 15-16)&blSPL=$(spl "$TV" 13-14)&teeSPL=$(spl "$TV" 11-12)&snpSPL=$(spl "$TV" 9-10)&ucodeSPL=$(spl "$TV" 1-2)" \
	amd/Turin/vlek/TestCSP/$TV.der

# THIM: {"vcekCert":PEM,"tcbm":HEX,"certificateChain":PEM,"cacheControl":"86400"}
json_pem() { awk '{printf "%s\\n", $0}'; }
thim_want() { # TCBM
	printf '{"vcekCert":"%s","tcbm":"%s","certificateChain":"%s","cacheControl":"86400"}' \
		"$(bundle_file "amd/Milan/vcek/$HWID/$1.der" | openssl x509 -inform DER | json_pem)" \
		"$(echo "$1" | tr a-f A-F)" "$(bundle_file amd/Milan/cert_chain.pem | json_pem)"
}
TH=/metadata/THIM/amd/certification
got=$(get "$TH?product=Milan&hwid=$HWID&tcbm=$TCB1")
[ "$got" = 200 ] && [ "$(cat "$T/b")" = "$(thim_want "$TCB1")" ] && ok "THIM answer for a chip and tcbm named in the query" ||
	not_ok "THIM by query" "HTTP $got: $(head -c 120 "$T/b")"
got=$(get "$TH?product=Milan&hwid=$HWID")
[ "$got" = 200 ] && [ "$(cat "$T/b")" = "$(thim_want "$TCBHI")" ] && ok "THIM without a TCB answers the chip's highest" ||
	not_ok "THIM highest TCB" "HTTP $got"
got=$(get "$TH?product=Milan&hwid=$HWID&blSPL=$BL&teeSPL=$TEE&snpSPL=$SNP&ucodeSPL=$UC")
[ "$got" = 200 ] && [ "$(cat "$T/b")" = "$(thim_want "$TCB1")" ] && ok "THIM with KDS SPL parameters" || not_ok "THIM SPLs" "HTTP $got"
got=$(get "$TH" -H "Metadata: true")
[ "$got" = 200 ] && [ "$(cat "$T/b")" = "$(thim_want "$TCB1")" ] && ok "THIM maps the client's address from --thim-map" ||
	not_ok "THIM by address" "HTTP $got $(hdr Error-Message)"
expect_error "THIM with product but no hwid is 400" 400 "$TH?product=Milan"
expect_error "THIM of an unknown chip is 404" 404 "$TH?product=Milan&hwid=$(printf '%0128d' 5)"

# A client the map does not name.
kill $PIDS 2>/dev/null
"$COLB" serve "$T/b.colb" $TRUST --listen 127.0.0.1:0 --port-file "$T/port2" >"$T/out2" 2>"$T/err2" &
PIDS="$PIDS $!"
for _ in $(seq 200); do [ -s "$T/port2" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$T/port2")"
expect_error "THIM without a chip for an unmapped client is 404" 404 "$TH"
printf 'not-an-address Milan %s\n' "$HWID" >"$T/bad.map"
"$COLB" serve "$T/b.colb" $TRUST --listen 127.0.0.1:0 --thim-map "$T/bad.map" >/dev/null 2>"$T/err3"
[ $? != 0 ] && grep -q "bad.map:1" "$T/err3" && ok "a bad --thim-map line is refused with file:line" ||
	not_ok "bad thim map" "$(cat "$T/err3")"

done_testing
