// Package mesh is mesh discovery: every gateway, service and data proxy
// runs a sidecar that is a member of one hashicorp/memberlist ring per run
// (gossip, no central part). Gateways are members too, so that they learn
// deaths the same way, but only services and data proxies are listed. A
// member's death is learned after discovery.detection plus
// discovery.propagation (see Tuning); a member that stops cleanly leaves at
// once. Gossip goes straight between the members' gossip addresses
// (node.Config.Gossip), not through the network links, so link faults do
// not reach it; killing an instance kills its sidecar.
package mesh

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripelab/stripelab/components/discovery/scope"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// Mesh is one instance's sidecar: its membership of the ring and the
// resolver over it. It implements discovery.Resolver.
type Mesh struct {
	env    *node.Env
	plan   *scenarios.Plan
	kind   scope.Kind
	set    int
	addrs  map[int]string
	tuning Tuning
	ml     *memberlist.Memberlist

	mu    sync.Mutex
	alive map[int]bool
	view  atomic.Pointer[[][]scope.Endpoint]

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	done     chan struct{}
	killed   atomic.Bool
	draining atomic.Bool
}

// RingSize is the number of ring members a plan runs: its gateways,
// services and data proxies.
func RingSize(p *scenarios.Plan) int {
	n := 0
	for i, in := range p.Instances {
		if in.Role == scenarios.RoleGateway || scope.ServiceOf(p, i) >= 0 {
			n++
		}
	}
	return n
}

// NodeName is instance i's member name.
func NodeName(i int) string { return "i" + strconv.Itoa(i) }

func instanceOf(name string) (int, bool) {
	v, err := strconv.Atoi(strings.TrimPrefix(name, "i"))
	return v, err == nil && strings.HasPrefix(name, "i")
}

// New joins env's instance to the ring: it binds env.Config.Gossip (an IP
// address and port; it advertises that address, or the host's private one
// when it is 0.0.0.0) and joins env.Config.GossipPeers (retrying until one
// answers). It leaves
// the ring when ctx ends or at Close.
func New(ctx context.Context, env *node.Env) (*Mesh, error) {
	p := env.Plan
	self := env.Config.Instance
	if self < 0 || self >= len(p.Instances) {
		return nil, fmt.Errorf("instance %d is not in the plan", self)
	}
	host, port, err := splitGossip(env.Config.Gossip)
	if err != nil {
		return nil, err
	}
	d := &p.Scenario.Stack.Discovery
	m := &Mesh{env: env, plan: p, kind: scope.Of(p), set: p.Instances[self].Set, addrs: env.Config.PeerAddrs(),
		tuning: Tune(time.Duration(d.Detection), time.Duration(d.Propagation), RingSize(p)), alive: map[int]bool{}, done: make(chan struct{})}
	empty := make([][]scope.Endpoint, scope.ProxyService(p)+1)
	m.view.Store(&empty)
	c := memberlist.DefaultLANConfig()
	c.Name = NodeName(self)
	c.BindAddr, c.BindPort = host, port
	if ip := net.ParseIP(host); !ip.IsUnspecified() {
		c.AdvertiseAddr, c.AdvertisePort = host, port
	} // else memberlist advertises the host's private address
	c.Label = "stripelab/" + env.Config.Run
	c.LogOutput = io.Discard
	c.Events = (*events)(m)
	c.Delegate = (*meta)(m)
	m.tuning.Apply(c)
	if m.ml, err = memberlist.Create(c); err != nil {
		return nil, fmt.Errorf("mesh: bind %s: %w", env.Config.Gossip, err)
	}
	m.metrics()
	env.Log.Info("mesh: joined the ring", "gossip", env.Config.Gossip, "ring", m.tuning.Ring, "probe_interval", m.tuning.ProbeInterval,
		"suspicion", m.tuning.Suspicion, "gossip_interval", m.tuning.GossipInterval, "worst", m.tuning.Worst)
	m.ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(1)
	go m.joinLoop(env.Config.GossipPeers)
	go func() {
		<-m.ctx.Done()
		m.leave()
	}()
	return m, nil
}

func splitGossip(addr string) (string, int, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("gossip address %q: want host:port: %v", addr, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port <= 0 || port > 65535 || net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("gossip address %q: want an IP address and a port from 1 to 65535", addr)
	}
	return host, port, nil
}

func (m *Mesh) metrics() {
	reg := m.env.Server.Metrics
	reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stripelab_mesh_members", Help: "Members of the ring this sidecar believes alive, itself included."},
		func() float64 { return float64(m.ml.NumMembers()) }))
	reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stripelab_mesh_health_score", Help: "Lifeguard local health: 0 is healthy; higher stretches this sidecar's probes."},
		func() float64 { return float64(m.ml.GetHealthScore()) }))
	reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stripelab_mesh_instances", Help: "Instances (services and data proxies) the sidecar lists in its scope."},
		func() float64 {
			n := 0
			for _, l := range *m.view.Load() {
				n += len(l)
			}
			return float64(n)
		}))
}

// Tuning is the failure detector's settings.
func (m *Mesh) Tuning() Tuning { return m.tuning }

// joinLoop joins the seeds, retrying every propagation (100ms to 1s)
// until one answers: a seed may start after this member.
func (m *Mesh) joinLoop(seeds []string) {
	defer m.wg.Done()
	var others []string
	for _, s := range seeds {
		if s != m.env.Config.Gossip {
			others = append(others, s)
		}
	}
	if len(others) == 0 {
		return
	}
	wait := min(max(m.tuning.Propagation, 100*time.Millisecond), time.Second)
	for {
		if n, _ := m.ml.Join(others); n > 0 {
			return
		}
		select {
		case <-m.ctx.Done():
			return
		case <-m.env.Clock.After(wait):
		}
	}
}

// Instances implements discovery.Resolver.
func (m *Mesh) Instances(service int) []scope.Endpoint {
	v := *m.view.Load()
	if service < 0 || service >= len(v) {
		return nil
	}
	return v[service]
}

// Close leaves the ring (the others learn it at once) and shuts the
// sidecar down.
func (m *Mesh) Close() {
	m.cancel()
	<-m.done
}

func (m *Mesh) leave() {
	m.wg.Wait()
	if !m.killed.Load() {
		m.ml.Leave(max(m.tuning.Propagation, 500*time.Millisecond))
	}
	m.ml.Shutdown()
	close(m.done)
}

// Drain marks the member draining in its metadata, which gossip carries
// to the others (memberlist's UpdateNode): they stop listing it while it
// stays in the ring and keeps its own view, so a draining instance still
// calls others. It is safe to call more than once.
func (m *Mesh) Drain() {
	if m.draining.CompareAndSwap(false, true) {
		if err := m.ml.UpdateNode(max(m.tuning.Propagation, 500*time.Millisecond)); err != nil {
			m.env.Log.Warn("mesh: draining: the update did not reach every member in time", "err", err)
		}
	}
}

// Kill stops the sidecar without leaving, as a SIGKILL does: the others
// must detect the death (tests).
func (m *Mesh) Kill() {
	m.killed.Store(true)
	m.ml.Shutdown()
	m.Close()
}

// setAlive records a member's state and rebuilds the view when it changed.
func (m *Mesh) setAlive(name string, up bool) {
	i, ok := instanceOf(name)
	if !ok || scope.ServiceOf(m.plan, i) < 0 || !scope.Sees(m.plan, m.kind, m.set, m.plan.Instances[i].Set) {
		return
	}
	if _, ok := m.addrs[i]; !ok {
		return
	}
	m.mu.Lock()
	if m.alive[i] == up {
		m.mu.Unlock()
		return
	}
	m.alive[i] = up
	v := make([][]scope.Endpoint, scope.ProxyService(m.plan)+1)
	for in, a := range m.alive {
		if a {
			svc := scope.ServiceOf(m.plan, in)
			v[svc] = append(v[svc], scope.Endpoint{Instance: in, Set: m.plan.Instances[in].Set, Addr: m.addrs[in]})
		}
	}
	for _, l := range v {
		scope.Sort(l)
	}
	m.view.Store(&v)
	m.mu.Unlock()
	if up {
		m.env.Server.Events.Emit(node.EvMemberUp, i, 0, "")
	} else {
		m.env.Server.Events.Emit(node.EvMemberDown, i, 0, "")
	}
}

// events is the memberlist EventDelegate of a Mesh.
type events Mesh

func (e *events) NotifyJoin(n *memberlist.Node)   { (*Mesh)(e).setAlive(n.Name, !drainingMeta(n.Meta)) }
func (e *events) NotifyLeave(n *memberlist.Node)  { (*Mesh)(e).setAlive(n.Name, false) }
func (e *events) NotifyUpdate(n *memberlist.Node) { (*Mesh)(e).setAlive(n.Name, !drainingMeta(n.Meta)) }

// metaDraining is a member's metadata while it drains (none otherwise).
const metaDraining = "draining"

func drainingMeta(b []byte) bool { return string(b) == metaDraining }

// meta is the memberlist Delegate of a Mesh: it only carries the
// member's metadata (draining or not); no user messages or state.
type meta Mesh

func (d *meta) NodeMeta(limit int) []byte {
	if (*Mesh)(d).draining.Load() && len(metaDraining) <= limit {
		return []byte(metaDraining)
	}
	return nil
}
func (d *meta) NotifyMsg([]byte)                           {}
func (d *meta) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *meta) LocalState(join bool) []byte                { return nil }
func (d *meta) MergeRemoteState(buf []byte, join bool)     {}
