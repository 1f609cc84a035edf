// Package node is what every real component shares: the config a runner
// writes for one instance, the scenario it carries, the HTTP server with
// /healthz, /metrics and the admin endpoints, and the structured events a
// runner collects.
package node

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/stripelab/stripelab/scenarios"
)

// Roles a node can run. "machine" is the supervisor of one container.
var Roles = []string{"gateway", "registry", "service", "proxy", "shard", "machine"}

// Config is one instance's configuration, written by a runner as JSON.
type Config struct {
	// Role is gateway, registry, service, proxy, shard or machine.
	Role string `json:"role"`
	// Run names the run (the marker a cleanup looks for).
	Run string `json:"run"`
	// Scenario is the scenario's YAML text; the node parses it and builds
	// the same Plan the runner built, so every field reaches it.
	Scenario string `json:"scenario"`
	// Instance is this instance's index in Plan.Instances.
	Instance int `json:"instance"`
	// Listen is host:port to serve on.
	Listen string `json:"listen"`
	// Peers tells how this instance reaches other instances: through the
	// network proxy of its machine towards that instance.
	Peers []Peer `json:"peers"`
	// Secret is the run's secret: the gateway's signature key and the
	// admin token.
	Secret string `json:"secret"`
	// Seed seeds the instance's random draws (service times, picks).
	Seed uint64 `json:"seed"`
	// DataDir is where a shard keeps its storage engine's files.
	DataDir string `json:"data_dir,omitempty"`
	// Gossip is the host:port a mesh sidecar binds (memberlist), and
	// GossipPeers are the seeds it joins (reached through the network).
	Gossip      string   `json:"gossip,omitempty"`
	GossipPeers []string `json:"gossip_peers,omitempty"`
	// Children are the configs a machine supervisor starts.
	Children []Config `json:"children,omitempty"`
}

// Peer is the address to dial to reach one instance from this one.
type Peer struct {
	Instance int    `json:"instance"`
	Addr     string `json:"addr"`
}

// Load reads a config file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &c, nil
}

// Plan parses the scenario the config carries and checks that the
// instance exists and runs the config's role.
func (c *Config) Plan() (*scenarios.Plan, error) {
	f, err := scenarios.Parse("scenario.yaml", []byte(c.Scenario))
	if err != nil {
		return nil, fmt.Errorf("config scenario: %v", err)
	}
	p := scenarios.NewPlan(f)
	if c.Role != "machine" {
		if c.Instance < 0 || c.Instance >= len(p.Instances) {
			return nil, fmt.Errorf("config instance %d: the plan has %d instances", c.Instance, len(p.Instances))
		}
		if got := p.Instances[c.Instance].Role.String(); got != c.Role {
			return nil, fmt.Errorf("config instance %d runs %s, not %s", c.Instance, got, c.Role)
		}
	}
	return p, nil
}

// PeerAddrs maps instance index to the address to dial.
func (c *Config) PeerAddrs() map[int]string {
	m := make(map[int]string, len(c.Peers))
	for _, p := range c.Peers {
		m[p.Instance] = p.Addr
	}
	return m
}
