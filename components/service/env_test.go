package service

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

// scenarioText is a city of two sets, each with a gateway, one front
// instance (instances 1 and 4) and one back instance (2 and 5); front is
// front's service block (name and instances are given).
func scenarioText(front string) string {
	return `
name: svc-test
run: {duration: 1m, warmup: 0s, seed: 7}
topology:
  cities:
    - {name: c1, azs: 2, racks: 1, machines: 2}
striping: {granularity: az}
stack:
  discovery: {scope: city}
  gateway: {instances: 1}
  services:
    - name: front
      instances: 1
` + indent(front, "      ") + `
    - {name: back, instances: 1, service_time: 1ms}
  data: {mode: sharded, replicas: 1}
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

func testEnv(t testing.TB, front string, inst int) *node.Env {
	t.Helper()
	cfg := &node.Config{Role: "service", Run: "t", Scenario: scenarioText(front), Instance: inst, Secret: testSecret, Seed: 3}
	p, err := cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return &node.Env{Config: cfg, Plan: p, Server: node.NewServer(cfg, nil, nil, nil), Clock: node.RealClock{}}
}

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

// hop is an in-memory downstream (a service or the data layer): it
// records what it received and answers after delay with outcome.
type hop struct {
	mu      sync.Mutex
	delay   time.Duration
	outcome wire.Outcome
	wrote   bool
	got     []wire.Request
	at      []time.Time
}

func (h *hop) set(delay time.Duration, o wire.Outcome) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delay, h.outcome = delay, o
}

func (h *hop) record(r wire.Request) (time.Duration, wire.Reply) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, r)
	h.at = append(h.at, time.Now())
	return h.delay, wire.Reply{Outcome: h.outcome, Reason: "downstream_says", Wrote: h.wrote && r.Op == wire.Write, Served: -1}
}

func (h *hop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := wire.Decode(r.Header, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d, rp := h.record(req)
	time.Sleep(d)
	wire.WriteReply(w, rp)
}

// Do makes hop a Data.
func (h *hop) Do(ctx context.Context, r *wire.Request) wire.Reply {
	d, rp := h.record(*r)
	select {
	case <-time.After(d):
		return rp
	case <-ctx.Done():
		return wire.Reply{Outcome: wire.Timeout, Served: -1}
	}
}

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

// newTestService builds front's instance 1; back (service 1) is instance 2
// of set 0 served by back in memory, data by data.
func newTestService(t testing.TB, front string, back, data *hop) (*Service, *fakeResolver, *node.Env) {
	t.Helper()
	env := testEnv(t, front, 1)
	res := &fakeResolver{}
	res.set(1, Endpoint{Instance: 2, Set: 0, Addr: "back2"})
	var d Data
	if data != nil {
		d = data
	}
	s, err := New(env, Options{Resolver: res, Data: d, Client: &wire.Client{HTTP: &http.Client{Transport: memTransport{back}}}})
	if err != nil {
		t.Fatal(err)
	}
	return s, res, env
}

var seq atomic.Int64

func request(op wire.Op, deadline time.Duration) *wire.Request {
	r := &wire.Request{ID: strconv.Itoa(int(seq.Add(1))) + ".0", User: 5, City: 0, Priority: 1, Key: 9, Op: op, Deadline: deadline, Hops: 1}
	if op == wire.Write {
		r.Value = []byte("v")
	}
	return r
}

func handle(s *Service, r *wire.Request) wire.Reply {
	rp, _ := s.Handle(context.Background(), r, time.Now())
	return rp
}
