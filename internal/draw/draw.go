// Package draw is the workload's arithmetic shared by the simulator (sim)
// and the real stack's load generator (components/load): the workload
// profile's level, its integral and the inverse of that integral (the time
// change arrivals follow), the Zipf sampler of user popularity, the draw
// of a request's user, priority and operation, and the numbering of the
// random streams. Both sides draw the same numbers in the same order from
// their own generators, passed in as a Source.
//
// It keeps the simulator's rules: no goroutines, no wall clock and no
// global random source; every draw comes from the Source it is given.
package draw

import "github.com/stripelab/stripelab/scenarios"

// Source is a generator's uniform draws: *rand.Rand has them, and so has
// the simulator's stream.
type Source interface {
	// Float64 returns a uniform value in [0, 1).
	Float64() float64
	// IntN returns a uniform value in [0, n), n > 0.
	IntN(n int) int
}

// Stream identifiers: each concern draws from its own generator derived
// from the seed, so that a new draw in one place does not shift the others.
// Per-entity streams add the entity index to the base.
const (
	StreamArrivals  = 1 << 20 // + city
	StreamUsers     = 2 << 20 // + city
	StreamService   = 3 << 20 // + instance
	StreamNetwork   = 4 << 20
	StreamRouting   = 5 << 20 // the simulator: one stream; the load generator: + city
	StreamClient    = 6 << 20 // + city
	StreamFaults    = 7 << 20
	StreamDiscovery = 8 << 20
	StreamShedding  = 9 << 20 // + set
)

// StreamSeq is the second PCG seed of stream id (the first is the run's
// seed): rand.NewPCG(seed, StreamSeq(id)).
func StreamSeq(id uint64) uint64 { return scenarios.Mix64(id ^ 0x9e3779b97f4a7c15) }
