// Package config holds the client's and the server's configuration, kcptun
// v20240729 compatible: one flag table for what both roles share, the JSON
// file given with -c, the mode presets and validation.
//
// A configuration is loaded in a fixed sequence of small steps:
//
//	defaults → KCPTUN_KEY (only when --key is absent) → command line →
//	JSON file (-c; keys present in the file override) →
//	SIP003 plugin environment (SS_PLUGIN_OPTIONS, then the SS_* addresses;
//	only when shadowsocks runs the process as its plugin) → mode preset →
//	Validate
//
// LoadClient and LoadServer run that sequence on an argument list;
// NewClientApp and NewServerApp wrap the same sequence in a urfave/cli app
// for the mains. Nothing here reads the environment or exits the process:
// the caller passes getenv and decides what to do with an error.
package config
