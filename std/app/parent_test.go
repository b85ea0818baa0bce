package app

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestStopWithParentCancelsWhenTheParentChanges(t *testing.T) {
	var ppid atomic.Int64
	ppid.Store(4242)
	ctx, stop := stopWhenChanged(context.Background(), time.Millisecond, func() int { return int(ppid.Load()) })
	t.Cleanup(stop)

	// Several polls see the same parent: the context stays alive.
	for polls := 0; polls < 3; {
		ppid.Store(4242)
		select {
		case <-ctx.Done():
			t.Fatal("cancelled while the parent was unchanged")
		case <-time.After(5 * time.Millisecond):
			polls++
		}
	}
	ppid.Store(1) // the parent exited; init (or a subreaper) adopted us
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not cancelled 5s after the parent changed")
	}
}

func TestStopWithParentKeepsRunningUnderTheSameParent(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	ctx, stop := StopWithParent(parent, time.Millisecond)
	t.Cleanup(stop)
	select {
	case <-ctx.Done():
		t.Fatal("cancelled although the test binary's parent is alive")
	case <-time.After(20 * time.Millisecond):
	}
	cancelParent()
	<-ctx.Done() // still follows its parent context
}
