#!/bin/sh
# Crash safety: `install` killed with SIGKILL after each of its steps
# (COLBUNDLE_TEST_CRASH_AT, format-spec/site-store.md section 6) leaves the
# store holding the old or the new bundle, whole, with a state that matches.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
AT=--at=2026-03-01T00:00:00Z
"$COLB" keygen --out k --no-password >/dev/null 2>&1
mk() {
	rm -rf "in$1" && mkdir -p "in$1/other" && echo "version $1" >"in$1/other/ver"
	"$COLB" create --out "b$1.colb" --key k.key --dir "in$1" --version "$1" \
		--created 2026-01-01T00:00:00Z --expires 2026-07-01T00:00:00Z >/dev/null
}
# whole_and_matching BUNDLE VERSION: the store's current generation is exactly BUNDLE
whole_and_matching() {
	cmp -s S/current.colb "$1" || { echo "current.colb is not $1"; return 1; }
	d=$(sha256sum S/current/bundle.colb | cut -c1-64)
	grep -q "\"version\":\"$2\",\"digest\":\"$d\"" S/state.json || { echo "state.json: $(cat S/state.json)"; return 1; }
	[ "$(cat S/current/files.bin)" = "version $2" ] || { echo "files.bin: $(cat S/current/files.bin)"; return 1; }
	"$COLB" verify S/current.colb --trust k.pub --state S/state.json $AT >/dev/null || return 1
	"$COLB" status --store S $AT >/dev/null || { echo "status exit $?"; return 1; }
}

mk 100
"$COLB" install b100.colb --store S --trust k.pub $AT >/dev/null || not_ok "the first install"
old=100
v=100
for step in locked verified bundle-written cache-written state-written generation-ready \
	previous-switched current-switched cleaned; do
	v=$((v + 10))
	mk $v
	COLBUNDLE_TEST_CRASH_AT=$step "$COLB" install b$v.colb --store S $AT >/dev/null 2>&1
	rc=$?
	[ $rc = 137 ] || not_ok "the install was killed after '$step'" "exit $rc"
	case $step in
	current-switched | cleaned) want=$v ;;
	*) want=$old ;;
	esac
	why=$(whole_and_matching b$want.colb $want) && ok "killed after '$step': the store holds version $want, whole, state matching" ||
		not_ok "killed after '$step': the store holds version $want, whole, state matching" "$why"
	# the next install completes and sweeps what the crash left
	"$COLB" install b$v.colb --store S $AT >/dev/null 2>"$T/err" || not_ok "install after the crash at '$step'" "$(cat "$T/err")"
	why=$(whole_and_matching b$v.colb $v) && [ "$(ls S/g | wc -l)" -le 2 ] && [ -z "$(ls S/tmp)" ] &&
		ok "after '$step', the next install completes and sweeps the leftovers" ||
		not_ok "after '$step', the next install completes and sweeps the leftovers" "$why; g: $(ls S/g) tmp: $(ls S/tmp)"
	old=$v
done
done_testing
