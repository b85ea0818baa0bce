//go:build !linux

package bench

import "fmt"

type tcpBaseline struct{ notes []string }

func newTCPBaseline([]string) (*tcpBaseline, error) {
	return nil, fmt.Errorf("%w: the kernel TCP baseline needs Linux (network namespaces, TUN)", ErrUnavailable)
}

func (*tcpBaseline) subjects() []subject { return nil }
func (*tcpBaseline) close()              {}
