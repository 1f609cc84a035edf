package sim

import (
	"math"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Expansion: a reserved set (striping.reserve) runs nothing until a
// scaling.sets entry adds it. Users are homed by rendezvous hashing over
// the sets in service (member), which changes when the access layer starts
// routing to the new set; under sharded data each moved user's key is
// copied to the new set's shard at a moment spread over the copy's
// duration by a hash of the user, and until then the user's data
// operations go to the shard that held it.

// setChange is one set being added or removed.
type setChange struct {
	set, city int32
	remove    bool
	mask      []bool // the sets in service once it is routed to
	rec       int    // its entry in the scaling record's sets
	copyStart int64
	copyDur   int64
	routed    bool
}

func (w *World) buildExpansion() {
	p := w.plan
	if !p.Rehashed() {
		return
	}
	w.reserved = true
	w.member = make([]bool, len(p.Sets))
	for s := range p.Sets {
		w.member[s] = !p.Sets[s].Reserve
	}
	w.setInsts = make([][]int32, len(p.Sets))
	for i, pi := range p.Instances {
		if !pi.Reserve || (w.slotOf != nil && w.slotOf[i] >= 0) {
			continue
		}
		owner := pi.Set
		if pi.Role == scenarios.RoleShard {
			owner = p.Shards[pi.Shard].Set
		}
		w.setInsts[owner] = append(w.setInsts[owner], int32(i))
	}
	for _, c := range w.sc.Scaling.Sets {
		for s := range p.Sets {
			if name := p.Sets[s].Name; name == c.Add || name == c.Remove {
				w.setChanges = append(w.setChanges, setChange{set: int32(s), city: int32(p.Sets[s].City), rec: -1, remove: name == c.Remove})
			}
		}
	}
	if w.scaleRec == nil {
		w.scaleRec = &reports.Scaling{}
	}
}

func (w *World) startExpansion() {
	for i, c := range w.sc.Scaling.Sets {
		w.at(int64(c.At), evSetAdd, int32(i), 0, 0, 0)
		w.addChange(int64(c.At))
	}
}

// homeOf is the home set of a user now.
func (w *World) homeOf(ci, user int32) int32 {
	if !w.reserved {
		return int32(w.plan.HomeSet(int(ci), int(user)))
	}
	return int32(w.plan.Rendezvous(w.plan.Cities[ci].Sets, int(user), func(s int) bool { return w.member[s] }))
}

// dataSet is the set whose shard holds a user's key now (sharded data):
// its first home, moved to each added set the user belongs to once the
// copy reached the user's key. A request whose key is still on the way
// is counted as forwarded.
func (w *World) dataSet(ci, user, home int32) int32 {
	if !w.reserved {
		return home
	}
	sets := w.plan.Cities[ci].Sets
	loc := int32(w.plan.Rendezvous(sets, int(user), func(s int) bool { return !w.plan.Sets[s].Reserve }))
	for k := range w.setChanges {
		c := &w.setChanges[k]
		if !c.routed || c.city != ci {
			continue
		}
		h := int32(w.plan.Rendezvous(sets, int(user), func(s int) bool { return c.mask[s] }))
		if h == loc {
			continue
		}
		if w.now < c.copyStart+int64(scenarios.KeyPhase(int(user))*float64(c.copyDur)) {
			w.scaleRec.Sets[c.rec].Forwarded++
			break
		}
		loc = h
	}
	return loc
}

// onSetEvent runs an expansion event with every hold demoted first.
func (w *World) onSetEvent(e *event) {
	w.demoteAll()
	w.dropChange()
	defer w.setFaultNext()
	c := &w.setChanges[e.a]
	switch {
	case c.remove:
		w.onRemoveEvent(e, c)
	case e.kind == evSetAdd:
		w.setAdd(int(e.a), c)
	case e.kind == evSetReady:
		w.setReady(int(e.a), c)
	case e.kind == evSetRouted:
		w.setRouted(c)
	case e.kind == evSetCopied:
		w.rec.Event(w.now, reports.EvSetAdded, -1, "set %s: every moved key copied", w.plan.Sets[c.set].Name)
	}
}

func (w *World) setAdd(i int, c *setChange) {
	c.rec = len(w.scaleRec.Sets)
	ur := w.plan.UserCities[c.city]
	w.scaleRec.Sets = append(w.scaleRec.Sets, reports.SetAdded{Set: w.plan.Sets[c.set].Name, Added: w.now, Ready: -1, Routed: -1,
		Users: int64(ur.Count), CopyStart: -1, CopyEnd: -1})
	w.rec.Event(w.now, reports.EvSetAdded, -1, "set %s added: its instances start", w.plan.Sets[c.set].Name)
	for gi := range w.groups {
		if g := &w.groups[gi]; g.set == c.set {
			w.scaleTo(gi, int32(w.plan.ScaleGroups[gi].Initial), "set added")
		}
	}
	t := w.now + int64(w.sc.Scaling.Startup)
	w.at(t, evSetReady, int32(i), 0, 0, 0)
	w.addChange(t)
}

func (w *World) setReady(i int, c *setChange) {
	w.scaleRec.Sets[c.rec].Ready = w.now
	var gws []int32
	for _, in := range w.setInsts[c.set] {
		x := &w.insts[in]
		x.off, x.ran, x.fault = false, true, -1
		if x.alive(w) {
			w.instUp(in)
			if x.role == scenarios.RoleGateway {
				gws = append(gws, in)
			}
		}
	}
	if gws != nil {
		w.recheckAccess(gws, -1)
	}
	t := w.now + w.access.rehome
	w.at(t, evSetRouted, int32(i), 0, 0, 0)
	w.addChange(t)
}

// setRouted puts the set in service: users whose rendezvous hash picks it
// are homed there from now, and under sharded data their keys start moving.
func (w *World) setRouted(c *setChange) {
	before := append([]bool(nil), w.member...)
	w.member[c.set] = !c.remove
	c.mask = append([]bool(nil), w.member...)
	c.routed, c.copyStart = true, w.now
	sets := w.plan.Cities[c.city].Sets
	ur := w.plan.UserCities[c.city]
	in := c.mask // an added set's users are homed on it after; a removed one's before
	if c.remove {
		in = before
	}
	var moved int64
	for u := ur.First; u < ur.First+ur.Count; u++ {
		if int32(w.plan.Rendezvous(sets, u, func(s int) bool { return in[s] })) == c.set {
			moved++
		}
	}
	r := &w.scaleRec.Sets[c.rec]
	r.Routed, r.Moved = w.now, moved
	if w.sharded {
		c.copyDur = int64(math.Ceil(float64(moved) / float64(w.sc.Scaling.CopyRate) * 1e9))
		r.Keys, r.CopyStart, r.CopyEnd = moved, w.now, w.now+c.copyDur
		w.at(w.now+c.copyDur, evSetCopied, int32(w.changeIndex(c)), 0, 0, 0)
		w.addChange(w.now + c.copyDur)
	}
	what := "in service: %d of %d users (%.1f%%) move to it, %d keys to copy"
	if c.remove {
		what = "out of service: %d of %d users (%.1f%%) move away, %d keys to copy out"
	}
	w.rec.Event(w.now, reports.EvSetAdded, -1, "set %s "+what,
		w.plan.Sets[c.set].Name, moved, ur.Count, 100*float64(moved)/float64(max(ur.Count, 1)), r.Keys)
	if c.remove && !w.sharded {
		w.at(w.now, evSetCopied, int32(w.changeIndex(c)), 0, 0, 0) // nothing to copy: stop after the grace
		w.addChange(w.now)
	}
}

func (w *World) changeIndex(c *setChange) int {
	for k := range w.setChanges {
		if &w.setChanges[k] == c {
			return k
		}
	}
	panic("sim: unknown set change")
}

// adding reports whether reserved set s has been added (it may not be in
// service yet: its instances are starting).
func (w *World) adding(s int32) bool {
	for k := range w.setChanges {
		if c := &w.setChanges[k]; c.set == s && c.rec >= 0 && !c.remove {
			return true
		}
	}
	return false
}

// onRemoveEvent runs the steps of removing a set: its gateways and scaled
// instances drain at once, users move rehome_delay later (evSetRouted),
// its keys are copied out (evSetCopied), and its instances stop grace
// after that (evSetReady stands for the stop).
func (w *World) onRemoveEvent(e *event, c *setChange) {
	i := int32(w.changeIndex(c))
	switch e.kind {
	case evSetAdd:
		c.rec = len(w.scaleRec.Sets)
		ur := w.plan.UserCities[c.city]
		w.scaleRec.Sets = append(w.scaleRec.Sets, reports.SetAdded{Set: w.plan.Sets[c.set].Name, Removed: true, Added: w.now, Ready: -1, Routed: -1,
			Users: int64(ur.Count), CopyStart: -1, CopyEnd: -1})
		w.rec.Event(w.now, reports.EvSetAdded, -1, "set %s removed: its gateways leave the access layer", w.plan.Sets[c.set].Name)
		for gi := range w.groups {
			if g := &w.groups[gi]; g.set == c.set {
				w.scaleTo(gi, 0, "set removed")
			}
		}
		var gws []int32
		for _, in := range w.setMembers(c.set) {
			if x := &w.insts[in]; x.role == scenarios.RoleGateway && !x.off {
				x.draining = true
				gws = append(gws, in)
			}
		}
		if gws != nil {
			w.recheckAccess(gws, -1)
		}
		t := w.now + w.access.rehome
		w.at(t, evSetRouted, i, 0, 0, 0)
		w.addChange(t)
	case evSetRouted:
		w.setRouted(c)
	case evSetCopied:
		w.rec.Event(w.now, reports.EvSetAdded, -1, "set %s: every key copied out; its instances stop after the grace", w.plan.Sets[c.set].Name)
		t := w.now + int64(w.sc.Scaling.Grace)
		w.at(t, evSetReady, i, 0, 0, 0)
		w.addChange(t)
	case evSetReady:
		w.scaleRec.Sets[c.rec].Ready = w.now
		for _, in := range w.setMembers(c.set) {
			x := &w.insts[in]
			if x.off {
				continue
			}
			was := x.alive(w)
			x.off, x.draining, x.fault = true, false, -1
			if was {
				w.instDown(in)
				if x.role == scenarios.RoleGateway {
					w.recheckAccess([]int32{in}, -1)
				}
			}
		}
		w.rec.Event(w.now, reports.EvSetAdded, -1, "set %s stopped", w.plan.Sets[c.set].Name)
	}
}

// setMembers lists the instances of set s outside scale groups: its
// gateways, services, proxies and registry, and its shard's copies.
func (w *World) setMembers(s int32) []int32 {
	var out []int32
	for i := range w.insts {
		in := &w.insts[i]
		if w.slotOf != nil && w.slotOf[i] >= 0 {
			continue
		}
		owner := in.set
		if in.role == scenarios.RoleShard {
			owner = int32(w.plan.Shards[in.shard].Set)
		}
		if owner == s {
			out = append(out, int32(i))
		}
	}
	return out
}
