#!/bin/sh
# `make demo` end to end: the demo script runs the whole mission on the
# sample fleet, prints its summary, and leaves nothing running behind it.
. "$(dirname "$0")/lib.sh"

if sh "$TOP/samples/demo.sh" >"$T/demo.out" 2>"$T/demo.err"; then
	ok "the demo runs to the end"
else
	not_ok "the demo runs to the end" "$(tail -5 "$T/demo.err")"
fi
grep -q '^provider library:  collateral verified with OpenSSL$' "$T/demo.out" &&
	ok "the provider library's collateral was verified with OpenSSL" ||
	not_ok "the provider library's collateral was verified with OpenSSL" "$(grep -A8 'Summary' "$T/demo.out")"
grep -q "^serve:             TCB info identical to the library's; VCEK chain verified with OpenSSL$" "$T/demo.out" &&
	ok "serve's answers match the library's and verify" ||
	not_ok "serve's answers match the library's and verify" "$(grep -A8 'Summary' "$T/demo.out")"
grep -q '^bundle:            [0-9]* bytes, [0-9]* files, signed by [0-9a-f]\{16\}$' "$T/demo.out" &&
	ok "the summary names the bundle and its signer" || not_ok "the summary names the bundle and its signer"
grep -q 'qpl-client: all checks passed' "$T/demo.out" && ok "every check of the DCAP client passed" ||
	not_ok "every check of the DCAP client passed"
dir=$(sed -n 's|^installed: *\(/tmp/colbundle-demo\.[A-Za-z0-9]*\)/store.*|\1|p' "$T/demo.out")
[ -n "$dir" ] && [ ! -e "$dir" ] && ok "the demo removes its scratch directory" ||
	not_ok "the demo removes its scratch directory" "$dir"
if pgrep -f "colb-mock --root $TOP/samples/fleet" >/dev/null || pgrep -f "colbundle serve --store $dir" >/dev/null; then
	not_ok "nothing the demo started is left running"
else
	ok "nothing the demo started is left running"
fi
done_testing
