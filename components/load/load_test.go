package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/checker"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

func planOf(t testing.TB, yaml string) *scenarios.Plan {
	t.Helper()
	f, err := scenarios.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return scenarios.NewPlan(f)
}

// scenario is a small two-city stack; extra is appended under workload
// or as top-level keys via the format verbs.
func scenario(workload, access string) string {
	return fmt.Sprintf(`name: load-test
run: {duration: 10s, warmup: 0s, window: 1s}
topology:
  cities:
    - {name: a, azs: 2, racks: 1, machines: 2}
    - {name: b, azs: 1, racks: 1, machines: 2}
  latency: {client: 2ms, cross_city: 10ms}
striping: {granularity: az}
stack:
  access: {%s}
  gateway: {instances: 2}
  discovery: {mode: mesh}
  services:
    - {name: api, instances: 1}
  data: {mode: none}
workload:
%s
`, access, workload)
}

// fake is an in-memory gateway: reply decides each attempt's answer after
// a service time; down says whether a gateway fails its health checks.
type fake struct {
	mu      sync.Mutex
	calls   map[string]int // addr -> attempts
	service time.Duration
	reply   func(r *wire.Request) wire.Reply
	down    func(addr string) bool
	sigOK   func(r *wire.Request, sig string) bool
	bad     atomic.Int64
}

func (f *fake) Call(ctx context.Context, addr string, r *wire.Request, sig string) wire.Reply {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[addr]++
	f.mu.Unlock()
	if f.sigOK != nil && !f.sigOK(r, sig) {
		f.bad.Add(1)
	}
	if f.down != nil && f.down(addr) {
		return wire.Reply{Outcome: wire.Unavailable, Reason: "refused", Served: -1}
	}
	if f.service > 0 {
		t := time.NewTimer(min(f.service, r.Deadline))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return wire.Reply{Outcome: wire.Timeout, Served: -1}
		case <-t.C:
		}
		if f.service >= r.Deadline {
			return wire.Reply{Outcome: wire.Timeout, Served: -1}
		}
	}
	if f.reply != nil {
		return f.reply(r)
	}
	return wire.Reply{Outcome: wire.OK, Served: -1, Wrote: r.Op == wire.Write}
}

func (f *fake) Health(ctx context.Context, addr string) error {
	if f.down != nil && f.down(addr) {
		return errors.New("down")
	}
	return nil
}

func (f *fake) count(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[addr]
}

// collect is a concurrent-safe Record.
type collect struct {
	mu   sync.Mutex
	reqs []reports.Request
}

func (c *collect) record(r reports.Request) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r)
	c.mu.Unlock()
}

func addr(city, gw int) string { return fmt.Sprintf("c%d-g%d", city, gw) }

func run(t *testing.T, p *scenarios.Plan, tr Transport, mod func(*Config)) (*Generator, *collect) {
	t.Helper()
	col := &collect{}
	cfg := Config{Plan: p, Secret: []byte("s"), Seed: 1, Addr: addr, Transport: tr, Record: col.record, After: RuntimeAfter}
	if mod != nil {
		mod(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g, col
}

// TestArrivalsFollowTheIntegral: uniform arrivals number the integral of
// the rate to within one per city; Poisson ones are within 4 standard
// deviations of it; a ramp from 0 offers half of a constant profile.
func TestArrivalsFollowTheIntegral(t *testing.T) {
	cases := []struct {
		name, workload string
		want           float64 // the integral over the run (10s)
		exact          bool
	}{
		{"uniform", "  rate: 300/s\n  arrivals: uniform", 3000, true},
		{"poisson", "  rate: 300/s\n  arrivals: poisson", 3000, false},
		{"ramp", "  rate: 300/s\n  arrivals: uniform\n  profile: {shape: ramp, from: 0%, to: 100%}", 1500, true},
		{"step", "  rate: 300/s\n  arrivals: poisson\n  profile: {shape: step, steps: [{at: 5s, level: 200%}]}", 4500, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := planOf(t, scenario(tc.workload, "rehome_delay: 1s"))
				_, col := run(t, p, &fake{}, nil)
				got := float64(len(col.reqs))
				tol := 4 * math.Sqrt(tc.want)
				if tc.exact {
					tol = float64(len(p.Cities))
				}
				if math.Abs(got-tc.want) > tol {
					t.Fatalf("%v arrivals, want %v within %.0f", got, tc.want, tol)
				}
				for _, r := range col.reqs {
					if r.Latency != 0 || r.Outcome != reports.OK || r.Attempts != 1 {
						t.Fatalf("an instant OK gateway gave %+v", r)
					}
				}
			})
		})
	}
}

// TestLatencyFromIntendedTime: latency runs from the intended send time and
// covers the service time; the generator's lag is zero in a bubble.
func TestLatencyFromIntendedTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 100/s", "rehome_delay: 1s"))
		g, col := run(t, p, &fake{service: 7 * time.Millisecond}, nil)
		for _, r := range col.reqs {
			if r.Latency != int64(7*time.Millisecond) {
				t.Fatalf("latency %v, want the 7ms service time", time.Duration(r.Latency))
			}
		}
		if l := g.Lag(); l.Count != int64(len(col.reqs)) || l.Max > time.Microsecond {
			t.Fatalf("lag %+v for %d requests", l, len(col.reqs))
		}
	})
}

// TestRetries: a gateway that is always unavailable gets 1 + retries
// attempts per request without a budget, each after its backoff; with a
// budget the retries are at most the budget's share of first attempts
// plus the bucket's initial depth.
func TestRetries(t *testing.T) {
	wl := func(budget string) string {
		return "  rate: 200/s\n  arrivals: uniform\n  client: {timeout: 100ms, retries: 2, retry_budget: " + budget +
			", backoff: {base: 10ms, max: 1s, jitter: none}, retry_on: [unavailable]}"
	}
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario(wl("0%"), "rehome_delay: 1s"))
		tr := &fake{reply: func(*wire.Request) wire.Reply { return wire.Reply{Outcome: wire.Unavailable, Served: -1} }}
		_, col := run(t, p, tr, nil)
		for _, r := range col.reqs {
			if r.Attempts != 3 || r.Outcome != reports.Unavailable || r.Latency != int64(30*time.Millisecond) {
				t.Fatalf("%+v: want 3 attempts, unavailable, after 10ms+20ms of backoff", r)
			}
		}
	})
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario(wl("10%"), "rehome_delay: 1s"))
		tr := &fake{reply: func(*wire.Request) wire.Reply { return wire.Reply{Outcome: wire.Unavailable, Served: -1} }}
		_, col := run(t, p, tr, nil)
		first, retries := 0, 0
		for _, r := range col.reqs {
			first++
			retries += int(r.Attempts) - 1
		}
		// each city's bucket starts full at 10 + 10% x its rate x 10s
		cap := 0.0
		for _, c := range p.Cities {
			cap += 10 + 0.1*200*c.Share*10
		}
		if lim := cap + 0.1*float64(first) + 1; float64(retries) > lim || retries == 0 {
			t.Fatalf("%d retries for %d requests, want 1 to %.0f", retries, first, lim)
		}
	})
}

// TestRetryOn: a timeout is not retried unless retry_on lists it.
func TestRetryOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 50/s\n  client: {timeout: 20ms, retries: 3, retry_on: [unavailable]}", "rehome_delay: 1s"))
		_, col := run(t, p, &fake{service: time.Second}, nil)
		for _, r := range col.reqs {
			if r.Attempts != 1 || r.Outcome != reports.Timeout || r.Latency != int64(20*time.Millisecond) {
				t.Fatalf("%+v: want one attempt timing out at 20ms", r)
			}
		}
	})
}

// TestRehome: the gateways of one set of city a fail their health checks
// from 3s; the access layer acts rehome_delay after its checks saw it,
// within DownAfter+1 check periods of the failure, and then sends the
// set's users to the other set of their city.
func TestRehome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 200/s", "rehome_delay: 2s, failback: false"))
		set0 := p.Cities[0].Sets[0]
		dead := map[string]bool{}
		for gi, in := range p.Instances {
			if in.Role == scenarios.RoleGateway && in.Set == set0 {
				for c := range p.Cities {
					dead[addr(c, gi)] = true
				}
			}
		}
		var start time.Time
		failAt := 3 * time.Second
		tr := &fake{down: func(a string) bool {
			return dead[a] && time.Since(start) >= failAt && time.Since(start) < 6*time.Second
		}}
		var mu sync.Mutex
		var changes []RouteChange
		start = time.Now()
		_, col := run(t, p, tr, func(c *Config) {
			c.Start = start
			c.OnRoute = func(rc RouteChange) { mu.Lock(); changes = append(changes, rc); mu.Unlock() }
		})
		every := 100 * time.Millisecond
		var emptied *RouteChange
		for i, rc := range changes {
			if rc.Up {
				t.Fatalf("failback is off, yet %+v", rc)
			}
			seen := rc.Seen.Sub(start)
			if seen < failAt || seen > failAt+3*every {
				t.Fatalf("seen at %v, want within 3 checks of %v", seen, failAt)
			}
			if d := rc.Time.Sub(rc.Seen); d != 2*time.Second {
				t.Fatalf("acted %v after seen, want the rehome_delay of 2s", d)
			}
			if rc.Emptied && rc.City == 0 {
				emptied = &changes[i]
			}
		}
		if emptied == nil {
			t.Fatalf("set %d was never emptied for city a: %+v", set0, changes)
		}
		moved := emptied.Time.Sub(start).Nanoseconds()
		for _, r := range col.reqs {
			if r.City != 0 || int(r.Set) != set0 {
				continue
			}
			switch {
			case r.Send < int64(failAt) && r.Outcome != reports.OK:
				t.Fatalf("before the failure: %+v", r)
			case r.Send > moved && (r.Outcome != reports.OK || !r.CrossSet || r.Cross):
				t.Fatalf("after the re-homing, want OK in the other set of the city: %+v", r)
			}
		}
	})
}

// TestOverload: tripling city rates from half-time offers twice the
// arrivals of a constant run.
func TestOverload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 300/s\n  arrivals: uniform", "rehome_delay: 1s"))
		col := &collect{}
		g, err := New(Config{Plan: p, Secret: []byte("s"), Addr: addr, Transport: &fake{}, Record: col.record, After: RuntimeAfter})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(5 * time.Second)
			g.SetOverload(-1, 3)
		}()
		if err := g.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := 300*5 + 900*5.0
		if got := float64(len(col.reqs)); math.Abs(got-want) > 4 {
			t.Fatalf("%v arrivals, want %v", got, want)
		}
	})
}

// TestWritesLogged: every OK reply saying Wrote is in the checker log with
// the id of its attempt, and only those; signatures verify.
func TestWritesLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 200/s\n  mix: {read: 50%, write: 50%}", "rehome_delay: 1s"))
		log := &checker.Log{}
		tr := &fake{sigOK: func(r *wire.Request, sig string) bool { return wire.Verify([]byte("s"), r, sig) }}
		_, col := run(t, p, tr, func(c *Config) { c.Log = log })
		writes := 0
		for _, r := range col.reqs {
			if r.Write {
				writes++
			}
		}
		if writes == 0 || log.Len() != writes {
			t.Fatalf("%d acknowledged writes, %d logged", writes, log.Len())
		}
		if tr.bad.Load() != 0 {
			t.Fatalf("%d bad signatures", tr.bad.Load())
		}
		for _, w := range log.Writes() {
			if w.Shard != -1 || w.ID == "" {
				t.Fatalf("logged %+v (data mode none has no shard)", w)
			}
		}
	})
}

// TestCancelRecordsUnknown: requests in flight when the context ends are
// recorded as unknown and Run returns.
func TestCancelRecordsUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 100/s\n  client: {timeout: 5s}", "rehome_delay: 1s"))
		col := &collect{}
		g, _ := New(Config{Plan: p, Addr: addr, Transport: &fake{service: 3 * time.Second}, Record: col.record, After: RuntimeAfter})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := g.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run: %v", err)
		}
		if len(col.reqs) == 0 {
			t.Fatal("nothing recorded")
		}
		for _, r := range col.reqs {
			if r.Outcome != reports.Unknown {
				t.Fatalf("%+v: want unknown", r)
			}
		}
	})
}

// TestDraws: priorities, the read/write mix and users follow the workload:
// shares within 4 standard deviations, every user inside its city's
// range, the city shares of traffic as by_city, and under Zipf the
// hottest user far above the uniform share.
func TestDraws(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wl := `  rate: 1000/s
  users: {count: 1000, by_city: {a: 75%, b: 25%}}
  mix: {read: 70%, write: 30%}
  priorities: {high: 20%, normal: 50%, low: 30%}
  keys: {distribution: zipf, s: 1.2}`
		p := planOf(t, scenario(wl, "rehome_delay: 1s"))
		_, col := run(t, p, &fake{}, nil)
		n := float64(len(col.reqs))
		within := func(what string, got, share float64) {
			t.Helper()
			sd := math.Sqrt(n * share * (1 - share))
			if math.Abs(got-n*share) > 4*sd {
				t.Fatalf("%s: %v of %v, want %v +- %.0f", what, got, n, n*share, 4*sd)
			}
		}
		var prio [3]float64
		var writes, cityA float64
		perUser := map[int32]int{}
		for _, r := range col.reqs {
			prio[r.Priority]++
			if r.Write {
				writes++
			}
			ur := p.UserCities[r.City]
			if int(r.User) < ur.First || int(r.User) >= ur.First+ur.Count {
				t.Fatalf("user %d outside city %d's range %+v", r.User, r.City, ur)
			}
			if r.City == 0 {
				cityA++
			}
			perUser[r.User]++
		}
		within("high", prio[0], 0.2)
		within("normal", prio[1], 0.5)
		within("low", prio[2], 0.3)
		within("writes", writes, 0.3)
		within("city a", cityA, 0.75)
		top := 0
		for _, c := range perUser {
			top = max(top, c)
		}
		if uniform := n / 1000; float64(top) < 20*uniform {
			t.Fatalf("hottest user sent %d, uniform would be %.0f: not Zipf", top, uniform)
		}
	})
}

// TestFailback: with failback on, users go back to their home set
// rehome_delay after its gateways are seen up again.
func TestFailback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 200/s", "rehome_delay: 1s"))
		set0 := p.Cities[0].Sets[0]
		dead := map[string]bool{}
		for gi, in := range p.Instances {
			if in.Role == scenarios.RoleGateway && in.Set == set0 {
				dead[addr(0, gi)] = true
			}
		}
		start := time.Now()
		tr := &fake{down: func(a string) bool {
			el := time.Since(start)
			return dead[a] && el >= 2*time.Second && el < 5*time.Second
		}}
		var mu sync.Mutex
		var back time.Time
		_, col := run(t, p, tr, func(c *Config) {
			c.Start = start
			c.OnRoute = func(rc RouteChange) {
				mu.Lock()
				defer mu.Unlock()
				if rc.Up {
					if d := rc.Time.Sub(rc.Seen); d != time.Second {
						t.Errorf("back up %v after seen, want the rehome_delay of 1s", d)
					}
					if rc.Seen.Sub(start) < 5*time.Second {
						t.Errorf("seen up at %v, before the gateways came back at 5s", rc.Seen.Sub(start))
					}
					back = maxTime(back, rc.Time)
				}
			}
		})
		if back.IsZero() {
			t.Fatal("the home set's gateways never came back")
		}
		after := 0
		for _, r := range col.reqs {
			if r.City == 0 && int(r.Set) == set0 && r.Send > back.Sub(start).Nanoseconds() {
				after++
				if r.CrossSet || r.Outcome != reports.OK {
					t.Fatalf("after failback: %+v, want OK at home", r)
				}
			}
		}
		if after == 0 {
			t.Fatal("no request after failback")
		}
	})
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestNearestCity: with every gateway of city a seen down, its users are
// served by city b (Cross), and with none up anywhere they are unavailable
// at once.
func TestNearestCity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 200/s\n  client: {retries: 0}", "rehome_delay: 500ms, failback: false"))
		start := time.Now()
		cityOf := map[string]int{}
		for gi, in := range p.Instances {
			if in.Role == scenarios.RoleGateway {
				for c := range p.Cities {
					cityOf[addr(c, gi)] = p.Sets[in.Set].City
				}
			}
		}
		tr := &fake{down: func(a string) bool {
			el := time.Since(start)
			return (cityOf[a] == 0 && el >= 2*time.Second) || el >= 6*time.Second
		}}
		var mu sync.Mutex
		var aGone, allGone time.Time
		_, col := run(t, p, tr, func(c *Config) {
			c.Start = start
			c.OnRoute = func(rc RouteChange) {
				mu.Lock()
				defer mu.Unlock()
				if rc.City == 0 && rc.Emptied {
					aGone = maxTime(aGone, rc.Time) // the last of city a's sets
				}
				if rc.City == 0 && rc.Seen.Sub(start) >= 6*time.Second {
					allGone = maxTime(allGone, rc.Time)
				}
			}
		})
		if aGone.IsZero() || allGone.IsZero() {
			t.Fatalf("city a emptied at %v, everything at %v", aGone, allGone)
		}
		var cross, unavailable int
		for _, r := range col.reqs {
			if r.City != 0 {
				continue
			}
			switch {
			case r.Send > aGone.Sub(start).Nanoseconds() && r.Send < int64(6*time.Second):
				cross++
				if !r.Cross || r.Outcome != reports.OK {
					t.Fatalf("city a down: %+v, want OK in city b", r)
				}
			case r.Send > allGone.Sub(start).Nanoseconds():
				unavailable++
				if r.Outcome != reports.Unavailable || r.Latency != 0 {
					t.Fatalf("nothing up: %+v, want unavailable at once", r)
				}
			}
		}
		if cross == 0 || unavailable == 0 {
			t.Fatalf("%d requests served across cities, %d unavailable", cross, unavailable)
		}
	})
}

// TestReserveGatewayJoins: a gateway slot a scale-up may start gets no
// users until its health checks pass, and then only rehome_delay later.
func TestReserveGatewayJoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		yaml := scenario("  rate: 200/s", "rehome_delay: 1s") + "scaling:\n  actions: [{at: 2s, service: gateway, by: 1}]\n"
		p := planOf(t, yaml)
		var extra []int
		for i, in := range p.Instances {
			if in.Role == scenarios.RoleGateway && in.Reserve {
				extra = append(extra, i)
			}
		}
		if len(extra) != len(p.Sets) {
			t.Fatalf("%d reserve gateways, want one per set", len(extra))
		}
		var start time.Time
		upAt := 4 * time.Second // the slot's process answers from then on
		isExtra := map[string]bool{}
		for _, g := range extra {
			for c := range p.Cities {
				isExtra[addr(c, g)] = true
			}
		}
		tr := &fake{down: func(a string) bool { return isExtra[a] && time.Since(start) < upAt }}
		var mu sync.Mutex
		var ups []RouteChange
		start = time.Now()
		run(t, p, tr, func(c *Config) {
			c.Start = start
			c.OnRoute = func(rc RouteChange) {
				mu.Lock()
				defer mu.Unlock()
				if !rc.Up || !slices.Contains(extra, rc.Gateway) {
					t.Errorf("unexpected route change %+v", rc)
				}
				ups = append(ups, rc)
			}
		})
		if len(ups) != len(extra)*len(p.Cities) {
			t.Fatalf("%d gateways taken up, want each new one for each city", len(ups))
		}
		for _, rc := range ups {
			if at := rc.Time.Sub(start); at < upAt+time.Second || at > upAt+time.Second+200*time.Millisecond {
				t.Errorf("gateway %d taken up at %v, want rehome_delay 1s after its first passed check (from %v)", rc.Gateway, at, upAt)
			}
		}
		for _, g := range extra {
			if n := tr.count(addr(p.Sets[p.Instances[g].Set].City, g)); n == 0 {
				t.Errorf("gateway %d never got a request once up", g)
			}
		}
	})
}

// TestDrainingGatewayLeavesAtFirstCheck: a gateway whose health check
// says it drains is taken down at the first such check (not after
// DownAfter failures), and moved off rehome_delay later.
func TestDrainingGatewayLeavesAtFirstCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, scenario("  rate: 100/s", "rehome_delay: 1s"))
		var gw int
		for i, in := range p.Instances {
			if in.Role == scenarios.RoleGateway {
				gw = i
				break
			}
		}
		var start time.Time
		drainAt := 3 * time.Second
		tr := &drainFake{fake: fake{}, gw: addr(p.Sets[p.Instances[gw].Set].City, gw), at: func() bool { return time.Since(start) >= drainAt }}
		var mu sync.Mutex
		var downs []RouteChange
		start = time.Now()
		run(t, p, tr, func(c *Config) {
			c.Start = start
			c.DownAfter = 5
			c.OnRoute = func(rc RouteChange) { mu.Lock(); downs = append(downs, rc); mu.Unlock() }
		})
		var got *RouteChange
		for i, rc := range downs {
			if rc.Gateway == gw && !rc.Up && rc.City == p.Sets[p.Instances[gw].Set].City {
				got = &downs[i]
			}
		}
		if got == nil {
			t.Fatalf("the draining gateway was never taken down: %+v", downs)
		}
		// checks every 100ms: the first after drainAt sees it
		if seen := got.Seen.Sub(start); seen < drainAt || seen > drainAt+100*time.Millisecond {
			t.Errorf("seen draining at %v, want at the first check after %v (not after 5 failed checks)", seen, drainAt)
		}
		if d := got.Time.Sub(got.Seen); d != time.Second {
			t.Errorf("taken down %v after seen, want the rehome_delay 1s", d)
		}
	})
}

// drainFake is a fake whose gateway gw says it drains once at() holds.
type drainFake struct {
	fake
	gw string
	at func() bool
}

func (f *drainFake) Health(ctx context.Context, addr string) error {
	if addr == f.gw && f.at() {
		return ErrDraining
	}
	return nil
}

// slowFirst answers an attempt after first when it is a request's first
// (id suffix .1) and after later otherwise.
type slowFirst struct {
	fake
	first, later time.Duration
	mu           sync.Mutex
	ended        int // attempts that ran to their end
}

func (f *slowFirst) Call(ctx context.Context, addr string, r *wire.Request, sig string) wire.Reply {
	d := f.later
	if strings.HasSuffix(r.ID, ".1") {
		d = f.first
	}
	select {
	case <-ctx.Done():
		return wire.Reply{Outcome: wire.Timeout, Served: -1}
	case <-time.After(d):
	}
	f.mu.Lock()
	f.ended++
	f.mu.Unlock()
	return wire.Reply{Outcome: wire.OK, Served: -1}
}

// TestHedging: with hedging (delay 20ms, 2 attempts), a request whose
// first attempt is slow gets a second after 20ms and ends with its
// answer, 2 attempts counted; the slow attempt is not cancelled (it runs
// to its end); a fast first attempt sends no hedge; and a retry budget
// throttles hedges as it does retries.
func TestHedging(t *testing.T) {
	wl := func(budget string) string {
		return "  rate: 100/s\n  arrivals: uniform\n  client: {timeout: 500ms, retries: 0, retry_budget: " + budget + "}"
	}
	hedged := func(s string) string {
		return strings.Replace(s, "  data: {mode: none}", "  data: {mode: none}\n  resilience: {hedging: {delay: 20ms, max_attempts: 2}}", 1)
	}
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, hedged(scenario(wl("0%"), "rehome_delay: 1s")))
		tr := &slowFirst{first: 100 * time.Millisecond, later: time.Millisecond}
		_, col := run(t, p, tr, nil)
		for _, r := range col.reqs {
			if r.Outcome != reports.OK || r.Attempts != 2 || r.Latency != int64(21*time.Millisecond) {
				t.Fatalf("%+v: want OK after the hedge at 20ms answered in 1ms, 2 attempts", r)
			}
		}
		if tr.ended != 2*len(col.reqs) {
			t.Fatalf("%d attempts ran to their end for %d requests: the slow first ones must not be cancelled", tr.ended, len(col.reqs))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, hedged(scenario(wl("0%"), "rehome_delay: 1s")))
		tr := &slowFirst{first: 5 * time.Millisecond, later: time.Millisecond}
		_, col := run(t, p, tr, nil)
		for _, r := range col.reqs {
			if r.Attempts != 1 || r.Latency != int64(5*time.Millisecond) {
				t.Fatalf("%+v: a first attempt answered within the delay sends no hedge", r)
			}
		}
	})
	synctest.Test(t, func(t *testing.T) {
		p := planOf(t, hedged(scenario(wl("10%"), "rehome_delay: 1s")))
		tr := &slowFirst{first: 100 * time.Millisecond, later: time.Millisecond}
		_, col := run(t, p, tr, nil)
		hedges, slow := 0, 0
		for _, r := range col.reqs {
			hedges += int(r.Attempts) - 1
			if r.Latency == int64(100*time.Millisecond) {
				slow++
			}
		}
		cap := 0.0
		for _, c := range p.Cities {
			cap += 10 + 0.1*100*c.Share*10
		}
		if lim := cap + 0.1*float64(len(col.reqs)) + 1; float64(hedges) > lim || hedges == 0 || slow == 0 {
			t.Fatalf("%d hedges for %d requests (%d waited for the slow attempt), want 1 to %.0f: the budget throttles hedges", hedges, len(col.reqs), slow, lim)
		}
	})
}
