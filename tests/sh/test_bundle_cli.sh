#!/bin/sh
# The bundle commands end to end: keygen, create, sign, verify, inspect, ls,
# cat, extract; their exit codes; trust from flags, COLBUNDLE_TRUST and the
# configuration file; reproducible output; the plain-tar one-liner of the
# format specification.
. "$(dirname "$0")/lib.sh"

AT=2025-06-02T00:00:00Z
export SOURCE_DATE_EPOCH=1748736000   # 2025-06-01T00:00:00Z
unset COLBUNDLE_TRUST COLBUNDLE_CONF COLBUNDLE_PASSWORD_FILE

# exit_is NAME CODE CMD... : passes when CMD exits with CODE
exit_is() {
	_name=$1; _want=$2; shift 2
	"$@" >"$T/.out" 2>&1; _got=$?
	if [ "$_got" = "$_want" ]; then ok "$_name"; else not_ok "$_name" "expected exit $_want, got $_got: $(tail -2 "$T/.out" | tr '\n' ' ')"; fi
}

cd "$T" || exit 1
printf 'hunter2 horse\n' >pw
exit_is "keygen with a password file" 0 "$COLB" keygen --out pub1 --password-file pw
perm=$(stat -c %a pub1.key)
[ "$perm" = 600 ] && ok "secret key is mode 0600" || not_ok "secret key is mode 0600" "got $perm"
exit_is "keygen refuses to overwrite a key" 4 "$COLB" keygen --out pub1 --no-password
"$COLB" keygen --out pub2 --no-password >/dev/null 2>"$T/kg.err"
grep -q UNENCRYPTED "$T/kg.err" && ok "keygen --no-password warns" || not_ok "keygen --no-password warns"
"$COLB" keygen --out pub3 --no-password >/dev/null 2>&1
exit_is "keygen without --out is a usage error" 2 "$COLB" keygen
exit_is "keygen without a terminal or password file is refused" 2 setsid sh -c "'$COLB' keygen --out nopw </dev/null"

mkdir -p d/intel/tcbinfo/sgx/00906ED50000 d/intel/crl d/amd/Milan/vcek/0123456789abcdef
printf '{"tcbInfo":{"version":3}}' >d/intel/tcbinfo/sgx/00906ED50000/17.json
printf 'crl-bytes' >d/intel/crl/processor.der
head -c 2000 /dev/zero | tr '\0' 'v' >d/amd/Milan/vcek/0123456789abcdef/7308000000000003.der
# a long path that needs the ustar prefix field
LONG=d/amd/Genoa/vcek/$(printf 'ab%.0s' $(seq 64))
mkdir -p "$LONG" && printf 'long' >"$LONG/0000000000000001.der"

exit_is "create with an encrypted key" 0 "$COLB" create --out a.colb --key pub1.key --password-file pw --dir d --version 5 --publisher ACME
COLBUNDLE_PASSWORD_FILE=pw "$COLB" create --out b.colb --key pub1.key --dir d --version 5 --publisher ACME >/dev/null 2>&1
cmp -s a.colb b.colb && ok "two creates give identical bytes" || not_ok "two creates give identical bytes"
printf 'wrong\n' >badpw
exit_is "create with a wrong password is refused" 1 "$COLB" create --out c.colb --key pub1.key --password-file badpw --dir d
[ ! -e c.colb ] && ok "nothing written after a wrong password" || not_ok "nothing written after a wrong password"
exit_is "create without inputs is a usage error" 2 "$COLB" create --out c.colb --key pub2.key
mkdir -p bad/intel/unknown && echo x >bad/intel/unknown/x.json
exit_is "create refuses a file outside the entry naming" 1 "$COLB" create --out c.colb --key pub2.key --dir bad
mkdir -p sym/intel/crl && ln -s /etc/passwd sym/intel/crl/processor.der
exit_is "create refuses a symlink" 1 "$COLB" create --out c.colb --key pub2.key --dir sym
exit_is "create refuses --expires with --valid-for" 2 "$COLB" create --out c.colb --key pub2.key --dir d --expires 2026-01-01T00:00:00Z --valid-for 3

# the files of this test are not real collateral: full verification refuses them
exit_is "verify checks the collateral itself unless --format-only" 1 "$COLB" verify a.colb --trust pub1.pub --at $AT
"$COLB" verify --format-only a.colb --trust pub1.pub --at $AT | grep -q "collateral NOT checked" && ok "--format-only says the collateral was not checked" || not_ok "--format-only says the collateral was not checked"
exit_is "verify accepts a good bundle" 0 "$COLB" verify --format-only a.colb --trust pub1.pub --at $AT
exit_is "verify refuses an untrusted signer" 1 "$COLB" verify --format-only a.colb --trust pub2.pub --at $AT
exit_is "verify without trust is a usage error" 2 "$COLB" verify --format-only a.colb --at $AT
exit_is "verify refuses an expired bundle" 1 "$COLB" verify --format-only a.colb --trust pub1.pub --at 2030-01-01T00:00:00Z
"$COLB" verify --format-only a.colb --trust pub1.pub --at 2030-01-01T00:00:00Z --allow-expired >/dev/null 2>"$T/exp.err"; rc=$?
[ $rc = 0 ] && grep -q "expired" "$T/exp.err" && ok "--allow-expired accepts and logs" || not_ok "--allow-expired accepts and logs" "exit $rc"
exit_is "verify refuses a bundle created in the future" 1 "$COLB" verify --format-only a.colb --trust pub1.pub --at 2025-05-01T00:00:00Z
COLBUNDLE_TRUST="pub2.pub:pub1.pub" "$COLB" verify --format-only a.colb --at $AT >/dev/null 2>&1 && ok "COLBUNDLE_TRUST lists trusted keys" || not_ok "COLBUNDLE_TRUST lists trusted keys"
printf 'trust = pub1.pub\nbundle = a.colb\n' >site.conf
COLBUNDLE_CONF=$T/site.conf "$COLB" verify --format-only --at $AT >/dev/null 2>&1 && ok "the configuration file gives trust and bundle" || not_ok "the configuration file gives trust and bundle"
printf 'trust = pub1.pub\ncolour = blue\n' >bad.conf
COLBUNDLE_CONF=$T/bad.conf "$COLB" verify --format-only a.colb --at $AT >/dev/null 2>"$T/conf.err"; rc=$?
[ $rc = 2 ] && grep -q "bad.conf:2:" "$T/conf.err" && ok "a bad configuration line is named file:line" || not_ok "a bad configuration line is named file:line" "exit $rc: $(cat "$T/conf.err")"
"$COLB" verify --format-only a.colb --trust pub1.pub --at $AT --json >v.json
grep -q '"ok":true' v.json && grep -q '"version":"5"' v.json && ok "verify --json reports ok and version" || not_ok "verify --json reports ok and version" "$(cat v.json)"
"$COLB" verify --format-only a.colb --trust pub2.pub --at $AT --json >v2.json 2>/dev/null
grep -q '"ok":false' v2.json && grep -q '"code":22' v2.json && ok "verify --json reports the refusal code" || not_ok "verify --json reports the refusal code" "$(cat v2.json)"

# k-of-n
exit_is "2-of-3 refused with one signature" 1 "$COLB" verify --format-only a.colb --trust pub1.pub --trust pub2.pub --trust pub3.pub --threshold 2 --at $AT
cp a.colb s.colb
exit_is "sign adds a second signature" 0 "$COLB" sign s.colb --key pub2.key
exit_is "sign refuses a second signature by the same key" 1 "$COLB" sign s.colb --key pub2.key
exit_is "2-of-3 accepted with two signatures" 0 "$COLB" verify --format-only s.colb --trust pub1.pub --trust pub2.pub --trust pub3.pub --threshold 2 --at $AT
exit_is "3-of-3 refused with two signatures" 1 "$COLB" verify --format-only s.colb --trust pub1.pub --trust pub2.pub --trust pub3.pub --threshold 3 --at $AT
[ $(($(stat -c %s s.colb) - $(stat -c %s a.colb))) = 72 ] && ok "a signature adds exactly 72 bytes" || not_ok "a signature adds exactly 72 bytes"

# rollback state
D=$(sha256sum a.colb | cut -d' ' -f1)
printf '{"version":"5","digest":"%s"}\n' "$D" >state.json
exit_is "the installed bundle passes its own state" 0 "$COLB" verify --format-only a.colb --trust pub1.pub --at $AT --state state.json
printf '{"version":"6","digest":"%s"}\n' "$D" >state.json
exit_is "a lower version than the state is refused" 1 "$COLB" verify --format-only a.colb --trust pub1.pub --at $AT --state state.json
printf '{"version":"5","digest":"%064d"}\n' 0 >state.json
exit_is "the same version with another digest is refused" 1 "$COLB" verify --format-only a.colb --trust pub1.pub --at $AT --state state.json
exit_is "a missing state file is refused" 1 "$COLB" verify --format-only a.colb --trust pub1.pub --at $AT --state nostate.json

# inspect, ls, cat, extract
"$COLB" inspect a.colb --trust pub1.pub --at $AT >insp.txt 2>&1
grep -q "version    5" insp.txt && grep -q "tcbinfo" insp.txt && grep -q "publisher  ACME" insp.txt && ok "inspect shows version, kinds, publisher" || not_ok "inspect shows version, kinds, publisher" "$(head -5 insp.txt)"
"$COLB" inspect a.colb --trust pub1.pub --at $AT --json >insp.json
grep -q '"kinds":{' insp.json && grep -q '"vcek":2' insp.json && ok "inspect --json counts kinds" || not_ok "inspect --json counts kinds" "$(cat insp.json)"
n=$("$COLB" ls a.colb --trust pub1.pub --at $AT | wc -l)
[ "$n" = 4 ] && ok "ls lists every file" || not_ok "ls lists every file" "got $n lines"
"$COLB" ls a.colb --trust pub1.pub --at $AT --json | grep -q '"path":"intel/crl/processor.der"' && ok "ls --json lists paths" || not_ok "ls --json lists paths"
"$COLB" cat a.colb intel/tcbinfo/sgx/00906ED50000/17.json --trust pub1.pub --at $AT >cat.out
cmp -s cat.out d/intel/tcbinfo/sgx/00906ED50000/17.json && ok "cat prints the exact bytes" || not_ok "cat prints the exact bytes"
exit_is "cat of a missing path exits 3" 3 "$COLB" cat a.colb intel/none.json --trust pub1.pub --at $AT
exit_is "extract writes the files" 0 "$COLB" extract a.colb out --trust pub1.pub --at $AT
diff -r d out >/dev/null && ok "extracted tree equals the input tree" || not_ok "extracted tree equals the input tree"
exit_is "extract refuses to overwrite" 1 "$COLB" extract a.colb out --trust pub1.pub --at $AT
mkdir -p trap/intel && ln -s /tmp trap/intel/crl
exit_is "extract refuses to follow a planted symlink" 1 "$COLB" extract a.colb trap --trust pub1.pub --at $AT

# tamper: one byte in the payload, one in the manifest
cp a.colb t.colb; printf 'X' | dd of=t.colb bs=1 seek=$(($(stat -c %s t.colb) - 30)) conv=notrunc 2>/dev/null
exit_is "a changed payload byte is refused" 1 "$COLB" verify --format-only t.colb --trust pub1.pub --at $AT
cp a.colb t.colb; printf 'X' | dd of=t.colb bs=1 seek=40 conv=notrunc 2>/dev/null
exit_is "a changed manifest byte is refused" 1 "$COLB" verify --format-only t.colb --trust pub1.pub --at $AT
head -c 100 a.colb >t.colb
exit_is "a truncated bundle is refused" 1 "$COLB" verify --format-only t.colb --trust pub1.pub --at $AT

# the specification's plain-tar one-liner
off=$(( $(od -An -tu1 -j12 -N8 a.colb | awk '{print 32+$1+256*$2+65536*$3+16777216*$4+$5+256*$6+65536*$7+16777216*$8}') \
      + $(od -An -tu1 -j28 -N4 a.colb | awk '{print $1+256*$2+65536*$3+16777216*$4}') ))
tail -c +$((off + 1)) a.colb | tar tzf - >tar.list 2>tar.err
if [ "$(wc -l <tar.list)" = 4 ] && grep -q '^intel/crl/processor.der$' tar.list; then ok "plain tar lists the payload after the envelope"; else not_ok "plain tar lists the payload after the envelope" "$(cat tar.err tar.list)"; fi
tail -c +$((off + 1)) a.colb | tar tvzf - | grep -q 'rw-r--r-- 0/0.*2025-06-01 00:00 intel/crl/processor.der' && ok "entries are 0644, uid 0, mtime = created" || not_ok "entries are 0644, uid 0, mtime = created" "$(tail -c +$((off + 1)) a.colb | tar tvzf - | head -2)"

for c in keygen create sign verify inspect ls cat extract; do
	"$COLB" $c --help >/dev/null 2>&1 || not_ok "$c --help"
done
ok "every bundle command has --help"
done_testing
