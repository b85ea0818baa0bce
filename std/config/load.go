package config

import (
	"io"
)

// EnvKey is the environment variable that supplies --key when the command
// line has none.
const EnvKey = "KCPTUN_KEY"

// LoadClient loads the client's configuration from args (without argv[0])
// the way the client app does, and returns it with its warnings. It returns
// ErrHelp or ErrVersion (printing nothing) for -h or -v.
func LoadClient(args []string, getenv func(string) string) (*Client, []string, error) {
	return load(clientRole(), args, getenv)
}

// LoadServer is LoadClient for the server.
func LoadServer(args []string, getenv func(string) string) (*Server, []string, error) {
	return load(serverRole(), args, getenv)
}

// load runs the role's app with a run func that captures the result.
func load[T any](r role[T], args []string, getenv func(string) string) (*T, []string, error) {
	var (
		cfg      *T
		warnings []string
	)
	capture := func(c *T, w []string) error {
		cfg, warnings = c, w
		return nil
	}
	app := newApp(r, "", getenv, capture, true)
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	if err := app.Run(append([]string{r.name}, args...)); err != nil {
		return nil, nil, err
	}
	return cfg, warnings, nil
}

// complete runs the load steps after the command line was parsed into cfg:
// KCPTUN_KEY (when --key was absent) → JSON file → SIP003 plugin
// environment (SS_PLUGIN_OPTIONS, then the SS_* addresses) → mode preset
// (under a send control, default windows become AutoWnd ceilings) → Validate.
// Applying the environment after the flags is the same as before them, as
// it only fills a --key that the command line left out.
func (r role[T]) complete(cfg *T, keyOnCommandLine bool, file string, getenv func(string) string) ([]string, error) {
	common := r.common(cfg)
	if !keyOnCommandLine {
		applyEnvKey(common, getenv)
	}
	if file != "" {
		if err := loadJSONFile(file, cfg); err != nil {
			return nil, err
		}
	}
	if err := applyPlugin(cfg, getenv); err != nil { // SIP003: SS_* variables
		return nil, err
	}
	common.ApplyModePreset()
	def := r.defaults()
	common.applyWindowCeilings(*r.common(&def))
	if err := r.validate(*cfg); err != nil {
		return nil, err
	}
	return common.Warnings(), nil
}

// applyEnvKey sets the key from KCPTUN_KEY when that is set and not empty.
func applyEnvKey(c *Common, getenv func(string) string) {
	if k := getenv(EnvKey); k != "" {
		c.Key = k
	}
}
