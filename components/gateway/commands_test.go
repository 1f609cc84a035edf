package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stripelab/stripelab/components/comptest"
	"github.com/stripelab/stripelab/components/wire"
)

// commandsScenario has two services, account (0) and catalog (1), and
// three commands: pay (high, writes) and login (normal, mixed) go to
// account, browse (low, reads) to catalog; low is limited to 10/s.
func commandsScenario(t testing.TB) string {
	t.Helper()
	return comptest.Scenario("gw-commands", `  discovery: {scope: city}
  gateway:
    instances: 1
    cost: 0s
    auth: {enabled: true, cost: 0s}
    rate_limit: {low: 10/s, burst: 100ms}
  services:
    - {name: account, instances: 1, service_time: 1ms}
    - {name: catalog, instances: 1, service_time: 1ms}
  data: {mode: none}
workload:
  commands:
    - {name: pay, share: 20%, priority: high, kind: write, service: account}
    - {name: login, share: 30%, priority: normal, kind: mixed, service: account}
    - {name: browse, share: 50%, priority: low, kind: read, service: catalog}
`)
}

// newCommandsGateway is gateway instance 0 of commandsScenario with the
// resolver listing account at "account1" and catalog at "catalog1".
func newCommandsGateway(t testing.TB, u http.Handler) *Gateway {
	t.Helper()
	env := comptest.Env(t, "gateway", commandsScenario(t), 0)
	if len(env.Plan.Commands) != 3 || len(env.Plan.Services) != 2 {
		t.Fatalf("plan: %d commands, %d services", len(env.Plan.Commands), len(env.Plan.Services))
	}
	res := &comptest.Resolver{}
	for i, sv := range env.Plan.Services {
		res.Set(i, Endpoint{Instance: sv.Instances[0], Set: 0, Addr: sv.Name + "1"})
	}
	g, err := New(env, Options{Resolver: res, Client: comptest.Client(u)})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// post sends r signed through ServeHTTP and returns the answer.
func post(g *Gateway, r *wire.Request) *httptest.ResponseRecorder {
	var body io.Reader
	if len(r.Value) > 0 {
		body = strings.NewReader(string(r.Value))
	}
	req := httptest.NewRequest("POST", wire.Path, body)
	r.Encode(req.Header)
	req.Header.Set(wire.HSig, wire.Sign([]byte(testSecret), r))
	w := httptest.NewRecorder()
	g.ServeHTTP(w, req)
	return w
}

func commandRequest(cmd string, prio int, op wire.Op) *wire.Request {
	r := request(prio, time.Second)
	r.Command, r.Op = cmd, op
	if op == wire.Write {
		r.Value = []byte("v")
	}
	return r
}

// Each command goes to its own service, carrying its name on.
func TestCommandsRouteToTheirService(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &upstream{}
		g := newCommandsGateway(t, u)
		sent := []struct {
			cmd  string
			prio int
			op   wire.Op
			to   string
		}{
			{"pay", 0, wire.Write, "account1"},
			{"login", 1, wire.Read, "account1"},
			{"login", 1, wire.Write, "account1"},
			{"browse", 2, wire.Read, "catalog1"},
		}
		for _, s := range sent {
			if w := post(g, commandRequest(s.cmd, s.prio, s.op)); w.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", s.cmd, w.Code, w.Body)
			}
		}
		if len(u.got) != len(sent) {
			t.Fatalf("%d calls reached the services, want %d", len(u.got), len(sent))
		}
		for i, s := range sent {
			if u.addrs[i] != s.to || u.got[i].Command != s.cmd {
				t.Errorf("%s went to %s as %q, want %s", s.cmd, u.addrs[i], u.got[i].Command, s.to)
			}
		}
	})
}

// A request whose command is not the scenario's, is missing, carries
// another priority than its command's or an operation its kind forbids
// gets 400 naming the problem, and reaches no service.
func TestCommandMismatch400(t *testing.T) {
	u := &upstream{}
	g := newCommandsGateway(t, u)
	for _, tc := range []struct {
		name string
		r    *wire.Request
		want string
	}{
		{"unknown", commandRequest("refund", 0, wire.Read), `unknown command "refund"`},
		{"missing", commandRequest("", 1, wire.Read), wire.HCommand},
		{"priority", commandRequest("pay", 2, wire.Write), "command \"pay\" is high priority, got low"},
		{"write on a read command", commandRequest("browse", 2, wire.Write), "only reads"},
		{"read on a write command", commandRequest("pay", 0, wire.Read), "only writes"},
	} {
		w := post(g, tc.r)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %q, want 400 naming %s", tc.name, w.Code, w.Body, tc.want)
		}
		if rp, why := g.Handle(t.Context(), tc.r, wire.Sign([]byte(testSecret), tc.r), time.Now()); rp.Outcome != wire.Rejected || why != "bad_command" {
			t.Errorf("%s: Handle gave %v %s, want rejected bad_command", tc.name, rp.Outcome, why)
		}
	}
	if len(u.got) > 0 {
		t.Fatalf("%d mismatched requests reached a service", len(u.got))
	}
	// without workload.commands, naming a command is unknown
	g0, _, _ := newTestGateway(t, "auth: {enabled: true}", &upstream{})
	if w := post(g0, commandRequest("pay", 1, wire.Read)); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "no workload.commands") {
		t.Errorf("command without commands: %d %q, want 400", w.Code, w.Body)
	}
}

// The rate limit acts on the command's priority: browse (low, 10/s, one
// token deep) is limited, pay (high, no limit) never.
func TestCommandRateLimitByPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newCommandsGateway(t, &upstream{})
		const n = 40
		var browseOK, payOK int
		for range n {
			if post(g, commandRequest("browse", 2, wire.Read)).Header().Get(wire.HOutcome) == "ok" {
				browseOK++
			}
			if post(g, commandRequest("pay", 0, wire.Write)).Header().Get(wire.HOutcome) == "ok" {
				payOK++
			}
		}
		// all at one instant: browse gets its bucket's depth, 10/s x 100ms
		if browseOK != 1 || payOK != n {
			t.Fatalf("browse %d ok, pay %d ok of %d; want 1 (one token) and all", browseOK, payOK, n)
		}
	})
}

// FuzzGatewayCommand feeds the commands gateway arbitrary command names,
// priorities and operations, signed: it answers 400 with a message or a
// wire reply, never panics, and what it accepts is a command of the
// scenario at its own priority.
func FuzzGatewayCommand(f *testing.F) {
	f.Add("pay", "high", "write")
	f.Add("browse", "low", "read")
	f.Add("browse", "high", "write")
	f.Add("", "normal", "read")
	f.Add("pay\x00", "high", "write")
	f.Add(strings.Repeat("x", 65), "low", "read")
	g := newCommandsGateway(f, &upstream{})
	prios := map[string]string{"pay": "high", "login": "normal", "browse": "low"}
	f.Fuzz(func(t *testing.T, cmd, prio, op string) {
		req := httptest.NewRequest("POST", wire.Path, nil)
		commandRequest("login", 1, wire.Read).Encode(req.Header)
		req.Header[wire.HCommand] = []string{cmd}
		req.Header[wire.HPriority] = []string{prio}
		req.Header[wire.HOp] = []string{op}
		if r, err := wire.Decode(req.Header, nil); err == nil {
			req.Header.Set(wire.HSig, wire.Sign([]byte(testSecret), &r))
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code == http.StatusBadRequest {
			if w.Body.Len() == 0 {
				t.Fatal("400 without a message")
			}
			return
		}
		if _, err := wire.ReadReply(w.Result().Header, nil); err != nil {
			t.Fatalf("status %d without a wire reply: %v", w.Code, err)
		}
		if want, ok := prios[cmd]; !ok || want != prio {
			t.Fatalf("accepted command %q at %s priority", cmd, prio)
		}
	})
}
