package mesh

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/discovery/disctest"
	"github.com/stripelab/stripelab/components/discovery/scope"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// ring is a real memberlist ring of a plan's members on 127.0.77.x.
type ring struct {
	t      *testing.T
	p      *scenarios.Plan
	gossip map[int]string
	envs   map[int]*node.Env
	meshes map[int]*Mesh
}

// freeGossip finds a port free for TCP and UDP on ip.
func freeGossip(t *testing.T, ip string) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no free gossip port")
	return ""
}

func newRing(t *testing.T, d disctest.Discovery) *ring {
	d.Detection = fmt.Sprintf("%dms", 800*slowdown)
	d.Propagation = fmt.Sprintf("%dms", 400*slowdown)
	p := d.Plan(t)
	r := &ring{t: t, p: p, gossip: map[int]string{}, envs: map[int]*node.Env{}, meshes: map[int]*Mesh{}}
	var members []int
	for i := range p.Instances {
		if p.Instances[i].Role == scenarios.RoleGateway || scope.ServiceOf(p, i) >= 0 {
			members = append(members, i)
			r.gossip[i] = freeGossip(t, fmt.Sprintf("127.0.77.%d", 10+i))
		}
	}
	if len(members) != RingSize(p) {
		t.Fatalf("ring of %d, RingSize %d", len(members), RingSize(p))
	}
	for _, i := range members {
		r.start(i)
	}
	t.Cleanup(r.closeAll)
	return r
}

// closeAll closes every sidecar at once (each leave waits for its gossip).
func (r *ring) closeAll() {
	var wg sync.WaitGroup
	for _, m := range r.meshes {
		wg.Go(m.Close)
	}
	wg.Wait()
}

func (r *ring) start(i int) {
	env := disctest.Env(r.p, i, disctest.Addrs(r.p))
	env.Config.Gossip = r.gossip[i]
	for j, g := range r.gossip {
		if j < 3 && j != i { // the first members are the seeds
			env.Config.GossipPeers = append(env.Config.GossipPeers, g)
		}
	}
	m, err := New(r.t.Context(), env)
	if err != nil {
		r.t.Fatal(err)
	}
	r.envs[i], r.meshes[i] = env, m
}

func has(eps []scope.Endpoint, inst int) bool {
	return slices.ContainsFunc(eps, func(e scope.Endpoint) bool { return e.Instance == inst })
}

func (r *ring) sees(observer, inst int) bool { return has(r.meshes[observer].Instances(0), inst) }

// waitAll waits until cond holds for every observer and returns, per
// observer, how long it took from start.
func waitAll(t *testing.T, start time.Time, limit time.Duration, observers []int, cond func(o int) bool) map[int]time.Duration {
	t.Helper()
	took := map[int]time.Duration{}
	for len(took) < len(observers) {
		for _, o := range observers {
			if _, ok := took[o]; !ok && cond(o) {
				took[o] = time.Since(start)
			}
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v only %d of %d observers: %v", limit, len(took), len(observers), took)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return took
}

// TestMeshLearnsDeath: a member killed without leaving is dropped by every
// member whose scope sees it between the suspicion timeout and
// detection+propagation+slack (Tuning.Worst plus one probe interval);
// members of another city never list it; it is seen again after it
// rejoins; a member that leaves is dropped within about a propagation.
// cityRing is a real ring of two cities of two sets, one service instance
// a set, discovery scoped to the city.
func cityRing(t *testing.T) *ring {
	if testing.Short() {
		t.Skip("real memberlist ring")
	}
	d := disctest.Default()
	d.Mode, d.Scope, d.ServiceInstances = "mesh", "city", 1
	return newRing(t, d)
}

func TestMeshLearnsDeath(t *testing.T) {
	r := cityRing(t)
	p := r.p
	svc := p.Services[0].Instances // one per set: sets 0,1 in city 0, sets 2,3 in city 1
	gw := func(set int) int {
		for i, in := range p.Instances {
			if in.Role == scenarios.RoleGateway && in.Set == set {
				return i
			}
		}
		return -1
	}
	victim := svc[0]
	same := []int{gw(0), gw(1), svc[1]} // city 0: see the victim
	other := []int{gw(2), gw(3), svc[2]}
	tu := r.meshes[victim].Tuning()
	t.Logf("ring %d: probe interval %v, suspicion %v, gossip interval %v, worst %v", tu.Ring, tu.ProbeInterval, tu.Suspicion, tu.GossipInterval, tu.Worst)

	start := time.Now()
	waitAll(t, start, 10*time.Second, append(same, other...), func(o int) bool {
		return len(r.meshes[o].Instances(0)) == 2
	})
	for _, o := range other {
		if r.sees(o, victim) {
			t.Fatalf("%d in city 1 sees %d of city 0", o, victim)
		}
	}

	killed := time.Now()
	r.meshes[victim].Kill()
	bound := tu.Worst + tu.ProbeInterval
	took := waitAll(t, killed, 2*bound, same, func(o int) bool { return !r.sees(o, victim) })
	for _, o := range same {
		t.Logf("member %d learned the death after %v (detection+propagation %v)", o, took[o], tu.Detection+tu.Propagation)
		if took[o] < tu.Suspicion || took[o] > bound {
			t.Errorf("member %d dropped the dead member after %v, want between the suspicion timeout %v and %v", o, took[o], tu.Suspicion, bound)
		}
		ev := disctest.Events(r.envs[o], node.EvMemberDown)
		if len(ev) != 1 || ev[0].Subject != victim {
			t.Errorf("member %d: member_down events %+v", o, ev)
		}
	}
	for _, o := range other {
		if len(disctest.Events(r.envs[o], node.EvMemberDown)) != 0 {
			t.Errorf("member %d of the other city emitted member_down", o)
		}
	}
	if !r.sees(gw(0), svc[1]) {
		t.Error("a live member was dropped")
	}

	back := time.Now()
	r.start(victim)
	waitAll(t, back, bound, same, func(o int) bool { return r.sees(o, victim) })
	t.Logf("rejoin seen after %v", time.Since(back))

	left := time.Now()
	r.meshes[svc[1]].Close()
	// a leave is gossiped at once: no probe, no suspicion
	took = waitAll(t, left, 2*tu.Propagation+tu.ProbeInterval, []int{gw(0), gw(1)}, func(o int) bool { return !r.sees(o, svc[1]) })
	for o, d := range took {
		t.Logf("member %d learned the leave after %v", o, d)
	}
}

func TestTune(t *testing.T) {
	a := Tune(2*time.Second, time.Second, 8)
	if a.ProbeInterval != 500*time.Millisecond || a.Suspicion != 1500*time.Millisecond || a.GossipInterval != 500*time.Millisecond {
		t.Fatalf("2s/1s over 8: %+v", a)
	}
	if a.ProbeInterval+a.Suspicion != 2*time.Second {
		t.Fatalf("probe + suspicion %v, want the detection", a.ProbeInterval+a.Suspicion)
	}
	// a bigger ring: suspicion grows with log10(n), the probe interval shrinks to keep the sum
	b := Tune(2*time.Second, time.Second, 100)
	if d := b.ProbeInterval + b.Suspicion; d < 1990*time.Millisecond || d > 2*time.Second {
		t.Fatalf("probe + suspicion over 100 members: %v", d)
	}
	if b.GossipInterval >= a.GossipInterval {
		t.Fatalf("more gossip rounds over 100 members, want a shorter interval: %v", b.GossipInterval)
	}
	if c := Tune(4*time.Second, time.Second, 8); c.ProbeInterval != 2*a.ProbeInterval {
		t.Fatalf("detection 4s: probe interval %v", c.ProbeInterval)
	}
}

func TestBadGossipAddress(t *testing.T) {
	d := disctest.Default()
	d.Mode = "mesh"
	p := d.Plan(t)
	for _, g := range []string{"", "127.0.0.1", "host:1", "127.0.0.1:0", "127.0.0.1:x"} {
		env := disctest.Env(p, 0, nil)
		env.Config.Gossip = g
		if m, err := New(context.Background(), env); err == nil {
			m.Close()
			t.Errorf("gossip %q accepted", g)
		}
	}
}

// TestMeshScopeSet: under scope set each member lists its own set's
// instances only; closing every sidecar ends its goroutines.
func TestMeshScopeSet(t *testing.T) {
	if testing.Short() {
		t.Skip("real memberlist ring")
	}
	before := runtime.NumGoroutine()
	d := disctest.Default()
	d.Mode, d.Scope = "mesh", "set"
	r := newRing(t, d)
	p := r.p
	var gws []int
	for i, in := range p.Instances {
		if in.Role == scenarios.RoleGateway {
			gws = append(gws, i)
		}
	}
	waitAll(t, time.Now(), 10*time.Second, gws, func(o int) bool { return len(r.meshes[o].Instances(0)) == 2 })
	time.Sleep(2 * r.meshes[gws[0]].Tuning().GossipInterval) // the whole ring has gossiped
	waitAll(t, time.Now(), 10*time.Second, gws, func(o int) bool { return r.meshes[o].ml.NumMembers() == RingSize(p) })
	for _, o := range gws {
		for _, e := range r.meshes[o].Instances(0) {
			if e.Set != p.Instances[o].Set {
				t.Errorf("gateway %d of set %d lists %+v", o, p.Instances[o].Set, e)
			}
		}
	}
	r.closeAll()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after closing every sidecar, %d before", n, before)
	}
}

// TestMeshDrain: a draining member is dropped by the others once gossip
// carries its metadata (within the propagation bound, no suspicion), it
// keeps its own view of the others, and it stays in the ring.
func TestMeshDrain(t *testing.T) {
	r := cityRing(t)
	p := r.p
	svc := p.Services[0].Instances // one per set: sets 0 and 1 in city 0
	var gws []int
	for i, in := range p.Instances {
		if in.Role == scenarios.RoleGateway && in.Set <= 1 {
			gws = append(gws, i)
		}
	}
	tu := r.meshes[svc[0]].Tuning()
	waitAll(t, time.Now(), 10*time.Second, append(gws, svc[1]), func(o int) bool { return r.sees(o, svc[0]) })
	drained := time.Now()
	r.meshes[svc[0]].Drain()
	bound := 2*tu.Propagation + tu.ProbeInterval
	took := waitAll(t, drained, 2*bound, append(gws, svc[1]), func(o int) bool { return !r.sees(o, svc[0]) })
	for o, d := range took {
		if d > bound {
			t.Errorf("member %d dropped the draining member after %v, want within %v (gossip, not the suspicion timeout %v)", o, d, bound, tu.Suspicion)
		}
	}
	if !r.sees(svc[0], svc[1]) {
		t.Error("the draining member lost its own view of the others")
	}
	if n := r.meshes[svc[0]].ml.NumMembers(); n != RingSize(p) {
		t.Errorf("the draining member sees %d members, want the whole ring %d", n, RingSize(p))
	}
	r.meshes[svc[0]].Drain() // twice is fine
}
