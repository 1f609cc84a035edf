package scenarios

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/stripelab/stripelab/faults"
)

// topoIndex is the physical topology expanded to indexed places, built
// once from a valid scenario. Machine, rack, AZ and city lists are in file
// order, so indexes are stable.
type topoIndex struct {
	cities   []place // Parent unused
	azs      []place // Parent = city
	racks    []place // Parent = az
	machines []place // Parent = rack
	byName   [5]map[string]int
	sets     []place // Children = machines; Parent = city
	setOf    []int   // machine -> set
	services map[string]int
	shards   int
}

type place struct {
	Name     string
	Parent   int
	Children []int
	Cores    int
}

func indexTopology(s *Scenario) *topoIndex {
	t := &topoIndex{services: map[string]int{}}
	for i := range t.byName {
		t.byName[i] = map[string]int{}
	}
	for _, c := range s.Topology.Cities {
		ci := t.add(faults.ScopeCity, &t.cities, c.Name, -1)
		cores := s.Topology.Machine.Cores
		if c.Cores > 0 {
			cores = c.Cores
		}
		for a := 0; a < c.AZs.N(); a++ {
			ai := t.add(faults.ScopeAZ, &t.azs, c.Name+"/"+c.AZs.Name(a, ""), ci)
			for r := 0; r < c.Racks.N(); r++ {
				ri := t.add(faults.ScopeRack, &t.racks, t.azs[ai].Name+"/"+c.Racks.Name(r, "r"), ai)
				for m := 0; m < c.Machines.N(); m++ {
					mi := t.add(faults.ScopeMachine, &t.machines, t.racks[ri].Name+"/"+c.Machines.Name(m, "m"), ri)
					t.machines[mi].Cores = cores
				}
			}
		}
	}
	for i, sv := range s.Stack.Services {
		t.services[sv.Name] = i
	}
	if g := s.Striping.Granularity; isGranularity(g) {
		t.stripe(g)
	}
	t.shards = s.Stack.Data.Shards
	if s.Stack.Data.Mode == "sharded" {
		t.shards = len(t.sets)
	}
	return t
}

func isGranularity(g string) bool {
	for _, x := range Granularities {
		if x == g {
			return true
		}
	}
	return false
}

func (t *topoIndex) add(k faults.ScopeKind, list *[]place, name string, parent int) int {
	i := len(*list)
	*list = append(*list, place{Name: name, Parent: parent})
	if parent >= 0 {
		up := t.level(k - 1)
		(*up)[parent].Children = append((*up)[parent].Children, i)
	}
	t.byName[k][name] = i
	return i
}

func (t *topoIndex) level(k faults.ScopeKind) *[]place {
	switch k {
	case faults.ScopeCity:
		return &t.cities
	case faults.ScopeAZ:
		return &t.azs
	case faults.ScopeRack:
		return &t.racks
	case faults.ScopeMachine:
		return &t.machines
	}
	panic(fmt.Sprintf("scenarios: no physical level %v", k))
}

func levelOf(g string) faults.ScopeKind {
	switch g {
	case "city":
		return faults.ScopeCity
	case "az":
		return faults.ScopeAZ
	case "rack":
		return faults.ScopeRack
	}
	return faults.ScopeMachine
}

// stripe cuts the topology into one set per place at granularity g; a set's
// machines are interleaved over its AZs and racks so that instances placed
// round-robin spread over them.
func (t *topoIndex) stripe(g string) {
	k := levelOf(g)
	t.setOf = make([]int, len(t.machines))
	for i, p := range *t.level(k) {
		ms := t.interleaved(k, i)
		for _, m := range ms {
			t.setOf[m] = len(t.sets)
		}
		t.sets = append(t.sets, place{Name: p.Name, Parent: t.cityOf(k, i), Children: ms})
	}
}

// interleaved lists the machines under place i of level k, taking one from
// each child in turn (AZ a rack 1, AZ b rack 1, AZ a rack 2...).
func (t *topoIndex) interleaved(k faults.ScopeKind, i int) []int {
	if k == faults.ScopeMachine {
		return []int{i}
	}
	var groups [][]int
	for _, c := range (*t.level(k))[i].Children {
		groups = append(groups, t.interleaved(k+1, c))
	}
	return roundRobin(groups)
}

func roundRobin(groups [][]int) []int {
	var out []int
	for j := 0; ; j++ {
		added := false
		for _, g := range groups {
			if j < len(g) {
				out = append(out, g[j])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

func (t *topoIndex) cityOf(k faults.ScopeKind, i int) int {
	for ; k > faults.ScopeCity; k-- {
		i = (*t.level(k))[i].Parent
	}
	return i
}

// ancestor returns the index of machine m's place at level k.
func (t *topoIndex) ancestor(m int, k faults.ScopeKind) int {
	for l := faults.ScopeMachine; l > k; l-- {
		m = (*t.level(l))[m].Parent
	}
	return m
}

func (t *topoIndex) city(name string) int {
	if i, ok := t.byName[faults.ScopeCity][name]; ok {
		return i
	}
	return -1
}

// domains counts the places at a placement level.
func (t *topoIndex) domains(level string) int { return len(*t.level(levelOf(level))) }

// exists checks that a target names something in the topology.
func (t *topoIndex) exists(sc faults.Scope) error {
	switch sc.Kind {
	case faults.ScopeAll:
		return nil
	case faults.ScopeService:
		if _, ok := t.services[sc.Name]; !ok {
			return fmt.Errorf("unknown service %q", sc.Name)
		}
		return nil
	case faults.ScopeShard:
		n, err := strconv.Atoi(sc.Name)
		if err != nil || n < 0 || n >= t.shards {
			return fmt.Errorf("unknown shard %q; shards are numbered 0 to %d", sc.Name, t.shards-1)
		}
		return nil
	}
	_, err := t.machinesIn(sc)
	return err
}

// machines resolves a physical scope or set to its machines.
func (t *topoIndex) machinesIn(sc faults.Scope) ([]int, error) {
	if sc.Kind == faults.ScopeSet {
		for _, s := range t.sets {
			if s.Name == sc.Name {
				return s.Children, nil
			}
		}
		return nil, fmt.Errorf("unknown set %q; sets are named after their %s, e.g. %s", sc.Name, t.setLevelName(), t.example())
	}
	if !sc.Kind.Physical() {
		return nil, fmt.Errorf("%s= is not a place", sc.Kind)
	}
	i, ok := t.byName[sc.Kind][sc.Name]
	if !ok {
		return nil, fmt.Errorf("unknown %s %q; known: %s", sc.Kind, sc.Name, t.known(sc.Kind))
	}
	var out []int
	var walk func(k faults.ScopeKind, i int)
	walk = func(k faults.ScopeKind, i int) {
		if k == faults.ScopeMachine {
			out = append(out, i)
			return
		}
		for _, c := range (*t.level(k))[i].Children {
			walk(k+1, c)
		}
	}
	walk(sc.Kind, i)
	return out, nil
}

func (t *topoIndex) setLevelName() string {
	if len(t.sets) == len(t.machines) {
		return "machine"
	}
	return "place"
}

func (t *topoIndex) example() string {
	if len(t.sets) == 0 {
		return "(no sets)"
	}
	return t.sets[0].Name
}

func (t *topoIndex) known(k faults.ScopeKind) string {
	var names []string
	for _, p := range *t.level(k) {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if len(names) > 8 {
		names = append(names[:8], fmt.Sprintf("... (%d in all)", len(names)))
	}
	return strings.Join(names, ", ")
}
