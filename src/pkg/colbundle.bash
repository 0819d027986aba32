# bash completion for colbundle.
#
# Nothing here lists commands or options: they are read, when completing,
# from the tool itself (`colbundle --help` for the commands, `colbundle help
# COMMAND` for a command's options), so the completion is as current as the
# installed tool. An option's argument is completed from its placeholder in
# the help text: a file for FILE, PUB, KEY, DER, PEM, CSV, NAME, F, *.colb;
# a directory for DIR; the words of a choice such as sgx|tdx.

_colbundle_commands()
{
	"$1" --help 2>/dev/null | awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# The placeholder that follows option $2 in command $3's help ("" if none).
_colbundle_placeholder()
{
	"$1" help "$3" 2>/dev/null |
		grep -oE -- "(^|[[ ])$2[ =][^] ,;)]+" | head -n 1 | sed -E 's/^[[ ]?[^ =]+[ =]//'
}

_colbundle_files()
{
	compopt -o filenames 2>/dev/null
	if [ "$1" = dirs ]; then
		COMPREPLY=($(compgen -d -- "$2"))
	else
		COMPREPLY=($(compgen -f -- "$2"))
	fi
}

_colbundle()
{
	local tool=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= i
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	local IFS=$'\n'

	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$(_colbundle_commands "$tool")"$'\n'"help"$'\n'"--help"$'\n'"--version" -- "$cur"))
		return 0
	fi
	cmd=${COMP_WORDS[1]}
	if [ "$cmd" = help ]; then
		[ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "$(_colbundle_commands "$tool")" -- "$cur"))
		return 0
	fi
	"$tool" help "$cmd" >/dev/null 2>&1 || return 0

	# The argument of an option.
	case $prev in
	--*)
		local ph
		ph=$(_colbundle_placeholder "$tool" "$prev" "$cmd")
		if [ -n "$ph" ]; then
			case $ph in
			*DIR)
				_colbundle_files dirs "$cur" ;;
			*FILE | F | PUB | KEY | DER | PEM | CSV | NAME | FLEET | *.colb)
				_colbundle_files files "$cur" ;;
			*'|'*)
				COMPREPLY=($(compgen -W "$(printf '%s\n' "$ph" | tr '|' '\n' | grep -E '^[a-z][a-z0-9_-]*$')" -- "$cur")) ;;
			esac
			return 0
		fi
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("$tool" help "$cmd" 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)" -- "$cur"))
		return 0
	fi
	# Positional arguments are bundles, directories and files.
	_colbundle_files files "$cur"
	return 0
}

complete -F _colbundle colbundle
