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
