package scenarios

import (
	"fmt"
	"math"
	"sort"

	"github.com/stripelab/stripelab/faults"
)

// ScaleGroup is one component's deployment in one set: the instances it
// may run, the ones running at the start first, then the slots a scale-up
// may start (Instance.Reserve), in the order they are started.
type ScaleGroup struct {
	// Component is the service index, or -1 for the gateway.
	Component int
	Set       int
	Initial   int
	Instances []int
}

// PlannedScale is a scale action resolved to the groups it changes.
type PlannedScale struct {
	Index  int
	At     int64
	Groups []int // indexes into Plan.ScaleGroups
	// To is the count per set, or -1 when By changes it.
	To, By int
}

// PlannedAutoscaler is an autoscaler with its groups, one per set.
type PlannedAutoscaler struct {
	Index  int
	Groups []int
	Spec   Autoscaler
}

// ComponentName is the name of component c (a service index, or -1 for
// the gateway).
func (p *Plan) ComponentName(c int) string {
	if c < 0 {
		return GatewayComponent
	}
	return p.Services[c].Name
}

// scaled lists the components a scale action or an autoscaler names
// (service index, -1 for the gateway), in order: the gateway first, then
// services in file order.
func (s *Scenario) scaled() []int {
	seen := map[int]bool{}
	idx := func(name string) (int, bool) {
		if name == GatewayComponent {
			return -1, true
		}
		for i, sv := range s.Stack.Services {
			if sv.Name == name {
				return i, true
			}
		}
		return 0, false
	}
	for _, a := range s.Scaling.Actions {
		if c, ok := idx(a.Service); ok {
			seen[c] = true
		}
	}
	for _, a := range s.Scaling.Autoscale {
		if c, ok := idx(a.Service); ok {
			seen[c] = true
		}
	}
	out := make([]int, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Ints(out)
	return out
}

// scaleSlots is how many instances per set component name may ever run:
// the most of its start, its autoscaler's max and the to of its actions,
// plus every by that adds. Slots beyond the start are reserved, never
// shared, so a count never has to wait for a drained instance to stop.
func (s *Scenario) scaleSlots(name string) int {
	n := s.componentInstances(name)
	add := 0
	for _, a := range s.Scaling.Actions {
		if a.Service != name {
			continue
		}
		if a.To <= MaxInstances && a.By <= MaxInstances {
			n = max(n, a.To) // beyond, validation reports the field
			add += max(a.By, 0)
		}
	}
	for _, a := range s.Scaling.Autoscale {
		if a.Service == name && a.Max <= MaxInstances {
			n = max(n, a.Max)
		}
	}
	return n + add
}

// placeReserve places the slots scale-ups may start, after every other
// instance (so that a scenario without scaling plans exactly as before),
// continuing each set's round-robin where the stack's placement left it.
func (p *Plan) placeReserve() {
	s := p.Scenario
	comps := s.scaled()
	if len(comps) == 0 {
		return
	}
	st := &s.Stack
	placed := st.Gateway.Instances
	for _, sv := range st.Services {
		placed += sv.Instances
	}
	if st.Data.Mode == "proxy" {
		placed += st.Data.Proxy.Instances
	}
	initial := map[[2]int][]int{}
	for i, in := range p.Instances {
		switch in.Role {
		case RoleGateway:
			initial[[2]int{-1, in.Set}] = append(initial[[2]int{-1, in.Set}], i)
		case RoleService:
			initial[[2]int{in.Service, in.Set}] = append(initial[[2]int{in.Service, in.Set}], i)
		}
	}
	groupOf := map[[2]int]int{}
	for si, set := range p.Sets {
		next := placed
		for _, c := range comps {
			g := ScaleGroup{Component: c, Set: si}
			name := p.ComponentName(c)
			g.Initial = s.componentInstances(name)
			g.Instances = append(g.Instances, initial[[2]int{c, si}]...)
			for k := g.Initial; k < s.scaleSlots(name); k++ {
				m := set.Machines[next%len(set.Machines)]
				next++
				role := RoleService
				if c < 0 {
					role = RoleGateway
				}
				in := p.addInstance(Instance{Role: role, Service: c, Shard: -1, Machine: m, Reserve: true})
				if c >= 0 {
					p.Services[c].Instances = append(p.Services[c].Instances, in)
				}
				g.Instances = append(g.Instances, in)
			}
			groupOf[[2]int{c, si}] = len(p.ScaleGroups)
			p.ScaleGroups = append(p.ScaleGroups, g)
		}
	}
	p.planScaling(groupOf)
}

func (p *Plan) planScaling(groupOf map[[2]int]int) {
	s := p.Scenario
	comp := func(name string) int {
		if name == GatewayComponent {
			return -1
		}
		for i, sv := range s.Stack.Services {
			if sv.Name == name {
				return i
			}
		}
		return 0
	}
	for i, a := range s.Scaling.Actions {
		ps := PlannedScale{Index: i, At: int64(a.At), To: a.To, By: a.By}
		if a.By != 0 {
			ps.To = -1
		}
		sc, _ := faults.ParseScope(a.Target)
		c := comp(a.Service)
		for si, set := range p.Sets {
			if sc.Kind == faults.ScopeAll || (sc.Kind == faults.ScopeSet && set.Name == sc.Name) ||
				(sc.Kind == faults.ScopeCity && p.Cities[set.City].Name == sc.Name) {
				ps.Groups = append(ps.Groups, groupOf[[2]int{c, si}])
			}
		}
		p.ScaleActions = append(p.ScaleActions, ps)
	}
	for i, a := range s.Scaling.Autoscale {
		pa := PlannedAutoscaler{Index: i, Spec: a}
		c := comp(a.Service)
		for si := range p.Sets {
			pa.Groups = append(pa.Groups, groupOf[[2]int{c, si}])
		}
		p.Autoscalers = append(p.Autoscalers, pa)
	}
}

// validComponent checks a name a scale action or an autoscaler gives.
func (v *validator) validComponent(path, name string) bool {
	if name == GatewayComponent {
		if v.service(name) >= 0 {
			v.errf(path, "a service is named gateway, so gateway is ambiguous here; rename the service")
			return false
		}
		return true
	}
	if v.service(name) < 0 {
		names := []string{GatewayComponent}
		for _, sv := range v.s.Stack.Services {
			names = append(names, sv.Name)
		}
		v.errf(path, "unknown service %q; expected gateway or one of the services: %v", name, names[1:])
		return false
	}
	return true
}

func (v *validator) scaling() {
	sc := v.s.Scaling
	if sc.Startup < 0 {
		v.errf("scaling.startup", "expected 0 or a positive duration")
	}
	if sc.Grace < 0 {
		v.errf("scaling.grace", "expected 0 or a positive duration")
	}
	for i, a := range sc.Actions {
		v.scaleAction(fmt.Sprintf("scaling.actions[%d]", i), a)
	}
	v.reserve()
	if sc.CopyRate <= 0 {
		v.errf("scaling.copy_rate", "expected a positive rate")
	}
	seen := map[string]bool{}
	for i, a := range sc.Autoscale {
		p := fmt.Sprintf("scaling.autoscale[%d]", i)
		if v.validComponent(p+".service", a.Service) {
			if seen[a.Service] {
				v.errf(p+".service", "%s already has an autoscaler", a.Service)
			}
			seen[a.Service] = true
		}
		v.autoscaler(p, a)
	}
}

func (v *validator) scaleAction(p string, a ScaleAction) {
	dur := v.s.Run.Duration
	if !v.f.written(p + ".at") {
		v.errf(p, "a scale action needs at (when it is taken)")
	} else if a.At < 0 || a.At >= dur {
		v.errf(p+".at", "the action is at %s, outside the %s run", a.At, dur)
	}
	if !v.f.written(p + ".service") {
		v.errf(p, "a scale action needs service (a service's name or gateway)")
	} else {
		v.validComponent(p+".service", a.Service)
	}
	to, by := v.f.written(p+".to"), v.f.written(p+".by")
	switch {
	case to && by:
		v.keyErrf(p+".by", "by does not apply with to; give one of them")
	case !to && !by:
		v.errf(p, "a scale action needs to (a count per set) or by (+N or -N)")
	case to && (a.To < 0 || a.To > MaxInstances):
		v.errf(p+".to", "expected 0 to %d, got %d", MaxInstances, a.To)
	case by && (a.By == 0 || a.By > MaxInstances || a.By < -MaxInstances):
		v.errf(p+".by", "expected +N or -N (N from 1 to %d), got %d", MaxInstances, a.By)
	}
	if a.Target == "" {
		return
	}
	sc, err := faults.ParseScope(a.Target)
	if err != nil {
		v.errf(p+".target", "%v", err)
		return
	}
	if sc.Kind != faults.ScopeSet && sc.Kind != faults.ScopeCity {
		v.errf(p+".target", "expected set=NAME or city=NAME (or no target for every set), got %s=", sc.Kind)
		return
	}
	if v.topo != nil {
		if err := v.topo.exists(sc); err != nil {
			v.errf(p+".target", "%v", err)
		}
	}
}

func (v *validator) autoscaler(p string, a Autoscaler) {
	if !v.f.written(p + ".max") {
		v.errf(p, "an autoscaler needs max (the most instances per set)")
	} else if a.Max < 1 || a.Max > MaxInstances {
		v.errf(p+".max", "expected 1 to %d, got %d", MaxInstances, a.Max)
	} else if a.Max < a.Min {
		v.errf(p+".max", "max %d is below min %d", a.Max, a.Min)
	}
	if v.f.written(p+".min") && a.Min < 1 {
		v.errf(p+".min", "expected at least 1, got %d", a.Min)
	}
	if a.Utilization <= 0 || a.Utilization > 1 {
		v.errf(p+".utilization", "expected a target above 0%% and at most 100%%, got %s", a.Utilization)
	}
	if a.Period <= 0 {
		v.errf(p+".period", "expected a positive duration")
	}
	if a.Tolerance < 0 || a.Tolerance >= 1 {
		v.errf(p+".tolerance", "expected 0%% or more and below 100%%, got %s", a.Tolerance)
	}
	if a.Stabilization < 0 {
		v.errf(p+".stabilization", "expected 0 or a positive duration")
	}
	if a.MaxStep < 1 {
		v.errf(p+".max_step", "expected at least 1, got %d", a.MaxStep)
	}
}

// reserve checks striping.reserve and scaling.sets: reserved names are
// sets, every city keeps a set in service, and each added set is reserved
// and added once.
func (v *validator) reserve() {
	if v.topo == nil {
		return
	}
	setIdx := map[string]int{}
	for i, st := range v.topo.sets {
		setIdx[st.Name] = i
	}
	reserved := map[string]bool{}
	left := map[int]int{} // city -> sets in service
	for _, st := range v.topo.sets {
		left[st.Parent]++
	}
	for i, n := range v.s.Striping.Reserve {
		p := fmt.Sprintf("striping.reserve[%d]", i)
		si, ok := setIdx[n]
		switch {
		case !ok:
			v.errf(p, "unknown set %q; sets are named after their %s, e.g. %s", n, v.topo.setLevelName(), v.topo.example())
			continue
		case reserved[n]:
			v.errf(p, "set %q is listed twice", n)
			continue
		}
		reserved[n] = true
		c := v.topo.sets[si].Parent
		if left[c]--; left[c] == 0 {
			v.errf(p, "every set of city %s is reserved; keep at least one in service", v.topo.cities[c].Name)
		}
	}
	if len(reserved) > 0 {
		v.reservedPlaces(reserved)
	}
	v.setChanges(setIdx, reserved, left)
}

// setChanges checks scaling.sets in time order: an added set is reserved
// and not in service, a removed one is in service, and every city keeps a
// set in service.
func (v *validator) setChanges(setIdx map[string]int, reserved map[string]bool, left map[int]int) {
	in := map[string]bool{}
	for n := range setIdx {
		in[n] = !reserved[n]
	}
	order := make([]int, len(v.s.Scaling.Sets))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return v.s.Scaling.Sets[order[a]].At < v.s.Scaling.Sets[order[b]].At })
	for _, i := range order {
		c := v.s.Scaling.Sets[i]
		p := fmt.Sprintf("scaling.sets[%d]", i)
		if !v.f.written(p + ".at") {
			v.errf(p, "a set change needs at (when the set is added or removed)")
		} else if c.At < 0 || c.At >= v.s.Run.Duration {
			v.errf(p+".at", "the set changes at %s, outside the %s run", c.At, v.s.Run.Duration)
		}
		add, rm := v.f.written(p+".add"), v.f.written(p+".remove")
		switch {
		case add && rm:
			v.keyErrf(p+".remove", "remove does not apply with add; give one of them")
		case !add && !rm:
			v.errf(p, "a set change needs add (a reserved set) or remove (a set in service)")
		case add && !reserved[c.Add]:
			v.errf(p+".add", "set %q is not reserved; list it in striping.reserve", c.Add)
		case add && in[c.Add]:
			v.errf(p+".add", "set %q is already in service then", c.Add)
		case add:
			in[c.Add] = true
			left[v.topo.sets[setIdx[c.Add]].Parent]++
		case rm:
			si, ok := setIdx[c.Remove]
			switch {
			case !ok:
				v.errf(p+".remove", "unknown set %q; sets are named after their %s, e.g. %s", c.Remove, v.topo.setLevelName(), v.topo.example())
			case !in[c.Remove]:
				v.errf(p+".remove", "set %q is not in service then", c.Remove)
			default:
				city := v.topo.sets[si].Parent
				if left[city] == 1 {
					v.errf(p+".remove", "set %q is the last of city %s in service", c.Remove, v.topo.cities[city].Name)
				} else {
					in[c.Remove] = false
					left[city]--
				}
			}
		}
	}
}

// reservedPlaces rejects a global primary scope or a central registry
// that would lie wholly inside reserved sets.
func (v *validator) reservedPlaces(reserved map[string]bool) {
	inService := func(scope string) bool {
		sc, err := faults.ParseScope(scope)
		if err != nil {
			return true // reported elsewhere
		}
		ms, err := v.topo.machinesIn(sc)
		if err != nil {
			return true
		}
		for _, m := range ms {
			if !reserved[v.topo.sets[v.topo.setOf[m]].Name] {
				return true
			}
		}
		return false
	}
	st := v.s.Stack
	if st.Data.Mode == "global" && !inService(st.Data.Primary) {
		v.errf("stack.data.primary", "every machine of %s is in a reserved set", st.Data.Primary)
	}
	if st.Discovery.Mode == "registry" && st.Discovery.Placement != "per-set" && !inService(st.Discovery.Placement) {
		v.errf("stack.discovery.placement", "every machine of %s is in a reserved set", st.Discovery.Placement)
	}
}

// Recommend is the HPA formula, the same for every backend:
// ceil(ready x utilization / target), or the current count while
// utilization / target is within tolerance of 1 (or nothing is ready to
// measure). util is busy threads over concurrency of the ready instances,
// averaged over the period.
func (a *Autoscaler) Recommend(current, ready int, util float64) int {
	if ready == 0 {
		return current
	}
	ratio := util / a.Utilization.Fraction()
	if math.Abs(ratio-1) <= a.Tolerance.Fraction() {
		return current
	}
	return int(math.Ceil(float64(ready)*ratio - 1e-9)) // 2 x 0.9 / 0.6 is 3, not 3.0000000000000004
}

// Decide turns a recommendation into the new count: a scale-down goes no
// lower than windowMax (the highest recommendation of the stabilization
// window, this one included) and never above the current count, a change
// is at most max_step, and the result stays within min and max.
func (a *Autoscaler) Decide(current, rec, windowMax int) int {
	d := rec
	if d < current {
		d = min(current, max(d, windowMax))
	}
	d = max(min(d, current+a.MaxStep), current-a.MaxStep)
	return max(min(d, a.Max), a.Min)
}
