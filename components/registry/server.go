package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripelab/stripelab/components/discovery/scope"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// Server is one copy of one registry. Copies share nothing: every
// instance registers and heartbeats with each copy of its set's registry,
// so each copy answers on its own and the registry answers while any copy
// is up.
type Server struct {
	env       *node.Env
	plan      *scenarios.Plan
	reg       int    // index in Plan.Registries
	sets      []bool // the sets this registry serves
	scope     scope.Kind
	heartbeat time.Duration
	members   int // instances of the served sets found through discovery
	table     *Table
	start     time.Time
	warm      atomic.Bool
	http      *http.Client

	requests *prometheus.CounterVec
	expired  prometheus.Counter
}

// Start is the registry role's node.StartFunc.
func Start(ctx context.Context, env *node.Env) (func(), error) {
	s, err := New(env, nil)
	if err != nil {
		return nil, err
	}
	s.Handle(env.Server.Mux)
	go s.Run(ctx)
	return nil, nil
}

// New builds the copy that env's instance runs. hc reaches the sibling
// copies for the start-up sync (nil: a plain client).
func New(env *node.Env, hc *http.Client) (*Server, error) {
	p := env.Plan
	reg := -1
	for r, rg := range p.Registries {
		for _, in := range rg.Instances {
			if in == env.Config.Instance {
				reg = r
			}
		}
	}
	if reg < 0 {
		return nil, fmt.Errorf("instance %d is not a copy of any registry (discovery.mode %s)", env.Config.Instance, p.Scenario.Stack.Discovery.Mode)
	}
	d := &p.Scenario.Stack.Discovery
	if d.TTL <= 0 || d.Heartbeat <= 0 {
		return nil, fmt.Errorf("discovery.ttl %v and discovery.heartbeat %v must be positive", d.TTL, d.Heartbeat)
	}
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	}
	s := &Server{env: env, plan: p, reg: reg, sets: make([]bool, len(p.Sets)), scope: scope.Of(p),
		heartbeat: time.Duration(d.Heartbeat), http: hc}
	for _, set := range p.Registries[reg].Sets {
		s.sets[set] = true
	}
	for i, in := range p.Instances {
		if s.sets[in.Set] && scope.ServiceOf(p, i) >= 0 {
			s.members++
		}
	}
	s.table = NewTable(env.Clock, time.Duration(d.TTL), env.Server.Events)
	s.start = s.table.clock.Now()
	s.metrics()
	return s, nil
}

func (s *Server) metrics() {
	m := s.env.Server.Metrics
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stripelab_registry_requests_total", Help: "Registry requests by operation and status code."}, []string{"op", "code"})
	s.expired = prometheus.NewCounter(prometheus.CounterOpts{Name: "stripelab_registry_expired_total", Help: "Leases expired one TTL after their last heartbeat."})
	leases := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stripelab_registry_leases", Help: "Live leases held by this copy."}, func() float64 { return float64(s.table.Len()) })
	m.MustRegister(s.requests, s.expired, leases)
	s.table.expired = func(int) { s.expired.Inc() }
}

// Table is the copy's lease table.
func (s *Server) Table() *Table { return s.table }

// Warm reports whether the copy lists: WarmUp after its start, when every
// live instance has renewed with it; at once when it
// took the leases of a sibling copy; or as soon as every instance it serves
// holds a lease (a stack coming up). A copy that restarted empty would
// otherwise tell every cache that nothing is alive.
func (s *Server) Warm() bool {
	if s.warm.Load() {
		return true
	}
	if s.table.clock.Now().Sub(s.start) >= s.warmup() || s.table.Len() >= s.members {
		s.warm.Store(true)
		return true
	}
	return false
}

func (s *Server) warmup() time.Duration { return WarmUp(s.heartbeat) }

// WarmUp is how long a copy that starts empty waits before it lists: one
// heartbeat, within which every live instance sends a renewal, plus half a
// heartbeat, the longest a client waits for one to be answered.
func WarmUp(heartbeat time.Duration) time.Duration { return heartbeat + heartbeat/2 }

// Handle registers the API on mux.
func (s *Server) Handle(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathRegister, s.serveRegister)
	mux.HandleFunc("POST "+PathHeartbeat, s.serveHeartbeat)
	mux.HandleFunc("POST "+PathDeregister, s.serveDeregister)
	mux.HandleFunc("GET "+PathList, s.serveList)
}

// Run expires leases and syncs from a sibling copy until ctx ends.
func (s *Server) Run(ctx context.Context) {
	go s.syncSiblings(ctx)
	s.table.Run(ctx)
}

func (s *Server) instance(op string, w http.ResponseWriter, r *http.Request) (int, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		s.fail(op, w, http.StatusBadRequest, "body: "+err.Error())
		return 0, false
	}
	inst, err := ParseInstance(s.plan, s.sets, body)
	if err != nil {
		s.fail(op, w, http.StatusBadRequest, err.Error())
		return 0, false
	}
	return inst, true
}

func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	inst, ok := s.instance("register", w, r)
	if !ok {
		return
	}
	isNew := s.table.Register(inst, scope.ServiceOf(s.plan, inst), s.plan.Instances[inst].Set)
	s.reply("register", w, s.lease(inst, isNew))
}

func (s *Server) serveHeartbeat(w http.ResponseWriter, r *http.Request) {
	inst, ok := s.instance("heartbeat", w, r)
	if !ok {
		return
	}
	if !s.table.Heartbeat(inst) {
		s.fail("heartbeat", w, http.StatusNotFound, fmt.Sprintf("instance %d holds no lease: register it", inst))
		return
	}
	s.reply("heartbeat", w, s.lease(inst, false))
}

func (s *Server) serveDeregister(w http.ResponseWriter, r *http.Request) {
	inst, ok := s.instance("deregister", w, r)
	if !ok {
		return
	}
	s.table.Deregister(inst)
	s.reply("deregister", w, s.lease(inst, false))
}

func (s *Server) lease(inst int, isNew bool) LeaseReply {
	return LeaseReply{Instance: inst, TTLMs: s.table.ttl.Milliseconds(), HeartbeatMs: s.heartbeat.Milliseconds(), New: isNew}
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	q, err := ParseList(s.plan, r.URL.Query())
	if err != nil {
		s.fail("list", w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.Warm() {
		left := s.warmup() - s.table.clock.Now().Sub(s.start)
		s.fail("list", w, http.StatusServiceUnavailable, fmt.Sprintf("warming up: listing in %v, once every live instance has renewed its lease", left.Round(time.Millisecond)))
		return
	}
	s.reply("list", w, s.list(q))
}

func (s *Server) list(q ListQuery) ListReply {
	callerSet := -1
	if q.Caller >= 0 {
		callerSet = s.plan.Instances[q.Caller].Set
	}
	keep := func(inst, service, set int) bool {
		return (q.Service < 0 || service == q.Service) && (callerSet < 0 || scope.Sees(s.plan, s.scope, callerSet, set))
	}
	return ListReply{Registry: s.reg, Copy: s.env.Config.Instance, Sets: s.plan.Registries[s.reg].Sets, Instances: s.table.List(keep)}
}

func (s *Server) reply(op string, w http.ResponseWriter, v any) {
	s.requests.WithLabelValues(op, "200").Inc()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) fail(op string, w http.ResponseWriter, code int, msg string) {
	s.requests.WithLabelValues(op, strconv.Itoa(code)).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(ErrorReply{Error: msg})
}

// syncSiblings takes the leases of the first sibling copy that lists,
// retrying every quarter heartbeat while this copy warms up.
func (s *Server) syncSiblings(ctx context.Context) {
	defer s.http.CloseIdleConnections()
	addrs := s.env.Config.PeerAddrs()
	var sibs []string
	for _, in := range s.plan.Registries[s.reg].Instances {
		if a, ok := addrs[in]; ok && in != s.env.Config.Instance {
			sibs = append(sibs, a)
		}
	}
	if len(sibs) == 0 {
		return
	}
	for !s.Warm() {
		for _, a := range sibs {
			if s.syncFrom(ctx, a) {
				s.warm.Store(true)
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.table.clock.After(s.heartbeat / 4):
		}
	}
}

func (s *Server) syncFrom(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, s.heartbeat/4)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+PathList, nil)
	if err != nil {
		return false
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	var lr ListReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<22)).Decode(&lr); err != nil {
		return false
	}
	for _, e := range lr.Instances {
		if _, err := checkMember(s.plan, s.sets, "instance", e.Instance); err == nil && e.ExpiresInMs > 0 {
			s.table.Adopt(e.Instance, scope.ServiceOf(s.plan, e.Instance), s.plan.Instances[e.Instance].Set, time.Duration(e.ExpiresInMs)*time.Millisecond)
		}
	}
	s.env.Log.Info("registry: took the leases of a sibling copy", "from", addr, "leases", len(lr.Instances))
	return true
}
