package load

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripelab/stripelab/components/checker"
	"github.com/stripelab/stripelab/components/network/hrtimer"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/internal/draw"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// Config is one run's load.
type Config struct {
	Plan *scenarios.Plan
	// Secret signs every request (wire.Sign).
	Secret []byte
	// Seed derives the arrival, user, client and routing streams.
	Seed uint64
	// Addr is where the users of city reach gateway instance gateway (their link).
	Addr func(city, gateway int) string
	// Transport sends attempts and health checks; nil is NewHTTP().
	Transport Transport
	// Start is the run's time zero (arrivals are due from it for the run's
	// duration); zero means when Run is called.
	Start time.Time
	// Record receives every finished request; it must be safe for
	// concurrent use (the runner locks its Recorder).
	Record func(reports.Request)
	// Log, when set, receives every acknowledged write.
	Log *checker.Log
	// OnRoute, when set, is told of every change the access layer acts on.
	OnRoute func(RouteChange)
	// HealthEvery is the health-check period of each gateway for each
	// city. Default 100ms.
	HealthEvery time.Duration
	// HealthTimeout bounds a check over a link with no delay; four times
	// the link's one-way delay is added. Default 200ms.
	HealthTimeout time.Duration
	// DownAfter is how many failed checks in a row make a gateway seen
	// down (one success makes it seen up). Default 2.
	DownAfter int
	// After wakes the arrival loops and backoffs: a channel closed after d
	// and a stop that cancels it. Nil is HRAfter (sub-millisecond
	// precision); tests in a synctest bubble pass RuntimeAfter, whose time
	// the bubble fakes.
	After func(d time.Duration) (<-chan struct{}, func())
}

// HRAfter is After on hrtimer.
func HRAfter(d time.Duration) (<-chan struct{}, func()) {
	t := hrtimer.NewTimer(d)
	return t.C, t.Stop
}

// RuntimeAfter is After on the runtime's timers.
func RuntimeAfter(d time.Duration) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	t := time.AfterFunc(d, func() { close(ch) })
	return ch, func() { t.Stop() }
}

// Generator is the open-loop load of every city of a run.
type Generator struct {
	cfg    Config
	p      *scenarios.Plan
	tr     Transport
	acc    *access
	member atomic.Pointer[[]bool] // sets in service (rendezvous homing); nil: the plan's homing
	prof   draw.Profile
	cities []*city
	cmds   []command
	seq    atomic.Uint64
	lag    *lagStats
	start  time.Time
	end    int64 // ns after start: the run's duration
	wg     sync.WaitGroup
}

// command is what the client does per workload command: the name and the
// attempt timeout and retries it sends with. Without workload.commands one
// command with no name stands for every request (workload.client's timeout
// and retries), as the simulator's.
type command struct {
	name    string
	timeout time.Duration
	retries int
}

func commands(p *scenarios.Plan) []command {
	cl := &p.Scenario.Workload.Client
	if len(p.Commands) == 0 {
		return []command{{timeout: cl.Timeout.Std(), retries: cl.Retries}}
	}
	var cs []command
	for _, cp := range p.Commands {
		cs = append(cs, command{name: cp.Name, timeout: cp.Timeout.Std(), retries: cp.Retries})
	}
	return cs
}

// city is the users of one city: their arrival process and retry budget.
type city struct {
	idx          int
	first, count int
	rate         float64 // per second at level 1, before overload
	reqs         draw.Requests
	arr, users   *rand.Rand // the city's arrival goroutine only

	mu       sync.Mutex
	client   *rand.Rand
	budget   float64
	tokens   float64
	tokenCap float64
	overload float64
	changed  chan struct{}
}

// New prepares the generator of a plan.
func New(cfg Config) (*Generator, error) {
	if cfg.Plan == nil || cfg.Addr == nil || cfg.Record == nil {
		return nil, errors.New("load: a config needs Plan, Addr and Record")
	}
	if cfg.HealthEvery <= 0 {
		cfg.HealthEvery = 100 * time.Millisecond
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 200 * time.Millisecond
	}
	if cfg.DownAfter <= 0 {
		cfg.DownAfter = 2
	}
	if cfg.Transport == nil {
		cfg.Transport = NewHTTP()
	}
	if cfg.After == nil {
		cfg.After = HRAfter
	}
	p := cfg.Plan
	s := p.Scenario
	g := &Generator{cfg: cfg, p: p, tr: cfg.Transport, prof: draw.NewProfile(&s.Workload.Profile),
		end: int64(s.Run.Duration), lag: newLagStats(int64(s.Run.Window), int64(s.Run.Duration))}
	g.acc = newAccess(p, cfg.Seed, cfg.OnRoute)
	if p.Rehashed() {
		m := make([]bool, len(p.Sets))
		for i := range m {
			m[i] = !p.Sets[i].Reserve
		}
		g.member.Store(&m)
	}
	g.cmds = commands(p)
	for i := range p.Cities {
		g.cities = append(g.cities, newCity(p, cfg.Seed, i))
	}
	return g, nil
}

func stream(seed, id uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, draw.StreamSeq(id)))
}

func newCity(p *scenarios.Plan, seed uint64, i int) *city {
	s := p.Scenario
	ur := p.UserCities[i]
	c := &city{idx: i, first: ur.First, count: ur.Count, overload: 1, changed: make(chan struct{}, 1),
		arr: stream(seed, draw.StreamArrivals+uint64(i)), users: stream(seed, draw.StreamUsers+uint64(i)), client: stream(seed, draw.StreamClient+uint64(i))}
	c.reqs = draw.NewRequests(&s.Workload, ur.Count, p.Commands)
	share := p.Cities[i].Share
	c.rate = float64(s.Workload.Rate) * share
	c.budget = s.Workload.Client.RetryBudget.Fraction()
	c.tokenCap = 10 + c.budget*float64(s.Workload.Rate)*share*10
	c.tokens = c.tokenCap
	return c
}

// Horizon is the longest a request can live: every attempt's timeout and
// every backoff at its cap (the Recorder's horizon), for the command that
// lives longest (workload.client without commands).
func Horizon(s *scenarios.Scenario) time.Duration {
	cl := &s.Workload.Client
	life := func(timeout scenarios.Duration, retries int) time.Duration {
		h := time.Duration(timeout) * time.Duration(retries+1)
		for k := 1; k <= retries; k++ {
			h += time.Duration(math.Min(float64(cl.Backoff.Base)*math.Pow(2, float64(k-1)), float64(cl.Backoff.Max)))
		}
		return h
	}
	h := life(cl.Timeout, cl.Retries)
	for _, c := range s.Workload.Commands {
		h = max(h, life(c.Timeout, c.Retries))
	}
	return h
}

// Start is the run's time zero (set once Run has begun).
func (g *Generator) Start() time.Time { return g.start }

// SetOverload multiplies the offered rate of city c (every city when c < 0)
// by factor from now on (overload faults; 1 reverts). The part of the gap
// to the next arrival not yet run is stretched or shrunk to the new rate.
func (g *Generator) SetOverload(c int, factor float64) {
	for _, ct := range g.cities {
		if c >= 0 && ct.idx != c {
			continue
		}
		ct.mu.Lock()
		ct.overload = factor
		ct.mu.Unlock()
		select {
		case ct.changed <- struct{}{}:
		default:
		}
	}
}

// Overload is city c's current factor.
func (g *Generator) Overload(c int) float64 {
	ct := g.cities[c]
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.overload
}

// Healthy reports whether the access layer sends users of city c to gateway instance gw.
func (g *Generator) Healthy(c, gw int) bool { return g.acc.healthy(c, gw) }

// Sent is the number of requests started so far.
func (g *Generator) Sent() uint64 { return g.seq.Load() }

// Run offers the load from Start for the run's duration, then waits for
// the requests in flight and returns. When ctx ends first, arrivals stop
// and requests still in flight are recorded as Unknown; Run returns
// ctx.Err() once every goroutine it started has ended.
func (g *Generator) Run(ctx context.Context) error {
	g.start = g.cfg.Start
	if g.start.IsZero() {
		g.start = time.Now()
	}
	hctx, stopChecks := context.WithCancel(ctx)
	var checks sync.WaitGroup
	for c := range g.p.Cities {
		for _, gw := range g.acc.gws {
			d := time.Duration(g.p.ClientDelay(c, g.p.Instances[gw].Machine))
			checks.Add(1)
			go func() {
				defer checks.Done()
				g.acc.checkLoop(hctx, g.tr, g.cfg.Addr(c, gw), c, gw, g.cfg.HealthEvery, defaultHealthTimeout(g.cfg.HealthTimeout, d), g.cfg.DownAfter)
			}()
		}
	}
	var arrivals sync.WaitGroup
	for _, c := range g.cities {
		arrivals.Add(1)
		go func() {
			defer arrivals.Done()
			g.arrivals(ctx, c)
		}()
	}
	arrivals.Wait()
	g.wg.Wait()
	stopChecks()
	checks.Wait()
	g.acc.stop()
	if h, ok := g.tr.(*HTTP); ok && g.cfg.Transport == nil {
		h.Close()
	}
	return ctx.Err()
}

// now is the time since Start in ns.
func (g *Generator) now() int64 { return int64(time.Since(g.start)) }

// gap draws the expected arrivals to the next one, in ns at level 1 at the
// city's current rate (Poisson: exponential; uniform: one).
func (g *Generator) gap(c *city, rate float64) float64 {
	x := 1e9 / rate
	if g.p.Scenario.Workload.Arrivals != "uniform" {
		x *= c.arr.ExpFloat64()
	}
	return x
}

func (c *city) factor() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.overload
}

// arrivals runs one city's arrival process: each arrival is dispatched at
// its intended time (at once when the loop is behind: none is skipped).
func (g *Generator) arrivals(ctx context.Context, c *city) {
	if c.rate <= 0 || c.count == 0 {
		return
	}
	f := c.factor()
	from, x := int64(0), g.gap(c, c.rate*f)
	for {
		t, ok := g.prof.Due(from, x, g.end)
		if !ok {
			return
		}
		if wait := time.Until(g.start.Add(time.Duration(t))); wait > 0 {
			due, stop := g.cfg.After(wait)
			select {
			case <-ctx.Done():
				stop()
				return
			case <-c.changed:
				stop()
				now := g.now()
				nf := c.factor()
				left := x - g.prof.Integral(from, now)
				from, x = now, max(left, 0)*f/nf
				f = nf
				continue
			case <-due:
			}
		}
		if ctx.Err() != nil {
			return
		}
		g.dispatch(ctx, c, t)
		from, x = t, g.gap(c, c.rate*f)
	}
}

// dispatch draws the request's user, command, priority and operation and
// starts it.
func (g *Generator) dispatch(ctx context.Context, c *city, t int64) {
	local, prio, write, cmd := c.reqs.Next(c.users)
	c.mu.Lock()
	c.tokens = math.Min(c.tokenCap, c.tokens+c.budget)
	c.mu.Unlock()
	n := g.seq.Add(1)
	g.wg.Add(1)
	go g.request(ctx, c, n, c.first+local, prio, cmd, write, t)
}

// SetMember puts set s in service (in) or out of it: from now on users
// are homed by rendezvous hashing over the sets in service, as the
// simulator does once the access layer routes to an added set (or away
// from a removed one). Only for plans that rehash (Plan.Rehashed).
func (g *Generator) SetMember(s int, in bool) {
	old := g.member.Load()
	if old == nil {
		return
	}
	m := append([]bool(nil), (*old)...)
	m[s] = in
	g.member.Store(&m)
}

// homeOf is the home set of a user of city c now.
func (g *Generator) homeOf(c, user int) int {
	m := g.member.Load()
	if m == nil {
		return g.p.HomeSet(c, user)
	}
	return g.p.Rendezvous(g.p.Cities[c].Sets, user, func(s int) bool { return (*m)[s] })
}

// attempt is what one request carries across its attempts.
type attempt struct {
	c                *city
	n                uint64
	user, prio, home int
	cmd              int // index into Generator.cmds
	shard            int
	write            bool
	send             int64
	cross, crossSet  bool
}

// request runs one request's attempts: each through the access layer to a
// gateway, retried per the client policy (the command's retries); under
// stack.resilience.hedging each try is a round of hedged attempts.
func (g *Generator) request(ctx context.Context, c *city, n uint64, user, prio, cmd int, write bool, send int64) {
	defer g.wg.Done()
	a := &attempt{c: c, n: n, user: user, prio: prio, cmd: cmd, write: write, send: send, home: g.homeOf(c.idx, user), shard: -1}
	if len(g.p.Shards) > 0 {
		a.shard = g.p.ShardOf(c.idx, user)
	}
	cl := &g.p.Scenario.Workload.Client
	k := 0 // attempts started, hedges included
	for retried := 0; ; retried++ {
		ans := g.round(ctx, a, &k)
		a.cross, a.crossSet = a.cross || ans.cross, a.crossSet || ans.crossSet
		out, rp := ans.out, ans.rp
		if ctx.Err() != nil {
			g.record(a, reports.Unknown, k, rp.Wrote)
			return
		}
		if out == reports.OK && rp.Wrote && g.cfg.Log != nil {
			sh := a.shard
			if rp.Shard > 0 {
				sh = rp.Shard - 1 // the shard that took it: a moved key's writes are read back there
			}
			g.cfg.Log.Add(checker.Write{ID: ans.id, User: user, City: c.idx, Shard: sh, Key: uint64(user), Time: g.now()})
		}
		if out == reports.OK || retried >= g.cmds[cmd].retries || !retryable(cl.RetryOn, out) || !c.takeToken() {
			g.record(a, out, k, rp.Wrote)
			return
		}
		if !g.sleep(ctx, c.backoff(&cl.Backoff, retried+1)) {
			g.record(a, reports.Unknown, k, false)
			return
		}
	}
}

// answer is one attempt's end: its outcome, the reply, its id and the
// hops it took outside the user's city or home set.
type answer struct {
	out             reports.Outcome
	rp              wire.Reply
	id              string
	cross, crossSet bool
}

// round sends one try of a: a single attempt, or under hedging (gRPC's
// policy, as the simulator's) an attempt and, while it has no answer
// after the hedge delay and a retry token is left, another, up to
// max_attempts in all. The first OK answer wins and the client stops
// waiting for the others, which are not cancelled (servers do not learn
// that callers left); when every attempt failed the last failure is the
// round's. *k counts the attempts started.
func (g *Generator) round(ctx context.Context, a *attempt, k *int) answer {
	h := g.hedging()
	if h == nil {
		*k++
		return g.try(ctx, a, *k)
	}
	ch := make(chan answer, h.MaxAttempts)
	live := 0
	var due <-chan struct{}
	stop := func() {}
	start := func() {
		*k++
		live++
		g.wg.Add(1)
		go func(n int) { defer g.wg.Done(); ch <- g.try(ctx, a, n) }(*k)
		stop()
		due, stop = nil, func() {}
		if *k < h.MaxAttempts {
			due, stop = g.cfg.After(h.Delay.Std())
		}
	}
	defer func() { stop() }()
	start()
	var last answer
	for live > 0 {
		select {
		case ans := <-ch:
			live--
			if ans.out == reports.OK {
				return ans
			}
			last = ans
		case <-due:
			due = nil
			if a.c.takeToken() { // hedges and retries share the token bucket
				start()
			}
		}
	}
	return last
}

// hedging is the scenario's hedging policy, nil when there is none.
func (g *Generator) hedging() *scenarios.Hedging {
	if r := g.p.Scenario.Stack.Resilience; r != nil && r.Hedging != nil && r.Hedging.MaxAttempts > 1 {
		return r.Hedging
	}
	return nil
}

// try sends attempt k of a; it reads a but writes nothing of it, so the
// attempts of a hedged round may run at once.
func (g *Generator) try(ctx context.Context, a *attempt, k int) answer {
	set, gw := g.acc.route(a.c.idx, a.user, a.home)
	if k == 1 {
		g.lag.record(a.send, g.now()-a.send)
	}
	if gw < 0 {
		return answer{out: reports.Unavailable, rp: wire.Reply{Served: -1}}
	}
	var ans answer
	if g.p.Machines[g.p.Instances[gw].Machine].City != a.c.idx {
		ans.cross = true
	}
	if set != a.home {
		ans.crossSet = true
	}
	id := strconv.FormatUint(a.n, 10) + "." + strconv.Itoa(k)
	cm := &g.cmds[a.cmd]
	r := wire.Request{ID: id, User: a.user, City: a.c.idx, Priority: a.prio, Key: uint64(a.user),
		Command: cm.name, Deadline: cm.timeout, Home: a.home + 1}
	if a.write {
		r.Op, r.Value = wire.Write, []byte(id)
	}
	rp := g.tr.Call(ctx, g.cfg.Addr(a.c.idx, gw), &r, wire.Sign(g.cfg.Secret, &r))
	if (rp.Served >= 0 && rp.Served != a.home) || rp.CrossSet {
		ans.crossSet = true
	}
	ans.out, ans.rp, ans.id = Outcome(rp.Outcome), rp, id
	return ans
}

func (g *Generator) record(a *attempt, out reports.Outcome, attempts int, wrote bool) {
	g.cfg.Record(reports.Request{
		Send: a.send, Latency: g.now() - a.send, User: int32(a.user), Set: int32(a.home), City: int16(a.c.idx),
		Priority: uint8(a.prio), Command: uint8(a.cmd), Outcome: out, Attempts: uint8(attempts), Cross: a.cross, CrossSet: a.crossSet, Write: wrote,
	})
}

// Outcome maps a wire outcome to the Recorder's: rejected, error and a
// reset connection are failures; a timeout is a timeout.
func Outcome(o wire.Outcome) reports.Outcome {
	switch o {
	case wire.OK:
		return reports.OK
	case wire.Shed:
		return reports.Shed
	case wire.RateLimited:
		return reports.RateLimited
	case wire.Unavailable:
		return reports.Unavailable
	case wire.Timeout:
		return reports.Timeout
	}
	return reports.Failed
}

// retryable reports whether retry_on lists the outcome; "error" covers
// every failure (rejected, error, reset), as the simulator's error status.
func retryable(on []string, out reports.Outcome) bool {
	for _, o := range on {
		switch {
		case o == "timeout" && out == reports.Timeout,
			o == "error" && out == reports.Failed,
			o == "unavailable" && out == reports.Unavailable,
			o == "shed" && out == reports.Shed,
			o == "rate-limited" && out == reports.RateLimited:
			return true
		}
	}
	return false
}

// takeToken spends one retry token of the city's budget (no budget: always).
func (c *city) takeToken() bool {
	if c.budget == 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// backoff is the wait before attempt n+1: base doubled per attempt,
// capped, with the configured jitter.
func (c *city) backoff(b *scenarios.Backoff, n int) time.Duration {
	wait := math.Min(float64(b.Base)*math.Pow(2, float64(n-1)), float64(b.Max))
	c.mu.Lock()
	u := c.client.Float64()
	c.mu.Unlock()
	switch b.Jitter {
	case "full":
		wait *= u
	case "equal":
		wait = wait/2 + wait/2*u
	}
	return time.Duration(wait)
}

func (g *Generator) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	due, stop := g.cfg.After(d)
	defer stop()
	select {
	case <-ctx.Done():
		return false
	case <-due:
		return true
	}
}
