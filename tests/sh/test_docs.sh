#!/bin/sh
# The manual pages: they render without a warning, colbundle(1) carries every
# command's help text verbatim, libcolbundle(3) names every public function
# and error code of the header (and nothing the header lacks), and
# colbundle.conf(5) and samples/colbundle.conf name exactly the keys conf.c
# accepts.
. "$(dirname "$0")/lib.sh"

MAN1="$TOP/$B/man/colbundle.1"
MAN3="$TOP/src/pkg/man/libcolbundle.3"
MAN5="$TOP/src/pkg/man/colbundle.conf.5"
HDR="$TOP/src/include/colbundle.h"
CONF_C="$TOP/src/bundle/conf.c"
SAMPLE="$TOP/samples/colbundle.conf"

# render PAGE: plain text as a reader sees it (UTF-8, no bold or underline).
render() { groff -man -Tutf8 -P-cbou "$1" 2>/dev/null | sed 's/^ *//'; }

commands() { "$COLB" --help | awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }'; }

# ---- rendering ------------------------------------------------------------
for page in "$MAN1" "$MAN3" "$MAN5"; do
	name=$(basename "$page")
	if [ ! -f "$page" ]; then
		not_ok "man_page_${name}_renders_without_warnings" "no $page"
		continue
	fi
	groff -man -Tutf8 -ww -z "$page" >"$T/warn" 2>&1
	if [ -s "$T/warn" ]; then
		not_ok "man_page_${name}_renders_without_warnings" "groff -ww said: $(head -3 "$T/warn" | tr '\n' ' ')"
	else
		ok "man_page_${name}_renders_without_warnings"
	fi
done

# ---- colbundle(1) ------------------------------------------------------------
render "$MAN1" >"$T/man1.txt"
commands >"$T/commands"
n=$(wc -l <"$T/commands")
if [ "$n" -ge 5 ]; then ok "colbundle_help_lists_commands ($n)"; else not_ok "colbundle_help_lists_commands" "got $n"; fi

missing_sections=""
missing_lines=""
while read -r cmd; do
	grep -qx "colbundle $cmd" "$T/man1.txt" || missing_sections="$missing_sections $cmd"
	"$COLB" help "$cmd" >"$T/help.$cmd"
	# Every line of `colbundle help CMD`, blanks around it stripped, is a line
	# of the page.
	sed 's/^ *//; s/ *$//' "$T/help.$cmd" | while IFS= read -r l; do
		[ -z "$l" ] && continue
		grep -qxF -- "$l" "$T/man1.txt" || echo "$cmd: $l"
	done >>"$T/missing"
done <"$T/commands"
if [ -z "$missing_sections" ]; then
	ok "colbundle_1_has_a_section_for_every_command"
else
	not_ok "colbundle_1_has_a_section_for_every_command" "no section for:$missing_sections"
fi
if [ ! -s "$T/missing" ]; then
	ok "colbundle_1_shows_each_commands_help_text_verbatim"
else
	not_ok "colbundle_1_shows_each_commands_help_text_verbatim" \
		"$(wc -l <"$T/missing") help lines not in the page, first: $(head -1 "$T/missing")"
fi

# The sections live in the order `colbundle --help` lists the commands.
grep -E '^colbundle [a-z-]+$' "$T/man1.txt" | sed 's/^colbundle //' >"$T/order"
if cmp -s "$T/order" "$T/commands"; then
	ok "colbundle_1_sections_follow_the_help_order"
else
	not_ok "colbundle_1_sections_follow_the_help_order" "page: $(tr '\n' ' ' <"$T/order")"
fi

frame_missing=""
for h in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" ENVIRONMENT FILES "SEE ALSO"; do
	grep -qx "$h" "$T/man1.txt" || frame_missing="$frame_missing [$h]"
done
for v in COLBUNDLE_CONF COLBUNDLE_TRUST COLBUNDLE_BUNDLE COLBUNDLE_PASSWORD_FILE \
	COLBUNDLE_PCS_API_KEY_FILE SOURCE_DATE_EPOCH; do
	sed -n '/^ENVIRONMENT$/,/^FILES$/p' "$T/man1.txt" | grep -qx "$v" || frame_missing="$frame_missing $v"
done
for code in 0 1 2 3 4; do
	sed -n '/^EXIT STATUS$/,/^ENVIRONMENT$/p' "$T/man1.txt" | grep -qE "^$code( |\$)" || frame_missing="$frame_missing exit-$code"
done
if [ -z "$frame_missing" ]; then
	ok "colbundle_1_has_the_frame_sections_environment_and_exit_codes"
else
	not_ok "colbundle_1_has_the_frame_sections_environment_and_exit_codes" "missing:$frame_missing"
fi

# Every environment variable the sources read is documented: any getenv()
# of a literal, and every COLBUNDLE_* name the sources mention, except the
# COLBUNDLE_TEST_* hooks that only the test suite sets.
{
	grep -rhoE 'getenv\("[A-Z_]+"\)' "$TOP/src" | sed -E 's/getenv\("([A-Z_]+)"\)/\1/'
	grep -rhoE '\bCOLBUNDLE_[A-Z_]+' "$TOP/src" --include='*.c'
} | grep -v '^COLBUNDLE_H$\|^COLBUNDLE_TEST_' | sort -u >"$T/envs"
undocumented=""
while read -r v; do
	sed -n '/^ENVIRONMENT$/,/^FILES$/p' "$T/man1.txt" | grep -qx "$v" || undocumented="$undocumented $v"
done <"$T/envs"
if [ -s "$T/envs" ] && [ -z "$undocumented" ]; then
	ok "colbundle_1_documents_every_environment_variable_the_tool_reads"
else
	not_ok "colbundle_1_documents_every_environment_variable_the_tool_reads" \
		"undocumented:${undocumented:- (found no getenv at all)}"
fi

# The generator refuses a tool whose --help has no command list, rather than
# writing a page without commands.
cat >"$T/fake-tool" <<'FAKE'
#!/bin/sh
echo "usage: fake"
FAKE
chmod +x "$T/fake-tool"
if sh "$TOP/src/pkg/gen-man.sh" "$T/fake-tool" 0 "$TOP/src/pkg/man/colbundle.1.in" >"$T/fake.1" 2>"$T/fake.err"; then
	not_ok "gen_man_refuses_a_help_text_without_commands" "it succeeded"
else
	grep -q 'no command list' "$T/fake.err" && ok "gen_man_refuses_a_help_text_without_commands" ||
		not_ok "gen_man_refuses_a_help_text_without_commands" "said: $(cat "$T/fake.err")"
fi
# ... and a command whose help fails.
cat >"$T/fake-tool" <<'FAKE'
#!/bin/sh
if [ "$1" = --help ]; then printf 'Commands:\n  good  fine\n  bad   broken\n\n'; exit 0; fi
[ "$2" = good ] && { echo "usage: fake good"; exit 0; }
exit 2
FAKE
if sh "$TOP/src/pkg/gen-man.sh" "$T/fake-tool" 0 "$TOP/src/pkg/man/colbundle.1.in" >"$T/fake.1" 2>"$T/fake.err"; then
	not_ok "gen_man_refuses_a_command_whose_help_fails" "it succeeded"
else
	grep -q "help bad" "$T/fake.err" && ok "gen_man_refuses_a_command_whose_help_fails" ||
		not_ok "gen_man_refuses_a_command_whose_help_fails" "said: $(cat "$T/fake.err")"
fi
# Troff control characters in a help text come out as text.
cat >"$T/fake-tool" <<'FAKE'
#!/bin/sh
if [ "$1" = --help ]; then printf 'Commands:\n  odd  odd text\n\n'; exit 0; fi
printf '%s\n' "usage: fake odd" ".TH not a request" "'quoted start" 'back\slash and \fBfont\fP' "a-b ~x^y \`z'"
FAKE
if sh "$TOP/src/pkg/gen-man.sh" "$T/fake-tool" 0 "$TOP/src/pkg/man/colbundle.1.in" >"$T/fake.1" 2>"$T/fake.err" &&
	render "$T/fake.1" >"$T/fake.txt" && "$T/fake-tool" help odd >"$T/fake.help"; then
	bad=$(while IFS= read -r l; do grep -qxF -- "$l" "$T/fake.txt" || echo "[$l]"; done <"$T/fake.help")
	[ -z "$bad" ] && ok "gen_man_keeps_troff_control_characters_as_text" ||
		not_ok "gen_man_keeps_troff_control_characters_as_text" "lost: $bad"
else
	not_ok "gen_man_keeps_troff_control_characters_as_text" "gen-man failed: $(cat "$T/fake.err")"
fi

# ---- libcolbundle(3) ------------------------------------------------------------
# Function names: the identifier before "(" on each COLB_API declaration.
tr '\n' ' ' <"$HDR" | sed 's/;/;\n/g' | grep 'COLB_API' | sed -E 's/.*COLB_API//; s/\(.*//; s/.*[ *]//' |
	grep '^colb_' | sort -u >"$T/api"
n=$(wc -l <"$T/api")
undocumented=$(while read -r f; do grep -qw -- "$f" "$MAN3" || echo "$f"; done <"$T/api" | tr '\n' ' ')
if [ "$n" -ge 50 ] && [ -z "$undocumented" ]; then
	ok "libcolbundle_3_names_every_public_function ($n)"
else
	not_ok "libcolbundle_3_names_every_public_function" "$n functions in the header; not in the page: $undocumented"
fi
grep -oE '\bcolb_[a-z0-9_]+\(' "$MAN3" | tr -d '(' | sort -u >"$T/man3.calls"
stale=$(while read -r f; do grep -qx -- "$f" "$T/api" || echo "$f"; done <"$T/man3.calls" | tr '\n' ' ')
if [ -z "$stale" ]; then
	ok "libcolbundle_3_names_no_function_the_header_lacks"
else
	not_ok "libcolbundle_3_names_no_function_the_header_lacks" "not in the header: $stale"
fi
sed -n '/typedef enum colb_err {/,/} colb_err;/p' "$HDR" | grep -oE 'COLB_(OK|ERR_[A-Z_]+) = [0-9]+' |
	sed 's/ = / /' >"$T/errs"
render "$MAN3" >"$T/man3.txt"
wrong=$(while read -r e num; do grep -qx "$e ($num)" "$T/man3.txt" || echo "$e=$num"; done <"$T/errs" | tr '\n' ' ')
if [ "$(wc -l <"$T/errs")" -ge 10 ] && [ -z "$wrong" ]; then
	ok "libcolbundle_3_lists_every_error_code_with_its_number"
else
	not_ok "libcolbundle_3_lists_every_error_code_with_its_number" "missing or misnumbered: $wrong"
fi

# ---- colbundle.conf(5) and the sample configuration ---------------------------------
grep -oE 'strcmp\(key, "[a-z_]+"\)' "$CONF_C" | sed -E 's/.*"([a-z_]+)".*/\1/' | sort -u >"$T/keys"
grep -E '^\.BI [a-z_]+ ' "$MAN5" | awk '{ print $2 }' | sort -u >"$T/man5.keys"
if [ "$(wc -l <"$T/keys")" -ge 5 ] && cmp -s "$T/keys" "$T/man5.keys"; then
	ok "colbundle_conf_5_documents_exactly_the_keys_conf_c_accepts ($(wc -l <"$T/keys"))"
else
	not_ok "colbundle_conf_5_documents_exactly_the_keys_conf_c_accepts" \
		"conf.c: $(tr '\n' ' ' <"$T/keys"); page: $(tr '\n' ' ' <"$T/man5.keys")"
fi
sed -nE 's/^#([a-z_]+) = .*/\1/p' "$SAMPLE" | sort -u >"$T/sample.keys"
if [ -s "$T/keys" ] && cmp -s "$T/keys" "$T/sample.keys"; then
	ok "sample_configuration_documents_exactly_the_keys_conf_c_accepts"
else
	not_ok "sample_configuration_documents_exactly_the_keys_conf_c_accepts" \
		"conf.c: $(tr '\n' ' ' <"$T/keys"); sample: $(tr '\n' ' ' <"$T/sample.keys")"
fi

# The sample parses as shipped, and with every example value uncommented:
# the tool then gets past the file (to the missing key files it names) and
# never reports a "FILE:LINE:" syntax error. A bad key shows what such an
# error looks like, so the check can fail.
conf_error() { # CONF: the tool's complaint about it
	COLBUNDLE_CONF=$1 COLBUNDLE_TRUST= "$COLB" verify "$T/none.colb" 2>&1
}
printf 'trust = x.pub\nbogus = 1\n' >"$T/bad.conf"
case $(conf_error "$T/bad.conf") in
*"bad.conf:2: unknown key 'bogus'"*) ok "a_bad_configuration_is_reported_with_file_and_line" ;;
*) not_ok "a_bad_configuration_is_reported_with_file_and_line" "$(conf_error "$T/bad.conf")" ;;
esac
cp "$SAMPLE" "$T/shipped.conf"
case $(conf_error "$T/shipped.conf") in
*"shipped.conf:"[0-9]*) not_ok "sample_configuration_parses_as_shipped" "$(conf_error "$T/shipped.conf")" ;;
*) ok "sample_configuration_parses_as_shipped" ;;
esac
sed -E 's/^#([a-z_]+ = )/\1/' "$SAMPLE" >"$T/examples.conf"
err=$(conf_error "$T/examples.conf")
case $err in
*"examples.conf:"[0-9]*) not_ok "sample_configuration_example_values_are_valid" "$err" ;;
*"publisher.pub"*) ok "sample_configuration_example_values_are_valid" ;;
*) not_ok "sample_configuration_example_values_are_valid" "expected the missing key file, got: $err" ;;
esac

done_testing
