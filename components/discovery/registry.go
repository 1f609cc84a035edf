package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripelab/stripelab/components/discovery/scope"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/registry"
	"github.com/stripelab/stripelab/scenarios"
)

// registryClient is the registry-mode resolver: leases for its own
// instance, and a cache of the registries its scope covers.
type registryClient struct {
	env       *node.Env
	plan      *scenarios.Plan
	kind      scope.Kind
	self, set int
	addrs     map[int]string
	hc        *http.Client
	refresh   time.Duration
	heartbeat time.Duration

	regs    []int                    // registries serving a set the scope covers
	good    map[int]int              // registry -> the copy that answered last (index in its Instances)
	last    map[int][]registry.Entry // registry -> its last list (kept while no copy answers)
	members []int                    // what the scope may ever list, for the warm start
	started time.Time
	seen    map[int]bool
	shown   map[int]bool // instances in the view
	view    atomic.Pointer[[][]Endpoint]

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	leaseCtx    context.Context // ends at Drain or Close
	leaseCancel context.CancelFunc
	leases      sync.WaitGroup
	drainOnce   sync.Once

	mInstances  *prometheus.GaugeVec
	mRefreshes  *prometheus.CounterVec
	mHeartbeats *prometheus.CounterVec
}

// metrics registers the client's metrics (once per server: a second
// resolver of the same instance is not exported).
func (c *registryClient) metrics() {
	c.mInstances = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stripelab_discovery_instances", Help: "Instances the cache lists, by service (the last index is the data proxies)."}, []string{"service"})
	c.mRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_discovery_refreshes_total", Help: "Registry reads by the cache: ok, or unreachable (every copy failed: the registry's last list is kept)."}, []string{"registry", "result"})
	c.mHeartbeats = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_discovery_lease_requests_total", Help: "Register and heartbeat requests to registry copies, by operation and result."}, []string{"op", "result"})
	for _, m := range []prometheus.Collector{c.mInstances, c.mRefreshes, c.mHeartbeats} {
		c.env.Server.Metrics.Register(m)
	}
}

func newRegistryClient(ctx context.Context, env *node.Env, hc *http.Client) (*registryClient, error) {
	p := env.Plan
	d := &p.Scenario.Stack.Discovery
	if d.Refresh <= 0 || d.Heartbeat <= 0 {
		return nil, fmt.Errorf("discovery.refresh %v and discovery.heartbeat %v must be positive", d.Refresh, d.Heartbeat)
	}
	self := env.Config.Instance
	if self < 0 || self >= len(p.Instances) {
		return nil, fmt.Errorf("instance %d is not in the plan", self)
	}
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     time.Minute,
		}}
	}
	c := &registryClient{env: env, plan: p, kind: scope.Of(p), self: self, set: p.Instances[self].Set,
		addrs: env.Config.PeerAddrs(), hc: hc, refresh: time.Duration(d.Refresh), heartbeat: time.Duration(d.Heartbeat),
		good: map[int]int{}, last: map[int][]registry.Entry{}, seen: map[int]bool{}, shown: map[int]bool{}}
	for r, rg := range p.Registries {
		for _, s := range rg.Sets {
			if scope.Sees(p, c.kind, c.set, s) {
				c.regs = append(c.regs, r)
				break
			}
		}
	}
	for _, m := range scope.Members(p, c.kind, c.set) {
		if _, ok := c.addrs[m]; ok {
			c.members = append(c.members, m)
		}
	}
	empty := make([][]Endpoint, scope.ProxyService(p)+1)
	c.view.Store(&empty)
	c.metrics()
	c.started = env.Clock.Now()
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.leaseCtx, c.leaseCancel = context.WithCancel(c.ctx)
	context.AfterFunc(c.ctx, func() {
		c.wg.Wait()
		c.leases.Wait()
		c.hc.CloseIdleConnections() // their goroutines end with the resolver
	})
	if scope.ServiceOf(p, self) >= 0 {
		c.startLeases()
	}
	c.wg.Add(1)
	go c.refreshLoop()
	return c, nil
}

// Instances implements Resolver.
func (c *registryClient) Instances(service int) []Endpoint {
	v := *c.view.Load()
	if service < 0 || service >= len(v) {
		return nil
	}
	return v[service]
}

// Close stops the loops and deregisters the instance from every copy
// (best effort, a short wait).
func (c *registryClient) Close() {
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
		c.leases.Wait()
		c.deregister()
		c.hc.CloseIdleConnections()
	})
}

// Drain takes the instance out of discovery and keeps its cache: the
// leases stop and it deregisters from every copy (best effort, a short
// wait), so callers drop it at their next refresh while it still calls
// others. It is safe to call more than once.
func (c *registryClient) Drain() {
	c.drainOnce.Do(func() {
		c.leaseCancel()
		c.leases.Wait()
		c.deregister()
	})
}

// deregister removes the instance from every copy of its set's registry.
func (c *registryClient) deregister() {
	if scope.ServiceOf(c.plan, c.self) < 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for _, addr := range c.leaseCopies() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.post(ctx, addr, registry.PathDeregister)
		}()
	}
	wg.Wait()
}

func (c *registryClient) registryOf(set int) int {
	for r, rg := range c.plan.Registries {
		for _, s := range rg.Sets {
			if s == set {
				return r
			}
		}
	}
	return -1
}

func (c *registryClient) leaseCopies() []string {
	r := c.registryOf(c.set)
	if r < 0 {
		return nil
	}
	var out []string
	for _, in := range c.plan.Registries[r].Instances {
		if a, ok := c.addrs[in]; ok {
			out = append(out, a)
		}
	}
	return out
}

func (c *registryClient) startLeases() {
	copies := c.leaseCopies()
	if len(copies) == 0 {
		c.env.Log.Warn("discovery: no address for any copy of this set's registry; the instance is not registered", "instance", c.self)
	}
	for _, addr := range copies {
		c.leases.Add(1)
		go c.leaseLoop(addr)
	}
}

// leaseLoop holds the instance's lease on one copy: register, then renew
// every heartbeat; a 404 (the copy expired it or restarted) registers
// again; an unreachable copy is retried every quarter heartbeat.
func (c *registryClient) leaseLoop(addr string) {
	defer c.leases.Done()
	held := false
	for {
		if held {
			switch c.post(c.leaseCtx, addr, registry.PathHeartbeat) {
			case http.StatusOK:
				c.mHeartbeats.WithLabelValues("heartbeat", "ok").Inc()
			case http.StatusNotFound:
				c.mHeartbeats.WithLabelValues("heartbeat", "expired").Inc()
				held = false
			default: // unreachable: renew at the next beat, the lease may still hold
				c.mHeartbeats.WithLabelValues("heartbeat", "unreachable").Inc()
			}
		}
		if !held {
			held = c.post(c.leaseCtx, addr, registry.PathRegister) == http.StatusOK
			c.mHeartbeats.WithLabelValues("register", map[bool]string{true: "ok", false: "failed"}[held]).Inc()
		}
		wait := c.heartbeat
		if !held {
			wait = c.heartbeat / 4
		}
		select {
		case <-c.leaseCtx.Done():
			return
		case <-c.env.Clock.After(wait):
		}
	}
}

func (c *registryClient) callTimeout() time.Duration {
	return min(c.heartbeat/2, c.refresh/2, time.Second)
}

// post sends {"instance": self} and returns the status (0: no answer).
func (c *registryClient) post(ctx context.Context, addr, path string) int {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout())
	defer cancel()
	body, _ := json.Marshal(registry.InstanceRequest{Instance: c.self})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode
}

// refreshLoop re-reads the registries every refresh. At start, until the
// cache has seen every instance its scope may list once, it polls every
// refresh/20 (at least 50ms) so a stack that is coming up is seen at once;
// that ends after a registry's warm-up plus one refresh even if an
// instance never showed up.
func (c *registryClient) refreshLoop() {
	defer c.wg.Done()
	for {
		c.refreshOnce()
		wait := c.refresh
		if !c.complete() && c.env.Clock.Now().Sub(c.started) < registry.WarmUp(c.heartbeat)+c.refresh {
			wait = min(c.refresh, max(c.refresh/20, 50*time.Millisecond))
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.env.Clock.After(wait):
		}
	}
}

func (c *registryClient) complete() bool {
	for _, m := range c.members {
		if !c.seen[m] {
			return false
		}
	}
	return true
}

// refreshOnce reads every registry at once, each from the first copy that
// answers, and rebuilds the view; a registry none of whose copies answers
// keeps its last list.
func (c *registryClient) refreshOnce() {
	type answer struct {
		list []registry.Entry
		copy int // the copy that answered; -1: none
	}
	got := make([]answer, len(c.regs))
	var wg sync.WaitGroup
	for k, r := range c.regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[k].list, got[k].copy = c.fetch(r, c.good[r])
		}()
	}
	wg.Wait()
	for k, r := range c.regs {
		ok := got[k].copy >= 0
		if ok {
			c.last[r], c.good[r] = got[k].list, got[k].copy
		}
		c.mRefreshes.WithLabelValues(strconv.Itoa(r), map[bool]string{true: "ok", false: "unreachable"}[ok]).Inc()
	}
	c.rebuild()
}

// fetch tries registry r's copies from start on; it returns the list and
// the copy that answered, or -1.
func (c *registryClient) fetch(r, start int) ([]registry.Entry, int) {
	copies := c.plan.Registries[r].Instances
	for k := range copies {
		j := (start + k) % len(copies)
		addr, ok := c.addrs[copies[j]]
		if !ok {
			continue
		}
		if l, ok := c.list(addr); ok {
			return l, j
		}
	}
	return nil, -1
}

func (c *registryClient) list(addr string) ([]registry.Entry, bool) {
	ctx, cancel := context.WithTimeout(c.ctx, c.callTimeout())
	defer cancel()
	q := url.Values{"caller": {strconv.Itoa(c.self)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+registry.PathList+"?"+q.Encode(), nil)
	if err != nil {
		return nil, false
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil, false
	}
	var lr registry.ListReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<22)).Decode(&lr); err != nil {
		return nil, false
	}
	return lr.Instances, true
}

// rebuild makes the view from the registries' last lists and emits
// EvRefreshed for every instance that appeared or disappeared.
func (c *registryClient) rebuild() {
	p := c.plan
	v := make([][]Endpoint, scope.ProxyService(p)+1)
	now := map[int]bool{}
	for _, r := range c.regs {
		for _, e := range c.last[r] {
			addr, ok := c.addrs[e.Instance]
			svc := scope.ServiceOf(p, e.Instance)
			if !ok || svc < 0 || now[e.Instance] || !scope.Sees(p, c.kind, c.set, p.Instances[e.Instance].Set) {
				continue
			}
			now[e.Instance] = true
			c.seen[e.Instance] = true
			v[svc] = append(v[svc], Endpoint{Instance: e.Instance, Set: p.Instances[e.Instance].Set, Addr: addr})
		}
	}
	changed := false
	for _, m := range c.members {
		switch {
		case now[m] && !c.shown[m]:
			c.env.Server.Events.Emit(node.EvRefreshed, m, 0, "added")
			changed = true
		case !now[m] && c.shown[m]:
			c.env.Server.Events.Emit(node.EvRefreshed, m, 0, "removed")
			changed = true
		}
	}
	if !changed {
		return
	}
	for k, l := range v {
		scope.Sort(l)
		c.mInstances.WithLabelValues(strconv.Itoa(k)).Set(float64(len(l)))
	}
	c.shown = now
	c.view.Store(&v)
}
