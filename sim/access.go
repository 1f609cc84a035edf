package sim

import (
	"fmt"

	"github.com/stripelab/stripelab/scenarios"
)

// accessState is the regional access layer: for the users of each city,
// which gateways it believes healthy. It learns of a change rehome_delay
// after it happens (DNS TTL plus health checks) and moves users then.
type accessState struct {
	rehome   int64
	failback bool
	nGw      int
	gws      []int32 // gateway ordinal -> instance
	ord      []int32 // instance -> gateway ordinal, or -1
	view     []bool  // [city*nGw + ordinal]
	truth    []bool  // the latest state scheduled to be seen
	ver      []uint32
	cause    []int32 // the fault behind the latest change
	everDown []bool
	up       []int32 // [city*nSets + set]: gateways of the set seen up
}

func (w *World) buildAccess() {
	a := &w.access
	acc := &w.sc.Stack.Access
	a.rehome = int64(acc.RehomeDelay)
	a.failback = acc.Failback == nil || *acc.Failback
	a.ord = make([]int32, len(w.insts))
	for i := range a.ord {
		a.ord[i] = -1
	}
	for s := range w.sets {
		for _, g := range w.sets[s].gws {
			a.ord[g] = int32(len(a.gws))
			a.gws = append(a.gws, g)
		}
	}
	a.nGw = len(a.gws)
	n := len(w.cities) * a.nGw
	a.view, a.truth, a.ver, a.cause, a.everDown = make([]bool, n), make([]bool, n), make([]uint32, n), make([]int32, n), make([]bool, n)
	a.up = make([]int32, len(w.cities)*len(w.sets))
	for c := range w.cities {
		for o, g := range a.gws {
			if w.insts[g].off {
				continue // a scaling slot: seen once started
			}
			a.view[c*a.nGw+o], a.truth[c*a.nGw+o] = true, true
			a.up[c*len(w.sets)+int(w.insts[g].set)]++
		}
	}
}

// route picks the set and gateway for an attempt by a user of city c: the
// home set when it is seen healthy, else a healthy set of the same city,
// else of the nearest city with one (the user hashed over them). -1 when
// nothing is healthy.
func (w *World) route(c int32, user int32, home int32) (int32, int32) {
	a := &w.access
	ns := int32(len(w.sets))
	if a.up[c*ns+home] > 0 {
		return home, w.pickGateway(c, home)
	}
	if s := w.healthySet(c, c, user); s >= 0 {
		return s, w.pickGateway(c, s)
	}
	for _, other := range w.cities[c].byDelay {
		if s := w.healthySet(c, other, user); s >= 0 {
			return s, w.pickGateway(c, s)
		}
	}
	return -1, -1
}

// healthySet hashes a user over the sets of city in that the users of
// city from see healthy.
func (w *World) healthySet(from, in int32, user int32) int32 {
	ns := int32(len(w.sets))
	sets := w.plan.Cities[in].Sets
	n := 0
	for _, s := range sets {
		if w.access.up[from*ns+int32(s)] > 0 {
			n++
		}
	}
	if n == 0 {
		return -1
	}
	k := int(scenarios.Mix64(uint64(user)^0x2545f4914f6cdd1d) % uint64(n))
	for _, s := range sets {
		if w.access.up[from*ns+int32(s)] > 0 {
			if k == 0 {
				return int32(s)
			}
			k--
		}
	}
	return -1
}

func (w *World) pickGateway(c, set int32) int32 {
	a := &w.access
	k := w.routeRand.IntN(int(a.up[c*int32(len(w.sets))+set]))
	for _, g := range w.sets[set].gws {
		if a.view[int(c)*a.nGw+int(a.ord[g])] {
			if k == 0 {
				return g
			}
			k--
		}
	}
	panic("sim: access layer lost count of healthy gateways")
}

// recheckAccess compares what the access layer should see of gateways gws
// (all when nil) with what it was last told, and schedules the change to be
// seen rehome_delay later. cause is the fault behind a change.
func (w *World) recheckAccess(gws []int32, cause int32) {
	a := &w.access
	if gws == nil {
		gws = a.gws
	}
	for c := range w.cities {
		for _, g := range gws {
			slot := c*a.nGw + int(a.ord[g])
			m := w.insts[g].machine
			ep := -1 - int32(c)
			t := w.listed(&w.insts[g]) && w.reachable(ep, m) && w.reachable(m, ep)
			if t == a.truth[slot] {
				continue
			}
			a.truth[slot] = t
			a.ver[slot]++
			a.cause[slot] = cause
			b := uint8(0)
			if t {
				b = 1
			}
			w.at(w.now+a.rehome, evAccess, int32(slot), 0, a.ver[slot], b)
		}
	}
}

func (w *World) onAccess(slot int32, ver uint32, up bool) {
	a := &w.access
	if ver != a.ver[slot] || a.view[slot] == up || (up && !a.failback && a.everDown[slot]) {
		return
	}
	a.view[slot] = up
	c, g := int(slot)/a.nGw, a.gws[int(slot)%a.nGw]
	set := w.insts[g].set
	cnt := &a.up[c*len(w.sets)+int(set)]
	f := a.cause[slot]
	if up {
		*cnt++
		if w.slotOf != nil {
			w.slotSeen(g)
		}
		return
	}
	*cnt--
	a.everDown[slot] = true
	if f < 0 {
		return
	}
	w.rec.Detected(int(f), w.now, fmt.Sprintf("access layer marked %s in %s down", w.instName(g), w.plan.Sets[set].Name))
	w.rec.Rerouted(int(f), w.now, fmt.Sprintf("access layer stopped sending %s users to %s", w.plan.Cities[c].Name, w.instName(g)))
	w.faults[f].doneAt = max(w.faults[f].doneAt, w.now)
	if *cnt == 0 && w.homesUsers(c, set) {
		w.rec.Event(w.now, "rehomed", int(f), "users of %s homed on set %s re-homed", w.plan.Cities[c].Name, w.plan.Sets[set].Name)
	}
}

// homesUsers reports whether set is a home set of users of city c.
func (w *World) homesUsers(c int, set int32) bool {
	return w.plan.Sets[set].City == c
}
