package release

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// mirror serves a release directory (build-release.sh's OUT) the way
// download.sh expects it: /LATEST and /v<version>/<file>. It records the
// paths asked for.
type mirror struct {
	URL  string
	mu   sync.Mutex
	hits []string
}

func serveMirror(t *testing.T, dir string) *mirror {
	t.Helper()
	m := &mirror{}
	files := http.FileServer(http.Dir(dir))
	mux := http.NewServeMux()
	mux.HandleFunc("/LATEST", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(dir, "LATEST"))
	})
	mux.Handle("/v"+version+"/", http.StripPrefix("/v"+version, files))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.hits = append(m.hits, r.URL.Path)
		m.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

func (m *mirror) requested() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.hits)
}

// needFetcher skips when download.sh would have neither curl nor wget.
func needFetcher(t *testing.T) {
	t.Helper()
	needTools(t, "sh", "tar", "gzip", "od")
	_, curl := exec.LookPath("curl")
	_, wget := exec.LookPath("wget")
	if curl != nil && wget != nil {
		t.Skip("download.sh needs curl or wget; neither is installed")
	}
}

// runDownload runs download.sh against a base URL with extra environment.
func runDownload(t *testing.T, baseURL string, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	env := scriptEnv(append([]string{"KCPTUN_BASE_URL=" + baseURL, "NO_PROXY=*", "no_proxy=*"}, extraEnv...)...)
	return runScript(t, env, "sh", append([]string{filepath.Join(repoRoot(t), "download.sh")}, args...)...)
}

// copyRelease copies a release directory, so that a test can damage the copy.
func copyRelease(t *testing.T, dist string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dist, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testDownloadInstalls: with no version, download.sh resolves LATEST, fetches
// this machine's archive, verifies and unpacks it, and says where the
// binaries are; they run.
func testDownloadInstalls(t *testing.T, dist string, host target) {
	needFetcher(t)
	m := serveMirror(t, dist)
	dest := filepath.Join(t.TempDir(), "kcptun")
	out, err := runDownload(t, m.URL, nil, "-d", dest)
	if err != nil {
		t.Fatalf("download.sh -d %s: %v\n%s", dest, err, out)
	}
	wantHits := []string{"/LATEST", "/v" + version + "/SHA256SUMS", "/v" + version + "/" + host.archive()}
	if got := m.requested(); !slices.Equal(got, wantHits) {
		t.Errorf("download.sh fetched %q, want %q", got, wantHits)
	}
	for _, role := range []string{"client", "server"} {
		path := filepath.Join(dest, host.binary(role))
		if !strings.Contains(out, role+": "+path) {
			t.Errorf("output does not say where the %s is (%s):\n%s", role, path, out)
		}
		checkVersion(t, path)
	}
}

// testDownloadInstallsVersion: given a version (with the tag's "v"),
// download.sh fetches that release without asking for LATEST, verifies and
// unpacks it.
func testDownloadInstallsVersion(t *testing.T, dist string, host target) {
	needFetcher(t)
	m := serveMirror(t, dist)
	dest := filepath.Join(t.TempDir(), "kcptun")
	out, err := runDownload(t, m.URL, nil, "-d", dest, "v"+version)
	if err != nil {
		t.Fatalf("download.sh -d %s v%s: %v\n%s", dest, version, err, out)
	}
	wantHits := []string{"/v" + version + "/SHA256SUMS", "/v" + version + "/" + host.archive()}
	if got := m.requested(); !slices.Equal(got, wantHits) {
		t.Errorf("download.sh fetched %q, want %q", got, wantHits)
	}
	if !strings.Contains(out, "checksum OK") {
		t.Errorf("output does not say the checksum was verified:\n%s", out)
	}
	for _, role := range []string{"client", "server"} {
		checkVersion(t, filepath.Join(dest, host.binary(role)))
	}
}

// testDownloadRejects: download.sh, given a release damaged by damage, exits
// non-zero, says "checksum" and installs nothing.
func testDownloadRejects(t *testing.T, dist string, host target, damage func(t *testing.T, mirrorDir string)) {
	needFetcher(t)
	dir := copyRelease(t, dist)
	damage(t, dir)
	m := serveMirror(t, dir)
	dest := filepath.Join(t.TempDir(), "kcptun")
	out, err := runDownload(t, m.URL, nil, "-d", dest, version)
	if err == nil {
		t.Fatalf("download.sh accepted a damaged release:\n%s", out)
	}
	if !strings.Contains(out, "checksum") {
		t.Errorf("output does not say \"checksum\":\n%s", out)
	}
	if entries, _ := os.ReadDir(dest); len(entries) > 0 {
		t.Errorf("download.sh unpacked %d file(s) from a damaged release into %s", len(entries), dest)
	}
	if slices.Contains(m.requested(), "/LATEST") {
		t.Error("download.sh asked for LATEST although a version was given")
	}
}

// fakeUname writes a `uname` that answers -s and -m from the environment.
func fakeUname(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\ncase $1 in -m) echo \"$FAKE_UNAME_M\" ;; *) echo \"$FAKE_UNAME_S\" ;; esac\n"
	if err := os.WriteFile(filepath.Join(dir, "uname"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// download.sh maps what uname says to the release's OS-ARCH names; the test
// watches which archive it asks the mirror for.
func TestDownloadMapsUnameToReleaseNames(t *testing.T) {
	needFetcher(t)
	little := binary.NativeEndian.Uint16([]byte{1, 0}) == 1
	mips, mips64 := "mips", "mips64"
	if little {
		mips, mips64 = "mipsle", "mips64le"
	}
	cases := []struct{ s, m, want string }{
		{"Linux", "x86_64", "linux-amd64"},
		{"Linux", "i686", "linux-386"},
		{"Linux", "aarch64", "linux-arm64"},
		{"Linux", "armv7l", "linux-arm7"},
		{"Linux", "armv8l", "linux-arm7"},
		{"Linux", "armv6l", "linux-arm6"},
		{"Linux", "armv5tel", "linux-arm5"},
		{"Linux", "mips", "linux-" + mips},
		{"Linux", "mips64", "linux-" + mips64},
		{"Linux", "loongarch64", "linux-loong64"},
		{"Linux", "riscv64", "linux-riscv64"},
		{"Linux", "ppc64le", "linux-ppc64le"},
		{"Linux", "s390x", "linux-s390x"},
		{"Darwin", "arm64", "darwin-arm64"},
		{"Darwin", "x86_64", "darwin-amd64"},
		{"FreeBSD", "amd64", "freebsd-amd64"},
		{"OpenBSD", "arm64", "openbsd-arm64"},
		{"NetBSD", "amd64", "netbsd-amd64"},
		{"DragonFly", "x86_64", "dragonfly-amd64"},
		{"SunOS", "i86pc", "solaris-amd64"},
		{"AIX", "00F84C0C4C00", "aix-ppc64"},
		{"MINGW64_NT-10.0-19045", "x86_64", "windows-amd64"},
	}
	dir := t.TempDir()
	for _, name := range []string{"LATEST", "SHA256SUMS"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(version+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := serveMirror(t, dir) // has no archives: download.sh stops at the 404
	path := fakeUname(t) + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, tc := range cases {
		t.Run(tc.s+"/"+tc.m, func(t *testing.T) {
			env := []string{"PATH=" + path, "FAKE_UNAME_S=" + tc.s, "FAKE_UNAME_M=" + tc.m}
			out, err := runDownload(t, m.URL, env, "-d", t.TempDir(), version)
			if err == nil {
				t.Fatalf("download.sh succeeded without an archive:\n%s", out)
			}
			want := "/v" + version + "/kcptun-" + tc.want + "-" + version + ".tar.gz"
			if !slices.Contains(m.requested(), want) {
				t.Errorf("uname %s %s: download.sh did not ask for %s:\n%s", tc.s, tc.m, want, out)
			}
		})
	}

	t.Run("unknown machine", func(t *testing.T) {
		env := []string{"PATH=" + path, "FAKE_UNAME_S=Linux", "FAKE_UNAME_M=sparc64"}
		out, err := runDownload(t, m.URL, env, "-d", t.TempDir(), version)
		if err == nil || !strings.Contains(out, "KCPTUN_ARCH") {
			t.Errorf("download.sh on sparc64: err %v, want a failure that mentions KCPTUN_ARCH:\n%s", err, out)
		}
	})

	t.Run("KCPTUN_ARCH overrides uname", func(t *testing.T) {
		env := []string{"PATH=" + path, "FAKE_UNAME_S=Linux", "FAKE_UNAME_M=armv7l", "KCPTUN_ARCH=arm5"}
		out, _ := runDownload(t, m.URL, env, "-d", t.TempDir(), version)
		want := "/v" + version + "/kcptun-linux-arm5-" + version + ".tar.gz"
		if !slices.Contains(m.requested(), want) {
			t.Errorf("download.sh with KCPTUN_ARCH=arm5 did not ask for %s:\n%s", want, out)
		}
	})
}
