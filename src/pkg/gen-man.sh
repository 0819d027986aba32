#!/bin/sh
# Writes colbundle(1) to stdout from the tool's own help texts, so that the
# manual and `colbundle help COMMAND` cannot disagree:
#   `colbundle --help`        gives the command list and each summary,
#   `colbundle help COMMAND`  gives each command's section, verbatim.
# The frame around them (NAME, SYNOPSIS, EXIT STATUS, ENVIRONMENT, FILES, ...)
# is src/pkg/man/colbundle.1.in; its line `.\" @COMMANDS@` is replaced by the command
# list and `.\" @COMMAND_SECTIONS@` by the per-command sections.
#
# usage: sh src/pkg/gen-man.sh TOOL VERSION FRAME
# The date is $SOURCE_DATE_EPOCH's when set (reproducible builds), else the
# frame file's modification time.
set -eu
tool=$1 version=$2 frame=$3

if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
else
	date=$(date -u -r "$frame" +%Y-%m-%d)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The command list: the lines of `colbundle --help` between "Commands:" and
# the next blank line, "  NAME   summary".
"$tool" --help >"$work/help"
awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit } on { print }' "$work/help" >"$work/list"
[ -s "$work/list" ] || { echo "gen-man.sh: no command list in '$tool --help'" >&2; exit 1; }

# Verbatim text in troff: escape the escape character, and the characters
# that groff would otherwise typeset as something else (hyphen, quotes,
# circumflex, tilde); protect lines that start with a control character.
verbatim() {
	sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/'/\\\\(aq/g" -e 's/`/\\(ga/g' \
	    -e 's/\^/\\(ha/g' -e 's/~/\\(ti/g' -e 's/^\./\\\&./'
}

: >"$work/commands"
: >"$work/sections"
while read -r name summary; do
	printf '.TP\n.B %s\n%s\n' "$(printf '%s\n' "$name" | verbatim)" "$(printf '%s\n' "$summary" | verbatim)" \
		>>"$work/commands"
	if ! "$tool" help "$name" >"$work/cmd" 2>"$work/err"; then
		echo "gen-man.sh: '$tool help $name' failed: $(cat "$work/err")" >&2
		exit 1
	fi
	{
		printf '.SS "colbundle %s"\n' "$(printf '%s\n' "$name" | verbatim)"
		printf '.nf\n'
		verbatim <"$work/cmd"
		printf '.fi\n'
	} >>"$work/sections"
done <"$work/list"

sed -e "s/@VERSION@/$version/g" -e "s/@DATE@/$date/g" "$frame" |
	awk -v c="$work/commands" -v s="$work/sections" '
		/^\.\\" @COMMANDS@$/ { while ((getline l < c) > 0) print l; next }
		/^\.\\" @COMMAND_SECTIONS@$/ { while ((getline l < s) > 0) print l; next }
		{ print }'
