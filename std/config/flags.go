package config

import (
	"strings"

	"github.com/urfave/cli"
)

// cryptUsage and modeUsage are kcptun's usage texts (plus aes-128-gcm and
// auto).
const (
	cryptUsage = "aes, aes-128, aes-192, salsa20, blowfish, twofish, cast5, 3des, tea, xtea, xor, sm4, none, null, aes-128-gcm"
	modeUsage  = "profiles: fast3, fast2, fast, normal, manual, auto (tunes windows, pacing and parity at run time)"
)

// commonFlags is the one flag table for what both roles share: every
// Common field is registered here once, its current value as the default.
func commonFlags(c *Common) []cli.Flag {
	return []cli.Flag{
		cli.StringFlag{Name: "key", Value: c.Key, Destination: &c.Key,
			Usage: "pre-shared secret between client and server (or set $KCPTUN_KEY)"},
		cli.StringFlag{Name: "crypt", Value: c.Crypt, Destination: &c.Crypt, Usage: cryptUsage},
		cli.StringFlag{Name: "mode", Value: c.Mode, Destination: &c.Mode, Usage: modeUsage},
		cli.BoolFlag{Name: "QPP", Destination: &c.QPP,
			Usage: "enable Quantum Permutation Pads(QPP)"},
		cli.IntFlag{Name: "QPPCount", Value: c.QPPCount, Destination: &c.QPPCount,
			Usage: "the prime number of pads to use for QPP: The more pads you use, the more secure the encryption. Each pad requires 256 bytes."},
		cli.IntFlag{Name: "mtu", Value: c.MTU, Destination: &c.MTU,
			Usage: "set maximum transmission unit for UDP packets"},
		cli.IntFlag{Name: "sndwnd", Value: c.SndWnd, Destination: &c.SndWnd,
			Usage: "set send window size(num of packets); under --sendctl delay or rate the ceiling of the window sized at run time (4096 when left at the default)"},
		cli.IntFlag{Name: "rcvwnd", Value: c.RcvWnd, Destination: &c.RcvWnd,
			Usage: "set receive window size(num of packets); under --sendctl delay or rate the ceiling of the window sized at run time (4096 when left at the default)"},
		cli.IntFlag{Name: "datashard, ds", Value: c.DataShard, Destination: &c.DataShard,
			Usage: "set reed-solomon erasure coding - datashard"},
		cli.IntFlag{Name: "parityshard, ps", Value: c.ParityShard, Destination: &c.ParityShard,
			Usage: "set reed-solomon erasure coding - parityshard"},
		cli.IntFlag{Name: "dscp", Value: c.DSCP, Destination: &c.DSCP, Usage: "set DSCP(6bit)"},
		cli.BoolFlag{Name: "nocomp", Destination: &c.NoComp, Usage: "disable compression"},
		cli.BoolFlag{Name: "acknodelay", Destination: &c.AckNodelay, Hidden: true,
			Usage: "flush ack immediately when a packet is received"},
		cli.IntFlag{Name: "nodelay", Value: c.NoDelay, Destination: &c.NoDelay, Hidden: true},
		cli.IntFlag{Name: "interval", Value: c.Interval, Destination: &c.Interval, Hidden: true},
		cli.IntFlag{Name: "resend", Value: c.Resend, Destination: &c.Resend, Hidden: true},
		cli.IntFlag{Name: "nc", Value: c.NoCongestion, Destination: &c.NoCongestion, Hidden: true},
		cli.IntFlag{Name: "sockbuf", Value: c.SockBuf, Destination: &c.SockBuf,
			Usage: "per-socket buffer in bytes"},
		cli.IntFlag{Name: "smuxver", Value: c.SmuxVer, Destination: &c.SmuxVer,
			Usage: "specify smux version, available 1,2"},
		cli.IntFlag{Name: "smuxbuf", Value: c.SmuxBuf, Destination: &c.SmuxBuf,
			Usage: "the overall de-mux buffer in bytes"},
		cli.IntFlag{Name: "streambuf", Value: c.StreamBuf, Destination: &c.StreamBuf,
			Usage: "per stream receive buffer in bytes, smux v2+"},
		cli.IntFlag{Name: "keepalive", Value: c.KeepAlive, Destination: &c.KeepAlive,
			Usage: "seconds between heartbeats"},
		cli.StringFlag{Name: "snmplog", Value: c.SnmpLog, Destination: &c.SnmpLog,
			Usage: "collect snmp to file, aware of timeformat in golang, like: ./snmp-20060102.log"},
		cli.IntFlag{Name: "snmpperiod", Value: c.SnmpPeriod, Destination: &c.SnmpPeriod,
			Usage: "snmp collect period, in seconds"},
		cli.StringFlag{Name: "log", Value: c.Log, Destination: &c.Log,
			Usage: "specify a log file to output, default goes to stderr"},
		cli.BoolFlag{Name: "quiet", Destination: &c.Quiet,
			Usage: "to suppress the 'stream open/close' messages"},
		cli.BoolFlag{Name: "tcp", Destination: &c.TCP, Usage: "to emulate a TCP connection(linux)"},
		cli.BoolFlag{Name: "pprof", Destination: &c.Pprof,
			Usage: "start profiling server on 127.0.0.1:6060"},
		cli.StringFlag{Name: "sendctl", Value: c.SendCtl, Destination: &c.SendCtl,
			Usage: "send window control: delay (size the window at run time to keep the link's queue short), rate (window and pacing from the rate the peer's ACKs show; needs FEC and a crypt other than aes-128-gcm) or off (the fixed --sndwnd, as kcptun); no wire change"},
		cli.StringFlag{Name: "metrics", Value: c.Metrics, Destination: &c.Metrics,
			Usage: "serve Prometheus metrics on this host:port at /metrics, e.g. 127.0.0.1:9100 (off when empty)"},
	}
}

// clientFlags lists the client-only flags followed by the shared ones.
func clientFlags(c *Client) []cli.Flag {
	own := []cli.Flag{
		cli.StringFlag{Name: "localaddr, l", Value: c.LocalAddr, Destination: &c.LocalAddr,
			Usage: "local listen address, or path/to/unix_socket"},
		cli.StringFlag{Name: "remoteaddr, r", Value: c.RemoteAddr, Destination: &c.RemoteAddr,
			Usage: `kcp server address, eg: "IP:29900" for a single port, "IP:minport-maxport" for port range`},
		cli.IntFlag{Name: "conn", Value: c.Conn, Destination: &c.Conn,
			Usage: "set num of UDP connections to server (each new connection goes to the least busy)"},
		cli.IntFlag{Name: "autoexpire", Value: c.AutoExpire, Destination: &c.AutoExpire,
			Usage: "set auto expiration time(in seconds) for a single UDP connection, 0 to disable"},
		cli.IntFlag{Name: "scavengettl", Value: c.ScavengeTTL, Destination: &c.ScavengeTTL,
			Usage: "set how long an expired connection can live (in seconds)"},
	}
	return append(own, commonFlags(&c.Common)...)
}

// serverFlags lists the server-only flags followed by the shared ones.
func serverFlags(s *Server) []cli.Flag {
	own := []cli.Flag{
		cli.StringFlag{Name: "listen, l", Value: s.Listen, Destination: &s.Listen,
			Usage: `kcp server listen address, eg: "IP:29900" for a single port, "IP:minport-maxport" for port range`},
		cli.StringFlag{Name: "target, t", Value: s.Target, Destination: &s.Target,
			Usage: "target server address, or path/to/unix_socket"},
	}
	return append(own, commonFlags(&s.Common)...)
}

// processFlags are the flags that are not configuration fields: the JSON
// file, help and version.
func processFlags(s *parseState) []cli.Flag {
	return []cli.Flag{
		cli.StringFlag{Name: "c", Destination: &s.file,
			Usage: "config from json file, which will override the command from shell"},
		cli.BoolFlag{Name: "help, h", Destination: &s.help, Usage: "show help"},
		cli.BoolFlag{Name: "version, v", Destination: &s.version, Usage: "print the version"},
	}
}

// HiddenSuffix marks a hidden flag in ClientFlagNames and ServerFlagNames.
const HiddenSuffix = " (hidden)"

// ClientFlagNames lists every client flag name, aliases included, in help
// order; hidden flags end in HiddenSuffix ("nodelay (hidden)").
func ClientFlagNames() []string {
	var c Client
	var s parseState
	return flagNames(append(clientFlags(&c), processFlags(&s)...))
}

// ServerFlagNames lists every server flag name like ClientFlagNames.
func ServerFlagNames() []string {
	var v Server
	var s parseState
	return flagNames(append(serverFlags(&v), processFlags(&s)...))
}

func flagNames(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		for name := range strings.SplitSeq(f.GetName(), ",") {
			name = strings.TrimSpace(name)
			if isHidden(f) {
				name += HiddenSuffix
			}
			names = append(names, name)
		}
	}
	return names
}

func isHidden(f cli.Flag) bool {
	switch f := f.(type) {
	case cli.IntFlag:
		return f.Hidden
	case cli.StringFlag:
		return f.Hidden
	case cli.BoolFlag:
		return f.Hidden
	}
	return false
}
