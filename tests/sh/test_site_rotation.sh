#!/bin/sh
# Key rotation: statements signed by the previous keyset, carried in bundles,
# followed by readers and recorded by the store.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
AT=--at=2026-03-01T00:00:00Z
for k in k k2 n1 n2 evil; do "$COLB" keygen --out $k --no-password >/dev/null 2>&1; done
mk() { # mk VERSION KEY [create args]
	_v=$1 _k=$2; shift 2
	rm -rf "in$_v" && mkdir -p "in$_v/other" && echo "version $_v" >"in$_v/other/ver"
	"$COLB" create --out "b$_v.colb" --key "$_k.key" --dir "in$_v" --version "$_v" \
		--created 2026-01-01T00:00:00Z --expires 2026-07-01T00:00:00Z "$@" >/dev/null
}

check "rotate writes a statement signed by the old key" \
	"$COLB" rotate --key k.key --new-pub n1.pub --new-pub n2.pub --keyset-version 2 --out r2
check "a bundle carrying the statement, signed by a new key, is created" mk 50 n1 --rotation r2
mk 10 k
check "the store starts on keyset 1" "$COLB" install b10.colb --store S --trust k.pub $AT
out=$("$COLB" install b50.colb --store S $AT 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "keyset 2" && ok "a valid rotation is accepted and the store moves to keyset 2" ||
	not_ok "a valid rotation is accepted and the store moves to keyset 2" "rc=$rc $out"
grep -q "\"keyset\":{\"version\":2,\"threshold\":1" S/current/site.json &&
	ok "site.json records keyset 2" || not_ok "site.json records keyset 2" "$(cat S/current/site.json)"
check "verify follows the chain from the old key" "$COLB" verify b50.colb --trust k.pub $AT
mk 60 k
"$COLB" install b60.colb --store S $AT >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && ok "after the rotation a bundle signed by the retired key is refused" ||
	not_ok "after the rotation a bundle signed by the retired key is refused" "rc=$rc $(cat "$T/err")"
"$COLB" install b60.colb --store S --trust k.pub $AT >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "untrusted key" "$T/err" && ok "even when the operator still names the retired key" ||
	not_ok "even when the operator still names the retired key" "rc=$rc $(cat "$T/err")"
mk 70 n2
check "a later bundle by the other new key, without the chain, is accepted" "$COLB" install b70.colb --store S $AT
"$COLB" status --store S $AT --json >"$T/out"
grep -q '"keyset_version":2' "$T/out" && ok "status shows keyset 2" || not_ok "status shows keyset 2" "$(cat "$T/out")"
grep -q '"rotations":\["[A-Za-z0-9+/=]*"\]' S/current/site.json && ok "the store records the statement it followed" ||
	not_ok "the store records the statement it followed" "$(cat S/current/site.json)"
"$COLB" status --store S --trust k.pub $AT >"$T/out"; rc=$?
[ $rc = 0 ] && grep -q "(keyset 2)" "$T/out" &&
	ok "a reader still configured with the old key follows the store's recorded chain" ||
	not_ok "a reader still configured with the old key follows the store's recorded chain" "rc=$rc $(cat "$T/out")"
"$COLB" status --store S --trust evil.pub $AT >"$T/out"; rc=$?
[ $rc = 2 ] && ok "a reader configured with an unrelated key is refused (CRITICAL)" ||
	not_ok "a reader configured with an unrelated key is refused (CRITICAL)" "rc=$rc $(cat "$T/out")"

# refusals
check "a statement signed by a key outside the keyset can be made" \
	"$COLB" rotate --key evil.key --new-pub evil.pub --keyset-version 2 --out rbad
mk 80 evil --rotation rbad
"$COLB" install b80.colb --store F --trust k.pub $AT >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "key rotation: keyset 2 is not signed by keyset 1" "$T/err" &&
	ok "a rotation not signed by the previous keyset is refused" ||
	not_ok "a rotation not signed by the previous keyset is refused" "rc=$rc $(cat "$T/err")"
[ ! -e F/current ] && ok "and nothing is installed" || not_ok "and nothing is installed"
mk 11 k
"$COLB" sign b11.colb --key k2.key >/dev/null
check "a store with a 2-of-2 keyset" "$COLB" install b11.colb --store T2 --trust k.pub --trust k2.pub --threshold 2 $AT
"$COLB" rotate --key k.key --new-pub n1.pub --keyset-version 2 --out r2one >/dev/null
mk 90 n1 --rotation r2one
"$COLB" install b90.colb --store T2 $AT >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "1 valid signatures by keys of the previous keyset, 2 needed" "$T/err" &&
	ok "a rotation signed below the previous threshold is refused" ||
	not_ok "a rotation signed below the previous threshold is refused" "rc=$rc $(cat "$T/err")"
"$COLB" rotate --key k.key --key k2.key --new-pub n1.pub --keyset-version 2 --out r2two >/dev/null
mk 91 n1 --rotation r2two
check "the same rotation signed by both keys is accepted" "$COLB" install b91.colb --store T2 $AT
"$COLB" rotate --key n1.key --new-pub n2.pub --keyset-version 4 --out r4 >/dev/null
refuse "create refuses a chain with a gap" mk 92 n2 --rotation r2 --rotation r4
"$COLB" rotate --key n1.key --new-pub n2.pub --keyset-version 3 --out r3 >/dev/null
mk 93 n2 --rotation r2 --rotation r3
check "a two-step chain is followed from keyset 1" "$COLB" verify b93.colb --trust k.pub $AT
check "and from keyset 2" "$COLB" verify b93.colb --trust n1.pub --trust n2.pub $AT
refuse "a bundle with a chain is refused under unrelated keys" "$COLB" verify b93.colb --trust evil.pub $AT
check "sign adds a signature and keeps the chain" "$COLB" sign b93.colb --key evil.key
check "the re-signed bundle still follows the chain" "$COLB" verify b93.colb --trust k.pub $AT
done_testing
