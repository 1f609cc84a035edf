package sim

import (
	"fmt"
	"sort"

	"github.com/stripelab/stripelab/scenarios"
)

// cache is what one group of callers knows of the instances in its scope:
// a set's callers (scope set) or a city's (scope city or global). In
// registry mode it is refreshed from the registries every refresh period;
// in mesh mode sidecars update it after the propagation delay.
type cache struct {
	viewer  int32   // a machine of the callers, for registry reachability
	members []int32 // instances in scope, sorted by (service, set)
	vis     []bool  // what the callers believe is up
	svcLo   []int32 // members of service k are members[svcLo[k]:svcLo[k+1]]
	lists   [][]int32
	fault   int32   // the fault whose effect was last removed from view
	callers []int32 // instances that pick through this cache (liveCaller)
	out     *outlierState
	hc      *healthState
	panic   panicState
}

type cacheRef struct{ cache, pos int32 }

// registry is a discovery registry: its copies (it answers while any is
// up) and the sets it serves.
type registry struct {
	insts []int32
	down  int32 // active registry-down faults
	up    bool
	// preserving: self-preservation stops expiry (resilience)
	preserving bool
}

// discovery mode and scope, decoded once.
const (
	scopeSet = iota
	scopeCity
	scopeGlobal
)

func (w *World) discSvc(in *instance) int32 {
	switch in.role {
	case scenarios.RoleService:
		return in.svc
	case scenarios.RoleProxy:
		return int32(len(w.svcs))
	}
	return -1
}

func (w *World) buildDiscovery() {
	d := &w.sc.Stack.Discovery
	w.mesh = d.Mode == "mesh"
	switch d.Scope {
	case "city":
		w.scope = scopeCity
	case "global":
		w.scope = scopeGlobal
	}
	nsvc := len(w.svcs) + 1
	w.viewerCache = make([]int32, len(w.sets))
	member := func(c int, inst int32) bool {
		in := &w.insts[inst]
		return w.discSvc(in) >= 0 && (w.scope == scopeGlobal || w.usesCache(c, in))
	}
	groups := len(w.sets)
	if w.scope != scopeSet {
		groups = len(w.cities)
	}
	for g := 0; g < groups; g++ {
		c := cache{fault: -1}
		for i := range w.insts {
			if member(g, int32(i)) {
				c.members = append(c.members, int32(i))
			}
			if in := &w.insts[i]; isCaller(in) && w.usesCache(g, in) {
				c.callers = append(c.callers, int32(i))
			}
		}
		sort.SliceStable(c.members, func(a, b int) bool {
			return w.discSvc(&w.insts[c.members[a]]) < w.discSvc(&w.insts[c.members[b]])
		})
		c.vis = make([]bool, len(c.members))
		c.svcLo = make([]int32, nsvc+1)
		for pos, m := range c.members {
			c.vis[pos] = !w.insts[m].off
			c.svcLo[w.discSvc(&w.insts[m])+1]++
			w.insts[m].caches = append(w.insts[m].caches, cacheRef{int32(len(w.caches)), int32(pos)})
		}
		for k := 1; k <= nsvc; k++ {
			c.svcLo[k] += c.svcLo[k-1]
		}
		c.lists = make([][]int32, nsvc)
		if w.scope == scopeSet {
			c.viewer = int32(w.plan.Sets[g].Machines[0])
		} else {
			c.viewer = int32(w.plan.Sets[w.plan.Cities[g].Sets[0]].Machines[0])
		}
		w.caches = append(w.caches, c)
		for k := 0; k < nsvc; k++ {
			w.rebuild(&w.caches[len(w.caches)-1], k)
		}
	}
	for s := range w.sets {
		if w.scope == scopeSet {
			w.viewerCache[s] = int32(s)
		} else {
			w.viewerCache[s] = int32(w.plan.Sets[s].City)
		}
	}
	w.buildRegistries()
}

// usesCache reports whether instance in looks up through cache group g:
// the caches are per set (scope set) or per city (city and global).
func (w *World) usesCache(g int, in *instance) bool {
	if w.scope == scopeSet {
		return in.set == int32(g)
	}
	return w.machines[in.machine].city == int32(g)
}

func (w *World) buildRegistries() {
	w.registryOf = make([]int32, len(w.sets))
	w.registryOfInst = make([]int32, len(w.insts))
	for ri, r := range w.plan.Registries {
		reg := registry{up: true}
		reg.up = false // a reserved set's registry is down until the set is added
		for _, in := range r.Instances {
			reg.insts = append(reg.insts, int32(in))
			w.registryOfInst[in] = int32(ri)
			reg.up = reg.up || !w.insts[in].off
		}
		w.regs = append(w.regs, reg)
		for _, s := range r.Sets {
			w.registryOf[s] = int32(ri)
		}
	}
	if w.mesh {
		return
	}
	hb := int64(w.sc.Stack.Discovery.Heartbeat)
	for i := range w.insts {
		w.insts[i].hbPhase = w.discRand.Int64N(hb)
	}
}

func (w *World) startDiscovery() {
	if w.mesh {
		return
	}
	refresh := int64(w.sc.Stack.Discovery.Refresh)
	for c := range w.caches {
		w.at(w.discRand.Int64N(refresh), evCacheRefresh, int32(c), 0, 0, 0)
	}
}

// rebuild recomputes the visible list of service k, sorted by set.
func (w *World) rebuild(c *cache, k int) {
	l := c.lists[k][:0]
	for pos := c.svcLo[k]; pos < c.svcLo[k+1]; pos++ {
		if c.vis[pos] && (c.out == nil || !c.out.ejected[pos]) && (c.hc == nil || c.hc.healthy[pos]) {
			l = append(l, c.members[pos])
		}
	}
	c.lists[k] = l
}

// pick chooses an instance of service k (len(svcs) for the data proxy) for
// a caller in set: its own set first, then its city, then anywhere, as the
// scope allows; among candidates the less loaded of two random ones.
func (w *World) pick(set int32, k int32) int32 {
	c := &w.caches[w.viewerCache[set]]
	l := c.lists[k]
	if len(l) == 0 {
		return -1
	}
	if w.scope == scopeSet {
		return w.p2c(l)
	}
	lo, hi := w.setRange(l, set, set)
	if hi > lo {
		return w.p2c(l[lo:hi])
	}
	cs := w.plan.Cities[w.plan.Sets[set].City].Sets
	lo, hi = w.setRange(l, int32(cs[0]), int32(cs[len(cs)-1]))
	if hi > lo {
		return w.p2c(l[lo:hi])
	}
	if w.scope == scopeGlobal {
		return w.p2c(l)
	}
	return -1
}

// setRange finds the members of l (sorted by set) in sets [a, b].
func (w *World) setRange(l []int32, a, b int32) (int, int) {
	lo := sort.Search(len(l), func(i int) bool { return w.insts[l[i]].set >= a })
	hi := sort.Search(len(l), func(i int) bool { return w.insts[l[i]].set > b })
	return lo, hi
}

func (w *World) p2c(l []int32) int32 {
	if len(l) == 1 {
		return l[0]
	}
	a := l[w.routeRand.IntN(len(l))]
	b := l[w.routeRand.IntN(len(l))]
	if w.outstandingNow(b) < w.outstandingNow(a) {
		return b
	}
	return a
}

func (w *World) regUp(r int32) bool {
	reg := &w.regs[r]
	if reg.down > 0 {
		return false
	}
	for _, in := range reg.insts {
		if w.insts[in].alive(w) {
			return true
		}
	}
	return false
}

// regReachable reports whether callers on machine m can reach a live copy
// of registry r (both ways).
func (w *World) regReachable(r int32, m int32) bool {
	for _, in := range w.regs[r].insts {
		rm := w.insts[in].machine
		if w.insts[in].alive(w) && w.reachable(m, rm) && w.reachable(rm, m) {
			return true
		}
	}
	return false
}

// registryChanged handles a registry going down or coming back: on
// return, it catches up with the instances that changed meanwhile.
func (w *World) registryChanged(r int32) {
	up := w.regUp(r)
	if up == w.regs[r].up {
		return
	}
	w.regs[r].up = up
	if !up {
		return
	}
	for i := range w.insts {
		in := &w.insts[i]
		if in.regPend && w.registryOf[in.set] == r {
			in.regPend = false
			in.reg = w.listed(in)
			if !in.reg && in.fault >= 0 && w.seenByLive(int32(i)) {
				w.rec.Detected(int(in.fault), w.now, fmt.Sprintf("registry back: expired %s on %s", w.instName(int32(i)), w.plan.Machines[in.machine].Name))
			}
		}
	}
}

// discoveryDown makes an instance's death known: the registry expires it
// one TTL after its last heartbeat; a mesh after detection plus propagation.
func (w *World) discoveryDown(i int32) {
	in := &w.insts[i]
	if w.discSvc(in) < 0 {
		return
	}
	d := &w.sc.Stack.Discovery
	if w.mesh {
		w.at(w.now+int64(d.Detection)+int64(d.Propagation), evMesh, i, 0, in.inc, 0)
		return
	}
	if !w.regUp(w.registryOf[in.set]) {
		in.regPend = true
		return
	}
	hb := int64(d.Heartbeat)
	last := int64(0)
	if w.now >= in.hbPhase {
		last = w.now - (w.now-in.hbPhase)%hb
	}
	w.at(max(last+int64(d.TTL), w.now), evRegExpire, i, 0, in.inc, 0)
}

func (w *World) discoveryUp(i int32) {
	in := &w.insts[i]
	if w.discSvc(in) < 0 || in.draining {
		return
	}
	if w.mesh {
		w.at(w.now+int64(w.sc.Stack.Discovery.Propagation), evMesh, i, 0, in.inc, 1)
		return
	}
	if w.regUp(w.registryOf[in.set]) {
		in.reg, in.regPend = true, false
	} else {
		in.regPend = true
	}
	if w.res != nil && w.res.preserve > 0 {
		w.selfPreserving(w.registryOf[in.set]) // renewals back: it may expire again
	}
}

func (w *World) onRegExpire(i int32, inc uint32) {
	in := &w.insts[i]
	if in.inc != inc || in.alive(w) {
		return
	}
	if !w.regUp(w.registryOf[in.set]) {
		in.regPend = true
		return
	}
	if w.selfPreserving(w.registryOf[in.set]) {
		w.at(w.now+int64(w.sc.Stack.Discovery.Heartbeat), evRegExpire, i, 0, inc, 0) // look again at the next renewal
		return
	}
	in.reg = false
	if in.fault >= 0 && w.seenByLive(i) {
		w.rec.Detected(int(in.fault), w.now, fmt.Sprintf("registry expired %s on %s", w.instName(i), w.plan.Machines[in.machine].Name))
	}
}

// onCacheRefresh re-reads the registries; a registry that is down or cut
// off from the callers leaves their view of its instances as it was.
func (w *World) onCacheRefresh(ci int32) {
	c := &w.caches[ci]
	var dirty uint64 // services whose list changed (first 64)
	dirtyAll := false
	var prot []bool
	if w.res != nil && w.res.protection > 0 {
		prot = make([]bool, len(c.lists))
		for k := range prot {
			prot[k] = w.protected(ci, k)
		}
	}
	for pos, m := range c.members {
		in := &w.insts[m]
		r := w.registryOf[in.set]
		if !w.regUp(r) || !w.regReachable(r, c.viewer) {
			continue
		}
		want := in.reg || (prot != nil && prot[w.discSvc(in)])
		if c.vis[pos] == want {
			continue
		}
		c.vis[pos] = want
		if in.reg && w.slotOf != nil {
			w.slotSeen(m)
		}
		k := w.discSvc(in)
		if k < 64 {
			dirty |= 1 << k
		} else {
			dirtyAll = true
		}
		if !want && in.fault >= 0 && w.liveCaller(ci) {
			w.rec.Rerouted(int(in.fault), w.now, fmt.Sprintf("callers' caches dropped %s", w.instName(m)))
			w.faults[in.fault].doneAt = max(w.faults[in.fault].doneAt, w.now)
		}
	}
	for k := range c.lists {
		if dirtyAll || (k < 64 && dirty&(1<<k) != 0) {
			w.rebuild(c, k)
		}
	}
	w.at(w.now+int64(w.sc.Stack.Discovery.Refresh), evCacheRefresh, ci, 0, 0, 0)
}

func (w *World) onMesh(i int32, inc uint32, up bool) {
	in := &w.insts[i]
	if in.inc != inc || w.listed(in) != up {
		return
	}
	if up && w.slotOf != nil {
		w.slotSeen(i)
	}
	for _, ref := range in.caches {
		c := &w.caches[ref.cache]
		c.vis[ref.pos] = up
		w.rebuild(c, int(w.discSvc(in)))
	}
	if !up && in.fault >= 0 && w.seenByLive(i) {
		d := &w.sc.Stack.Discovery
		w.rec.Detected(int(in.fault), w.now-int64(d.Propagation), fmt.Sprintf("sidecars detected %s down", w.instName(i)))
		w.rec.Rerouted(int(in.fault), w.now, fmt.Sprintf("sidecars stopped routing to %s", w.instName(i)))
		w.faults[in.fault].doneAt = max(w.faults[in.fault].doneAt, w.now)
	}
}

func (w *World) instName(i int32) string {
	in := &w.insts[i]
	switch in.role {
	case scenarios.RoleService:
		return fmt.Sprintf("%s#%d", w.plan.Services[in.svc].Name, i)
	}
	return fmt.Sprintf("%s#%d", in.role, i)
}
