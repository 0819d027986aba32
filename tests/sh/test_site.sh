#!/bin/sh
# The site store: install, anti-rollback, expiry, locking, status.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

mk() { # mk VERSION [extra create args]: b<VERSION>.colb whose other/ver says VERSION
	_v=$1; shift
	rm -rf "in$_v" && mkdir -p "in$_v/other" && echo "version $_v" >"in$_v/other/ver"
	"$COLB" create --out "b$_v.colb" --key k.key --dir "in$_v" --version "$_v" \
		--created 2026-01-01T00:00:00Z --expires 2026-07-01T00:00:00Z "$@" >/dev/null
}
AT=--at=2026-03-01T00:00:00Z
"$COLB" keygen --out k --no-password >/dev/null 2>&1
"$COLB" keygen --out evil --no-password >/dev/null 2>&1
mk 10 && mk 20 && mk 30

check "first install needs keys and installs" "$COLB" install b10.colb --store S --trust k.pub $AT
refuse "a first install without keys is refused" "$COLB" install b10.colb --store S2 $AT
check "a later install trusts the keyset the store recorded" "$COLB" install b20.colb --store S $AT
[ "$(cat S/current/files.bin)" = "version 20" ] && ok "current holds the new bundle's files" ||
	not_ok "current holds the new bundle's files" "files.bin: $(cat S/current/files.bin)"
cmp -s S/current.colb b20.colb && ok "current.colb is the installed bundle, byte for byte" ||
	not_ok "current.colb is the installed bundle, byte for byte"
cmp -s S/previous/bundle.colb b10.colb && ok "the previous bundle is kept" ||
	not_ok "the previous bundle is kept"
[ "$(stat -c %a S/previous/bundle.colb)" = 444 ] &&
	ok "the previous bundle is read-only (0444)" || not_ok "the previous bundle is read-only (0444)" "$(stat -c %a S/previous/bundle.colb)"

before=$(readlink S/current)
"$COLB" install b10.colb --store S $AT >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "rollback" "$T/err" && ok "reinstalling the previous bundle is refused as rollback (exit 1)" ||
	not_ok "reinstalling the previous bundle is refused as rollback (exit 1)" "rc=$rc $(cat "$T/err")"
[ "$(readlink S/current)" = "$before" ] && ok "a refused install changes nothing" ||
	not_ok "a refused install changes nothing"

# the same version, other bytes
rm -rf in20b && mkdir -p in20b/other && echo "version 20 but other" >in20b/other/ver
"$COLB" create --out b20b.colb --key k.key --dir in20b --version 20 --created 2026-01-01T00:00:00Z \
	--expires 2026-07-01T00:00:00Z >/dev/null
"$COLB" install b20b.colb --store S $AT >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "different bundle" "$T/err" && ok "an equal version with different bytes is refused" ||
	not_ok "an equal version with different bytes is refused" "rc=$rc $(cat "$T/err")"
out=$("$COLB" install b20.colb --store S $AT 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "nothing changed" && ok "reinstalling the current bundle is a no-op" ||
	not_ok "reinstalling the current bundle is a no-op" "rc=$rc $out"

refuse "a bundle signed by an untrusted key is refused" sh -c \
	"mkdir -p inE/other && echo evil >inE/other/ver && '$COLB' create --out e.colb --key evil.key --dir inE --version 99 >/dev/null && '$COLB' install e.colb --store S $AT"
cp b30.colb t30.colb && printf 'X' | dd of=t30.colb bs=1 seek=$(($(stat -c %s t30.colb) - 20)) conv=notrunc 2>/dev/null
refuse "a tampered bundle is refused" "$COLB" install t30.colb --store S $AT
[ "$(readlink S/current)" = "$before" ] && ok "the store still holds the same generation" ||
	not_ok "the store still holds the same generation"

# expiry
"$COLB" install b30.colb --store S --at 2026-08-01T00:00:00Z >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "expired" "$T/err" && ok "an expired bundle is refused" ||
	not_ok "an expired bundle is refused" "rc=$rc $(cat "$T/err")"
"$COLB" install b30.colb --store S --at 2026-08-01T00:00:00Z --allow-expired >/dev/null 2>"$T/err"; rc=$?
[ $rc = 0 ] && grep -q "warning: b30.colb has expired; installed anyway" "$T/err" &&
	ok "--allow-expired installs it and logs that on stderr" ||
	not_ok "--allow-expired installs it and logs that on stderr" "rc=$rc $(cat "$T/err")"

# status
"$COLB" status --store S --at 2026-03-01T00:00:00Z >"$T/out"; rc=$?
[ $rc = 0 ] && grep -q "^COLBUNDLE OK - version 30" "$T/out" && ok "status: OK (exit 0) well before expiry" ||
	not_ok "status: OK (exit 0) well before expiry" "rc=$rc $(head -1 "$T/out")"
"$COLB" status --store S --at 2026-06-25T00:00:00Z --warn-days 10 >"$T/out"; rc=$?
[ $rc = 1 ] && grep -q "WARNING" "$T/out" && ok "status: WARNING (exit 1) within --warn-days of expiry" ||
	not_ok "status: WARNING (exit 1) within --warn-days of expiry" "rc=$rc $(head -1 "$T/out")"
"$COLB" status --store S --at 2026-08-01T00:00:00Z --json >"$T/out"; rc=$?
[ $rc = 2 ] && grep -q '"status":"CRITICAL"' "$T/out" && grep -q '"allow_expired":true' "$T/out" &&
	ok "status: CRITICAL (exit 2) once expired, in JSON" ||
	not_ok "status: CRITICAL (exit 2) once expired, in JSON" "rc=$rc $(cat "$T/out")"
"$COLB" status --store nowhere >"$T/out" 2>&1; rc=$?
[ $rc = 3 ] && ok "status: UNKNOWN (exit 3) without a store" || not_ok "status: UNKNOWN (exit 3) without a store" "rc=$rc"
# readers in other accounts can read the store whatever the installer's umask
(umask 077; "$COLB" install b10.colb --store U --trust k.pub $AT >/dev/null)
modes=$(stat -c %a U U/g "U/$(readlink U/current)" U/current/bundle.colb U/current/files.bin U/current/state.json U/current/site.json | tr '\n' ' ')
[ "$modes" = "755 755 755 444 444 444 444 " ] && ok "the store is world-readable and its files read-only under umask 077" ||
	not_ok "the store is world-readable and its files read-only under umask 077" "modes: $modes"

# the lock
mk 40
exec 9>S/lock
flock -n 9 || true
"$COLB" install b40.colb --store S $AT >/dev/null 2>"$T/err"; rc=$?
[ $rc = 4 ] && grep -q "another install holds the lock" "$T/err" && ok "a locked store: exit 4 at once" ||
	not_ok "a locked store: exit 4 at once" "rc=$rc $(cat "$T/err")"
( sleep 1; flock -u 9 ) &
"$COLB" install b40.colb --store S $AT --wait >/dev/null 2>"$T/err"; rc=$?
wait
exec 9>&-
[ $rc = 0 ] && ok "--wait waits for the lock and installs" || not_ok "--wait waits for the lock and installs" "rc=$rc $(cat "$T/err")"
done_testing
