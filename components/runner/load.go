package runner

import (
	"context"

	"github.com/stripelab/stripelab/components/checker"
)

// Load is the runner's view of the load generator (components/load): the
// regional access layer of every city, sending the scenario's workload
// through the users' links and recording every request.
type Load interface {
	// Scale multiplies city c's offered rate by f (an overload fault; 1/f undoes it).
	Scale(c int, f float64)
	// Wait returns once the generator stopped (its ctx ended) and every
	// request in flight is recorded.
	Wait()
	// Writes is the acknowledged-write log.
	Writes() []checker.Write
	// Finish stores the generator's own figures (its lag) in the result.
	Finish(r *runner)
	// Close releases what the generator holds.
	Close()
}

// newLoad starts the load generator at r.t0; it sends until ctx ends.
var newLoad = func(ctx context.Context, r *runner) (Load, error) { return nopLoad{}, nil }

// nopLoad sends nothing (the runner's own tests of bring-up and faults).
type nopLoad struct{}

func (nopLoad) Scale(int, float64)      {}
func (nopLoad) Wait()                   {}
func (nopLoad) Writes() []checker.Write { return nil }
func (nopLoad) Finish(*runner)          {}
func (nopLoad) Close()                  {}
