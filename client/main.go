// Command client is the tunnel's client: it listens for local TCP (or unix)
// connections and carries them over KCP to the server.
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
	os.Exit(app.Main(os.Args, version, app.Role[config.Client]{
		NewCLI: config.NewClientApp,
		Common: func(c *config.Client) *config.Common { return &c.Common },
		Service: func(c *config.Client, log *slog.Logger) (app.Service, error) {
			return tunnel.NewClient(c, log)
		},
	}))
}
