package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// calScenario is a short run with a machine lost halfway, so every kind of
// measure (availability in the fault, detection, RTO) has a value.
const calScenario = `
run: {duration: 40s, warmup: 5s, window: 1s, seed: 5}
topology:
  cities: [{name: c, azs: 2, racks: 1, machines: 2}]
striping: {granularity: az}
stack:
  access: {rehome_delay: 2s}
  gateway: {instances: 1}
  discovery: {mode: registry, ttl: 3s, heartbeat: 1s, refresh: 1s}
  services:
    - {name: api, instances: 2, concurrency: 8, queue: 100, service_time: 5ms}
  data: {mode: none}
workload:
  rate: 300/s
slo: {availability: 99%}
faults:
  - {name: lose a machine, kind: machine-down, target: machine=c/a/r1/m2, at: 15s, for: 10s}
`

func calResults(t *testing.T) (*reports.Result, *reports.Result) {
	t.Helper()
	return simAndCopy(t, parse(t, "cal", calScenario))
}

// simAndCopy simulates f and returns the result and a copy of it marked
// as a process run.
func simAndCopy(t *testing.T, f *scenarios.File) (*reports.Result, *reports.Result) {
	t.Helper()
	res, err := simRun(context.Background(), scenarios.NewPlan(f), 5)
	if err != nil {
		t.Fatal(err)
	}
	reports.Analyze(res)
	b, _ := json.Marshal(res)
	var real reports.Result
	if err := json.Unmarshal(b, &real); err != nil {
		t.Fatal(err)
	}
	real.Backend = "process"
	return res, &real
}

func gap(t *testing.T, c *Calibration, measure, scope string) Gap {
	t.Helper()
	for _, g := range c.Gaps {
		if g.Measure == measure && g.Scope == scope {
			return g
		}
	}
	t.Fatalf("no gap %q / %q in %d gaps", measure, scope, len(c.Gaps))
	return Gap{}
}

func TestCalibrateIdenticalRunsAgree(t *testing.T) {
	s, r := calResults(t)
	c, err := Calibrate(s, r, DefaultCalibrationTolerance)
	if err != nil {
		t.Fatal(err)
	}
	if c.Out != 0 || len(c.Untrusted) != 0 {
		t.Fatalf("identical results: %d out of tolerance (%v)", c.Out, c.Untrusted)
	}
	if !strings.Contains(c.Reading, "agrees") {
		t.Fatalf("reading %q", c.Reading)
	}
	if g := gap(t, c, "availability in fault", "lose a machine"); g.Real >= 1 {
		t.Fatalf("the machine loss should cost availability in the sim run, got %v", g.Real)
	}
}

func TestCalibrateFindsKnownGaps(t *testing.T) {
	s, r := calResults(t)
	// The real run is 50% slower in every window and overall, lost 40
	// writes in the fault, and failed 3 points more requests overall.
	for i := range r.Windows {
		r.Windows[i].Latency.P50 = r.Windows[i].Latency.P50 * 3 / 2
		r.Windows[i].Latency.P99 = r.Windows[i].Latency.P99 * 3 / 2
	}
	m := r.Measures
	m.Latency.P50 = m.Latency.P50 * 3 / 2
	m.Latency.P99 = m.Latency.P99 * 11 / 10 // within 20%
	m.Faults[0].LostWrites = 40
	m.Availability -= 0.03
	m.Faults[0].Detection += int64(10e9)
	c, err := Calibrate(s, r, DefaultCalibrationTolerance)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		measure, scope string
		within         bool
	}{
		{"latency p50", "overall", false},
		{"latency p99", "overall", true},
		{"latency p50", "per window", false},
		{"latency p99", "per window", false},
		{"availability", "overall", false},
		{"lost writes", "lose a machine", false},
		{"detection", "lose a machine", false},
		{"RTO", "lose a machine", true},
		{"availability in fault", "lose a machine", true},
	} {
		if g := gap(t, c, w.measure, w.scope); g.Within != w.within {
			t.Errorf("%s %s: within = %v, want %v (%+v)", w.measure, w.scope, g.Within, w.within, g)
		}
	}
	if g := gap(t, c, "availability", "overall"); g.Diff < 0.0299 || g.Diff > 0.0301 {
		t.Errorf("availability diff %v, want +0.03", g.Diff)
	}
	if c.Out == 0 || !strings.Contains(c.Reading, "not on") || !strings.Contains(c.Reading, "latency p50") {
		t.Fatalf("reading %q, out %d", c.Reading, c.Out)
	}
	dir := t.TempDir()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileCalibration, FileHTML, FileMarkdown, "plots/availability.png", "plots/latency-p99.svg"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, FileMarkdown))
	if !strings.Contains(string(md), "lost writes") || !strings.Contains(string(md), "| no |") {
		t.Errorf("markdown lacks the gap table:\n%s", md)
	}
}

func TestCalibrateLostWritesRule(t *testing.T) {
	c := &Calibration{}
	c.lostWrites("a", 0, 0)
	c.lostWrites("b", 3, 0)
	c.lostWrites("c", 30, 100)
	c.lostWrites("d", 5, 100)
	c.lostWrites("e", 0, 100)
	want := []bool{true, false, true, false, false}
	for i, g := range c.Gaps {
		if g.Within != want[i] {
			t.Errorf("%s: sim %v real %v within %v, want %v", g.Scope, g.Sim, g.Real, g.Within, want[i])
		}
	}
}

func TestCalibrateRejectsOtherScenario(t *testing.T) {
	s, r := calResults(t)
	r.WindowNS *= 2
	if _, err := Calibrate(s, r, DefaultCalibrationTolerance); !errors.Is(err, ErrBadInput) {
		t.Fatalf("want a bad input error, got %v", err)
	}
}

func TestParseCalibrationTolerance(t *testing.T) {
	tol, err := ParseCalibrationTolerance("latency=30%, time_abs=500ms,availability_in_fault=5%")
	if err != nil {
		t.Fatal(err)
	}
	if tol.Latency != 0.3 || tol.TimeAbs != 5e8 || tol.AvailabilityInFault != 0.05 || tol.Availability != DefaultCalibrationTolerance.Availability {
		t.Fatalf("%+v", tol)
	}
	for _, bad := range []string{"latency=30", "speed=1%", "time_abs=-1s", "latency"} {
		if _, err := ParseCalibrationTolerance(bad); !errors.Is(err, ErrBadInput) {
			t.Errorf("%q: want a bad input error, got %v", bad, err)
		}
	}
}

// TestCalibrateScaling: the scaling records are compared per component
// (instances started, the first scale-up, instance time) and per set
// change (when users moved, how many); a real run that scaled later and
// moved other users is out of tolerance there.
func TestCalibrateScaling(t *testing.T) {
	text := strings.Replace(calScenario, "striping: {granularity: az}", "striping: {granularity: az, reserve: [c/b]}", 1)
	text = strings.Replace(text, "azs: 2,", "azs: 3,", 1)
	f := parse(t, "cal-scale", strings.Replace(text, "faults:", `scaling:
  startup: 2s
  actions: [{at: 10s, service: api, by: 2}]
  sets: [{at: 12s, add: c/b}]
faults:`, 1))
	res, real := simAndCopy(t, f)
	c, err := Calibrate(res, real, DefaultCalibrationTolerance)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"instances started", "first scale-up", "instance time"} {
		if g := gap(t, c, m, "api"); !g.Within {
			t.Errorf("identical runs: %s out of tolerance: %+v", m, g)
		}
	}
	if g := gap(t, c, "users moved", "c/b"); !g.Within || g.Real == 0 {
		t.Errorf("identical runs: users moved %+v", g)
	}
	sc := real.Scaling
	for i := range sc.Starts {
		sc.Starts[i].Decided += int64(20e9)
	}
	sc.Components[0].InstanceNS /= 2
	sc.Sets[0].Moved++
	c, err = Calibrate(res, real, DefaultCalibrationTolerance)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ measure, scope string }{{"first scale-up", "api"}, {"instance time", "api"}, {"users moved", "c/b"}} {
		if g := gap(t, c, w.measure, w.scope); g.Within {
			t.Errorf("%s should be out of tolerance: %+v", w.measure, g)
		}
	}
	if g := gap(t, c, "instances started", "api"); !g.Within {
		t.Errorf("the same count of starts: %+v", g)
	}
}
