#!/usr/bin/env bash
# build-release.sh - cross-compile the kcptun-go release archives.
#
# Usage:
#   ./build-release.sh [VERSION]     build the archives (VERSION defaults to today's UTC date, YYYYMMDD)
#   ./build-release.sh --list        print the default target list and exit
#
# Environment:
#   OUT=DIR          output directory (default ./dist, relative to the current directory)
#   TARGETS="..."    build only these targets, space separated, e.g.
#                    TARGETS="linux/amd64 windows/amd64 linux/arm7" ./build-release.sh 20260101
#   JOBS=N           targets compiled at the same time (default 2; go build itself is parallel too)
#
# A target is OS/ARCH with Go's GOOS and GOARCH names, except 32-bit ARM, which is arm5, arm6 or
# arm7 (GOARM=5/6/7; plain "arm" is refused because the variant matters). mips and mipsle are built
# with GOMIPS=softfloat so that they also run on routers without an FPU. Every binary is static
# (CGO_ENABLED=0), built with -trimpath and stripped (-s -w), and `-v` prints
# "kcptun version VERSION".
#
# Output in $OUT, for each target:
#   kcptun-OS-ARCH-VERSION.tar.gz    with client_OS_ARCH and server_OS_ARCH (.exe on windows)
# and for the run:
#   SHA256SUMS                       `sha256sum -c SHA256SUMS` format, the archives of this run
#   LATEST                           the version; download.sh reads it to resolve "latest"
#
# If any target fails, the script names it, shows the end of its build log, writes no SHA256SUMS
# and exits 1.
set -euo pipefail

SRC=$(cd "$(dirname "$0")" && pwd)

OSES="aix darwin dragonfly freebsd linux netbsd openbsd solaris windows"
ARCHES="amd64 386 arm5 arm6 arm7 arm64 mips mipsle mips64 mips64le loong64 riscv64 ppc64le s390x"

die() {
	echo "build-release.sh: $*" >&2
	exit 1
}

# goarch_of maps our ARCH name to GOARCH (arm5/arm6/arm7 -> arm).
goarch_of() {
	case $1 in
	arm[5-7]) echo arm ;;
	*) echo "$1" ;;
	esac
}

# go_supports OS ARCH: does `go tool dist list` have the pair?
go_supports() {
	grep -qx "$1/$(goarch_of "$2")" <<<"$DIST_LIST"
}

# default_targets prints every OS/ARCH of OSES x ARCHES that Go supports. AIX is the exception:
# its only port is ppc64 (big endian), which users of the other systems do not run.
default_targets() {
	local os arch
	for os in $OSES; do
		if [ "$os" = aix ]; then
			echo aix/ppc64
			continue
		fi
		for arch in $ARCHES; do
			if go_supports "$os" "$arch"; then echo "$os/$arch"; fi
		done
	done
}

# check_target refuses what cannot be built, before anything is compiled.
check_target() {
	local t=$1 os arch
	case $t in
	*/*/* | /* | */ | *[!a-z0-9/]*) die "bad target '$t': want OS/ARCH, e.g. linux/amd64 or linux/arm7" ;;
	*/*) ;;
	*) die "bad target '$t': want OS/ARCH, e.g. linux/amd64 or linux/arm7" ;;
	esac
	os=${t%/*}
	arch=${t#*/}
	if [ "$arch" = arm ]; then die "bad target '$t': say $os/arm5, $os/arm6 or $os/arm7"; fi
	go_supports "$os" "$arch" || die "bad target '$t': Go does not support $os/$(goarch_of "$arch") (see go tool dist list)"
}

# build_one TARGET compiles both binaries of one target into its archive in $OUT. It prints one
# line and returns non-zero on failure (the log is kept in $WORK/logs).
build_one() {
	local t=$1 os arch goarch name ext stage log archive
	os=${t%/*}
	arch=${t#*/}
	goarch=$(goarch_of "$arch")
	name=${os}_${arch}
	ext=
	if [ "$os" = windows ]; then ext=.exe; fi
	stage=$WORK/stage/$os-$arch
	log=$WORK/logs/$os-$arch.log
	archive=kcptun-$os-$arch-$VERSION.tar.gz
	mkdir -p "$stage"

	local -a env=(CGO_ENABLED=0 "GOOS=$os" "GOARCH=$goarch")
	case $arch in
	arm[5-7]) env+=("GOARM=${arch#arm}") ;;
	mips | mipsle) env+=(GOMIPS=softfloat) ;;
	esac

	if (
		cd "$SRC" &&
			env "${env[@]}" go build -trimpath -ldflags "-X main.version=$VERSION -s -w" -o "$stage/" ./client ./server &&
			mv "$stage/client$ext" "$stage/client_$name$ext" &&
			mv "$stage/server$ext" "$stage/server_$name$ext" &&
			tar -C "$stage" -cf - "client_$name$ext" "server_$name$ext" | gzip -9 -n >"$OUT/$archive.part" &&
			mv "$OUT/$archive.part" "$OUT/$archive"
	) >"$log" 2>&1; then
		echo "ok      $t -> $archive"
	else
		rm -f "$OUT/$archive.part"
		{
			echo "FAILED  $t (${env[*]}), last lines of $log:"
			tail -n 20 "$log" | sed 's/^/    /'
		} >&2
		touch "$WORK/failed/$os-$arch"
		return 1
	fi
}

# sha256_of_files prints `sha256sum` style lines for the named files of the current directory.
sha256_of_files() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$@"
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$@"
	else
		die "need sha256sum or shasum to write SHA256SUMS"
	fi
}

main() {
	case ${1:-} in
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		return 0
		;;
	esac

	command -v go >/dev/null 2>&1 || die "go is not on PATH"
	DIST_LIST=$(go tool dist list) || die "go tool dist list failed"

	if [ "${1:-}" = --list ]; then
		default_targets
		return 0
	fi
	if [ $# -gt 1 ]; then die "usage: $0 [VERSION]   (or --list, --help)"; fi

	VERSION=${1:-$(date -u +%Y%m%d)}
	VERSION=${VERSION#v}
	[[ $VERSION =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "bad version '$VERSION': use letters, digits, . _ + -"

	local targets t
	targets=${TARGETS:-$(default_targets)}
	targets=$(tr -s '[:space:]' '\n' <<<"$targets" | sed '/^$/d')
	[ -n "$targets" ] || die "TARGETS is empty"
	for t in $targets; do check_target "$t"; done
	local dup
	dup=$(sort <<<"$targets" | uniq -d)
	[ -z "$dup" ] || die "target listed twice: $dup"

	local jobs=${JOBS:-2}
	[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive number, got '$jobs'"

	OUT=${OUT:-dist}
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/kcptun-release.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	mkdir -p "$WORK/logs" "$WORK/failed" "$WORK/stage"
	# A failed run must not leave a SHA256SUMS that looks like a release.
	rm -f "$OUT/SHA256SUMS" "$OUT/LATEST"

	echo "building kcptun-go $VERSION for $(wc -l <<<"$targets" | tr -d ' ') target(s) into $OUT, $jobs at a time"
	export SRC OUT WORK VERSION
	export -f build_one goarch_of
	# xargs keeps going after a failure, so one run reports every broken target.
	# shellcheck disable=SC2016 # $1 is expanded by the inner bash
	xargs -n 1 -P "$jobs" bash -c 'build_one "$1"' build_one <<<"$targets" || true

	local failed
	failed=$(cd "$WORK/failed" && ls)
	if [ -n "$failed" ]; then
		echo "build-release.sh: FAILED target(s): $(tr '\n' ' ' <<<"$failed" | sed 's/-/\//g; s/ $//')" >&2
		echo "build-release.sh: no SHA256SUMS written" >&2
		exit 1
	fi

	local -a archives=()
	for t in $targets; do archives+=("kcptun-${t%/*}-${t#*/}-$VERSION.tar.gz"); done
	(cd "$OUT" && sha256_of_files "${archives[@]}" >SHA256SUMS.part && mv SHA256SUMS.part SHA256SUMS)
	echo "$VERSION" >"$OUT/LATEST"
	echo "wrote ${#archives[@]} archive(s), SHA256SUMS and LATEST to $OUT"
}

main "$@"
