// Command server is the tunnel's server: it accepts KCP sessions from
// clients and opens every stream they carry to the target.
package main

import (
	"log/slog"
	"os"

	"github.com/kcptun-go/tunnel/std/app"
	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/tunnel"
)

// version is stamped by build-release.sh with -ldflags "-X main.version=...".
var version = "SELFBUILD"

func main() {
	os.Exit(app.Main(os.Args, version, app.Role[config.Server]{
		NewCLI: config.NewServerApp,
		Common: func(c *config.Server) *config.Common { return &c.Common },
		Service: func(c *config.Server, log *slog.Logger) (app.Service, error) {
			return tunnel.NewServer(c, log)
		},
	}))
}
