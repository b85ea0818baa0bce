package release

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stage is one FROM section of the Dockerfile.
type stage struct {
	from  string
	lines []string // the instructions, continuation lines joined
}

func (s stage) has(prefix string) bool {
	return slices.ContainsFunc(s.lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// dockerStages parses the Dockerfile into its stages.
func dockerStages(t *testing.T) []stage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		stages  []stage
		pending string
	)
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += cont + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, stage{from: line})
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a multi-stage build", len(stages))
	}
	return stages
}

// The image is built from the checked-out tree into static binaries, and the
// default (last) stage runs both binaries as a non-root user.
func TestDockerfileBuildsTheTreeIntoANonRootImage(t *testing.T) {
	stages := dockerStages(t)
	build := stages[0]
	if !build.has("COPY . .") {
		t.Error("the build stage does not COPY the checked-out tree")
	}
	for _, s := range stages {
		for _, l := range s.lines {
			if strings.Contains(l, "git clone") {
				t.Errorf("the Dockerfile clones instead of using the tree: %q", l)
			}
		}
	}
	var buildCmd string
	for _, l := range build.lines {
		if strings.HasPrefix(l, "RUN") && strings.Contains(l, "go build") {
			buildCmd = l
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./client", "./server"} {
		if !strings.Contains(buildCmd, want) {
			t.Errorf("go build command lacks %q: %q", want, buildCmd)
		}
	}
	final := stages[len(stages)-1]
	for _, want := range []string{"COPY --from=build /out/client /bin/client", "COPY --from=build /out/server /bin/server",
		`ENTRYPOINT ["/bin/server"]`, "EXPOSE 29900/udp"} {
		if !final.has(want) {
			t.Errorf("the default stage lacks %q", want)
		}
	}
	var user string
	for _, l := range final.lines {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			user = u
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("the default stage runs as %q, want a non-root user", user)
	}
}

// .dockerignore must keep out what is not source, and keep in what the build
// needs.
func TestDockerignoreKeepsTheSources(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, strings.Trim(line, "/"))
		}
	}
	for _, need := range []string{"go.mod", "go.sum", "client", "server", "std", "*", "**"} {
		if slices.Contains(patterns, need) {
			t.Errorf(".dockerignore excludes %q, which the build needs", need)
		}
	}
	for _, out := range []string{".git", "dist"} {
		if !slices.Contains(patterns, out) {
			t.Errorf(".dockerignore does not exclude %q", out)
		}
	}
}
