package scenarios

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/stripelab/stripelab/faults"
)

// Plan is a scenario expanded into concrete machines, sets, instances,
// shards and a resolved fault schedule. Every backend consumes it; it holds
// no backend state and is a pure function of the scenario.
type Plan struct {
	File     *File
	Scenario *Scenario
	Cities   []PlannedCity
	AZs      []Place
	Racks    []Place
	Machines []PlannedMachine
	Sets     []Set
	// Instances are every process the stack runs, in placement order.
	Instances []Instance
	// Shards are the data shards; Replicas[0] is the initial primary.
	Shards []Shard
	// Registries are the discovery registries (registry mode only).
	Registries []Registry
	Services   []ServicePlan
	// Commands are workload.commands resolved; empty without commands.
	Commands []CommandPlan
	// UserCities splits the user population: users [First, First+Count) live in City.
	UserCities []UserRange
	Faults     []faults.Planned
	// ScaleGroups are the deployments of the components scaling touches,
	// one per component and set; ScaleActions and Autoscalers act on them.
	ScaleGroups  []ScaleGroup
	ScaleActions []PlannedScale
	Autoscalers  []PlannedAutoscaler
	cityDelay    [][]Duration
}

// PlannedCity is a city of the plan.
type PlannedCity struct {
	Name  string
	AZs   []int
	Sets  []int // sets in this city, in set order
	Share float64
}

// Place is an AZ or rack: its full name, its parent (city or AZ) and children.
type Place struct {
	Name     string
	Parent   int
	Children []int
}

// PlannedMachine is a machine of the plan.
type PlannedMachine struct {
	Name                string
	City, AZ, Rack, Set int
	Cores               int
	// Reserve marks a machine of a reserved set.
	Reserve bool
}

// Set is one stripe of the topology.
type Set struct {
	Name     string
	City     int
	Machines []int // interleaved over the set's AZs and racks
	// Reserve marks a set kept in reserve (striping.reserve): its
	// instances run nothing until a scaling.sets entry adds it.
	Reserve bool
}

// Role is what an instance runs.
type Role uint8

// Roles of instances.
const (
	RoleGateway Role = iota
	RoleService
	RoleProxy
	RoleShard
	RoleRegistry
)

var roleNames = [...]string{"gateway", "service", "proxy", "shard", "registry"}

func (r Role) String() string { return roleNames[r] }

// Instance is one process placed on a machine.
type Instance struct {
	Role    Role
	Service int // RoleService: index into Services; else -1
	Shard   int // RoleShard: index into Shards; else -1
	Machine int
	Set     int // the set of its machine
	// Reserve marks a slot a scale-up may start: it runs nothing at the start.
	Reserve bool
}

// Shard is one data shard with its copies.
type Shard struct {
	Set      int   // sharded mode: the set it is aligned with; else -1
	Replicas []int // instance indexes; [0] is the initial primary
}

// Registry is a discovery registry: its copies and the sets it serves.
type Registry struct {
	Instances []int // the copies, on distinct machines when the place has enough
	Sets      []int
}

// ServicePlan is a service with its calls resolved to indexes.
type ServicePlan struct {
	Name      string
	Instances []int // every instance, set by set
	Calls     []CallPlan
}

// CallKind is what a call targets.
type CallKind uint8

// Call kinds.
const (
	CallService CallKind = iota
	CallRead
	CallWrite
	CallRequest // a read or a write following the workload mix
)

// CallPlan is one downstream call.
type CallPlan struct {
	Kind     CallKind
	Service  int // CallService only
	Timeout  Duration
	Fallback bool
}

// CommandPlan is one command of workload.commands, resolved.
type CommandPlan struct {
	Name     string
	Share    float64
	Priority int // index into PriorityNames
	// Write is the probability that a data call of type request writes:
	// 0 for read, 1 for write, workload.mix's write share for mixed.
	Write   float64
	Service int // index into Services
	Timeout Duration
	Retries int
}

// UserRange is the users of one city.
type UserRange struct {
	City, First, Count int
}

// NewPlan expands a loaded scenario.
func NewPlan(f *File) *Plan {
	s := f.Scenario
	t := indexTopology(s)
	p := &Plan{File: f, Scenario: s}
	p.copyTopology(t)
	p.cityDelays()
	p.placeStack(t)
	p.planCommands(t)
	p.placeShards(t)
	p.placeRegistries(t)
	p.placeReserve()
	p.splitUsers()
	p.resolveFaults(t)
	return p
}

func (p *Plan) copyTopology(t *topoIndex) {
	s := p.Scenario
	for i, c := range t.cities {
		p.Cities = append(p.Cities, PlannedCity{Name: c.Name, AZs: c.Children, Share: s.Workload.Users.ByCity[s.Topology.Cities[i].Name].Fraction()})
	}
	for _, a := range t.azs {
		p.AZs = append(p.AZs, Place{Name: a.Name, Parent: a.Parent, Children: a.Children})
	}
	for _, r := range t.racks {
		p.Racks = append(p.Racks, Place{Name: r.Name, Parent: r.Parent, Children: r.Children})
	}
	for i, m := range t.machines {
		az := t.racks[m.Parent].Parent
		p.Machines = append(p.Machines, PlannedMachine{Name: m.Name, Rack: m.Parent, AZ: az, City: t.azs[az].Parent, Set: t.setOf[i], Cores: m.Cores})
	}
	reserve := map[string]bool{}
	for _, n := range s.Striping.Reserve {
		reserve[n] = true
	}
	for i, st := range t.sets {
		p.Sets = append(p.Sets, Set{Name: st.Name, City: st.Parent, Machines: st.Children, Reserve: reserve[st.Name]})
		p.Cities[st.Parent].Sets = append(p.Cities[st.Parent].Sets, i)
		for _, m := range st.Children {
			p.Machines[m].Reserve = reserve[st.Name]
		}
	}
}

func (p *Plan) cityDelays() {
	l := p.Scenario.Topology.Latency
	n := len(p.Cities)
	p.cityDelay = make([][]Duration, n)
	idx := map[string]int{}
	for i, c := range p.Cities {
		idx[c.Name] = i
		p.cityDelay[i] = make([]Duration, n)
		for j := range p.cityDelay[i] {
			if i != j {
				p.cityDelay[i][j] = l.CrossCity
			}
		}
	}
	for _, cl := range l.Cities {
		a, b := idx[cl.Between[0]], idx[cl.Between[1]]
		p.cityDelay[a][b], p.cityDelay[b][a] = cl.Delay, cl.Delay
	}
}

// CityDelay is the base one-way delay between two cities (0 within one).
func (p *Plan) CityDelay(a, b int) Duration { return p.cityDelay[a][b] }

// Delay is the base one-way delay between two machines, before jitter and faults.
func (p *Plan) Delay(a, b int) Duration {
	l := &p.Scenario.Topology.Latency
	ma, mb := &p.Machines[a], &p.Machines[b]
	switch {
	case a == b:
		return l.SameMachine
	case ma.Rack == mb.Rack:
		return l.SameRack
	case ma.AZ == mb.AZ:
		return l.SameAZ
	case ma.City == mb.City:
		return l.CrossAZ
	}
	return p.cityDelay[ma.City][mb.City]
}

// ClientDelay is the base one-way delay from a user in city c to machine m.
func (p *Plan) ClientDelay(c, m int) Duration {
	return p.Scenario.Topology.Latency.Client + p.cityDelay[c][p.Machines[m].City]
}

// placeStack places gateway, service and proxy instances round-robin over
// each set's interleaved machines, continuing the rotation from one
// component to the next so instances spread evenly.
func (p *Plan) placeStack(t *topoIndex) {
	st := &p.Scenario.Stack
	p.Services = make([]ServicePlan, len(st.Services))
	for i, sv := range st.Services {
		p.Services[i].Name = sv.Name
		for _, c := range sv.Calls {
			cp := CallPlan{Timeout: c.Timeout, Service: -1, Fallback: c.Fallback}
			switch {
			case c.Service != "":
				cp.Kind, cp.Service = CallService, t.services[c.Service]
			case c.Data == "read":
				cp.Kind = CallRead
			case c.Data == "write":
				cp.Kind = CallWrite
			default:
				cp.Kind = CallRequest
			}
			p.Services[i].Calls = append(p.Services[i].Calls, cp)
		}
	}
	for si, set := range p.Sets {
		next := 0
		place := func(role Role, svc, n int) {
			for j := 0; j < n; j++ {
				m := set.Machines[next%len(set.Machines)]
				next++
				p.Instances = append(p.Instances, Instance{Role: role, Service: svc, Shard: -1, Machine: m, Set: si, Reserve: set.Reserve})
				if role == RoleService {
					p.Services[svc].Instances = append(p.Services[svc].Instances, len(p.Instances)-1)
				}
			}
		}
		place(RoleGateway, -1, st.Gateway.Instances)
		for i, sv := range st.Services {
			place(RoleService, i, sv.Instances)
		}
		if st.Data.Mode == "proxy" {
			place(RoleProxy, -1, st.Data.Proxy.Instances)
		}
	}
}

func (p *Plan) planCommands(t *topoIndex) {
	w := &p.Scenario.Workload
	for _, c := range w.Commands {
		cp := CommandPlan{Name: c.Name, Share: c.Share.Fraction(), Service: t.services[c.Service], Timeout: c.Timeout, Retries: c.Retries}
		for k, n := range PriorityNames {
			if n == c.Priority {
				cp.Priority = k
			}
		}
		switch c.Kind {
		case "write":
			cp.Write = 1
		case "mixed":
			cp.Write = w.Mix.Write.Fraction()
		}
		p.Commands = append(p.Commands, cp)
	}
}

func (p *Plan) addInstance(in Instance) int {
	in.Set = p.Machines[in.Machine].Set
	p.Instances = append(p.Instances, in)
	return len(p.Instances) - 1
}

// placeShards chooses each shard's primary machine by mode and spreads its
// replicas over distinct places at the placement level, nearest first.
func (p *Plan) placeShards(t *topoIndex) {
	d := &p.Scenario.Stack.Data
	if d.Mode == "none" {
		return
	}
	var primaries []int
	switch d.Mode {
	case "sharded":
		for _, s := range p.Sets {
			// the last machine of the set, away from the first gateway
			primaries = append(primaries, s.Machines[len(s.Machines)-1])
		}
	case "global":
		sc, _ := faults.ParseScope(d.Primary)
		ms, _ := t.machinesIn(sc)
		primaries = cycle(p.interleaveMachines(p.inService(ms)), d.Shards)
	case "proxy":
		all := make([]int, len(p.Machines))
		for i := range all {
			all[i] = i
		}
		primaries = cycle(p.interleaveMachines(p.inService(all)), d.Shards)
	}
	level := levelOf(d.Placement)
	rs := p.newRings()
	for si, pm := range primaries {
		sh := Shard{Set: -1}
		if d.Mode == "sharded" {
			sh.Set = si
		}
		res := d.Mode == "sharded" && p.Sets[si].Reserve
		for _, m := range p.replicaMachines(t, rs, pm, level, d.Replicas, si) {
			sh.Replicas = append(sh.Replicas, p.addInstance(Instance{Role: RoleShard, Service: -1, Shard: si, Machine: m, Reserve: res}))
		}
		p.Shards = append(p.Shards, sh)
	}
}

func cycle(ms []int, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = ms[i%len(ms)]
	}
	return out
}

// interleaveMachines orders machines so that consecutive ones are in
// different cities, then different AZs, then different racks.
func (p *Plan) interleaveMachines(ms []int) []int {
	byCity := map[int]map[int]map[int][]int{}
	for _, m := range ms {
		mm := p.Machines[m]
		if byCity[mm.City] == nil {
			byCity[mm.City] = map[int]map[int][]int{}
		}
		if byCity[mm.City][mm.AZ] == nil {
			byCity[mm.City][mm.AZ] = map[int][]int{}
		}
		byCity[mm.City][mm.AZ][mm.Rack] = append(byCity[mm.City][mm.AZ][mm.Rack], m)
	}
	var cityGroups [][]int
	for _, c := range sortedInts(byCity) {
		var azGroups [][]int
		for _, a := range sortedInts(byCity[c]) {
			var rackGroups [][]int
			for _, r := range sortedInts(byCity[c][a]) {
				rackGroups = append(rackGroups, byCity[c][a][r])
			}
			azGroups = append(azGroups, roundRobin(rackGroups))
		}
		cityGroups = append(cityGroups, roundRobin(azGroups))
	}
	return roundRobin(cityGroups)
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// rings holds, once per plan, the machine orders replica placement walks:
// each AZ's machines in rack order, each city's machines in AZ order and
// interleaved, and each city's other cities by delay.
type rings struct {
	az, city, cityInter [][]int
	rackOff, azOff      []int   // offset of a rack in its AZ list, of an AZ in its city list
	byDelay             [][]int // per city, the other cities nearest first
}

func (p *Plan) newRings() *rings {
	r := &rings{
		az: make([][]int, len(p.AZs)), city: make([][]int, len(p.Cities)), cityInter: make([][]int, len(p.Cities)),
		rackOff: make([]int, len(p.Racks)), azOff: make([]int, len(p.AZs)), byDelay: make([][]int, len(p.Cities)),
	}
	for a, az := range p.AZs {
		for _, rk := range az.Children {
			r.rackOff[rk] = len(r.az[a])
			r.az[a] = append(r.az[a], p.Racks[rk].Children...)
		}
	}
	for c, city := range p.Cities {
		for _, a := range city.AZs {
			r.azOff[a] = len(r.city[c])
			r.city[c] = append(r.city[c], r.az[a]...)
		}
		r.cityInter[c] = p.interleaveMachines(r.city[c])
	}
	return r
}

// others lists the cities other than c, nearest first (ties in file order).
func (r *rings) others(p *Plan, c int) []int {
	if r.byDelay[c] == nil {
		o := make([]int, 0, len(p.Cities)-1)
		for x := range p.Cities {
			if x != c {
				o = append(o, x)
			}
		}
		sort.SliceStable(o, func(i, j int) bool { return p.cityDelay[c][o[i]] < p.cityDelay[c][o[j]] })
		r.byDelay[c] = o
	}
	return r.byDelay[c]
}

// ring is a machine list with one segment left out, read without copying.
type ring struct {
	list          []int
	skip, skipLen int
	scope         faults.ScopeKind // every machine of the ring is inside one place of this level
}

func (g ring) len() int { return len(g.list) - g.skipLen }

func (g ring) at(i int) int {
	if i >= g.skip {
		i += g.skipLen
	}
	return g.list[i]
}

// replicaMachines returns n machines for one shard, the primary first,
// each in a distinct place at level. Candidates are taken ring by ring
// outward from the primary (its rack, its AZ, its city, then other cities by
// delay), each ring starting at an offset rot so shards spread. A ring
// inside one place at the placement level offers only its first candidate,
// since all the others share its place.
func (p *Plan) replicaMachines(t *topoIndex, rs *rings, primary int, level faults.ScopeKind, n, rot int) []int {
	used := map[int]bool{t.ancestor(primary, level): true}
	out := []int{primary}
	pm := p.Machines[primary]
	list := []ring{
		{list: p.Racks[pm.Rack].Children, scope: faults.ScopeRack},
		{list: rs.az[pm.AZ], skip: rs.rackOff[pm.Rack], skipLen: len(p.Racks[pm.Rack].Children), scope: faults.ScopeAZ},
		{list: rs.city[pm.City], skip: rs.azOff[pm.AZ], skipLen: len(rs.az[pm.AZ]), scope: faults.ScopeCity},
	}
	for _, c := range rs.others(p, pm.City) {
		list = append(list, ring{list: rs.cityInter[c], scope: faults.ScopeCity})
	}
	for _, g := range list {
		size := g.len()
		if level <= g.scope {
			size = min(size, 1)
		}
		for j := 0; j < size; j++ {
			if len(out) == n {
				return out
			}
			m := g.at((j + rot) % g.len())
			if p.Machines[m].Reserve {
				continue // a reserved set holds only its own shard's primary
			}
			if d := t.ancestor(m, level); !used[d] {
				used[d] = true
				out = append(out, m)
			}
		}
	}
	return out
}

func (p *Plan) placeRegistries(t *topoIndex) {
	d := &p.Scenario.Stack.Discovery
	if d.Mode != "registry" {
		return
	}
	// copies go on the first machines of the place, interleaved over its
	// AZs and racks, so they land in different racks when there are several
	copies := func(ms []int) []int {
		var out []int
		for k := 0; k < d.Replicas && k < len(ms); k++ {
			out = append(out, p.addInstance(Instance{Role: RoleRegistry, Service: -1, Shard: -1, Machine: ms[k], Reserve: p.Machines[ms[k]].Reserve}))
		}
		return out
	}
	if d.Placement == "per-set" {
		for si, s := range p.Sets {
			p.Registries = append(p.Registries, Registry{Instances: copies(s.Machines), Sets: []int{si}})
		}
		return
	}
	sc, _ := faults.ParseScope(d.Placement)
	ms, _ := t.machinesIn(sc)
	ms = p.inService(ms)
	all := make([]int, len(p.Sets))
	for i := range all {
		all[i] = i
	}
	p.Registries = append(p.Registries, Registry{Instances: copies(p.interleaveMachines(ms)), Sets: all})
}

// splitUsers gives each city its share of users by largest remainder, so
// the counts always add up to the total.
func (p *Plan) splitUsers() {
	total := int(p.Scenario.Workload.Users.Count)
	counts := make([]int, len(p.Cities))
	rem := make([]float64, len(p.Cities))
	left := total
	for i, c := range p.Cities {
		x := float64(total) * c.Share
		counts[i] = int(math.Floor(x))
		rem[i] = x - float64(counts[i])
		left -= counts[i]
	}
	order := make([]int, len(p.Cities))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for i := 0; i < left; i++ {
		counts[order[i%len(order)]]++
	}
	first := 0
	for i, n := range counts {
		p.UserCities = append(p.UserCities, UserRange{City: i, First: first, Count: n})
		first += n
	}
}

// HomeSet is the set a user belongs to: a stable hash of the user over the
// sets of the user's city. It does not depend on the seed, so a user keeps
// its set across runs and striping comparisons.
func (p *Plan) HomeSet(city, user int) int {
	sets := p.Cities[city].Sets
	if p.Rehashed() {
		return p.Rendezvous(sets, user, func(s int) bool { return !p.Sets[s].Reserve })
	}
	return sets[int(Mix64(uint64(user))%uint64(len(sets)))]
}

// Rehashed reports whether users are homed by rendezvous hashing: when
// sets are reserved, added or removed.
func (p *Plan) Rehashed() bool {
	return len(p.Scenario.Striping.Reserve) > 0 || len(p.Scenario.Scaling.Sets) > 0
}

// Rendezvous is the set of sets in service (member) with the highest
// weight for user: adding a set moves only the users whose highest weight
// it has, about 1/(N+1) of them; -1 when no set is in service.
func (p *Plan) Rendezvous(sets []int, user int, member func(int) bool) int {
	best, bestW := -1, uint64(0)
	for _, s := range sets {
		if !member(s) {
			continue
		}
		if w := Mix64(uint64(user)*0x9e3779b97f4a7c15 ^ uint64(s+1)*0xc2b2ae3d27d4eb4f); best < 0 || w > bestW {
			best, bestW = s, w
		}
	}
	return best
}

// inService drops the machines of reserved sets.
func (p *Plan) inService(ms []int) []int {
	if len(p.Scenario.Striping.Reserve) == 0 {
		return ms
	}
	out := make([]int, 0, len(ms))
	for _, m := range ms {
		if !p.Machines[m].Reserve {
			out = append(out, m)
		}
	}
	return out
}

// Mix64 is the splitmix64 finalizer, a good stable hash of an integer; the
// Plan and the simulator share it so that hashed choices agree.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// ShardOf is the shard holding a user's data: the user's home set in
// sharded mode, a hash of the user otherwise.
func (p *Plan) ShardOf(city, user int) int {
	if p.Scenario.Stack.Data.Mode == "sharded" {
		return p.HomeSet(city, user)
	}
	return int(Mix64(uint64(user)^0x5bd1e995) % uint64(len(p.Shards)))
}

func (p *Plan) resolveFaults(t *topoIndex) {
	for i, fl := range p.Scenario.Faults {
		end := fl.At + fl.For
		if fl.For == 0 {
			end = p.Scenario.Run.Duration
		}
		sc, _ := faults.ParseScope(fl.Target)
		spec, _ := faults.Lookup(fl.Kind)
		pf := faults.Planned{
			Index: i, Name: fl.Name, Kind: spec.Kind, Start: int64(fl.At), End: int64(end),
			Target: sc, Params: paramsOf(fl),
		}
		if pf.Name == "" {
			pf.Name = fl.Kind
			if fl.Target != "" {
				pf.Name += " " + fl.Target
			}
		}
		if pf.Params.Direction == "" && spec.Kind.IsLink() {
			pf.Params.Direction = "both"
		}
		if pf.Params.Action == "" && spec.Kind == faults.Partition {
			pf.Params.Action = "drop"
		}
		p.resolveScope(t, sc, &pf.Machines, &pf.Cities, &pf.Sets, &pf.Services, &pf.Shards)
		if spec.Kind.IsLink() {
			if fl.To == "" {
				pf.PeerAll = true
			} else {
				to, _ := faults.ParseScope(fl.To)
				var sets, svcs, shards []int
				p.resolveScope(t, to, &pf.PeerMachines, &pf.PeerCities, &sets, &svcs, &shards)
			}
		}
		p.Faults = append(p.Faults, pf)
	}
}

// resolveScope lists what a scope covers: machines, cities wholly inside
// it, sets touching it, services and shards.
func (p *Plan) resolveScope(t *topoIndex, sc faults.Scope, machines, cities, sets, services, shards *[]int) {
	switch sc.Kind {
	case faults.ScopeAll:
		for i := range p.Machines {
			*machines = append(*machines, i)
		}
		for i := range p.Cities {
			*cities = append(*cities, i)
		}
	case faults.ScopeService:
		svc := t.services[sc.Name]
		*services = append(*services, svc)
		seen := map[int]bool{}
		for _, in := range p.Services[svc].Instances {
			if m := p.Instances[in].Machine; !seen[m] {
				seen[m] = true
				*machines = append(*machines, m)
			}
		}
		sort.Ints(*machines)
	case faults.ScopeShard:
		n, _ := strconv.Atoi(sc.Name)
		*shards = append(*shards, n)
		*machines = append(*machines, p.Instances[p.Shards[n].Replicas[0]].Machine)
	default:
		ms, _ := t.machinesIn(sc)
		*machines = append(*machines, ms...)
		sort.Ints(*machines)
		if sc.Kind == faults.ScopeCity {
			*cities = append(*cities, t.byName[faults.ScopeCity][sc.Name])
		}
		if sc.Kind == faults.ScopeSet && p.Scenario.Striping.Granularity == "city" {
			*cities = append(*cities, p.Sets[p.Machines[ms[0]].Set].City)
		}
	}
	seen := map[int]bool{}
	for _, m := range *machines {
		if s := p.Machines[m].Set; !seen[s] {
			seen[s] = true
			*sets = append(*sets, s)
		}
	}
	sort.Ints(*sets)
	if sc.Kind.Physical() || sc.Kind == faults.ScopeSet {
		for si, sh := range p.Shards {
			if in := sh.Replicas[0]; containsInt(*machines, p.Instances[in].Machine) {
				*shards = append(*shards, si)
			}
		}
	}
}

func containsInt(sorted []int, x int) bool {
	i := sort.SearchInts(sorted, x)
	return i < len(sorted) && sorted[i] == x
}

// Summary is the one-line count of what a plan deploys; instances kept
// for scale-ups or reserved sets are counted apart.
func (p *Plan) Summary() string {
	n, held := 0, 0
	for _, in := range p.Instances {
		if in.Reserve {
			held++
		} else {
			n++
		}
	}
	inst := Quantity(n, "instance")
	if held > 0 {
		inst += fmt.Sprintf(" (+%d held for scaling)", held)
	}
	return fmt.Sprintf("%s, %s, %s (%s), %s, %s, %s", Quantity(len(p.Cities), "city"), Quantity(len(p.Machines), "machine"),
		Quantity(len(p.Sets), "set"), p.Scenario.Striping.Granularity, inst,
		Quantity(len(p.Shards), "shard"), Quantity(len(p.Faults), "fault"))
}
