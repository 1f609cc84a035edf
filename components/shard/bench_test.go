package shard_test

import (
	"fmt"
	"sync/atomic"
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

// BenchmarkWriteParallel is the write throughput of one shard with 16
// writers (sync, majority acks): commits are serialized per copy, so it is
// about one fsync'd commit on the primary per write.
// Run: go test -run X -bench WriteParallel -benchtime 2000x ./components/shard
func BenchmarkWriteParallel(b *testing.B) {
	c := shardtest.NewCluster(b, shardtest.SyncMajority)
	p := c.Reps()[0]
	var n atomic.Int64
	b.SetParallelism(8) // 8 x GOMAXPROCS writers
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if rp := c.Call(p, wire.Write, fmt.Sprintf("%d.0", i), int(i%50), "value"); rp.Outcome != wire.OK {
				b.Errorf("write %d: %+v", i, rp)
				return
			}
		}
	})
}
