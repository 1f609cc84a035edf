package sim

import (
	"context"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Backend is the name the simulator writes into results.
const Backend = "sim"

// Run simulates a plan to its end and returns the result. When ctx is
// cancelled it stops at the next window and returns what was measured,
// marked incomplete, together with ctx's error.
func Run(ctx context.Context, p *scenarios.Plan, opts Options) (*reports.Result, error) {
	seed := p.Scenario.Run.Seed
	if opts.Seed != 0 {
		seed = opts.Seed
	}
	rec := reports.NewRecorder(p, seed, Backend, Horizon(p.Scenario))
	w := NewWorld(p, seed, rec)
	w.progress = opts.Progress
	w.ahead = !opts.noAhead
	step := int64(p.Scenario.Run.Window)
	for t := step; ; t += step {
		w.RunUntil(t)
		if err := ctx.Err(); err != nil {
			return w.Finish(true), err
		}
		if t >= w.stop {
			break
		}
	}
	return w.Finish(false), nil
}

// recordInFlight records the requests a stopped run leaves without an
// outcome, as reports.Unknown in the window they were sent in: the
// attempts their clients still wait on, and the retries waiting for their
// backoff. Dropping them would make the last windows of an interrupted
// run look healthier than they were (a request that is going to time out
// is in flight for the whole timeout).
func (w *World) recordInFlight() {
	free := make([]bool, len(w.reqs.recs))
	for i := w.reqs.free; i != 0; i = w.reqs.recs[i].frames[scenarios.MaxDepth-1].inst {
		free[i] = true
	}
	for i := 1; i < len(w.reqs.recs); i++ {
		r := &w.reqs.recs[i]
		backoff := r.start < 0
		if free[i] || !(r.frames[0].waiting || backoff) {
			continue
		}
		attempts := r.attempt
		if backoff {
			attempts--
		}
		w.rec.Record(&reports.Request{
			Send: r.send, Latency: w.now - r.send, User: r.user, Set: r.home, City: r.city, Priority: r.prio,
			Outcome: reports.Unknown, Attempts: attempts, Cross: r.cross, CrossSet: r.crossSet, Write: r.write,
		})
	}
}
