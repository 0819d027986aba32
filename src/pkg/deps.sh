#!/bin/sh
# Installs the Debian packages colbundle needs, when they are missing.
# Run by `make check`, `make demo` and `make deps`. As root it installs with
# apt-get; otherwise it prints the apt-get line to run and fails.
set -eu

# pkg-config module -> Debian package
modules="libarchive:libarchive-dev libcrypto:libssl-dev libsodium:libsodium-dev zlib:zlib1g-dev
jansson:libjansson-dev libcurl:libcurl4-openssl-dev libmicrohttpd:libmicrohttpd-dev cmocka:libcmocka-dev"
# command -> Debian package
commands="pkg-config:pkg-config cc:gcc make:make curl:curl openssl:openssl clang:clang wrk:wrk
groff:groff-base dpkg-shlibdeps:dpkg-dev bash:bash python3:python3 valgrind:valgrind pgrep:procps"
want=""

for m in $modules; do
	mod=${m%%:*}; pkg=${m#*:}
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$mod" 2>/dev/null; then
		want="$want $pkg"
	fi
done
for c in $commands; do
	cmd=${c%%:*}; pkg=${c#*:}
	command -v "$cmd" >/dev/null 2>&1 || want="$want $pkg"
done
# clang's fuzzer and sanitizer runtimes (make fuzz)
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] ||
	ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 ||
	want="$want libclang-rt-dev"

[ -n "$want" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "colbundle: missing build dependencies. Install them with:" >&2
	echo "  sudo apt-get install$want" >&2
	exit 1
fi
echo "colbundle: installing:$want"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $want >/dev/null
