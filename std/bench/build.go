package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// ModulePath is this repository's module; BuildRepoPair builds its
// client and server commands.
const ModulePath = "github.com/kcptun-go/tunnel"

// BuildRepoPair builds this repository's client and server with `go
// build` (run in dir, which must lie inside the module; "" is the current
// directory) into outDir and returns them as pair name with tunnel flags
// args. env is the go command's environment (nil inherits).
func BuildRepoPair(ctx context.Context, dir, outDir, name string, args, env []string) (PairSpec, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", outDir+string(filepath.Separator),
		ModulePath+"/client", ModulePath+"/server")
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		return PairSpec{}, fmt.Errorf("bench: go build ./client ./server: %w\n%s", err, out)
	}
	return PairSpec{
		Name:   name,
		Client: filepath.Join(outDir, "client"),
		Server: filepath.Join(outDir, "server"),
		Args:   args,
	}, nil
}
