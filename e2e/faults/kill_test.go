//go:build linux

package faults

import (
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The server is killed (SIGKILL) in the middle of a download and started
// again on the same port, the client running on: the download's local
// connection is closed well before smux's 30 s timeout with a warning in
// the client's log, and new local connections work within 5 s of the
// server's return. With --keepalive 2 the client gives a silent server
// 2 s + 2 s (the default 10 s gives 15 s). The same holds with --mode
// auto, whose sessions run on a transport.SealConn.
func TestServerKilledAndRestarted(t *testing.T) {
	for _, mode := range []string{"fast3", "auto"} {
		t.Run(mode, func(t *testing.T) { serverKilledAndRestarted(t, mode) })
	}
}

func serverKilledAndRestarted(t *testing.T, mode string) {
	const (
		silenceLimit  = 4 * time.Second
		recoverWithin = 5 * time.Second
	)
	tn := startTunnel(t, startTarget(t), nil, "--keepalive", "2", "--mode", mode)
	first := tn.dial(t)
	if err := exchange(first, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	first.Close()
	download := tn.dial(t)
	if err := ask(download, 100, 200, 50*time.Millisecond); err != nil { // 10 s of chunks
		t.Fatal(err)
	}
	if err := readChunks(download, 100, 0, 2); err != nil {
		t.Fatal(err)
	}

	tn.server.cmd.Process.Signal(syscall.SIGKILL)
	<-tn.server.exited
	killed := time.Now()
	tn.startServer(t)
	back := time.Now()

	// New connections: each attempt gets 2 s; the client moves new streams
	// to a new session once the old one leaves a request unanswered.
	var err error
	for seed := uint32(200); time.Since(back) < recoverWithin; seed++ {
		var c net.Conn
		if c, err = net.Dial("tcp", tn.local); err != nil {
			t.Fatal(err)
		}
		err = exchange(c, seed, 2*time.Second)
		c.Close()
		if err == nil {
			t.Logf("new connections work %v after the server's return", time.Since(back).Round(time.Millisecond))
			break
		}
	}
	if err != nil {
		t.Fatalf("no connection worked within %v of the server's return: %v", recoverWithin, err)
	}

	// The download in flight at the kill ends with an error, promptly.
	download.SetReadDeadline(killed.Add(silenceLimit + 3*time.Second))
	buf := make([]byte, chunk)
	for {
		if _, err := download.Read(buf); err != nil {
			if isTimeout(err) {
				t.Fatalf("the download is still open %v after the kill", time.Since(killed).Round(time.Millisecond))
			}
			break
		}
	}
	t.Logf("the download in flight ended %v after the kill", time.Since(killed).Round(time.Millisecond))
	if !strings.Contains(tn.client.text(), "no data from the server") {
		t.Errorf("the client logged no warning about the dead server")
	}
}
