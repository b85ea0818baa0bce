package config

import "github.com/kcptun-go/tunnel/std/crypt"

// Common holds every setting both roles share. The json tags are the keys of
// the -c file (kcptun's names: the long flag names except qpp and qpp-count).
type Common struct {
	Key          string `json:"key"`
	Crypt        string `json:"crypt"`
	Mode         string `json:"mode"`
	MTU          int    `json:"mtu"`
	SndWnd       int    `json:"sndwnd"`
	RcvWnd       int    `json:"rcvwnd"`
	DataShard    int    `json:"datashard"`
	ParityShard  int    `json:"parityshard"`
	DSCP         int    `json:"dscp"`
	NoComp       bool   `json:"nocomp"`
	AckNodelay   bool   `json:"acknodelay"`
	NoDelay      int    `json:"nodelay"`
	Interval     int    `json:"interval"`
	Resend       int    `json:"resend"`
	NoCongestion int    `json:"nc"`
	SockBuf      int    `json:"sockbuf"`
	SmuxVer      int    `json:"smuxver"`
	SmuxBuf      int    `json:"smuxbuf"`
	StreamBuf    int    `json:"streambuf"`
	KeepAlive    int    `json:"keepalive"` // seconds
	Log          string `json:"log"`
	SnmpLog      string `json:"snmplog"`
	SnmpPeriod   int    `json:"snmpperiod"` // seconds
	Pprof        bool   `json:"pprof"`
	Metrics      string `json:"metrics"` // Prometheus host:port, "" = off
	SendCtl      string `json:"sendctl"` // SendCtlDelay, SendCtlRate or SendCtlOff (see package flow)
	Quiet        bool   `json:"quiet"`
	TCP          bool   `json:"tcp"`
	QPP          bool   `json:"qpp"`
	QPPCount     int    `json:"qpp-count"`
}

// The --sendctl values: how the sender sizes its window at run time.
const (
	SendCtlDelay = "delay" // the window follows the queueing delay (package flow); the default
	SendCtlRate  = "rate"  // window and pacing follow the rate the peer's ACKs show
	SendCtlOff   = "off"   // kcptun's behaviour: the fixed --sndwnd and interval
)

// SendCtlNames lists the --sendctl values.
func SendCtlNames() []string { return []string{SendCtlDelay, SendCtlRate, SendCtlOff} }

// RateControl reports whether sessions run the rate control: asked for
// with --sendctl rate (in any mode, --mode auto too) where it can see the
// ACKs (FEC on and a cipher other than aes-128-gcm, whose sealing kcp-go
// keeps). --mode auto otherwise runs the delay control, like the fixed
// modes: with the windows sized at run time it moved 1.11-1.37x the rate
// control on the bench's lossy links.
func (c Common) RateControl() bool {
	return c.SendCtl == SendCtlRate && c.canSeeACKs()
}

// SeesACKs reports whether sessions run on a transport.SealConn, which
// seals the packets itself and so reads the peer's ACKs: under any send
// control (--sendctl delay or rate, --mode auto) where FEC is on and the
// cipher is not aes-128-gcm. The delay control then counts only segments
// in flight in its window, not those acknowledged above a hole.
func (c Common) SeesACKs() bool {
	return c.SendCtl != SendCtlOff && c.canSeeACKs()
}

func (c Common) canSeeACKs() bool {
	return c.DataShard > 0 && c.ParityShard > 0 && !crypt.AEAD(c.Crypt)
}

// Client is the client's configuration.
type Client struct {
	Common
	LocalAddr   string `json:"localaddr"`  // TCP host:port, or a unix socket path
	RemoteAddr  string `json:"remoteaddr"` // HOST:PORT or HOST:MIN-MAX
	Conn        int    `json:"conn"`
	AutoExpire  int    `json:"autoexpire"`  // seconds, 0 = never
	ScavengeTTL int    `json:"scavengettl"` // seconds
}

// Server is the server's configuration.
type Server struct {
	Common
	Listen string `json:"listen"` // HOST:PORT or HOST:MIN-MAX
	Target string `json:"target"` // host:port, or a unix socket path
}
