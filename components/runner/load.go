package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stripelab/stripelab/components/checker"
	"github.com/stripelab/stripelab/components/load"
	"github.com/stripelab/stripelab/reports"
)

// Load is the runner's view of the load generator (components/load): the
// regional access layer of every city, sending the scenario's workload
// through the users' links and recording every request.
type Load interface {
	// Scale multiplies city c's offered rate by f (an overload fault; 1/f undoes it).
	Scale(c int, f float64)
	// SetMember puts set s in service or out of it for the users' homing.
	SetMember(s int, in bool)
	// Done is closed once the generator offered the whole run and every
	// request in flight is recorded (or ctx ended).
	Done() <-chan struct{}
	// Writes is the acknowledged-write log.
	Writes() []checker.Write
	// Finish stores the generator's own figures (its lag) in the result.
	Finish(r *runner)
	// Close releases what the generator holds.
	Close()
}

// LagLimit is the generator lag beyond which a window is flagged: there
// the generator, not the system, may have set the pace.
const LagLimit = time.Millisecond

// newLoad starts the load generator at r.t0; it sends until the run's
// duration (or ctx) ends.
var newLoad = func(ctx context.Context, r *runner) (Load, error) {
	gl := &genLoad{log: &checker.Log{}, done: make(chan struct{})}
	g, err := load.New(load.Config{
		Plan: r.plan, Secret: []byte(r.run.Secret), Seed: r.run.Seed, Start: r.t0,
		Addr:    r.host.UserListen,
		Record:  func(q reports.Request) { r.rec.Record(&q) },
		Log:     gl.log,
		OnRoute: r.onRoute,
	})
	if err != nil {
		return nil, err
	}
	gl.g = g
	go func() { defer close(gl.done); g.Run(ctx) }()
	return gl, nil
}

type genLoad struct {
	g    *load.Generator
	log  *checker.Log
	done chan struct{}
}

func (l *genLoad) Scale(c int, f float64)   { l.g.SetOverload(c, l.g.Overload(c)*f) }
func (l *genLoad) Done() <-chan struct{}    { return l.done }
func (l *genLoad) SetMember(s int, in bool) { l.g.SetMember(s, in) }
func (l *genLoad) Writes() []checker.Write  { return l.log.Writes() }
func (l *genLoad) Close()                   { <-l.done }

func (l *genLoad) Finish(r *runner) {
	lag := l.g.Lag()
	r.rec.SetEngine("requests_sent", int64(l.g.Sent()))
	r.rec.SetEngine("generator_lag_p50_us", lag.P50.Microseconds())
	r.rec.SetEngine("generator_lag_p99_us", lag.P99.Microseconds())
	r.rec.SetEngine("generator_lag_max_us", lag.Max.Microseconds())
	bad := lag.Bottleneck(LagLimit)
	r.rec.SetEngine("generator_lag_windows", int64(len(bad)))
	if len(bad) > 0 {
		var ws []string
		for _, w := range bad {
			ws = append(ws, fmt.Sprintf("%ds", int64(w)*int64(r.plan.Scenario.Run.Window)/int64(time.Second)))
		}
		if len(ws) > 12 {
			ws = append(ws[:12], fmt.Sprintf("and %d more", len(ws)-12))
		}
		r.rec.Event(int64(bad[0])*int64(r.plan.Scenario.Run.Window), "generator-lag", -1,
			"the load generator sent more than %s late in %d windows (from %s): there it, not the system, may have set the pace",
			LagLimit, len(bad), strings.Join(ws, ", "))
	}
	r.log("generator: %d requests, lag p50 %s p99 %s max %s, %d windows over %s", l.g.Sent(), lag.P50, lag.P99, lag.Max, len(bad), LagLimit)
}

// onRoute turns the access layer's moves into milestones: the health
// checks saw a gateway down (detected), it stopped sending users there
// (re-routed), and when its set was left with no gateway its users were
// re-homed (failover done).
func (r *runner) onRoute(rc load.RouteChange) {
	t, seen := rc.Time.Sub(r.t0).Nanoseconds(), rc.Seen.Sub(r.t0).Nanoseconds()
	p := r.plan
	what := fmt.Sprintf("access layer of %s: gateway %d (%s) %s", p.Cities[rc.City].Name, rc.Gateway, p.Sets[rc.Set].Name, map[bool]string{true: "up", false: "down"}[rc.Up])
	if rc.Emptied {
		r.rec.Event(t, reports.EvRehomed, -1, "users of %s homed on %s re-homed", p.Cities[rc.City].Name, p.Sets[rc.Set].Name)
	}
	if rc.Up {
		r.scale.seen(rc.Gateway, t) // routed to: rehome_delay after its health checks passed
		return
	}
	for f := range p.Faults {
		pf := &p.Faults[f]
		if seen < pf.Start || seen > pf.End {
			continue
		}
		r.mu.Lock()
		killed := r.fstate[f].killed[rc.Gateway]
		r.mu.Unlock()
		if !killed && !contains(pf.Sets, rc.Set) {
			continue
		}
		r.rec.Detected(f, seen, what+" seen by its health checks")
		r.rec.Rerouted(f, t, what+": users sent elsewhere")
		if rc.Emptied {
			r.rec.FailoverDone(f, t, fmt.Sprintf("access layer re-homed the users of %s", p.Sets[rc.Set].Name))
		}
	}
}
