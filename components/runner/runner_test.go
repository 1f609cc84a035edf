package runner

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/checker"
	"github.com/stripelab/stripelab/components/network"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

const testScenario = `
name: runner-test
run: {duration: 10s, warmup: 1s}
topology:
  cities:
    - {name: shenzhen, azs: 2, racks: 1, machines: 3}
striping: {granularity: az}
stack:
  gateway: {instances: 1}
  discovery: {mode: registry, placement: per-set, replicas: 1, heartbeat: 300ms, ttl: 1s, refresh: 300ms}
  services:
    - name: order
      instances: 2
      calls:
        - {service: account}
        - {data: request}
    - name: account
      instances: 2
  data: {mode: proxy, shards: 2, replicas: 2, placement: az, proxy: {instances: 1}}
faults:
  - {name: gw, at: 2s, for: 3s, kind: gateway-down, target: az=shenzhen/a}
  - {name: mach, at: 3s, for: 4s, kind: machine-down, target: machine=shenzhen/a/r1/m1}
  - {name: slow, at: 4s, for: 2s, kind: slow-machine, target: machine=shenzhen/b/r1/m1, factor: 3}
`

func testPlan(t *testing.T, text string) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.Parse("runner-test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// fakeHost records what the runner asks of it, at the bubble's time.
type fakeHost struct {
	p     *scenarios.Plan
	t0    time.Time
	mu    sync.Mutex
	alive map[int]bool
	log   []string
	// onKill, when set, is told of every instance killed
	onKill func(i int)
}

func (h *fakeHost) note(format string, a ...any) {
	h.mu.Lock()
	h.log = append(h.log, fmt.Sprintf("%s ", time.Since(h.t0).Truncate(time.Millisecond))+fmt.Sprintf(format, a...))
	h.mu.Unlock()
}
func (h *fakeHost) Name() string                        { return "fake" }
func (h *fakeHost) Prepare(context.Context, *Run) error { return nil }
func (h *fakeHost) MachineAddr(m int) string            { return fmt.Sprintf("m%d", m) }
func (h *fakeHost) Listen(i int) string                 { return fmt.Sprintf("i%d", i) }
func (h *fakeHost) InstanceAddr(i int) string           { return fmt.Sprintf("i%d", i) }
func (h *fakeHost) LinkListen(m, i int) string          { return fmt.Sprintf("m%d-i%d", m, i) }
func (h *fakeHost) LinkDial(m, i int) string            { return fmt.Sprintf("m%d-i%d", m, i) }
func (h *fakeHost) UserListen(c, i int) string          { return fmt.Sprintf("c%d-i%d", c, i) }
func (h *fakeHost) GossipAddr(i int) string             { return fmt.Sprintf("g%d", i) }
func (h *fakeHost) DataDir(i int) string                { return fmt.Sprintf("d%d", i) }
func (h *fakeHost) Cleanup() error                      { return nil }
func (h *fakeHost) Start(_ context.Context, c *node.Config) error {
	h.set(c.Instance, true)
	h.note("start %d", c.Instance)
	return nil
}
func (h *fakeHost) Kill(i int) error {
	h.set(i, false)
	if h.onKill != nil {
		h.onKill(i)
	}
	h.note("kill %d", i)
	return nil
}
func (h *fakeHost) StartMachine(_ context.Context, m int, cfgs []*node.Config) error {
	for _, c := range cfgs {
		h.set(c.Instance, true)
	}
	h.note("start machine %d (%d instances)", m, len(cfgs))
	return nil
}
func (h *fakeHost) KillMachine(m int) error {
	for i, in := range h.p.Instances {
		if in.Machine == m {
			h.set(i, false)
		}
	}
	h.note("kill machine %d", m)
	return nil
}
func (h *fakeHost) Alive(i int) bool { h.mu.Lock(); defer h.mu.Unlock(); return h.alive[i] }
func (h *fakeHost) set(i int, up bool) {
	h.mu.Lock()
	h.alive[i] = up
	h.mu.Unlock()
}

func TestStartOrder(t *testing.T) {
	p := testPlan(t, testScenario)
	groups := StartOrder(p)
	var roles []string
	for _, g := range groups {
		in := p.Instances[g[0]]
		name := in.Role.String()
		if in.Role == scenarios.RoleService {
			name = p.Services[in.Service].Name
		}
		for _, i := range g {
			if p.Instances[i].Role != in.Role || (in.Role == scenarios.RoleService && p.Instances[i].Service != in.Service) {
				t.Errorf("group of %s holds instance %d (%s)", name, i, p.Instances[i].Role)
			}
		}
		roles = append(roles, name)
	}
	want := []string{"registry", "shard", "proxy", "account", "order", "gateway"}
	if fmt.Sprint(roles) != fmt.Sprint(want) {
		t.Errorf("start order %v, want %v", roles, want)
	}
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	if n != len(p.Instances) {
		t.Errorf("%d instances in the groups, the plan has %d", n, len(p.Instances))
	}
}

func TestConfigs(t *testing.T) {
	p := testPlan(t, testScenario)
	h := &fakeHost{p: p}
	run := &Run{ID: "r1", Plan: p, Secret: "sec", Seed: 7}
	cfgs := Configs(run, h)
	seeds := map[uint64]bool{}
	for i, c := range cfgs {
		in := p.Instances[i]
		if c.Role != in.Role.String() || c.Instance != i || c.Listen != h.Listen(i) || c.Secret != "sec" || c.Run != "r1" || c.Scenario != string(p.File.Text) {
			t.Errorf("config %d: %+v", i, c)
		}
		if (c.DataDir != "") != (in.Role == scenarios.RoleShard) {
			t.Errorf("instance %d (%s): data dir %q", i, in.Role, c.DataDir)
		}
		if seeds[c.Seed] {
			t.Errorf("instance %d: seed %d already used", i, c.Seed)
		}
		seeds[c.Seed] = true
		for _, pr := range c.Peers {
			if pr.Addr != h.LinkDial(in.Machine, pr.Instance) {
				t.Errorf("instance %d reaches %d at %s, not through its machine's link", i, pr.Instance, pr.Addr)
			}
		}
	}
	// every order instance reaches every account instance and proxy it may call
	order := p.Services[0].Instances[0]
	peers := cfgs[order].PeerAddrs()
	for _, a := range p.Services[1].Instances {
		if p.Instances[a].Set == p.Instances[order].Set {
			if _, ok := peers[a]; !ok {
				t.Errorf("order %d has no peer for account %d of its set", order, a)
			}
		}
	}
	if c := Configs(&Run{ID: "r2", Plan: p, Seed: 8}, h); c[0].Seed == cfgs[0].Seed {
		t.Errorf("the seed does not follow the run's")
	}
	mp := testPlan(t, `
name: m
topology: {cities: [{name: a, azs: 1, racks: 1, machines: 2}]}
stack: {discovery: {mode: mesh}, services: [{name: s, instances: 2}], data: {mode: none}}
`)
	mc := Configs(&Run{ID: "m", Plan: mp}, &fakeHost{p: mp})
	for i, c := range mc {
		if c.Gossip != fmt.Sprintf("g%d", i) || len(c.GossipPeers) == 0 {
			t.Errorf("mesh instance %d: gossip %q, seeds %v", i, c.Gossip, c.GossipPeers)
		}
	}
}

// TestTimeline injects and reverts every fault at its time (in a
// synctest bubble, so 10s pass at once), restarts instances only when no
// fault holds them, and verifies every revert.
func TestTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := testPlan(t, testScenario)
		h := &fakeHost{p: p, t0: time.Now(), alive: map[int]bool{}}
		for i := range p.Instances {
			h.alive[i] = true
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := testRunner(p, h)
		r.net, r.load = network.NewServer(ctx, 1), nopLoad{}
		var slowCalls []string
		r.health = func(_ context.Context, i int) error {
			if !h.Alive(i) {
				return fmt.Errorf("instance %d down", i)
			}
			return nil
		}
		r.adminHook = func(i int, path string) error {
			slowCalls = append(slowCalls, fmt.Sprintf("%d %s", i, path))
			return nil
		}
		r.timeline(ctx)
		r.revertAll()
		// gateway 0 is on shenzhen/a/r1/m1 (machine 0): the gateway fault
		// kills it at 2s; the machine fault at 3s kills the machine; the
		// gateway's revert at 5s leaves it down (its machine is down); the
		// machine's revert at 7s starts it with the machine.
		on0 := 0
		for _, in := range p.Instances {
			if in.Machine == 0 {
				on0++
			}
		}
		if p.Instances[0].Role != scenarios.RoleGateway || p.Instances[0].Machine != 0 {
			t.Fatalf("instance 0 is %s on machine %d, want the gateway of machine 0", p.Instances[0].Role, p.Instances[0].Machine)
		}
		want := []string{
			"2s kill 0",
			"3s kill machine 0",
			fmt.Sprintf("7s start machine 0 (%d instances)", on0),
		}
		if fmt.Sprint(h.log) != fmt.Sprint(want) {
			t.Errorf("host calls\n%v\nwant\n%v", h.log, want)
		}
		for _, e := range r.ledger.Entries() {
			if e.Action == "revert" && !e.Verified {
				t.Errorf("revert of %s at %s not verified: %s", e.Name, e.At, e.Err)
			}
		}
		if n, v := r.ledger.Reverts(); n != 3 || v != 3 {
			t.Errorf("%d reverts, %d verified; want 3 and 3", n, v)
		}
		if len(slowCalls) == 0 || slowCalls[len(slowCalls)-1][len(slowCalls[len(slowCalls)-1])-8:] != "factor=1" {
			t.Errorf("slow-machine admin calls %v: want factor=3 then factor=1", slowCalls)
		}
		cancel()
		r.net.Close()
	})
}

// testRunner is a runner of p on h, started now, with its configs.
func testRunner(p *scenarios.Plan, h Host) *runner {
	r := newRunner(p, Options{Host: h, HealthTimeout: time.Second}, &Run{ID: "t", Plan: p, Seed: 1})
	r.t0 = time.Now()
	r.cfgs = Configs(r.run, h)
	return r
}

// nopLoad sends nothing.
type nopLoad struct{}

func (nopLoad) Scale(int, float64)      {}
func (nopLoad) SetMember(int, bool)     {}
func (nopLoad) Done() <-chan struct{}   { c := make(chan struct{}); close(c); return c }
func (nopLoad) Writes() []checker.Write { return nil }
func (nopLoad) Finish(*runner)          {}
func (nopLoad) Close()                  {}

// TestMilestones maps component events to the faults they are about: an
// expiry of a killed instance detects the fault, a refresh that removes it
// re-routes, one that adds it does not, and events about other instances
// or outside the fault count for nothing.
func TestMilestones(t *testing.T) {
	p := testPlan(t, testScenario)
	t0 := time.Unix(1000, 0)
	r := &runner{plan: p, t0: t0, fstate: make([]faultState, len(p.Faults)),
		rec: NewRec(reports.NewRecorder(p, 1, "fake", int64(time.Second)))}
	r.fstate[0].killed = map[int]bool{0: true}
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	r.milestone(node.Event{Time: at(2500 * time.Millisecond), Instance: 5, Kind: node.EvRefreshed, Subject: 0, Detail: "added"})
	r.milestone(node.Event{Time: at(2600 * time.Millisecond), Instance: 9, Kind: node.EvExpired, Subject: 3})
	r.milestone(node.Event{Time: at(2700 * time.Millisecond), Instance: 9, Kind: node.EvExpired, Subject: 0})
	r.milestone(node.Event{Time: at(3 * time.Second), Instance: 5, Kind: node.EvRefreshed, Subject: 0, Detail: "removed"})
	r.milestone(node.Event{Time: at(9 * time.Second), Instance: 5, Kind: node.EvExpired, Subject: 0})
	res := r.rec.Finish(int64(10*time.Second), false)
	f := res.Faults[0]
	if f.Detected != int64(2700*time.Millisecond) || f.Rerouted != int64(3*time.Second) {
		t.Errorf("detected %s, re-routed %s; want 2.7s and 3s", time.Duration(f.Detected), time.Duration(f.Rerouted))
	}
	if g := res.Faults[1]; g.Detected >= 0 || g.Rerouted >= 0 {
		t.Errorf("fault 1 got milestones from events about fault 0's instance: %+v", g)
	}
}
