// Package discovery is how a caller (gateway, service, data proxy) finds
// the live instances of a service: New picks the registry client or the
// mesh sidecar from stack.discovery.mode, and both answer the same
// Resolver from a cache that lookups read without blocking.
//
// Registry mode: a service or data proxy instance registers with every
// copy of its set's registry and renews its lease every
// discovery.heartbeat; the cache re-reads, every discovery.refresh, each
// registry whose sets the scope covers, from any copy that answers, and
// keeps a registry's last list while none of its copies answers (a
// registry outage freezes caches). Mesh mode: package mesh, a memberlist
// ring whose failure detector is tuned from discovery.detection and
// discovery.propagation.
//
// Both filter by discovery.scope (package scope): a caller sees its set,
// its city, or everything. Instances(ProxyService) lists the data proxies.
package discovery

import (
	"context"
	"fmt"

	"github.com/stripelab/stripelab/components/discovery/scope"
	"github.com/stripelab/stripelab/components/mesh"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// Endpoint is one live instance; Addr is what the caller dials for it
// (its Peer address, through the network link).
type Endpoint = scope.Endpoint

// Resolver is a caller's view of the live instances.
type Resolver interface {
	// Instances is the cached live list of service (a service index, or
	// ProxyService for the data proxies) in the scope discovery.scope
	// allows, sorted by (set, instance). It never blocks; the slice is
	// shared: do not modify it.
	Instances(service int) []Endpoint
	// Close stops the resolver (registry mode: deregisters the instance;
	// mesh: leaves the ring). It is safe to call more than once.
	Close()
}

// Drainer is a Resolver that can take its own instance out of discovery
// while it keeps resolving (a scale-down's drain): both modes' resolvers
// are.
type Drainer interface {
	Drain()
}

// New starts env's instance's resolver, in the mode of
// stack.discovery.mode. Its background work ends when ctx ends or at Close.
func New(ctx context.Context, env *node.Env) (Resolver, error) {
	if env.Clock == nil {
		env.Clock = node.RealClock{}
	}
	switch m := env.Plan.Scenario.Stack.Discovery.Mode; m {
	case "mesh":
		return mesh.New(ctx, env)
	case "registry", "":
		return newRegistryClient(ctx, env, nil)
	default:
		return nil, fmt.Errorf("discovery.mode %q: want registry or mesh", m)
	}
}

// ProxyService is the service index of the data proxies.
func ProxyService(p *scenarios.Plan) int { return scope.ProxyService(p) }

// Candidates narrows a list from Instances to where a caller in set picks:
// its own set first, then its city, then anywhere, as the scope allows
// (the simulator's rule).
func Candidates(p *scenarios.Plan, set int, eps []Endpoint) []Endpoint {
	return scope.Candidates(p, scope.Of(p), set, eps)
}
