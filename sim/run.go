package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Backend is the name the simulator writes into results.
const Backend = "sim"

// ErrBudget is returned for a run that would hold more requests in flight
// at once than the simulator's budget, scenarios.MaxInFlight.
var ErrBudget = errors.New("the run exceeds the simulator's budget of requests in flight")

// maxInFlight is the budget Run enforces (tests lower it).
var maxInFlight = scenarios.MaxInFlight

// budgetCheck is how often, in virtual time, Run checks the budget: little
// enough that a run cannot grow far past it in between.
const budgetCheck = int64(10e6)

// Run simulates a plan to its end and returns the result. When ctx is
// cancelled it stops at the next window and returns what was measured,
// marked incomplete, together with ctx's error. It refuses, before
// building anything, a plan whose offered rate could put more requests in
// flight than the budget, and stops with ErrBudget a run that reaches it
// anyway (work piling up in deep queues).
func Run(ctx context.Context, p *scenarios.Plan, opts Options) (*reports.Result, error) {
	s := p.Scenario
	life := scenarios.RequestLifetime(s)
	if n := s.PeakOffered() * life.Seconds(); n > float64(maxInFlight) {
		return nil, fmt.Errorf("%w: up to %.0f requests (%.0f/s living up to %s); the budget is %d", ErrBudget, n, s.PeakOffered(), life, maxInFlight)
	}
	seed := s.Run.Seed
	if opts.Seed != 0 {
		seed = opts.Seed
	}
	rec := reports.NewRecorder(p, seed, Backend, Horizon(s))
	w := NewWorld(p, seed, rec)
	w.progress = opts.Progress
	w.ahead = !opts.noAhead && w.res == nil // resilience policies settle nothing ahead (buildResilience)
	step := int64(s.Run.Window)
	for t := step; ; t += step {
		if err := w.runWithinBudget(t); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return w.Finish(true), err
		}
		if t >= w.stop {
			break
		}
	}
	return w.Finish(false), nil
}

// runWithinBudget runs until t in steps of budgetCheck, stopping with
// ErrBudget when more requests than the budget are in flight. Running in
// steps processes the same events in the same order as one RunUntil(t).
func (w *World) runWithinBudget(t int64) error {
	for c := w.now; c < t; {
		c = min(c+budgetCheck, t)
		w.RunUntil(c)
		if w.reqs.live > maxInFlight {
			return fmt.Errorf("%w: %d requests in flight at %s (the budget is %d); work piles up faster than it drains, in queues that hold it",
				ErrBudget, w.reqs.live, time.Duration(w.now), maxInFlight)
		}
	}
	return nil
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
	seen := map[int32]bool{} // hedge groups recorded
	for i := 1; i < len(w.reqs.recs); i++ {
		r := &w.reqs.recs[i]
		backoff := r.start < 0
		if free[i] || !(r.frames[0].waiting || backoff) {
			continue
		}
		if gi := w.groupOf(int32(i)); gi >= 0 {
			if seen[gi] {
				continue
			}
			seen[gi] = true
		}
		attempts := r.attempt
		if backoff {
			attempts--
		}
		w.rec.Record(&reports.Request{
			Send: r.send, Latency: w.now - r.send, User: r.user, Set: r.home, City: r.city, Priority: r.prio, Command: r.cmd,
			Outcome: reports.Unknown, Attempts: attempts, Cross: r.did&didCross != 0, CrossSet: r.did&didCrossSet != 0, Write: r.did&didWrite != 0,
		})
	}
}
