package scenarios

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) *Scenario {
	t.Helper()
	f, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return f.Scenario
}

func TestDefaults(t *testing.T) {
	s := mustParse(t, base)
	if s.Name != "test" {
		t.Errorf("name %q, want the file name test", s.Name)
	}
	if s.Run.Duration != 5*minute || s.Run.Warmup != 10*second || s.Run.Window != second || s.Run.Seed != 1 {
		t.Errorf("run %+v", s.Run)
	}
	c := s.Topology.Cities[0]
	if c.AZs.N() != 2 || c.Racks.N() != 2 || c.Machines.N() != 4 || s.Topology.Machine.Cores != 16 {
		t.Errorf("city %+v, cores %d", c, s.Topology.Machine.Cores)
	}
	st := s.Stack
	if st.Gateway.Upstream != "s" || st.Gateway.Timeout != s.Workload.Client.Timeout || st.Gateway.Timeout != second {
		t.Errorf("gateway upstream %q timeout %s: want the first service and the client timeout", st.Gateway.Upstream, st.Gateway.Timeout)
	}
	if !*st.Access.Failback || !*st.Gateway.Auth.Enabled {
		t.Error("failback and auth should default to true")
	}
	sv := st.Services[0]
	if sv.Instances != 2 || sv.Concurrency != 16 || sv.Queue != 1000 || sv.ServiceTime != (Dist{Dist: "exponential", Mean: 2 * ms}) {
		t.Errorf("service %+v", sv)
	}
	if st.Data.Mode != "sharded" || st.Data.Shards != 0 || st.Data.Replication != "async" || st.Data.Lag != 100*ms || st.Data.Acks != "" {
		t.Errorf("data %+v", st.Data)
	}
	// 3 replicas over distinct AZs do not fit in one city of 2 AZs: the
	// default follows the topology.
	if st.Data.Replicas != 2 {
		t.Errorf("replicas %d, want 2 (one per AZ)", st.Data.Replicas)
	}
	w := s.Workload
	if w.Rate != 1000 || w.Users.Count != 100_000 || w.Mix != (Mix{Read: 0.8, Write: 0.2}) || w.Priorities != (Priorities{High: 0.1, Normal: 0.6, Low: 0.3}) {
		t.Errorf("workload %+v", w)
	}
	if !slices.Equal(w.Client.RetryOn, []string{"timeout", "error", "unavailable"}) {
		t.Errorf("retry_on %v", w.Client.RetryOn)
	}
	if len(w.Users.ByCity) != 1 || w.Users.ByCity["a"] != 1 {
		t.Errorf("by_city %v, want a: 100%%", w.Users.ByCity)
	}
}

func TestDefaultsFollowModes(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		check     func(s *Scenario) bool
	}{
		{"registry fields only under registry", base, func(s *Scenario) bool {
			d := s.Stack.Discovery
			return d.Placement == "per-set" && d.Heartbeat == 5*second && d.TTL == 15*second && d.Refresh == 10*second && d.Detection == 0 && d.Propagation == 0
		}},
		{"sync gets acks, not lag", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {replication: sync}}\n", func(s *Scenario) bool {
			return s.Stack.Data.Acks == "one" && s.Stack.Data.Lag == 0
		}},
		{"random shedding gets start only", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], gateway: {shedding: {policy: random}}}\n", func(s *Scenario) bool {
			sh := s.Stack.Gateway.Shedding
			return sh.Start == 0.5 && sh.Low == 0 && sh.Normal == 0 && sh.High == 0
		}},
		{"priority shedding thresholds", base, func(s *Scenario) bool {
			sh := s.Stack.Gateway.Shedding
			return sh.Start == 0 && sh.Low == 0.25 && sh.Normal == 0.5 && sh.High == 0.9
		}},
		{"ramp ends with the run", base + "run: {duration: 3m}\nworkload: {profile: {shape: ramp}}\n", func(s *Scenario) bool {
			p := s.Workload.Profile
			return p.To == 1 && p.End == 3*minute && p.From == 0
		}},
		{"spike", base + "workload: {profile: {shape: spike, start: 1m}}\n", func(s *Scenario) bool {
			p := s.Workload.Profile
			return p.For == 30*second && p.Level == 3 && p.Start == minute
		}},
		{"diurnal peaks mid-period", base + "workload: {profile: {shape: diurnal, period: 2m}}\n", func(s *Scenario) bool {
			p := s.Workload.Profile
			return p.Period == 2*minute && p.PeakAt == minute && p.Min == 0.3
		}},
		{"zipf exponent", base + "workload: {keys: {distribution: zipf}}\n", func(s *Scenario) bool { return s.Workload.Keys.S == 1.1 }},
		{"uniform keys have no exponent", base, func(s *Scenario) bool { return s.Workload.Keys.S == 0 }},
		{"proxy gets shards and a proxy", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], data: {mode: proxy}}\n", func(s *Scenario) bool {
			d := s.Stack.Data
			return d.Shards == 16 && d.Proxy != nil && *d.Proxy == (Proxy{Instances: 2, Cost: 100 * us, Concurrency: 256})
		}},
		{"global primary in the first city", "topology: {cities: [{name: x}, {name: y}]}\nstack: {services: [{name: s}], data: {mode: global}}\n", func(s *Scenario) bool {
			return s.Stack.Data.Primary == "city=x" && s.Stack.Data.Shards == 16
		}},
		{"sharded has no proxy", base, func(s *Scenario) bool { return s.Stack.Data.Proxy == nil }},
		{"lognormal shape", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: {dist: lognormal, mean: 1ms}}]}\n", func(s *Scenario) bool {
			return s.Stack.Services[0].ServiceTime.Sigma == 0.5
		}},
		{"bare duration is constant", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, service_time: 3ms}]}\n", func(s *Scenario) bool {
			return s.Stack.Services[0].ServiceTime == Dist{Dist: "constant", Mean: 3 * ms}
		}},
		{"read-only mix means no writes", base + "workload: {mix: {read: 100%}}\n", func(s *Scenario) bool {
			return s.Workload.Mix == Mix{Read: 1}
		}},
		{"write-only mix", base + "workload: {mix: {write: 100%}}\n", func(s *Scenario) bool {
			return s.Workload.Mix == Mix{Write: 1}
		}},
		{"high-only priorities", base + "workload: {priorities: {high: 100%}}\n", func(s *Scenario) bool {
			return s.Workload.Priorities == Priorities{High: 1}
		}},
		{"equal city shares", "topology: {cities: [{name: a}, {name: b}, {name: c}]}\nstack: {services: [{name: s}]}\n", func(s *Scenario) bool {
			var sum float64
			for _, p := range s.Workload.Users.ByCity {
				sum += p.Fraction()
			}
			return len(s.Workload.Users.ByCity) == 3 && sum > 1-1e-9 && sum < 1+1e-9
		}},
		{"three replicas when three AZs", "topology: {cities: [{name: a, azs: 3}]}\nstack: {services: [{name: s}]}\n", func(s *Scenario) bool {
			return s.Stack.Data.Replicas == 3
		}},
		{"replicas over cities follow the cities", "topology: {cities: [{name: a}, {name: b}]}\nstack: {services: [{name: s}], data: {placement: city}}\n", func(s *Scenario) bool {
			return s.Stack.Data.Replicas == 2
		}},
		{"call and gateway timeouts follow the client", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s, calls: [{data: read}, {data: write, timeout: 50ms}]}]}\nworkload: {client: {timeout: 300ms}}\n", func(s *Scenario) bool {
			c := s.Stack.Services[0].Calls
			return c[0].Timeout == 300*ms && c[1].Timeout == 50*ms && s.Stack.Gateway.Timeout == 300*ms
		}},
		{"written false stays false", "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], access: {failback: false}, gateway: {auth: {enabled: false}}}\n", func(s *Scenario) bool {
			return !*s.Stack.Access.Failback && !*s.Stack.Gateway.Auth.Enabled
		}},
		{"retry_on written empty", base + "workload: {client: {retry_on: []}}\n", func(s *Scenario) bool {
			return len(s.Workload.Client.RetryOn) == 0
		}},
		{"merged fields with own keys winning", base + "run: {<<: {duration: 2m, seed: 9}, seed: 3}\n", func(s *Scenario) bool {
			return s.Run.Duration == 2*minute && s.Run.Seed == 3
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s := mustParse(t, tc.src); !tc.check(s) {
				t.Errorf("defaults wrong for:\n%s\ngot %+v", tc.src, s)
			}
		})
	}
	t.Run("mesh fields only under mesh", func(t *testing.T) {
		s := mustParse(t, "topology: {cities: [{name: a}]}\nstack: {services: [{name: s}], discovery: {mode: mesh}}\n")
		d := s.Stack.Discovery
		if d.Detection != 2*second || d.Propagation != second || d.Placement != "" || d.Heartbeat != 0 || d.TTL != 0 || d.Refresh != 0 {
			t.Errorf("discovery %+v", d)
		}
	})
}

// TestDocumentedDefaults checks each literal "Default X." of the field
// comments (the reference and the schema descriptions) against the value
// the loader fills in, in a scenario where the field's mode applies.
func TestDocumentedDefaults(t *testing.T) {
	variants := []*Scenario{
		mustParse(t, "topology: {cities: [{name: a, azs: 3}]}\nstack: {services: [{name: s, calls: [{data: read}]}]}\n"),
		mustParse(t, "topology: {cities: [{name: a, azs: 3}]}\nstack:\n  services: [{name: s, service_time: {dist: lognormal, mean: 2ms}}]\n"+
			"  discovery: {mode: mesh}\n  data: {mode: proxy, replication: sync}\n  gateway: {shedding: {policy: random}}\n"+
			"workload: {profile: {shape: ramp}, keys: {distribution: zipf}}\n"),
		mustParse(t, base+"workload: {profile: {shape: spike}}\n"),
		mustParse(t, base+"workload: {profile: {shape: diurnal}}\n"),
	}
	secs, err := referenceSections()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, sec := range secs {
		if sec.Path == "distribution" || strings.HasPrefix(sec.Path, "faults") {
			continue // checked by TestDefaultsFollowModes and the plan tests
		}
		for _, row := range sec.Rows {
			if row.Default == "" {
				continue
			}
			token, _, _ := strings.Cut(row.Default, " ")
			token = strings.TrimSuffix(token, ",")
			var found []string
			ok, comparable := false, false
			for _, s := range variants {
				v, exists := valueAt(reflect.ValueOf(s).Elem(), row.Path)
				if !exists {
					continue
				}
				match, can := equalsDefault(v, row, token)
				comparable = comparable || can
				ok = ok || match
				found = append(found, describeValue(v))
			}
			if !comparable {
				continue
			}
			checked++
			if !ok {
				t.Errorf("%s: documented default %q, loader gives %v", row.Path, row.Default, found)
			}
		}
	}
	if checked < 60 {
		t.Errorf("only %d documented defaults were checked", checked)
	}
}

// valueAt follows a reference path (run.duration, stack.services[].queue)
// through a scenario; [] takes a list's first element.
func valueAt(v reflect.Value, path string) (reflect.Value, bool) {
	for _, part := range strings.Split(path, ".") {
		name, list := strings.CutSuffix(part, "[]")
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return v, false
			}
			v = v.Elem()
		}
		idx, ok := yamlFields(v.Type())[name]
		if !ok {
			return v, false
		}
		v = v.Field(idx)
		if list {
			if v.Len() == 0 {
				return v, false
			}
			v = v.Index(0)
		}
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return v, false
		}
		v = v.Elem()
	}
	return v, true
}

// equalsDefault compares a value with a documented default; can is false
// when the default is not a literal of the field's notation.
func equalsDefault(v reflect.Value, row refRow, token string) (match, can bool) {
	switch x := v.Interface().(type) {
	case Duration:
		d, err := ParseDuration(token)
		return err == nil && d == x, err == nil
	case Rate:
		r, err := ParseRate(token)
		return err == nil && r == x, err == nil
	case Percent:
		p, err := ParsePercent(token)
		return err == nil && p == x, err == nil
	case Count:
		var c Count
		err := c.unmarshalScalar(token)
		return err == nil && c == x, err == nil
	case Names:
		n, err := strconv.Atoi(token)
		return err == nil && x.N() == n && x.List == nil, err == nil
	case Dist:
		d, err := ParseDuration(token)
		kind := strings.Trim(strings.TrimPrefix(row.Default, token), " ()")
		return err == nil && d == x.Mean && kind == x.Dist, err == nil
	case int:
		n, err := strconv.Atoi(token)
		return err == nil && n == x, err == nil
	case uint64:
		n, err := strconv.ParseUint(token, 10, 64)
		return err == nil && n == x, err == nil
	case float64:
		f, err := strconv.ParseFloat(token, 64)
		return err == nil && f == x, err == nil
	case bool:
		b, err := strconv.ParseBool(token)
		return err == nil && b == x, err == nil
	case string:
		if strings.Contains(row.Type, "`"+token+"`") || !strings.Contains(row.Default, " ") {
			return x == token, true
		}
	}
	return false, false
}

func describeValue(v reflect.Value) string { return fmt.Sprint(v.Interface()) }
