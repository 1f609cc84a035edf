// Package scope is what discovery finds and who sees it, shared by the
// registry, the mesh sidecar and the discovery client: the instances found
// through discovery (services and data proxies), the scope a caller's
// lookups see (discovery.scope: its set, its city, or everything) and the
// narrowing a pick applies (own set first, then the city, then anywhere),
// exactly as the simulator's discovery model (sim/discovery.go).
package scope

import (
	"sort"

	"github.com/stripelab/stripelab/scenarios"
)

// Endpoint is one live instance as a caller finds it. Addr is what the
// caller dials for it: its Peer address (through the network link).
type Endpoint struct {
	Instance, Set int
	Addr          string
}

// Kind is a discovery scope.
type Kind uint8

// Scopes.
const (
	Set    Kind = iota // a caller sees its own set only
	City               // its set first, then its city
	Global             // its set, its city, then everything
)

// Parse reads discovery.scope ("set", "city", "global"); anything else is Set.
func Parse(s string) Kind {
	switch s {
	case "city":
		return City
	case "global":
		return Global
	}
	return Set
}

func (k Kind) String() string {
	return [...]string{"set", "city", "global"}[k]
}

// Of is the scope a plan's scenario asks for.
func Of(p *scenarios.Plan) Kind { return Parse(p.Scenario.Stack.Discovery.Scope) }

// ProxyService is the service index under which data proxies are found:
// one past the last logic service, as in the simulator.
func ProxyService(p *scenarios.Plan) int { return len(p.Services) }

// ServiceOf is the discovery service of instance i: its service index for
// a service instance, ProxyService for a data proxy, -1 for the roles
// nobody finds through discovery (gateway, shard, registry).
func ServiceOf(p *scenarios.Plan, i int) int {
	if i < 0 || i >= len(p.Instances) {
		return -1
	}
	switch in := p.Instances[i]; in.Role {
	case scenarios.RoleService:
		return in.Service
	case scenarios.RoleProxy:
		return ProxyService(p)
	}
	return -1
}

// Sees reports whether a caller in set callerSet finds members of set
// memberSet under scope k.
func Sees(p *scenarios.Plan, k Kind, callerSet, memberSet int) bool {
	switch k {
	case Global:
		return true
	case City:
		return p.Sets[callerSet].City == p.Sets[memberSet].City
	}
	return callerSet == memberSet
}

// Members lists every instance a caller in callerSet may find under scope
// k, sorted by (service, set, instance).
func Members(p *scenarios.Plan, k Kind, callerSet int) []int {
	var out []int
	for i, in := range p.Instances {
		if ServiceOf(p, i) >= 0 && Sees(p, k, callerSet, in.Set) {
			out = append(out, i)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return ServiceOf(p, out[a]) < ServiceOf(p, out[b]) })
	return out
}

// Sort orders endpoints by (set, instance), the order Instances returns.
func Sort(eps []Endpoint) {
	sort.Slice(eps, func(a, b int) bool {
		if eps[a].Set != eps[b].Set {
			return eps[a].Set < eps[b].Set
		}
		return eps[a].Instance < eps[b].Instance
	})
}

// Candidates narrows a scoped list to where a caller in set picks, as the
// simulator does: its own set when that has any; else, under city or
// global scope, the other sets of its city; else, under global scope,
// everything. It returns nil when nothing qualifies.
func Candidates(p *scenarios.Plan, k Kind, set int, eps []Endpoint) []Endpoint {
	var own, city []Endpoint
	for _, e := range eps {
		switch {
		case e.Set == set:
			own = append(own, e)
		case k != Set && p.Sets[e.Set].City == p.Sets[set].City:
			city = append(city, e)
		}
	}
	switch {
	case len(own) > 0:
		return own
	case k == Set:
		return nil
	case len(city) > 0:
		return city
	case k == Global:
		return eps
	}
	return nil
}
