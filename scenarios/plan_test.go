package scenarios

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stripelab/stripelab/faults"
)

func mustPlan(t *testing.T, src string) *Plan {
	t.Helper()
	f, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	p := NewPlan(f)
	if err := checkPlan(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// twoCities has 2 x 3 x 2 = 12 machines in a and 3 x 1 x 4 = 12 in b.
const twoCities = "topology:\n  cities:\n    - {name: a, azs: 2, racks: 3, machines: 2}\n    - {name: b, azs: [x, y, z], racks: 1, machines: 4}\n" +
	"stack: {services: [{name: s}], data: {replicas: 1}}\n"

func TestSetsPerGranularity(t *testing.T) {
	for _, tc := range []struct {
		granularity string
		sets        int
		first, last string
		perSet      int
	}{
		{"city", 2, "a", "b", 12},
		{"az", 5, "a/a", "b/z", 0},
		{"rack", 9, "a/a/r1", "b/z/r1", 0},
		{"machine", 24, "a/a/r1/m1", "b/z/r1/m4", 1},
	} {
		t.Run(tc.granularity, func(t *testing.T) {
			p := mustPlan(t, twoCities+"striping: {granularity: "+tc.granularity+"}\n")
			if len(p.Machines) != 24 {
				t.Fatalf("%d machines, want 24", len(p.Machines))
			}
			if len(p.Sets) != tc.sets || p.Sets[0].Name != tc.first || p.Sets[len(p.Sets)-1].Name != tc.last {
				t.Errorf("%d sets %s..%s, want %d sets %s..%s", len(p.Sets), p.Sets[0].Name, p.Sets[len(p.Sets)-1].Name, tc.sets, tc.first, tc.last)
			}
			for _, s := range p.Sets {
				if tc.perSet > 0 && len(s.Machines) != tc.perSet {
					t.Errorf("set %s has %d machines, want %d", s.Name, len(s.Machines), tc.perSet)
				}
				for _, m := range s.Machines {
					if !strings.HasPrefix(p.Machines[m].Name, s.Name) {
						t.Errorf("machine %s is in set %s", p.Machines[m].Name, s.Name)
					}
				}
			}
			if n := len(p.Cities[0].Sets) + len(p.Cities[1].Sets); n != tc.sets {
				t.Errorf("cities list %d sets, want %d", n, tc.sets)
			}
		})
	}
}

func TestInstanceSpreading(t *testing.T) {
	p := mustPlan(t, twoCities+"striping: {granularity: city}\n")
	for si := range p.Sets {
		azs := map[int]bool{}
		perMachine := map[int]int{}
		for _, in := range p.Instances {
			if in.Set != si {
				continue
			}
			if in.Role == RoleGateway {
				azs[p.Machines[in.Machine].AZ] = true
			}
			if in.Role == RoleGateway || in.Role == RoleService {
				perMachine[in.Machine]++
			}
		}
		if len(azs) != 2 {
			t.Errorf("set %s: its 2 gateways are in %d AZs, want 2", p.Sets[si].Name, len(azs))
		}
		// 4 instances over 12 machines: no machine holds two
		for m, n := range perMachine {
			if n > 1 {
				t.Errorf("set %s: machine %s holds %d instances", p.Sets[si].Name, p.Machines[m].Name, n)
			}
		}
	}
	// more instances than machines: the counts per machine differ by at most one
	p = mustPlan(t, "topology: {cities: [{name: a, azs: 1, racks: 2, machines: 2}]}\nstack: {services: [{name: s, instances: 7}], data: {mode: none}}\n")
	count := map[int]int{}
	for _, in := range p.Instances {
		if in.Role != RoleRegistry {
			count[in.Machine]++
		}
	}
	lo, hi := math.MaxInt, 0
	for _, n := range count {
		lo, hi = min(lo, n), max(hi, n)
	}
	if len(count) != 4 || hi-lo > 1 {
		t.Errorf("9 instances over 4 machines spread as %v", count)
	}
}

func TestUsersSplit(t *testing.T) {
	for _, tc := range []struct {
		shares []string
		users  int
		want   []int
	}{
		{[]string{"34%", "33%", "33%"}, 10, []int{4, 3, 3}},
		{[]string{"33.4%", "33.3%", "33.3%"}, 1000, []int{334, 333, 333}},
		{[]string{"50%", "50%", "0%"}, 3, []int{2, 1, 0}},
		{[]string{"10%", "10%", "80%"}, 1, []int{0, 0, 1}},
		{[]string{"33.33%", "33.33%", "33.34%"}, 100_000_000, []int{33_330_000, 33_330_000, 33_340_000}},
	} {
		src := fmt.Sprintf("topology: {cities: [{name: a}, {name: b}, {name: c}]}\nstack: {services: [{name: s}]}\n"+
			"workload: {users: {count: %d, by_city: {a: %s, b: %s, c: %s}}}\n", tc.users, tc.shares[0], tc.shares[1], tc.shares[2])
		p := mustPlan(t, src)
		var got []int
		first := 0
		for i, u := range p.UserCities {
			if u.City != i || u.First != first {
				t.Errorf("range %d is %+v, want city %d from %d", i, u, i, first)
			}
			first += u.Count
			got = append(got, u.Count)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d users over %v split %v, want %v", tc.users, tc.shares, got, tc.want)
		}
	}
}

func TestHomeSet(t *testing.T) {
	p := mustPlan(t, "topology: {cities: [{name: a, azs: 4}, {name: b, azs: 1}]}\nstack: {services: [{name: s}], data: {replicas: 2}}\nrun: {seed: 1}\n")
	q := mustPlan(t, "topology: {cities: [{name: a, azs: 4}, {name: b, azs: 1}]}\nstack: {services: [{name: s}], data: {replicas: 2}}\nrun: {seed: 99}\n")
	const users = 100_000
	per := map[int]int{}
	for u := 0; u < users; u++ {
		s := p.HomeSet(0, u)
		if s != q.HomeSet(0, u) {
			t.Fatalf("user %d: home set depends on the seed", u)
		}
		if p.Sets[s].City != 0 {
			t.Fatalf("user %d of city a is homed in %s", u, p.Sets[s].Name)
		}
		if p.ShardOf(0, u) != s {
			t.Fatalf("sharded mode: user %d's shard %d is not its home set %d", u, p.ShardOf(0, u), s)
		}
		per[s]++
	}
	if len(per) != 4 {
		t.Fatalf("users landed in %d sets, want 4", len(per))
	}
	for s, n := range per {
		if share := float64(n) / users; math.Abs(share-0.25) > 0.01 {
			t.Errorf("set %s got %.2f%% of the users, want 25%% within 1 point", p.Sets[s].Name, share*100)
		}
	}
	if got := p.HomeSet(1, 12345); got != p.Cities[1].Sets[0] {
		t.Errorf("a one-set city homes users in %d", got)
	}
}

func TestReplicaPlacement(t *testing.T) {
	// placement az in a city of 2 AZs: the replica stays in the city
	p := mustPlan(t, "topology: {cities: [{name: a}, {name: b}]}\nstack: {services: [{name: s}], data: {replicas: 2, placement: az}}\n")
	for i, sh := range p.Shards {
		pm, rm := p.Machines[p.Instances[sh.Replicas[0]].Machine], p.Machines[p.Instances[sh.Replicas[1]].Machine]
		if sh.Set != i || pm.Set != i {
			t.Errorf("shard %d: aligned with set %d, primary in set %d", i, sh.Set, pm.Set)
		}
		if rm.City != pm.City || rm.AZ == pm.AZ {
			t.Errorf("shard %d: replica %s for primary %s, want another AZ of the same city", i, rm.Name, pm.Name)
		}
	}
	// placement city: the replica goes to the nearest other city
	p = mustPlan(t, "topology:\n  cities: [{name: a}, {name: b}, {name: c}]\n  latency:\n    cross_city: 30ms\n    cities: [{between: [a, c], delay: 5ms}]\n"+
		"stack: {services: [{name: s}], data: {mode: global, primary: city=a, shards: 6, replicas: 2, placement: city}}\n")
	for i, sh := range p.Shards {
		pm, rm := p.Machines[p.Instances[sh.Replicas[0]].Machine], p.Machines[p.Instances[sh.Replicas[1]].Machine]
		if pm.City != 0 || rm.City != 2 {
			t.Errorf("shard %d: primary in %s, replica in %s; want a and the nearest city c", i, p.Cities[pm.City].Name, p.Cities[rm.City].Name)
		}
	}
	// placement rack: the nearest distinct racks are in the primary's AZ
	p = mustPlan(t, "topology: {cities: [{name: a, azs: 2, racks: 3}]}\nstack: {services: [{name: s}], data: {mode: proxy, shards: 4, replicas: 3, placement: rack}}\n")
	for i, sh := range p.Shards {
		pm := p.Machines[p.Instances[sh.Replicas[0]].Machine]
		racks := map[int]bool{}
		for _, in := range sh.Replicas {
			m := p.Machines[p.Instances[in].Machine]
			racks[m.Rack] = true
			if m.AZ != pm.AZ {
				t.Errorf("shard %d: copy on %s leaves the AZ of %s with racks to spare", i, m.Name, pm.Name)
			}
		}
		if len(racks) != 3 {
			t.Errorf("shard %d: copies on %d racks, want 3", i, len(racks))
		}
	}
}

func TestRegistries(t *testing.T) {
	p := mustPlan(t, twoCities)
	if len(p.Registries) != len(p.Sets) {
		t.Fatalf("%d registries for %d sets", len(p.Registries), len(p.Sets))
	}
	for i, r := range p.Registries {
		if !slices.Equal(r.Sets, []int{i}) || len(r.Instances) != min(3, len(p.Sets[i].Machines)) {
			t.Errorf("registry %d: copies %v serving %v", i, r.Instances, r.Sets)
		}
		racks := map[int]bool{}
		for k, in := range r.Instances {
			pi := p.Instances[in]
			if pi.Role != RoleRegistry || pi.Machine != p.Sets[i].Machines[k] || pi.Set != i {
				t.Errorf("registry %d copy %d: %+v", i, k, pi)
			}
			racks[p.Machines[pi.Machine].Rack] = true
		}
		// the set's machines are interleaved over its racks: the copies spread
		if want := min(len(r.Instances), racksOf(p, i)); len(racks) != want {
			t.Errorf("registry %d: copies on %d racks, want %d", i, len(racks), want)
		}
	}
	p = mustPlan(t, strings.Replace(twoCities, "data: {replicas: 1}", "data: {replicas: 1}, discovery: {placement: az=b/y, replicas: 2}", 1))
	if len(p.Registries) != 1 || len(p.Registries[0].Sets) != len(p.Sets) || len(p.Registries[0].Instances) != 2 ||
		p.Machines[p.Instances[p.Registries[0].Instances[0]].Machine].Name != "b/y/r1/m1" {
		t.Errorf("central registry: %+v", p.Registries)
	}
	p = mustPlan(t, strings.Replace(twoCities, "data: {replicas: 1}", "data: {replicas: 1}, discovery: {mode: mesh}", 1))
	if len(p.Registries) != 0 {
		t.Errorf("mesh mode has %d registries", len(p.Registries))
	}
}

func TestDelays(t *testing.T) {
	p := mustPlan(t, "topology:\n  cities: [{name: a, azs: 2, racks: 2, machines: 2}, {name: b}, {name: c}]\n"+
		"  latency: {same_machine: 1us, same_rack: 2us, same_az: 3us, cross_az: 4us, cross_city: 50ms, client: 7ms, cities: [{between: [c, a], delay: 9ms}]}\n"+
		"stack: {services: [{name: s}], data: {replicas: 1}}\n")
	m := func(name string) int {
		i := slices.IndexFunc(p.Machines, func(x PlannedMachine) bool { return x.Name == name })
		if i < 0 {
			t.Fatalf("no machine %s", name)
		}
		return i
	}
	for _, tc := range []struct {
		a, b string
		want Duration
	}{
		{"a/a/r1/m1", "a/a/r1/m1", us},
		{"a/a/r1/m1", "a/a/r1/m2", 2 * us},
		{"a/a/r1/m1", "a/a/r2/m1", 3 * us},
		{"a/a/r1/m1", "a/b/r1/m1", 4 * us},
		{"a/a/r1/m1", "b/a/r1/m1", 50 * ms},
		{"a/b/r2/m2", "c/b/r2/m4", 9 * ms},
		{"c/a/r1/m1", "a/a/r1/m1", 9 * ms},
	} {
		if got := p.Delay(m(tc.a), m(tc.b)); got != tc.want {
			t.Errorf("Delay(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
	if got := p.ClientDelay(1, m("a/a/r1/m1")); got != 57*ms {
		t.Errorf("client of b to a machine of a: %s, want 57ms", got)
	}
	if got := p.ClientDelay(0, m("a/a/r1/m1")); got != 7*ms {
		t.Errorf("client of a to its own city: %s, want 7ms", got)
	}
	if p.CityDelay(0, 2) != 9*ms || p.CityDelay(2, 0) != 9*ms || p.CityDelay(1, 1) != 0 {
		t.Error("city delays are not symmetric or not zero within a city")
	}
}

func TestFaultResolution(t *testing.T) {
	p := mustPlan(t, twoCities+"striping: {granularity: az}\nrun: {duration: 5m}\nfaults:\n"+
		"  - {at: 1m, for: 1m, kind: az-down, target: az=a/b}\n"+
		"  - {at: 1m, kind: shard-primary-down, target: shard=3}\n"+
		"  - {at: 2m, for: 10s, kind: partition, target: city=b}\n"+
		"  - {at: 2m, for: 10s, kind: latency, target: az=a/a, to: city=b, delay: 5ms, direction: one-way}\n"+
		"  - {at: 3m, for: 10s, kind: service-down, target: service=s}\n"+
		"  - {at: 3m, for: 10s, kind: overload, factor: 2}\n"+
		"  - {at: 3m, for: 10s, kind: gateway-down, target: set=b/y}\n")
	f := p.Faults
	if len(f) != 7 {
		t.Fatalf("%d faults", len(f))
	}
	names := func(ms []int) []string {
		var out []string
		for _, m := range ms {
			out = append(out, p.Machines[m].Name)
		}
		return out
	}
	// az-down: that AZ's 6 machines and its one set
	if len(f[0].Machines) != 6 || !slices.Equal(f[0].Sets, []int{1}) || len(f[0].Cities) != 0 {
		t.Errorf("az-down a/b: machines %v, sets %v, cities %v", names(f[0].Machines), f[0].Sets, f[0].Cities)
	}
	for _, m := range f[0].Machines {
		if !strings.HasPrefix(p.Machines[m].Name, "a/b/") {
			t.Errorf("az-down a/b hits %s", p.Machines[m].Name)
		}
	}
	if f[0].Start != int64(minute) || f[0].End != int64(2*minute) || f[0].Name != "az-down az=a/b" || f[0].Kind != faults.AZDown {
		t.Errorf("az-down window %d-%d name %q", f[0].Start, f[0].End, f[0].Name)
	}
	if !slices.Contains(f[0].Shards, 1) {
		t.Errorf("az-down a/b should hit shard 1, whose primary is in a/b: %v", f[0].Shards)
	}
	// shard=3: the primary's machine; lasts until the end of the run
	if pm := p.Instances[p.Shards[3].Replicas[0]].Machine; !slices.Equal(f[1].Machines, []int{pm}) || !slices.Equal(f[1].Shards, []int{3}) || f[1].End != int64(5*minute) {
		t.Errorf("shard=3 resolves to machines %v shards %v end %d; primary is %s", names(f[1].Machines), f[1].Shards, f[1].End, p.Machines[pm].Name)
	}
	// a link fault with no to: every peer, both directions, dropped
	if !f[2].PeerAll || f[2].Params.Direction != "both" || f[2].Params.Action != "drop" || !slices.Equal(f[2].Cities, []int{1}) || len(f[2].Machines) != 12 {
		t.Errorf("partition city=b: %+v", f[2])
	}
	if f[3].PeerAll || len(f[3].PeerMachines) != 12 || !slices.Equal(f[3].PeerCities, []int{1}) || !f[3].OneWay() || f[3].Params.Delay.Milliseconds() != 5 {
		t.Errorf("latency a/a -> city=b: %+v", f[3])
	}
	// service=s: the machines hosting it, in every set
	if !slices.Equal(f[4].Services, []int{0}) || len(f[4].Machines) != 2*len(p.Sets) || len(f[4].Sets) != len(p.Sets) {
		t.Errorf("service=s: machines %v sets %v", names(f[4].Machines), f[4].Sets)
	}
	// no target: everything
	if len(f[5].Machines) != 24 || len(f[5].Cities) != 2 || f[5].Params.Factor != 2 || f[5].Name != "overload" {
		t.Errorf("overload: %d machines, cities %v, name %q", len(f[5].Machines), f[5].Cities, f[5].Name)
	}
	if len(f[6].Sets) != 1 || p.Sets[f[6].Sets[0]].Name != "b/y" || len(f[6].Machines) != 4 {
		t.Errorf("set=b/y: %v", names(f[6].Machines))
	}
	// with city striping a set is a city
	q := mustPlan(t, twoCities+"striping: {granularity: city}\nfaults: [{at: 1m, kind: gateway-down, target: set=b}]\n")
	if !slices.Equal(q.Faults[0].Cities, []int{1}) {
		t.Errorf("set=b under city striping covers cities %v, want b", q.Faults[0].Cities)
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	for _, name := range LibraryNames() {
		f, err := LoadLibrary(name)
		if err != nil {
			t.Fatal(err)
		}
		var a, b bytes.Buffer
		p, q := NewPlan(f), NewPlan(f)
		if err := p.Describe(&a); err != nil {
			t.Fatal(err)
		}
		q.Describe(&b)
		if a.String() != b.String() || !reflect.DeepEqual(p.Instances, q.Instances) || !reflect.DeepEqual(p.Faults, q.Faults) || !reflect.DeepEqual(p.Shards, q.Shards) {
			t.Errorf("%s: two plans of one file differ", name)
		}
	}
}

// TestPlanMatchesReference is a differential test: simple brute-force
// versions of set assignment, replica placement and the user split,
// checked against the plan on random small topologies.
func TestPlanMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	checked := 0
	for i := 0; i < 400; i++ {
		src := randomScenario(r)
		f, err := Parse("random.yaml", []byte(src))
		if err != nil {
			continue // e.g. more replicas than places
		}
		checked++
		p := NewPlan(f)
		if err := checkPlan(p); err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		if err := referenceSets(p); err != nil {
			t.Fatalf("sets: %v\n%s", err, src)
		}
		if err := referenceReplicas(p); err != nil {
			t.Fatalf("replicas: %v\n%s", err, src)
		}
		if err := referenceUsers(p); err != nil {
			t.Fatalf("users: %v\n%s", err, src)
		}
	}
	if checked < 200 {
		t.Errorf("only %d of 400 random scenarios were valid", checked)
	}
}

func randomScenario(r *rand.Rand) string {
	var b strings.Builder
	nc := 1 + r.IntN(4)
	b.WriteString("topology:\n  cities:\n")
	for c := 0; c < nc; c++ {
		fmt.Fprintf(&b, "    - {name: c%d, azs: %d, racks: %d, machines: %d}\n", c, 1+r.IntN(3), 1+r.IntN(3), 1+r.IntN(4))
	}
	if nc > 1 {
		b.WriteString("  latency:\n    cities:\n")
		for x := 0; x < nc; x++ {
			for y := x + 1; y < nc; y++ {
				fmt.Fprintf(&b, "      - {between: [c%d, c%d], delay: %dms}\n", x, y, 1+r.IntN(4))
			}
		}
	}
	mode := []string{"sharded", "global", "proxy"}[r.IntN(3)]
	fmt.Fprintf(&b, "striping: {granularity: %s}\nstack:\n  services: [{name: s, instances: %d}]\n", Granularities[r.IntN(4)], 1+r.IntN(5))
	fmt.Fprintf(&b, "  gateway: {instances: %d}\n", 1+r.IntN(3))
	fmt.Fprintf(&b, "  data: {mode: %s, placement: %s, replicas: %d", mode, Granularities[r.IntN(4)], 1+r.IntN(4))
	if mode != "sharded" {
		fmt.Fprintf(&b, ", shards: %d", 1+r.IntN(20))
	}
	if mode == "global" {
		fmt.Fprintf(&b, ", primary: city=c%d", r.IntN(nc))
	}
	b.WriteString("}\nworkload:\n  users:\n")
	fmt.Fprintf(&b, "    count: %d\n    by_city: {", 1+r.IntN(1000))
	left := 100
	for c := 0; c < nc; c++ {
		share := left
		if c < nc-1 {
			share = r.IntN(left + 1)
		}
		left -= share
		if c > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "c%d: %d%%", c, share)
	}
	b.WriteString("}\n")
	return b.String()
}

// referenceSets assigns machines to sets by cutting their full names at the
// granularity, numbering sets in order of first appearance.
func referenceSets(p *Plan) error {
	depth := map[string]int{"city": 1, "az": 2, "rack": 3, "machine": 4}[p.Scenario.Striping.Granularity]
	index := map[string]int{}
	var names []string
	members := map[string][]int{}
	for m, pm := range p.Machines {
		key := strings.Join(strings.Split(pm.Name, "/")[:depth], "/")
		if _, ok := index[key]; !ok {
			index[key] = len(names)
			names = append(names, key)
		}
		members[key] = append(members[key], m)
		if pm.Set != index[key] {
			return fmt.Errorf("machine %s in set %d, want %d (%s)", pm.Name, pm.Set, index[key], key)
		}
	}
	if len(names) != len(p.Sets) {
		return fmt.Errorf("%d sets, want %d", len(p.Sets), len(names))
	}
	for i, s := range p.Sets {
		got := slices.Clone(s.Machines)
		sort.Ints(got)
		if s.Name != names[i] || !slices.Equal(got, members[names[i]]) {
			return fmt.Errorf("set %d is %s %v, want %s %v", i, s.Name, got, names[i], members[names[i]])
		}
		// the first machines of a set are in distinct children (AZs of a
		// city set, racks of an AZ set), so instances spread over them
		if depth < 4 {
			seen := map[string]bool{}
			for _, m := range s.Machines {
				child := strings.Join(strings.Split(p.Machines[m].Name, "/")[:depth+1], "/")
				if seen[child] {
					break
				}
				seen[child] = true
			}
			children := map[string]bool{}
			for _, m := range s.Machines {
				children[strings.Join(strings.Split(p.Machines[m].Name, "/")[:depth+1], "/")] = true
			}
			if len(seen) != len(children) {
				return fmt.Errorf("set %s starts with %d distinct children of %d", s.Name, len(seen), len(children))
			}
		}
	}
	return nil
}

// referenceReplicas checks each shard's copies: distinct places, and each
// copy as near to the primary as any place still free when it was chosen.
func referenceReplicas(p *Plan) error {
	d := p.Scenario.Stack.Data
	level := map[string]int{"city": 1, "az": 2, "rack": 3, "machine": 4}[d.Placement]
	place := func(m int) string { return strings.Join(strings.Split(p.Machines[m].Name, "/")[:level], "/") }
	for i, sh := range p.Shards {
		pm := p.Instances[sh.Replicas[0]].Machine
		// distance classes: same rack, same AZ, same city, then other
		// cities by (delay, index)
		others := []int{}
		for c := range p.Cities {
			if c != p.Machines[pm].City {
				others = append(others, c)
			}
		}
		sort.SliceStable(others, func(a, b int) bool {
			return p.CityDelay(p.Machines[pm].City, others[a]) < p.CityDelay(p.Machines[pm].City, others[b])
		})
		dist := func(m int) int {
			a, b := p.Machines[pm], p.Machines[m]
			switch {
			case a.Rack == b.Rack:
				return 0
			case a.AZ == b.AZ:
				return 1
			case a.City == b.City:
				return 2
			}
			return 3 + slices.Index(others, b.City)
		}
		used := map[string]bool{place(pm): true}
		for k, in := range sh.Replicas[1:] {
			m := p.Instances[in].Machine
			best := math.MaxInt
			for x := range p.Machines {
				if !used[place(x)] {
					best = min(best, dist(x))
				}
			}
			if used[place(m)] {
				return fmt.Errorf("shard %d: copy %d on %s shares its %s with another copy", i, k+1, p.Machines[m].Name, d.Placement)
			}
			if dist(m) != best {
				return fmt.Errorf("shard %d: copy %d on %s at distance %d, but a free %s at distance %d exists", i, k+1, p.Machines[m].Name, dist(m), d.Placement, best)
			}
			used[place(m)] = true
		}
		switch d.Mode {
		case "sharded":
			if sh.Set != i || p.Machines[pm].Set != i {
				return fmt.Errorf("shard %d: aligned with set %d, primary in set %d", i, sh.Set, p.Machines[pm].Set)
			}
		case "global":
			if city := "city=" + p.Cities[p.Machines[pm].City].Name; city != d.Primary {
				return fmt.Errorf("shard %d: primary in %s, want %s", i, city, d.Primary)
			}
		}
	}
	if d.Mode == "proxy" {
		count := make([]int, len(p.Machines))
		for _, sh := range p.Shards {
			count[p.Instances[sh.Replicas[0]].Machine]++
		}
		if slices.Max(count)-slices.Min(count) > 1 {
			return fmt.Errorf("primaries per machine range from %d to %d", slices.Min(count), slices.Max(count))
		}
	}
	return nil
}

// referenceUsers checks the split: the counts add up and each city is
// within one user of its exact share.
func referenceUsers(p *Plan) error {
	total := float64(p.Scenario.Workload.Users.Count)
	for _, u := range p.UserCities {
		exact := total * p.Cities[u.City].Share
		if math.Abs(float64(u.Count)-exact) >= 1 {
			return fmt.Errorf("city %s has %d users, exact share %.2f", p.Cities[u.City].Name, u.Count, exact)
		}
	}
	return nil
}

func racksOf(p *Plan, set int) int {
	racks := map[int]bool{}
	for _, m := range p.Sets[set].Machines {
		racks[p.Machines[m].Rack] = true
	}
	return len(racks)
}
