package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/kcptun-go/tunnel/std/netem"
)

// PairSpec names a kcptun-compatible client and server binary and the
// tunnel flags both get (crypt, mode, key, ...). The bench adds the
// addresses: the server gets -l 127.0.0.1:PORT -t TARGET, the client
// -l 127.0.0.1:PORT -r RELAY.
type PairSpec struct {
	Name   string   `json:"name"`
	Client string   `json:"client_bin"`
	Server string   `json:"server_bin"`
	Args   []string `json:"args"`
}

// pair is a running client and server with a relay between them.
type pair struct {
	client, server *process
	relay          *relay
	clientAddr     string
}

// startAttempts is how often a pair is started with fresh ports before
// giving up (another program may take a port between picking and use).
const startAttempts = 3

// startPair starts spec's server (forwarding to target) and client (via a
// relay impairing both directions with link) and waits until an echo
// probe passes through the tunnel.
func startPair(ctx context.Context, spec PairSpec, target string, link netem.Spec, seed uint64, env []string, timeout time.Duration) (*pair, error) {
	var errs []error
	for range startAttempts {
		p, err := startPairOnce(ctx, spec, target, link, seed, env, timeout)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("bench: pair %s: %w", spec.Name, errors.Join(errs...))
}

func startPairOnce(ctx context.Context, spec PairSpec, target string, link netem.Spec, seed uint64, env []string, timeout time.Duration) (_ *pair, err error) {
	serverPort, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	clientPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	serverAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: serverPort}
	relay, err := newRelay(serverAddr, link, seed)
	if err != nil {
		return nil, err
	}
	p := &pair{relay: relay, clientAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	go relay.serve()
	defer func() {
		if err != nil {
			p.close()
		}
	}()

	serverArgs := append([]string{"-l", serverAddr.String(), "-t", target}, spec.Args...)
	if p.server, err = startProcess(spec.Name+" server", spec.Server, serverArgs, env); err != nil {
		return nil, err
	}
	clientArgs := append([]string{"-l", p.clientAddr, "-r", relay.addr().String()}, spec.Args...)
	if p.client, err = startProcess(spec.Name+" client", spec.Client, clientArgs, env); err != nil {
		return nil, err
	}
	return p, p.waitReady(ctx, timeout)
}

// freePort asks the kernel for a free port on 127.0.0.1 and releases it.
func freePort(network string) (int, error) {
	var addr net.Addr
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("bench: free udp port: %w", err)
		}
		addr = c.LocalAddr()
		c.Close()
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("bench: free tcp port: %w", err)
		}
		addr = l.Addr()
		l.Close()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return strconv.Atoi(port)
}

// waitReady probes until an echo passes through the tunnel, a process
// exits (errPortTaken: worth a retry with new ports) or timeout passes.
func (p *pair) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		for _, proc := range []*process{p.server, p.client} {
			if proc.exited() {
				return fmt.Errorf("%w: %w", errPortTaken, proc.exitError())
			}
		}
		probeCtx, cancelProbe := context.WithTimeout(ctx, 5*time.Second)
		last = probeOnce(probeCtx, p.dial)
		cancelProbe()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w within %v: %w", ErrNotReady, timeout, last)
		case <-time.After(20 * time.Millisecond): // poll interval between probes, not a synchronisation
		}
	}
}

func (p *pair) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", p.clientAddr)
}

// usage is the CPU time both processes used so far.
func (p *pair) usage() (client, server time.Duration, err error) {
	client, err1 := ProcCPU(p.client.pid())
	server, err2 := ProcCPU(p.server.pid())
	return client, server, errors.Join(err1, err2)
}

// peakRSS is both processes' peak resident set in bytes.
func (p *pair) peakRSS() (client, server int64, err error) {
	client, err1 := ProcPeakRSS(p.client.pid())
	server, err2 := ProcPeakRSS(p.server.pid())
	return client, server, errors.Join(err1, err2)
}

// rss is both processes' current resident set in bytes.
func (p *pair) rss() (client, server int64, err error) {
	client, err1 := ProcRSS(p.client.pid())
	server, err2 := ProcRSS(p.server.pid())
	return client, server, errors.Join(err1, err2)
}

// alive reports an unexpected exit of either process.
func (p *pair) alive() error {
	for _, proc := range []*process{p.server, p.client} {
		if proc.exited() {
			return proc.exitError()
		}
	}
	return nil
}

func (p *pair) close() {
	for _, proc := range []*process{p.client, p.server} {
		if proc != nil {
			proc.stop(3 * time.Second)
		}
	}
	p.relay.close()
}
