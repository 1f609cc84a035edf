package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/stripelab/stripelab/components/discovery"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// Gateway is one gateway instance.
type Gateway struct {
	clock    node.Clock
	log      *slog.Logger
	events   *node.Events
	secret   []byte
	auth     bool
	cost     time.Duration // routing plus authentication, before the slow factor
	timeout  time.Duration // stack.gateway.timeout
	upstream int           // service index of gateway.upstream (without commands)
	cmds     map[string]command
	set      int
	setNames []string

	buckets [3]*rate.Limiter // nil: unlimited
	adm     *admission
	pick    *discovery.Picker
	wc      *wire.Client
	slow    node.Slow    // /admin/slow: the routing cost's factor
	away    atomic.Int64 // the set routed to when not its own, -1 when home
	m       *metrics
}

// command is what the gateway does with one of workload.commands.
type command struct {
	prio     int // the priority the request must carry
	svc      int // the service it goes to
	noWrites bool
	noReads  bool
}

// Endpoint is one instance discovery returns.
type Endpoint = discovery.Endpoint

// Resolver is the discovery client: the cached live instances of a service
// in the scope stack.discovery.scope allows.
type Resolver = discovery.Resolver

// Options are what New takes besides the env: the discovery client and
// the client it forwards with (nil: one sized for its concurrency).
type Options struct {
	Resolver Resolver
	Client   *wire.Client
}

// Stream ids of the gateway's random draws, derived from the config's seed.
const (
	streamShed = 1
	streamPick = 2
)

// New builds the gateway of instance env.Config.Instance from the Plan.
func New(env *node.Env, o Options) (*Gateway, error) {
	p, cfg := env.Plan, env.Config
	if o.Resolver == nil {
		return nil, errors.New("gateway: no resolver")
	}
	in := p.Instances[cfg.Instance]
	gs := &p.Scenario.Stack.Gateway
	g := &Gateway{
		clock: env.Clock, log: env.Log, events: env.Server.Events, secret: []byte(cfg.Secret),
		auth: gs.Auth.Enabled == nil || *gs.Auth.Enabled, cost: gs.Cost.Std(), timeout: gs.Timeout.Std(),
		upstream: -1, set: in.Set, wc: o.Client,
	}
	if g.clock == nil {
		g.clock = node.RealClock{}
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.auth {
		g.cost += gs.Auth.Cost.Std()
	}
	for i, sv := range p.Services {
		if sv.Name == gs.Upstream {
			g.upstream = i
		}
	}
	if g.upstream < 0 && len(p.Commands) == 0 {
		return nil, fmt.Errorf("gateway: upstream service %q is not in the plan", gs.Upstream)
	}
	if len(p.Commands) > 0 {
		g.cmds = map[string]command{}
		for _, c := range p.Commands {
			g.cmds[c.Name] = command{prio: c.Priority, svc: c.Service, noWrites: c.Write == 0, noReads: c.Write == 1}
		}
	}
	for _, s := range p.Sets {
		g.setNames = append(g.setNames, s.Name)
	}
	g.buildBuckets(p, in.Set)
	g.adm = newAdmission(gs, g.clock, cfg.Seed, cfg.Instance)
	g.pick = discovery.NewPicker(o.Resolver, p, in.Set, node.Stream(cfg.Seed, cfg.Instance, streamPick))
	if g.wc == nil {
		g.wc = wire.NewClient(gs.Concurrency)
	}
	g.away.Store(-1)
	g.m = newMetrics(env.Server, g)
	return g, nil
}

func newAdmission(gs *scenarios.Gateway, clock node.Clock, seed uint64, inst int) *admission {
	a := &admission{clock: clock, conc: gs.Concurrency, capacity: gs.Queue.Capacity, timeout: gs.Queue.Timeout.Std(), rng: node.Stream(seed, inst, streamShed), meter: node.NewMeter(clock)}
	sh := &gs.Shedding
	switch sh.Policy {
	case "priority":
		a.policy = shedPriority
		a.shedAt = [3]float64{sh.High.Fraction(), sh.Normal.Fraction(), sh.Low.Fraction()}
	case "random":
		a.policy = shedRandom
		a.shedAt = [3]float64{sh.Start.Fraction(), sh.Start.Fraction(), sh.Start.Fraction()}
	}
	return a
}

// buildBuckets gives each class with a limit a token bucket holding this
// instance's share of the set's rate (the set's rate divided by its
// gateway instances), as deep as rate_limit.burst at that rate and at
// least one token. The simulator shares one bucket among a set's gateways;
// real gateways keep local shares, so the set admits the same total when
// the access layer spreads users evenly over them.
func (g *Gateway) buildBuckets(p *scenarios.Plan, set int) {
	n := 0
	for _, in := range p.Instances {
		if in.Role == scenarios.RoleGateway && in.Set == set && !in.Reserve {
			n++ // the set's gateways at the start: slots a scale-up may start do not count
		}
	}
	rl := p.Scenario.Stack.Gateway.RateLimit
	for k, r := range [3]scenarios.Rate{rl.High, rl.Normal, rl.Low} {
		if r <= 0 {
			continue
		}
		per := r.PerSecond() / float64(max(n, 1))
		burst := max(1, int(math.Round(per*rl.Burst.Std().Seconds())))
		g.buckets[k] = rate.NewLimiter(rate.Limit(per), burst)
	}
}

// Start is the gateway role's node.StartFunc.
func Start(ctx context.Context, env *node.Env) (func(), error) {
	res, err := discovery.New(ctx, env)
	if err != nil {
		return nil, err
	}
	g, err := New(env, Options{Resolver: res})
	if err != nil {
		res.Close()
		return nil, err
	}
	g.Register(env.Server)
	return func() { res.Close(); g.wc.Close() }, nil
}

// Register puts the gateway's handlers on s: POST /v1/call and the admin
// POST /admin/slow?factor=F and GET /admin/load (its concurrency slots
// and their use). A drained gateway (POST /admin/drain) fails /healthz,
// so the access layer stops sending it users, and serves what still
// reaches it.
func (g *Gateway) Register(s *node.Server) {
	s.Mux.Handle("POST "+wire.Path, g)
	s.Admin("POST /admin/slow", g.slow.ServeHTTP)
	s.ServeLoad(func() node.LoadReport {
		return node.LoadReport{Threads: g.adm.conc, BusyNS: g.adm.meter.Busy(), InFlight: g.adm.inFlight(), Queued: g.adm.queued()}
	})
}

// ServeHTTP answers one request: 400 with the problem when it is
// malformed, else the outcome of Handle.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.clock.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxValue+1))
	if err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		g.m.done(-1, wire.Rejected, "bad_request", 0)
		return
	}
	req, err := wire.Decode(r.Header, body)
	if err == nil {
		_, err = g.service(&req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		g.m.done(-1, wire.Rejected, "bad_request", 0)
		return
	}
	rp, why := g.Handle(r.Context(), &req, r.Header.Get(wire.HSig), start)
	rp.CrossSet = rp.CrossSet || req.Crosses(g.set)
	wire.WriteReply(w, rp)
	g.m.done(req.Priority, rp.Outcome, why, g.clock.Now().Sub(start))
}

// service is the service a request goes to: its command's
// (workload.commands) or gateway.upstream without commands. A command
// that is not the scenario's, a priority other than the command's or an
// operation its kind does not allow is an error naming the header.
func (g *Gateway) service(req *wire.Request) (int, error) {
	if g.cmds == nil {
		if req.Command != "" {
			return -1, fmt.Errorf("%s: unknown command %q (the scenario has no workload.commands)", wire.HCommand, req.Command)
		}
		return g.upstream, nil
	}
	c, ok := g.cmds[req.Command]
	switch {
	case req.Command == "":
		return -1, fmt.Errorf("%s: the scenario has workload.commands; a request names one", wire.HCommand)
	case !ok:
		return -1, fmt.Errorf("%s: unknown command %q", wire.HCommand, req.Command)
	case req.Priority != c.prio:
		return -1, fmt.Errorf("%s: command %q is %s priority, got %s", wire.HPriority, req.Command, wire.PriorityNames[c.prio], wire.PriorityNames[req.Priority])
	case c.noWrites && req.Op == wire.Write:
		return -1, fmt.Errorf("%s: command %q only reads, got a write", wire.HOp, req.Command)
	case c.noReads && req.Op == wire.Read:
		return -1, fmt.Errorf("%s: command %q only writes, got a read", wire.HOp, req.Command)
	}
	return c.svc, nil
}

// Handle serves a decoded request that arrived at start with signature
// sig. The work goes on when the caller leaves (a server does not learn it,
// as in the model) but never past the request's deadline. why is the
// reply's reason for metrics: the gateway's own, or "upstream".
func (g *Gateway) Handle(ctx context.Context, req *wire.Request, sig string, start time.Time) (rp wire.Reply, why string) {
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), start.Add(req.Deadline))
	defer cancel()
	g.m.requests.WithLabelValues(wire.PriorityNames[req.Priority]).Inc()
	own := func(o wire.Outcome, reason string) (wire.Reply, string) {
		return wire.Reply{Outcome: o, Reason: reason, Served: g.set}, reason
	}
	if req.Hops >= wire.MaxHops {
		return own(wire.Rejected, "too_many_hops")
	}
	svc, err := g.service(req)
	if err != nil {
		return own(wire.Rejected, "bad_command")
	}
	if g.auth && !wire.Verify(g.secret, req, sig) {
		return own(wire.Rejected, "bad_signature")
	}
	if b := g.buckets[req.Priority]; b != nil && !b.AllowN(g.clock.Now(), 1) {
		return own(wire.RateLimited, "rate_limit")
	}
	if reason := g.adm.acquire(ctx, req.Priority); reason != "" {
		return own(wire.Shed, reason)
	}
	defer g.adm.release()
	// the upstream is picked when the routing work starts, and the request
	// leaves when it ends (gateway.cost, auth.cost), holding the slot
	ep, done, ok := g.pick.Pick(svc)
	g.spend()
	if !ok {
		return own(wire.Unavailable, "no_instance")
	}
	defer done()
	g.noteRoute(ep.Set)
	return g.forward(ctx, req, ep)
}

// spend sleeps the routing and authentication cost times the slow factor;
// CPU work is not cut short by the deadline.
func (g *Gateway) spend() {
	d := time.Duration(float64(g.cost) * g.slow.Factor())
	if d > 0 {
		<-g.clock.After(d)
	}
}

// forward calls ep with the time left: the gateway's timeout or the
// request's remaining deadline, whichever ends first. A call that timed
// out, broke or was refused becomes an error, as an instance answers its
// caller in the model; the upstream's own answers pass through.
func (g *Gateway) forward(ctx context.Context, req *wire.Request, ep Endpoint) (wire.Reply, string) {
	fr := *req
	fr.Hops++
	fr.Deadline = g.timeout
	if dl, ok := ctx.Deadline(); ok {
		fr.Deadline = min(fr.Deadline, dl.Sub(g.clock.Now()))
	}
	rp := g.wc.Call(ctx, ep.Addr, &fr, "")
	if rp.Served < 0 {
		rp.Served = ep.Set
	}
	switch {
	case rp.Outcome == wire.Timeout:
		return wire.Reply{Outcome: wire.Error, Reason: "upstream_timeout", Served: ep.Set}, "upstream_timeout"
	case rp.Outcome == wire.Reset:
		return wire.Reply{Outcome: wire.Error, Reason: "upstream_reset", Served: ep.Set}, "upstream_reset"
	case rp.Outcome == wire.Unavailable && rp.Reason == "refused":
		return wire.Reply{Outcome: wire.Error, Reason: "upstream_refused", Served: ep.Set}, "upstream_refused"
	}
	return rp, "upstream"
}

// noteRoute emits a route event when the gateway starts sending to another
// set than its own (none of its own is in discovery) and when it comes
// back; moves between other sets are not events.
func (g *Gateway) noteRoute(set int) {
	to := int64(set)
	if set == g.set {
		to = -1
	}
	if from := g.away.Swap(to); from != to && (from < 0 || to < 0) {
		f, t := g.set, set
		if from >= 0 {
			f = int(from)
		}
		g.events.Emit(node.EvRoute, set, 0, g.setNames[f]+"->"+g.setNames[t])
		g.log.Info("gateway route", "from", g.setNames[f], "to", g.setNames[t])
	}
}
