package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/stripelab/stripelab/components/checker"
)

type checkResult struct {
	checked, unknown, lost, movedOn int
}

// check reads back every acknowledged write from the current primaries
// (components/checker) and records the lost ones per fault.
func (r *runner) check(ctx context.Context) checkResult {
	if len(r.plan.Shards) == 0 || r.load == nil {
		return checkResult{}
	}
	writes := r.load.Writes()
	lag := r.plan.Scenario.Stack.Data.Lag.Std() + time.Second
	faultOf := func(t int64) int {
		best := -1
		for i, f := range r.plan.Faults {
			if t >= f.Start-int64(lag) && t < f.End && (best < 0 || f.Start < r.plan.Faults[best].Start) {
				best = i
			}
		}
		return best
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res := checker.Check(cctx, checker.Config{Plan: r.plan, Addr: r.host.InstanceAddr, Secret: r.run.Secret, FaultOf: faultOf}, writes)
	for _, fl := range res.Faults {
		r.rec.WritesLost(fl.Fault, r.plan.Faults[fl.Fault].Start, fl.Lost, max(r.plan.Faults[fl.Fault].Start-fl.First, fl.Span()),
			fmt.Sprintf("read back from the primaries after the run: %d of %d acknowledged writes missing", fl.Lost, res.Acked))
	}
	if res.Other.Lost > 0 {
		r.rec.WritesLost(-1, res.Other.Last, res.Other.Lost, res.Other.Span(), "read back after the run, outside any fault")
	}
	for _, s := range res.Shards {
		if s.Unknown > 0 {
			r.rec.Event(int64(r.now()), "writes-unknown", -1, "shard %d: %d acknowledged writes could not be read back: %s", s.Shard, s.Unknown, s.Err)
		}
	}
	r.rec.SetEngine("writes_acked", res.Acked)
	r.rec.SetEngine("writes_checked", res.Found+res.Lost)
	r.rec.SetEngine("writes_unknown", res.Unknown)
	r.rec.SetEngine("writes_lost", res.Lost)
	r.rec.SetEngine("writes_moved_on", res.MovedOn)
	moved := ""
	if res.MovedOn > 0 {
		moved = fmt.Sprintf(" (%d read from the shard their key moved to, their own gone)", res.MovedOn)
	}
	r.log("read back %d acknowledged writes: %d found, %d lost, %d unknown%s", res.Acked, res.Found, res.Lost, res.Unknown, moved)
	return checkResult{checked: int(res.Found + res.Lost), unknown: int(res.Unknown), lost: int(res.Lost), movedOn: int(res.MovedOn)}
}
