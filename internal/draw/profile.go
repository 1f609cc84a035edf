package draw

import (
	"math"
	"sort"

	"github.com/stripelab/stripelab/scenarios"
)

// Profile is the workload profile decoded once: piecewise linear levels
// (constant, ramp, step, spike) or a diurnal cosine.
type Profile struct {
	diurnal bool
	segs    []segment // sorted by start; the first starts at 0; the last lasts forever
	// diurnal: level(t) = lo + (1-lo)(1+cos(2pi(t-peak)/period))/2
	lo, period, peak float64
}

// segment is a stretch of a piecewise linear profile: the level is a at
// start and changes by b per ns.
type segment struct {
	start int64
	a, b  float64
}

// NewProfile decodes a scenario's workload profile.
func NewProfile(p *scenarios.Profile) Profile {
	from, to, start, end := p.From.Fraction(), p.To.Fraction(), int64(p.Start), int64(p.End)
	switch p.Shape {
	case "ramp":
		ramp := []segment{{start, from, (to - from) / float64(end-start)}, {end, to, 0}}
		if start > 0 {
			ramp = append([]segment{{0, from, 0}}, ramp...)
		}
		return Profile{segs: ramp}
	case "step":
		segs := []segment{{0, 1, 0}}
		for _, st := range p.Steps {
			segs = append(segs, segment{int64(st.At), st.Level.Fraction(), 0})
		}
		return Profile{segs: segs}
	case "spike":
		stop := int64(p.Start + p.For)
		return Profile{segs: []segment{{0, 1, 0}, {start, p.Level.Fraction(), 0}, {stop, 1, 0}}}
	case "diurnal":
		return Profile{diurnal: true, lo: p.Min.Fraction(), period: float64(p.Period), peak: float64(p.PeakAt)}
	}
	return Profile{segs: []segment{{0, 1, 0}}}
}

// Constant reports whether the level is 1 throughout.
func (pr *Profile) Constant() bool {
	return !pr.diurnal && len(pr.segs) == 1 && pr.segs[0].a == 1 && pr.segs[0].b == 0
}

// seg is the index of the segment holding t (the last one starting at or
// before t: at a step, the new level).
func (pr *Profile) seg(t int64) int {
	return sort.Search(len(pr.segs), func(i int) bool { return pr.segs[i].start > t }) - 1
}

// Level is the workload profile's multiplier at virtual time t.
func (pr *Profile) Level(t int64) float64 {
	if pr.diurnal {
		return pr.diurnalLevel(float64(t))
	}
	s := &pr.segs[pr.seg(t)]
	return s.a + s.b*float64(t-s.start)
}

func (pr *Profile) phase(t float64) float64 { return 2 * math.Pi * (t - pr.peak) / pr.period }

// Integral is the integral of the level over [t0, t1], in ns at level 1.
func (pr *Profile) Integral(t0, t1 int64) float64 {
	if t1 <= t0 {
		return 0
	}
	if pr.diurnal {
		return pr.diurnalSpan(float64(t0), float64(t1))
	}
	sum := 0.0
	for i := pr.seg(t0); i < len(pr.segs) && t0 < t1; i++ {
		s := &pr.segs[i]
		e := t1
		if i+1 < len(pr.segs) {
			e = min(e, pr.segs[i+1].start)
		}
		a := s.a + s.b*float64(t0-s.start)
		d := float64(e - t0)
		sum += a*d + s.b*d*d/2
		t0 = e
	}
	return sum
}

func (pr *Profile) diurnalSpan(t0, t1 float64) float64 {
	mean := (1 + pr.lo) / 2
	amp := (1 - pr.lo) / 2 * pr.period / (2 * math.Pi)
	return mean*(t1-t0) + amp*(math.Sin(pr.phase(t1))-math.Sin(pr.phase(t0)))
}

// After is the first time from t0 on at which the integral of the level
// since t0 reaches x, and false when that is at or after limit.
func (pr *Profile) After(t0 int64, x float64, limit int64) (int64, bool) {
	if pr.diurnal {
		return pr.afterDiurnal(t0, x, limit)
	}
	for i := pr.seg(t0); i < len(pr.segs); i++ {
		s := &pr.segs[i]
		e := int64(math.MaxInt64)
		if i+1 < len(pr.segs) {
			e = pr.segs[i+1].start
		}
		a := s.a + s.b*float64(t0-s.start)
		if d, ok := linearReach(a, s.b, x); ok && (e == math.MaxInt64 || d < float64(e-t0)) {
			if d >= float64(limit-t0) {
				return 0, false
			}
			return t0 + int64(d), true
		}
		if e >= limit {
			return 0, false
		}
		d := float64(e - t0)
		x -= a*d + s.b*d*d/2
		t0 = e
	}
	return 0, false
}

// Due is when the integral of the level from from reaches x (ns at level
// 1), and false when that is at or after end: an arrival clock's due time.
func (pr *Profile) Due(from int64, x float64, end int64) (int64, bool) {
	if !pr.Constant() {
		return pr.After(from, x, end)
	}
	if x < float64(end-from) {
		return from + int64(x), true
	}
	return 0, false
}

// linearReach is the d at which the integral of a level starting at a and
// changing by b per ns reaches x: a d + b d^2/2 = x, written so that it
// does not cancel; false when the level falls to zero first.
func linearReach(a, b, x float64) (float64, bool) {
	if b == 0 {
		if a <= 0 {
			return 0, false
		}
		return x / a, true
	}
	disc := a*a + 2*b*x
	if disc < 0 {
		return 0, false
	}
	den := a + math.Sqrt(disc)
	if den <= 0 {
		return 0, false
	}
	return 2 * x / den, true
}

// afterDiurnal solves the diurnal integral for After by Newton's method
// kept inside a bracket (bisection when a step would leave it or the level
// is zero): from a start one gap away it takes a step or two.
func (pr *Profile) afterDiurnal(t0 int64, x float64, limit int64) (int64, bool) {
	f0 := float64(t0)
	mean := (1 + pr.lo) / 2
	amp := (1 - pr.lo) / 2 * pr.period / (2 * math.Pi)
	lo, hi := f0, f0+(x+2*amp)/mean // over d the integral gains at least mean*d - 2*amp
	t := f0 + x/mean
	if l := pr.diurnalLevel(f0); l > 0 {
		t = f0 + x/l
	}
	for range 200 {
		if !(t > lo && t < hi) {
			t = (lo + hi) / 2
		}
		fv := pr.diurnalSpan(f0, t) - x
		if fv >= 0 {
			hi = t
		} else {
			lo = t
		}
		if hi-lo < 0.5 {
			t = hi
			break
		}
		l := pr.diurnalLevel(t)
		if l <= 0 {
			t = (lo + hi) / 2
			continue
		}
		step := fv / l
		t -= step
		if math.Abs(step) < 0.01 {
			break
		}
	}
	if t-f0 >= float64(limit-t0) {
		return 0, false
	}
	return t0 + int64(t-f0), true
}

func (pr *Profile) diurnalLevel(t float64) float64 {
	return pr.lo + (1-pr.lo)*(1+math.Cos(pr.phase(t)))/2
}
