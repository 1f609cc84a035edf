package discovery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/discovery/disctest"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/registry"
	"github.com/stripelab/stripelab/scenarios"
)

// memNet is an in-memory network of registry copies: a request to a
// copy's address runs its handler; a copy that is down refuses.
type memNet struct {
	mu    sync.Mutex
	hosts map[string]http.Handler
	holes map[string]bool // blackholed: a request hangs until its deadline
	list  map[string]int  // list requests by caller
}

func (n *memNet) lists(caller int) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.list[strconv.Itoa(caller)]
}

func (n *memNet) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	if n.holes[r.URL.Host] {
		n.mu.Unlock()
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	h, ok := n.hosts[r.URL.Host]
	if ok && r.URL.Path == registry.PathList {
		n.list[r.URL.Query().Get("caller")]++
	}
	n.mu.Unlock()
	if !ok {
		return nil, syscall.ECONNREFUSED
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result(), nil
}

func (n *memNet) set(addr string, h http.Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h == nil {
		delete(n.hosts, addr)
	} else {
		n.hosts[addr] = h
	}
}

// stack is a plan with its registry copies on a memNet.
type stack struct {
	t     *testing.T
	p     *scenarios.Plan
	addrs map[int]string
	net   *memNet
	hc    *http.Client
	stops map[int]context.CancelFunc
	envs  map[int]*node.Env
}

func newStack(t *testing.T, d disctest.Discovery) *stack {
	p := d.Plan(t)
	n := &memNet{hosts: map[string]http.Handler{}, list: map[string]int{}, holes: map[string]bool{}}
	s := &stack{t: t, p: p, addrs: disctest.Addrs(p), net: n, hc: &http.Client{Transport: n}, stops: map[int]context.CancelFunc{}, envs: map[int]*node.Env{}}
	for _, r := range p.Registries {
		for _, in := range r.Instances {
			s.startCopy(in)
		}
	}
	return s
}

// startCopy starts (or restarts, empty) registry copy inst.
func (s *stack) startCopy(inst int) {
	if stop := s.stops[inst]; stop != nil {
		stop()
	}
	ctx, cancel := context.WithCancel(s.t.Context())
	s.stops[inst] = cancel
	s.envs[inst] = disctest.Env(s.p, inst, s.addrs)
	srv, err := registry.New(s.envs[inst], s.hc)
	if err != nil {
		s.t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Handle(mux)
	go srv.Run(ctx)
	s.net.set(s.addrs[inst], mux)
}

// killCopy stops copy inst: it refuses connections.
func (s *stack) killCopy(inst int) {
	s.stops[inst]()
	s.net.set(s.addrs[inst], nil)
}

// client starts instance inst's resolver; kill stops it as a SIGKILL
// would (no deregistration).
func (s *stack) client(inst int) (c *registryClient, env *node.Env, kill func()) {
	ctx, cancel := context.WithCancel(s.t.Context())
	env = disctest.Env(s.p, inst, s.addrs)
	c, err := newRegistryClient(ctx, env, s.hc)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(c.Close)
	return c, env, func() { cancel(); c.wg.Wait() }
}

func ids(eps []Endpoint) []int {
	var out []int
	for _, e := range eps {
		out = append(out, e.Instance)
	}
	return out
}

func has(eps []Endpoint, inst int) bool {
	for _, e := range eps {
		if e.Instance == inst {
			return true
		}
	}
	return false
}

// waitUntil advances the bubble's time in steps of 1ms until cond holds
// or limit passes, and returns how long it took.
func waitUntil(t *testing.T, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("not within %v", limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

func TestFrozenCacheKeepsDeadInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := disctest.Default()
		s := newStack(t, d)
		disc := &s.p.Scenario.Stack.Discovery
		ttl, refresh, hb := time.Duration(disc.TTL), time.Duration(disc.Refresh), time.Duration(disc.Heartbeat)
		a, b := s.p.Services[0].Instances[0], s.p.Services[0].Instances[1] // set 0
		s.client(a)
		_, _, killB := s.client(b)
		gw, gwEnv, _ := s.client(0)
		waitUntil(t, 2*hb+refresh, func() bool { return len(gw.Instances(0)) == 2 })
		// the registry of set 0 goes down, then b dies
		for _, in := range s.p.Registries[0].Instances {
			s.killCopy(in)
		}
		killB()
		time.Sleep(ttl + 5*refresh)
		if got := gw.Instances(0); !has(got, b) || !has(got, a) {
			t.Fatalf("with every registry copy down the cache changed: %v, want it frozen with %d and %d", ids(got), a, b)
		}
		if ev := disctest.Events(gwEnv, node.EvRefreshed); len(ev) != 2 {
			t.Fatalf("refreshed events %+v, want the two additions only", ev)
		}
		// the registry comes back empty; after its warm-up only a is listed
		back := time.Now()
		for _, in := range s.p.Registries[0].Instances {
			s.startCopy(in)
		}
		took := waitUntil(t, registry.WarmUp(hb)+refresh+time.Second, func() bool { return !has(gw.Instances(0), b) })
		if took < registry.WarmUp(hb) {
			t.Fatalf("b dropped %v after the registry came back, before its warm-up %v", took, registry.WarmUp(hb))
		}
		if !has(gw.Instances(0), a) {
			t.Fatalf("a was dropped too: %v", ids(gw.Instances(0)))
		}
		ev := disctest.Events(gwEnv, node.EvRefreshed)
		if last := ev[len(ev)-1]; last.Subject != b || last.Detail != "removed" || time.Unix(0, last.Time).Before(back) {
			t.Fatalf("last refreshed event %+v, want b removed after the registry's return", last)
		}
	})
}

func TestOneCopyAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack(t, disctest.Default())
		disc := &s.p.Scenario.Stack.Discovery
		ttl, refresh, hb := time.Duration(disc.TTL), time.Duration(disc.Refresh), time.Duration(disc.Heartbeat)
		a, b := s.p.Services[0].Instances[0], s.p.Services[0].Instances[1]
		s.client(a)
		_, _, killB := s.client(b)
		gw, _, _ := s.client(0)
		waitUntil(t, 2*hb+refresh, func() bool { return len(gw.Instances(0)) == 2 })
		s.killCopy(s.p.Registries[0].Instances[0]) // one copy of two: the other answers alone
		killB()
		took := waitUntil(t, ttl+2*refresh, func() bool { return !has(gw.Instances(0), b) })
		// b's last heartbeat was at most one heartbeat before it died;
		// the cache sees the expiry at its next refresh
		if took < ttl-hb || took > ttl+refresh+time.Second {
			t.Fatalf("b dropped %v after it died, want between TTL-heartbeat %v and TTL+refresh %v", took, ttl-hb, ttl+refresh)
		}
	})
}

func TestRefreshPicksUpChanges(t *testing.T) {
	for _, refresh := range []string{"2s", "4s"} {
		synctest.Test(t, func(t *testing.T) {
			d := disctest.Default()
			d.Refresh = refresh
			s := newStack(t, d)
			disc := &s.p.Scenario.Stack.Discovery
			every, hb, ttl := time.Duration(disc.Refresh), time.Duration(disc.Heartbeat), time.Duration(disc.TTL)
			a, b := s.p.Services[0].Instances[0], s.p.Services[0].Instances[1]
			s.client(a)
			gw, gwEnv, _ := s.client(0)
			// warm start: while an instance of its scope is unseen the
			// cache polls every refresh/20, so b is seen at once
			waitUntil(t, 2*hb, func() bool { return has(gw.Instances(0), a) })
			time.Sleep(every / 2)
			_, _, killB := s.client(b)
			if took := waitUntil(t, every, func() bool { return has(gw.Instances(0), b) }); took > every/20+time.Millisecond {
				t.Fatalf("warm start: b seen %v after registering, want within refresh/20 %v", took, every/20)
			}
			// complete: the cache re-reads every refresh
			n0 := s.net.lists(0)
			time.Sleep(10 * every)
			if n := s.net.lists(0) - n0; n < 9 || n > 11 {
				t.Fatalf("refresh %v: %d lists in 10 refresh periods", every, n)
			}
			// b dies: dropped at the first refresh after its lease expired
			killB()
			regEnv := s.envs[s.p.Registries[0].Instances[0]]
			waitUntil(t, ttl+2*every, func() bool { return !has(gw.Instances(0), b) })
			dropped := time.Now()
			exp := disctest.Events(regEnv, node.EvExpired)
			if len(exp) != 1 || exp[0].Subject != b {
				t.Fatalf("registry expired %+v, want b", exp)
			}
			if gap := dropped.Sub(time.Unix(0, exp[0].Time)); gap <= 0 || gap > every {
				t.Fatalf("b dropped %v after the registry expired it, want within one refresh %v", gap, every)
			}
			ev := disctest.Events(gwEnv, node.EvRefreshed)
			if last := ev[len(ev)-1]; last.Subject != b || last.Detail != "removed" {
				t.Fatalf("last refreshed event %+v", last)
			}
			// a registry restart (both copies, empty) drops nothing: they warm up before listing
			for _, in := range s.p.Registries[0].Instances {
				s.killCopy(in)
			}
			for _, in := range s.p.Registries[0].Instances {
				s.startCopy(in)
			}
			time.Sleep(3 * every)
			if got := gw.Instances(0); len(got) != 1 || got[0].Instance != a || len(disctest.Events(gwEnv, node.EvRefreshed)) != len(ev) {
				t.Fatalf("a registry restart changed the cache: %v", ids(got))
			}
		})
	}
}

// TestBlackholedCopy: a copy that never answers costs each refresh one
// call timeout, after which the next copy answers; registries are read at
// once, so the blackholes of several do not add up.
func TestBlackholedCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := disctest.Default()
		d.Scope = "global"
		s := newStack(t, d)
		disc := &s.p.Scenario.Stack.Discovery
		hb, refresh, ttl := time.Duration(disc.Heartbeat), time.Duration(disc.Refresh), time.Duration(disc.TTL)
		timeout := min(hb/2, refresh/2, time.Second)
		s.net.mu.Lock()
		for _, r := range s.p.Registries {
			s.net.holes[s.addrs[r.Instances[0]]] = true // the copy every cache tries first
		}
		s.net.mu.Unlock()
		var kill func()
		for k, in := range s.p.Services[0].Instances {
			_, _, stop := s.client(in)
			if k == 0 {
				kill = stop
			}
		}
		gw, _, _ := s.client(0)
		all := len(s.p.Services[0].Instances)
		waitUntil(t, 2*hb+refresh, func() bool { return len(gw.Instances(0)) == all })
		time.Sleep(3 * refresh)
		kill()
		took := waitUntil(t, ttl+2*refresh, func() bool { return len(gw.Instances(0)) == all-1 })
		if took > ttl+refresh+timeout {
			t.Fatalf("a death seen after %v with blackholed copies, want at most TTL+refresh+one call timeout %v", took, ttl+refresh+timeout)
		}
	})
}

// TestWarmStartEnds: an instance of the scope that never registers does
// not keep the cache polling fast: after a registry's warm-up plus one
// refresh it reads every refresh.
func TestWarmStartEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack(t, disctest.Default())
		disc := &s.p.Scenario.Stack.Discovery
		every, hb := time.Duration(disc.Refresh), time.Duration(disc.Heartbeat)
		s.client(s.p.Services[0].Instances[0]) // its set's other instance never starts
		s.client(0)
		time.Sleep(registry.WarmUp(hb) + every + time.Millisecond)
		n0 := s.net.lists(0)
		time.Sleep(10 * every)
		if n := s.net.lists(0) - n0; n < 9 || n > 11 {
			t.Fatalf("%d lists in 10 refresh periods after the warm start", n)
		}
	})
}

// TestDrainDeregisters: a drained instance leaves every copy at once (no
// TTL wait), so callers drop it at their next refresh, it does not
// register again, and its own cache keeps refreshing.
func TestDrainDeregisters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStack(t, disctest.Default())
		disc := &s.p.Scenario.Stack.Discovery
		every, hb, ttl := time.Duration(disc.Refresh), time.Duration(disc.Heartbeat), time.Duration(disc.TTL)
		a, b := s.p.Services[0].Instances[0], s.p.Services[0].Instances[1]
		s.client(a)
		cb, _, _ := s.client(b)
		gw, _, _ := s.client(0)
		waitUntil(t, 2*hb, func() bool { return has(gw.Instances(0), a) && has(gw.Instances(0), b) })
		time.Sleep(3 * every) // past the warm start: the cache reads every refresh
		cb.Drain()
		took := waitUntil(t, ttl, func() bool { return !has(gw.Instances(0), b) })
		if took > every+time.Millisecond {
			t.Fatalf("b dropped %v after its drain, want within one refresh %v (not the ttl %v)", took, every, ttl)
		}
		time.Sleep(2 * ttl)
		if has(gw.Instances(0), b) {
			t.Fatal("a drained instance registered again")
		}
		n := s.net.lists(b)
		time.Sleep(3 * every)
		if got := s.net.lists(b) - n; got < 2 || !has(cb.Instances(0), a) {
			t.Fatalf("the drained instance's cache read %d times in 3 refreshes and lists %v, want it to keep refreshing", got, ids(cb.Instances(0)))
		}
		cb.Drain() // twice is fine
		if !has(gw.Instances(0), a) {
			t.Fatalf("a lost: %v", ids(gw.Instances(0)))
		}
	})
}
