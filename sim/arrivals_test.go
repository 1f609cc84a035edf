package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/scenarios"
)

// arrivalScenario is a stack that serves everything at 200/s for 100 s
// with the given profile, arrivals and faults: the offered count of each
// window is the arrivals of that window.
func arrivalScenario(profile, arrivals, faults string) string {
	return fmt.Sprintf(`
run: {duration: 100s, warmup: 0s, seed: 8}
topology:
  cities: [{name: a, azs: 1, racks: 1, machines: 2}]
striping: {granularity: city}
stack:
  services: [{name: s, instances: 2, service_time: 100us}]
  data: {mode: none}
workload:
  rate: 200/s
  arrivals: %s
  profile: %s
  users: {count: 1000}
  client: {retries: 0}
%s`, arrivals, profile, faults)
}

// refLevel is the profile's level at t (seconds) written from its
// definition in docs/scenarios.md, independently of the simulator's
// decoded form, times the overload factors active at t.
func refLevel(s *scenarios.Scenario, t float64) float64 {
	p := &s.Workload.Profile
	sec := func(d scenarios.Duration) float64 { return float64(d) / 1e9 }
	l := 1.0
	switch p.Shape {
	case "ramp":
		switch {
		case t <= sec(p.Start):
			l = p.From.Fraction()
		case t >= sec(p.End):
			l = p.To.Fraction()
		default:
			l = p.From.Fraction() + (t-sec(p.Start))/(sec(p.End)-sec(p.Start))*(p.To.Fraction()-p.From.Fraction())
		}
	case "step":
		for _, st := range p.Steps {
			if t >= sec(st.At) {
				l = st.Level.Fraction()
			}
		}
	case "spike":
		if t >= sec(p.Start) && t < sec(p.Start)+sec(p.For) {
			l = p.Level.Fraction()
		}
	case "diurnal":
		l = p.Min.Fraction() + (1-p.Min.Fraction())*(1+math.Cos(2*math.Pi*(t-sec(p.PeakAt))/sec(p.Period)))/2
	}
	for _, f := range s.Faults {
		if f.Kind == "overload" && t >= sec(f.At) && t < sec(f.At)+sec(f.For) {
			l *= f.Factor
		}
	}
	return l
}

// refCount is the expected number of arrivals in [a, b) seconds: the
// integral of rate x level, by the midpoint rule on 1 ms steps.
func refCount(s *scenarios.Scenario, a, b float64) float64 {
	const h = 1e-3
	sum := 0.0
	for t := a + h/2; t < b; t += h {
		sum += refLevel(s, t)
	}
	return sum * h * float64(s.Workload.Rate)
}

// TestArrivalsFollowTheIntegratedRate counts the requests offered in every
// 10 s of a run against the integral of the rate there, for every profile
// shape (ramps from and to zero, steps to zero and back, a spike, diurnal
// days with a trough at zero) and overload faults on top: Poisson counts
// within 4.5 standard deviations, uniform ones within 2 of the integral.
// With -short, only the two shapes that reach zero.
func TestArrivalsFollowTheIntegratedRate(t *testing.T) {
	profiles := map[string]string{
		"constant":           "{shape: constant}",
		"ramp from 0":        "{shape: ramp}",
		"ramp up, held":      "{shape: ramp, from: 0%, to: 200%, start: 20s, end: 60s}",
		"ramp down to 0":     "{shape: ramp, from: 150%, to: 0%, end: 80s}",
		"steps through 0":    "{shape: step, steps: [{at: 10s, level: 0%}, {at: 30s, level: 250%}, {at: 70s, level: 5%}]}",
		"spike":              "{shape: spike, start: 40s, for: 10s, level: 500%}",
		"diurnal, min 0":     "{shape: diurnal, min: 0%}",
		"diurnal, short day": "{shape: diurnal, min: 30%, period: 30s, peak_at: 5s}",
	}
	overload := "faults:\n  - {at: 25s, for: 30s, kind: overload, factor: 3}\n  - {at: 45s, for: 20s, kind: overload, factor: 0.5}\n"
	for _, name := range sortedKeys(profiles) {
		if testing.Short() && name != "ramp from 0" && name != "diurnal, min 0" {
			continue // the race run checks the shapes that stalled
		}
		for _, arrivals := range []string{"poisson", "uniform"} {
			for _, faults := range []string{"", overload} {
				label := name + "/" + arrivals
				if faults != "" {
					label += "/overload"
				}
				t.Run(strings.ReplaceAll(label, " ", "_"), func(t *testing.T) {
					checkArrivals(t, arrivalScenario(profiles[name], arrivals, faults), arrivals == "poisson")
				})
			}
		}
	}
}

func checkArrivals(t *testing.T, y string, poisson bool) {
	_, res := runWorld(t, y)
	f, _ := scenarios.Parse("arrivals.yaml", []byte(y))
	s := f.Scenario
	var total, want float64
	for b := 0; b < 10; b++ {
		var got int64
		for _, w := range res.Windows {
			if s := w.Start / 1e9; s >= int64(b*10) && s < int64(b*10+10) {
				got += w.Counts.Offered
			}
		}
		exp := refCount(s, float64(b*10), float64(b*10+10))
		total += float64(got)
		want += exp
		tol := 2.0
		if poisson {
			tol = 4.5*math.Sqrt(exp) + 1
		}
		if math.Abs(float64(got)-exp) > tol {
			t.Errorf("%d-%ds: %d arrivals, the rate's integral is %.1f (tolerance %.1f)", b*10, b*10+10, got, exp, tol)
		}
	}
	tol := 2.0
	if poisson {
		tol = 3*math.Sqrt(want) + 1
	}
	if math.Abs(total-want) > tol {
		t.Errorf("%.0f arrivals in the run, the rate's integral is %.1f (tolerance %.1f)", total, want, tol)
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
