package shard_test

import (
	"fmt"
	"testing"

	"github.com/stripelab/stripelab/components/shard/shardtest"
	"github.com/stripelab/stripelab/components/wire"
)

// BenchmarkWrite is one writer's write latency on loopback, through real
// HTTP and pebble with fsync on every commit: sync replication with
// majority acks (the primary's commit, then a copy's) against async (the
// primary's commit alone). Run: go test -run X -bench Write -benchtime 300x ./components/shard
func BenchmarkWrite(b *testing.B) {
	for _, mode := range []struct{ name, repl string }{{"sync-majority", shardtest.SyncMajority}, {"async", shardtest.AsyncLag}} {
		b.Run(mode.name, func(b *testing.B) {
			c := shardtest.NewCluster(b, mode.repl)
			p := c.Reps()[0]
			i := 0
			for b.Loop() {
				i++
				if rp := c.Call(p, wire.Write, fmt.Sprintf("%d.0", i), i%50, "value"); rp.Outcome != wire.OK {
					b.Fatalf("write %d: %+v", i, rp)
				}
			}
		})
	}
}
