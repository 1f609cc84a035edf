package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// deriveSrc is a small valid scenario with a ramp left to end with the
// run, a link fault with a peer, and objectives.
const deriveSrc = `name: derive
run: {duration: 2m, warmup: 10s}
topology:
  cities:
    - {name: a, azs: 2, racks: 2, machines: 2}
    - {name: b, azs: 2, racks: 2, machines: 2}
striping: {granularity: az}
stack:
  gateway: {instances: 2}
  services:
    - {name: api, instances: 3, calls: [{data: request}]}
  data: {replicas: 2}
workload:
  rate: 500/s
  profile: {shape: ramp, from: 50%}
  users: {by_city: {a: 70%, b: 30%}}
faults:
  - {at: 30s, for: 30s, kind: partition, target: city=a, to: city=b}
slo: {availability: 99%, latency: {p99: 100ms}}
`

func deriveBase(t *testing.T) *File {
	t.Helper()
	f, err := Parse("derive.yaml", []byte(deriveSrc))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDeriveGranularityLeavesTheOriginalAlone(t *testing.T) {
	f := deriveBase(t)
	for _, tc := range []struct {
		g    string
		sets int
	}{{"city", 2}, {"az", 4}, {"rack", 8}, {"machine", 16}} {
		v, err := Derive(f, WithGranularity(tc.g), WithFaults())
		if err != nil {
			t.Fatalf("%s: %v", tc.g, err)
		}
		if n := len(NewPlan(v).Sets); n != tc.sets {
			t.Errorf("%s striping: %d sets, want %d", tc.g, n, tc.sets)
		}
		if !strings.Contains(string(v.Text), "#   striping.granularity: "+tc.g+"\n") && tc.g != "az" {
			t.Errorf("%s: the variant's text does not name the change:\n%s", tc.g, v.Text)
		}
		if !strings.HasSuffix(string(v.Text), deriveSrc) {
			t.Errorf("%s: the variant's text does not end with the original", tc.g)
		}
	}
	if f.Scenario.Striping.Granularity != "az" || len(f.Scenario.Faults) != 1 || len(NewPlan(f).Sets) != 4 {
		t.Errorf("the original changed: %s striping, %d faults", f.Scenario.Striping.Granularity, len(f.Scenario.Faults))
	}
}

func TestDeriveCopiesDeeply(t *testing.T) {
	f := deriveBase(t)
	v, err := Derive(f, func(s *Scenario) {
		s.Workload.Users.ByCity["a"], s.Workload.Users.ByCity["b"] = 0.5, 0.5
		s.SLO.Latency["p99"] = 1
		s.Stack.Services[0].Calls[0].Timeout = 7
		*s.Stack.Access.Failback = false
	})
	if err != nil {
		t.Fatal(err)
	}
	o := f.Scenario
	if o.Workload.Users.ByCity["a"] != 0.7 || o.SLO.Latency["p99"] != Duration(100e6) ||
		o.Stack.Services[0].Calls[0].Timeout == 7 || !*o.Stack.Access.Failback {
		t.Error("an edit of the variant reached the original")
	}
	if v.Scenario.Workload.Users.ByCity["a"] != 0.5 {
		t.Error("the edit was lost")
	}
}

func TestDeriveInvalidVariantsAreScenarioErrors(t *testing.T) {
	f := deriveBase(t)
	for _, tc := range []struct {
		name  string
		edits []func(*Scenario)
		want  []string
	}{
		{"unknown granularity", []func(*Scenario){WithGranularity("galaxy")},
			[]string{"derive.yaml: striping.granularity: expected one of city, az, rack, machine", `"galaxy"`}},
		{"fault on an unknown place", []func(*Scenario){WithFaults(Fault{At: Duration(40e9), Kind: "az-down", Target: "az=a/q"})},
			[]string{"faults[0].target", `unknown az "a/q"`}},
		{"run shortened under its fault", []func(*Scenario){WithRun(Duration(45e9), 0)},
			[]string{"faults[0].for", "after the end of the 45s run"}},
		{"no instance", []func(*Scenario){WithInstances(func(string, int) int { return 0 })},
			[]string{"stack.gateway.instances: expected at least 1, got 0", "stack.services[0].instances"}},
		{"warm-up as long as the run", []func(*Scenario){WithFaults(), WithRun(Duration(10e9), Duration(10e9))},
			[]string{"run.warmup", "leaves nothing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Derive(f, tc.edits...)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDeriveReplacedFaultsAreWritten(t *testing.T) {
	f := deriveBase(t)
	// The original's fault wrote "to"; a replacing az-down must not be
	// blamed for it, and a fault at 0s still counts as having "at".
	v, err := Derive(f, WithFaults(Fault{Kind: "az-down", Target: "az=a/a", For: Duration(20e9)},
		Fault{At: Duration(60e9), Kind: "machine-down", Target: "machine=b/a/r1/m1"}))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPlan(v)
	if len(p.Faults) != 2 || p.Faults[0].Start != 0 || p.Faults[0].Name != "az-down az=a/a" || len(p.Faults[1].Machines) != 1 {
		t.Errorf("faults %+v", p.Faults)
	}
	for _, w := range []string{"#   faults[0].kind: az-down", "#   faults[0].to: \"\"", "#   faults[1].at: 1m0s", "#   faults[0].at: 0s"} {
		if !strings.Contains(string(v.Text), w) {
			t.Errorf("text does not list %q:\n%s", w, v.Text)
		}
	}
}

func TestDeriveRefillsDefaultsThatFollowedTheRun(t *testing.T) {
	f := deriveBase(t)
	if end := f.Scenario.Workload.Profile.End; end != Duration(120e9) {
		t.Fatalf("ramp ends at %s in the original, want the end of the run", end)
	}
	v, err := Derive(f, WithFaults(), WithRun(Duration(60e9), Duration(5e9)))
	if err != nil {
		t.Fatal(err)
	}
	if end := v.Scenario.Workload.Profile.End; end != Duration(60e9) {
		t.Errorf("the ramp ends at %s in a 1m variant, want 1m (it was left to follow the run)", end)
	}
	steps, err := Parse("steps.yaml", []byte(strings.Replace(deriveSrc, "{shape: ramp, from: 50%}", "{shape: step, steps: [{at: 0s, level: 200%}]}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Derive(steps, WithConstantRate(100)); err != nil {
		t.Errorf("a step profile made constant: %v", err)
	}
	w, err := Derive(f, WithConstantRate(2000))
	if err != nil {
		t.Fatalf("a constant rate: %v", err)
	}
	if p := w.Scenario.Workload.Profile; p.Shape != "constant" || p.From != 0 || w.Scenario.Workload.Rate != 2000 {
		t.Errorf("profile %+v at %s", p, w.Scenario.Workload.Rate)
	}
}

func TestDeriveScalesInstancesAndRate(t *testing.T) {
	f := deriveBase(t)
	v, err := Derive(f, ScaleInstances(1.5), ScaleRate(2), WithName("bigger"))
	if err != nil {
		t.Fatal(err)
	}
	s := v.Scenario
	if s.Stack.Gateway.Instances != 3 || s.Stack.Services[0].Instances != 5 || s.Workload.Rate != 1000 || s.Name != "bigger" {
		t.Errorf("gateway %d, api %d, rate %s, name %q; want 3, 5 (4.5 rounded up), 1k/s, bigger",
			s.Stack.Gateway.Instances, s.Stack.Services[0].Instances, s.Workload.Rate, s.Name)
	}
	want := []Component{{"gateway", 3}, {"api", 5}}
	if got := s.Components(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("components %v, want %v", got, want)
	}
	small, err := Derive(f, ScaleInstances(0.1))
	if err != nil {
		t.Fatal(err)
	}
	if small.Scenario.Stack.Gateway.Instances != 1 {
		t.Errorf("scaling down keeps at least one instance, got %d", small.Scenario.Stack.Gateway.Instances)
	}
}

func TestPeakLevel(t *testing.T) {
	for _, tc := range []struct {
		p    Profile
		want float64
	}{
		{Profile{Shape: "constant"}, 1},
		{Profile{Shape: "ramp", From: 0.5, To: 2}, 2},
		{Profile{Shape: "ramp", From: 1.5, To: 0.2}, 1.5},
		{Profile{Shape: "spike", Level: 3}, 3},
		{Profile{Shape: "step", Steps: []Step{{At: 10, Level: 0.5}}}, 1},
		{Profile{Shape: "step", Steps: []Step{{At: 0, Level: 0.5}, {At: 10, Level: 0.8}}}, 0.8},
		{Profile{Shape: "diurnal", Min: 0.3}, 1},
	} {
		s := &Scenario{Workload: Workload{Profile: tc.p}}
		if got := s.PeakLevel(); got != tc.want {
			t.Errorf("%+v: peak %v, want %v", tc.p, got, tc.want)
		}
	}
}

// Every shipped scenario derives unchanged, and at every granularity once
// its faults (which may name sets) are removed: the written-field
// bookkeeping raises no false error.
func TestDeriveLibrary(t *testing.T) {
	for _, name := range LibraryNames() {
		f, err := LoadLibrary(name)
		if err != nil {
			t.Fatal(err)
		}
		same, err := Derive(f)
		if err != nil {
			t.Errorf("%s unchanged: %v", name, err)
			continue
		}
		if !strings.Contains(string(same.Text), "#   (none)\n") {
			t.Errorf("%s unchanged lists changes:\n%s", name, same.Text[:200])
		}
		for _, g := range Granularities {
			if _, err := Derive(f, WithGranularity(g), WithFaults()); err != nil {
				t.Errorf("%s at %s: %v", name, g, err)
			}
		}
	}
}
