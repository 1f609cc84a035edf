package service

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripelab/stripelab/components/comptest"
	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

// scenarioText is a city of two sets, each with a gateway, one front
// instance (instances 1 and 4) and one back instance (2 and 5); front is
// front's service block (name and instances are given).
func scenarioText(front string) string {
	return comptest.Scenario("svc-test", `  discovery: {scope: city}
  gateway: {instances: 1}
  services:
    - name: front
      instances: 1
`+comptest.Indent(front, "      ")+`
    - {name: back, instances: 1, service_time: 1ms}
  data: {mode: sharded, replicas: 1}
`)
}

const testSecret = comptest.Secret

// hop is an in-memory downstream (a service or the data layer): it
// records what it received and answers after delay with outcome.
type hop struct {
	mu      sync.Mutex
	delay   time.Duration
	outcome wire.Outcome
	wrote   bool
	cross   bool // answers CrossSet
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
	return h.delay, wire.Reply{Outcome: h.outcome, Reason: "downstream_says", Wrote: h.wrote && r.Op == wire.Write, Served: -1, CrossSet: h.cross}
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

// newTestService builds front's instance 1; back (service 1) is instance 2
// of set 0 served by back in memory, data by data.
func newTestService(t testing.TB, front string, back, data *hop) (*Service, *comptest.Resolver, *node.Env) {
	t.Helper()
	env := comptest.Env(t, "service", scenarioText(front), 1)
	res := &comptest.Resolver{}
	res.Set(1, Endpoint{Instance: 2, Set: 0, Addr: "back2"})
	var d Data
	if data != nil {
		d = data
	}
	s, err := New(env, Options{Resolver: res, Data: d, Client: comptest.Client(back)})
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
