// Package disctest has the plans and environments the discovery tests
// share: two cities of two AZ sets each, one gateway and two instances of
// one service per set, and two copies of each registry.
package disctest

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// Discovery is the discovery section of a test scenario.
type Discovery struct {
	Mode, Scope, Placement     string
	Heartbeat, TTL, Refresh    string
	Detection, Propagation     string
	Replicas, ServiceInstances int
	// Proxy puts the data behind a data proxy in every set (data.mode proxy).
	Proxy bool
}

// Default is registry mode, scope set, a registry per set, heartbeat 1s,
// TTL 3s, refresh 2s (detection 800ms, propagation 400ms for mesh).
func Default() Discovery {
	return Discovery{Mode: "registry", Scope: "set", Placement: "per-set", Heartbeat: "1s", TTL: "3s", Refresh: "2s",
		Detection: "800ms", Propagation: "400ms", Replicas: 2, ServiceInstances: 2}
}

// Scenario is the YAML of a test scenario.
func (d Discovery) Scenario() string {
	fields := fmt.Sprintf("detection: %s, propagation: %s", d.Detection, d.Propagation)
	if d.Mode == "registry" {
		fields = fmt.Sprintf("placement: %s, replicas: %d, heartbeat: %s, ttl: %s, refresh: %s", d.Placement, d.Replicas, d.Heartbeat, d.TTL, d.Refresh)
	}
	data := "{mode: none}"
	if d.Proxy {
		data = "{mode: proxy, shards: 2, replicas: 2, placement: city, proxy: {instances: 1}}"
	}
	return fmt.Sprintf(`name: disc
run: {duration: 1m, warmup: 1s, seed: 1}
topology:
  cities:
    - {name: sz, azs: 2, racks: 1, machines: 2}
    - {name: sh, azs: 2, racks: 1, machines: 2}
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  discovery: {mode: %s, scope: %s, %s}
  services:
    - name: api
      instances: %d
      concurrency: 4
      service_time: 1ms
  data: %s
workload:
  rate: 10/s
  users: {count: 100}
`, d.Mode, d.Scope, fields, d.ServiceInstances, data)
}

// Plan parses and expands the scenario.
func (d Discovery) Plan(t testing.TB) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.Parse("disc.yaml", []byte(d.Scenario()))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// Env is instance inst's environment; peers maps instances to the
// addresses it dials.
func Env(p *scenarios.Plan, inst int, peers map[int]string) *node.Env {
	cfg := &node.Config{Role: p.Instances[inst].Role.String(), Instance: inst, Run: "test", Secret: "s"}
	for i := range p.Instances {
		if a, ok := peers[i]; ok {
			cfg.Peers = append(cfg.Peers, node.Peer{Instance: i, Addr: a})
		}
	}
	return &node.Env{Config: cfg, Plan: p, Clock: node.RealClock{}, Server: node.NewServer(cfg, slog.New(slog.DiscardHandler), nil, nil), Log: slog.New(slog.DiscardHandler)}
}

// Addrs gives every instance of p a made-up address "iN:7000" (for an
// in-memory transport).
func Addrs(p *scenarios.Plan) map[int]string {
	m := map[int]string{}
	for i := range p.Instances {
		m[i] = fmt.Sprintf("i%d:7000", i)
	}
	return m
}

// Events returns the events of kind in env's log.
func Events(env *node.Env, kind string) []node.Event {
	var out []node.Event
	for _, e := range env.Server.Events.After(0) {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}
