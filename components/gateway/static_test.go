package gateway

import (
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// StaticResolver lists every planned instance of a service that the
// discovery scope shows and the config has a peer address for, alive or
// not: tests use it where no registry runs.
type StaticResolver struct {
	lists map[int][]Endpoint
}

// NewStaticResolver builds the lists from env's Plan and peers.
func NewStaticResolver(env *node.Env) *StaticResolver {
	p := env.Plan
	me := p.Instances[env.Config.Instance]
	addrs := env.Config.PeerAddrs()
	scope := p.Scenario.Stack.Discovery.Scope
	r := &StaticResolver{lists: map[int][]Endpoint{}}
	for svc, sp := range p.Services {
		for _, i := range sp.Instances {
			in := p.Instances[i]
			if !inScope(p, scope, me.Set, in.Set) {
				continue
			}
			if a, ok := addrs[i]; ok {
				r.lists[svc] = append(r.lists[svc], Endpoint{Instance: i, Set: in.Set, Addr: a})
			}
		}
	}
	return r
}

func inScope(p *scenarios.Plan, scope string, from, to int) bool {
	switch scope {
	case "global":
		return true
	case "city":
		return p.Sets[from].City == p.Sets[to].City
	}
	return from == to
}

// Instances implements Resolver.
func (r *StaticResolver) Instances(service int) []Endpoint { return r.lists[service] }

// Close implements Resolver.
func (r *StaticResolver) Close() {}
