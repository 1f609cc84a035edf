package runner

import (
	"sort"

	"github.com/stripelab/stripelab/components/network"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// Configs writes one config per instance: peers through the links of its
// machine, the run's secret, a seed derived from the run's, a data folder
// for shards, gossip addresses in mesh mode.
func Configs(run *Run, h Host) []*node.Config {
	p := run.Plan
	peers := make([][]int, len(p.Machines)) // per machine, the instances its links reach
	for _, pr := range network.PlanLinks(p) {
		if !pr.User() {
			peers[pr.From] = append(peers[pr.From], pr.To)
		}
	}
	mesh := p.Scenario.Stack.Discovery.Mode == "mesh"
	var members []int // mesh members: every gateway, service and proxy instance
	if mesh {
		for i, in := range p.Instances {
			if in.Role == scenarios.RoleGateway || in.Role == scenarios.RoleService || in.Role == scenarios.RoleProxy {
				members = append(members, i)
			}
		}
	}
	text := string(p.File.Text)
	out := make([]*node.Config, len(p.Instances))
	for i, in := range p.Instances {
		c := &node.Config{
			Role: in.Role.String(), Run: run.ID, Scenario: text, Instance: i,
			Listen: h.Listen(i), Secret: run.Secret, Seed: InstanceSeed(run.Seed, i),
		}
		for _, j := range peers[in.Machine] {
			if j == i {
				continue
			}
			c.Peers = append(c.Peers, node.Peer{Instance: j, Addr: h.LinkDial(in.Machine, j)})
		}
		if in.Role == scenarios.RoleShard {
			c.DataDir = h.DataDir(i)
		}
		if mesh && isMember(members, i) {
			c.Gossip = h.GossipAddr(i)
			// seeds: the first three members other than itself
			for _, j := range members {
				if j != i && len(c.GossipPeers) < 3 {
					c.GossipPeers = append(c.GossipPeers, h.GossipAddr(j))
				}
			}
		}
		out[i] = c
	}
	return out
}

func isMember(sorted []int, x int) bool {
	k := sort.SearchInts(sorted, x)
	return k < len(sorted) && sorted[k] == x
}

// InstanceSeed derives instance i's seed from the run's.
func InstanceSeed(seed uint64, i int) uint64 {
	return scenarios.Mix64(seed*0x9e3779b97f4a7c15 + uint64(i) + 1)
}

// StartOrder groups the instances in the order they start, each group
// healthy before the next: registries, shards, proxies, services with
// callees first, gateways.
func StartOrder(p *scenarios.Plan) [][]int {
	var groups [][]int
	byRole := func(r scenarios.Role) []int {
		var g []int
		for i, in := range p.Instances {
			if in.Role == r {
				g = append(g, i)
			}
		}
		return g
	}
	for _, r := range []scenarios.Role{scenarios.RoleRegistry, scenarios.RoleShard, scenarios.RoleProxy} {
		if g := byRole(r); len(g) > 0 {
			groups = append(groups, g)
		}
	}
	// services: depth = longest chain of calls below; deepest callees first
	depth := make([]int, len(p.Services))
	var visit func(s int, seen map[int]bool) int
	visit = func(s int, seen map[int]bool) int {
		if seen[s] {
			return 0 // a cycle (validation refuses them); do not loop
		}
		seen[s] = true
		d := 0
		for _, c := range p.Services[s].Calls {
			if c.Kind == scenarios.CallService {
				d = max(d, 1+visit(c.Service, seen))
			}
		}
		delete(seen, s)
		return d
	}
	maxD := 0
	for s := range p.Services {
		depth[s] = visit(s, map[int]bool{})
		maxD = max(maxD, depth[s])
	}
	for d := 0; d <= maxD; d++ {
		var g []int
		for s, sv := range p.Services {
			if depth[s] == d {
				g = append(g, sv.Instances...)
			}
		}
		if len(g) > 0 {
			sort.Ints(g)
			groups = append(groups, g)
		}
	}
	if g := byRole(scenarios.RoleGateway); len(g) > 0 {
		groups = append(groups, g)
	}
	return groups
}
