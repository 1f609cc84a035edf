package sim

import (
	"math"
	"math/rand/v2"

	"github.com/stripelab/stripelab/scenarios"
)

// Stream identifiers: each concern draws from its own generator derived
// from the seed, so that a new draw in one place does not shift the others.
// Per-entity streams add the entity index to the base.
const (
	streamArrivals  = 1 << 20 // + city
	streamUsers     = 2 << 20 // + city
	streamService   = 3 << 20 // + instance
	streamNetwork   = 4 << 20
	streamRouting   = 5 << 20
	streamClient    = 6 << 20 // + city
	streamFaults    = 7 << 20
	streamDiscovery = 8 << 20
	streamShedding  = 9 << 20 // + set
)

// newStream derives an independent PCG generator for stream id.
func newStream(seed uint64, id uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, scenarios.Mix64(id^0x9e3779b97f4a7c15)))
}

// sampler draws a service time in ns from a scenario distribution. It takes
// the generator as an argument rather than owning one.
type sampler struct {
	kind       uint8 // distConstant, distExp, distLognormal, distUniform
	mean       float64
	mu, sigma  float64
	lo, spread float64
}

const (
	distConstant = iota
	distExp
	distLognormal
	distUniform
)

func (s *sampler) draw(r *rand.Rand) int64 {
	var v float64
	switch s.kind {
	case distConstant:
		return int64(s.mean)
	case distExp:
		v = r.ExpFloat64() * s.mean
	case distLognormal:
		v = math.Exp(s.mu + s.sigma*r.NormFloat64())
	default:
		v = s.lo + r.Float64()*s.spread
	}
	return int64(v)
}
