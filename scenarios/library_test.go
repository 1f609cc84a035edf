package scenarios

import (
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strings"
	"testing"
)

// TestLibrary checks what the library promises: the required scenarios are
// there, each one loads, opens with the schema comment and an explanation,
// and is small enough to run in seconds.
func TestLibrary(t *testing.T) {
	names := LibraryNames()
	required := []string{
		"baseline", "machine-loss", "rack-loss", "az-loss", "city-loss", "cross-city-partition",
		"intercity-latency", "gray-failure", "registry-outage", "registry-outage-mesh",
		"shard-failover-sync", "shard-failover-async", "overload-shedding", "retry-storm", "reference",
	}
	for _, r := range required {
		if !slices.Contains(names, r) {
			t.Errorf("the library lacks %s", r)
		}
	}
	var top, ci int
	for _, name := range names {
		if strings.HasPrefix(name, "ci/") {
			ci++
		} else {
			top++
		}
		t.Run(name, func(t *testing.T) { checkLibraryFile(t, name) })
	}
	if top < 12 {
		t.Errorf("the library has %d scenarios, want at least 12", top)
	}
	if ci < 3 || ci > 5 {
		t.Errorf("the ci suite has %d scenarios, want 3 to 5", ci)
	}
	if !slices.Contains(names, DefaultScenario) {
		t.Errorf("the default scenario %s is not in the library", DefaultScenario)
	}
}

func checkLibraryFile(t *testing.T, name string) {
	data, err := fs.ReadFile(LibraryFS(), name+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	schema := "../schema.json"
	if strings.Contains(name, "/") {
		schema = "../../schema.json"
	}
	if want := "# yaml-language-server: $schema=" + schema; lines[0] != want {
		t.Errorf("first line is %q, want %q", lines[0], want)
	}
	comment := 0
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "#") {
			break
		}
		comment++
	}
	if comment < 5 || !strings.Contains(string(data), "# Expect") {
		t.Errorf("the opening comment (%d lines) should say what the scenario shows and what to expect (# Expect...)", comment)
	}
	f, err := LoadLibrary(name)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Scenario
	if !f.written("name") || !f.written("description") {
		t.Errorf("name and description should be written")
	}
	if s.Name != strings.ReplaceAll(name, "/", "-") {
		t.Errorf("name %q, want %q (the file's path)", s.Name, strings.ReplaceAll(name, "/", "-"))
	}
	p := NewPlan(f)
	if err := checkPlan(p); err != nil {
		t.Error(err)
	}
	switch {
	case name == "reference":
	case strings.HasPrefix(name, "ci/"):
		if s.Run.Duration < 30*second || s.Run.Duration > 60*second {
			t.Errorf("a ci scenario should run 30-60s, not %s", s.Run.Duration)
		}
		if s.Workload.Rate < 100 || s.Workload.Rate > 2000 {
			t.Errorf("a ci scenario should offer a few hundred to 2k/s, not %s", s.Workload.Rate)
		}
		if !f.written("slo") {
			t.Errorf("a ci scenario needs objectives")
		}
	default:
		if s.Run.Duration > 5*minute || s.Workload.Rate > 5000 {
			t.Errorf("a library scenario should stay within 5m and 5k/s, not %s at %s", s.Run.Duration, s.Workload.Rate)
		}
	}
}

func TestLoadLibraryErrors(t *testing.T) {
	_, err := LoadLibrary("no-such-scenario")
	if err == nil || !strings.Contains(err.Error(), "library/no-such-scenario.yaml") || !strings.Contains(err.Error(), "az-loss") {
		t.Errorf("got %v, want an error naming the file and the known scenarios", err)
	}
	f, err := LoadLibrary("ci/smoke")
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != "library/ci/smoke.yaml" {
		t.Errorf("path %q, want library/ci/smoke.yaml", f.Path)
	}
}

// TestReferenceScenario pins the speed benchmark's shape: its numbers are
// only comparable if the file does not drift.
func TestReferenceScenario(t *testing.T) {
	f, err := LoadLibrary("reference")
	if err != nil {
		t.Fatal(err)
	}
	s, p := f.Scenario, NewPlan(f)
	if len(p.Cities) != 3 || len(p.AZs) != 6 || len(p.Racks) != 24 || len(p.Machines) != 96 {
		t.Errorf("topology %d cities, %d AZs, %d racks, %d machines; want 3, 6, 24, 96", len(p.Cities), len(p.AZs), len(p.Racks), len(p.Machines))
	}
	if s.Striping.Granularity != "az" || len(p.Sets) != 6 {
		t.Errorf("striping %s with %d sets, want az with 6", s.Striping.Granularity, len(p.Sets))
	}
	if s.Workload.Rate != 10_000 || s.Run.Duration != 60*minute || s.Workload.Profile.Shape != "constant" {
		t.Errorf("load %s for %s (%s), want 10k/s constant for 1h", s.Workload.Rate, s.Run.Duration, s.Workload.Profile.Shape)
	}
	if len(p.Faults) != 1 || p.Faults[0].Kind.String() != "az-down" || p.Faults[0].End-p.Faults[0].Start != int64(10*minute) {
		t.Errorf("faults %+v, want one az-down of 10m", s.Faults)
	}
}

// TestLibrarySizing estimates each set's capacity (threads over the time a
// request holds one) against the load it is offered, so that a scenario
// that expects no shedding keeps headroom even after losing half its
// sets, and one about overload really exceeds capacity.
func TestLibrarySizing(t *testing.T) {
	overloaded := map[string]bool{"overload-shedding": true, "overload-commands": true, "retry-storm": true, "ci/shedding": true, "real/overload-shedding": true}
	// sized scenarios are about capacity against a load step or the loss
	// of one set in three, and state their own sizing; they need only to
	// be healthy before it
	sized := map[string]bool{"autoscale-load-step": true, "autoscale-az-loss": true, "headroom-az-loss": true, "real/autoscale-load-step": true}
	for _, name := range LibraryNames() {
		f, err := LoadLibrary(name)
		if err != nil {
			t.Fatal(err)
		}
		normal, peak := setUtilization(f.Scenario)
		t.Logf("%-28s busiest set %3.0f%% busy, %3.0f%% at peak", name, normal*100, peak*100)
		switch {
		case sized[name]:
			if normal > 0.8 {
				t.Errorf("%s: busy %.0f%% before its step or loss; want under 80%%", name, normal*100)
			}
		case overloaded[name]:
			if normal > 0.7 || peak < 1.0 {
				t.Errorf("%s: busy %.0f%% normally and %.0f%% at peak; want under 70%% and over 100%%", name, normal*100, peak*100)
			}
		default:
			// losing the sibling set doubles the load
			if 2*peak > 0.6 {
				t.Errorf("%s: busy %.0f%% at peak, %.0f%% after losing a sibling set; want under 60%%", name, peak*100, 2*peak*100)
			}
		}
	}
}

// setUtilization is the busiest set's offered load over the capacity of the
// gateway's upstream service (with commands, of the busiest service the
// commands go to, for its share of the traffic), normally and at the
// highest overload factor.
func setUtilization(s *Scenario) (normal, peak float64) {
	st := s.Stack
	shares := map[string]float64{st.Gateway.Upstream: 1}
	if len(s.Workload.Commands) > 0 {
		shares = map[string]float64{}
		for _, c := range s.Workload.Commands {
			shares[c.Service] += c.Share.Fraction()
		}
	}
	capacity := math.Inf(1)
	for name, share := range shares {
		up := st.Services[slices.IndexFunc(st.Services, func(sv Service) bool { return sv.Name == name })]
		hold := holdTime(s, up, 0).Std().Seconds()
		capacity = min(capacity, float64(up.Instances*up.Concurrency)/hold/share)
	}
	sets := map[string]int{}
	for _, c := range s.Topology.Cities {
		switch s.Striping.Granularity {
		case "city":
			sets[c.Name] = 1
		case "az":
			sets[c.Name] = c.AZs.N()
		case "rack":
			sets[c.Name] = c.AZs.N() * c.Racks.N()
		default:
			sets[c.Name] = c.AZs.N() * c.Racks.N() * c.Machines.N()
		}
	}
	busiest := 0.0
	for city, share := range s.Workload.Users.ByCity {
		busiest = max(busiest, s.Workload.Rate.PerSecond()*share.Fraction()/float64(sets[city]))
	}
	factor := 1.0
	for _, fl := range s.Faults {
		if fl.Kind == "overload" {
			factor = max(factor, fl.Factor)
		}
	}
	normal = busiest / capacity
	return normal, normal * factor
}

// holdTime is the mean time a request holds a thread of sv: its CPU time
// plus each call's round trip within an AZ and the callee's own time.
func holdTime(s *Scenario, sv Service, depth int) Duration {
	if depth > MaxDepth {
		return 0
	}
	h := meanOf(sv.ServiceTime)
	rtt := 2 * s.Topology.Latency.SameAZ
	for _, c := range sv.Calls {
		h += rtt
		if c.Service != "" {
			callee := s.Stack.Services[slices.IndexFunc(s.Stack.Services, func(x Service) bool { return x.Name == c.Service })]
			h += holdTime(s, callee, depth+1)
			continue
		}
		h += meanOf(s.Stack.Data.ServiceTime)
		if s.Stack.Data.Proxy != nil {
			h += s.Stack.Data.Proxy.Cost + rtt
		}
	}
	return h
}

func meanOf(d Dist) Duration {
	if d.Dist == "uniform" {
		return (d.Min + d.Max) / 2
	}
	return d.Mean
}

// checkPlan asserts the invariants every plan must keep; the fuzz test and
// the library test share it.
func checkPlan(p *Plan) error {
	want := 0
	for _, c := range p.Scenario.Topology.Cities {
		want += c.AZs.N() * c.Racks.N() * c.Machines.N()
	}
	if len(p.Machines) != want {
		return fmt.Errorf("plan has %d machines, the topology lists %d", len(p.Machines), want)
	}
	inSet := make([]int, len(p.Machines))
	for si, st := range p.Sets {
		if len(st.Machines) == 0 {
			return fmt.Errorf("set %s has no machines", st.Name)
		}
		for _, m := range st.Machines {
			inSet[m]++
			if p.Machines[m].Set != si {
				return fmt.Errorf("machine %s lists set %d but is in set %d", p.Machines[m].Name, p.Machines[m].Set, si)
			}
		}
	}
	for m, n := range inSet {
		if n != 1 {
			return fmt.Errorf("machine %s is in %d sets", p.Machines[m].Name, n)
		}
	}
	level := p.Scenario.Stack.Data.Placement
	for i, sh := range p.Shards {
		if len(sh.Replicas) != p.Scenario.Stack.Data.Replicas {
			return fmt.Errorf("shard %d has %d replicas, want %d", i, len(sh.Replicas), p.Scenario.Stack.Data.Replicas)
		}
		seen := map[string]bool{}
		for _, in := range sh.Replicas {
			if p.Instances[in].Role != RoleShard || p.Instances[in].Shard != i {
				return fmt.Errorf("shard %d lists instance %d, which is not one of its copies", i, in)
			}
			d := domainName(p, p.Instances[in].Machine, level)
			if seen[d] {
				return fmt.Errorf("shard %d has two copies in %s %s", i, level, d)
			}
			seen[d] = true
		}
	}
	for i, in := range p.Instances {
		if in.Set != p.Machines[in.Machine].Set {
			return fmt.Errorf("instance %d is in set %d but its machine is in set %d", i, in.Set, p.Machines[in.Machine].Set)
		}
	}
	users := 0
	for _, u := range p.UserCities {
		users += u.Count
	}
	if users != int(p.Scenario.Workload.Users.Count) {
		return fmt.Errorf("users split into %d, want %d", users, p.Scenario.Workload.Users.Count)
	}
	return nil
}

// domainName is the name of machine m's place at a placement level, cut
// from its full name city/az/rack/machine.
func domainName(p *Plan, m int, level string) string {
	parts := strings.Split(p.Machines[m].Name, "/")
	n := map[string]int{"city": 1, "az": 2, "rack": 3, "machine": 4}[level]
	return path.Join(parts[:n]...)
}
