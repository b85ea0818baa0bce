#!/bin/sh
# download.sh - fetch, verify and unpack a kcptun-go release for this machine.
#
# Usage:
#   ./download.sh [-d DIR] [VERSION]
#     VERSION   e.g. 20260101 (a leading "v" is ignored); default: the latest release
#     -d DIR    where to unpack the binaries (default ./kcptun)
#
# Environment:
#   KCPTUN_BASE_URL    where releases live (default https://github.com/kcptun-go/tunnel/releases/download)
#                      The files of version V are fetched from $KCPTUN_BASE_URL/vV/:
#                      kcptun-OS-ARCH-V.tar.gz and SHA256SUMS.
#   KCPTUN_LATEST_URL  a plain-text file holding the latest version (default: when KCPTUN_BASE_URL
#                      is set, $KCPTUN_BASE_URL/LATEST; otherwise
#                      https://github.com/kcptun-go/tunnel/releases/latest/download/LATEST, the
#                      LATEST file build-release.sh writes and every release uploads)
#   KCPTUN_OS, KCPTUN_ARCH   override the detection below (e.g. KCPTUN_ARCH=arm5 on an old router)
#
# A self-hosted mirror is a directory served over HTTP(S):
#   mirror/LATEST                  (the version, one line)
#   mirror/vV/SHA256SUMS
#   mirror/vV/kcptun-OS-ARCH-V.tar.gz
#
# The archive is checked against SHA256SUMS before anything is unpacked; on a mismatch the script
# stops with "checksum mismatch" and exit status 1. Needs curl or wget, tar with gzip, and one of
# sha256sum, shasum, sha256 or openssl.
set -eu

GITHUB=https://github.com/kcptun-go/tunnel/releases

die() {
	echo "download.sh: $*" >&2
	exit 1
}

# detect_os maps `uname -s` to Go's GOOS.
detect_os() {
	case $(uname -s) in
	Linux) echo linux ;;
	Darwin) echo darwin ;;
	FreeBSD) echo freebsd ;;
	NetBSD) echo netbsd ;;
	OpenBSD) echo openbsd ;;
	DragonFly) echo dragonfly ;;
	SunOS) echo solaris ;;
	AIX) echo aix ;;
	MINGW* | MSYS* | CYGWIN* | Windows_NT) echo windows ;;
	*) die "unknown system '$(uname -s)': set KCPTUN_OS (linux, darwin, windows, ...)" ;;
	esac
}

# little_endian succeeds on a little-endian machine (32-bit MIPS kernels say "mips" for both).
little_endian() {
	[ "$(printf '\001\000' | od -An -tu2 | tr -d ' ')" = 1 ]
}

# detect_arch maps `uname -m` to the release's ARCH names (GOARCH, with arm5/arm6/arm7).
detect_arch() {
	m=$(uname -m)
	if [ "$1" = aix ]; then
		echo ppc64
		return
	fi
	case $m in
	x86_64 | amd64 | x64) echo amd64 ;;
	i86pc) echo amd64 ;; # Solaris and illumos on x86, 64-bit since Solaris 11
	i386 | i486 | i586 | i686 | x86) echo 386 ;;
	aarch64 | arm64 | aarch64_be) echo arm64 ;;
	armv7* | armv8l) echo arm7 ;;
	armv6*) echo arm6 ;;
	armv5* | armv4* | arm) echo arm5 ;;
	mips64*)
		if little_endian; then echo mips64le; else echo mips64; fi
		;;
	mips*)
		if little_endian; then echo mipsle; else echo mips; fi
		;;
	loongarch64 | loong64) echo loong64 ;;
	riscv64) echo riscv64 ;;
	ppc64le) echo ppc64le ;;
	s390x) echo s390x ;;
	*) die "unknown machine '$m': set KCPTUN_ARCH (amd64, 386, arm5, arm6, arm7, arm64, mips, mipsle, ...)" ;;
	esac
}

# fetch URL FILE downloads with curl, or wget when there is no curl; fails on HTTP errors.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --retry 2 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1"
	else
		die "need curl or wget"
	fi
}

# sha256_of FILE prints the hex SHA-256 of FILE.
sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	elif command -v sha256 >/dev/null 2>&1; then
		sha256 -q "$1"
	elif command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 "$1" | sed 's/.*= *//'
	else
		die "need sha256sum, shasum, sha256 or openssl to verify the checksum"
	fi
}

# verify_checksum ARCHIVE SUMS aborts unless SUMS lists ARCHIVE's name with its SHA-256.
verify_checksum() {
	name=$(basename "$1")
	want=$(awk -v f="$name" '$2 == f || $2 == "*" f { print $1; exit }' "$2")
	[ -n "$want" ] || die "checksum missing: SHA256SUMS has no line for $name"
	got=$(sha256_of "$1")
	if [ "$want" != "$got" ]; then
		die "checksum mismatch for $name: SHA256SUMS says $want, the download is $got; nothing was installed"
	fi
}

main() {
	dir=./kcptun
	while [ $# -gt 0 ]; do
		case $1 in
		-d)
			[ $# -ge 2 ] || die "-d needs a directory"
			dir=$2
			shift 2
			;;
		-h | --help)
			sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
			exit 0
			;;
		-*) die "unknown option $1 (usage: download.sh [-d DIR] [VERSION])" ;;
		*) break ;;
		esac
	done
	[ $# -le 1 ] || die "usage: download.sh [-d DIR] [VERSION]"

	os=${KCPTUN_OS:-$(detect_os)}
	arch=${KCPTUN_ARCH:-$(detect_arch "$os")}
	if [ -n "${KCPTUN_BASE_URL:-}" ]; then
		base=${KCPTUN_BASE_URL%/}
		latest_url=${KCPTUN_LATEST_URL:-$base/LATEST}
	else
		base=$GITHUB/download
		latest_url=${KCPTUN_LATEST_URL:-$GITHUB/latest/download/LATEST}
	fi

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/kcptun-download.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 1' INT TERM

	version=${1:-}
	if [ -z "$version" ]; then
		fetch "$latest_url" "$tmp/LATEST" || die "cannot download $latest_url (the latest version)"
		version=$(tr -d ' \t\r\n' <"$tmp/LATEST")
		[ -n "$version" ] || die "$latest_url is empty"
	fi
	version=${version#v}
	case $version in
	*[!A-Za-z0-9._+-]*) die "bad version '$version'" ;;
	esac

	archive=kcptun-$os-$arch-$version.tar.gz
	echo "downloading kcptun-go $version for $os/$arch from $base/v$version/"
	fetch "$base/v$version/SHA256SUMS" "$tmp/SHA256SUMS" ||
		die "cannot download $base/v$version/SHA256SUMS (is there a release $version?)"
	fetch "$base/v$version/$archive" "$tmp/$archive" ||
		die "cannot download $base/v$version/$archive (no release for $os/$arch? KCPTUN_OS and KCPTUN_ARCH override the detection)"
	verify_checksum "$tmp/$archive" "$tmp/SHA256SUMS"
	echo "checksum OK ($archive)"

	ext=
	if [ "$os" = windows ]; then ext=.exe; fi
	mkdir -p "$dir"
	tar -xzf "$tmp/$archive" -C "$dir" "client_${os}_$arch$ext" "server_${os}_$arch$ext" ||
		die "cannot unpack $archive into $dir"
	dir=$(cd "$dir" && pwd)
	echo "client: $dir/client_${os}_$arch$ext"
	echo "server: $dir/server_${os}_$arch$ext"
}

main "$@"
