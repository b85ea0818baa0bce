package config

import (
	"errors"
	"fmt"

	"github.com/urfave/cli"
)

// ErrHelp and ErrVersion are returned by LoadClient and LoadServer when -h
// or -v was given; the apps print the text and return nil instead.
var (
	ErrHelp    = errors.New("help requested")
	ErrVersion = errors.New("version requested")
)

// ErrUsage is wrapped by errors about the command line itself: an unknown
// flag, a value that does not parse, a stray argument.
var ErrUsage = errors.New("incorrect usage")

// NewClientApp returns the client's urfave/cli app (Name "kcptun", so -v
// prints "kcptun version <version>"). Its Run parses the flags, loads the
// configuration and calls run with it and its warnings; a bad configuration
// makes Run return the error. getenv (nil: an empty environment) supplies
// KCPTUN_KEY.
func NewClientApp(version string, getenv func(string) string, run func(*Client, []string) error) *cli.App {
	return newApp(clientRole(), version, getenv, run, false)
}

// NewServerApp is NewClientApp for the server.
func NewServerApp(version string, getenv func(string) string, run func(*Server, []string) error) *cli.App {
	return newApp(serverRole(), version, getenv, run, false)
}

// role is what differs between the client and the server.
type role[T any] struct {
	name     string // help name, and argv[0] for Load
	usage    string
	defaults func() T
	flags    func(*T) []cli.Flag
	common   func(*T) *Common
	validate func(T) error
}

func clientRole() role[Client] {
	return role[Client]{
		name: "client", usage: "client(with SMUX)",
		defaults: DefaultClient, flags: clientFlags,
		common:   func(c *Client) *Common { return &c.Common },
		validate: Client.Validate,
	}
}

func serverRole() role[Server] {
	return role[Server]{
		name: "server", usage: "server(with SMUX)",
		defaults: DefaultServer, flags: serverFlags,
		common:   func(s *Server) *Common { return &s.Common },
		validate: Server.Validate,
	}
}

// parseState receives the flags that are not configuration fields.
type parseState struct {
	file          string // -c
	help, version bool
}

// newApp builds the app for role r. The flags write into one state that
// every Run resets to the defaults; run gets a copy. With reportShown, Run
// returns ErrHelp / ErrVersion after printing help / the version.
func newApp[T any](r role[T], version string, getenv func(string) string, run func(*T, []string) error, reportShown bool) *cli.App {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg := r.defaults()
	var st parseState
	app := &cli.App{
		Name:                  "kcptun",
		HelpName:              r.name,
		Usage:                 r.usage,
		Version:               version,
		HideHelp:              true, // help and version are our own flags,
		HideVersion:           true, // handled in Action (see reportShown)
		CustomAppHelpTemplate: helpTemplate,
		Flags:                 append(r.flags(&cfg), processFlags(&st)...),
	}
	app.OnUsageError = func(c *cli.Context, err error, _ bool) error {
		return fmt.Errorf("%w: %v (see %s -h)", ErrUsage, err, r.name)
	}
	shown := func(err error) error {
		if reportShown {
			return err
		}
		return nil
	}
	app.Action = func(c *cli.Context) error {
		switch {
		case st.help:
			if err := cli.ShowAppHelp(c); err != nil {
				return err
			}
			return shown(ErrHelp)
		case st.version:
			_, err := fmt.Fprintf(c.App.Writer, "%s version %s\n", c.App.Name, c.App.Version)
			if err != nil {
				return err
			}
			return shown(ErrVersion)
		case c.NArg() > 0:
			return fmt.Errorf("%w: unexpected argument %q: every setting is a flag, e.g. --mtu 1350 (see %s -h)", ErrUsage, c.Args().First(), r.name)
		}
		out := cfg
		warnings, err := r.complete(&out, c.IsSet("key"), st.file, getenv)
		if err != nil {
			return err
		}
		return run(&out, warnings)
	}
	return app
}

// helpTemplate is urfave/cli's app help with the version always shown
// (the app hides its built-in version flag to handle -v itself).
const helpTemplate = `NAME:
   {{.Name}}{{if .Usage}} - {{.Usage}}{{end}}

USAGE:
   {{.HelpName}} [global options]{{if .Version}}

VERSION:
   {{.Version}}{{end}}

GLOBAL OPTIONS:
   {{range $index, $option := .VisibleFlags}}{{if $index}}
   {{end}}{{$option}}{{end}}
`
