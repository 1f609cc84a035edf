package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/comptest"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

// A class's bucket admits its rate plus its burst and rate-limits the
// rest; a class without a limit is never limited. With two gateways in the
// set each holds half of the set's rate.
func TestTokenBucketAdmitsItsRate(t *testing.T) {
	for _, gateways := range []int{1, 2} {
		synctest.Test(t, func(t *testing.T) {
			const setLimit, burst, offered, secs = 200.0, 50 * time.Millisecond, 600, 2
			g, _, _ := newTestGateway(t, fmt.Sprintf(`
instances: %d
cost: 0s
auth: {enabled: false}
rate_limit: {normal: 200/s, burst: 50ms}`, gateways), &upstream{})
			var ok, limited, highOK int
			gap := time.Second / offered
			for i := 0; i < offered*secs; i++ {
				switch handle(g, request(1, time.Second)).Outcome {
				case wire.OK:
					ok++
				case wire.RateLimited:
					limited++
				}
				if handle(g, request(0, time.Second)).Outcome == wire.OK {
					highOK++
				}
				time.Sleep(gap)
			}
			limit := setLimit / float64(gateways)
			depth := limit * burst.Seconds()
			want := depth + limit*secs
			if float64(ok) < want-2 || float64(ok) > want+2 {
				t.Errorf("%d gateways: normal admitted %d of %d offered over %ds, want %.0f (rate %.0f/s x %ds + burst %.0f)", gateways, ok, offered*secs, secs, want, limit, secs, depth)
			}
			if ok+limited != offered*secs {
				t.Errorf("normal: %d ok + %d rate-limited != %d offered", ok, limited, offered*secs)
			}
			if highOK != offered*secs {
				t.Errorf("high (no limit) admitted %d of %d", highOK, offered*secs)
			}
		})
	}
}

// The routing and authentication costs are spent holding a slot before the
// request leaves; with auth off only the routing cost is.
func TestCostsAndSignature(t *testing.T) {
	for _, tc := range []struct {
		auth string
		want time.Duration
	}{
		{"auth: {enabled: true, cost: 300us}", 350 * time.Microsecond},
		{"auth: {enabled: false, cost: 300us}", 50 * time.Microsecond},
	} {
		synctest.Test(t, func(t *testing.T) {
			g, _, _ := newTestGateway(t, "cost: 50us\n"+tc.auth, &upstream{})
			start := time.Now()
			if rp := handle(g, request(1, time.Second)); rp.Outcome != wire.OK {
				t.Fatalf("%s: %v %s", tc.auth, rp.Outcome, rp.Reason)
			}
			if d := time.Since(start); d != tc.want {
				t.Errorf("%s: took %v, want %v", tc.auth, d, tc.want)
			}
		})
	}
}

func TestBadSignatureRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &upstream{}
		g, _, _ := newTestGateway(t, "auth: {enabled: true}", u)
		r := request(1, time.Second)
		good := wire.Sign([]byte(testSecret), r)
		for _, sig := range []string{"", "00", wire.Sign([]byte("other"), r), strings.ToUpper(good)} {
			rp, _ := g.Handle(context.Background(), r, sig, time.Now())
			if rp.Outcome != wire.Rejected || rp.Reason != "bad_signature" {
				t.Errorf("signature %q: %v %q, want rejected bad_signature", sig, rp.Outcome, rp.Reason)
			}
		}
		tampered := *r
		tampered.Key++
		if rp, _ := g.Handle(context.Background(), &tampered, good, time.Now()); rp.Outcome != wire.Rejected {
			t.Errorf("a changed key kept its signature valid: %v", rp.Outcome)
		}
		if len(u.got) != 0 {
			t.Fatalf("%d rejected requests reached the upstream", len(u.got))
		}
		if rp, _ := g.Handle(context.Background(), r, good, time.Now()); rp.Outcome != wire.OK {
			t.Errorf("good signature: %v %s", rp.Outcome, rp.Reason)
		}
	})
}

// The request leaves with the time it has left: its deadline minus what
// the gateway spent, or the gateway's timeout when that is shorter. An
// upstream slower than that is an error at the gateway when its timeout
// ends.
func TestDeadlinePropagation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &upstream{}
		g, _, _ := newTestGateway(t, "cost: 1ms\nauth: {enabled: false}\ntimeout: 100ms", u)
		handle(g, request(1, 300*time.Millisecond))
		handle(g, request(1, 60*time.Millisecond))
		if got := u.got[0].Deadline; got != 100*time.Millisecond {
			t.Errorf("deadline 300ms, gateway timeout 100ms: upstream got %v, want 100ms", got)
		}
		if got := u.got[1].Deadline; got != 59*time.Millisecond {
			t.Errorf("deadline 60ms after 1ms of routing: upstream got %v, want 59ms", got)
		}
		if u.got[0].Hops != 1 {
			t.Errorf("hops %d, want 1", u.got[0].Hops)
		}
		u.delay = 150 * time.Millisecond
		start := time.Now()
		rp := handle(g, request(1, time.Second))
		if rp.Outcome != wire.Error || rp.Reason != "upstream_timeout" {
			t.Errorf("slow upstream: %v %q, want error upstream_timeout", rp.Outcome, rp.Reason)
		}
		if d := time.Since(start); d != 101*time.Millisecond {
			t.Errorf("slow upstream answered after %v, want 1ms + the 100ms timeout", d)
		}
		time.Sleep(100 * time.Millisecond) // the upstream finishes the call it was left with
	})
}

// A slot is held for the whole upstream call: with one slot the second
// request waits for the first's upstream call to end.
func TestSlotHeldForUpstreamCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &upstream{delay: 40 * time.Millisecond}
		g, _, _ := newTestGateway(t, "concurrency: 1\ncost: 0s\nauth: {enabled: false}\nshedding: {policy: none}", u)
		start := time.Now()
		var wg sync.WaitGroup
		ends := make([]time.Duration, 2)
		for i := range ends {
			wg.Go(func() {
				handle(g, request(1, time.Second))
				ends[i] = time.Since(start)
			})
		}
		wg.Wait()
		if u.peak != 1 {
			t.Errorf("%d upstream calls at once with concurrency 1", u.peak)
		}
		if last := max(ends[0], ends[1]); last != 80*time.Millisecond {
			t.Errorf("two 40ms calls through one slot ended by %v, want 80ms", last)
		}
	})
}

// With no upstream in its set, the gateway sends to another set of its
// city, says so with a route event, and comes back when its own returns.
func TestRoutesToAnotherSetOfTheCity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &upstream{}
		g, res, env := newTestGateway(t, "auth: {enabled: false}", u)
		res.Set(0)
		if rp := handle(g, request(1, time.Second)); rp.Outcome != wire.Unavailable || rp.Reason != "no_instance" {
			t.Fatalf("no instance anywhere: %v %s", rp.Outcome, rp.Reason)
		}
		res.Set(0, Endpoint{Instance: 3, Set: 1, Addr: "svc3"})
		if rp := handle(g, request(1, time.Second)); rp.Outcome != wire.OK || rp.Served != 1 {
			t.Fatalf("other set: %v served by %d, want ok by set 1", rp.Outcome, rp.Served)
		}
		res.Set(0, Endpoint{Instance: 3, Set: 1, Addr: "svc3"}, Endpoint{Instance: 1, Set: 0, Addr: "svc1"})
		for range 20 {
			if rp := handle(g, request(1, time.Second)); rp.Served != 0 {
				t.Fatalf("own set back: served by set %d", rp.Served)
			}
		}
		var routes []string
		for _, e := range env.Server.Events.After(0) {
			if e.Kind == node.EvRoute {
				routes = append(routes, e.Detail)
			}
		}
		want := env.Plan.Sets[0].Name + "->" + env.Plan.Sets[1].Name + " " + env.Plan.Sets[1].Name + "->" + env.Plan.Sets[0].Name
		if strings.Join(routes, " ") != want {
			t.Errorf("route events %q, want %q", routes, want)
		}
	})
}

func TestMalformedRequest400(t *testing.T) {
	g, _, _ := newTestGateway(t, "auth: {enabled: true}", &upstream{})
	for _, tc := range []struct {
		name string
		mod  func(h http.Header)
		want string
	}{
		{"no id", func(h http.Header) { h.Del(wire.HID) }, wire.HID},
		{"bad priority", func(h http.Header) { h.Set(wire.HPriority, "urgent") }, wire.HPriority},
		{"negative user", func(h http.Header) { h.Set(wire.HUser, "-1") }, wire.HUser},
		{"no deadline", func(h http.Header) { h.Set(wire.HDeadline, "0") }, wire.HDeadline},
	} {
		req := httptest.NewRequest("POST", wire.Path, nil)
		request(1, time.Second).Encode(req.Header)
		tc.mod(req.Header)
		comptest.WantBadRequest(t, g, tc.name, req, tc.want)
	}
}

func TestSlowFactor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _, env := newTestGateway(t, "cost: 100us\nauth: {enabled: false}", &upstream{})
		g.Register(env.Server)
		for _, tc := range []struct {
			q    string
			code int
			took time.Duration
		}{{"factor=3", 200, 300 * time.Microsecond}, {"factor=0", 400, 300 * time.Microsecond}, {"factor=x", 400, 300 * time.Microsecond}, {"factor=1", 200, 100 * time.Microsecond}} {
			if w := comptest.Admin(env.Server, "/admin/slow?"+tc.q); w.Code != tc.code {
				t.Errorf("%s: %d %s", tc.q, w.Code, w.Body)
			}
			start := time.Now()
			handle(g, request(1, time.Second))
			if d := time.Since(start); d != tc.took {
				t.Errorf("after %s: took %v, want %v", tc.q, d, tc.took)
			}
		}
	})
}

// TestLoadAndDrain: GET /admin/load reports the slot time requests held
// (cost and upstream wait, exact in the bubble), and a drained gateway
// fails /healthz while it keeps serving.
func TestLoadAndDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _, env := newTestGateway(t, "cost: 1ms\nconcurrency: 4\nauth: {enabled: false}", &upstream{})
		g.Register(env.Server)
		for range 3 {
			handle(g, request(1, time.Second))
		}
		time.Sleep(time.Second)
		var l node.LoadReport
		comptest.AdminGet(t, env.Server, "/admin/load", &l)
		if l.Threads != 4 || l.BusyNS != int64(3*time.Millisecond) || l.InFlight != 0 || l.Queued != 0 {
			t.Fatalf("load %+v, want 4 slots, 3ms of slot time, none held", l)
		}
		if w := comptest.Admin(env.Server, "/admin/drain"); w.Code != 200 || comptest.Health(env.Server) != 503 {
			t.Fatalf("drain %d, then healthz %d; want 200 and 503", w.Code, comptest.Health(env.Server))
		}
		if rp := handle(g, request(1, time.Second)); rp.Outcome != wire.OK {
			t.Fatalf("a draining gateway answered %v", rp.Outcome)
		}
		comptest.AdminGet(t, env.Server, "/admin/load", &l)
		if !l.Draining || l.BusyNS != int64(4*time.Millisecond) {
			t.Fatalf("after the drain: %+v", l)
		}
	})
}
