package app

import (
	"context"
	"os"
	"time"
)

// ParentPollInterval is how often a shadowsocks plugin checks that the
// shadowsocks process that started it is still its parent.
const ParentPollInterval = time.Second

// StopWithParent returns a context that is also cancelled when this
// process's parent exits (the process is then re-parented, so its parent
// pid changes), checked every interval. A SIP003 plugin uses it so that it
// does not outlive a shadowsocks process killed without a chance to stop
// it. Call stop to release the watcher.
func StopWithParent(ctx context.Context, interval time.Duration) (_ context.Context, stop context.CancelFunc) {
	return stopWhenChanged(ctx, interval, os.Getppid)
}

// stopWhenChanged cancels the returned context once getppid returns a value
// other than the one it returned first.
func stopWhenChanged(ctx context.Context, interval time.Duration, getppid func() int) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	parent := getppid()
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if getppid() != parent {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}
