package datapath

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// TestMovedSwitchesShard: a moved user's key is sent to its old shard
// until POST /admin/moved says the change's copy ended, then to the new
// one; a user that does not move keeps its shard; a bad change is a 400
// naming the parameter.
func TestMovedSwitchesShard(t *testing.T) {
	text := `name: moves
run: {duration: 20s, seed: 1}
topology:
  cities: [{name: a, azs: 3, racks: 1, machines: 1}]
striping: {granularity: az, reserve: [a/c]}
stack:
  gateway: {instances: 1}
  services: [{name: api, instances: 1, calls: [{data: request}]}]
  data: {mode: sharded, replicas: 1}
workload: {users: {count: 300}}
scaling:
  startup: 1s
  sets: [{at: 2s, add: a/c}]
`
	var svc int
	f, err := scenarios.Parse("moves.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	p := scenarios.NewPlan(f)
	for i, in := range p.Instances {
		if in.Role == scenarios.RoleService {
			svc = i
		}
	}
	cfg := &node.Config{Role: "service", Run: "t", Scenario: text, Instance: svc, Secret: "s", Seed: 1}
	env := &node.Env{Config: cfg, Plan: p, Server: node.NewServer(cfg, nil, nil, nil), Clock: node.RealClock{}}
	wc := wire.NewClient(1)
	defer wc.Close()
	c := New(env, wc)
	m := p.KeyMoves()[0]
	if len(m.Users) == 0 {
		t.Fatal("no user moves")
	}
	moved := m.Users[0]
	stays := -1
	for u := range 300 {
		if m.From(p, u) == m.To(p, u) {
			stays = u
			break
		}
	}
	if got := c.shardOf(0, moved); got != m.From(p, moved) {
		t.Fatalf("before the copy ended user %d goes to shard %d, want its old shard %d", moved, got, m.From(p, moved))
	}
	post := func(q string) int {
		r := httptest.NewRequest(http.MethodPost, "/admin/moved?change="+q, nil)
		r.Header.Set("Authorization", "Bearer s")
		w := httptest.NewRecorder()
		env.Server.Mux.ServeHTTP(w, r)
		return w.Code
	}
	if code := post("7"); code != http.StatusBadRequest {
		t.Errorf("change 7 (no such move): status %d, want 400", code)
	}
	if code := post("0"); code != http.StatusOK {
		t.Fatalf("change 0: status %d", code)
	}
	if got := c.shardOf(0, moved); got != m.To(p, moved) || got == m.From(p, moved) {
		t.Errorf("after the copy ended user %d goes to shard %d, want the new shard %d", moved, got, m.To(p, moved))
	}
	if got := c.shardOf(0, stays); got != p.ShardOf(0, stays) {
		t.Errorf("user %d does not move but goes to shard %d, want %d", stays, got, p.ShardOf(0, stays))
	}
}
