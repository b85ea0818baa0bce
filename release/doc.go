// Package release has no code: its tests run build-release.sh, download.sh
// and check the Dockerfile in the repository root, the way a maintainer
// cutting a release and a user installing one would.
package release
