package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/stripelab/stripelab/components/datapath"
	"github.com/stripelab/stripelab/components/discovery"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// Data is the data-layer client (package datapath): a read or write of
// the request's user's data, with the request's deadline.
type Data interface {
	Do(ctx context.Context, r *wire.Request) wire.Reply
}

// Service is one instance of a logic service.
type Service struct {
	clock node.Clock
	log   *slog.Logger
	set   int
	name  string
	calls []scenarios.CallPlan
	names []string // the called service's name or the data op, per call

	slots *slots
	samp  sampler
	mu    sync.Mutex
	rng   *rand.Rand
	slow  node.Slow // /admin/slow: the service time's factor

	pick *discovery.Picker
	wc   *wire.Client
	data Data
	m    *metrics
}

// Endpoint is one instance discovery returns.
type Endpoint = discovery.Endpoint

// Resolver is the discovery client: the cached live instances of a service
// in the scope stack.discovery.scope allows.
type Resolver = discovery.Resolver

// Options are what New takes besides the env: the discovery client, the
// data-layer client (nil: data calls answer unavailable) and the client
// service calls go through (nil: one sized for its concurrency).
type Options struct {
	Resolver Resolver
	Data     Data
	Client   *wire.Client
	// Drain takes the instance out of discovery when it is told to drain
	// (POST /admin/drain); nil: it stays listed.
	Drain func()
}

// Stream ids of the instance's random draws, derived from the config's seed.
const (
	streamServiceTime = 1
	streamPick        = 2
)

// New builds the service instance env.Config.Instance from the Plan.
func New(env *node.Env, o Options) (*Service, error) {
	p, cfg := env.Plan, env.Config
	if o.Resolver == nil {
		return nil, errors.New("service: no resolver")
	}
	in := p.Instances[cfg.Instance]
	sv := &p.Scenario.Stack.Services[in.Service]
	s := &Service{
		clock: env.Clock, log: env.Log, set: in.Set, name: sv.Name, calls: p.Services[in.Service].Calls,
		slots: &slots{conc: sv.Concurrency, capacity: sv.Queue, meter: node.NewMeter(env.Clock)}, samp: newSampler(sv.ServiceTime),
		rng: node.Stream(cfg.Seed, cfg.Instance, streamServiceTime), wc: o.Client, data: o.Data,
	}
	if s.clock == nil {
		s.clock = node.RealClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, c := range s.calls {
		s.names = append(s.names, callName(p, c))
	}
	if o.Drain != nil {
		env.Server.OnDrain(o.Drain)
	}
	env.Server.ServeLoad(s.load)
	s.pick = discovery.NewPicker(o.Resolver, p, in.Set, node.Stream(cfg.Seed, cfg.Instance, streamPick))
	if s.wc == nil {
		s.wc = wire.NewClient(sv.Concurrency)
	}
	s.m = newMetrics(env.Server, s)
	return s, nil
}

func callName(p *scenarios.Plan, c scenarios.CallPlan) string {
	switch c.Kind {
	case scenarios.CallService:
		return p.Services[c.Service].Name
	case scenarios.CallRead:
		return "read"
	case scenarios.CallWrite:
		return "write"
	}
	return "request"
}

// Start is the service role's node.StartFunc.
func Start(ctx context.Context, env *node.Env) (func(), error) {
	res, err := discovery.New(ctx, env)
	if err != nil {
		return nil, err
	}
	wc := wire.NewClient(env.Plan.Scenario.Stack.Services[env.Plan.Instances[env.Config.Instance].Service].Concurrency)
	s, err := New(env, Options{Resolver: res, Client: wc, Data: datapath.New(env, wc), Drain: drainOf(res)})
	if err != nil {
		res.Close()
		return nil, err
	}
	s.Register(env.Server)
	return func() { res.Close(); wc.Close() }, nil
}

// drainOf is how res takes the instance out of discovery, or nil.
func drainOf(res Resolver) func() {
	if d, ok := res.(discovery.Drainer); ok {
		return d.Drain
	}
	return nil
}

// load is the instance's GET /admin/load: its threads and their use.
func (s *Service) load() node.LoadReport {
	return node.LoadReport{Threads: s.slots.conc, BusyNS: s.slots.meter.Busy(), InFlight: s.slots.inFlight(), Queued: s.slots.depth()}
}

// Register puts the service's handlers on srv: POST /v1/call and the admin
// POST /admin/slow?factor=F.
func (s *Service) Register(srv *node.Server) {
	srv.Mux.Handle("POST "+wire.Path, s)
	srv.Admin("POST /admin/slow", s.slow.ServeHTTP)
}

// ServeHTTP answers one request: 400 with the problem when it is
// malformed, else the outcome of Handle.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.clock.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxValue+1))
	if err == nil {
		var req wire.Request
		if req, err = wire.Decode(r.Header, body); err == nil {
			rp, why := s.Handle(r.Context(), &req, start)
			rp.CrossSet = rp.CrossSet || req.Crosses(s.set)
			wire.WriteReply(w, rp)
			s.m.done(rp.Outcome, why, s.clock.Now().Sub(start))
			return
		}
	}
	http.Error(w, err.Error(), http.StatusBadRequest)
	s.m.done(wire.Rejected, "bad_request", 0)
}

// Handle serves a decoded request that arrived at start. The work goes on
// when the caller leaves (a server does not learn it, as in the model);
// a request still queued when its deadline passes leaves the queue, and
// calls made after it get no time. why is the reply's reason for metrics.
func (s *Service) Handle(ctx context.Context, req *wire.Request, start time.Time) (wire.Reply, string) {
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), start.Add(req.Deadline))
	defer cancel()
	s.m.requests.Inc()
	fail := func(o wire.Outcome, reason string) (wire.Reply, string) {
		return wire.Reply{Outcome: o, Reason: reason, Served: s.set}, reason
	}
	if req.Hops >= wire.MaxHops {
		return fail(wire.Rejected, "too_many_hops")
	}
	if why := s.slots.acquire(ctx); why != "" {
		return fail(wire.Error, why)
	}
	defer s.slots.release()
	s.work()
	out := wire.Reply{Outcome: wire.OK, Served: s.set}
	for i, c := range s.calls {
		rp, why := s.call(ctx, req, c, s.names[i])
		out.Wrote = out.Wrote || rp.Wrote
		if rp.Wrote {
			out.Shard = rp.Shard
		}
		out.CrossSet = out.CrossSet || rp.CrossSet
		if rp.Outcome != wire.OK {
			return wire.Reply{Outcome: rp.Outcome, Reason: rp.Reason, Wrote: out.Wrote, Served: s.set, CrossSet: out.CrossSet}, why
		}
		if c.Kind != scenarios.CallService {
			out.Version, out.Value = rp.Version, rp.Value
		}
	}
	return out, "ok"
}

// work sleeps one service time drawn from the distribution, times the
// slow factor, holding the thread. A draw under a microsecond is not
// slept: arming a timer costs more than that.
func (s *Service) work() {
	s.mu.Lock()
	v := s.samp.draw(s.rng)
	s.mu.Unlock()
	d := time.Duration(min(v*s.slow.Factor(), maxDraw))
	if d >= time.Microsecond {
		<-s.clock.After(d)
	}
}

// call makes one downstream call with the call's timeout or the time left,
// whichever ends first. A call that timed out, broke or was refused is an
// error (the model's caller answers its own caller so); a downstream's own
// answer passes through.
func (s *Service) call(ctx context.Context, req *wire.Request, c scenarios.CallPlan, name string) (wire.Reply, string) {
	fr := *req
	fr.Hops++
	fr.Deadline = c.Timeout.Std()
	if dl, ok := ctx.Deadline(); ok {
		fr.Deadline = min(fr.Deadline, dl.Sub(s.clock.Now()))
	}
	var rp wire.Reply
	if c.Kind == scenarios.CallService {
		ep, done, ok := s.pick.Pick(c.Service)
		if !ok {
			s.m.call(name, wire.Unavailable)
			return wire.Reply{Outcome: wire.Unavailable, Reason: "no_instance"}, "no_instance"
		}
		rp = s.wc.Call(ctx, ep.Addr, &fr, "")
		done()
		rp.CrossSet = rp.CrossSet || req.Crosses(ep.Set) // the hop left the home set, answered or not
	} else {
		switch c.Kind {
		case scenarios.CallRead:
			fr.Op = wire.Read
		case scenarios.CallWrite:
			fr.Op = wire.Write
		}
		if fr.Op == wire.Read {
			fr.Value = nil
		}
		rp = s.doData(ctx, &fr)
	}
	s.m.call(name, rp.Outcome)
	switch {
	case rp.Outcome == wire.Timeout:
		return wire.Reply{Outcome: wire.Error, Reason: "call_timeout", Wrote: rp.Wrote, CrossSet: rp.CrossSet}, "call_timeout"
	case rp.Outcome == wire.Reset:
		return wire.Reply{Outcome: wire.Error, Reason: "call_reset", Wrote: rp.Wrote, CrossSet: rp.CrossSet}, "call_reset"
	case rp.Outcome == wire.Unavailable && rp.Reason == "refused":
		return wire.Reply{Outcome: wire.Error, Reason: "call_refused", Wrote: rp.Wrote, CrossSet: rp.CrossSet}, "call_refused"
	case rp.Outcome == wire.OK:
		return rp, "ok"
	}
	return rp, "downstream"
}

func (s *Service) doData(ctx context.Context, r *wire.Request) wire.Reply {
	if s.data == nil {
		return wire.Reply{Outcome: wire.Unavailable, Reason: "no_data_path", Served: -1}
	}
	if r.Deadline <= 0 {
		return wire.Reply{Outcome: wire.Timeout, Reason: "no_time_left", Served: -1}
	}
	ctx, cancel := context.WithTimeout(ctx, r.Deadline)
	defer cancel()
	return s.data.Do(ctx, r)
}
