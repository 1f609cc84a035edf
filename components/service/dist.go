package service

import (
	"math"
	"math/rand/v2"

	"github.com/stripelab/stripelab/scenarios"
)

// sampler draws a service time in ns from a scenario distribution, as the
// simulator's sampler does (sim/rng.go): exponential with the mean,
// lognormal whose mean is the given mean, uniform on [min, max], or constant.
type sampler struct {
	kind       string
	mean       float64
	mu, sigma  float64
	lo, spread float64
}

func newSampler(d scenarios.Dist) sampler {
	switch d.Dist {
	case "exponential":
		return sampler{kind: d.Dist, mean: float64(d.Mean)}
	case "lognormal":
		return sampler{kind: d.Dist, mu: math.Log(float64(d.Mean)) - d.Sigma*d.Sigma/2, sigma: d.Sigma, mean: float64(d.Mean)}
	case "uniform":
		return sampler{kind: d.Dist, lo: float64(d.Min), spread: float64(d.Max - d.Min), mean: float64(d.Min+d.Max) / 2}
	}
	return sampler{kind: "constant", mean: float64(d.Mean)}
}

// maxDraw bounds a draw at an hour: longer than any real run.
const maxDraw = float64(3600e9)

func (s *sampler) draw(r *rand.Rand) float64 {
	var v float64
	switch s.kind {
	case "constant":
		v = s.mean
	case "exponential":
		v = r.ExpFloat64() * s.mean
	case "lognormal":
		v = math.Exp(s.mu + s.sigma*r.NormFloat64())
	default:
		v = s.lo + r.Float64()*s.spread
	}
	return min(max(v, 0), maxDraw)
}
