#!/bin/sh
# make install / make uninstall into a DESTDIR: the layout, the pkg-config
# answer, both names of both libraries, a program built against the installed
# header and library with `pkg-config --cflags --libs colbundle`, PREFIX and
# the configuration rule, bash completion from the installed files, and an
# uninstall that leaves nothing behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

VERSION=$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")
# A clean sub-make: the caller's -j and jobserver are not ours to use, and
# -o all installs what the suite built, never rebuilding it with other flags.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s -o all -C "$TOP" B="$B" "$@"; }

D="$T/root"
P="$D/usr/local"
if ! mk DESTDIR="$D" install >"$T/install.log" 2>&1; then
	not_ok "make_install_into_destdir" "$(tail -5 "$T/install.log" | tr '\n' ' ')"
	done_testing
	exit 1
fi
ok "make_install_into_destdir"

# layout: every file and link, and nothing else.
layout() { # ROOT PREFIX_REL: the expected list for a PREFIX, with /etc when given
	cat <<LIST
$2/bin/colbundle
$2/include/colbundle.h
$2/lib/libcolbundle.a
$2/lib/libcolbundle.so -> libcolbundle.so.1
$2/lib/libcolbundle.so.1
$2/lib/libdcap_quoteprov.so -> libdcap_quoteprov.so.1
$2/lib/libdcap_quoteprov.so.1
$2/lib/pkgconfig/colbundle.pc
$2/share/bash-completion/completions/colbundle
$2/share/doc/colbundle/colbundle.conf.example
$2/share/man/man1/colbundle.1
$2/share/man/man3/libcolbundle.3
$2/share/man/man5/colbundle.conf.5
LIST
	if [ -f "$TOP/samples/colbundle-serve.service" ]; then
		echo "$2/share/doc/colbundle/colbundle-serve.service"
		[ -n "${3:-}" ] && echo "$2/lib/systemd/system/colbundle-serve.service"
	fi
	[ -n "${3:-}" ] && echo "etc/colbundle/colbundle.conf"
}
found() { # ROOT: "path" or "path -> target", sorted
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f"; fi
	done)
}
layout "$D" usr/local | sort >"$T/want"
found "$D" >"$T/got"
if cmp -s "$T/want" "$T/got"; then
	ok "install_lays_out_exactly_the_documented_files"
else
	not_ok "install_lays_out_exactly_the_documented_files" "$(diff "$T/want" "$T/got" | grep '^[<>]' | tr '\n' ' ')"
fi

modes=""
for f in bin/colbundle lib/libcolbundle.so.1 lib/libdcap_quoteprov.so.1; do
	[ "$(stat -c %a "$P/$f")" = 755 ] || modes="$modes $f=$(stat -c %a "$P/$f")"
done
for f in include/colbundle.h lib/libcolbundle.a lib/pkgconfig/colbundle.pc share/man/man1/colbundle.1 \
	share/doc/colbundle/colbundle.conf.example share/bash-completion/completions/colbundle; do
	[ "$(stat -c %a "$P/$f")" = 644 ] || modes="$modes $f=$(stat -c %a "$P/$f")"
done
[ -z "$modes" ] && ok "installed_files_have_their_modes" || not_ok "installed_files_have_their_modes" "wrong:$modes"

cmp -s "$TOP/src/include/colbundle.h" "$P/include/colbundle.h" && ok "installed_header_is_the_public_header" ||
	not_ok "installed_header_is_the_public_header" "differs from src/include/colbundle.h"
cmp -s "$TOP/samples/colbundle.conf" "$P/share/doc/colbundle/colbundle.conf.example" &&
	ok "configuration_example_is_the_sample" || not_ok "configuration_example_is_the_sample" "differs"

# ---- pkg-config --------------------------------------------------------------
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
got=$(pkg-config --modversion colbundle 2>&1)
[ "$got" = "$VERSION" ] && ok "pkg_config_knows_colbundle_$VERSION" ||
	not_ok "pkg_config_knows_colbundle_$VERSION" "got '$got'"
got=$(pkg-config --variable=libdir colbundle 2>&1)
[ "$got" = /usr/local/lib ] && ok "pkg_config_libdir_is_under_prefix" ||
	not_ok "pkg_config_libdir_is_under_prefix" "got '$got'"
# The staged install relocates with --define-variable=prefix.
got=$(pkg-config --define-variable=prefix="$P" --cflags --libs colbundle 2>&1)
want="-I$P/include -L$P/lib -lcolbundle"
[ "$(echo $got)" = "$want" ] && ok "pkg_config_cflags_and_libs_answer" ||
	not_ok "pkg_config_cflags_and_libs_answer" "want '$want', got '$got'"
PCFLAGS=$got

# A library built with sanitizers (make SANITIZE=1) loads only into a
# program built with them: build the test programs the same way.
SAN=""
readelf -d "$P/lib/libcolbundle.so.1" 2>/dev/null | grep -q 'libasan' &&
	SAN="-fsanitize=address,undefined" && export ASAN_OPTIONS=detect_leaks=0

# ---- both names of both libraries -----------------------------------------------
names=""
for l in libcolbundle libdcap_quoteprov; do
	[ "$(readlink "$P/lib/$l.so")" = "$l.so.1" ] || names="$names $l.so->$(readlink "$P/lib/$l.so")"
	[ -f "$P/lib/$l.so.1" ] && [ ! -L "$P/lib/$l.so.1" ] || names="$names $l.so.1-not-a-file"
	soname=$(readelf -d "$P/lib/$l.so.1" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	[ "$soname" = "$l.so.1" ] || names="$names $l-soname=$soname"
done
[ -z "$names" ] && ok "both_library_names_resolve_and_carry_the_soname" ||
	not_ok "both_library_names_resolve_and_carry_the_soname" "$names"

cat >"$T/dl.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
/* Loads a library by path and looks up one symbol: prints "ok" or why not. */
int main(int argc, char **argv)
{
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
	if (!dlsym(h, argv[2])) { printf("dlsym %s: %s\n", argv[2], dlerror()); return 1; }
	puts("ok");
	return argc == 3 ? 0 : 1;
}
C
if cc $SAN -o "$T/dl" "$T/dl.c" -ldl 2>"$T/cc.err"; then
	a=$("$T/dl" "$P/lib/libcolbundle.so" colb_version 2>&1)
	b=$("$T/dl" "$P/lib/libdcap_quoteprov.so" sgx_ql_get_quote_verification_collateral 2>&1)
	c=$("$T/dl" "$P/lib/libcolbundle.so" colb_conf_parse 2>&1)
	[ "$a" = ok ] && ok "dlopen_libcolbundle_so_finds_colb_version" || not_ok "dlopen_libcolbundle_so_finds_colb_version" "$a"
	[ "$b" = ok ] && ok "dlopen_libdcap_quoteprov_so_finds_the_provider_abi" ||
		not_ok "dlopen_libdcap_quoteprov_so_finds_the_provider_abi" "$b"
	[ "$c" != ok ] && ok "installed_libcolbundle_exports_no_internal_symbol" ||
		not_ok "installed_libcolbundle_exports_no_internal_symbol" "colb_conf_parse is visible"
else
	not_ok "dlopen_test_program_builds" "$(cat "$T/cc.err")"
fi

# ---- a program against the installed header and library ---------------------------
mkdir -p "$T/prog"
cat >"$T/prog/prog.c" <<'C'
#include <stdio.h>
#include <colbundle.h>
int main(void)
{
	colb_trust *t = colb_trust_new();
	int ok = t && colb_trust_set_threshold(t, 1) == COLB_OK;
	colb_trust_free(t);
	printf("%s %s\n", colb_version(), colb_strerror(COLB_ERR_EXPIRED));
	return ok ? 0 : 1;
}
C
# Built in an empty directory with nothing but pkg-config's flags: the
# source tree's header cannot be picked up by accident.
# shellcheck disable=SC2086
if (cd "$T/prog" && cc -std=c11 -Wall -Werror $SAN -o prog prog.c $PCFLAGS) 2>"$T/cc.err"; then
	ok "program_compiles_and_links_with_pkg_config_flags"
	out=$(LD_LIBRARY_PATH="$P/lib" "$T/prog/prog" 2>&1)
	case $out in
	"$VERSION "?*) ok "program_runs_against_the_installed_library ($out)" ;;
	*) not_ok "program_runs_against_the_installed_library" "want '$VERSION ...', got '$out'" ;;
	esac
	needed=$(readelf -d "$T/prog/prog" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	case " $needed" in
	*" libcolbundle.so.1 "*) ok "program_links_the_shared_library_by_its_soname" ;;
	*) not_ok "program_links_the_shared_library_by_its_soname" "NEEDED: $needed" ;;
	esac
	resolved=$(LD_LIBRARY_PATH="$P/lib" ldd "$T/prog/prog" | awk '$1 == "libcolbundle.so.1" { print $3 }')
	[ "$resolved" = "$P/lib/libcolbundle.so.1" ] && ok "program_loads_the_installed_library" ||
		not_ok "program_loads_the_installed_library" "resolved to '$resolved'"
else
	not_ok "program_compiles_and_links_with_pkg_config_flags" "$(head -5 "$T/cc.err" | tr '\n' ' ')"
fi
# The EXAMPLE of libcolbundle(3), as printed there, builds against the
# installed library and does what the page says: the version of a bundle
# signed by the trusted key, a refusal (exit 1) for another key.
sed -n '/^\.SH EXAMPLE/,/^\.SH/p' "$P/share/man/man3/libcolbundle.3" |
	sed -n '/^\.in +4n/,/^\.in$/p' | sed '1d;$d; s/\\e/\\/g' >"$T/prog/example.c"
"$COLB" keygen --no-password --out "$T/prog/pub" >/dev/null 2>&1
"$COLB" keygen --no-password --out "$T/prog/other" >/dev/null 2>&1
mkdir -p "$T/prog/empty"
"$COLB" create --out "$T/prog/b.colb" --key "$T/prog/pub.key" --dir "$T/prog/empty" --version 42 >/dev/null 2>&1
# shellcheck disable=SC2086
if [ -s "$T/prog/example.c" ] && (cd "$T/prog" && cc -std=c11 -Wall -Werror $SAN -o example example.c $PCFLAGS) 2>"$T/cc.err"; then
	out=$(LD_LIBRARY_PATH="$P/lib" "$T/prog/example" "$T/prog/pub.pub" "$T/prog/b.colb" 2>&1)
	[ "$out" = "version 42" ] && ok "libcolbundle_3_example_opens_a_bundle" ||
		not_ok "libcolbundle_3_example_opens_a_bundle" "want 'version 42', got '$out'"
	LD_LIBRARY_PATH="$P/lib" "$T/prog/example" "$T/prog/other.pub" "$T/prog/b.colb" >"$T/ex.out" 2>&1
	rc=$?
	[ $rc = 1 ] && grep -q '^refused: ' "$T/ex.out" && ok "libcolbundle_3_example_refuses_an_untrusted_bundle" ||
		not_ok "libcolbundle_3_example_refuses_an_untrusted_bundle" "exit $rc: $(cat "$T/ex.out")"
else
	not_ok "libcolbundle_3_example_compiles" "$(head -5 "$T/cc.err" 2>/dev/null | tr '\n' ' ')"
fi
"$P/bin/colbundle" version | grep -qF "colbundle $VERSION" && ok "installed_tool_runs" ||
	not_ok "installed_tool_runs" "$("$P/bin/colbundle" version 2>&1)"

# ---- bash completion, from the installed files ---------------------------------------
comp() { # WORDS...: the completions bash offers for the last word
	(cd "$T/cwd" && PATH="$P/bin:$PATH" bash --norc --noprofile -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
		_colbundle; [ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
		comp "$P/share/bash-completion/completions/colbundle" "$@")
}
mkdir -p "$T/cwd/keys.d" && touch "$T/cwd/pub.pub" "$T/cwd/site.colb"
want=$("$COLB" --help | awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit } on { print $1 }' | sort | tr '\n' ' ')
got=$(comp colbundle '' | sed 's/--help //; s/--version //; s/help //')
[ "$got" = "$want" ] && ok "completion_offers_every_command_of_the_tool" ||
	not_ok "completion_offers_every_command_of_the_tool" "want '$want', got '$got'"
got=$(comp colbundle help ver)
[ "$got" = "verify version " ] && ok "completion_offers_commands_after_help" ||
	not_ok "completion_offers_commands_after_help" "got '$got'"
got=$(comp colbundle verify --thr)
[ "$got" = "--threshold " ] && ok "completion_offers_a_commands_flags" || not_ok "completion_offers_a_commands_flags" "got '$got'"
got=$(comp colbundle verify --)
case " $got" in
*" --json "*" --trust "*) ok "completion_offers_all_flags_of_verify" ;;
*) not_ok "completion_offers_all_flags_of_verify" "got '$got'" ;;
esac
got=$(comp colbundle verify --trust p)
[ "$got" = "pub.pub " ] && ok "completion_offers_files_for_a_path_option" ||
	not_ok "completion_offers_files_for_a_path_option" "got '$got'"
got=$(comp colbundle verify s)
[ "$got" = "site.colb " ] && ok "completion_offers_files_for_a_bundle_argument" ||
	not_ok "completion_offers_files_for_a_bundle_argument" "got '$got'"
got=$(comp colbundle verify --threshold '')
[ -z "$got" ] && ok "completion_offers_nothing_for_a_number" || not_ok "completion_offers_nothing_for_a_number" "got '$got'"
got=$(comp colbundle extract site.colb '')
case $got in
*keys.d*) ok "completion_offers_paths_for_positional_arguments" ;;
*) not_ok "completion_offers_paths_for_positional_arguments" "got '$got'" ;;
esac
if "$COLB" help get 2>/dev/null | grep -q -- '--tee sgx|tdx'; then
	got=$(comp colbundle get site.colb intel tcbinfo --tee '')
	[ "$got" = "sgx tdx " ] && ok "completion_offers_the_words_of_a_choice" ||
		not_ok "completion_offers_the_words_of_a_choice" "got '$got'"
fi
if "$COLB" help capture 2>/dev/null | grep -q -- '--work DIR'; then
	got=$(comp colbundle capture --work '')
	[ "$got" = "keys.d " ] && ok "completion_offers_directories_for_a_DIR_option" ||
		not_ok "completion_offers_directories_for_a_DIR_option" "got '$got'"
fi

# ---- uninstall -----------------------------------------------------------------------
mk DESTDIR="$D" uninstall >"$T/un.log" 2>&1 || not_ok "make_uninstall" "$(tail -3 "$T/un.log")"
left=$(found "$D" | tr '\n' ' ')
[ -z "$left" ] && ok "uninstall_leaves_no_file_behind" || not_ok "uninstall_leaves_no_file_behind" "left: $left"
[ ! -d "$P/share/doc/colbundle" ] && ok "uninstall_removes_the_doc_directory" ||
	not_ok "uninstall_removes_the_doc_directory" "still there"

# ---- PREFIX and the configuration rule ---------------------------------------------------
D2="$T/opt"
mk DESTDIR="$D2" PREFIX=/opt/cb install >"$T/install2.log" 2>&1
layout "$D2" opt/cb | sort >"$T/want2"
found "$D2" >"$T/got2"
cmp -s "$T/want2" "$T/got2" && ok "install_honours_prefix" ||
	not_ok "install_honours_prefix" "$(diff "$T/want2" "$T/got2" | grep '^[<>]' | tr '\n' ' ')"
got=$(PKG_CONFIG_PATH="$D2/opt/cb/lib/pkgconfig" pkg-config --variable=prefix colbundle)
[ "$got" = /opt/cb ] && ok "pkg_config_prefix_follows_prefix" || not_ok "pkg_config_prefix_follows_prefix" "got '$got'"
mk DESTDIR="$D2" PREFIX=/opt/cb uninstall >/dev/null 2>&1
[ -z "$(found "$D2")" ] && ok "uninstall_with_prefix_leaves_nothing" || not_ok "uninstall_with_prefix_leaves_nothing" "$(found "$D2")"

# PREFIX=/usr, as packages install: the configuration goes to /etc, and a
# site's edited configuration survives a reinstall and an uninstall.
D3="$T/pkg"
mk DESTDIR="$D3" PREFIX=/usr install >"$T/install3.log" 2>&1
layout "$D3" usr etc | sort >"$T/want3"
found "$D3" >"$T/got3"
cmp -s "$T/want3" "$T/got3" && ok "install_with_prefix_usr_adds_etc_colbundle_conf" ||
	not_ok "install_with_prefix_usr_adds_etc_colbundle_conf" "$(diff "$T/want3" "$T/got3" | grep '^[<>]' | tr '\n' ' ')"
if [ -f "$TOP/samples/colbundle-serve.service" ]; then
	unit="$D3/usr/lib/systemd/system/colbundle-serve.service"
	exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit" 2>/dev/null)
	[ "$exec_start" = /usr/bin/colbundle ] && ok "serve_unit_runs_the_installed_tool" ||
		not_ok "serve_unit_runs_the_installed_tool" "ExecStart runs '$exec_start'"
	# Apart from that path, the unit is the sample.
	sed -E 's|^ExecStart=[^ ]*|ExecStart=X|' "$unit" >"$T/unit.got"
	sed -E 's|^ExecStart=[^ ]*|ExecStart=X|' "$TOP/samples/colbundle-serve.service" >"$T/unit.want"
	cmp -s "$T/unit.want" "$T/unit.got" && ok "serve_unit_is_the_sample_otherwise" ||
		not_ok "serve_unit_is_the_sample_otherwise" "$(diff "$T/unit.want" "$T/unit.got" | head -3 | tr '\n' ' ')"
fi
echo "threshold = 2" >>"$D3/etc/colbundle/colbundle.conf"
cp "$D3/etc/colbundle/colbundle.conf" "$T/edited.conf"
mk DESTDIR="$D3" PREFIX=/usr install >/dev/null 2>&1
cmp -s "$T/edited.conf" "$D3/etc/colbundle/colbundle.conf" && ok "reinstall_keeps_an_edited_configuration" ||
	not_ok "reinstall_keeps_an_edited_configuration" "the configuration was replaced"
mk DESTDIR="$D3" PREFIX=/usr uninstall >/dev/null 2>&1
left=$(found "$D3" | tr '\n' ' ')
[ "$left" = "etc/colbundle/colbundle.conf " ] && cmp -s "$T/edited.conf" "$D3/etc/colbundle/colbundle.conf" &&
	ok "uninstall_keeps_an_edited_configuration_and_nothing_else" ||
	not_ok "uninstall_keeps_an_edited_configuration_and_nothing_else" "left: $left"
rm -f "$D3/etc/colbundle/colbundle.conf"
mk DESTDIR="$D3" PREFIX=/usr install >/dev/null 2>&1
mk DESTDIR="$D3" PREFIX=/usr uninstall >/dev/null 2>&1
[ -z "$(found "$D3")" ] && [ ! -d "$D3/etc/colbundle" ] && ok "uninstall_removes_the_unedited_configuration" ||
	not_ok "uninstall_removes_the_unedited_configuration" "left: $(found "$D3" | tr '\n' ' ')"

done_testing
