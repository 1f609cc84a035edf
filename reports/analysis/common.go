package analysis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stripelab/stripelab/faults"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// ErrBadInput is matched by errors about an analysis' options (an unknown
// granularity or place kind); scenario errors match scenarios.ErrInvalid.
var ErrBadInput = errors.New("bad analysis input")

// inputError is a bad option; it matches ErrBadInput.
type inputError struct{ msg string }

func (e inputError) Error() string        { return e.msg }
func (e inputError) Is(target error) bool { return target == ErrBadInput }

func badInput(format string, args ...any) error { return inputError{fmt.Sprintf(format, args...)} }

// lossKinds maps a place level to the fault kind that takes it down.
var lossKinds = map[string]string{"machine": "machine-down", "rack": "rack-down", "az": "az-down", "city": "city-down"}

// places lists the full names of every place at a level, in file order.
func places(p *scenarios.Plan, level string) []string {
	var out []string
	switch level {
	case "city":
		for _, c := range p.Cities {
			out = append(out, c.Name)
		}
	case "az":
		for _, a := range p.AZs {
			out = append(out, a.Name)
		}
	case "rack":
		for _, r := range p.Racks {
			out = append(out, r.Name)
		}
	case "machine":
		for _, m := range p.Machines {
			out = append(out, m.Name)
		}
	}
	return out
}

// lossFault takes place (at level) down from at for dur (0: to the end).
func lossFault(level, place string, at, dur scenarios.Duration) scenarios.Fault {
	return scenarios.Fault{
		Name: "lose " + level + " " + place, At: at, For: dur,
		Kind: lossKinds[level], Target: level + "=" + place,
	}
}

// defaultWindow is the scenario's first fault window, or a quarter of the
// run starting a quarter in (after warm-up); fromScenario says which.
func defaultWindow(s *scenarios.Scenario) (at, dur scenarios.Duration, fromScenario bool) {
	if len(s.Faults) > 0 {
		f := s.Faults[0]
		dur = f.For
		if dur == 0 {
			dur = s.Run.Duration - f.At
		}
		return f.At, dur, true
	}
	at, dur = quarterWindow(s)
	return at, dur, false
}

// quarterWindow starts a quarter into the run (or a quarter into what
// follows warm-up, when warm-up is longer) and lasts a quarter of the run,
// both rounded down to whole windows.
func quarterWindow(s *scenarios.Scenario) (at, dur scenarios.Duration) {
	r := s.Run
	at = r.Duration / 4
	if at <= r.Warmup {
		at = r.Warmup + (r.Duration-r.Warmup)/4
	}
	dur = r.Duration / 4
	if r.Window > 0 {
		at -= at % r.Window
		dur = max(r.Window, dur-dur%r.Window)
	}
	return at, min(dur, r.Duration-at)
}

// steadyObjectives keeps the objectives that apply in steady state
// (availability overall and per priority, latency percentiles) and always
// checks availability: the scenario's objective, or 99.9% when it has
// none (shed requests do not count in latency, so a latency objective
// alone would hold at any overload). defaulted reports the latter.
func steadyObjectives(slo scenarios.SLO) (out scenarios.SLO, defaulted bool) {
	out.Availability = slo.Availability
	out.AvailabilityByPriority = slo.AvailabilityByPriority
	out.Latency = slo.Latency
	if out.Availability == 0 {
		out.Availability = scenarios.Percent(reports.DefaultAvailabilityObjective)
		defaulted = true
	}
	return out, defaulted
}

// describeObjectives lists an SLO's objectives in a fixed order, for reports.
func describeObjectives(slo scenarios.SLO) []string {
	var out []string
	if slo.Availability > 0 {
		out = append(out, "availability ≥ "+slo.Availability.String())
	}
	if slo.AvailabilityInFault > 0 {
		out = append(out, "availability in each fault ≥ "+slo.AvailabilityInFault.String())
	}
	for _, k := range scenarios.PriorityNames {
		if v, ok := slo.AvailabilityByPriority[k]; ok {
			out = append(out, "availability of "+k+" priority ≥ "+v.String())
		}
	}
	for _, k := range []string{"p50", "p90", "p95", "p99", "p99.9"} {
		if v, ok := slo.Latency[k]; ok {
			out = append(out, "latency "+k+" ≤ "+v.String())
		}
		if v, ok := slo.LatencyInFault[k]; ok {
			out = append(out, "latency "+k+" in each fault ≤ "+v.String())
		}
	}
	if slo.RTO > 0 {
		out = append(out, "RTO ≤ "+slo.RTO.String())
	}
	if slo.RPO > 0 {
		out = append(out, "RPO ≤ "+slo.RPO.String())
	}
	if slo.LostWrites != nil {
		out = append(out, fmt.Sprintf("lost writes ≤ %d", *slo.LostWrites))
	}
	if slo.ShedOrder {
		out = append(out, "lower priorities shed first")
	}
	return out
}

// failedObjectives names the failed verdicts of a result.
func failedObjectives(res *reports.Result) []string {
	out := []string{}
	for i := range res.Verdicts {
		if v := &res.Verdicts[i]; !v.Pass {
			out = append(out, v.Name()+": "+v.Measured+" (target "+v.Target+")")
		}
	}
	return out
}

// Span is what a run measured over a stretch of it.
type Span struct {
	Offered      int64   `json:"offered"`
	Availability float64 `json:"availability"`
	P99NS        int64   `json:"p99_ns"`
	// CrossSet and CrossRegion are the shares of requests with a hop
	// outside their home set, and served outside their user's city.
	CrossSet    float64 `json:"cross_set"`
	CrossRegion float64 `json:"cross_region"`
}

// measureSpan sums the windows wholly inside [from, to).
func measureSpan(res *reports.Result, from, to int64) Span {
	var c reports.Counts
	var cs, cr int64
	h := reports.NewHist()
	for i := range res.Windows {
		w := &res.Windows[i]
		if w.Start < from || w.Start+res.WindowNS > to {
			continue
		}
		c.Add(&w.Counts)
		cs += w.CrossSet
		cr += w.CrossRegion
		if wh, err := reports.DecodeHist(w.Hist); err == nil {
			h.Merge(wh)
		}
	}
	s := Span{Offered: c.Offered, Availability: c.Availability(), P99NS: reports.Summarize(h).P99}
	if c.Offered > 0 {
		s.CrossSet, s.CrossRegion = float64(cs)/float64(c.Offered), float64(cr)/float64(c.Offered)
	}
	return s
}

// roundRate keeps 4 significant digits, so that probed rates read well.
func roundRate(r float64) float64 {
	if r <= 0 {
		return 0
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(r, 'g', 4, 64), 64)
	if err != nil {
		panic(fmt.Sprintf("analysis: rounding the rate %v: %v", r, err)) // FormatFloat output always parses
	}
	return v
}

// formatRate shows a rate in req/s.
func formatRate(r float64) string {
	switch {
	case r >= 10000:
		return trimZeros(fmt.Sprintf("%.1f", r/1000)) + "k/s"
	case r >= 100:
		return fmt.Sprintf("%.0f/s", r)
	}
	return trimZeros(fmt.Sprintf("%.2f", r)) + "/s"
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// scopeOf parses a fault target into its level and place name.
func scopeOf(target string) (level, place string) {
	sc, err := faults.ParseScope(target)
	if err != nil {
		return "", target
	}
	return sc.Kind.String(), sc.Name
}
