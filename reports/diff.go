package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pkg/errors"
)

// Tolerance is how much worse a new result may be than its baseline
// before Diff calls it a regression.
type Tolerance struct {
	// Availability is the largest allowed drop, as a fraction (0.001 = 0.1 percentage point).
	Availability float64
	// Latency is the largest allowed relative rise of a percentile (0.1 = 10%).
	Latency float64
	// RTO is the largest allowed rise of a fault's recovery time, in ns.
	RTO int64
	// LostWrites is the largest allowed rise in acknowledged writes lost.
	LostWrites int64
}

// DefaultTolerance absorbs run-to-run noise of short simulations.
var DefaultTolerance = Tolerance{Availability: 0.001, Latency: 0.10, RTO: int64(5 * time.Second), LostWrites: 0}

// ParseTolerance reads "availability=0.1%,latency=10%,rto=5s,lost_writes=0"
// on top of DefaultTolerance.
func ParseTolerance(s string) (Tolerance, error) {
	t := DefaultTolerance
	if strings.TrimSpace(s) == "" {
		return t, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return t, fmt.Errorf("tolerance %q: expected name=value", part)
		}
		var err error
		switch k {
		case "availability":
			t.Availability, err = parsePct(v)
		case "latency":
			t.Latency, err = parsePct(v)
		case "rto":
			var d time.Duration
			d, err = time.ParseDuration(v)
			t.RTO = int64(d)
		case "lost_writes":
			_, err = fmt.Sscanf(v, "%d", &t.LostWrites)
		default:
			return t, fmt.Errorf("tolerance %q: unknown name %q; expected availability, latency, rto or lost_writes", part, k)
		}
		if err != nil {
			return t, fmt.Errorf("tolerance %q: %v", part, err)
		}
	}
	return t, nil
}

// ParsePercent reads a tolerance written as a percentage (0.1%, 10%) as a
// fraction; it must be 0 or more.
func ParsePercent(v string) (float64, error) { return parsePct(v) }

func parsePct(v string) (float64, error) {
	var f float64
	if _, err := fmt.Sscanf(strings.TrimSuffix(v, "%"), "%g", &f); err != nil || !strings.HasSuffix(v, "%") || f < 0 {
		return 0, fmt.Errorf("expected a percentage such as 0.1%% or 10%%, got %q", v)
	}
	return f / 100, nil
}

// Change is one measure compared between a baseline and a new result.
type Change struct {
	Measure    string `json:"measure"`
	Scope      string `json:"scope"`
	Base       string `json:"base"`
	New        string `json:"new"`
	Regression bool   `json:"regression"`
	Improved   bool   `json:"improved"`
}

// ErrIncomparable is returned when two results are not runs of the same
// scenario shape (different faults or sets), so a diff would mislead.
var ErrIncomparable = errors.New("results are not comparable")

// Diff compares new against base: availability (overall, per priority,
// in each fault), latency percentiles, RTO and lost writes per fault. It
// returns every comparison, regressions flagged.
func Diff(base, cur *Result, tol Tolerance) ([]Change, error) {
	if base.Measures == nil {
		Analyze(base)
	}
	if cur.Measures == nil {
		Analyze(cur)
	}
	if len(base.Faults) != len(cur.Faults) {
		return nil, errors.Wrapf(ErrIncomparable, "%s has %d faults, %s has %d", base.Scenario, len(base.Faults), cur.Scenario, len(cur.Faults))
	}
	bm, cm := base.Measures, cur.Measures
	var out []Change
	avail := func(measure, scope string, b, c float64) {
		out = append(out, Change{Measure: measure, Scope: scope, Base: FormatPercent(b), New: FormatPercent(c),
			Regression: b-c > tol.Availability+1e-12, Improved: c-b > tol.Availability+1e-12})
	}
	lat := func(scope string, b, c Latency) {
		for _, k := range []string{"p50", "p90", "p99", "p99.9"} {
			bv, _ := b.Quantile(k)
			cv, _ := c.Quantile(k)
			if bv == 0 && cv == 0 {
				continue
			}
			out = append(out, Change{Measure: "latency " + k, Scope: scope, Base: FormatLatency(bv), New: FormatLatency(cv),
				Regression: float64(cv) > float64(bv)*(1+tol.Latency), Improved: float64(cv) < float64(bv)*(1-tol.Latency)})
		}
	}
	avail("availability", "overall", bm.Availability, cm.Availability)
	for p := 0; p < NumPriorities; p++ {
		avail("availability", "priority "+priorityName(p), bm.ByPriority[p], cm.ByPriority[p])
	}
	lat("overall", bm.Latency, cm.Latency)
	for _, bc := range bm.Commands {
		for _, cc := range cm.Commands {
			if bc.Name == cc.Name {
				avail("availability", CommandScope(bc.Name), bc.Availability, cc.Availability)
				lat(CommandScope(bc.Name), bc.Latency, cc.Latency)
			}
		}
	}
	for i := range bm.Faults {
		bf, cf := bm.Faults[i], cm.Faults[i]
		scope := "fault " + bf.Name
		avail("availability", scope, bf.Availability, cf.Availability)
		for k, bc := range bm.Commands {
			if k < len(cm.Commands) && cm.Commands[k].Name == bc.Name && k < len(bf.ByCommand) && k < len(cf.ByCommand) {
				avail("availability", scope+", "+CommandScope(bc.Name), bf.ByCommand[k], cf.ByCommand[k])
			}
		}
		lat(scope, bf.Latency, cf.Latency)
		out = append(out, rtoChange(scope, bf.RTO, cf.RTO, tol.RTO))
		out = append(out, Change{Measure: "lost writes", Scope: scope, Base: fmt.Sprint(bf.LostWrites), New: fmt.Sprint(cf.LostWrites),
			Regression: cf.LostWrites-bf.LostWrites > tol.LostWrites, Improved: cf.LostWrites < bf.LostWrites})
	}
	return out, nil
}

// rtoChange compares recovery times; -1 (never recovered) is worse than any.
func rtoChange(scope string, b, c, tol int64) Change {
	inf := func(v int64) float64 {
		if v < 0 {
			return math.Inf(1)
		}
		return float64(v)
	}
	ch := Change{Measure: "rto", Scope: scope, Base: formatRTO(b), New: formatRTO(c)}
	ch.Regression = inf(c) > inf(b)+float64(tol)
	ch.Improved = inf(c) < inf(b)-float64(tol)
	return ch
}

func formatRTO(v int64) string {
	if v < 0 {
		return "never"
	}
	return FormatLatency(v)
}

// Regressions counts the regressions in changes.
func Regressions(changes []Change) int {
	n := 0
	for _, c := range changes {
		if c.Regression {
			n++
		}
	}
	return n
}

// SortChanges puts regressions first, then keeps the given order.
func SortChanges(changes []Change) {
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Regression && !changes[j].Regression })
}
