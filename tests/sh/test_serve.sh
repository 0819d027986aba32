#!/bin/sh
# colbundle serve: every Intel path, parameter and error case through a real
# HTTP client (curl), bodies compared byte for byte with the bundle and
# issuer-chain headers with the ones the PCS sent (the raw layout's .hdr
# files); malformed and hostile requests; limits; reload.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

NOW=2025-12-02T00:00:00Z
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

"$PKIGEN" --out "$T/pki" --intel 2 --amd 1 >/dev/null 2>&1 || { not_ok "colb-pkigen"; # The sample systemd unit only uses options serve has.
unit="$TOP/samples/colbundle-serve.service"
opts=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | grep -o -- '--[a-z-]*' | sort -u)
missing=""
for o in $opts; do "$COLB" serve --help | grep -q -- "$o" || missing="$missing $o"; done
[ -n "$opts" ] && [ -z "$missing" ] && ok "the sample systemd unit's options are serve's" ||
	not_ok "systemd unit options" "unknown:$missing"

done_testing; exit 1; }
"$COLB" keygen --no-password --out "$T/k" >/dev/null 2>&1
P="$T/pki"
TRUST="--trust $T/k.pub --at $NOW --intel-root $P/roots/intel-root.der"
mk_bundle() { # OUT VERSION [create options...]
	out=$1 ver=$2
	shift 2
	"$COLB" create --out "$out" --key "$T/k.key" --intel-dir "$P/intel" --pckid-csv "$P/intel-pckid.csv" \
		--intel-root "$P/roots/intel-root.der" --created 2025-12-01T00:00:00Z --version "$ver" "$@" >/dev/null 2>&1
}
mk_bundle "$T/b1.colb" 1 || { not_ok "create the test bundle"; # The sample systemd unit only uses options serve has.
unit="$TOP/samples/colbundle-serve.service"
opts=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | grep -o -- '--[a-z-]*' | sort -u)
missing=""
for o in $opts; do "$COLB" serve --help | grep -q -- "$o" || missing="$missing $o"; done
[ -n "$opts" ] && [ -z "$missing" ] && ok "the sample systemd unit's options are serve's" ||
	not_ok "systemd unit options" "unknown:$missing"

done_testing; exit 1; }
cp "$T/b1.colb" "$T/live.colb"

# start NAME ARGS...: runs `colbundle serve ARGS` on a free port; sets PORT, URL.
start() {
	name=$1
	shift
	rm -f "$T/$name.port"
	"$COLB" serve "$@" --port-file "$T/$name.port" >"$T/$name.out" 2>"$T/$name.err" &
	pid=$!
	PIDS="$PIDS $pid"
	eval "${name}_pid=$pid"
	for _ in $(seq 200); do
		[ -s "$T/$name.port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	PORT=$(cat "$T/$name.port" 2>/dev/null)
	URL="http://127.0.0.1:$PORT"
}

# get PATH [curl options]: the status code on stdout; headers in $T/h, body in $T/b.
get() {
	p=$1
	shift
	curl -s -g -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$URL$p"
}
hdr() { grep -i "^$1:" "$T/h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
pct_decode() { local s=${1//+/ }; printf '%b' "${s//%/\\x}"; }
bundle_file() { "$COLB" cat "$T/b1.colb" "$1" $TRUST; }
# The issuer chain the PCS sent for a raw item (its .hdr), decoded.
pcs_chain() { pct_decode "$(grep -i "^$2:" "$1.hdr" | head -1 | cut -d' ' -f2- | tr -d '\r')"; }

# expect NAME STATUS PATH: the status alone.
expect() {
	got=$(get "$3")
	if [ "$got" = "$2" ]; then ok "$1"; else not_ok "$1" "expected HTTP $2, got $got ($(hdr Error-Message))"; fi
}
# expect_item NAME PATH BUNDLE_PATH [CHAIN_HEADER RAW_FILE]: 200, body byte for
# byte the bundle's file, and the issuer chain header the PCS sent.
expect_item() {
	got=$(get "$2")
	if [ "$got" != 200 ]; then
		not_ok "$1" "expected HTTP 200, got $got ($(hdr Error-Message))"
		return
	fi
	if ! bundle_file "$3" | cmp -s - "$T/b"; then
		not_ok "$1" "body differs from $3 in the bundle"
		return
	fi
	if [ $# -ge 5 ]; then
		want=$(pcs_chain "$5" "$4")
		have=$(pct_decode "$(hdr "$4")")
		if [ -z "$have" ] || [ "$want" != "$have" ]; then
			not_ok "$1" "$4 differs from the PCS's (${#have} vs ${#want} bytes)"
			return
		fi
	fi
	ok "$1"
}
# expect_error NAME STATUS PATH: the status with Error-Code and Error-Message.
expect_error() {
	got=$(get "$3")
	if [ "$got" != "$2" ]; then
		not_ok "$1" "expected HTTP $2, got $got"
	elif [ -z "$(hdr Error-Code)" ] || [ -z "$(hdr Error-Message)" ]; then
		not_ok "$1" "HTTP $2 without Error-Code/Error-Message"
	else
		ok "$1"
	fi
}

start s1 "$T/live.colb" $TRUST --listen 127.0.0.1:0 --poll 1 --timeout 2 --max-headers 40
if [ -z "$PORT" ]; then
	not_ok "serve starts on a free port" "$(cat "$T/s1.err")"
	# The sample systemd unit only uses options serve has.
unit="$TOP/samples/colbundle-serve.service"
opts=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | grep -o -- '--[a-z-]*' | sort -u)
missing=""
for o in $opts; do "$COLB" serve --help | grep -q -- "$o" || missing="$missing $o"; done
[ -n "$opts" ] && [ -z "$missing" ] && ok "the sample systemd unit's options are serve's" ||
	not_ok "systemd unit options" "unknown:$missing"

done_testing
	exit 1
fi
ok "serve starts on port 0 and writes the port it bound ($PORT)"
grep -q "listening on 127.0.0.1:0 (port $PORT)" "$T/s1.out" && ok "serve prints the port" ||
	not_ok "serve prints the port" "$(cat "$T/s1.out")"

V4=/sgx/certification/v4
TDX=/tdx/certification/v4
FM=00906ED50000
R="$P/intel"

# ---- TCB info ----
expect_item "tcb without update serves the baseline (17)" "$V4/tcb?fmspc=$FM" intel/tcbinfo/sgx/$FM/17.json \
	TCB-Info-Issuer-Chain "$R/sgx/tcb/$FM/17.json"
expect_item "tcb update=standard serves 17" "$V4/tcb?fmspc=$FM&update=standard" intel/tcbinfo/sgx/$FM/17.json
expect_item "tcb update=early serves 18" "$V4/tcb?fmspc=$FM&update=early" intel/tcbinfo/sgx/$FM/18.json \
	TCB-Info-Issuer-Chain "$R/sgx/tcb/$FM/18.json"
expect_item "tcb tcbEvaluationDataNumber=16" "$V4/tcb?tcbEvaluationDataNumber=16&fmspc=$FM" \
	intel/tcbinfo/sgx/$FM/16.json
expect_item "tcb takes lower-case fmspc" "$V4/tcb?fmspc=00906ed50000" intel/tcbinfo/sgx/$FM/17.json
expect_item "tdx tcb" "$TDX/tcb?fmspc=$FM" intel/tcbinfo/tdx/$FM/17.json TCB-Info-Issuer-Chain "$R/tdx/tcb/$FM/17.json"
expect_item "tdx tcb early" "$TDX/tcb?fmspc=$FM&update=early" intel/tcbinfo/tdx/$FM/18.json
expect_item "tcb under THIM's prefix" "/metadata/THIM$V4/tcb?fmspc=$FM" intel/tcbinfo/sgx/$FM/17.json
[ "$(pct_decode "$(hdr SGX-TCB-Info-Issuer-Chain)")" = "$(pcs_chain "$R/sgx/tcb/$FM/17.json" TCB-Info-Issuer-Chain)" ] &&
	ok "THIM's prefix also sends SGX-TCB-Info-Issuer-Chain" || not_ok "SGX-TCB-Info-Issuer-Chain under THIM's prefix"
expect_error "tcb with both update and tcbEvaluationDataNumber is 400" 400 \
	"$V4/tcb?fmspc=$FM&update=early&tcbEvaluationDataNumber=17"
expect_error "tcb update=late is 400" 400 "$V4/tcb?fmspc=$FM&update=late"
expect_error "tcb tcbEvaluationDataNumber=abc is 400" 400 "$V4/tcb?fmspc=$FM&tcbEvaluationDataNumber=abc"
expect_error "tcb tcbEvaluationDataNumber=0 is 400" 400 "$V4/tcb?fmspc=$FM&tcbEvaluationDataNumber=0"
expect_error "tcb tcbEvaluationDataNumber past 2^32 is 400" 400 "$V4/tcb?fmspc=$FM&tcbEvaluationDataNumber=4294967296"
expect_error "tcb tcbEvaluationDataNumber=-1 is 400" 400 "$V4/tcb?fmspc=$FM&tcbEvaluationDataNumber=-1"
expect_error "tcb without fmspc is 400" 400 "$V4/tcb"
expect_error "tcb with a short fmspc is 400" 400 "$V4/tcb?fmspc=00906ED500"
expect_error "tcb with non-hex fmspc is 400" 400 "$V4/tcb?fmspc=00906ED5000G"
expect_error "tcb with fmspc twice is 400" 400 "$V4/tcb?fmspc=$FM&fmspc=$FM"
expect_error "tcb of an unknown FMSPC is 404" 404 "$V4/tcb?fmspc=00906ED50001"
expect_error "tcb of an unknown evaluation number is 404" 404 "$V4/tcb?fmspc=$FM&tcbEvaluationDataNumber=99"

# ---- identities and evaluation numbers ----
for id in qe qve qae; do
	expect_item "$id identity" "$V4/$id/identity" intel/identity/$id/17.json \
		SGX-Enclave-Identity-Issuer-Chain "$R/sgx/identity/$id/17.json"
	expect_item "$id identity update=early" "$V4/$id/identity?update=early" intel/identity/$id/18.json
	expect_item "$id identity tcbEvaluationDataNumber=16" "$V4/$id/identity?tcbEvaluationDataNumber=16" \
		intel/identity/$id/16.json
done
expect_item "tdx qe identity (TD_QE)" "$TDX/qe/identity" intel/identity/td_qe/17.json \
	SGX-Enclave-Identity-Issuer-Chain "$R/tdx/identity/td_qe/17.json"
expect_error "identity with both parameters is 400" 400 "$V4/qe/identity?update=early&tcbEvaluationDataNumber=16"
expect_error "identity of an unknown number is 404" 404 "$V4/qe/identity?tcbEvaluationDataNumber=5"
expect_error "tdx has no qve identity (404)" 404 "$TDX/qve/identity"
expect_item "sgx tcbevaluationdatanumbers" "$V4/tcbevaluationdatanumbers" intel/tcbevalnums/sgx.json \
	TCB-Evaluation-Data-Numbers-Issuer-Chain "$R/sgx/tcbevaluationdatanumbers.json"
expect_item "tdx tcbevaluationdatanumbers" "$TDX/tcbevaluationdatanumbers" intel/tcbevalnums/tdx.json \
	TCB-Evaluation-Data-Numbers-Issuer-Chain "$R/tdx/tcbevaluationdatanumbers.json"

# ---- CRLs ----
for ca in processor platform; do
	expect_item "pckcrl ca=$ca encoding=der" "$V4/pckcrl?ca=$ca&encoding=der" intel/crl/$ca.der \
		SGX-PCK-CRL-Issuer-Chain "$R/sgx/pckcrl/$ca.der"
	got=$(get "$V4/pckcrl?ca=$ca")
	bundle_file intel/crl/$ca.der | openssl crl -inform DER -outform PEM >"$T/want.pem" 2>/dev/null
	if [ "$got" = 200 ] && cmp -s "$T/want.pem" "$T/b" && [ -n "$(hdr SGX-PCK-CRL-Issuer-Chain)" ]; then
		ok "pckcrl ca=$ca answers PEM by default, the same CRL"
	else
		not_ok "pckcrl ca=$ca answers PEM by default" "HTTP $got; body $(head -c 40 "$T/b")"
	fi
done
expect_error "pckcrl without ca is 400" 400 "$V4/pckcrl"
expect_error "pckcrl ca=root is 400" 400 "$V4/pckcrl?ca=root"
expect_error "pckcrl encoding=xml is 400" 400 "$V4/pckcrl?ca=processor&encoding=xml"
got=$(get "$V4/rootcacrl")
want=$(bundle_file intel/crl/root.der | od -An -v -tx1 | tr -d ' \n')
if [ "$got" = 200 ] && [ "$(cat "$T/b")" = "$want" ]; then ok "rootcacrl answers the root CA CRL as hex (PCCS)"; else
	not_ok "rootcacrl answers hex" "HTTP $got"; fi
expect_item "crl?uri= the root CA's distribution point" \
	"$V4/crl?uri=https%3A%2F%2Fcertificates.trustedservices.intel.com%2FIntelSGXRootCA.der" intel/crl/root.der
expect_item "crl?uri= the platform CA's pckcrl URL" \
	"$V4/crl?uri=https%3A%2F%2Fapi.trustedservices.intel.com%2Fsgx%2Fcertification%2Fv4%2Fpckcrl%3Fca%3Dplatform%26encoding%3Dder" \
	intel/crl/platform.der
expect_error "crl?uri= of an unknown CRL is 404" 404 "$V4/crl?uri=https%3A%2F%2Fexample.org%2Fx.crl"
expect_error "crl without uri is 400" 400 "$V4/crl"

# ---- PCK certificates ----
IFS=, read -r EPPID PCEID CPUSVN PCESVN QEID <"$P/intel-pckid.csv"
QEU=$(echo "$QEID" | tr a-f A-F)
PCKC="$R/sgx/pckcerts/$QEU-$(echo "$PCEID" | tr a-f A-F).json"
check_pck() { # NAME PATH
	got=$(get "$2")
	tcbm=$(hdr SGX-TCBm)
	line=$(sed -n 2p "$T/b")
	if [ "$got" != 200 ]; then
		not_ok "$1" "expected 200, got $got ($(hdr Error-Message))"
	elif ! head -1 "$T/b" | grep -q "BEGIN CERTIFICATE"; then
		not_ok "$1" "not a PEM certificate"
	elif ! pct_decode "$(cat "$PCKC")" | grep -qF "$line"; then
		not_ok "$1" "the certificate is not one of the platform's pckcerts"
	elif ! pct_decode "$(cat "$PCKC")" | grep -q "\"tcbm\":\"$tcbm\""; then
		not_ok "$1" "SGX-TCBm $tcbm is not one of the platform's TCBs"
	elif [ "$(hdr SGX-FMSPC)" != "$(grep -i '^SGX-FMSPC:' "$PCKC.hdr" | cut -d' ' -f2 | tr -d '\r')" ] ||
		[ "$(hdr SGX-PCK-Certificate-CA-Type)" != "$(grep -i '^SGX-PCK-Certificate-CA-Type:' "$PCKC.hdr" | cut -d' ' -f2 | tr -d '\r')" ]; then
		not_ok "$1" "SGX-FMSPC/SGX-PCK-Certificate-CA-Type differ from the PCS's"
	elif [ "$(pct_decode "$(hdr SGX-PCK-Certificate-Issuer-Chain)")" != "$(pcs_chain "$PCKC" SGX-PCK-Certificate-Issuer-Chain)" ]; then
		not_ok "$1" "SGX-PCK-Certificate-Issuer-Chain differs from the PCS's"
	else
		ok "$1"
	fi
}
check_pck "pckcert by encrypted_ppid" "$V4/pckcert?encrypted_ppid=$EPPID&cpusvn=$CPUSVN&pcesvn=$PCESVN&pceid=$PCEID"
check_pck "pckcert by qeid (PCCS)" "$V4/pckcert?qeid=$QEID&cpusvn=$CPUSVN&pcesvn=$PCESVN&pceid=$PCEID&encrypted_ppid=00"
get "$V4/pckcert?qeid=$QEID&cpusvn=$CPUSVN&pcesvn=$PCESVN&pceid=$PCEID" >/dev/null
cp "$T/b" "$T/pck1"
get "$V4/pckcert?qeid=$QEID&cpusvn=$(echo "$CPUSVN" | tr a-f A-F)&pcesvn=$PCESVN&pceid=$PCEID" >/dev/null
cmp -s "$T/b" "$T/pck1" && ok "pckcert hex is case-insensitive" || not_ok "pckcert hex is case-insensitive"
got=$(get "$V4/pckcert?qeid=$QEID&cpusvn=ffffffffffffffffffffffffffffffff&pcesvn=ffff&pceid=$PCEID")
[ "$got" = 200 ] && [ "$(hdr SGX-TCBm)" != "" ] && ok "pckcert for a TCB above every cert picks the highest" ||
	not_ok "pckcert above every cert" "HTTP $got"
expect_error "pckcert below every cert is 404" 404 "$V4/pckcert?qeid=$QEID&cpusvn=00000000000000000000000000000000&pcesvn=0000&pceid=$PCEID"
UNKNOWN_PPID=$(head -c 768 /dev/zero | tr '\0' 7)
expect_error "pckcert of an unknown platform is 404" 404 "$V4/pckcert?encrypted_ppid=$UNKNOWN_PPID&cpusvn=$CPUSVN&pcesvn=$PCESVN&pceid=$PCEID"
expect_error "pckcert with bad cpusvn hex is 400" 400 "$V4/pckcert?encrypted_ppid=$EPPID&cpusvn=zz0c020201800e000000000000000000&pcesvn=$PCESVN&pceid=$PCEID"
expect_error "pckcert with a short cpusvn is 400" 400 "$V4/pckcert?encrypted_ppid=$EPPID&cpusvn=0c0c&pcesvn=$PCESVN&pceid=$PCEID"
expect_error "pckcert without pceid is 400" 400 "$V4/pckcert?encrypted_ppid=$EPPID&cpusvn=$CPUSVN&pcesvn=$PCESVN"
expect_error "pckcert without a platform is 400" 400 "$V4/pckcert?cpusvn=$CPUSVN&pcesvn=$PCESVN&pceid=$PCEID"
expect_error "pckcert with an odd-length encrypted_ppid is 400" 400 "$V4/pckcert?encrypted_ppid=abc&cpusvn=$CPUSVN&pcesvn=$PCESVN&pceid=$PCEID"
expect_item "pckcerts by qeid" "$V4/pckcerts?qeid=$QEID&pceid=$PCEID" "intel/pckcerts/$QEU-$(echo "$PCEID" | tr a-f A-F).json" \
	SGX-PCK-Certificate-Issuer-Chain "$PCKC"
expect_item "pckcerts by encrypted_ppid (PCS)" "$V4/pckcerts?encrypted_ppid=$EPPID&pceid=$PCEID" \
	"intel/pckcerts/$QEU-$(echo "$PCEID" | tr a-f A-F).json" SGX-PCK-Certificate-Issuer-Chain "$PCKC"
expect_error "pckcerts of an unknown encrypted_ppid is 404" 404 "$V4/pckcerts?encrypted_ppid=$UNKNOWN_PPID&pceid=$PCEID"
expect_error "pckcerts of an unknown platform is 404" 404 "$V4/pckcerts?qeid=00000000000000000000000000000000&pceid=$PCEID"
expect_error "pckcerts without pceid is 400" 400 "$V4/pckcerts?qeid=$QEID"
expect_error "tdx has no pckcert (404)" 404 "$TDX/pckcert?encrypted_ppid=$EPPID&cpusvn=$CPUSVN&pcesvn=$PCESVN&pceid=$PCEID"

# ---- fmspcs ----
expect_item "fmspcs" "$V4/fmspcs" intel/fmspcs.json
got=$(get "$V4/fmspcs?platform=E5")
if [ "$got" = 200 ] && grep -q '"E5"' "$T/b" && ! grep -q '"E3"' "$T/b"; then ok "fmspcs?platform=E5 lists E5 only"; else
	not_ok "fmspcs?platform=E5" "HTTP $got: $(head -c 100 "$T/b")"; fi
expect_error "fmspcs?platform=E9 is 400" 400 "$V4/fmspcs?platform=E9"

# ---- the PCS's headers on every answer ----
get "$V4/tcb?fmspc=$FM" >/dev/null
rid1=$(hdr Request-ID)
get "$V4/tcb?fmspc=$FM" >/dev/null
rid2=$(hdr Request-ID)
if echo "$rid1" | grep -qE '^[0-9a-f]{32}$' && [ "$rid1" != "$rid2" ]; then ok "every answer has its own Request-ID"; else
	not_ok "Request-ID" "'$rid1' '$rid2'"; fi
hdr Cache-Control | grep -q "max-age=" && ok "answers carry Cache-Control" || not_ok "Cache-Control" "$(hdr Cache-Control)"
hdr Content-Type | grep -q "application/json" && ok "tcb is application/json" || not_ok "tcb content type"
got=$(curl -s -I -o "$T/head" -w '%{http_code}' "$URL$V4/tcb?fmspc=$FM")
[ "$got" = 200 ] && grep -qi '^Content-Length: [1-9]' "$T/head" && ! grep -q tcbInfo "$T/head" &&
	ok "HEAD answers headers only" || not_ok "HEAD" "HTTP $got"

# ---- malformed and hostile requests ----
expect_error "unknown path is 404" 404 "/sgx/certification/v4/nothing"
expect_error "unknown top-level path is 404" 404 "/index.html"
expect_error "v3 path is 404" 404 "/sgx/certification/v3/tcb?fmspc=$FM"
expect_error "a percent-encoded path is 404" 404 "/sgx/certification/v4/%74cb?fmspc=$FM"
expect_error "a malformed percent escape is 400" 400 "$V4/tcb?fmspc=$FM&x=%zz"
expect_error "an encoded NUL is 400" 400 "$V4/tcb?fmspc=$FM%00"
expect_error "an encoded CR LF does not reach a header (400)" 400 "$V4/tcb?fmspc=%0d%0aX-Evil:%201"
grep -qi "^X-Evil" "$T/h" && not_ok "no header injection" || ok "no header injection"
long=$(head -c 5000 /dev/zero | tr '\0' a)
expect "a 5000-byte query string is 414" 414 "$V4/tcb?fmspc=$FM&pad=$long"
huge=$(head -c 40000 /dev/zero | tr '\0' a)
got=$(get "$V4/tcb?fmspc=$FM&pad=$huge")
case $got in 4??) ok "a 40 KB request target is refused with $got" ;; *) not_ok "40 KB target" "HTTP $got" ;; esac
many=$(seq 40 | sed 's/.*/x&=1/' | tr '\n' '&')
expect_error "more than 32 query parameters is 400" 400 "$V4/tcb?${many}fmspc=$FM"
hdrs=""
for i in $(seq 50); do hdrs="$hdrs -H X-H$i:v"; done
# shellcheck disable=SC2086
got=$(get "$V4/tcb?fmspc=$FM" $hdrs)
[ "$got" = 431 ] && ok "more header fields than --max-headers is 431" || not_ok "431 for too many headers" "HTTP $got"
got=$(get "$V4/tcb?fmspc=$FM" -X POST -d x)
[ "$got" = 405 ] && [ "$(hdr Allow)" = "GET, HEAD" ] && ok "POST is 405 with Allow" || not_ok "POST is 405" "HTTP $got"
got=$(get "$V4/tcb?fmspc=$FM" -X DELETE)
[ "$got" = 405 ] && ok "DELETE is 405" || not_ok "DELETE is 405" "HTTP $got"
# A raw garbage request line, and a partial one that never completes.
raw() { # raw request bytes -> the status line of the answer ("" when closed unanswered)
	exec 6<>"/dev/tcp/127.0.0.1/$PORT"
	printf "$1" >&6
	timeout 5 head -1 <&6 | tr -d '\r'
	exec 6<&-
}
resp=$(raw 'GET /healthz\r\n\r\n')
case $resp in "HTTP/1.1 400"*) ok "a request line without a version is 400" ;; *) not_ok "no version" "'$resp'" ;; esac
resp=$(raw 'GET /healthz HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n')
case $resp in "HTTP/1.1 400"*) ok "a malformed header line is 400" ;; *) not_ok "bad header line" "'$resp'" ;; esac
resp=$(raw 'GARBAGE\r\n\r\n')
case $resp in "" | "HTTP/1.1 4"*) ok "a garbage request line is refused ('$resp')" ;; *) not_ok "garbage line" "'$resp'" ;; esac
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /sgx/certification/v4/tcb?fmspc=%s HTTP/1.1\r\nHost: x\r\nX-Slow: ' "$FM" >&7
exec 8<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHo' >&8
expect "the server answers while partial requests hang" 200 /healthz
start_t=$(date +%s)
if timeout 10 cat <&7 >/dev/null; then
	took=$(($(date +%s) - start_t))
	[ "$took" -le 6 ] && ok "a slowloris connection is closed after --timeout (${took}s)" ||
		not_ok "slowloris closed" "after ${took}s"
else
	not_ok "slowloris closed" "still open after 10 s"
fi
exec 7<&- 8<&-
expect "still serving after the malformed requests" 200 /healthz

# ---- metrics ----
get /metrics >/dev/null
if grep -q '^colbundle_serve_requests_total{route="tcb",status="200"} [1-9]' "$T/b" &&
	grep -q '^colbundle_serve_requests_total{route="tcb",status="400"} [1-9]' "$T/b" &&
	grep -q '^colbundle_bundle_version 1$' "$T/b" &&
	grep -q '^colbundle_bundle_expiry_timestamp_seconds [0-9]' "$T/b"; then
	ok "/metrics counts requests by route and status, and shows the bundle's version and expiry"
else
	not_ok "/metrics" "$(head -5 "$T/b")"
fi
get /healthz >/dev/null
grep -q "^ok version 1" "$T/b" && ok "/healthz names the version" || not_ok "/healthz" "$(cat "$T/b")"

# ---- reload ----
mk_bundle "$T/b2.colb" 2
mk_bundle "$T/b3.colb" 3
wait_version() { # N: waits up to 5 s for /healthz to name version N
	for _ in $(seq 50); do
		get /healthz >/dev/null
		grep -q "version $1\$" "$T/b" && return 0
		sleep 0.1
	done
	return 1
}
# load: 4 clients x 150 requests on kept-alive connections while bundles swap
urls=""
for _ in $(seq 150); do urls="$urls -o /dev/null $URL$V4/tcb?fmspc=$FM"; done
loaders=""
for c in 1 2 3 4; do
	# shellcheck disable=SC2086
	curl -s -w '%{http_code}\n' $urls >"$T/load.$c" &
	loaders="$loaders $!"
done
cp "$T/b2.colb" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.colb"
wait_version 2 && ok "a new bundle renamed into place is served within the poll interval" ||
	not_ok "reload on file change" "$(tail -2 "$T/s1.err")"
head -c 3000 "$T/b3.colb" >"$T/live.tmp" && mv "$T/live.tmp" "$T/live.colb"
sleep 1.5
get /healthz >/dev/null
if grep -q "version 2$" "$T/b" && grep -q "REFUSED" "$T/s1.err"; then
	ok "a truncated new bundle is refused, logged, and the old one keeps serving"
else
	not_ok "bad bundle refused" "$(cat "$T/b"); $(tail -2 "$T/s1.err")"
fi
cp "$T/b3.colb" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.colb"
kill -HUP "$s1_pid"
wait_version 3 && ok "SIGHUP loads the new bundle" || not_ok "SIGHUP reload" "$(tail -2 "$T/s1.err")"
cp "$T/b2.colb" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.colb"
sleep 1.5
get /healthz >/dev/null
grep -q "version 3$" "$T/b" && grep -q "rollback" "$T/s1.err" &&
	ok "an older bundle renamed into place is refused as a rollback" ||
	not_ok "rollback refused" "$(cat "$T/b"); $(tail -1 "$T/s1.err")"
# shellcheck disable=SC2086
wait $loaders
bad=$(cat "$T"/load.* | grep -vc '^200$')
total=$(cat "$T"/load.* | wc -l)
[ "$total" = 600 ] && [ "$bad" = 0 ] && ok "reload under load loses no request (600 of 600 answered 200)" ||
	not_ok "reload under load" "$bad of $total not 200"
get /metrics >/dev/null
grep -q 'colbundle_serve_reloads_total{result="ok"} 2' "$T/b" && grep -q 'colbundle_serve_reloads_total{result="refused"} 2' "$T/b" &&
	ok "/metrics counts reloads and refusals" || not_ok "reload metrics" "$(grep reloads "$T/b")"
kill "$s1_pid"

# ---- the site store (colbundle install) ----
"$COLB" install "$T/b1.colb" --store "$T/store" $TRUST >/dev/null 2>"$T/install.err" ||
	not_ok "install into a store" "$(cat "$T/install.err")"
start s6 --store "$T/store" --at $NOW --intel-root "$P/roots/intel-root.der" --listen 127.0.0.1:0 --poll 1
expect_item "--store serves the store's current bundle, trusting the store's keyset" "$V4/tcb?fmspc=$FM" \
	intel/tcbinfo/sgx/$FM/17.json
"$COLB" install "$T/b2.colb" --store "$T/store" --at $NOW --intel-root "$P/roots/intel-root.der" >/dev/null 2>&1
wait_version 2 && ok "--store picks up a new install by its generation" || not_ok "--store reload" "$(tail -2 "$T/s6.err")"
kill "$s6_pid"
start s7 --store "$T/store" $TRUST --listen 127.0.0.1:0
expect "--store with trust options" 200 /healthz
kill "$s7_pid"
printf 'store = %s\nintel_root = %s\n' "$T/store" "$P/roots/intel-root.der" >"$T/serve.conf"
COLBUNDLE_CONF="$T/serve.conf" start s8 --at $NOW --listen 127.0.0.1:0
get /healthz >/dev/null
grep -q "version 2$" "$T/b" && ok "serve without a bundle serves the configuration file's store" ||
	not_ok "serve from the configuration file's store" "$(cat "$T/b") $(cat "$T/s8.err")"
kill "$s8_pid"

# ---- 410: a retired evaluation number ----
cp -r "$P/intel" "$T/intel17"
find "$T/intel17" -name '16.json*' -delete
"$COLB" create --out "$T/min.colb" --key "$T/k.key" --intel-dir "$T/intel17" --intel-root "$P/roots/intel-root.der" \
	--created 2025-12-01T00:00:00Z --version 1 --min-eval 17 >/dev/null 2>&1
start s2 "$T/min.colb" $TRUST --listen 127.0.0.1:0
expect_error "tcb below the bundle's minimum evaluation number is 410" 410 "$V4/tcb?fmspc=$FM&tcbEvaluationDataNumber=16"
expect_error "identity below the minimum is 410" 410 "$V4/qe/identity?tcbEvaluationDataNumber=16"
expect "the minimum itself is served" 200 "$V4/tcb?fmspc=$FM&tcbEvaluationDataNumber=17"
kill "$s2_pid"

# ---- per-client rate limit ----
start s3 "$T/b1.colb" $TRUST --listen 127.0.0.1:0 --rate 1 --burst 3
codes=""
ra=""
for _ in $(seq 12); do
	code=$(get /healthz)
	codes="$codes $code"
	[ "$code" = 429 ] && ra=$(hdr Retry-After)
done
n429=$(echo "$codes" | tr ' ' '\n' | grep -c 429)
if [ "$n429" -ge 5 ] && [ -n "$ra" ] && [ "$ra" -ge 1 ]; then ok "past --rate a client gets 429 with Retry-After ($n429 of 12)"; else
	not_ok "rate limit" "codes:$codes Retry-After '$ra'"; fi
sleep 1.5
expect "the client is served again after waiting" 200 /healthz
kill "$s3_pid"

# ---- per-client connection limit ----
start s9 "$T/b1.colb" $TRUST --listen 127.0.0.1:0 --max-per-client 2 --timeout 30
exec 3<>"/dev/tcp/127.0.0.1/$PORT" 4<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.3
got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/healthz")
[ "$got" = 000 ] && ok "a client past --max-per-client connections is turned away" ||
	not_ok "--max-per-client" "HTTP $got with two connections open"
exec 3<&- 4<&-
sleep 0.3
expect "the client is served once its connections close" 200 /healthz
kill "$s9_pid"

# ---- IPv6, TLS, refusals at start ----
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
	start s4 "$T/b1.colb" $TRUST --listen "[::1]:0"
	URL="http://[::1]:$PORT"
	expect "serves on IPv6 [::1]" 200 /healthz
	kill "$s4_pid"
	start s10 "$T/b1.colb" $TRUST --listen "[::]:0"
	URL="http://127.0.0.1:$PORT"
	expect "[::] takes IPv4 clients too" 200 /healthz
	URL="http://[::1]:$PORT"
	expect "[::] takes IPv6 clients" 200 /healthz
	kill "$s10_pid"
else
	ok "# SKIP no IPv6 loopback on this machine"
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" \
	-subj /CN=localhost -days 2 >/dev/null 2>&1
start s5 "$T/b1.colb" $TRUST --listen 127.0.0.1:0 --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
URL="https://127.0.0.1:$PORT"
got2=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/tls.crt" --resolve "localhost:$PORT:127.0.0.1" \
	"https://localhost:$PORT$V4/tcb?fmspc=$FM")
[ "$got2" = 200 ] && ok "serves HTTPS with --tls-cert/--tls-key" || not_ok "TLS" "HTTP $got2; $(cat "$T/s5.err")"
kill "$s5_pid"
"$COLB" keygen --no-password --out "$T/other" >/dev/null 2>&1
"$COLB" serve "$T/b1.colb" --trust "$T/other.pub" --at $NOW --intel-root "$P/roots/intel-root.der" \
	--listen 127.0.0.1:0 >/dev/null 2>"$T/refuse.err"
[ $? = 1 ] && ok "a bundle signed by an untrusted key is refused at start (exit 1)" || not_ok "untrusted bundle at start"
"$COLB" serve "$T/b1.colb" $TRUST --listen 127.0.0.1:99999 >/dev/null 2>"$T/listen.err"
rc=$?
[ $rc = 2 ] && grep -q "port 0 to 65535" "$T/listen.err" && ok "a bad --listen port is a usage error" ||
	not_ok "bad --listen" "exit $rc: $(cat "$T/listen.err")"

# The sample systemd unit only uses options serve has.
unit="$TOP/samples/colbundle-serve.service"
opts=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | grep -o -- '--[a-z-]*' | sort -u)
missing=""
for o in $opts; do "$COLB" serve --help | grep -q -- "$o" || missing="$missing $o"; done
[ -n "$opts" ] && [ -z "$missing" ] && ok "the sample systemd unit's options are serve's" ||
	not_ok "systemd unit options" "unknown:$missing"

done_testing
