#!/bin/sh
# Builds the Debian package: a DESTDIR install with PREFIX=/usr (the layout
# of `make install`), its runtime dependencies found by dpkg-shlibdeps from
# the ELF files' needed libraries, then dpkg-deb.
#
# usage: sh src/pkg/deb.sh BUILD_DIR VERSION    (run by `make deb`)
# Writes BUILD_DIR/colbundle_VERSION_ARCH.deb and prints its path.
set -eu
B=$1 version=$2
top=$(pwd)
stage=$top/$B/deb
root=$stage/root
arch=$(dpkg --print-architecture)
out=$top/$B/colbundle_${version}_$arch.deb

# Reproducible: every file's time in the package is the last commit's (or
# the caller's SOURCE_DATE_EPOCH), so the same tree gives the same bytes.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

rm -rf "$stage"
mkdir -p "$root/DEBIAN" "$stage/shlibs/debian"
# A clean sub-make: only B is passed down, never the caller's -j or flags;
# `make deb` has just built `all` (-o all: install it, never rebuild it
# with other flags).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} --no-print-directory -s -o all \
	B="$B" PREFIX=/usr DESTDIR="$root" install >/dev/null

# dpkg-shlibdeps wants a debian/control naming the package; it answers
# "shlibs:Depends=libc6 (>= 2.34), libssl3 (>= 3.0.0), ...".
printf 'Source: colbundle\n\nPackage: colbundle\nArchitecture: any\n' >"$stage/shlibs/debian/control"
elves=$(find "$root" -type f \( -name '*.so.*' -o -path '*/bin/*' \) | sort)
# shellcheck disable=SC2086
depends=$(cd "$stage/shlibs" && dpkg-shlibdeps -O --ignore-missing-info $(for e in $elves; do printf ' -e%s' "$e"; done) 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "src/pkg/deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: colbundle
Version: $version
Architecture: $arch
Maintainer: colbundle maintainers <colbundle@localhost>
Installed-Size: $size
Depends: $depends
Conflicts: az-dcap-client, libsgx-dcap-default-qpl
Section: admin
Priority: optional
Description: signed, verified attestation collateral bundles for air-gapped sites
 colbundle captures a fleet's Intel SGX/TDX and AMD SEV-SNP attestation
 collateral into a signed, versioned bundle, installs it on a site without
 network access, and serves it only after verifying the bundle's signatures
 and the collateral's vendor signatures: through the colbundle tool, an HTTP
 endpoint with PCS/PCCS, KDS and THIM paths, and the quote provider library
 libdcap_quoteprov.so.1 (which is why it conflicts with the other providers
 of that library).
 .
 This package holds the tool, libcolbundle (shared and static, header,
 pkg-config file), the quote provider library, manual pages, bash
 completion, a commented configuration and the sample systemd unit.
CONTROL

# /etc files are conffiles: an upgrade never overwrites a site's edits.
(cd "$root" && find etc -type f 2>/dev/null | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
[ -s "$root/DEBIAN/conffiles" ] || rm -f "$root/DEBIAN/conffiles"
# The shared libraries are in /usr/lib: refresh the ld.so cache.
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort | xargs md5sum) \
	>"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/"*

dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
