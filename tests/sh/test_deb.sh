#!/bin/sh
# make deb: one package built once, then its control fields, its runtime
# dependencies, its contents list (the layout of `make install PREFIX=/usr`),
# its conffiles, ldconfig trigger and checksums, and that what it unpacks runs.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

VERSION=$(sed -n 's/^VERSION *:= *//p' "$TOP/Makefile")
ARCH=$(dpkg --print-architecture)
# -o all: package what the suite built, never rebuild it with other flags.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s -o all -C "$TOP" B="$B" "$@"; }

# A fixed SOURCE_DATE_EPOCH: every time in the package must be this one.
SDE=1700000000
if ! deb=$(SOURCE_DATE_EPOCH=$SDE mk deb 2>"$T/deb.err") || [ ! -f "$deb" ]; then
	not_ok "make_deb_builds_a_package" "$(tail -5 "$T/deb.err" | tr '\n' ' ')"
	# dpkg itself installs, removes and purges the package in a private root
# (dependencies forced: the private root has no other package).
R="$T/dpkgroot"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
: >"$R/var/lib/dpkg/status"
files() { (cd "$R" && find . -path ./var -prune -o \( -type f -o -type l \) -print | sed 's|^\./||' | sort); }
if dpkg --root="$R" --force-depends --force-not-root -i "$deb" >"$T/dpkg.log" 2>&1; then
	files | while read -r f; do [ -L "$R/$f" ] && echo "$f -> $(readlink "$R/$f")" || echo "$f"; done >"$T/dpkg.files"
	cmp -s "$T/want" "$T/dpkg.files" && ok "dpkg_installs_the_package_with_the_install_layout" ||
		not_ok "dpkg_installs_the_package_with_the_install_layout" "$(diff "$T/want" "$T/dpkg.files" | grep '^[<>]' | tr '\n' ' ')"
	dpkg --root="$R" -r colbundle >>"$T/dpkg.log" 2>&1
	left=$(files | tr '\n' ' ')
	[ "$left" = "etc/colbundle/colbundle.conf " ] && ok "dpkg_remove_keeps_only_the_configuration" ||
		not_ok "dpkg_remove_keeps_only_the_configuration" "left: $left"
	dpkg --root="$R" -P colbundle >>"$T/dpkg.log" 2>&1
	left=$(files | tr '\n' ' ')
	[ -z "$left" ] && ok "dpkg_purge_leaves_nothing" || not_ok "dpkg_purge_leaves_nothing" "left: $left"
else
	not_ok "dpkg_installs_the_package_with_the_install_layout" "$(grep -v 'depends on\|not installed\|dependency problems' "$T/dpkg.log" | tail -3 | tr '\n' ' ')"
fi

done_testing
	exit 1
fi
[ "$(basename "$deb")" = "colbundle_${VERSION}_$ARCH.deb" ] && ok "make_deb_builds_a_package ($(basename "$deb"))" ||
	not_ok "make_deb_builds_a_package" "named $(basename "$deb")"

field() { dpkg-deb -f "$deb" "$1"; }
bad=""
[ "$(field Package)" = colbundle ] || bad="$bad Package=$(field Package)"
[ "$(field Version)" = "$VERSION" ] || bad="$bad Version=$(field Version)"
[ "$(field Architecture)" = "$ARCH" ] || bad="$bad Architecture=$(field Architecture)"
[ -n "$(field Maintainer)" ] || bad="$bad no-Maintainer"
[ -n "$(field Description)" ] || bad="$bad no-Description"
[ -z "$bad" ] && ok "control_names_package_version_and_architecture" || not_ok "control_names_package_version_and_architecture" "$bad"

# Depends comes from the ELF files' needed libraries: each one must be there.
depends=$(field Depends)
missing=""
for p in libc6 libssl3 libsodium23 libarchive13 libjansson4 libcurl4 libmicrohttpd12; do
	case ", $depends," in *", $p "* | *", $p,"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && ok "depends_names_every_runtime_library_package" ||
	not_ok "depends_names_every_runtime_library_package" "missing:$missing in '$depends'"
# Each dependency is a real package, installed on this (build) machine.
absent=""
for p in $(echo "$depends" | tr ',' '\n' | sed 's/(.*//; s/|.*//' | tr -d ' '); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || absent="$absent $p"
done
[ -z "$absent" ] && ok "every_dependency_is_an_installed_debian_package" ||
	not_ok "every_dependency_is_an_installed_debian_package" "not installed here:$absent"
case $(field Conflicts) in
*libsgx-dcap-default-qpl*) ok "conflicts_with_the_other_quote_provider_libraries" ;;
*) not_ok "conflicts_with_the_other_quote_provider_libraries" "Conflicts: $(field Conflicts)" ;;
esac

# The contents list is the layout of a DESTDIR install with PREFIX=/usr.
mk DESTDIR="$T/ref" PREFIX=/usr install >"$T/ref.log" 2>&1 || not_ok "reference_install" "$(tail -3 "$T/ref.log")"
(cd "$T/ref" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort | while read -r f; do
	if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f"; fi
done) >"$T/want"
dpkg-deb -c "$deb" >"$T/contents"
awk '$1 !~ /^d/ { $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); sub(/^\.\//, ""); print }' "$T/contents" | sort >"$T/got"
if [ -s "$T/want" ] && cmp -s "$T/want" "$T/got"; then
	ok "contents_list_is_the_install_layout ($(wc -l <"$T/got") entries)"
else
	not_ok "contents_list_is_the_install_layout" "$(diff "$T/want" "$T/got" | grep '^[<>]' | tr '\n' ' ')"
fi
for f in usr/bin/colbundle usr/lib/libcolbundle.so.1 usr/lib/libdcap_quoteprov.so.1 usr/include/colbundle.h \
	usr/lib/pkgconfig/colbundle.pc usr/share/man/man1/colbundle.1 usr/share/man/man3/libcolbundle.3 \
	usr/share/man/man5/colbundle.conf.5 usr/share/bash-completion/completions/colbundle etc/colbundle/colbundle.conf; do
	grep -qx "$f" "$T/got" || missing="$missing $f"
done
[ -z "$missing" ] && ok "contents_list_holds_tool_libraries_header_pc_man_completion_conf" ||
	not_ok "contents_list_holds_tool_libraries_header_pc_man_completion_conf" "missing:$missing"
stamp=$(TZ=UTC date -d "@$SDE" '+%Y-%m-%d %H:%M')
times=$(TZ=UTC dpkg-deb -c "$deb" | awk '{ print $4 " " $5 }' | sort -u | tr '\n' ';')
[ "$times" = "$stamp;" ] && ok "every_file_time_is_source_date_epoch" ||
	not_ok "every_file_time_is_source_date_epoch" "want $stamp, got $times"
owners=$(awk '$1 !~ /^d/ && $2 != "root/root" { print $6 }' "$T/contents" | tr '\n' ' ')
[ -z "$owners" ] && ok "every_file_is_owned_by_root" || not_ok "every_file_is_owned_by_root" "not root: $owners"

mkdir -p "$T/ctl"
dpkg-deb -e "$deb" "$T/ctl"
[ "$(cat "$T/ctl/conffiles" 2>/dev/null)" = /etc/colbundle/colbundle.conf ] && ok "the_configuration_is_a_conffile" ||
	not_ok "the_configuration_is_a_conffile" "conffiles: $(cat "$T/ctl/conffiles" 2>/dev/null)"
grep -qx 'activate-noawait ldconfig' "$T/ctl/triggers" 2>/dev/null && ok "install_triggers_ldconfig" ||
	not_ok "install_triggers_ldconfig" "triggers: $(cat "$T/ctl/triggers" 2>/dev/null)"

# What the package unpacks: checksums hold, and the tool runs.
dpkg-deb -x "$deb" "$T/x"
if (cd "$T/x" && md5sum --quiet -c "$T/ctl/md5sums") >"$T/md5.out" 2>&1 &&
	[ "$(wc -l <"$T/ctl/md5sums")" = "$(awk '$1 ~ /^-/' "$T/contents" | wc -l)" ]; then
	ok "md5sums_cover_every_file_and_hold"
else
	not_ok "md5sums_cover_every_file_and_hold" "$(head -3 "$T/md5.out" | tr '\n' ' ')"
fi
out=$("$T/x/usr/bin/colbundle" version 2>&1)
case $out in
"colbundle $VERSION"*) ok "packaged_tool_runs ($out)" ;;
*) not_ok "packaged_tool_runs" "got '$out'" ;;
esac
cmp -s "$T/x/etc/colbundle/colbundle.conf" "$TOP/samples/colbundle.conf" && ok "packaged_configuration_is_the_sample" ||
	not_ok "packaged_configuration_is_the_sample" "differs"
if [ -f "$TOP/samples/colbundle-serve.service" ]; then
	exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$T/x/usr/lib/systemd/system/colbundle-serve.service" 2>/dev/null)
	[ "$exec_start" = /usr/bin/colbundle ] && ok "packaged_serve_unit_runs_usr_bin_colbundle" ||
		not_ok "packaged_serve_unit_runs_usr_bin_colbundle" "ExecStart runs '$exec_start'"
fi
# The packaged configuration parses: every key commented out, so a reader
# reports the missing bundle, not a syntax error.
err=$(COLBUNDLE_CONF="$T/x/etc/colbundle/colbundle.conf" COLBUNDLE_TRUST= "$COLB" verify 2>&1)
case $err in
*"colbundle.conf:"[0-9]*) not_ok "packaged_configuration_parses" "$err" ;;
*) ok "packaged_configuration_parses" ;;
esac

# dpkg itself installs, removes and purges the package in a private root
# (dependencies forced: the private root has no other package).
R="$T/dpkgroot"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
: >"$R/var/lib/dpkg/status"
files() { (cd "$R" && find . -path ./var -prune -o \( -type f -o -type l \) -print | sed 's|^\./||' | sort); }
if dpkg --root="$R" --force-depends --force-not-root -i "$deb" >"$T/dpkg.log" 2>&1; then
	files | while read -r f; do [ -L "$R/$f" ] && echo "$f -> $(readlink "$R/$f")" || echo "$f"; done >"$T/dpkg.files"
	cmp -s "$T/want" "$T/dpkg.files" && ok "dpkg_installs_the_package_with_the_install_layout" ||
		not_ok "dpkg_installs_the_package_with_the_install_layout" "$(diff "$T/want" "$T/dpkg.files" | grep '^[<>]' | tr '\n' ' ')"
	dpkg --root="$R" -r colbundle >>"$T/dpkg.log" 2>&1
	left=$(files | tr '\n' ' ')
	[ "$left" = "etc/colbundle/colbundle.conf " ] && ok "dpkg_remove_keeps_only_the_configuration" ||
		not_ok "dpkg_remove_keeps_only_the_configuration" "left: $left"
	dpkg --root="$R" -P colbundle >>"$T/dpkg.log" 2>&1
	left=$(files | tr '\n' ' ')
	[ -z "$left" ] && ok "dpkg_purge_leaves_nothing" || not_ok "dpkg_purge_leaves_nothing" "left: $left"
else
	not_ok "dpkg_installs_the_package_with_the_install_layout" "$(grep -v 'depends on\|not installed\|dependency problems' "$T/dpkg.log" | tail -3 | tr '\n' ' ')"
fi

done_testing
