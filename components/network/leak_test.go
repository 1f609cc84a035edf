package network

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/network/hrtimer"
)

// TestCloseLeavesNoGoroutine: closing the server (here by ending its
// context) ends every goroutine its links started, connections, toxics and
// dead-host holds included.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	ts := echo(t)
	c := client(time.Second)
	defer c.CloseIdleConnections()
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	s := NewServer(ctx, 1)
	var links []*Link
	for i := range 5 {
		l, err := s.Add(Spec{Listen: "127.0.0.1:0", Upstream: ts.Listener.Addr().String(), To: i, Delay: 200 * time.Microsecond, Jitter: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, l)
		if _, err := get(c, l.Listen); err != nil {
			t.Fatal(err)
		}
	}
	links[1].Loss("f1", Both, 0.5)
	links[2].Partition("f2", Upstream, false)
	links[3].Dead()
	for _, l := range links {
		get(c, l.Listen)
	}
	c.CloseIdleConnections()
	cancel()
	ts.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left over %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		<-hrtimer.After(10 * time.Millisecond)
	}
}
