package shard_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/shard/shardtest"
	"github.com/stripelab/stripelab/components/wire"
)

// shardGoroutines counts goroutines running this package's code.
func shardGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n, first := 0, ""
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "components/shard.(*Shard)") {
			if n == 0 {
				first = g
			}
			n++
		}
	}
	return n, first
}

// Everything a copy starts ends with its context: after a failover and
// stopping every copy, none of the package's goroutines is left.
func TestNoGoroutineLeft(t *testing.T) {
	c := shardtest.NewCluster(t, shardtest.SyncMajority)
	old := c.Reps()[0]
	c.Call(old, wire.Write, "1.0", 1, "x")
	c.Kill(old)
	c.WaitPrimary(old, c.FailoverBound())
	c.Start(old)
	for _, in := range c.Reps() {
		c.Kill(in)
	}
	end := time.Now().Add(2 * time.Second)
	for {
		n, g := shardGoroutines()
		if n == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%d goroutines left, the first:\n%s", n, g)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
