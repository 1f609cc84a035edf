package faults

import (
	"strings"
	"testing"
	"time"
)

// TestTable checks the invariants the scenario loader and the backends
// rely on: the table is in Kind order, names are unique, required
// parameters are allowed ones, and every kind has a target.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for i, s := range Table {
		if s == nil {
			t.Fatalf("kind %d has no spec", i)
		}
		if s.Kind != Kind(i) {
			t.Errorf("%s is at %d but has kind %d", s.Name, i, s.Kind)
		}
		if seen[s.Name] || s.Name == "" || s.Summary == "" {
			t.Errorf("kind %d: name %q twice or empty, summary %q", i, s.Name, s.Summary)
		}
		seen[s.Name] = true
		if len(s.Targets) == 0 {
			t.Errorf("%s accepts no target", s.Name)
		}
		for _, r := range s.Required {
			if !s.Allows(r) {
				t.Errorf("%s requires %s but does not allow it", s.Name, r)
			}
		}
		if got, err := Lookup(s.Name); err != nil || got != s {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got, err)
		}
		if Kind(i).String() != s.Name {
			t.Errorf("Kind(%d).String() = %q", i, Kind(i).String())
		}
		if s.Kind.IsLink() != s.Allows(ParamTo) {
			t.Errorf("%s: link kind %v but takes to: %v", s.Name, s.Kind.IsLink(), s.Allows(ParamTo))
		}
	}
	if _, err := Lookup("meteor"); err == nil || !strings.Contains(err.Error(), "az-down") {
		t.Errorf("Lookup of an unknown kind: %v, want the list of kinds", err)
	}
}

func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		kind string
		p    Params
		err  string
	}{
		{"latency", Params{Delay: time.Millisecond}, ""},
		{"latency", Params{}, "expected a delay, a jitter or both"},
		{"latency", Params{Jitter: time.Millisecond}, ""},
		{"latency", Params{Delay: time.Millisecond, Direction: "up"}, "direction:"},
		{"loss", Params{Rate: 0.5}, ""},
		{"loss", Params{Rate: 0}, "rate:"},
		{"loss", Params{Rate: 1.5}, "rate:"},
		{"partition", Params{}, ""},
		{"partition", Params{Action: "reject", Direction: "one-way"}, ""},
		{"partition", Params{Action: "refuse"}, "action:"},
		{"slow-machine", Params{Factor: 1}, ""},
		{"slow-machine", Params{Factor: 0.5}, "factor:"},
		{"overload", Params{Factor: 0.5}, ""},
		{"overload", Params{Factor: 0}, "factor:"},
	} {
		s, _ := Lookup(tc.kind)
		err := s.Check(tc.p)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.err)) {
			t.Errorf("%s %+v: %v, want %q", tc.kind, tc.p, err, tc.err)
		}
	}
}

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Scope
		err  string
	}{
		{"", Scope{Kind: ScopeAll}, ""},
		{"all", Scope{Kind: ScopeAll}, ""},
		{"city=shenzhen", Scope{ScopeCity, "shenzhen"}, ""},
		{" az=shenzhen/a ", Scope{ScopeAZ, "shenzhen/a"}, ""},
		{"rack=a/b/r1", Scope{ScopeRack, "a/b/r1"}, ""},
		{"machine=a/b/r1/m2", Scope{ScopeMachine, "a/b/r1/m2"}, ""},
		{"set=a/b", Scope{ScopeSet, "a/b"}, ""},
		{"service=order", Scope{ScopeService, "order"}, ""},
		{"shard=3", Scope{ScopeShard, "3"}, ""},
		{"shenzhen", Scope{}, "expected a target such as city=NAME"},
		{"city=", Scope{}, "expected a target such as"},
		{"zone=a", Scope{}, `unknown target kind "zone"`},
		{"all=x", Scope{}, `unknown target kind "all"`},
	} {
		got, err := ParseScope(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseScope(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseScope(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.in != "" && strings.TrimSpace(tc.in) != got.String() {
			t.Errorf("%v prints as %q, want %q", got, got.String(), strings.TrimSpace(tc.in))
		}
	}
	for k := ScopeAll; k <= ScopeShard; k++ {
		if want := k >= ScopeCity && k <= ScopeMachine; k.Physical() != want {
			t.Errorf("%s.Physical() = %v", k, k.Physical())
		}
	}
}

func TestPlannedWindow(t *testing.T) {
	p := Planned{Start: 10, End: 20, Params: Params{Direction: "one-way"}}
	if p.Active(9) || !p.Active(10) || !p.Active(19) || p.Active(20) || !p.OneWay() {
		t.Error("a fault is active on [start, end)")
	}
}
