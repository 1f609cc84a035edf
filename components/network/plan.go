package network

import (
	"slices"
	"sort"
	"time"

	"github.com/stripelab/stripelab/scenarios"
)

// Pair is a caller and an instance the Plan lets talk: a machine (From >= 0)
// or the users of City (From = -1), and the instance To.
type Pair struct {
	From, City, To int
	// Delay is the base one-way delay (Plan.Delay, or Plan.ClientDelay for users).
	Delay time.Duration
}

// User reports whether the pair is a user link.
func (p Pair) User() bool { return p.From < 0 }

// Name is the pair's LinkName.
func (p Pair) Name() string { return LinkName(p.From, p.City, p.To) }

// Jitter is the scenario's latency jitter as a share of each delay.
func Jitter(p *scenarios.Plan) float64 { return p.Scenario.Topology.Latency.Jitter.Fraction() }

// PlanLinks lists the pairs that get a link, sorted by (From, To) with the
// user links last (by city). A machine gets a link towards an instance
// when one of the instances on it calls that instance:
//   - a gateway: the upstream service's instances its discovery scope sees
//     (set, city or global), and those of its city at least, since it
//     re-routes to a healthy set of its city when its own set has none;
//   - a service: the instances of the services it calls in its scope; the
//     shard copies when it calls the data layer (every copy: a user's shard
//     follows the user's home set, wherever the user is served), or the
//     data proxies in its scope in proxy mode;
//   - a data proxy: every shard copy;
//   - a shard copy: the other copies of its shard (replication, detection),
//     and the copies of the shards its keys move to when a set is added
//     or removed under sharded data (POST /v1/import);
//   - registry mode: gateways, services and proxies reach every copy of the
//     registries serving the sets in their scope, and a registry's copies
//     reach each other.
//
// The users of every city reach every gateway (the access layer sends them
// to their home set, another set of their city, or the nearest city).
func PlanLinks(p *scenarios.Plan) []Pair {
	b := &pairs{p: p, seen: map[[2]int]bool{}}
	st := &p.Scenario.Stack
	movesTo := map[int][]int{} // per shard, the shards its keys move to (sets added or removed)
	for _, m := range p.KeyMoves() {
		for _, from := range p.Cities[m.City].Sets {
			for _, to := range p.Cities[m.City].Sets {
				if from != to && m.Before[from] && m.After[to] && !slices.Contains(movesTo[from], to) {
					movesTo[from] = append(movesTo[from], to)
				}
			}
		}
	}
	upstream := 0
	for i, s := range st.Services {
		if s.Name == st.Gateway.Upstream {
			upstream = i
		}
	}
	for i, in := range p.Instances {
		switch in.Role {
		case scenarios.RoleGateway:
			if len(p.Services) > 0 {
				b.toService(i, upstream, max(b.scope(), scopeCity))
			}
			b.toRegistries(i)
		case scenarios.RoleService:
			for _, c := range p.Services[in.Service].Calls {
				if c.Kind == scenarios.CallService {
					b.toService(i, c.Service, b.scope())
				} else {
					b.toData(i)
				}
			}
			b.toRegistries(i)
		case scenarios.RoleProxy:
			b.toShards(i)
			b.toRegistries(i)
		case scenarios.RoleShard:
			for _, r := range p.Shards[in.Shard].Replicas {
				if r != i {
					b.add(in.Machine, r)
				}
			}
			for _, to := range movesTo[in.Shard] {
				for _, r := range p.Shards[to].Replicas {
					b.add(in.Machine, r)
				}
			}
		}
	}
	for _, r := range p.Registries {
		for _, a := range r.Instances {
			for _, c := range r.Instances {
				if c != a {
					b.add(p.Instances[a].Machine, c)
				}
			}
		}
	}
	out := b.out
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	for c := range p.Cities {
		for g, in := range p.Instances {
			if in.Role == scenarios.RoleGateway {
				out = append(out, Pair{From: -1, City: c, To: g, Delay: time.Duration(p.ClientDelay(c, in.Machine))})
			}
		}
	}
	return out
}

const (
	scopeSet = iota
	scopeCity
	scopeGlobal
)

type pairs struct {
	p    *scenarios.Plan
	seen map[[2]int]bool
	out  []Pair
}

func (b *pairs) scope() int {
	switch b.p.Scenario.Stack.Discovery.Scope {
	case "city":
		return scopeCity
	case "global":
		return scopeGlobal
	}
	return scopeSet
}

// visible reports whether a caller in set a sees an instance in set b.
func (b *pairs) visible(a, c int, scope int) bool {
	switch scope {
	case scopeGlobal:
		return true
	case scopeCity:
		return b.p.Sets[a].City == b.p.Sets[c].City
	}
	return a == c
}

func (b *pairs) add(from, to int) {
	k := [2]int{from, to}
	if b.seen[k] {
		return
	}
	b.seen[k] = true
	b.out = append(b.out, Pair{From: from, City: b.p.Machines[from].City, To: to,
		Delay: time.Duration(b.p.Delay(from, b.p.Instances[to].Machine))})
}

func (b *pairs) toService(i, svc, scope int) {
	in := b.p.Instances[i]
	for _, j := range b.p.Services[svc].Instances {
		if b.visible(in.Set, b.p.Instances[j].Set, scope) {
			b.add(in.Machine, j)
		}
	}
}

func (b *pairs) toData(i int) {
	in := b.p.Instances[i]
	if b.p.Scenario.Stack.Data.Mode != "proxy" {
		b.toShards(i)
		return
	}
	for j, x := range b.p.Instances {
		if x.Role == scenarios.RoleProxy && b.visible(in.Set, x.Set, b.scope()) {
			b.add(in.Machine, j)
		}
	}
}

func (b *pairs) toShards(i int) {
	m := b.p.Instances[i].Machine
	for _, sh := range b.p.Shards {
		for _, r := range sh.Replicas {
			b.add(m, r)
		}
	}
}

func (b *pairs) toRegistries(i int) {
	in := b.p.Instances[i]
	for _, r := range b.p.Registries {
		seen := false
		for _, s := range r.Sets {
			seen = seen || b.visible(in.Set, s, b.scope())
		}
		if seen {
			for _, c := range r.Instances {
				b.add(in.Machine, c)
			}
		}
	}
}
