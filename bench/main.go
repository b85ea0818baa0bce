// Command bench measures this repository's tunnel (or any kcptun-compatible
// client and server binaries) over an emulated link and prints a table;
// `go run ./bench` is a quick run over the lossy profile and `go run
// ./bench --full --json FILE --plot FILE.png` the complete one. See
// package std/bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kcptun-go/tunnel/std/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := bench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.TempDir())
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the usage is printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if errors.Is(err, bench.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
