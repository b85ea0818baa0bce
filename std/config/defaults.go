package config

// DefaultKey is kcptun's default --key, misspelling included.
const DefaultKey = "it's a secrect"

// defaultCommon holds the defaults both roles share (wire.md §4); the
// window sizes are set per role.
func defaultCommon() Common {
	return Common{
		Key:         DefaultKey,
		Crypt:       "aes",
		Mode:        "fast",
		MTU:         1350,
		DataShard:   10,
		ParityShard: 3,
		SockBuf:     4194304,
		SmuxVer:     1,
		SmuxBuf:     4194304,
		StreamBuf:   2097152,
		KeepAlive:   10,
		SnmpPeriod:  60,
		Interval:    50,
		QPPCount:    61,
		SendCtl:     SendCtlDelay,
	}
}

// DefaultClient returns the client's defaults (before the mode preset).
func DefaultClient() Client {
	c := Client{
		Common:      defaultCommon(),
		LocalAddr:   ":12948",
		RemoteAddr:  "vps:29900",
		Conn:        2, // kcptun's is 1: see tunnel.pickSlot
		AutoExpire:  0,
		ScavengeTTL: 600,
	}
	c.SndWnd, c.RcvWnd = 128, 512
	return c
}

// DefaultServer returns the server's defaults (before the mode preset).
func DefaultServer() Server {
	s := Server{
		Common: defaultCommon(),
		Listen: ":29900",
		Target: "127.0.0.1:12948",
	}
	s.SndWnd, s.RcvWnd = 1024, 1024
	return s
}
