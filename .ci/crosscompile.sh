#!/usr/bin/env bash
# crosscompile.sh - compile every package (client, server and std/...) for each GOOS the release
# ships, one architecture each, so that a Linux-only call never breaks another system's build.
# No archives, nothing written: `go build` of several packages discards the result.
#
# The flags match build-release.sh (CGO_ENABLED=0, -trimpath), so this also warms the build cache
# for the release test in release/.
#
# Usage: .ci/crosscompile.sh            (exits non-zero and names every target that failed)
#        TARGETS="windows/amd64" .ci/crosscompile.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# amd64 where the system has it; AIX only has ppc64. linux/arm (GOARM=7) and linux/mipsle
# (softfloat) stand for the 32-bit router builds: constant overflows of int show up there.
DEFAULT_TARGETS="aix/ppc64 darwin/amd64 dragonfly/amd64 freebsd/amd64 linux/amd64 linux/arm7
linux/mipsle netbsd/amd64 openbsd/amd64 solaris/amd64 windows/amd64"

failed=()
for t in ${TARGETS:-$DEFAULT_TARGETS}; do
	os=${t%/*}
	arch=${t#*/}
	env=(CGO_ENABLED=0 "GOOS=$os" "GOARCH=$arch")
	case $arch in
	arm[5-7]) env=(CGO_ENABLED=0 "GOOS=$os" GOARCH=arm "GOARM=${arch#arm}") ;;
	mips | mipsle) env+=(GOMIPS=softfloat) ;;
	esac
	echo "== go build ./... for $t"
	if ! env "${env[@]}" go build -trimpath ./...; then
		failed+=("$t")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "crosscompile: FAILED for ${failed[*]}" >&2
	exit 1
fi
echo "crosscompile: all targets build"
