package tunnel

import (
	"testing"
	"time"
)

func newLoads(n int) ([]*slotLoad, []*countingConn) {
	loads := make([]*slotLoad, n)
	counts := make([]*countingConn, n)
	for i := range loads {
		counts[i] = &countingConn{}
		loads[i] = &slotLoad{}
		loads[i].setSource(counts[i])
	}
	return loads, counts
}

// Connections opened at once onto idle sessions spread over them; one
// at a time, they take the slots in turn.
func TestPickSlotSpreadsIdleSlots(t *testing.T) {
	loads, _ := newLoads(3)
	now := time.Now()
	got := map[int]int{}
	for k := range 6 {
		got[pickSlot(loads, now, uint64(k+1))]++
	}
	for i := range 3 {
		if got[i] != 2 {
			t.Fatalf("placements %v, want 2 on each of 3 idle slots", got)
		}
	}
	one, _ := newLoads(3)
	for k := range 6 {
		i := pickSlot(one, now, uint64(k+1))
		one[i].leave()
		if i != k%3 {
			t.Fatalf("connection %d, after the others ended, on slot %d: want %d", k, i, k%3)
		}
	}
}

// A connection opened while one session moves a download goes to another,
// even when that one carries more (idle) connections.
func TestPickSlotAvoidsBusySession(t *testing.T) {
	loads, counts := newLoads(2)
	now := time.Now()
	if i := pickSlot(loads, now, 101); i != 0 {
		t.Fatalf("first connection on slot %d, want 0", i)
	}
	for range 3 { // idle connections (keystrokes) on slot 1
		loads[1].join(0)
	}
	counts[1].in.Add(4 << 10)
	counts[0].in.Add(8 << 20) // the download
	now = now.Add(500 * time.Millisecond)
	if i := pickSlot(loads, now, 102); i != 1 {
		t.Errorf("connection opened during the download on slot %d, want 1 (the idle session)", i)
	}
}

// What a session moved a while ago stops counting: once the download has
// been over for a few seconds, the slot with fewer connections wins again.
func TestPickSlotForgetsOldLoad(t *testing.T) {
	loads, counts := newLoads(2)
	now := time.Now()
	loads[1].join(0)
	loads[1].join(0)
	loads[0].join(0)
	counts[0].out.Add(8 << 20)
	if i := pickSlot(loads, now, 103); i != 1 {
		t.Fatalf("during the download: slot %d, want 1", i)
	}
	loads[1].leave() // the connection just placed ends: slot 1 has two again
	if i := pickSlot(loads, now.Add(10*loadDecay), 104); i != 0 {
		t.Errorf("10 s after the download: slot %d, want 0 (one connection against two)", i)
	}
}

// Small traffic (keepalives, a few keystrokes) does not decide: the slot
// with fewer connections does.
func TestPickSlotIgnoresSmallDifferences(t *testing.T) {
	loads, counts := newLoads(2)
	now := time.Now()
	loads[0].join(0)
	counts[1].in.Add(loadSame / 2)
	if i := pickSlot(loads, now, 105); i != 1 {
		t.Errorf("slot %d, want 1 (no connection, and only %d bytes)", i, loadSame/2)
	}
}

// A download and an interactive connection opened together, while the
// connection before them is still ending on the other slot: nothing
// tells them apart yet, and they get a session each.
func TestPickSlotSeparatesConnectionsOpenedTogether(t *testing.T) {
	loads, counts := newLoads(2)
	now := time.Now()
	if i := pickSlot(loads, now, 1); i != 0 {
		t.Fatalf("readiness probe on slot %d, want 0", i)
	}
	loads[0].leave()
	if i := pickSlot(loads, now, 2); i != 1 {
		t.Fatalf("idle echo on slot %d, want 1", i)
	}
	counts[1].in.Add(5 << 10) // the echo's few bytes; its stream is still ending
	a := pickSlot(loads, now, 3)
	b := pickSlot(loads, now, 4)
	if a == b {
		t.Errorf("two connections opened together both on slot %d", a)
	}
}
