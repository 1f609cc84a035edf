package draw

import "math"

// Zipf draws ranks 1..n with probability proportional to 1/k^s, for any
// exponent s > 0 and a finite n: the key (user) popularity of a workload.
// math/rand's Zipf needs s > 1, but exponents of 1 and just below are the
// common fit for web traffic; over a finite population they are as well
// defined as any other.
//
// It is rejection-inversion sampling (Hörmann and Derflinger, "Rejection-
// inversion to generate variates from monotone discrete distributions",
// 1996): a continuous hat h(x) = x^-s whose integral H inverts in closed
// form covers every rank k by [k-1/2, k+1/2); a uniform draw in the hat's
// area is inverted to x, rounded to k, and accepted unless it fell in the
// part of k's cell above 1/k^s. Acceptance is above 90% for every s, and
// it needs no table, so a city of 100M users costs nothing to set up.
type Zipf struct {
	n, s float64
	// hX1 and hN bound the area drawn from; cut accepts at once the draws
	// that land close enough to their rank (the squeeze).
	hX1, hN, cut float64
}

// NewZipf is the sampler of ranks 1..n at exponent s > 0.
func NewZipf(s float64, n uint64) *Zipf {
	z := &Zipf{n: float64(n), s: s}
	z.hX1 = z.hIntegral(1.5) - 1
	z.hN = z.hIntegral(z.n + 0.5)
	z.cut = 2 - z.hIntegralInv(z.hIntegral(2.5)-z.h(2))
	return z
}

// Draw returns a rank in [1, n], the most popular first.
func (z *Zipf) Draw(r Source) uint64 {
	if z.n <= 1 {
		return 1
	}
	for {
		u := z.hN + r.Float64()*(z.hX1-z.hN)
		x := z.hIntegralInv(u)
		k := math.Min(math.Max(math.Floor(x+0.5), 1), z.n)
		if k-x <= z.cut || u >= z.hIntegral(k+0.5)-z.h(k) {
			return uint64(k)
		}
	}
}

// h is the hat: x^-s.
func (z *Zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

// hIntegral is H(x) = (x^(1-s) - 1) / (1-s), or log x at s = 1, written
// so that it stays exact as s nears 1.
func (z *Zipf) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return expm1Over((1-z.s)*lx) * lx
}

// hIntegralInv inverts hIntegral.
func (z *Zipf) hIntegralInv(y float64) float64 {
	t := y * (1 - z.s)
	if t < -1 {
		t = -1 // rounding at the edge of the domain
	}
	return math.Exp(log1pOver(t) * y)
}

// expm1Over is (e^t - 1) / t, 1 at t = 0.
func expm1Over(t float64) float64 {
	if math.Abs(t) > 1e-8 {
		return math.Expm1(t) / t
	}
	return 1 + t/2*(1+t/3)
}

// log1pOver is log(1 + t) / t, 1 at t = 0.
func log1pOver(t float64) float64 {
	if math.Abs(t) > 1e-8 {
		return math.Log1p(t) / t
	}
	return 1 - t*(0.5-t/3)
}
