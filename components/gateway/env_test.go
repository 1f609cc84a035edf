package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

// scenarioText is a city of two sets (one per AZ), each with one gateway
// (instances 0 and 2, unless gw says how many) and one service instance
// (1 and 3); gw is the gateway block.
func scenarioText(gw string) string {
	if !strings.Contains(gw, "instances:") {
		gw = "instances: 1\n" + gw
	}
	return `
name: gw-test
run: {duration: 1m, warmup: 0s, seed: 7}
topology:
  cities:
    - {name: c1, azs: 2, racks: 1, machines: 2}
striping: {granularity: az}
stack:
  discovery: {scope: city}
  gateway:
` + indent(gw, "    ") + `
  services:
    - {name: front, instances: 1, service_time: 1ms}
  data: {mode: none}
`
}

func indent(s, pre string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString(pre + strings.TrimSpace(l) + "\n")
	}
	return b.String()
}

const testSecret = "s3cret"

func testEnv(t testing.TB, gw string, inst int) *node.Env {
	t.Helper()
	cfg := &node.Config{Role: "gateway", Run: "t", Scenario: scenarioText(gw), Instance: inst, Secret: testSecret, Seed: 3}
	p, err := cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return &node.Env{Config: cfg, Plan: p, Server: node.NewServer(cfg, nil, nil, nil), Clock: node.RealClock{}}
}

// fakeResolver serves fixed lists, changeable by the test.
type fakeResolver struct {
	mu    sync.Mutex
	lists map[int][]Endpoint
}

func (f *fakeResolver) Instances(svc int) []Endpoint {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists[svc]
}
func (f *fakeResolver) Close() {}
func (f *fakeResolver) set(svc int, eps ...Endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lists == nil {
		f.lists = map[int][]Endpoint{}
	}
	f.lists[svc] = eps
}

// upstream is an in-memory service: it records what it received and
// answers OK after delay.
type upstream struct {
	mu         sync.Mutex
	delay      time.Duration
	got        []wire.Request
	addrs      []string
	concurrent int
	peak       int
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := wire.Decode(r.Header, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	u.got = append(u.got, req)
	u.addrs = append(u.addrs, r.Host)
	u.concurrent++
	u.peak = max(u.peak, u.concurrent)
	d := u.delay
	u.mu.Unlock()
	time.Sleep(d)
	u.mu.Lock()
	u.concurrent--
	u.mu.Unlock()
	wire.WriteReply(w, wire.Reply{Outcome: wire.OK, Served: -1})
}

// memTransport serves HTTP requests with a handler in memory, so tests in
// a synctest bubble use no sockets.
type memTransport struct{ h http.Handler }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { m.h.ServeHTTP(rec, r); close(done) }()
	select {
	case <-done:
		return rec.Result(), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// newTestGateway builds gateway instance 0 forwarding to u in memory; the
// resolver lists service instance 1 (set 0) unless the test changes it.
func newTestGateway(t testing.TB, gw string, u http.Handler) (*Gateway, *fakeResolver, *node.Env) {
	t.Helper()
	env := testEnv(t, gw, 0)
	res := &fakeResolver{}
	res.set(0, Endpoint{Instance: 1, Set: 0, Addr: "svc1"})
	g, err := New(env, Options{Resolver: res, Client: &wire.Client{HTTP: &http.Client{Transport: memTransport{u}}}})
	if err != nil {
		t.Fatal(err)
	}
	return g, res, env
}

var seq atomic.Int64

func request(prio int, deadline time.Duration) *wire.Request {
	return &wire.Request{ID: itoa(int(seq.Add(1))) + ".0", User: 5, City: 0, Priority: prio, Key: 9, Op: wire.Read, Deadline: deadline}
}

func itoa(n int) string { return strconv.Itoa(n) }

func handle(g *Gateway, r *wire.Request) wire.Reply {
	rp, _ := g.Handle(context.Background(), r, wire.Sign([]byte(testSecret), r), time.Now())
	return rp
}
