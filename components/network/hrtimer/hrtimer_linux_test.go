//go:build linux

package hrtimer

import (
	"testing"
	"time"
)

// TestStopEndsTheLoop: a stopped hour-long wake-up never comes, and the
// serving goroutine ends once nothing is pending.
func TestStopEndsTheLoop(t *testing.T) {
	tm := NewTimer(time.Hour)
	tm.Stop()
	select {
	case <-tm.C:
		t.Fatal("a stopped timer fired")
	default:
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		svc.mu.Lock()
		running, n := svc.running, len(svc.pending)
		svc.mu.Unlock()
		if !running && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running with %d pending 5s after the last stop", n)
		}
		<-After(time.Millisecond)
	}
}
