#!/bin/sh
# serve-wrk.sh — `colbundle serve` under load: requests per second and p99
# latency for `tcb` and `pckcert` at 64 concurrent connections (wrk), beside
# this machine's baseline: the same server library answering a static file
# of the same size (`bench_serve --static`). Loopback only; bounded in time.
# Run by $B/bench/bench_serve (make bench), or directly:
#
#   B=build sh tests/bench/serve-wrk.sh      (BENCH_SECONDS, default 10)
set -u
B=${B:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
COLB="$TOP/$B/colbundle"
PKIGEN="$TOP/$B/colb-pkigen"
STATIC=${BENCH_SERVE_STATIC:-$TOP/$B/bench/bench_serve}
SECS=${BENCH_SECONDS:-10}
CONNS=64
THREADS=${BENCH_THREADS:-2}
T=$(mktemp -d /tmp/colbbench.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

command -v wrk >/dev/null 2>&1 || { echo "bench_serve: wrk is not installed (make deps)"; exit 1; }
for f in "$COLB" "$PKIGEN" "$STATIC"; do
	[ -x "$f" ] || { echo "bench_serve: $f is missing (make bench builds it)"; exit 1; }
done

"$PKIGEN" --out "$T/pki" --intel 4 --amd 0 >/dev/null 2>&1 || { echo "bench_serve: colb-pkigen failed"; exit 1; }
"$COLB" keygen --no-password --out "$T/k" >/dev/null 2>&1
"$COLB" create --out "$T/b.colb" --key "$T/k.key" --intel-dir "$T/pki/intel" --pckid-csv "$T/pki/intel-pckid.csv" \
	--intel-root "$T/pki/roots/intel-root.der" --created 2025-12-01T00:00:00Z --version 1 >/dev/null 2>&1 ||
	{ echo "bench_serve: create failed"; exit 1; }
TRUST="--trust $T/k.pub --at 2025-12-02T00:00:00Z --intel-root $T/pki/roots/intel-root.der"

wait_port() {
	for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}
"$COLB" serve "$T/b.colb" $TRUST --listen 127.0.0.1:0 --port-file "$T/port" --threads "$THREADS" \
	--max-per-client 256 >"$T/serve.out" 2>"$T/serve.err" &
PIDS="$PIDS $!"
wait_port "$T/port" || { echo "bench_serve: serve did not start: $(cat "$T/serve.err")"; exit 1; }
URL="http://127.0.0.1:$(cat "$T/port")"

FM=00906ED50000
TCB="$URL/sgx/certification/v4/tcb?fmspc=$FM"
IFS=, read -r EPPID PCEID CPUSVN PCESVN QEID <"$T/pki/intel-pckid.csv"
PCK="$URL/sgx/certification/v4/pckcert?encrypted_ppid=$EPPID&cpusvn=$CPUSVN&pcesvn=$PCESVN&pceid=$PCEID"
for u in "$TCB" "$PCK"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$u")
	[ "$code" = 200 ] || { echo "bench_serve: $u answered $code"; exit 1; }
done
curl -s -o "$T/tcb.json" "$TCB"

"$STATIC" --static "$T/tcb.json" "$T/sport" "$THREADS" 2>"$T/static.err" &
PIDS="$PIDS $!"
wait_port "$T/sport" || { echo "bench_serve: the static baseline did not start: $(cat "$T/static.err")"; exit 1; }
SURL="http://127.0.0.1:$(cat "$T/sport")/tcb.json"

# run NAME URL: prints "NAME RPS P99_MS" from wrk's --latency report
run() {
	wrk -t2 -c$CONNS -d"${SECS}s" --latency "$2" >"$T/$1.wrk" 2>&1
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$T/$1.wrk")
	p99=$(awk '$1 == "99%" {print $2}' "$T/$1.wrk")
	errs=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$T/$1.wrk")
	# wrk prints latency as 1.23ms / 456.00us / 1.02s
	p99ms=$(echo "$p99" | awk '/us$/ {sub("us","");print $1/1000; next} /ms$/ {sub("ms","");print $1; next} /s$/ {sub("s","");print $1*1000}')
	echo "$1 ${rps:-0} ${p99ms:-0} ${errs:-0}"
}
run static "$SURL" >"$T/r.static"
run tcb "$TCB" >"$T/r.tcb"
run pckcert "$PCK" >"$T/r.pck"

read -r _ srps sp99 _ <"$T/r.static"
echo "bench_serve: $CONNS connections, ${SECS}s each, server threads $THREADS, $(nproc) cores (wrk shares them)"
printf '  %-34s %10s %9s %9s %s\n' "" "req/s" "p99 ms" "vs static" "non-2xx"
for f in static tcb pck; do
	read -r name rps p99 errs <"$T/r.$f"
	ratio=$(awk -v a="$rps" -v b="$srps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	case $name in
	static) label="baseline: static file, same library" ;;
	tcb) label="tcb?fmspc=" ;;
	pckcert) label="pckcert?encrypted_ppid=..." ;;
	esac
	printf '  %-34s %10.0f %9s %9s %s\n' "$label" "$rps" "$p99" "$ratio" "$errs"
done
read -r _ trps _ terrs <"$T/r.tcb"
awk -v r="$trps" 'BEGIN { exit !(r >= 20000) }' && echo "  tcb target >= 20000 req/s: met" ||
	echo "  tcb target >= 20000 req/s: NOT met on this machine"
[ "${terrs:-0}" = 0 ] || { echo "bench_serve: tcb had non-2xx answers"; exit 1; }
