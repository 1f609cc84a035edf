package runner

import (
	"context"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Set changes on the real stack follow the simulator's (sim/expansion.go)
// for data kept apart from the sets (data.mode proxy, global or none;
// Unsupported refuses sharded data, whose keys would have to move between
// real shards). Adding a reserved set starts its scaled slots at once
// (each ready startup later) and its other instances (registry, proxies,
// services, gateways, in start order) startup later; once they answer it
// is ready, and rehome_delay later the users whose rendezvous hash picks
// it are homed there (the access layer takes its gateways up as their
// health checks pass). Removing a set drains its gateways and scaled
// slots at once, moves its users rehome_delay later, and kills what is
// left of it grace after that.

// setChange is one scaling.sets entry under way.
type setChange struct {
	set    int
	change int // its index in scaling.sets
	remove bool
	rec    int // its entry in the record's Sets
}

// setIndex is the plan's index of set name.
func setIndex(p *scenarios.Plan, name string) int {
	for i, s := range p.Sets {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// setGroups lists set s's instances outside scale groups by start
// group, in start order (no empty group).
func (sc *scaler) setGroups(s int) [][]int {
	p := sc.r.plan
	var out [][]int
	for _, g := range StartOrder(p) {
		var mine []int
		for _, i := range g {
			in := p.Instances[i]
			owner := in.Set
			if in.Role == scenarios.RoleShard {
				owner = p.Shards[in.Shard].Set
			}
			if _, slot := sc.slots[i]; owner == s && !slot {
				mine = append(mine, i)
			}
		}
		if len(mine) > 0 {
			out = append(out, mine)
		}
	}
	return out
}

// setMembers lists set s's instances outside scale groups, in start order.
func (sc *scaler) setMembers(s int) []int {
	var out []int
	for _, g := range sc.setGroups(s) {
		out = append(out, g...)
	}
	return out
}

// changeSet carries out scaling.sets[i] at its time.
func (sc *scaler) changeSet(i int) {
	r := sc.r
	p := r.plan
	c := p.Scenario.Scaling.Sets[i]
	ch := &setChange{set: setIndex(p, c.Add), remove: c.Remove != "", change: i}
	if ch.remove {
		ch.set = setIndex(p, c.Remove)
	}
	name := p.Sets[ch.set].Name
	now := sc.now()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	ch.rec = len(sc.rec.Sets)
	sc.rec.Sets = append(sc.rec.Sets, reports.SetAdded{Set: name, Removed: ch.remove, Added: int64(now), Ready: -1, Routed: -1,
		Users: int64(p.UserCities[p.Sets[ch.set].City].Count), CopyStart: -1, CopyEnd: -1})
	if !ch.remove {
		sc.active[ch.set] = true
		r.rec.Event(int64(now), reports.EvSetAdded, -1, "set %s added: its instances start", name)
		for gi := range sc.groups {
			if sc.groups[gi].set == ch.set {
				sc.scaleTo(gi, p.ScaleGroups[gi].Initial, "set added")
			}
		}
		sc.after(p.Scenario.Scaling.Startup.Std(), func() { sc.setUp(ch) })
		return
	}
	sc.active[ch.set] = false
	r.rec.Event(int64(now), reports.EvSetAdded, -1, "set %s removed: its gateways leave the access layer", name)
	for gi := range sc.groups {
		if sc.groups[gi].set == ch.set {
			sc.scaleTo(gi, 0, "set removed")
		}
	}
	for _, in := range sc.setMembers(ch.set) {
		if p.Instances[in].Role == scenarios.RoleGateway {
			sc.postDrain(in)
		}
	}
	sc.after(p.Scenario.Stack.Access.RehomeDelay.Std(), func() { sc.setRouted(ch) })
}

// enter counts a timer's work in sc.wg unless the scaler has finished;
// the caller calls sc.wg.Done when it returns true.
func (sc *scaler) enter() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.done {
		return false
	}
	sc.wg.Add(1)
	return true
}

// setUp starts an added set's instances outside scale groups, group by
// group, each healthy before the next; the set is ready when the last
// answers.
func (sc *scaler) setUp(ch *setChange) {
	r := sc.r
	p := r.plan
	if !sc.enter() {
		return
	}
	defer sc.wg.Done()
	groups := sc.setGroups(ch.set)
	members := 0
	for _, g := range groups {
		members += len(g)
		var started []int
		for _, i := range g {
			r.mu.Lock()
			r.parked[i] = false
			held := r.instDown[i] > 0 || r.machDown[p.Instances[i].Machine] > 0
			r.mu.Unlock()
			if held {
				continue // a fault holds it down: its revert starts it
			}
			r.resetEvents([]int{i})
			if err := r.host.Start(context.Background(), r.cfgs[i]); err != nil {
				r.rec.Event(int64(sc.now()), "scale-error", -1, "%s did not start: %v", r.instName(i), err)
				continue
			}
			started = append(started, i)
		}
		if err := r.waitHealthy(context.Background(), started, r.opts.HealthTimeout); err != nil {
			r.rec.Event(int64(sc.now()), "scale-error", -1, "set %s: %v", p.Sets[ch.set].Name, err)
		}
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	now := sc.now()
	sc.rec.Sets[ch.rec].Ready = int64(now)
	r.rec.Event(int64(now), reports.EvReady, -1, "set %s ready: %s", p.Sets[ch.set].Name, quantity(members, "instance"))
	if !sc.done {
		sc.after(p.Scenario.Stack.Access.RehomeDelay.Std(), func() { sc.setRouted(ch) })
	}
}

// setRouted puts the set in (or out of) service for the users' homing and
// counts the users that move; a removed set stops grace later.
func (sc *scaler) setRouted(ch *setChange) {
	r := sc.r
	p := r.plan
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.done {
		return
	}
	before := append([]bool(nil), sc.member...)
	sc.member[ch.set] = !ch.remove
	in := sc.member
	if ch.remove {
		in = before // a removed set's users are those homed on it before
	}
	city := p.Sets[ch.set].City
	ur := p.UserCities[city]
	var moved int64
	for u := ur.First; u < ur.First+ur.Count; u++ {
		if p.Rendezvous(p.Cities[city].Sets, u, func(s int) bool { return in[s] }) == ch.set {
			moved++
		}
	}
	r.load.SetMember(ch.set, !ch.remove)
	now := sc.now()
	rec := &sc.rec.Sets[ch.rec]
	rec.Routed, rec.Moved = int64(now), moved
	km := keyMove(p, ch.change)
	keys := 0
	if km != nil {
		keys = len(km.Users)
	}
	what := "in service: %d of %d users (%.1f%%) move to it, %d keys to copy"
	if ch.remove {
		what = "out of service: %d of %d users (%.1f%%) move away, %d keys to copy out"
	}
	r.rec.Event(int64(now), reports.EvSetAdded, -1, "set %s "+what, p.Sets[ch.set].Name, moved, ur.Count, 100*float64(moved)/float64(max(ur.Count, 1)), keys)
	switch {
	case km != nil:
		sc.copyKeys(ch, km) // a removed set stops grace after its copy ends
	case ch.remove:
		sc.after(p.Scenario.Scaling.Grace.Std(), func() { sc.setStop(ch) })
	}
}

// setStop kills what is left of a removed set.
func (sc *scaler) setStop(ch *setChange) {
	r := sc.r
	p := r.plan
	if !sc.enter() {
		return
	}
	defer sc.wg.Done()
	sc.mu.Lock()
	now := sc.now()
	sc.rec.Sets[ch.rec].Ready = int64(now)
	r.rec.Event(int64(now), reports.EvSetAdded, -1, "set %s stopped", p.Sets[ch.set].Name)
	sc.mu.Unlock()
	for _, i := range sc.setMembers(ch.set) {
		r.mu.Lock()
		r.parked[i] = true
		r.mu.Unlock()
		if r.host.Alive(i) {
			if err := r.host.Kill(i); err != nil {
				r.rec.Event(int64(sc.now()), "scale-error", -1, "%s: %v", r.instName(i), err)
			}
		}
	}
}
