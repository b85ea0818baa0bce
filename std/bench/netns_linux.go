package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// netns is a network namespace made with `ip netns add`, removed by del.
type netns struct {
	name string
	f    *os.File // /run/netns/NAME, for setns
}

func addNetns(name string) (*netns, error) {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench: ip netns add %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		_ = exec.Command("ip", "netns", "del", name).Run()
		return nil, fmt.Errorf("bench: open netns %s: %w", name, err)
	}
	return &netns{name: name, f: f}, nil
}

func (n *netns) del() error {
	n.f.Close()
	if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
		return fmt.Errorf("bench: ip netns del %s: %w: %s", n.name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ip runs `ip -n NAME args...`.
func (n *netns) ip(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", n.name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("bench: ip -n %s %s: %w: %s", n.name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// do runs fn on an OS thread switched into the namespace; sockets and
// devices fn creates belong to it. The thread returns to its own
// namespace afterwards; if it cannot, it stays locked and is discarded
// with the goroutine, so no other goroutine ever runs in the namespace.
func (n *netns) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("bench: own netns: %w", err)
			return // exits locked: the thread is discarded
		}
		defer home.Close()
		if err := unix.Setns(int(n.f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("bench: setns %s: %w", n.name, err)
			return
		}
		err = fn()
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// openTUN creates TUN device name (IFF_TUN, no packet information) in n
// and returns it as a pollable file; the device disappears when it is
// closed.
func (n *netns) openTUN(name string) (*os.File, error) {
	var f *os.File
	err := n.do(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("bench: open /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("bench: tun name %q: %w", name, err)
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bench: TUNSETIFF %s: %w", name, err)
		}
		f = os.NewFile(uintptr(fd), "/dev/net/tun:"+name)
		return nil
	})
	return f, err
}
