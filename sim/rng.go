package sim

import (
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/stripelab/stripelab/internal/draw"
)

// rng is one stream: a PCG generator whose uniform draws are called
// directly (the same numbers rand.Rand gives, without its interface call
// on the hot path), with a rand.Rand over the same state for the rest.
type rng struct {
	pcg rand.PCG
	*rand.Rand
}

// newStream derives an independent PCG generator for stream id.
func newStream(seed uint64, id uint64) *rng {
	g := &rng{}
	g.pcg.Seed(seed, draw.StreamSeq(id))
	g.Rand = rand.New(&g.pcg)
	return g
}

// Uint64 returns a uniformly distributed 64-bit value.
func (g *rng) Uint64() uint64 { return g.pcg.Uint64() }

// IntN returns a uniform value in [0, n), n > 0, by Lemire's multiply and
// reject method (unbiased), drawing from the PCG directly.
func (g *rng) IntN(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(g.pcg.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(g.pcg.Uint64(), un)
		}
	}
	return int(hi)
}

// Float64 returns a uniform value in [0, 1), as rand.Rand.Float64 does.
func (g *rng) Float64() float64 { return float64(g.pcg.Uint64()<<11>>11) / (1 << 53) }

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

// maxDrawNS bounds a service time: about 36 years, far past the end of
// any run (work that long never finishes within it, whatever its length),
// and small enough that adding it to a run's time cannot overflow.
const maxDrawNS = 1 << 60

// draw returns a service time in ns, in [0, maxDrawNS]: the whole tail of
// the distribution, only ever bounded where no run can tell.
func (s *sampler) draw(r *rng) int64 {
	var v float64
	switch s.kind {
	case distConstant:
		return clampNS(s.mean)
	case distExp:
		v = r.ExpFloat64() * s.mean
	case distLognormal:
		v = math.Exp(s.mu + s.sigma*r.NormFloat64())
	default:
		v = s.lo + r.Float64()*s.spread
	}
	return clampNS(v)
}

// clampNS converts a duration in ns to an integer in [0, maxDrawNS].
func clampNS(v float64) int64 {
	if v >= maxDrawNS {
		return maxDrawNS
	}
	return max(int64(v), 0)
}

// slowed is a service time c on machine m, stretched by its slow factor.
func slowed(c int64, m *machine) int64 {
	if m.slow == 1 {
		return c
	}
	return clampNS(float64(c) * m.slow)
}
