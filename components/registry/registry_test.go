package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/discovery/disctest"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/scenarios"
)

// copyOf starts registry copy inst of p (in a synctest bubble: its clock
// is the bubble's) and returns it with its mux.
func copyOf(t *testing.T, ctx context.Context, p *scenarios.Plan, inst int) (*Server, *http.ServeMux, *node.Env) {
	t.Helper()
	env := disctest.Env(p, inst, nil)
	s, err := New(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Handle(mux)
	go s.Run(ctx)
	return s, mux, env
}

func do(mux http.Handler, method, target, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader(body)))
	return w
}

func listOf(t *testing.T, mux http.Handler, query string) []int {
	t.Helper()
	w := do(mux, "GET", PathList+query, "")
	if w.Code != 200 {
		t.Fatalf("list%s: %d %s", query, w.Code, w.Body)
	}
	var lr ListReply
	if err := json.Unmarshal(w.Body.Bytes(), &lr); err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range lr.Instances {
		out = append(out, e.Instance)
	}
	return out
}

func TestExpiresOneTTLAfterLastHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p := disctest.Default().Plan(t)
		ttl := time.Duration(p.Scenario.Stack.Discovery.TTL)
		hb := time.Duration(p.Scenario.Stack.Discovery.Heartbeat)
		s, mux, env := copyOf(t, ctx, p, p.Registries[0].Instances[0])
		svc := p.Registries[0].Sets[0]
		inst := p.Services[0].Instances[0]
		if p.Instances[inst].Set != svc {
			t.Fatalf("instance %d is not in set %d", inst, svc)
		}
		body := `{"instance":` + itoa(inst) + `}`
		if w := do(mux, "POST", PathRegister, body); w.Code != 200 {
			t.Fatalf("register: %d %s", w.Code, w.Body)
		}
		for range 3 {
			time.Sleep(hb)
			if w := do(mux, "POST", PathHeartbeat, body); w.Code != 200 {
				t.Fatalf("heartbeat: %d %s", w.Code, w.Body)
			}
		}
		last := time.Now()
		time.Sleep(ttl - time.Millisecond)
		synctest.Wait()
		if got := listOf(t, mux, ""); len(got) != 1 || got[0] != inst {
			t.Fatalf("1ms before its TTL ran out the list is %v, want [%d]", got, inst)
		}
		if ev := disctest.Events(env, node.EvExpired); len(ev) != 0 {
			t.Fatalf("expired before its TTL: %+v", ev)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		ev := disctest.Events(env, node.EvExpired)
		if len(ev) != 1 || ev[0].Subject != inst {
			t.Fatalf("expired events %+v, want one for instance %d", ev, inst)
		}
		if at := time.Unix(0, ev[0].Time); !at.Equal(last.Add(ttl)) {
			t.Fatalf("expired at %v after the last heartbeat, want the TTL %v", at.Sub(last), ttl)
		}
		if got := listOf(t, mux, ""); len(got) != 0 {
			t.Fatalf("after expiry the list is %v", got)
		}
		if w := do(mux, "POST", PathHeartbeat, body); w.Code != http.StatusNotFound {
			t.Fatalf("heartbeat of an expired instance: %d, want 404", w.Code)
		}
		w := do(mux, "POST", PathRegister, body)
		var lr LeaseReply
		json.Unmarshal(w.Body.Bytes(), &lr)
		if !lr.New || lr.TTLMs != ttl.Milliseconds() || lr.HeartbeatMs != hb.Milliseconds() {
			t.Fatalf("register again: %+v", lr)
		}
		if n := len(disctest.Events(env, node.EvRegistered)); n != 2 {
			t.Fatalf("%d registered events, want 2 (first registration and after expiry)", n)
		}
		if s.Table().Len() != 1 {
			t.Fatal("not registered again")
		}
	})
}

func TestTTLIsRead(t *testing.T) {
	// A longer TTL keeps the lease longer: the field changes behaviour.
	for _, ttl := range []string{"2s", "5s"} {
		synctest.Test(t, func(t *testing.T) {
			d := disctest.Default()
			d.TTL = ttl
			p := d.Plan(t)
			want := time.Duration(p.Scenario.Stack.Discovery.TTL)
			_, mux, env := copyOf(t, t.Context(), p, p.Registries[0].Instances[0])
			start := time.Now()
			do(mux, "POST", PathRegister, `{"instance":`+itoa(p.Services[0].Instances[0])+`}`)
			time.Sleep(10 * time.Second)
			ev := disctest.Events(env, node.EvExpired)
			if len(ev) != 1 || time.Unix(0, ev[0].Time).Sub(start) != want {
				t.Fatalf("ttl %s: expired %+v", ttl, ev)
			}
		})
	}
}

func TestWarmUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := disctest.Default().Plan(t)
		hb := time.Duration(p.Scenario.Stack.Discovery.Heartbeat)
		_, mux, _ := copyOf(t, t.Context(), p, p.Registries[0].Instances[0])
		if w := do(mux, "GET", PathList, ""); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "warming up") {
			t.Fatalf("a fresh copy lists: %d %s", w.Code, w.Body)
		}
		time.Sleep(WarmUp(hb) - time.Millisecond)
		if w := do(mux, "GET", PathList, ""); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("listing before the warm-up: %d", w.Code)
		}
		time.Sleep(time.Millisecond)
		if w := do(mux, "GET", PathList, ""); w.Code != 200 {
			t.Fatalf("not listing after the warm-up: %d %s", w.Code, w.Body)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// every instance the copy serves registered: warm at once
		p := disctest.Default().Plan(t)
		_, mux, _ := copyOf(t, t.Context(), p, p.Registries[0].Instances[0])
		var mine []int
		for _, in := range p.Services[0].Instances {
			if p.Instances[in].Set == p.Registries[0].Sets[0] {
				mine = append(mine, in)
			}
		}
		for k, in := range mine {
			if w := do(mux, "GET", PathList, ""); w.Code != http.StatusServiceUnavailable {
				t.Fatalf("listing with %d of %d instances registered: %d", k, len(mine), w.Code)
			}
			do(mux, "POST", PathRegister, `{"instance":`+itoa(in)+`}`)
		}
		if got := listOf(t, mux, ""); !equal(got, mine) {
			t.Fatalf("with every instance registered the list is %v, want %v", got, mine)
		}
	})
}

func TestSiblingSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := disctest.Default().Plan(t)
		hb := time.Duration(p.Scenario.Stack.Discovery.Heartbeat)
		a, b := p.Registries[0].Instances[0], p.Registries[0].Instances[1]
		_, muxA, _ := copyOf(t, t.Context(), p, a)
		inst := p.Services[0].Instances[0]
		do(muxA, "POST", PathRegister, `{"instance":`+itoa(inst)+`}`)
		time.Sleep(2 * hb)
		do(muxA, "POST", PathHeartbeat, `{"instance":`+itoa(inst)+`}`)
		// b restarts: it reaches a through an in-memory transport
		envB := disctest.Env(p, b, map[int]string{a: "a:1"})
		sb, err := New(envB, &http.Client{Transport: handlerTransport{"a:1": muxA}})
		if err != nil {
			t.Fatal(err)
		}
		muxB := http.NewServeMux()
		sb.Handle(muxB)
		go sb.Run(t.Context())
		synctest.Wait()
		if got := listOf(t, muxB, ""); len(got) != 1 || got[0] != inst {
			t.Fatalf("b after sync lists %v, want [%d] at once", got, inst)
		}
	})
}

type handlerTransport map[string]http.Handler

func (h handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	hd, ok := h[r.URL.Host]
	if !ok {
		return nil, &refusedErr{}
	}
	w := httptest.NewRecorder()
	hd.ServeHTTP(w, r)
	return w.Result(), nil
}

type refusedErr struct{}

func (*refusedErr) Error() string { return "connection refused" }

func TestListScope(t *testing.T) {
	cases := []struct {
		scope, placement string
		want             func(p *scenarios.Plan, set int) bool
	}{
		{"set", "az=sz/a", func(p *scenarios.Plan, set int) bool { return set == 0 }},
		{"city", "az=sz/a", func(p *scenarios.Plan, set int) bool { return p.Sets[set].City == 0 }},
		{"global", "az=sz/a", func(p *scenarios.Plan, set int) bool { return true }},
	}
	for _, c := range cases {
		synctest.Test(t, func(t *testing.T) {
			d := disctest.Default()
			d.Scope, d.Placement = c.scope, c.placement
			p := d.Plan(t)
			if len(p.Registries) != 1 || len(p.Registries[0].Sets) != len(p.Sets) {
				t.Fatalf("want one registry for every set: %+v", p.Registries)
			}
			_, mux, _ := copyOf(t, t.Context(), p, p.Registries[0].Instances[0])
			for _, inst := range p.Services[0].Instances {
				do(mux, "POST", PathRegister, `{"instance":`+itoa(inst)+`}`)
			}
			time.Sleep(2 * time.Second)
			gw := 0 // the gateway of set 0
			if p.Instances[gw].Role != scenarios.RoleGateway || p.Instances[gw].Set != 0 {
				t.Fatal("instance 0 is not set 0's gateway")
			}
			got := listOf(t, mux, "?caller=0&service=0")
			var want []int
			for _, inst := range p.Services[0].Instances {
				if c.want(p, p.Instances[inst].Set) {
					want = append(want, inst)
				}
			}
			if !equal(got, want) {
				t.Fatalf("scope %s: caller 0 lists %v, want %v", c.scope, got, want)
			}
			if all := listOf(t, mux, ""); len(all) != len(p.Services[0].Instances) {
				t.Fatalf("the sibling list has %v", all)
			}
			if none := listOf(t, mux, "?caller=0&service=1"); len(none) != 0 {
				t.Fatalf("service 1 (the data proxies) lists %v", none)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := disctest.Default().Plan(t)
		_, mux, _ := copyOf(t, t.Context(), p, p.Registries[0].Instances[0])
		other := p.Services[0].Instances[len(p.Services[0].Instances)-1] // in another set
		cases := []struct{ method, target, body, want string }{
			{"POST", PathRegister, ``, "body"},
			{"POST", PathRegister, `{}`, "missing"},
			{"POST", PathRegister, `{"instance":"1"}`, "body"},
			{"POST", PathRegister, `{"instance":1,"x":2}`, "unknown field"},
			{"POST", PathRegister, `{"instance":1}{"instance":1}`, "one JSON object"},
			{"POST", PathRegister, `{"instance":-1}`, "not an instance"},
			{"POST", PathRegister, `{"instance":99999}`, "not an instance"},
			{"POST", PathRegister, `{"instance":0}`, "gateway"},
			{"POST", PathRegister, `{"instance":` + itoa(other) + `}`, "does not serve"},
			{"POST", PathHeartbeat, strings.Repeat(" ", MaxBody+1), "at most"},
			{"POST", PathDeregister, `[1]`, "body"},
			{"GET", PathList + "?caller=x", "", "caller"},
			{"GET", PathList + "?caller=1&caller=2", "", "one value"},
			{"GET", PathList + "?service=9", "", "service"},
			{"GET", PathList + "?who=1", "", "unknown parameter"},
		}
		for _, c := range cases {
			w := do(mux, c.method, c.target, c.body)
			var er ErrorReply
			json.Unmarshal(w.Body.Bytes(), &er)
			if w.Code != 400 || !strings.Contains(er.Error, c.want) {
				t.Errorf("%s %s %q: %d %q, want 400 mentioning %q", c.method, c.target, c.body, w.Code, er.Error, c.want)
			}
		}
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
