package service

import (
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/comptest"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
	"github.com/stripelab/stripelab/scenarios"
)

// With every thread busy, `queue` requests wait and the rest get an error
// at once; the threads serve the queue in order.
func TestQueueBoundsHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const conc, queue, n = 2, 3, 9
		s, _, _ := newTestService(t, "concurrency: 2\nqueue: 3\nservice_time: 10ms", &hop{}, nil)
		start := time.Now()
		var mu sync.Mutex
		var okAt []time.Duration
		full := 0
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				rp := handle(s, request(wire.Read, time.Second))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case rp.Outcome == wire.OK:
					okAt = append(okAt, time.Since(start))
				case rp.Outcome == wire.Error && rp.Reason == "queue_full":
					full++
				default:
					t.Errorf("unexpected %v %s", rp.Outcome, rp.Reason)
				}
			})
			synctest.Wait()
			if s.slots.inFlight() > conc || s.slots.depth() > queue {
				t.Fatalf("%d busy, %d queued: bounds %d, %d", s.slots.inFlight(), s.slots.depth(), conc, queue)
			}
		}
		wg.Wait()
		slices.Sort(okAt)
		want := []time.Duration{10, 10, 20, 20, 30}
		for i := range want {
			want[i] *= time.Millisecond
		}
		if !slices.Equal(okAt, want) || full != n-conc-queue {
			t.Errorf("served at %v and %d queue_full, want %v and %d", okAt, full, want, n-conc-queue)
		}
	})
}

// The sampler draws from the scenario's distribution with its mean, the
// same sequence for the same seed.
func TestServiceTimeDistributions(t *testing.T) {
	ms := scenarios.Duration(time.Millisecond)
	for _, d := range []scenarios.Dist{
		{Dist: "constant", Mean: 2 * ms},
		{Dist: "exponential", Mean: 2 * ms},
		{Dist: "lognormal", Mean: 2 * ms, Sigma: 0.6},
		{Dist: "uniform", Min: 1 * ms, Max: 3 * ms},
	} {
		smp := newSampler(d)
		r := rand.New(rand.NewPCG(1, 2))
		const n = 20000
		sum, lo, hi := 0.0, math.Inf(1), 0.0
		for range n {
			v := smp.draw(r)
			sum += v
			lo, hi = min(lo, v), max(hi, v)
		}
		mean := sum / n / 1e6
		if math.Abs(mean-2) > 0.06 {
			t.Errorf("%s: mean %.3fms, want 2ms", d.Dist, mean)
		}
		switch d.Dist {
		case "constant":
			if lo != hi {
				t.Errorf("constant varies: %v..%v", lo, hi)
			}
		case "uniform":
			if lo < 1e6 || hi > 3e6 {
				t.Errorf("uniform outside [1ms, 3ms]: %v..%v", lo, hi)
			}
		default:
			if hi < 3*2e6 {
				t.Errorf("%s: no tail (max %.2fms)", d.Dist, hi/1e6)
			}
		}
	}
	a, b := newSampler(scenarios.Dist{Dist: "exponential", Mean: ms}), newSampler(scenarios.Dist{Dist: "exponential", Mean: ms})
	ra, rb, rc := node.Stream(1, 4, streamServiceTime), node.Stream(1, 4, streamServiceTime), node.Stream(1, 5, streamServiceTime)
	same, other := true, true
	for range 10 {
		x, y, z := a.draw(ra), b.draw(rb), a.draw(rc)
		same = same && x == y
		other = other && x == z
	}
	if !same || other {
		t.Errorf("draws: same seed and instance equal %v, another instance equal %v", same, other)
	}
}

// Calls are made one after another, each with its timeout or the time the
// request has left, whichever is less; data calls carry their op.
func TestCallsInOrderWithDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		back, data := &hop{delay: 5 * time.Millisecond}, &hop{delay: 2 * time.Millisecond, wrote: true}
		s, _, _ := newTestService(t, `
service_time: 3ms
calls:
  - {service: back, timeout: 50ms}
  - {data: write, timeout: 200ms}
  - {data: request, timeout: 200ms}`, back, data)
		start := time.Now()
		rp := handle(s, request(wire.Read, 100*time.Millisecond))
		if rp.Outcome != wire.OK || !rp.Wrote || rp.Served != 0 {
			t.Fatalf("reply %+v, want ok, wrote, served by set 0", rp)
		}
		if len(back.got) != 1 || len(data.got) != 2 {
			t.Fatalf("%d back calls, %d data calls", len(back.got), len(data.got))
		}
		if d := back.got[0].Deadline; d != 50*time.Millisecond {
			t.Errorf("back call: deadline %v, want its 50ms timeout", d)
		}
		if at := back.at[0].Sub(start); at != 3*time.Millisecond {
			t.Errorf("back called at %v, want after the 3ms service time", at)
		}
		// 100ms - 3ms of work - 5ms in back = 92ms left, under the 200ms timeout
		if d := data.got[0].Deadline; d != 92*time.Millisecond {
			t.Errorf("data call: deadline %v, want the 92ms left", d)
		}
		if data.got[0].Op != wire.Write || data.got[1].Op != wire.Read {
			t.Errorf("data ops %v, %v, want write then the request's read", data.got[0].Op, data.got[1].Op)
		}
		if back.got[0].Hops != 2 {
			t.Errorf("hops %d, want 2", back.got[0].Hops)
		}
	})
}

// A call that times out is an error and ends the request: later calls
// are not made. A downstream's own definite answer passes up.
func TestFailedCallFailsRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		back, data := &hop{delay: 80 * time.Millisecond}, &hop{}
		s, res, _ := newTestService(t, "service_time: 1ms\ncalls:\n  - {service: back, timeout: 50ms}\n  - {data: read, timeout: 50ms}", back, data)
		start := time.Now()
		rp := handle(s, request(wire.Read, time.Second))
		if rp.Outcome != wire.Error || rp.Reason != "call_timeout" || time.Since(start) != 51*time.Millisecond {
			t.Errorf("slow call: %v %q after %v, want error call_timeout after 51ms", rp.Outcome, rp.Reason, time.Since(start))
		}
		if len(data.got) != 0 {
			t.Errorf("the data call was made after the failed one")
		}
		back.set(0, wire.Shed)
		if rp := handle(s, request(wire.Read, time.Second)); rp.Outcome != wire.Shed || rp.Reason != "downstream_says" {
			t.Errorf("shed downstream: %v %q, want it passed up", rp.Outcome, rp.Reason)
		}
		res.Set(1)
		if rp := handle(s, request(wire.Read, time.Second)); rp.Outcome != wire.Unavailable || rp.Reason != "no_instance" {
			t.Errorf("no back instance: %v %q, want unavailable no_instance", rp.Outcome, rp.Reason)
		}
		time.Sleep(100 * time.Millisecond)
	})
}

// The picker takes its own set first, and of two draws the less loaded.
func TestPickOwnSetThenLessLoaded(t *testing.T) {
	s, res, _ := newTestService(t, "service_time: 1ms", &hop{}, nil)
	// ten calls in flight to instance 2, the only one listed while they start
	res.Set(1, Endpoint{Instance: 2, Set: 0, Addr: "a"})
	for range 10 {
		if ep, _, ok := s.pick.Pick(1); !ok || ep.Instance != 2 {
			t.Fatalf("one instance listed: picked %v %v", ep, ok)
		}
	}
	res.Set(1, Endpoint{Instance: 5, Set: 1, Addr: "x"}, Endpoint{Instance: 2, Set: 0, Addr: "a"}, Endpoint{Instance: 7, Set: 0, Addr: "b"})
	count := map[int]int{}
	const n = 400
	for range n {
		ep, done, _ := s.pick.Pick(1)
		count[ep.Instance]++
		done()
	}
	if count[5] != 0 {
		t.Errorf("picked the other set %d times with its own set listed", count[5])
	}
	// the loaded one wins only when both draws are it: a quarter of the time
	if f := float64(count[2]) / n; f < 0.15 || f > 0.35 {
		t.Errorf("the loaded instance was picked %.0f%% of the time, want about 25%%", 100*f)
	}
	res.Set(1, Endpoint{Instance: 5, Set: 1, Addr: "x"})
	if ep, _, ok := s.pick.Pick(1); !ok || ep.Instance != 5 {
		t.Errorf("own set empty: picked %v %v, want the city's other set", ep, ok)
	}
}

func TestMalformedRequest400(t *testing.T) {
	s, _, _ := newTestService(t, "service_time: 1ms", &hop{}, nil)
	for _, tc := range []struct {
		name string
		mod  func(h http.Header)
		body string
		want string
	}{
		{"bad op", func(h http.Header) { h.Set(wire.HOp, "delete") }, "", wire.HOp},
		{"bad key", func(h http.Header) { h.Set(wire.HKey, "-3") }, "", wire.HKey},
		{"read with a body", func(h http.Header) {}, "xx", "body"},
		{"too many hops", func(h http.Header) { h.Set(wire.HHops, "99") }, "", wire.HHops},
		{"bad home set", func(h http.Header) { h.Set(wire.HHome, "-1") }, "", wire.HHome},
	} {
		req := httptest.NewRequest("POST", wire.Path, strings.NewReader(tc.body))
		request(wire.Read, time.Second).Encode(req.Header)
		tc.mod(req.Header)
		comptest.WantBadRequest(t, s, tc.name, req, tc.want)
	}
}

func TestSlowFactor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, env := newTestService(t, "service_time: 2ms", &hop{}, nil)
		s.Register(env.Server)
		for _, tc := range []struct {
			q    string
			code int
			took time.Duration
		}{{"factor=2.5", 200, 5 * time.Millisecond}, {"factor=-1", 400, 5 * time.Millisecond}, {"factor=1", 200, 2 * time.Millisecond}} {
			if w := comptest.Admin(env.Server, "/admin/slow?"+tc.q); w.Code != tc.code {
				t.Errorf("%s: %d %s", tc.q, w.Code, w.Body)
			}
			start := time.Now()
			handle(s, request(wire.Read, time.Second))
			if d := time.Since(start); d != tc.took {
				t.Errorf("after %s: took %v, want %v", tc.q, d, tc.took)
			}
		}
	})
}

// TestLoadAndDrain: GET /admin/load reports the thread time the requests
// held (exact in the bubble's time), and POST /admin/drain runs the drain
// hook once, fails /healthz and keeps serving.
func TestLoadAndDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := comptest.Env(t, "service", scenarioText("concurrency: 2\nservice_time: 10ms"), 1)
		res := &comptest.Resolver{}
		drains := 0
		s, err := New(env, Options{Resolver: res, Client: comptest.Client(&hop{}), Drain: func() { drains++ }})
		if err != nil {
			t.Fatal(err)
		}
		s.Register(env.Server)
		for range 3 { // one at a time: 30ms of one thread
			handle(s, request(wire.Read, time.Second))
		}
		var wg sync.WaitGroup
		for range 2 { // both threads for 10ms
			wg.Go(func() { handle(s, request(wire.Read, time.Second)) })
		}
		wg.Wait()
		time.Sleep(time.Second) // idle time adds nothing
		var l node.LoadReport
		comptest.AdminGet(t, env.Server, "/admin/load", &l)
		if l.Threads != 2 || l.BusyNS != int64(50*time.Millisecond) || l.InFlight != 0 || l.Draining {
			t.Fatalf("load %+v, want 2 threads busy 50ms in all, none now, not draining", l)
		}
		if c := comptest.Health(env.Server); c != http.StatusOK {
			t.Fatalf("healthz %d before the drain", c)
		}
		for range 2 {
			if w := comptest.Admin(env.Server, "/admin/drain"); w.Code != http.StatusOK {
				t.Fatalf("drain: %d %s", w.Code, w.Body)
			}
		}
		if drains != 1 || comptest.Health(env.Server) != http.StatusServiceUnavailable {
			t.Fatalf("after two drains: hook ran %d times, healthz %d; want once and 503", drains, comptest.Health(env.Server))
		}
		if rp := handle(s, request(wire.Read, time.Second)); rp.Outcome != wire.OK {
			t.Fatalf("a draining instance answered %v, want it to keep serving", rp.Outcome)
		}
		comptest.AdminGet(t, env.Server, "/admin/load", &l)
		if !l.Draining || l.BusyNS != int64(60*time.Millisecond) {
			t.Fatalf("load after the drain %+v", l)
		}
		w := httptest.NewRecorder()
		env.Server.Mux.ServeHTTP(w, httptest.NewRequest("GET", "/admin/load", nil))
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("/admin/load without the secret: %d", w.Code)
		}
	})
}

// TestCrossSet: a reply says the request left its user's home set when
// this hop runs outside it, a service it called was in another set
// (answered or not), or a hop below says so.
func TestCrossSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		back := &hop{}
		s, res, _ := newTestService(t, "service_time: 1ms\ncalls:\n  - {service: back, timeout: 50ms}", back, nil)
		serve := func(home int) bool {
			r := request(wire.Read, time.Second)
			r.Home = home + 1
			req := httptest.NewRequest("POST", wire.Path, nil)
			r.Encode(req.Header)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			rp, err := wire.ReadReply(w.Header(), nil)
			if err != nil || rp.Outcome != wire.OK {
				t.Fatalf("%v %v", rp.Outcome, err)
			}
			return rp.CrossSet
		}
		// the instance and its callee are in set 0
		if serve(0) || !serve(1) {
			t.Errorf("home 0: crossed %v, home 1: crossed %v; want false, true", serve(0), serve(1))
		}
		res.Set(1, Endpoint{Instance: 5, Set: 1, Addr: "back5"})
		if !serve(0) {
			t.Error("a call to the back instance of set 1 did not count as leaving home set 0")
		}
		res.Set(1, Endpoint{Instance: 2, Set: 0, Addr: "back2"})
		back.mu.Lock()
		back.cross = true
		back.mu.Unlock()
		if !serve(0) {
			t.Error("a callee's cross-set answer was not passed up")
		}
		if r := request(wire.Read, time.Second); r.Crosses(1) {
			t.Error("a request that does not say its home set crossed")
		}
	})
}
