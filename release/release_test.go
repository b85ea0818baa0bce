package release

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"debug/pe"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// version is stamped into the test release; not a date, so that a stale
// binary from a real release can never pass for it.
const version = "20990101.test"

// repoRoot is where the scripts live.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// needTools skips the test when the machine lacks what the scripts need.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the release scripts need a POSIX shell")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
}

// scriptEnv is the test's environment without anything that steers the
// scripts (targets, output, download overrides, proxies for 127.0.0.1), plus
// extra.
func scriptEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "KCPTUN_"),
			name == "TARGETS", name == "OUT", name == "JOBS",
			strings.EqualFold(name, "http_proxy"), strings.EqualFold(name, "https_proxy"),
			strings.EqualFold(name, "all_proxy"), strings.EqualFold(name, "no_proxy"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runScript runs a script and returns its combined output and exit error.
func runScript(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// target is one release target, e.g. {"linux", "arm7"}.
type target struct{ os, arch string }

func (tg target) String() string { return tg.os + "/" + tg.arch }
func (tg target) archive() string {
	return "kcptun-" + tg.os + "-" + tg.arch + "-" + version + ".tar.gz"
}

func (tg target) binary(role string) string {
	name := role + "_" + tg.os + "_" + tg.arch
	if tg.os == "windows" {
		name += ".exe"
	}
	return name
}

// hostTarget is the release target whose binaries run on this machine.
func hostTarget() (target, bool) {
	arch := runtime.GOARCH
	if arch == "arm" {
		arch = "arm7"
	}
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly", "solaris":
		return target{runtime.GOOS, arch}, true
	}
	return target{}, false
}

// extract unpacks an archive with tar into a new directory and returns the
// directory with the names of what it holds.
func extract(t *testing.T, archive string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", archive, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xzf %s: %v\n%s", filepath.Base(archive), err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return dir, names
}

// checkMachine asserts that an executable was built for the target's
// system and processor, and that an ELF one is static.
func checkMachine(t *testing.T, tg target, path string) {
	t.Helper()
	name := filepath.Base(path)
	if tg.os == "windows" {
		f, err := pe.Open(path)
		if err != nil {
			t.Fatalf("%s: not a Windows executable: %v", name, err)
		}
		defer f.Close()
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "386": pe.IMAGE_FILE_MACHINE_I386, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[tg.arch]
		if f.Machine != want {
			t.Errorf("%s: PE machine %#x, want %#x", name, f.Machine, want)
		}
		return
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: not an ELF executable: %v", name, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm7": elf.EM_ARM, "arm64": elf.EM_AARCH64, "386": elf.EM_386}[tg.arch]
	if want != 0 && f.Machine != want {
		t.Errorf("%s: ELF machine %v, want %v", name, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (has an interpreter); want a static binary", name)
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s: has a symbol table; want it stripped (-s -w)", name)
	}
}

// sha256Sums parses a SHA256SUMS file into name → hex digest.
func sha256Sums(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("%s: malformed line %q", path, line)
		}
		sums[name] = sum
	}
	return sums
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// buildRelease runs build-release.sh for targets into a new directory.
func buildRelease(t *testing.T, targets []target) string {
	t.Helper()
	dist := t.TempDir()
	var names []string
	for _, tg := range targets {
		names = append(names, tg.String())
	}
	out, err := runScript(t, scriptEnv("OUT="+dist, "TARGETS="+strings.Join(names, " ")),
		"bash", filepath.Join(repoRoot(t), "build-release.sh"), version)
	if err != nil {
		t.Fatalf("build-release.sh %s: %v\n%s", names, err, out)
	}
	return dist
}

// checkVersion runs `BINARY -v` and wants "kcptun version <version>".
func checkVersion(t *testing.T, binary string) {
	t.Helper()
	out, err := exec.Command(binary, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -v: %v\n%s", binary, err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "kcptun version "+version; got != want {
		t.Errorf("%s -v printed %q, want %q", filepath.Base(binary), got, want)
	}
}

func TestBuildReleaseAndDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: cross-compiles 3 targets with build-release.sh (about 10 s with a warm build cache, a minute cold)")
	}
	needTools(t, "bash", "sh", "tar", "gzip")
	targets := []target{{"linux", "amd64"}, {"windows", "amd64"}, {"linux", "arm7"}}
	host, hostOK := hostTarget()
	if hostOK && !slices.Contains(targets, host) {
		targets = append(targets, host)
	}
	dist := buildRelease(t, targets)

	t.Run("archives", func(t *testing.T) {
		for _, tg := range targets {
			dir, got := extract(t, filepath.Join(dist, tg.archive()))
			want := []string{tg.binary("client"), tg.binary("server")}
			if !slices.Equal(got, want) {
				t.Errorf("%s holds %q, want %q", tg.archive(), got, want)
				continue
			}
			for _, name := range want {
				path := filepath.Join(dir, name)
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode()&0o111 == 0 {
					t.Errorf("%s: %s is not executable (mode %v)", tg.archive(), name, fi.Mode())
				}
				checkMachine(t, tg, path)
			}
		}
	})

	t.Run("SHA256SUMS", func(t *testing.T) {
		sums := sha256Sums(t, filepath.Join(dist, "SHA256SUMS"))
		if len(sums) != len(targets) {
			t.Errorf("SHA256SUMS has %d lines, want one per archive (%d)", len(sums), len(targets))
		}
		for _, tg := range targets {
			if got := fileSHA256(t, filepath.Join(dist, tg.archive())); sums[tg.archive()] != got {
				t.Errorf("SHA256SUMS says %s for %s, the file is %s", sums[tg.archive()], tg.archive(), got)
			}
		}
		if _, err := exec.LookPath("sha256sum"); err != nil {
			return
		}
		cmd := exec.Command("sha256sum", "-c", "SHA256SUMS")
		cmd.Dir = dist
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
		}
	})

	t.Run("LATEST", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dist, "LATEST"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(data)); got != version {
			t.Errorf("LATEST holds %q, want %q", got, version)
		}
	})

	if !hostOK {
		t.Logf("no release target runs on %s/%s: binaries and download.sh not run", runtime.GOOS, runtime.GOARCH)
		return
	}

	t.Run("binaries print the version", func(t *testing.T) {
		dir, _ := extract(t, filepath.Join(dist, host.archive()))
		checkVersion(t, filepath.Join(dir, host.binary("client")))
		checkVersion(t, filepath.Join(dir, host.binary("server")))
	})

	t.Run("download.sh installs the latest release", func(t *testing.T) {
		testDownloadInstalls(t, dist, host)
	})

	t.Run("download.sh installs a given version", func(t *testing.T) {
		testDownloadInstallsVersion(t, dist, host)
	})

	t.Run("download.sh aborts on a corrupted archive", func(t *testing.T) {
		testDownloadRejects(t, dist, host, func(t *testing.T, mirror string) {
			corruptByte(t, filepath.Join(mirror, host.archive()))
		})
	})

	t.Run("download.sh aborts on a wrong SHA256SUMS line", func(t *testing.T) {
		testDownloadRejects(t, dist, host, func(t *testing.T, mirror string) {
			path := filepath.Join(mirror, "SHA256SUMS")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			good := fileSHA256(t, filepath.Join(mirror, host.archive()))
			bad := strings.Repeat("0", 64)
			if !bytes.Contains(data, []byte(good)) {
				t.Fatalf("SHA256SUMS lacks %s", good)
			}
			if err := os.WriteFile(path, bytes.ReplaceAll(data, []byte(good), []byte(bad)), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// corruptByte flips one byte in the middle of a file.
func corruptByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildReleaseListsEverySystem(t *testing.T) {
	needTools(t, "bash", "go")
	out, err := runScript(t, scriptEnv(), "bash", filepath.Join(repoRoot(t), "build-release.sh"), "--list")
	if err != nil {
		t.Fatalf("build-release.sh --list: %v\n%s", err, out)
	}
	list := strings.Fields(out)
	for _, sys := range []string{"aix", "darwin", "dragonfly", "freebsd", "linux", "netbsd", "openbsd", "solaris", "windows"} {
		if !slices.ContainsFunc(list, func(tg string) bool { return strings.HasPrefix(tg, sys+"/") }) {
			t.Errorf("no target for %s in %q", sys, list)
		}
	}
	for _, tg := range []string{"linux/amd64", "linux/386", "linux/arm5", "linux/arm6", "linux/arm7", "linux/arm64",
		"linux/mips", "linux/mipsle", "linux/mips64", "linux/mips64le", "linux/loong64", "linux/riscv64",
		"linux/ppc64le", "linux/s390x", "windows/amd64", "windows/arm64", "darwin/arm64", "aix/ppc64"} {
		if !slices.Contains(list, tg) {
			t.Errorf("target %s missing from %q", tg, list)
		}
	}
	for _, tg := range list {
		if strings.HasSuffix(tg, "/arm") {
			t.Errorf("target %s: 32-bit ARM must be arm5, arm6 or arm7", tg)
		}
	}
}

// A target that cannot be built stops the release with a non-zero exit that
// names it, and leaves no SHA256SUMS behind.
func TestBuildReleaseFailsLoudly(t *testing.T) {
	needTools(t, "bash", "go")
	cases := []struct {
		name    string
		env     []string
		targets string
		wants   []string
	}{
		{"unknown pair", nil, "linux/amd64 plan9/sparc", []string{"plan9/sparc"}},
		{"arm without a variant", nil, "linux/arm", []string{"linux/arm", "arm5", "arm7"}},
		// A toolexec that always fails makes go build itself fail, at once.
		{"compile failure", []string{"GOFLAGS=-toolexec=false"}, "linux/amd64 linux/arm7", []string{"FAILED", "linux/amd64", "linux/arm7"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dist := t.TempDir()
			env := append(scriptEnv("OUT="+dist, "TARGETS="+tc.targets), tc.env...)
			out, err := runScript(t, env, "bash", filepath.Join(repoRoot(t), "build-release.sh"), version)
			if err == nil {
				t.Fatalf("build-release.sh with TARGETS=%q succeeded:\n%s", tc.targets, out)
			}
			for _, want := range tc.wants {
				if !strings.Contains(out, want) {
					t.Errorf("output does not mention %q:\n%s", want, out)
				}
			}
			for _, name := range []string{"SHA256SUMS", "LATEST", "kcptun-linux-amd64-" + version + ".tar.gz"} {
				if _, err := os.Stat(filepath.Join(dist, name)); err == nil {
					t.Errorf("%s written by a failed build", name)
				}
			}
		})
	}
}

// TestBuildReleaseStampsTodaysDate: without a VERSION argument the release
// is today's (UTC) date, YYYYMMDD, in the archive names, LATEST and what
// the binaries print for -v.
func TestBuildReleaseStampsTodaysDate(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds one target with build-release.sh")
	}
	needTools(t, "bash", "tar", "gzip")
	host, ok := hostTarget()
	if !ok {
		t.Skipf("no release target runs on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	dist := t.TempDir()
	before := time.Now().UTC().Format("20060102")
	out, err := runScript(t, scriptEnv("OUT="+dist, "TARGETS="+host.String()),
		"bash", filepath.Join(repoRoot(t), "build-release.sh"))
	if err != nil {
		t.Fatalf("build-release.sh (no version): %v\n%s", err, out)
	}
	after := time.Now().UTC().Format("20060102")
	data, err := os.ReadFile(filepath.Join(dist, "LATEST"))
	if err != nil {
		t.Fatal(err)
	}
	date := strings.TrimSpace(string(data))
	if date != before && date != after {
		t.Fatalf("LATEST holds %q, want today's UTC date %s", date, after)
	}
	archive := "kcptun-" + host.os + "-" + host.arch + "-" + date + ".tar.gz"
	sums := sha256Sums(t, filepath.Join(dist, "SHA256SUMS"))
	if _, ok := sums[archive]; !ok || len(sums) != 1 {
		t.Errorf("SHA256SUMS lists %v, want only %s", sums, archive)
	}
	dir, _ := extract(t, filepath.Join(dist, archive))
	for _, role := range []string{"client", "server"} {
		bin := filepath.Join(dir, host.binary(role))
		got, err := exec.Command(bin, "-v").CombinedOutput()
		if err != nil {
			t.Fatalf("%s -v: %v\n%s", bin, err, got)
		}
		if want := "kcptun version " + date; strings.TrimSpace(string(got)) != want {
			t.Errorf("%s -v printed %q, want %q", host.binary(role), strings.TrimSpace(string(got)), want)
		}
	}
}
