package config

import (
	"fmt"
	"net"
	"strconv"
)

// metricsProblems reports a --metrics value that is not host:port.
func (c Common) metricsProblems(p *problems) {
	if c.Metrics == "" {
		return
	}
	_, port, err := net.SplitHostPort(c.Metrics)
	if err != nil {
		p.add("metrics", c.Metrics, "want host:port, e.g. 127.0.0.1:9100")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("metrics", c.Metrics, "port must be a number between 0 and 65535, e.g. 127.0.0.1:9100")
	}
}

// metricsWarnings warns when --metrics listens beyond loopback: anyone
// who reaches it reads the peer addresses and traffic figures.
func (c Common) metricsWarnings() []string {
	host, _, err := net.SplitHostPort(c.Metrics)
	if c.Metrics == "" || err != nil || isLoopbackHost(host) {
		return nil
	}
	return []string{fmt.Sprintf("--metrics %s is not a loopback address: whoever can reach it reads the peer addresses and traffic figures; prefer 127.0.0.1", c.Metrics)}
}

// isLoopbackHost reports whether host is localhost or a loopback IP; an
// empty host (all interfaces) is not.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
