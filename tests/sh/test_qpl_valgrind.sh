#!/bin/sh
# libdcap_quoteprov.so.1 under valgrind: the whole QVL-style harness
# (tests/unit/test_qpl.c) with full leak checking, the library loaded from
# its install prefix. The concurrency tests run 8 threads x 300 calls here
# (valgrind serialises threads; the full 8 x 10,000 runs in test_qpl itself).
. "$(dirname "$0")/lib.sh"
HARNESS="$TOP/$B/tests/test_qpl"

if ! command -v valgrind >/dev/null 2>&1; then
	ok "valgrind is not installed # SKIP"
	done_testing
	exit 0
fi
if [ ! -x "$HARNESS" ]; then
	not_ok "the harness $HARNESS is built"
	done_testing
	exit 1
fi
# An ASan build cannot run under valgrind; that build is its own check.
if nm "$HARNESS" 2>/dev/null | grep -q __asan_init; then
	ok "sanitizer build: valgrind does not apply # SKIP"
	done_testing
	exit 0
fi

check "the fixture is prepared (PKI, make install into a scratch prefix)" \
	env B="$B" COLB_TOP="$TOP" "$HARNESS" --prepare

cd "$TOP" || exit 1
env B="$B" COLB_TOP="$TOP" CMOCKA_MESSAGE_OUTPUT=TAP QPL_TEST_CHILD=1 QPL_TEST_CALLS=300 \
	LD_LIBRARY_PATH="$TOP/$B/qpl-fixture/root/usr/lib" \
	valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --suppressions=/dev/null \
	"$HARNESS" >"$T/tap" 2>"$T/valgrind"
rc=$?
passed=$(grep -c '^ok ' "$T/tap")
failed=$(grep -c '^not ok ' "$T/tap")
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; then
	ok "the harness passes under valgrind ($passed tests), no error, no leak"
else
	not_ok "the harness passes under valgrind, no error, no leak" \
		"exit $rc, $passed passed, $failed failed: $(grep -E '^not ok|==[0-9]+== (Invalid|.*definitely|.*indirectly|Conditional)' "$T/tap" "$T/valgrind" | head -5 | tr '\n' ' ')"
	tail -40 "$T/valgrind" >&2
fi
done_testing
