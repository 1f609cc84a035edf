package scenarios

import (
	"math"
	"sort"
	"time"
)

// KeyMove is what one scaling.sets entry does to the users' data under
// data.mode sharded: the users of its city whose rendezvous hash picks a
// different set once it is routed (for an added set, those now homed on
// it; for a removed one, those homed on it before) have their key copied
// from the shard of their set before to the shard of their set after.
// The simulator and the real shards share it, so both move the same keys
// at the same moments of the copy.
type KeyMove struct {
	// Change is the entry's index in scaling.sets.
	Change int
	// Set is the set added or removed; City its city.
	Set, City int
	Remove    bool
	// Before and After are the sets in service before and after it is routed.
	Before, After []bool
	// Users lists the users whose key moves, in the order of their copy
	// (KeyPhase, then user).
	Users []int
}

// From is the set (and shard) holding user's key before the move.
func (m *KeyMove) From(p *Plan, user int) int {
	return p.Rendezvous(p.Cities[m.City].Sets, user, func(s int) bool { return m.Before[s] })
}

// To is the set (and shard) holding user's key after the move.
func (m *KeyMove) To(p *Plan, user int) int {
	return p.Rendezvous(p.Cities[m.City].Sets, user, func(s int) bool { return m.After[s] })
}

// Duration is how long the copy lasts at rate keys a second: every moved
// key, whether or not it holds data, takes its turn.
func (m *KeyMove) Duration(rate float64) time.Duration {
	return time.Duration(math.Ceil(float64(len(m.Users)) / rate * 1e9))
}

// Due is when user's key moves, from the start of the copy.
func (m *KeyMove) Due(user int, rate float64) time.Duration {
	return time.Duration(KeyPhase(user) * float64(m.Duration(rate)))
}

// KeyPhase is where in a copy a user's key moves, in [0, 1).
func KeyPhase(user int) float64 {
	return float64(Mix64(uint64(user)^0x7f4a7c159e3779b9)>>11) / (1 << 53)
}

// KeyMoves lists the key moves of the scenario's set changes, in the
// order of their times; nil unless data.mode is sharded.
func (p *Plan) KeyMoves() []KeyMove {
	sc := &p.Scenario.Scaling
	if p.Scenario.Stack.Data.Mode != "sharded" || len(sc.Sets) == 0 {
		return nil
	}
	order := make([]int, len(sc.Sets))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return sc.Sets[order[a]].At < sc.Sets[order[b]].At })
	member := make([]bool, len(p.Sets))
	for s := range p.Sets {
		member[s] = !p.Sets[s].Reserve
	}
	var out []KeyMove
	for _, k := range order {
		c := sc.Sets[k]
		m := KeyMove{Change: k, Set: -1, Remove: c.Remove != ""}
		for s := range p.Sets {
			if n := p.Sets[s].Name; n == c.Add || n == c.Remove {
				m.Set = s
			}
		}
		if m.Set < 0 {
			continue
		}
		m.City = p.Sets[m.Set].City
		m.Before = append([]bool(nil), member...)
		member[m.Set] = !m.Remove
		m.After = append([]bool(nil), member...)
		ur := p.UserCities[m.City]
		for u := ur.First; u < ur.First+ur.Count; u++ {
			if m.From(p, u) != m.To(p, u) {
				m.Users = append(m.Users, u)
			}
		}
		sort.SliceStable(m.Users, func(a, b int) bool { return KeyPhase(m.Users[a]) < KeyPhase(m.Users[b]) })
		out = append(out, m)
	}
	return out
}
