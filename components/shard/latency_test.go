package shard_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/shard/shardtest"
	"github.com/stripelab/stripelab/components/wire"
)

// TestWriteLatency measures one writer's write latency on loopback, sync
// (majority) against async; run with -v to see the figures. A sync write
// waits for a copy's apply, so its median is above the async one's.
func TestWriteLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("timing figures")
	}
	med := map[string]time.Duration{}
	for _, mode := range []struct{ name, repl string }{{"sync-majority", shardtest.SyncMajority}, {"async", shardtest.AsyncLag}} {
		c := shardtest.NewCluster(t, mode.repl)
		p := c.Reps()[0]
		var ds []time.Duration
		for i := range 200 {
			start := time.Now()
			rp := c.Call(p, wire.Write, fmt.Sprintf("%d.0", i), i%50, "value")
			if rp.Outcome != wire.OK {
				t.Fatalf("%s write %d: %+v", mode.name, i, rp)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		med[mode.name] = ds[len(ds)/2]
		t.Logf("%s: p50 %s p90 %s p99 %s", mode.name, ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)*99/100])
	}
	if med["sync-majority"] <= med["async"] {
		t.Errorf("sync median %s not above async %s", med["sync-majority"], med["async"])
	}
}
