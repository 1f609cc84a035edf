package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/stripelab/stripelab/reports"
)

// FileCalibration is the JSON a calibration writes beside its report.
const FileCalibration = "calibration.json"

// CalibrationTolerance is how far the simulator may be from the real
// stack on each measure and still be trusted on it.
type CalibrationTolerance struct {
	// Latency is the largest relative gap of a percentile (0.2 = 20%).
	Latency float64 `json:"latency"`
	// Availability is the largest gap overall and per priority, and of the
	// shares of each failure reason, in fraction points (0.005 = 0.5 points).
	Availability float64 `json:"availability"`
	// AvailabilityInFault is the largest gap inside a fault window.
	AvailabilityInFault float64 `json:"availability_in_fault"`
	// Time is the largest relative gap of a fault's detection, reroute,
	// failover-done and RTO; TimeAbs the absolute gap always allowed.
	Time    float64 `json:"time"`
	TimeAbs int64   `json:"time_abs_ns"`
	// Windows is the share of windows whose percentile must be within
	// Latency for the per-window measure to hold.
	Windows float64 `json:"windows"`
}

// DefaultCalibrationTolerance: p50 and p99 within 20%, availability within
// 0.5 points overall and 2 points in a fault window, fault times within
// 20% or 2 s, 80% of the windows' percentiles within 20%.
var DefaultCalibrationTolerance = CalibrationTolerance{
	Latency: 0.20, Availability: 0.005, AvailabilityInFault: 0.02,
	Time: 0.20, TimeAbs: int64(2 * time.Second), Windows: 0.80,
}

// ParseCalibrationTolerance reads "latency=20%,availability=0.5%,
// availability_in_fault=2%,time=20%,time_abs=2s,windows=80%" on top of
// DefaultCalibrationTolerance.
func ParseCalibrationTolerance(s string) (CalibrationTolerance, error) {
	t := DefaultCalibrationTolerance
	if strings.TrimSpace(s) == "" {
		return t, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return t, badInput("--tolerance %q: expected name=value", part)
		}
		var err error
		switch k {
		case "latency":
			t.Latency, err = reports.ParsePercent(v)
		case "availability":
			t.Availability, err = reports.ParsePercent(v)
		case "availability_in_fault":
			t.AvailabilityInFault, err = reports.ParsePercent(v)
		case "time":
			t.Time, err = reports.ParsePercent(v)
		case "windows":
			t.Windows, err = reports.ParsePercent(v)
		case "time_abs":
			var d time.Duration
			d, err = time.ParseDuration(v)
			if err == nil && d < 0 {
				err = fmt.Errorf("want a duration of 0 or more, got %s", v)
			}
			t.TimeAbs = int64(d)
		default:
			return t, badInput("--tolerance %q: unknown name %q; expected latency, availability, availability_in_fault, time, time_abs or windows", part, k)
		}
		if err != nil {
			return t, badInput("--tolerance %q: %v", part, err)
		}
	}
	return t, nil
}

// Gap is one measure, simulated against real.
type Gap struct {
	Measure string `json:"measure"`
	// Scope is overall, a priority, a fault's name or "per window".
	Scope string `json:"scope"`
	// Kind says how Sim and Real read: availability or share (fractions),
	// latency or time (ns; -1 = never), count.
	Kind string  `json:"kind"`
	Sim  float64 `json:"sim"`
	Real float64 `json:"real"`
	// Diff is Sim - Real in the measure's unit (points for fractions).
	Diff   float64 `json:"diff"`
	Within bool    `json:"within"`
	// Rule is the tolerance that decided, in words.
	Rule string `json:"rule"`
	// Detail explains a per-window measure (how many windows held).
	Detail string `json:"detail,omitempty"`
}

// WindowPair is one window of both runs, for the overlay plots.
type WindowPair struct {
	Start       int64   `json:"start_ns"`
	SimAvail    float64 `json:"sim_availability"`
	RealAvail   float64 `json:"real_availability"`
	SimP50      int64   `json:"sim_p50_ns"`
	RealP50     int64   `json:"real_p50_ns"`
	SimP99      int64   `json:"sim_p99_ns"`
	RealP99     int64   `json:"real_p99_ns"`
	SimOffered  int64   `json:"sim_offered"`
	RealOffered int64   `json:"real_offered"`
}

// Calibration is the side by side of one scenario run in the simulator and
// on the real stack.
type Calibration struct {
	Scenario    string               `json:"scenario"`
	File        string               `json:"file"`
	Seed        uint64               `json:"seed"`
	RealBackend string               `json:"real_backend"`
	Tolerance   CalibrationTolerance `json:"tolerance"`
	// Fit lists the scenario fields a --fit set for the simulated run,
	// as field = value; empty when the scenario ran as written.
	Fit []string `json:"fit,omitempty"`
	// RealIncomplete marks a real run that stopped early.
	RealIncomplete bool                `json:"real_incomplete,omitempty"`
	Gaps           []Gap               `json:"gaps"`
	Windows        []WindowPair        `json:"windows"`
	Faults         []reports.FaultInfo `json:"faults"`
	WindowNS       int64               `json:"window_ns"`
	DurationNS     int64               `json:"duration_ns"`
	WarmupNS       int64               `json:"warmup_ns"`
	// Trusted and Untrusted name the measures (without scope) that held
	// everywhere and those that failed somewhere.
	Trusted   []string `json:"trusted"`
	Untrusted []string `json:"untrusted"`
	Reading   string   `json:"reading"`
	Out       int      `json:"out_of_tolerance"`
}

// Calibrate compares a simulated result with a real one of the same
// scenario. Both must have the same windows and faults.
func Calibrate(simRes, realRes *reports.Result, tol CalibrationTolerance) (*Calibration, error) {
	if simRes.WindowNS != realRes.WindowNS || simRes.DurationNS != realRes.DurationNS || len(simRes.Faults) != len(realRes.Faults) {
		return nil, badInput("calibrate: the results are not of the same scenario (windows %s vs %s, length %s vs %s, %d vs %d faults)",
			reports.FormatLatency(simRes.WindowNS), reports.FormatLatency(realRes.WindowNS),
			reports.FormatLatency(simRes.DurationNS), reports.FormatLatency(realRes.DurationNS), len(simRes.Faults), len(realRes.Faults))
	}
	for _, r := range []*reports.Result{simRes, realRes} {
		if r.Measures == nil {
			reports.Analyze(r)
		}
	}
	c := &Calibration{
		Scenario: realRes.Scenario, File: realRes.File, Seed: realRes.Seed, RealBackend: realRes.Backend,
		Tolerance: tol, RealIncomplete: realRes.Incomplete, Faults: realRes.Faults,
		WindowNS: realRes.WindowNS, DurationNS: realRes.DurationNS, WarmupNS: realRes.WarmupNS,
	}
	sm, rm := simRes.Measures, realRes.Measures
	c.avail("availability", "overall", sm.Availability, rm.Availability, tol.Availability)
	for p := range reports.NumPriorities {
		if simRes.Totals.ByPriority[p].Offered == 0 && realRes.Totals.ByPriority[p].Offered == 0 {
			continue
		}
		c.avail("availability", priorityName(p), sm.ByPriority[p], rm.ByPriority[p], tol.Availability)
	}
	for _, q := range []string{"p50", "p90", "p99"} {
		s, _ := sm.Latency.Quantile(q)
		r, _ := rm.Latency.Quantile(q)
		c.latency(q, "overall", s, r, tol.Latency)
	}
	c.perWindow(simRes, realRes, tol)
	c.reasons(simRes, realRes, tol)
	for i := range rm.Faults {
		sf, rf := &sm.Faults[i], &rm.Faults[i]
		name := rf.Name
		c.avail("availability in fault", name, sf.Availability, rf.Availability, tol.AvailabilityInFault)
		c.faultTime("detection", name, sf.Detection, rf.Detection, tol)
		c.faultTime("reroute", name, sf.Reroute, rf.Reroute, tol)
		c.faultTime("failover done", name, sf.FailoverDone, rf.FailoverDone, tol)
		c.faultTime("RTO", name, sf.RTO, rf.RTO, tol)
		c.lostWrites(name, sf.LostWrites, rf.LostWrites)
	}
	c.scaling(simRes.Scaling, realRes.Scaling, tol)
	c.verdict()
	return c, nil
}

func priorityName(p int) string {
	return [...]string{"high", "normal", "low"}[p] + " priority"
}

func (c *Calibration) avail(measure, scope string, s, r, tol float64) {
	d := s - r
	c.Gaps = append(c.Gaps, Gap{Measure: measure, Scope: scope, Kind: "availability", Sim: s, Real: r, Diff: d,
		Within: math.Abs(d) <= tol+1e-12, Rule: "within " + pointsText(tol)})
}

func pointsText(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + " points"
}

func relWithin(s, r, rel float64) bool {
	if s == r {
		return true
	}
	if r == 0 {
		return false
	}
	return math.Abs(s-r) <= rel*math.Abs(r)+1e-9
}

func (c *Calibration) latency(q, scope string, s, r int64, tol float64) {
	c.Gaps = append(c.Gaps, Gap{Measure: "latency " + q, Scope: scope, Kind: "latency", Sim: float64(s), Real: float64(r),
		Diff: float64(s - r), Within: relWithin(float64(s), float64(r), tol), Rule: "within " + pctText(tol)})
}

func pctText(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" }

// minWindowCount is the successful requests both runs need in a window
// for its percentiles to be compared.
const minWindowCount = 20

func (c *Calibration) perWindow(simRes, realRes *reports.Result, tol CalibrationTolerance) {
	n := min(len(simRes.Windows), len(realRes.Windows))
	var compared, held [2]int
	var worst [2]int64 = [2]int64{-1, -1}
	var worstGap [2]float64
	for i := range n {
		sw, rw := &simRes.Windows[i], &realRes.Windows[i]
		c.Windows = append(c.Windows, WindowPair{
			Start: rw.Start, SimAvail: sw.Counts.Availability(), RealAvail: rw.Counts.Availability(),
			SimP50: sw.Latency.P50, RealP50: rw.Latency.P50, SimP99: sw.Latency.P99, RealP99: rw.Latency.P99,
			SimOffered: sw.Counts.Offered, RealOffered: rw.Counts.Offered,
		})
		if rw.Start < realRes.WarmupNS || sw.Latency.Count < minWindowCount || rw.Latency.Count < minWindowCount {
			continue
		}
		for k, pair := range [2][2]int64{{sw.Latency.P50, rw.Latency.P50}, {sw.Latency.P99, rw.Latency.P99}} {
			compared[k]++
			if relWithin(float64(pair[0]), float64(pair[1]), tol.Latency) {
				held[k]++
			} else if g := math.Abs(float64(pair[0]-pair[1])) / float64(max(pair[1], 1)); g > worstGap[k] {
				worstGap[k], worst[k] = g, rw.Start
			}
		}
	}
	for k, q := range []string{"p50", "p99"} {
		share := 1.0
		if compared[k] > 0 {
			share = float64(held[k]) / float64(compared[k])
		}
		g := Gap{Measure: "latency " + q, Scope: "per window", Kind: "share", Sim: share, Real: tol.Windows,
			Within: share+1e-12 >= tol.Windows,
			Rule:   fmt.Sprintf("%s of the windows within %s", pctText(tol.Windows), pctText(tol.Latency)),
			Detail: fmt.Sprintf("%d of %d windows within", held[k], compared[k])}
		if worst[k] >= 0 {
			g.Detail += fmt.Sprintf("; the worst at %s, %s off", reports.FormatTime(worst[k]), pctText(math.Round(worstGap[k]*100)/100))
		}
		c.Gaps = append(c.Gaps, g)
	}
}

// reasons compares the share of offered requests that ended in each
// failure reason.
func (c *Calibration) reasons(simRes, realRes *reports.Result, tol CalibrationTolerance) {
	for o := reports.Shed; o < reports.Unknown; o++ {
		s, r := &simRes.Totals.Counts, &realRes.Totals.Counts
		if s.Outcomes[o] == 0 && r.Outcomes[o] == 0 {
			continue
		}
		sv, rv := share(s.Outcomes[o], s.Offered), share(r.Outcomes[o], r.Offered)
		d := sv - rv
		c.Gaps = append(c.Gaps, Gap{Measure: "failed: " + o.String(), Scope: "overall", Kind: "share", Sim: sv, Real: rv, Diff: d,
			Within: math.Abs(d) <= tol.Availability+1e-12, Rule: "within " + pointsText(tol.Availability)})
	}
}

func share(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func (c *Calibration) faultTime(measure, scope string, s, r int64, tol CalibrationTolerance) {
	g := Gap{Measure: measure, Scope: scope, Kind: "time", Sim: float64(s), Real: float64(r),
		Rule: fmt.Sprintf("within %s or %s", pctText(tol.Time), reports.FormatLatency(tol.TimeAbs))}
	switch {
	case s < 0 && r < 0:
		g.Within = true
	case s < 0 || r < 0:
		g.Within = false
		g.Rule = "both or neither happen"
	default:
		g.Diff = float64(s - r)
		g.Within = math.Abs(g.Diff) <= float64(tol.TimeAbs) || relWithin(float64(s), float64(r), tol.Time)
	}
	c.Gaps = append(c.Gaps, g)
}

func (c *Calibration) lostWrites(scope string, s, r int64) {
	g := Gap{Measure: "lost writes", Scope: scope, Kind: "count", Sim: float64(s), Real: float64(r), Diff: float64(s - r)}
	if r == 0 {
		g.Within, g.Rule = s == 0, "none, as the real run lost none"
	} else {
		g.Within = s > 0 && float64(s) >= float64(r)/10 && float64(s) <= float64(r)*10
		g.Rule = "the same order of magnitude (a tenth to ten times)"
	}
	c.Gaps = append(c.Gaps, g)
}

// scaling compares what scaling did, per scaled component: the instances
// started and when the first was decided, the instance time; and per set
// added or removed: when its users moved and how many.
func (c *Calibration) scaling(sim, real *reports.Scaling, tol CalibrationTolerance) {
	if sim == nil || real == nil {
		return
	}
	for k := range real.Components {
		rc := &real.Components[k]
		var sc *reports.ScaledComponent
		for j := range sim.Components {
			if sim.Components[j].Name == rc.Name {
				sc = &sim.Components[j]
			}
		}
		if sc == nil {
			continue
		}
		sn, sfirst := starts(sim, rc.Name)
		rn, rfirst := starts(real, rc.Name)
		g := Gap{Measure: "instances started", Scope: rc.Name, Kind: "count", Sim: float64(sn), Real: float64(rn), Diff: float64(sn - rn),
			Rule: "within one per set, or " + pctText(tol.Time)}
		g.Within = math.Abs(g.Diff) <= float64(max(1, rc.Initial)) || relWithin(float64(sn), float64(rn), tol.Time)
		c.Gaps = append(c.Gaps, g)
		c.faultTime("first scale-up", rc.Name, sfirst, rfirst, tol)
		g = Gap{Measure: "instance time", Scope: rc.Name, Kind: "time", Sim: float64(sc.InstanceNS), Real: float64(rc.InstanceNS),
			Diff: float64(sc.InstanceNS - rc.InstanceNS), Rule: "within " + pctText(tol.Time)}
		g.Within = relWithin(g.Sim, g.Real, tol.Time)
		c.Gaps = append(c.Gaps, g)
	}
	for k := range real.Sets {
		if k >= len(sim.Sets) || sim.Sets[k].Set != real.Sets[k].Set {
			continue
		}
		ss, rs := &sim.Sets[k], &real.Sets[k]
		c.faultTime("users moved at", rs.Set, ss.Routed, rs.Routed, tol)
		g := Gap{Measure: "users moved", Scope: rs.Set, Kind: "count", Sim: float64(ss.Moved), Real: float64(rs.Moved), Diff: float64(ss.Moved - rs.Moved),
			Rule: "the same users (rendezvous hashing)", Within: ss.Moved == rs.Moved}
		c.Gaps = append(c.Gaps, g)
	}
}

// starts counts the instances of component started and when the first
// was decided (-1: none).
func starts(s *reports.Scaling, component string) (int64, int64) {
	var n int64
	first := int64(-1)
	for _, st := range s.Starts {
		if st.Component == component {
			n++
			if first < 0 || st.Decided < first {
				first = st.Decided
			}
		}
	}
	return n, first
}

func (c *Calibration) verdict() {
	bad := map[string]bool{}
	var order []string
	for _, g := range c.Gaps {
		if _, seen := bad[g.Measure]; !seen {
			order = append(order, g.Measure)
			bad[g.Measure] = false
		}
		if !g.Within {
			bad[g.Measure] = true
			c.Out++
		}
	}
	for _, m := range order {
		if bad[m] {
			c.Untrusted = append(c.Untrusted, m)
		} else {
			c.Trusted = append(c.Trusted, m)
		}
	}
	switch {
	case c.Out == 0:
		c.Reading = "the simulator agrees with the " + c.RealBackend + " run on every measure within tolerance"
	case len(c.Trusted) == 0:
		c.Reading = "the simulator disagrees with the " + c.RealBackend + " run on every measure: do not trust it for this scenario"
	default:
		c.Reading = "trust the simulator on " + strings.Join(c.Trusted, ", ") + "; not on " + strings.Join(c.Untrusted, ", ") +
			fmt.Sprintf(" (%d of %d comparisons out of tolerance)", c.Out, len(c.Gaps))
	}
	if c.RealIncomplete {
		c.Reading += "; the real run stopped early, so its later windows are missing"
	}
}
