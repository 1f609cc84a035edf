package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// withoutResilience removes the stack.resilience section from a shipped
// scenario's text: the same scenario with no policy.
func withoutResilience(text string) string {
	var out []string
	skip := false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case l == "  resilience:":
			skip = true
			continue
		case skip && strings.HasPrefix(l, "    "):
			continue
		}
		skip = false
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// figure is a number a resilience scenario's opening comment states: the
// text it appears as, and how to read it from a result.
type figure struct {
	text string  // as written in the header, e.g. "~20ms"
	want float64 // the value it stands for
	tol  float64 // relative tolerance
	get  func(w *World, r *reports.Result) float64
}

func p99(r *reports.Result) float64      { return float64(r.Measures.Latency.P99) / 1e6 }
func faultP99(r *reports.Result) float64 { return float64(r.Measures.Faults[0].Latency.P99) / 1e6 }
func inFault(r *reports.Result) float64  { return 100 * r.Measures.Faults[0].Availability }
func overall(r *reports.Result) float64  { return 100 * r.Measures.Availability }
func queueCalls(r *reports.Result, name string) float64 {
	for _, q := range r.Queues {
		if q.Name == name {
			return float64(q.Calls)
		}
	}
	return -1
}

// TestResilienceScenarios runs each resilience scenario of the library
// with its policies and without them, and checks the figures its opening
// comment states: the effect each one is there to show.
func TestResilienceScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("eight runs of minutes of simulated time")
	}
	res := func(f func(*reports.Result) float64) func(*World, *reports.Result) float64 {
		return func(_ *World, r *reports.Result) float64 { return f(r) }
	}
	cases := []struct {
		name          string
		with, without []figure
	}{
		{"gray-failure-outlier",
			[]figure{{"~20ms overall and in the fault", 20, 0.1, res(p99)}, {"~20ms overall and in the fault", 20, 0.1, res(faultP99)},
				{"from ~60.07s", 60.07, 0.001, res(func(r *reports.Result) float64 {
					if r.Faults[0].Isolated == nil {
						return -1
					}
					return float64(*r.Faults[0].Isolated) / 1e9
				})},
				{"for 60s (twice the base)", 2, 0, res(func(r *reports.Result) float64 { return count(r, EvEjected) })}},
			[]figure{{"~69ms overall", 69, 0.1, res(p99)}, {"~87ms in the fault", 87, 0.1, res(faultP99)}}},
		{"az-loss-protection",
			[]figure{{"only ~41% of", 41, 0.05, res(inFault)}, {"(~69% over the run)", 69, 0.05, res(overall)}},
			[]figure{{"~95% in the fault", 95, 0.01, res(inFault)}, {"~97.5% over the run", 97.5, 0.01, res(overall)}}},
		{"gray-failure-hedging",
			[]figure{{"(1.026 attempts a request)", 1.026, 0.005, res(func(r *reports.Result) float64 { return r.Measures.RetryAmplification })},
				{"to ~34ms and ~35ms", 34, 0.1, res(p99)}, {"to ~34ms and ~35ms", 35, 0.1, res(faultP99)}},
			[]figure{{"from ~39ms overall", 39, 0.1, res(p99)}, {"~55ms in the fault", 55, 0.1, res(faultP99)}}},
		{"breaker-dependency",
			[]figure{{"100% served", 100, 0.001, res(inFault)}, {"p99 ~19ms", 19, 0.1, res(p99)},
				{"(192 openings)", 192, 0, res(func(r *reports.Result) float64 { return count(r, "breaker-open") })},
				{"all 32 breakers close", 32, 0, res(func(r *reports.Result) float64 { return count(r, "breaker-closed") })},
				{"all 32 breakers close", 0, 0, func(w *World, _ *reports.Result) float64 {
					n := 0.0
					for _, b := range w.breakers {
						if b.state != brClosed {
							n++
						}
					}
					return n
				}},
				{"~220k calls", 220e3, 0.02, res(func(r *reports.Result) float64 { return queueCalls(r, "recommend") })}},
			[]figure{{"only ~14% is served", 14, 0.15, res(inFault)}, {"~70% over the run", 70, 0.03, res(overall)},
				{"p99 ~850ms", 850, 0.1, res(p99)}, {"~298k calls", 298e3, 0.02, res(func(r *reports.Result) float64 { return queueCalls(r, "recommend") })}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := scenarios.LoadLibrary(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			text := string(f.Text)
			head := header(text)
			for _, variant := range []struct {
				name string
				text string
				figs []figure
			}{{"with", text, tc.with}, {"without", withoutResilience(text), tc.without}} {
				if variant.name == "without" && strings.Contains(variant.text, "resilience:") {
					t.Fatal("the variant without resilience still has it")
				}
				w, r := runWorld(t, variant.text)
				reports.Analyze(r)
				for _, fg := range variant.figs {
					if !strings.Contains(head, fg.text) {
						t.Errorf("%s: the opening comment does not say %q", variant.name, fg.text)
					}
					got := fg.get(w, r)
					if math.Abs(got-fg.want) > fg.tol*math.Abs(fg.want)+1e-9 {
						t.Errorf("%s: %q: measured %.4g, want %.4g within %.1f%%", variant.name, fg.text, got, fg.want, fg.tol*100)
					}
				}
			}
		})
	}
}

// header is a scenario's opening comment joined into one line.
func header(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		b.WriteString(strings.TrimSpace(strings.TrimPrefix(l, "#")) + " ")
	}
	return b.String()
}

func count(r *reports.Result, kind string) float64 {
	n := 0.0
	for _, e := range r.Events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}
